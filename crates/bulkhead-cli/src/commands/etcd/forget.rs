//! `bulkhead etcd forget`: a cluster's etcd backups kept to their rules.

use std::io::Write;

use bulkhead_model::Verdict;
use bulkhead_report::OutputFormat;
use bulkhead_repository::TagKey;

use super::super::recovery::{environment, load_fleet};
use crate::error::Failure;
use crate::settings::EtcdForgetSettings;

/// Runs `etcd forget`.
///
/// # Errors
/// Bad flags or fleet, no keep rules (exit 2); the repository unreachable (exit 3).
pub fn run(settings: &EtcdForgetSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&settings.fleet)?;
    let done = crate::runtime::block_on(bulkhead_jobs::retention::etcd_forget(&fleet, &settings.job, &environment()))??;
    match settings.output {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &done)?;
            writeln!(out)?;
        }
        _ => {
            for d in &done.full_snapshots {
                let s = &d.snapshot;
                writeln!(
                    out,
                    "{}  {}  revision {:>10}  {}",
                    s.id.short(),
                    s.time,
                    s.number(TagKey::EtcdRevision).unwrap_or(0),
                    if d.keep { format!("keep ({})", d.reasons.join(", ")) } else { "remove".into() }
                )?;
            }
            let removed_fulls = done.removed_fulls();
            let verb = if done.dry_run { "would be removed (dry run: nothing removed)" } else { "removed" };
            let removed_any = removed_fulls + done.segments_removed.len() > 0;
            writeln!(
                out,
                "etcd of `{}` in {}: {} full snapshots kept, {removed_fulls} {verb}; {} delta segments kept, {} {verb} (older than the oldest full snapshot kept){}",
                done.cluster,
                done.repository,
                done.full_snapshots.len() - removed_fulls,
                done.segments_kept,
                done.segments_removed.len(),
                if removed_any && !done.dry_run { "; `bulkhead backup prune` frees their data" } else { "" }
            )?;
        }
    }
    Ok(Verdict::Pass)
}
