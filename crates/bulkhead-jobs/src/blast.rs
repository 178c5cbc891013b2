//! The blast radius as a job: what each failure domain takes down, from the
//! fleet on paper or from the clusters as they run (where the scheduler
//! really put each pod), with each app's restore time measured from its
//! repository's snapshots when asked. The same figures `check` and a
//! server's dashboard show.

use bulkhead_blast::{Blast, Measured};
use bulkhead_model::{Diagnostic, Fleet};

use crate::check::{measured, read_backups};

/// A blast analysis to run.
#[derive(Debug, Clone, Copy, Default)]
pub struct BlastJob {
    /// Read where the pods run now instead of the fleet's placement.
    pub live: bool,
    /// Measure each app's restore from its repository's snapshots.
    pub repositories: bool,
    /// 1: single domains; 2: every pair above nodes too.
    pub depth: u8,
}

/// What a blast analysis found.
#[derive(Debug, Clone)]
pub struct BlastOutcome {
    /// The analysis.
    pub blast: Blast,
    /// Clusters that could not be read (live only), one diagnostic each.
    pub unreachable: Vec<Diagnostic>,
    /// Repositories that could not be read, with why: their apps' restores
    /// are not measured.
    pub unread_repositories: Vec<(String, String)>,
}

/// Runs a blast analysis of `fleet`; `env` supplies the repositories'
/// passwords and keys.
pub async fn blast(fleet: &Fleet, job: BlastJob, env: &bulkhead_repository::Env) -> BlastOutcome {
    let mut unread_repositories = Vec::new();
    let measured = if job.repositories {
        let backups = read_backups(fleet, env).await;
        for r in &backups.repositories {
            if let Err(e) = &r.snapshots {
                unread_repositories.push((r.name.clone(), e.to_string()));
            }
        }
        measured(&backups)
    } else {
        Measured::default()
    };
    if job.live {
        let live = bulkhead_kube::read_workloads(fleet).await;
        let blast = bulkhead_blast::analyze_live(fleet, &live, job.depth, &measured);
        BlastOutcome { blast, unreachable: live.unreachable, unread_repositories }
    } else {
        let blast = bulkhead_blast::analyze_static(fleet, job.depth, &measured);
        BlastOutcome { blast, unreachable: Vec::new(), unread_repositories }
    }
}
