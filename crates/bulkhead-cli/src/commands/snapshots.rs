//! `bulkhead backup show | diff`: looking into snapshots.

use std::collections::BTreeMap;
use std::io::Write;

use bulkhead_dr::diff::ObjectChange;
use bulkhead_jobs::snapshots::{Compared, Shown};
use bulkhead_model::Verdict;
use bulkhead_report::{OutputFormat, Table};
use bulkhead_repository::Change;

use super::recovery::{environment, load_fleet};
use crate::error::Failure;
use crate::settings::{BackupDiffSettings, BackupShowSettings};

/// Runs `backup show`.
///
/// # Errors
/// Bad flags or fleet, no such snapshot (exit 2), an unreachable repository (exit 3).
pub fn show(settings: &BackupShowSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&settings.fleet)?;
    let Shown { repository, snapshot, objects: places } = crate::runtime::block_on(bulkhead_jobs::snapshots::show(
        &fleet,
        &settings.among,
        &settings.snapshot,
        &environment(),
    ))??;
    let mut per_resource: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &places {
        *per_resource.entry(p.resource.as_str()).or_default() += 1;
    }
    match settings.output {
        OutputFormat::Json => {
            let mut doc =
                serde_json::json!({"repository": repository, "snapshot": snapshot, "resources": per_resource});
            if settings.objects {
                doc["objects"] = serde_json::to_value(&places)?;
            }
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        _ => {
            writeln!(out, "snapshot {} of `{}` in {repository}", snapshot.id, snapshot.hostname)?;
            writeln!(out, "  taken    {}", snapshot.time)?;
            writeln!(out, "  tags     {}", snapshot.tags.join(", "))?;
            // The description's first lines: who took it, from which Kubernetes.
            for line in snapshot.description.lines().filter(|l| !l.starts_with("resources:")) {
                writeln!(out, "  {line}")?;
            }
            writeln!(
                out,
                "  {} objects, {} bytes ({} new when taken)",
                snapshot.files, snapshot.bytes, snapshot.added
            )?;
            writeln!(out)?;
            let mut table = Table::new(["resource", "objects"]);
            for (resource, n) in &per_resource {
                table.row([resource.to_string(), n.to_string()]);
            }
            table.write(out)?;
            if settings.objects {
                writeln!(out)?;
                for p in &places {
                    match &p.namespace {
                        Some(ns) => writeln!(out, "{} {ns}/{}", p.resource, p.name)?,
                        None => writeln!(out, "{} {}", p.resource, p.name)?,
                    }
                }
            }
        }
    }
    Ok(Verdict::Pass)
}

/// Runs `backup diff`.
///
/// # Errors
/// Bad flags or fleet, no such snapshot (exit 2), an unreachable repository (exit 3).
pub fn diff(settings: &BackupDiffSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&settings.fleet)?;
    let (first, second) = &settings.snapshots;
    let compared: Compared = crate::runtime::block_on(bulkhead_jobs::snapshots::diff(
        &fleet,
        &settings.among,
        first,
        second,
        &environment(),
    ))??;
    match settings.output {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &compared)?;
            writeln!(out)?;
        }
        _ => write_diff(out, compared.from.id.short(), compared.to.id.short(), &compared.changes)?,
    }
    Ok(Verdict::Pass)
}

fn write_diff(out: &mut dyn Write, a: &str, b: &str, changes: &[ObjectChange]) -> Result<(), Failure> {
    writeln!(out, "from snapshot {a} to {b}:")?;
    for c in changes {
        let id = match &c.namespace {
            Some(ns) => format!("{} {ns}/{}", c.kind, c.name),
            None => format!("{} {}", c.kind, c.name),
        };
        match c.change {
            Change::Added => writeln!(out, "  + {id}")?,
            Change::Removed => writeln!(out, "  - {id}")?,
            Change::Changed => writeln!(out, "  ~ {id}: {}", c.fields.join(", "))?,
        }
    }
    let count = |k: Change| changes.iter().filter(|c| c.change == k).count();
    writeln!(
        out,
        "{} added, {} removed, {} changed",
        count(Change::Added),
        count(Change::Removed),
        count(Change::Changed)
    )?;
    Ok(())
}
