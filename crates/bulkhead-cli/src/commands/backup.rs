//! `bulkhead backup create | list`.

use std::io::Write;

use bulkhead_dr::select::{Selection, parse_labels};
use bulkhead_dr::{BackupReport, BackupRequest};
use bulkhead_report::{OutputFormat, Table, Verdict};
use bulkhead_vault::{NewSnapshot, Snapshot, Vault};

use super::recovery::{connect_named, environment, load_fleet, repository, vault_failure};
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
    let app = match &args.app {
        Some(name) => Some(spec.apps.iter().find(|a| a.name == *name).ok_or_else(|| {
            let known: Vec<&str> = spec.apps.iter().map(|a| a.name.as_str()).collect();
            Failure::Usage(format!("the fleet has no app `{name}`; it has: {}", known.join(", ")))
        })?),
        None => None,
    };
    // Which clusters: the one named, or every one the app is placed on.
    let clusters: Vec<String> = match (&args.cluster, app) {
        (Some(c), _) => vec![c.clone()],
        (None, Some(app)) => {
            spec.clusters.iter().filter(|c| app.placement.clusters.matches(c)).map(|c| c.name.clone()).collect()
        }
        (None, None) => return Err(Failure::Usage("say what to back up: --cluster NAME or --app NAME".into())),
    };
    let repo = repository(&fleet, args.repo.repo.as_deref(), args.app.as_deref())?;
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
        labels: args.selector.as_deref().map(parse_labels).transpose().map_err(Failure::Usage)?.unwrap_or_default(),
        include_noise: args.include_noise,
    };
    let format = output(args.output);
    let fleet_name = fleet.file.metadata.name.clone();
    let reports: Vec<Result<BackupReport, Failure>> = super::block_on(async {
        let mut reports = Vec::new();
        for cluster_name in &clusters {
            let one = async {
                let cluster = connect_named(&fleet, cluster_name).await?;
                let mut tags = vec![format!("fleet={fleet_name}"), format!("cluster={cluster_name}")];
                if let Some(app) = &args.app {
                    tags.push(format!("app={app}"));
                }
                let request = BackupRequest {
                    selection: selection.clone(),
                    snapshot: NewSnapshot {
                        base: format!("/{cluster_name}"),
                        hostname: cluster_name.clone(),
                        label: args.app.clone().unwrap_or_else(|| cluster_name.clone()),
                        tags,
                        description: format!("bulkhead backup of {cluster_name}"),
                    },
                    location: repo.location.clone(),
                    password: repo.password.clone(),
                    parallel: usize::from(args.parallel),
                };
                bulkhead_dr::backup(&cluster, request, environment()).await.map_err(|e| vault_failure(&e))
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
            for r in &done {
                writeln!(
                    out,
                    "snapshot {} of `{}` in {}: {} objects of {} resources, {} bytes ({} new) in {:.1} s",
                    &r.snapshot.id[..8.min(r.snapshot.id.len())],
                    r.snapshot.hostname,
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

/// Opens the repository on a thread of its own (it blocks, and its S3
/// backend runs a runtime of its own) and runs `work` on it.
fn with_vault<T: Send + 'static>(
    repo: &super::recovery::Repo,
    work: impl FnOnce(Vault) -> Result<T, bulkhead_vault::Error> + Send + 'static,
) -> Result<T, Failure> {
    let env = environment();
    let (location, password) = (repo.location.clone(), repo.password.clone());
    std::thread::spawn(move || work(Vault::open(&location, &password, false, &*env)?))
        .join()
        .map_err(|_| Failure::Bug("the repository's thread panicked".into()))?
        .map_err(|e| vault_failure(&bulkhead_dr::Error::Vault(e)))
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
    let wanted = |s: &Snapshot| {
        args.cluster.as_deref().is_none_or(|c| s.tag("cluster") == Some(c))
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
