//! `bulkhead restore`.

use std::collections::BTreeMap;
use std::io::Write;

use bulkhead_dr::volume_sources::Source;
use bulkhead_dr::{Action, RestoreReport};
use bulkhead_model::Verdict;
use bulkhead_report::{OutputFormat, Table};

use super::recovery::{ProgressDisplay, environment, load_fleet};
use crate::error::Failure;
use crate::settings::RestoreSettings;

/// Runs the command.
///
/// # Errors
/// Bad flags or fleet (exit 2), an unreachable cluster or repository (exit 3).
pub fn run(settings: &RestoreSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&settings.fleet)?;
    let plan = bulkhead_jobs::restore::plan(&fleet, settings.job.clone(), &environment())?;
    let display = ProgressDisplay::objects();
    let report = crate::runtime::block_on(bulkhead_jobs::restore::execute(&fleet, plan, &|p| display.update(p)))??;
    drop(display);
    match settings.output {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &report)?;
            writeln!(out)?;
        }
        _ => write_human(out, &report, &settings.job.to)?,
    }
    Ok(if report.failed() > 0 { Verdict::Fail } else { Verdict::Pass })
}

fn write_human(out: &mut dyn Write, report: &RestoreReport, to: &str) -> Result<(), Failure> {
    if report.dry_run {
        writeln!(out, "plan: restore snapshot {} into `{to}` (dry run: nothing changed)", report.snapshot.id.short())?;
        for r in &report.results {
            let id = object_id(r);
            match r.action {
                Action::WouldCreate => writeln!(out, "  + {id}")?,
                Action::WouldUpdate => writeln!(out, "  ~ {id}: {}", r.changes.join(", "))?,
                Action::Unchanged => writeln!(out, "  = {id}")?,
                Action::Skipped => writeln!(out, "  - {id}: skipped, {}", r.why.as_deref().unwrap_or(""))?,
                Action::Failed => writeln!(out, "  ! {id}: would fail: {}", r.why.as_deref().unwrap_or(""))?,
                Action::Created | Action::Updated => {}
            }
        }
    }
    for (old, new) in &report.storage_classes {
        writeln!(out, "storage class {old} → {new}")?;
    }
    for v in &report.volumes {
        let claim = format!("claim {}/{}", v.namespace, v.claim);
        match &v.source {
            Source::Snapshot { snapshot } => writeln!(out, "{claim}: its data from VolumeSnapshot {snapshot}")?,
            Source::Content { handle, driver, content, .. } => {
                writeln!(
                    out,
                    "{claim}: its data from snapshot {handle} of {driver} (VolumeSnapshotContent {content})"
                )?;
            }
            Source::Kept { why, .. } => writeln!(out, "{claim}: kept, {why}")?,
            Source::Empty { why, .. } | Source::Refused { why } => writeln!(out, "{claim}: empty, {why}")?,
        }
    }
    // One row per kind: what happened to its objects.
    let columns = [Action::Created, Action::Updated, Action::Unchanged, Action::Skipped, Action::Failed];
    let columns: Vec<Action> = if report.dry_run {
        vec![Action::WouldCreate, Action::WouldUpdate, Action::Unchanged, Action::Skipped, Action::Failed]
    } else {
        columns.to_vec()
    };
    let mut per_kind: BTreeMap<(bulkhead_dr::order::Phase, String), BTreeMap<Action, usize>> = BTreeMap::new();
    for r in &report.results {
        *per_kind.entry((r.phase, r.kind.clone())).or_default().entry(r.action).or_default() += 1;
    }
    let mut header = vec!["kind".to_string()];
    header.extend(columns.iter().map(|a| a.as_str().to_string()));
    let mut table = Table::new(header);
    for ((_, kind), counts) in &per_kind {
        let mut row = vec![kind.clone()];
        row.extend(columns.iter().map(|a| counts.get(a).copied().unwrap_or(0).to_string()));
        table.row(row);
    }
    writeln!(out)?;
    table.write(out)?;
    for r in report.results.iter().filter(|r| r.action == Action::Failed && !report.dry_run) {
        writeln!(out, "failed: {}: {}", object_id(r), r.why.as_deref().unwrap_or(""))?;
    }
    writeln!(
        out,
        "{} objects from snapshot {} into `{to}` in {:.1} s: {} failed",
        report.results.len(),
        report.snapshot.id.short(),
        report.seconds,
        report.failed()
    )?;
    Ok(())
}

fn object_id(r: &bulkhead_dr::ObjectResult) -> String {
    match &r.namespace {
        Some(ns) => format!("{} {ns}/{}", r.kind, r.name),
        None => format!("{} {}", r.kind, r.name),
    }
}
