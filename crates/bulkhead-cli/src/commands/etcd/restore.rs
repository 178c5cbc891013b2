//! `bulkhead etcd restore`: a new etcd data directory from the repository,
//! at a revision or a time (`bulkhead-jobs`'s etcd restore does the work).

use std::io::Write;

use bulkhead_etcd::replay::Replayed;
use bulkhead_model::Verdict;
use bulkhead_report::OutputFormat;
use bulkhead_repository::Snapshot as Stored;

use super::super::recovery::{environment, load_fleet};
use crate::error::Failure;
use crate::settings::EtcdRestoreSettings;

/// Runs `etcd restore`.
///
/// # Errors
/// Bad flags, a data directory in the way, a point the backup does not
/// hold, damaged data (exit 2); the repository or etcdutl unavailable (exit 3).
pub fn run(settings: &EtcdRestoreSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&settings.fleet)?;
    let done = crate::runtime::block_on(bulkhead_jobs::etcd_restore::restore(&fleet, &settings.job, &environment()))??;
    report(settings, &done.full, &done.replayed, out)?;
    Ok(Verdict::Pass)
}

fn report(
    settings: &EtcdRestoreSettings,
    full: &Stored,
    replayed: &Replayed,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let job = &settings.job;
    match settings.output {
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "cluster": job.cluster,
                "dataDir": job.to.display().to_string(),
                "fullSnapshot": full.id,
                "fullSnapshotTime": full.time,
                "replayed": replayed,
                "bumpedBy": job.bump_revision,
            });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        _ => {
            writeln!(
                out,
                "etcd of `{}` restored to revision {} in {}: full snapshot {} (revision {}, {}) plus {} changes from {} delta segments{}",
                job.cluster,
                replayed.revision,
                job.to.display(),
                full.id.short(),
                replayed.snapshot_revision,
                full.time,
                replayed.events,
                replayed.segments,
                if replayed.leases > 0 { format!(", {} leases recreated", replayed.leases) } else { String::new() }
            )?;
            if job.bump_revision > 0 {
                writeln!(
                    out,
                    "revision bumped by {} and marked compacted: API servers' watch caches relist instead of serving newer objects",
                    job.bump_revision
                )?;
            }
            writeln!(
                out,
                "next: start etcd with --data-dir {} (and --name {}), then the API servers",
                job.to.display(),
                job.name
            )?;
        }
    }
    Ok(())
}
