//! `bulkhead backup forget | prune`: keeping a repository to its retention.

use std::io::Write;

use bulkhead_jobs::retention::ForgetJob;
use bulkhead_model::Verdict;
use bulkhead_report::{OutputFormat, Table};
use bulkhead_repository::{Keep, TagKey};

use super::recovery::{environment, load_fleet, repository};
use crate::args::{BackupForgetArgs, BackupPruneArgs};
use crate::error::Failure;
use crate::settings::output;

/// Runs `backup forget`.
///
/// # Errors
/// Bad flags or fleet (exit 2), an unreachable repository (exit 3).
pub fn forget(args: &BackupForgetArgs, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&args.fleet.fleet)?;
    let job = ForgetJob {
        policy: args.policy.clone(),
        cluster: args.cluster.clone(),
        app: args.app.clone(),
        keep: keep_flags(&args.keep),
        repository: args.repo.repo.clone(),
    };
    let done = crate::runtime::block_on(async {
        let plan = bulkhead_jobs::retention::plan_forget(&fleet, &job, &environment()).await?;
        bulkhead_jobs::retention::execute_forget(plan, args.dry_run).await
    })??;
    let removed = done.removed();
    match output(args.output) {
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
    Ok(Verdict::Pass)
}

/// The keep rules the flags give (empty when none is given).
pub(crate) fn keep_flags(flags: &crate::args::KeepArgs) -> Keep {
    Keep {
        last: flags.keep_last,
        hourly: flags.keep_hourly,
        daily: flags.keep_daily,
        weekly: flags.keep_weekly,
        monthly: flags.keep_monthly,
    }
}

/// Runs `backup prune`.
///
/// # Errors
/// Bad flags or fleet (exit 2), an unreachable repository (exit 3).
pub fn prune(args: &BackupPruneArgs, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&args.fleet.fleet)?;
    let repo = repository(&fleet, args.repo.repo.as_deref(), None)?;
    let (dry_run, now) = (args.dry_run, args.now);
    let done = crate::runtime::block_on(bulkhead_jobs::retention::prune(repo, dry_run, now))??;
    let pruned = &done.pruned;
    match output(args.output) {
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
