//! `bulkhead backup forget | prune`: keeping a repository to its retention.

use std::io::Write;

use bulkhead_model::Verdict;
use bulkhead_report::{OutputFormat, Table};
use bulkhead_repository::TagKey;

use super::recovery::{environment, load_fleet, repository};
use crate::error::Failure;
use crate::settings::{BackupForgetSettings, BackupPruneSettings};

/// Runs `backup forget`.
///
/// # Errors
/// Bad flags or fleet (exit 2), an unreachable repository (exit 3).
pub fn forget(settings: &BackupForgetSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&settings.fleet)?;
    let done = crate::runtime::block_on(async {
        let plan = bulkhead_jobs::retention::plan_forget(&fleet, &settings.job, &environment()).await?;
        bulkhead_jobs::retention::execute_forget(&fleet, plan, settings.dry_run).await
    })??;
    let removed = done.removed();
    match settings.output {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &done)?;
            writeln!(out)?;
        }
        _ => {
            let mut table = Table::new(["snapshot", "time", "cluster", "app", "", "kept by"]);
            for d in &done.decisions {
                let s = &d.snapshot;
                table.row([
                    s.id.short().to_string(),
                    s.time.clone(),
                    s.tag(TagKey::Cluster).unwrap_or(&s.hostname).to_string(),
                    s.tag(TagKey::App).unwrap_or("-").to_string(),
                    if d.keep { "keep" } else { "remove" }.to_string(),
                    d.reasons.join(", "),
                ]);
            }
            table.write(out)?;
            for u in &done.no_rules {
                writeln!(out, "left alone, no keep rules (give --keep-* or a policy's keep): {u}")?;
            }
            for r in &done.volume_snapshots.removed {
                writeln!(out, "removed its volume snapshot {r}")?;
            }
            for l in &done.volume_snapshots.left {
                writeln!(out, "left a volume snapshot, delete it by hand: {l}")?;
            }
            let verb = if done.dry_run { "would be removed (dry run: nothing removed)" } else { "removed" };
            writeln!(
                out,
                "{} kept, {removed} {verb} in {}{}",
                done.decisions.len() - removed,
                done.repository,
                if removed > 0 && !done.dry_run { "; `bulkhead backup prune` frees their data" } else { "" }
            )?;
        }
    }
    Ok(if done.volume_snapshots.left.is_empty() { Verdict::Pass } else { Verdict::Fail })
}

/// Runs `backup prune`.
///
/// # Errors
/// Bad flags or fleet (exit 2), an unreachable repository (exit 3).
pub fn prune(settings: &BackupPruneSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&settings.fleet)?;
    let repo = repository(&fleet, settings.repository.as_deref(), None)?;
    let (dry_run, now) = (settings.dry_run, settings.now);
    let done = crate::runtime::block_on(bulkhead_jobs::retention::prune(repo, dry_run, now))??;
    let pruned = &done.pruned;
    match settings.output {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &done)?;
            writeln!(out)?;
        }
        _ => {
            let verb = if dry_run { "would delete" } else { "deleted" };
            writeln!(
                out,
                "{}: {verb} {} packs ({} bytes), repacked {}; {} bytes in use, {} unused bytes left{}",
                done.repository,
                pruned.packs_deleted,
                pruned.bytes_deleted,
                pruned.packs_repacked,
                pruned.bytes_used,
                pruned.bytes_unused_left,
                if now || dry_run { "" } else { " (packs marked now are deleted by a prune 23 h on, or give --now)" }
            )?;
        }
    }
    Ok(Verdict::Pass)
}
