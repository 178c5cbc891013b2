//! `bulkhead backup show | diff`: looking into snapshots.

use std::collections::BTreeMap;
use std::io::Write;

use bulkhead_dr::diff::{ObjectChange, object_changes};
use bulkhead_dr::layout::{Place, place_of};
use bulkhead_report::{OutputFormat, Table, Verdict};
use bulkhead_repository::Change;

use bulkhead_jobs::tags::latest as latest_tags;

use super::recovery::{load_fleet, repository, snapshot_ref, with_repository};
use crate::args::{BackupDiffArgs, BackupShowArgs};
use crate::error::Failure;
use crate::settings::output;

/// Runs `backup show`.
///
/// # Errors
/// Bad flags or fleet, no such snapshot (exit 2), an unreachable repository (exit 3).
pub fn show(args: &BackupShowArgs, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&args.fleet.fleet)?;
    let repo = repository(&fleet, args.repo.repo.as_deref(), args.app.as_deref())?;
    let wanted = snapshot_ref(&args.snapshot)?;
    let tags = latest_tags(args.cluster.as_deref(), args.app.as_deref());
    let (snapshot, paths) = with_repository(&repo, move |r| {
        let snapshot = r.find(&wanted, &tags)?;
        let paths = r.paths(&snapshot.id)?;
        Ok((snapshot, paths))
    })?;
    let places: Vec<Place> = paths.iter().filter_map(|p| place_of(p)).collect();
    let mut per_resource: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &places {
        *per_resource.entry(p.resource.as_str()).or_default() += 1;
    }
    match output(args.output) {
        OutputFormat::Json => {
            let mut doc = serde_json::json!({"repository": repo.name, "snapshot": snapshot, "resources": per_resource});
            if args.objects {
                doc["objects"] = serde_json::to_value(&places)?;
            }
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        _ => {
            writeln!(out, "snapshot {} of `{}` in {}", snapshot.id, snapshot.hostname, repo.name)?;
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
            if args.objects {
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
pub fn diff(args: &BackupDiffArgs, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&args.fleet.fleet)?;
    let repo = repository(&fleet, args.repo.repo.as_deref(), args.app.as_deref())?;
    let tags = latest_tags(args.cluster.as_deref(), args.app.as_deref());
    let (first, second) = (snapshot_ref(&args.first)?, snapshot_ref(&args.second)?);
    let (a, b, differences) = with_repository(&repo, move |r| {
        let a = r.find(&first, &tags)?;
        let b = r.find(&second, &tags)?;
        let differences = r.compare(&a.id, &b.id)?;
        Ok((a, b, differences))
    })?;
    let changes = object_changes(&differences);
    match output(args.output) {
        OutputFormat::Json => {
            let doc = serde_json::json!({"repository": repo.name, "from": a, "to": b, "changes": changes});
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        _ => write_diff(out, a.id.short(), b.id.short(), &changes)?,
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
