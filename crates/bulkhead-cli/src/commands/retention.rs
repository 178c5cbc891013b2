//! `bulkhead backup forget | prune`: keeping a repository to its retention.

use std::collections::BTreeMap;
use std::io::Write;

use bulkhead_report::{OutputFormat, Table, Verdict};
use bulkhead_vault::{Keep, Retention, Snapshot};

use super::recovery::{load_fleet, repository, with_vault};
use crate::args::{BackupForgetArgs, BackupPruneArgs};
use crate::error::Failure;
use crate::settings::output;

/// Runs `backup forget`.
///
/// # Errors
/// Bad flags or fleet (exit 2), an unreachable repository (exit 3).
pub fn forget(args: &BackupForgetArgs, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&args.fleet.fleet)?;
    let spec = &fleet.file.spec;
    let policy = match &args.policy {
        Some(name) => Some(spec.dr.policies.iter().find(|p| p.name == *name).ok_or_else(|| {
            let known: Vec<&str> = spec.dr.policies.iter().map(|p| p.name.as_str()).collect();
            Failure::Usage(format!("the fleet has no policy `{name}`; it has: {}", known.join(", ")))
        })?),
        None => None,
    };
    let wanted_repo = args.repo.repo.clone().or_else(|| policy.map(|p| p.repository.clone()));
    let repo = repository(&fleet, wanted_repo.as_deref(), args.app.as_deref())?;
    let flags = keep_flags(&args.keep);
    // The keep rules of an app: the flags, or its policy's.
    let policy_of = |app: &str| {
        let name = &spec.apps.iter().find(|a| a.name == app)?.backup.as_ref()?.policy;
        spec.dr.policies.iter().find(|p| p.name == *name)
    };
    let rules = |app: Option<&str>| -> Keep {
        if !flags.is_empty() {
            return flags;
        }
        app.and_then(policy_of).map_or_else(Keep::default, policy_keep)
    };
    let dry_run = args.dry_run;
    let (cluster, app, policy_name) = (args.cluster.clone(), args.app.clone(), policy.map(|p| p.name.clone()));
    let uses_policy = |snapshot: &Snapshot| {
        policy_name.as_ref().is_none_or(|p| {
            snapshot.tag("policy") == Some(p.as_str())
                || snapshot.tag("app").and_then(policy_of).is_some_and(|x| x.name == *p)
        })
    };
    let snapshots = with_vault(&repo, |v| v.snapshots())?;
    // Groups: one per (cluster, app), as the snapshots' tags say.
    let mut groups: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for s in &snapshots {
        // Drill records are history and etcd snapshots have rules of their
        // own: no resource backup's keep rule removes them.
        let in_scope = s.is_resource_backup()
            && cluster.as_deref().is_none_or(|c| s.tag("cluster") == Some(c))
            && app.as_deref().is_none_or(|a| s.tag("app") == Some(a))
            && uses_policy(s);
        if in_scope {
            let key = (s.tag("cluster").unwrap_or(&s.hostname).to_string(), s.tag("app").unwrap_or("").to_string());
            groups.entry(key).or_default().push(s.id.clone());
        }
    }
    let retention: Vec<(String, String, Retention)> = groups
        .into_iter()
        .map(|((c, a), ids)| {
            let keep = rules(Some(a.as_str()).filter(|a| !a.is_empty()));
            (c, a, Retention { snapshots: ids, keep })
        })
        .collect();
    let unruled: Vec<String> = retention
        .iter()
        .filter(|(_, _, r)| r.keep.is_empty())
        .map(|(c, a, r)| {
            format!(
                "{c}{}: {} snapshots",
                if a.is_empty() { String::new() } else { format!(" (app {a})") },
                r.snapshots.len()
            )
        })
        .collect();
    let groups: Vec<Retention> = retention.into_iter().map(|(_, _, r)| r).collect();
    let decisions = with_vault(&repo, move |v| v.forget(&groups, dry_run))?;
    let removed = decisions.iter().filter(|d| !d.keep).count();
    match output(args.output) {
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "repository": repo.name, "dryRun": dry_run, "decisions": decisions, "noRules": unruled,
            });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        _ => {
            let mut table = Table::new(["snapshot", "time", "cluster", "app", "", "kept by"]);
            for d in &decisions {
                let s = &d.snapshot;
                table.row([
                    s.id[..8.min(s.id.len())].to_string(),
                    s.time.clone(),
                    s.tag("cluster").unwrap_or(&s.hostname).to_string(),
                    s.tag("app").unwrap_or("-").to_string(),
                    if d.keep { "keep" } else { "remove" }.to_string(),
                    d.reasons.join(", "),
                ]);
            }
            table.write(out)?;
            for u in &unruled {
                writeln!(out, "left alone, no keep rules (give --keep-* or a policy's keep): {u}")?;
            }
            let verb = if dry_run { "would be removed (dry run: nothing removed)" } else { "removed" };
            writeln!(
                out,
                "{} kept, {removed} {verb} in {}{}",
                decisions.len() - removed,
                repo.name,
                if removed > 0 && !dry_run { "; `bulkhead backup prune` frees their data" } else { "" }
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

/// A policy's keep rules.
pub(crate) fn policy_keep(p: &bulkhead_model::spec::BackupPolicy) -> Keep {
    Keep {
        last: p.keep.last,
        hourly: p.keep.hourly,
        daily: p.keep.daily,
        weekly: p.keep.weekly,
        monthly: p.keep.monthly,
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
    let pruned = with_vault(&repo, move |v| v.prune(dry_run, now))?;
    match output(args.output) {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(
                &mut *out,
                &serde_json::json!({"repository": repo.name, "dryRun": dry_run, "pruned": pruned}),
            )?;
            writeln!(out)?;
        }
        _ => {
            let verb = if dry_run { "would delete" } else { "deleted" };
            writeln!(
                out,
                "{}: {verb} {} packs ({} bytes), repacked {}; {} bytes in use, {} unused bytes left{}",
                repo.name,
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
