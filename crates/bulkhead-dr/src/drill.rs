//! A drill: the newest backup of an app restored into scratch namespaces
//! of another cluster, its workloads waited for, every object compared
//! with the snapshot, the real RTO and RPO measured against the app's
//! targets, the scratch namespaces removed again (after a failure or an
//! interruption too), and the result recorded in the repository beside the
//! snapshots. A failing drill says why: which object, which check, by how
//! much a target was missed.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bulkhead_kube::Cluster;
use bulkhead_repository::{File, NewSnapshot, Open, RepositoryAccess, Snapshot, SnapshotKind, SnapshotRef, TagKey};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::DynamicObject;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;
use crate::checks::{AppCheck, run_checks};
use crate::classes::FleetClasses;
use crate::mapping::Mapping;
use crate::restore::{Action, Existing, RestoreRequest, changed_fields, read_snapshot, restore_files};
use crate::volume_sources::{RestoredVolume, Source};

/// What to rehearse.
#[derive(Debug, Clone)]
pub struct DrillRequest {
    /// The drill's name (from `dr.drills`, or `APP-to-CLUSTER`).
    pub name: String,
    /// The app recovered.
    pub app: String,
    /// Its namespaces.
    pub namespaces: Vec<String>,
    /// The cluster whose backup is restored.
    pub from: String,
    /// The cluster it is restored into.
    pub to: String,
    /// The repository.
    pub repository: RepositoryAccess,
    /// The fleet's storage classes, to map them.
    pub fleet_classes: Option<FleetClasses>,
    /// The app's recovery time objective.
    pub rto: Option<Duration>,
    /// The app's recovery point objective.
    pub rpo: Option<Duration>,
    /// How long workloads may take to become available.
    pub timeout: Duration,
    /// The app's own checks, run in the scratch namespace of its first
    /// namespace once its workloads are available.
    pub checks: Vec<AppCheck>,
    /// Objects applied at once.
    pub parallel: usize,
    /// Leave the scratch namespaces (to look at a failure).
    pub keep: bool,
}

/// One verification of a drill.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Verification {
    /// What was verified.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// What was found.
    pub detail: String,
}

/// One claim a drill restored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DrilledVolume {
    /// Its scratch namespace.
    pub namespace: String,
    /// The claim.
    pub claim: String,
    /// Whether it was provisioned from the backup's snapshot of its data.
    pub data: bool,
    /// Whether it was bound to a volume when the drill looked.
    pub bound: bool,
    /// Where its data came from, or why it came back empty; and, when it
    /// is not bound, why.
    pub detail: String,
}

/// What a drill found.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DrillReport {
    /// The drill.
    pub drill: String,
    /// The app.
    pub app: String,
    /// The cluster whose backup was restored.
    pub from: String,
    /// The cluster it was restored into.
    pub to: String,
    /// When it started (seconds since the epoch).
    pub started: i64,
    /// The snapshot restored.
    pub snapshot: Option<String>,
    /// The measured RPO: the snapshot's age when the drill started.
    pub rpo_seconds: Option<f64>,
    /// The app's RPO.
    pub rpo_target_seconds: Option<f64>,
    /// The measured RTO: drill start to verified.
    pub rto_seconds: f64,
    /// The app's RTO.
    pub rto_target_seconds: Option<f64>,
    /// Source namespace → scratch namespace.
    pub namespaces: BTreeMap<String, String>,
    /// Objects restored and verified, per kind.
    pub objects: BTreeMap<String, usize>,
    /// Each claim restored: whether it holds the backup's data, and bound.
    #[serde(default)]
    pub volumes: Vec<DrilledVolume>,
    /// Each verification.
    pub verifications: Vec<Verification>,
    /// Why it failed, one line each; empty when it passed.
    pub problems: Vec<String>,
    /// The verdict.
    pub passed: bool,
}

fn now_epoch() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The scratch name for namespace `ns` in a drill started at `nanos`:
/// `NS-drill-XXXXXX`, shortened to Kubernetes's 63 characters.
pub fn scratch_namespace(ns: &str, nanos: u32) -> String {
    let suffix = format!("-drill-{:06x}", nanos & 0xff_ffff);
    let keep = 63 - suffix.len();
    let head: String = ns.chars().take(keep).collect();
    format!("{}{suffix}", head.trim_end_matches('-'))
}

/// Runs the drill against `cluster` (the target). `cancel` ends it early
/// (Ctrl-C): the scratch namespaces are removed all the same.
///
/// # Errors
/// When the repository's storage or the cluster cannot be reached at all;
/// everything else a drill meets is a finding of its report.
pub async fn run(
    cluster: &Cluster,
    request: &DrillRequest,
    cancel: impl std::future::Future<Output = ()>,
) -> Result<DrillReport, Error> {
    let clock = Instant::now();
    let started = now_epoch();
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let scratch: BTreeMap<String, String> =
        request.namespaces.iter().map(|n| (n.clone(), scratch_namespace(n, nanos))).collect();
    let mut report = DrillReport {
        drill: request.name.clone(),
        app: request.app.clone(),
        from: request.from.clone(),
        to: request.to.clone(),
        started,
        snapshot: None,
        rpo_seconds: None,
        rpo_target_seconds: request.rpo.map(|d| d.as_secs_f64()),
        rto_seconds: 0.0,
        rto_target_seconds: request.rto.map(|d| d.as_secs_f64()),
        namespaces: scratch.clone(),
        objects: BTreeMap::new(),
        volumes: Vec::new(),
        verifications: Vec::new(),
        problems: Vec::new(),
        passed: false,
    };
    let restore = RestoreRequest {
        repository: request.repository.clone(),
        snapshot: SnapshotRef::Latest,
        latest_tags: vec![TagKey::Cluster.with(&request.from), TagKey::App.with(&request.app)],
        namespaces: request.namespaces.clone(),
        kinds: Vec::new(),
        mapping: Mapping { namespaces: scratch.clone(), storage_classes: BTreeMap::new() },
        fleet_classes: request.fleet_classes.clone(),
        existing: Existing::Update,
        // A claim the target cannot provision from its snapshot comes back
        // empty, and the drill fails saying so: the rest is still rehearsed.
        allow_empty_volumes: true,
        dry_run: false,
        parallel: request.parallel,
    };
    // Ok(true): interrupted. Whatever happened, the scratch namespaces go,
    // and the snapshot contents made for them (cluster-scoped).
    let mut contents = Vec::new();
    let outcome: Result<bool, Error> = {
        let work = rehearse(cluster, request, &restore, &mut report, &mut contents, clock);
        tokio::select! {
            outcome = work => outcome.map(|()| false),
            () = cancel => Ok(true),
        }
    };
    if !request.keep {
        remove_namespaces(cluster, scratch.values()).await;
        remove_contents(cluster, &contents).await;
    }
    if outcome? {
        report.problems.push("interrupted before it was verified".into());
    }
    if report.rto_seconds == 0.0 {
        report.rto_seconds = clock.elapsed().as_secs_f64();
    }
    judge_targets(&mut report);
    report.passed = report.problems.is_empty();
    Ok(report)
}

/// Restore, wait, verify: everything between the start and "verified".
async fn rehearse(
    cluster: &Cluster,
    request: &DrillRequest,
    restore: &RestoreRequest,
    report: &mut DrillReport,
    contents: &mut Vec<String>,
    clock: Instant,
) -> Result<(), Error> {
    let (snapshot, files) = match read_snapshot(restore).await {
        Ok(read) => read,
        Err(Error::Repository(e @ bulkhead_repository::Error::Storage { .. })) => return Err(Error::Repository(e)),
        Err(e) => {
            report.problems.push(format!("the backup could not be read: {e}"));
            return Ok(());
        }
    };
    record_snapshot(report, &snapshot);
    let (restored, sent) = restore_files(cluster, restore, snapshot, files, &|_| {}).await?;
    contents.extend(restored.volumes.iter().filter_map(|v| match &v.source {
        Source::Content { content, .. } => Some(content.clone()),
        _ => None,
    }));
    let failed: Vec<String> = restored
        .results
        .iter()
        .filter(|r| r.action == Action::Failed)
        .map(|r| {
            let id = r.namespace.as_ref().map_or_else(|| r.name.clone(), |ns| format!("{ns}/{}", r.name));
            format!("{} {id} was not restored: {}", r.kind, r.why.as_deref().unwrap_or("no reason given"))
        })
        .collect();
    report.verifications.push(Verification {
        name: "restored".into(),
        passed: failed.is_empty(),
        detail: format!("{} objects, {} failed", restored.results.len(), failed.len()),
    });
    report.problems.extend(failed);
    let deadline = Instant::now() + request.timeout;
    let unavailable = wait_available(cluster, report.namespaces.values(), deadline).await;
    report.verifications.push(Verification {
        name: "available".into(),
        passed: unavailable.is_empty(),
        detail: if unavailable.is_empty() { "every workload available".into() } else { unavailable.join("; ") },
    });
    report.problems.extend(unavailable);
    verify_volumes(cluster, &restored.volumes, deadline, report).await;
    if let Some(home) = request.namespaces.first().and_then(|n| report.namespaces.get(n)).cloned() {
        for check in run_checks(cluster, &request.checks, &home).await {
            if !check.passed {
                report.problems.push(format!("{} failed: {}", check.name, check.detail));
            }
            report.verifications.push(check);
        }
    }
    let (objects, differences) = verify_objects(cluster, &sent, request.parallel).await?;
    report.verifications.push(Verification {
        name: "objects".into(),
        passed: differences.is_empty(),
        detail: format!(
            "{} objects compared field by field, {} differ",
            objects.values().sum::<usize>(),
            differences.len()
        ),
    });
    report.objects = objects;
    report.problems.extend(differences);
    report.rto_seconds = clock.elapsed().as_secs_f64();
    Ok(())
}

fn record_snapshot(report: &mut DrillReport, snapshot: &Snapshot) {
    report.snapshot = Some(snapshot.id.to_string());
    #[allow(clippy::cast_precision_loss)] // seconds of age: far below 2^52
    let age = (report.started - snapshot.epoch).max(0) as f64;
    report.rpo_seconds = Some(age);
}

/// Adds a problem for each target the measurements missed.
fn judge_targets(report: &mut DrillReport) {
    let miss = |what: &str, took: f64, target: f64| {
        format!("{what} missed by {:.0} s: {took:.0} s against a target of {target:.0} s", took - target)
    };
    if let Some(target) = report.rto_target_seconds
        && report.rto_seconds > target
    {
        report.problems.push(miss("RTO", report.rto_seconds, target));
    }
    if let (Some(target), Some(age)) = (report.rpo_target_seconds, report.rpo_seconds)
        && age > target
    {
        report.problems.push(miss("RPO (the newest backup's age)", age, target));
    }
}

/// Waits until every Deployment, StatefulSet and DaemonSet of `namespaces`
/// is available, or `deadline`; the ones that are not, each with why.
async fn wait_available<'a>(
    cluster: &Cluster,
    namespaces: impl Iterator<Item = &'a String> + Clone,
    deadline: Instant,
) -> Vec<String> {
    loop {
        let mut waiting = Vec::new();
        for ns in namespaces.clone() {
            waiting.extend(unavailable_in(cluster, ns).await);
        }
        if waiting.is_empty() || Instant::now() >= deadline {
            return waiting;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn unavailable_in(cluster: &Cluster, ns: &str) -> Vec<String> {
    let mut out = Vec::new();
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), ns);
    match deployments.list(&Default::default()).await {
        Ok(list) => {
            for d in list.items {
                let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                let status = d.status.unwrap_or_default();
                let have = status.available_replicas.unwrap_or(0);
                if have < want {
                    let why = status
                        .conditions
                        .unwrap_or_default()
                        .into_iter()
                        .find(|c| c.status != "True")
                        .and_then(|c| c.message)
                        .map(|m| format!(" ({m})"))
                        .unwrap_or_default();
                    let name = d.metadata.name.unwrap_or_default();
                    out.push(format!("Deployment {ns}/{name}: {have} of {want} replicas available{why}"));
                }
            }
        }
        Err(e) => out.push(format!("Deployments of {ns} could not be read: {e}")),
    }
    let sets: Api<StatefulSet> = Api::namespaced(cluster.client.clone(), ns);
    if let Ok(list) = sets.list(&Default::default()).await {
        for s in list.items {
            let want = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            let have = s.status.and_then(|s| s.ready_replicas).unwrap_or(0);
            if have < want {
                let name = s.metadata.name.unwrap_or_default();
                out.push(format!("StatefulSet {ns}/{name}: {have} of {want} replicas ready"));
            }
        }
    }
    let daemons: Api<DaemonSet> = Api::namespaced(cluster.client.clone(), ns);
    if let Ok(list) = daemons.list(&Default::default()).await {
        for d in list.items {
            let status = d.status.unwrap_or_default();
            let (want, have) = (status.desired_number_scheduled, status.number_available.unwrap_or(0));
            if have < want {
                let name = d.metadata.name.unwrap_or_default();
                out.push(format!("DaemonSet {ns}/{name}: {have} of {want} pods available"));
            }
        }
    }
    out
}

/// Waits until every claim restored with the backup's data is bound (or
/// `deadline`) and records each claim: one whose backup has its data but
/// that came back empty, or that is not bound, is a problem. A claim the
/// backup holds no data of is reported as it is: nothing in the backup
/// says it was ever bound.
async fn verify_volumes(cluster: &Cluster, volumes: &[RestoredVolume], deadline: Instant, report: &mut DrillReport) {
    if volumes.is_empty() {
        return;
    }
    let phases = loop {
        let phases = claim_phases(cluster, volumes).await;
        let waiting = volumes.iter().zip(&phases).any(|(v, p)| v.source.has_data() && p.as_deref() != Ok("Bound"));
        if !waiting || Instant::now() >= deadline {
            break phases;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    for (v, phase) in volumes.iter().zip(phases) {
        let id = format!("PersistentVolumeClaim {}/{}", v.namespace, v.claim);
        let bound = phase.as_deref() == Ok("Bound");
        let mut detail = match &v.source {
            Source::Snapshot { snapshot } => format!("its data from the backup's VolumeSnapshot {snapshot}"),
            Source::Content { handle, driver, .. } => format!("its data from snapshot {handle} of {driver}"),
            Source::Kept { why, .. } => format!("kept: {why}"),
            Source::Empty { why, .. } | Source::Refused { why } => format!("empty: {why}"),
        };
        if let Source::Empty { why, had_snapshot: true } = &v.source {
            report.problems.push(format!("{id} came back without the backup's data: {why}"));
        }
        if !bound {
            let why = match phase {
                Ok(phase) => format!("not bound ({phase})"),
                Err(e) => format!("not bound: {e}"),
            };
            if v.source.has_data() {
                report.problems.push(format!("{id} is {why}"));
            }
            detail = format!("{detail}; {why}");
        }
        report.volumes.push(DrilledVolume {
            namespace: v.namespace.clone(),
            claim: v.claim.clone(),
            data: v.source.has_data(),
            bound,
            detail,
        });
    }
    let with_data = report.volumes.iter().filter(|v| v.data).count();
    let bound = report.volumes.iter().filter(|v| v.bound).count();
    report.verifications.push(Verification {
        name: "volumes".into(),
        passed: report.volumes.iter().all(|v| v.bound || !v.data)
            && volumes.iter().all(|v| !matches!(v.source, Source::Empty { had_snapshot: true, .. })),
        detail: format!(
            "{bound} of {} claims bound; {with_data} restored with the backup's data, {} empty",
            volumes.len(),
            volumes.len() - with_data
        ),
    });
}

/// Each claim's phase (`Pending`, `Bound`, `Lost`), or why it could not be read.
async fn claim_phases(cluster: &Cluster, volumes: &[RestoredVolume]) -> Vec<Result<String, String>> {
    let mut out = Vec::with_capacity(volumes.len());
    for v in volumes {
        let api: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> =
            Api::namespaced(cluster.client.clone(), &v.namespace);
        out.push(match cluster.call("read a restored claim", api.get_opt(&v.claim)).await {
            Ok(Some(c)) => Ok(c.status.and_then(|s| s.phase).unwrap_or_else(|| "no phase yet".into())),
            Ok(None) => Err("it is missing".into()),
            Err(e) => Err(e.to_string()),
        });
    }
    out
}

/// Deletes the snapshot contents a drill's restore made (`Retain`: the
/// driver's snapshots, which belong to the backup, stay).
async fn remove_contents(cluster: &Cluster, contents: &[String]) {
    for name in contents {
        if let Err(e) = bulkhead_kube::volume_snapshots::delete_content(cluster, name).await {
            tracing::warn!(content = %name, error = %e, "could not remove a drill's volume snapshot content");
        }
    }
}

/// Reads every object sent back from the cluster (`parallel` at once) and
/// compares it with the snapshot's (after mapping), field by field: per
/// kind, how many matched; and each missing or differing object, with its fields.
async fn verify_objects(
    cluster: &Cluster,
    sent: &[Value],
    parallel: usize,
) -> Result<(BTreeMap<String, usize>, Vec<String>), Error> {
    let discovery = bulkhead_kube::discovery::discover(cluster).await?;
    let discovery = &discovery;
    let outcomes: Vec<(String, Option<String>)> = futures::stream::iter(sent)
        .map(|desired| async move {
            let kind = desired["kind"].as_str().unwrap_or_default().to_string();
            let name = desired.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
            let ns = desired.pointer("/metadata/namespace").and_then(Value::as_str);
            let id = ns.map_or_else(|| format!("{kind} {name}"), |ns| format!("{kind} {ns}/{name}"));
            let Some((resource, caps)) = bulkhead_kube::apply::resolve(discovery, desired) else {
                return (kind, Some(format!("{id}: its kind is not served")));
            };
            let api: Api<DynamicObject> = match (caps.scope, ns) {
                (kube::discovery::Scope::Namespaced, Some(ns)) => {
                    Api::namespaced_with(cluster.client.clone(), ns, &resource)
                }
                _ => Api::all_with(cluster.client.clone(), &resource),
            };
            let problem = match cluster.call("read a restored object", api.get_opt(name)).await {
                Ok(Some(live)) => {
                    let live = serde_json::to_value(&live).unwrap_or(Value::Null);
                    let differ = changed_fields(desired, desired, &live);
                    (!differ.is_empty()).then(|| format!("{id} differs from the backup in {}", differ.join(", ")))
                }
                Ok(None) => Some(format!("{id} is missing")),
                Err(e) => Some(format!("{id} could not be read: {e}")),
            };
            (kind, problem)
        })
        .buffered(parallel.max(1))
        .collect()
        .await;
    let mut counts = BTreeMap::new();
    let mut problems = Vec::new();
    for (kind, problem) in outcomes {
        match problem {
            None => *counts.entry(kind).or_default() += 1,
            Some(p) => problems.push(p),
        }
    }
    Ok((counts, problems))
}

/// Deletes the scratch namespaces (and so everything in them); they finish
/// terminating on their own.
async fn remove_namespaces<'a>(cluster: &Cluster, namespaces: impl Iterator<Item = &'a String>) {
    let api: Api<Namespace> = Api::all(cluster.client.clone());
    for ns in namespaces {
        match api.delete(ns, &Default::default()).await {
            // Never created: the drill stopped before its restore.
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(e) => tracing::warn!(namespace = %ns, error = %e, "could not remove a drill's scratch namespace"),
        }
    }
}

/// Stores `report` in the repository as a snapshot of its own (one JSON
/// file, `/drills/APP/STARTED.json`, tagged `bulkhead=drill`), readable with
/// stock restic. Its tags carry the verdict and the RTO (whole seconds,
/// rounded up), so `check` and `blast` read them from the snapshot list alone.
///
/// # Errors
/// When the repository cannot be written.
pub async fn record(repository: &RepositoryAccess, report: &DrillReport) -> Result<Snapshot, Error> {
    let content = serde_json::to_vec_pretty(report).map_err(|e| Error::Input(format!("the drill's report: {e}")))?;
    let (tx, rx) = mpsc::channel();
    tx.send(File::bytes(vec![report.app.clone(), format!("{}.json", report.started)], content))
        .map_err(|_| Error::Input("the record could not be queued".into()))?;
    drop(tx);
    let snapshot = NewSnapshot {
        base: "/drills".into(),
        hostname: report.to.clone(),
        label: report.drill.clone(),
        tags: SnapshotKind::DrillRecord
            .tag()
            .into_iter()
            .chain([
                TagKey::Drill.with(&report.drill),
                TagKey::DrillApp.with(&report.app),
                TagKey::Verdict.with(if report.passed { "passed" } else { "failed" }),
                TagKey::RtoSeconds.with(report.rto_seconds.ceil()),
            ])
            .collect(),
        description: format!(
            "bulkhead drill {}: {} ({} → {})",
            report.drill,
            if report.passed { "passed" } else { "failed" },
            report.from,
            report.to
        ),
    };
    Ok(repository.run(Open::OrCreate, move |r| r.save(&snapshot, rx, &|| Ok(1))).await?)
}

/// Every drill record of the repository (of `app` only, when given),
/// oldest first, read with one index.
///
/// # Errors
/// When the repository cannot be read.
pub async fn history(repository: &RepositoryAccess, app: Option<&str>) -> Result<Vec<DrillReport>, Error> {
    let app = app.map(str::to_string);
    let read = repository.run(Open::Existing, move |r| {
        let records: Vec<Snapshot> = r
            .snapshots()?
            .into_iter()
            .filter(|s| s.kind() == SnapshotKind::DrillRecord)
            .filter(|s| app.as_deref().is_none_or(|a| s.tag(TagKey::DrillApp) == Some(a)))
            .collect();
        let ids: Vec<_> = records.iter().map(|s| s.id.clone()).collect();
        Ok(records.into_iter().zip(r.files_of(&ids)?).collect::<Vec<_>>())
    });
    let mut out = Vec::new();
    for (s, files) in read.await? {
        for (path, bytes) in files {
            match serde_json::from_slice::<DrillReport>(&bytes) {
                Ok(r) => out.push(r),
                Err(e) => tracing::warn!(snapshot = %s.id, path = %path, error = %e, "not a drill record"),
            }
        }
    }
    out.sort_by_key(|r| r.started);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_namespaces_are_valid_names() {
        assert_eq!(scratch_namespace("shop", 0xabcdef), "shop-drill-abcdef");
        let long = "a".repeat(70);
        let name = scratch_namespace(&long, 1);
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("-drill-000001"));
        assert_eq!(scratch_namespace(&format!("{}-x", "b".repeat(49)), 2).len(), 62, "no dash before the suffix");
    }

    fn report() -> DrillReport {
        DrillReport {
            drill: "d".into(),
            app: "a".into(),
            from: "x".into(),
            to: "y".into(),
            started: 1000,
            snapshot: Some("s".into()),
            rpo_seconds: Some(90.0),
            rpo_target_seconds: Some(60.0),
            rto_seconds: 30.0,
            rto_target_seconds: Some(300.0),
            namespaces: BTreeMap::new(),
            objects: BTreeMap::new(),
            volumes: Vec::new(),
            verifications: Vec::new(),
            problems: Vec::new(),
            passed: false,
        }
    }

    #[test]
    fn missed_targets_say_by_how_much() {
        let mut r = report();
        judge_targets(&mut r);
        assert_eq!(r.problems, ["RPO (the newest backup's age) missed by 30 s: 90 s against a target of 60 s"]);
        let mut r = report();
        r.rpo_seconds = Some(10.0);
        r.rto_seconds = 400.0;
        judge_targets(&mut r);
        assert_eq!(r.problems, ["RTO missed by 100 s: 400 s against a target of 300 s"]);
    }
}
