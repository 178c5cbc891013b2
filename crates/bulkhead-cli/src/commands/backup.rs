//! `bulkhead backup create | list`.

use std::io::Write;

use bulkhead_jobs::CancellationToken;
use bulkhead_model::Verdict;
use bulkhead_report::{OutputFormat, Table};
use bulkhead_repository::TagKey;

use super::recovery::{ProgressDisplay, environment, load_fleet};
use crate::error::Failure;
use crate::settings::{BackupCheckSettings, BackupCreateSettings, BackupListSettings};

/// Runs `backup create`.
///
/// # Errors
/// Bad flags or fleet (exit 2), an unreachable cluster or repository (exit 3).
pub fn create(settings: &BackupCreateSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&settings.fleet)?;
    let plan = bulkhead_jobs::backup::plan(&fleet, &settings.job, &environment())?;
    let display = ProgressDisplay::objects();
    let cancel = CancellationToken::new();
    let done =
        crate::runtime::block_on(bulkhead_jobs::backup::execute(&fleet, plan, &|p| display.update(p), &cancel))??;
    drop(display);
    match settings.output {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &done)?;
            writeln!(out)?;
        }
        _ => {
            if done.backups.is_empty() {
                writeln!(
                    out,
                    "no app uses policy `{}`: nothing to back up",
                    settings.job.policy.as_deref().unwrap_or("")
                )?;
            }
            for r in &done.backups {
                writeln!(
                    out,
                    "snapshot {} of `{}`{} in {}: {} objects of {} resources, {} bytes ({} new) in {:.1} s",
                    r.snapshot.id.short(),
                    r.snapshot.hostname,
                    r.snapshot.tag(TagKey::App).map(|a| format!(" (app {a})")).unwrap_or_default(),
                    done.repository,
                    r.objects,
                    r.resources.len(),
                    r.snapshot.bytes,
                    r.snapshot.added,
                    r.seconds
                )?;
                for s in &r.skipped {
                    writeln!(out, "  could not list {}: {}", s.resource, s.why)?;
                }
                for v in &r.volumes {
                    match (&v.snapshot, &v.not_taken) {
                        (Some(s), _) => writeln!(
                            out,
                            "  volume {}/{}: VolumeSnapshot {} ({}, {}), ready in {:.1} s",
                            v.namespace, v.claim, s.name, s.ready.driver, s.consistency, s.seconds
                        )?,
                        (None, Some(why)) => {
                            writeln!(
                                out,
                                "  volume {}/{}: no snapshot, its data is not in the backup: {why}",
                                v.namespace, v.claim
                            )?;
                        }
                        (None, None) => {}
                    }
                }
            }
        }
    }
    Ok(if done.is_partial() { Verdict::Fail } else { Verdict::Pass })
}

/// Runs `backup check`.
///
/// # Errors
/// Bad flags or fleet (exit 2), an unreachable repository (exit 3).
pub fn check(settings: &BackupCheckSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&settings.fleet)?;
    let read_data = settings.read_data;
    let checked = crate::runtime::block_on(bulkhead_jobs::snapshots::check(
        &fleet,
        settings.repository.as_deref(),
        read_data,
        &environment(),
    ))??;
    let (problems, repo) = (&checked.problems, &checked.repository);
    for p in problems {
        writeln!(out, "{p}")?;
    }
    let what = if read_data { "structure and data" } else { "structure (add --read-data to verify the data too)" };
    if problems.is_empty() {
        writeln!(out, "repository {repo}: {what} checked, no problems")?;
        Ok(Verdict::Pass)
    } else {
        writeln!(out, "repository {repo}: {what} checked, {} problems", problems.len())?;
        Ok(Verdict::Fail)
    }
}

/// Runs `backup list`.
///
/// # Errors
/// Bad flags or fleet (exit 2), an unreachable repository (exit 3).
pub fn list(settings: &BackupListSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&settings.fleet)?;
    let listed = crate::runtime::block_on(bulkhead_jobs::snapshots::list(&fleet, &settings.among, &environment()))??;
    let shown = &listed.snapshots;
    match settings.output {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &listed)?;
            writeln!(out)?;
        }
        _ => {
            let mut table = Table::new(["snapshot", "time", "cluster", "app", "objects", "size"]);
            for s in shown {
                table.row([
                    s.id.short().to_string(),
                    s.time.clone(),
                    s.tag(TagKey::Cluster).unwrap_or("-").to_string(),
                    s.tag(TagKey::App).unwrap_or("-").to_string(),
                    s.files.to_string(),
                    s.bytes.to_string(),
                ]);
            }
            table.write(out)?;
            writeln!(out, "{} snapshots in {}", shown.len(), listed.repository)?;
        }
    }
    Ok(Verdict::Pass)
}
