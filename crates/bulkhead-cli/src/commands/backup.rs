//! `bulkhead backup create | list`.

use std::io::Write;

use bulkhead_dr::select::{Selection, parse_labels};
use bulkhead_dr::{BackupReport, BackupRequest};
use bulkhead_report::{OutputFormat, Table, Verdict};
use bulkhead_vault::{NewSnapshot, Snapshot};

use super::recovery::{ProgressDisplay, connect_named, environment, load_fleet, repository, vault_failure, with_vault};
use crate::args::{BackupCheckArgs, BackupCreateArgs, BackupListArgs};
use crate::error::Failure;
use crate::settings::output;

/// Runs `backup create`.
///
/// # Errors
/// Bad flags or fleet (exit 2), an unreachable cluster or repository (exit 3).
pub fn create(args: &BackupCreateArgs, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&args.fleet.fleet)?;
    let spec = &fleet.file.spec;
    let find_app = |name: &str| {
        spec.apps.iter().find(|a| a.name == name).ok_or_else(|| {
            let known: Vec<&str> = spec.apps.iter().map(|a| a.name.as_str()).collect();
            Failure::Usage(format!("the fleet has no app `{name}`; it has: {}", known.join(", ")))
        })
    };
    // What to back up: (cluster, app) pairs.
    let apps: Vec<&bulkhead_model::spec::App> = match (&args.app, &args.policy) {
        (Some(name), _) => vec![find_app(name)?],
        (None, Some(policy)) => {
            if !spec.dr.policies.iter().any(|p| p.name == *policy) {
                let known: Vec<&str> = spec.dr.policies.iter().map(|p| p.name.as_str()).collect();
                return Err(Failure::Usage(format!(
                    "the fleet has no policy `{policy}`; it has: {}",
                    known.join(", ")
                )));
            }
            spec.apps.iter().filter(|a| a.backup.as_ref().is_some_and(|b| b.policy == *policy)).collect()
        }
        (None, None) => Vec::new(),
    };
    let targets: Vec<(String, Option<&bulkhead_model::spec::App>)> = match (&args.cluster, apps.is_empty()) {
        (Some(c), true) => vec![(c.clone(), None)],
        (Some(c), false) => apps.iter().map(|a| (c.clone(), Some(*a))).collect(),
        (None, false) => apps
            .iter()
            .flat_map(|a| {
                spec.clusters.iter().filter(|c| a.placement.clusters.matches(c)).map(|c| (c.name.clone(), Some(*a)))
            })
            .collect(),
        (None, true) if args.policy.is_some() => Vec::new(),
        (None, true) => return Err(Failure::Usage("say what to back up: --cluster, --app or --policy".into())),
    };
    let policy_repo =
        args.policy.as_ref().and_then(|p| spec.dr.policies.iter().find(|x| x.name == *p)).map(|p| p.repository.clone());
    let wanted_repo = args.repo.repo.clone().or(policy_repo);
    let first_app = apps.first().map(|a| a.name.clone());
    let repo = repository(&fleet, wanted_repo.as_deref(), first_app.as_deref())?;
    let format = output(args.output);
    let fleet_name = fleet.file.metadata.name.clone();
    let labels = args.selector.as_deref().map(parse_labels).transpose().map_err(Failure::Usage)?.unwrap_or_default();
    let mut plans = Vec::new();
    for (cluster, app) in &targets {
        let mut namespaces = args.namespaces.clone();
        if let Some(app) = app
            && namespaces.is_empty()
        {
            namespaces.extend(app.namespace.iter().cloned());
            if namespaces.is_empty() {
                return Err(Failure::Input(format!(
                    "app `{}` has no `namespace` in fleet.yaml: give --namespace for its objects",
                    app.name
                )));
            }
        }
        let selection = Selection {
            namespaces,
            resources: args.resources.clone(),
            exclude_resources: args.exclude_resources.clone(),
            labels: labels.clone(),
            include_noise: args.include_noise,
        };
        let mut tags = vec![format!("fleet={fleet_name}"), format!("cluster={cluster}")];
        if let Some(app) = app {
            tags.push(format!("app={}", app.name));
        }
        if let Some(policy) = &args.policy {
            tags.push(format!("policy={policy}"));
        }
        let request = BackupRequest {
            selection,
            snapshot: NewSnapshot {
                base: format!("/{cluster}"),
                hostname: cluster.clone(),
                label: app.map_or_else(|| cluster.clone(), |a| a.name.clone()),
                tags,
                description: format!("bulkhead backup of {cluster}"),
            },
            location: repo.location.clone(),
            password: repo.password.clone(),
            parallel: usize::from(args.parallel),
        };
        plans.push((cluster.clone(), request));
    }
    let reports: Vec<Result<BackupReport, Failure>> = super::block_on(async {
        let mut reports = Vec::new();
        // One after the other: each backup already lists its cluster in parallel.
        for (cluster_name, request) in plans {
            let one = async {
                let cluster = connect_named(&fleet, &cluster_name).await?;
                let display = ProgressDisplay::new(&format!("backing up {cluster_name}"));
                bulkhead_dr::backup(&cluster, request, environment(), &|p| display.update(p))
                    .await
                    .map_err(|e| vault_failure(&e))
            };
            reports.push(one.await);
        }
        reports
    })?;
    let mut done = Vec::new();
    for r in reports {
        done.push(r?);
    }
    let skipped = done.iter().any(|r| !r.skipped.is_empty());
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &serde_json::json!({"repository": repo.name, "backups": done}))?;
            writeln!(out)?;
        }
        _ => {
            if done.is_empty() {
                writeln!(out, "no app uses policy `{}`: nothing to back up", args.policy.as_deref().unwrap_or(""))?;
            }
            for r in &done {
                writeln!(
                    out,
                    "snapshot {} of `{}`{} in {}: {} objects of {} resources, {} bytes ({} new) in {:.1} s",
                    &r.snapshot.id[..8.min(r.snapshot.id.len())],
                    r.snapshot.hostname,
                    r.snapshot.tag("app").map(|a| format!(" (app {a})")).unwrap_or_default(),
                    repo.name,
                    r.objects,
                    r.resources.len(),
                    r.snapshot.bytes,
                    r.snapshot.added,
                    r.seconds
                )?;
                for s in &r.skipped {
                    writeln!(out, "  could not list {}: {}", s.resource, s.why)?;
                }
            }
        }
    }
    Ok(if skipped { Verdict::Fail } else { Verdict::Pass })
}

/// Runs `backup check`.
///
/// # Errors
/// Bad flags or fleet (exit 2), an unreachable repository (exit 3).
pub fn check(args: &BackupCheckArgs, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&args.fleet.fleet)?;
    let repo = repository(&fleet, args.repo.repo.as_deref(), None)?;
    let read_data = args.read_data;
    // rustic_core 0.13 panics on some damaged data instead of reporting it
    // (a tree blob that does not decode): that is a finding, not our crash.
    let problems = with_vault(&repo, move |v| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| v.check(read_data))).unwrap_or_else(|panic| {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Ok(vec![format!("Error: the check stopped on damaged data ({why})")])
        })
    })?;
    for p in &problems {
        writeln!(out, "{p}")?;
    }
    let what = if read_data { "structure and data" } else { "structure (add --read-data to verify the data too)" };
    if problems.is_empty() {
        writeln!(out, "repository {}: {what} checked, no problems", repo.name)?;
        Ok(Verdict::Pass)
    } else {
        writeln!(out, "repository {}: {what} checked, {} problems", repo.name, problems.len())?;
        Ok(Verdict::Fail)
    }
}

/// Runs `backup list`.
///
/// # Errors
/// Bad flags or fleet (exit 2), an unreachable repository (exit 3).
pub fn list(args: &BackupListArgs, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&args.fleet.fleet)?;
    let repo = repository(&fleet, args.repo.repo.as_deref(), args.app.as_deref())?;
    let snapshots = with_vault(&repo, |v| v.snapshots())?;
    // Drill records and etcd snapshots (tagged bulkhead=…) have commands of their own.
    let wanted = |s: &Snapshot| {
        s.is_resource_backup()
            && args.cluster.as_deref().is_none_or(|c| s.tag("cluster") == Some(c))
            && args.app.as_deref().is_none_or(|a| s.tag("app") == Some(a))
    };
    let shown: Vec<&Snapshot> = snapshots.iter().filter(|s| wanted(s)).collect();
    match output(args.output) {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &serde_json::json!({"repository": repo.name, "snapshots": shown}))?;
            writeln!(out)?;
        }
        _ => {
            let mut table = Table::new(["snapshot", "time", "cluster", "app", "objects", "size"]);
            for s in &shown {
                table.row([
                    s.id[..8.min(s.id.len())].to_string(),
                    s.time.clone(),
                    s.tag("cluster").unwrap_or("-").to_string(),
                    s.tag("app").unwrap_or("-").to_string(),
                    s.files.to_string(),
                    s.bytes.to_string(),
                ]);
            }
            table.write(out)?;
            writeln!(out, "{} snapshots in {}", shown.len(), repo.name)?;
        }
    }
    Ok(Verdict::Pass)
}
