//! `bulkhead etcd restore`: a new etcd data directory from the repository,
//! at a revision or a time (`bulkhead-jobs`'s etcd restore does the work).

use std::io::Write;

use bulkhead_etcd::replay::Replayed;
use bulkhead_jobs::etcd_restore::EtcdRestoreJob;
use bulkhead_model::Verdict;
use bulkhead_report::OutputFormat;
use bulkhead_repository::Snapshot as Stored;

use super::super::recovery::{environment, load_fleet};
use crate::args::EtcdRestoreArgs;
use crate::error::Failure;
use crate::settings::output;

/// Runs `etcd restore`.
///
/// # Errors
/// Bad flags, a data directory in the way, a point the backup does not
/// hold, damaged data (exit 2); the repository or etcdutl unavailable (exit 3).
pub fn run(args: &EtcdRestoreArgs, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&args.fleet.fleet)?;
    let job = EtcdRestoreJob {
        cluster: args.cluster.clone(),
        to: args.to.clone(),
        revision: args.revision,
        until: args.time.as_deref().map(parse_time).transpose()?,
        name: args.name.clone(),
        initial_cluster: args.initial_cluster.clone(),
        initial_advertise_peer_urls: args.initial_advertise_peer_urls.clone(),
        bump_revision: args.bump_revision,
        etcdutl: bulkhead_jobs::etcd_restore::etcdutl_on_path()?,
        repository: args.repo.repo.clone(),
    };
    let done = crate::runtime::block_on(bulkhead_jobs::etcd_restore::restore(&fleet, &job, &environment()))??;
    report(args, &done.full, &done.replayed, out)?;
    Ok(Verdict::Pass)
}

fn report(args: &EtcdRestoreArgs, full: &Stored, replayed: &Replayed, out: &mut dyn Write) -> Result<(), Failure> {
    match output(args.output) {
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "cluster": args.cluster,
                "dataDir": args.to.display().to_string(),
                "fullSnapshot": full.id,
                "fullSnapshotTime": full.time,
                "replayed": replayed,
                "bumpedBy": args.bump_revision,
            });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        _ => {
            writeln!(
                out,
                "etcd of `{}` restored to revision {} in {}: full snapshot {} (revision {}, {}) plus {} changes from {} delta segments{}",
                args.cluster,
                replayed.revision,
                args.to.display(),
                full.id.short(),
                replayed.snapshot_revision,
                full.time,
                replayed.events,
                replayed.segments,
                if replayed.leases > 0 { format!(", {} leases recreated", replayed.leases) } else { String::new() }
            )?;
            if args.bump_revision > 0 {
                writeln!(
                    out,
                    "revision bumped by {} and marked compacted: API servers' watch caches relist instead of serving newer objects",
                    args.bump_revision
                )?;
            }
            writeln!(
                out,
                "next: start etcd with --data-dir {} (and --name {}), then the API servers",
                args.to.display(),
                args.name
            )?;
        }
    }
    Ok(())
}

/// Seconds since the epoch of an RFC 3339 time, or of a duration ago (`2h`).
fn parse_time(text: &str) -> Result<i64, Failure> {
    if let Ok(t) = humantime::parse_rfc3339_weak(text) {
        return t
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .map_err(|_| Failure::Usage(format!("--time {text}: before 1970")));
    }
    let ago = humantime::parse_duration(text).map_err(|_| {
        Failure::Usage(format!("--time {text}: give an RFC 3339 time (2026-12-01T03:00:00Z) or a duration ago (2h)"))
    })?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Ok(i64::try_from(now.saturating_sub(ago).as_secs()).unwrap_or(0))
}
