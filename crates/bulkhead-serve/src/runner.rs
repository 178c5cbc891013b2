//! One run of one job, through the jobs layer (the same functions the CLI
//! calls), to its figures.

use std::time::Duration;

use bulkhead_jobs::backup::BackupJob;
use bulkhead_jobs::drill::{DrillJob, DrillTarget};
use bulkhead_jobs::etcd::{EtcdSnapshotJob, EtcdWatchJob};
use bulkhead_jobs::retention::ForgetJob;
use bulkhead_jobs::{CancellationToken, Error};
use bulkhead_model::Loaded;
use bulkhead_repository::Env;
use bulkhead_schedule::Work;

use crate::history::Figures;

/// What a run needs besides the job.
pub struct Context<'a> {
    /// The fleet, loaded with its manifests.
    pub loaded: &'a Loaded,
    /// Passwords and keys.
    pub env: &'a Env,
    /// Stops the run.
    pub cancel: &'a CancellationToken,
    /// Where an etcd watch writes full snapshots before they are stored.
    pub scratch: &'a std::path::Path,
    /// Given each live check's whole result (the API serves the newest).
    pub checked: &'a (dyn Fn(bulkhead_jobs::CheckResult) + Sync),
}

/// Runs `work` once, to its figures.
///
/// # Errors
/// The job's error; [`Error::Cancelled`] when `cancel` stopped it.
pub async fn run(work: &Work, cx: &Context<'_>) -> Result<Figures, Error> {
    let fleet = cx.loaded.fleet.as_ref().ok_or_else(|| Error::Input("the fleet could not be read".into()))?;
    let (env, cancel) = (cx.env, cx.cancel);
    match work {
        Work::Backup { policy, cluster, app } => {
            let job = BackupJob {
                cluster: Some(cluster.clone()),
                app: Some(app.clone()),
                policy: Some(policy.clone()),
                parallel: 4,
                ..BackupJob::default()
            };
            let plan = bulkhead_jobs::backup::plan(fleet, &job, env)?;
            let done = bulkhead_jobs::backup::execute(fleet, plan, &|_| {}, cancel).await?;
            let bytes = done.backups.iter().map(|b| b.snapshot.added).sum();
            Ok(Figures { objects: Some(done.objects() as u64), bytes: Some(bytes), ..Figures::default() })
        }
        Work::Retention { policy } => {
            let job = ForgetJob { policy: Some(policy.clone()), ..ForgetJob::default() };
            let plan = bulkhead_jobs::retention::plan_forget(fleet, &job, env).await?;
            let repository = plan.repository.clone();
            let forgot = bulkhead_jobs::retention::execute_forget(fleet, plan, false).await?;
            let removed = forgot.decisions.iter().filter(|d| !d.keep).count() as u64;
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let pruned = bulkhead_jobs::retention::prune(repository, false, false).await?;
            Ok(Figures { removed: Some(removed), bytes: Some(pruned.pruned.bytes_deleted), ..Figures::default() })
        }
        Work::EtcdSnapshot { cluster, policy } => {
            let repository =
                fleet.file.spec.dr.policies.iter().find(|p| p.name == *policy).map(|p| p.repository.clone());
            let job = EtcdSnapshotJob { cluster: cluster.clone(), out: None, repository };
            let plan = bulkhead_jobs::etcd::plan_snapshot(fleet, &job, env)?;
            let done = tokio::select! {
                done = bulkhead_jobs::etcd::snapshot(fleet, plan, &|_| {}) => done?,
                () = cancel.cancelled() => return Err(Error::Cancelled),
            };
            Ok(Figures { bytes: Some(done.taken.bytes), ..Figures::default() })
        }
        Work::EtcdWatch { cluster, policy } => {
            let repository =
                fleet.file.spec.dr.policies.iter().find(|p| p.name == *policy).map(|p| p.repository.clone());
            let job = EtcdWatchJob { cluster: cluster.clone(), settings: watch_settings(cx.scratch), repository };
            let report =
                |r: bulkhead_etcd::watch::Report| tracing::debug!(cluster = %cluster, report = ?r, "etcd watch");
            bulkhead_jobs::etcd::watch(fleet, &job, env, &report, cancel).await?;
            Ok(Figures::default())
        }
        Work::Drill { drill } => {
            let job = DrillJob {
                target: DrillTarget::Named { name: drill.clone(), from: None },
                timeout: Duration::from_secs(300),
                parallel: 8,
                keep: false,
                repository: None,
            };
            let plan = bulkhead_jobs::drill::plan(fleet, &job, env)?;
            let done = bulkhead_jobs::drill::execute(fleet, plan, cancel).await?;
            let report = &done.report;
            let figures = Figures {
                objects: Some(report.objects.values().sum::<usize>() as u64),
                rto_seconds: Some(report.rto_seconds),
                rpo_seconds: report.rpo_seconds,
                ..Figures::default()
            };
            done.recorded?;
            if report.passed {
                Ok(figures)
            } else {
                Err(Error::Input(format!("the drill failed: {}", report.problems.join("; "))))
            }
        }
        Work::Drift => {
            let desired = bulkhead_jobs::apply::render_fleet(fleet)?;
            let chosen = bulkhead_jobs::apply::chosen(fleet, &[])?;
            let options = bulkhead_apply_options();
            let planned = tokio::select! {
                planned = bulkhead_jobs::apply::plan_chosen(fleet, desired, &chosen, options) => planned,
                () = cancel.cancelled() => return Err(Error::Cancelled),
            };
            let drift = bulkhead_jobs::apply::drift(&planned);
            let unreachable: Vec<String> =
                drift.iter().filter_map(|d| d.as_ref().err()).map(|(c, why)| format!("{c}: {why}")).collect();
            let drifted: usize = drift.iter().flatten().map(|d| d.drifted.len()).sum();
            if !unreachable.is_empty() {
                return Err(Error::Unreachable(format!("clusters could not be read: {}", unreachable.join("; "))));
            }
            Ok(Figures { findings: Some(drifted as u64), ..Figures::default() })
        }
        Work::LiveCheck => {
            let live = tokio::select! {
                live = bulkhead_jobs::read_live(fleet) => live,
                () = cancel.cancelled() => return Err(Error::Cancelled),
            };
            if !live.unreachable.is_empty() {
                let why: Vec<&str> = live.unreachable.iter().map(|d| d.message.as_str()).collect();
                return Err(Error::Unreachable(format!("clusters could not be read: {}", why.join("; "))));
            }
            let backups = bulkhead_jobs::read_backups(fleet, env).await;
            let result =
                bulkhead_jobs::check(cx.loaded, Some(&live), Some(&backups), bulkhead_jobs::CheckOptions::default());
            let findings = result.diagnostics.len() as u64;
            (cx.checked)(result);
            Ok(Figures { findings: Some(findings), ..Figures::default() })
        }
    }
}

fn bulkhead_apply_options() -> bulkhead_apply::plan::PlanOptions {
    // Drift is about what Bulkhead applied: a fleet that never used `apply`
    // costs one read per cluster.
    bulkhead_apply::plan::PlanOptions { parallel: 8, only_applied: true }
}

/// The etcd watch's settings under `serve`: changes stored every 5 s (the
/// RPO), a new full snapshot every hour or 256 MiB of changes.
fn watch_settings(scratch: &std::path::Path) -> bulkhead_etcd::watch::Settings {
    bulkhead_etcd::watch::Settings {
        flush_every: Duration::from_secs(5),
        full_every: Duration::from_secs(3600),
        full_after_bytes: 256 << 20,
        max_pending_bytes: 256 << 20,
        scratch: scratch.to_path_buf(),
        run_for: None,
    }
}
