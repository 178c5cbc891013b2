//! A backup: every selected object of a cluster, cleaned, streamed from the
//! API server into one snapshot of the repository. Resources are listed
//! several at once but written in path order; the repository saves them on
//! its own thread as they come ([`RepositoryAccess::run`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use bulkhead_kube::Cluster;
use bulkhead_kube::discovery::{Served, served_resources};
use bulkhead_kube::export::{Skipped, list_clean};
use bulkhead_repository::{File, NewSnapshot, Open, RepositoryAccess, Snapshot};
use futures::StreamExt;
use serde::Serialize;

use crate::Error;
use crate::layout::{path_of, to_yaml};
use crate::select::Selection;

/// What to back up, and where to.
#[derive(Debug, Clone)]
pub struct BackupRequest {
    /// What to take.
    pub selection: Selection,
    /// The snapshot's name, host, label and tags; the description gets the
    /// API server's version and the resources appended.
    pub snapshot: NewSnapshot,
    /// The repository.
    pub repository: RepositoryAccess,
    /// Resources listed at once.
    pub parallel: usize,
    /// Whether and how claims' volumes are snapshotted.
    pub volumes: crate::volumes::VolumeOptions,
}

/// What a backup did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupReport {
    /// The snapshot written.
    pub snapshot: Snapshot,
    /// Objects per resource.
    pub resources: BTreeMap<String, usize>,
    /// Objects in all.
    pub objects: usize,
    /// Resources that could not be listed (the backup holds the rest).
    pub skipped: Vec<SkippedResource>,
    /// Each claim backed up, and its volume's snapshot or why it has none.
    pub volumes: Vec<crate::volumes::VolumeReport>,
    /// Seconds it took.
    pub seconds: f64,
}

/// A resource a backup could not list.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedResource {
    /// `deployments.apps`.
    pub resource: String,
    /// Why.
    pub why: String,
}

impl From<Skipped> for SkippedResource {
    fn from(s: Skipped) -> Self {
        Self { resource: s.resource, why: s.why }
    }
}

/// Backs up `cluster` into the repository.
///
/// # Errors
/// When the cluster cannot be read at all, a claim's volume snapshot
/// fails (the backup then takes none) or the repository fails; a
/// resource that cannot be listed is reported, not an error.
pub async fn backup(
    cluster: &Cluster,
    request: BackupRequest,
    progress: &(dyn Fn(crate::Progress<'_>) + Sync),
) -> Result<BackupReport, Error> {
    let started = Instant::now();
    let selection = &request.selection;
    let served = served_resources(cluster).await?;
    let mut resources: Vec<Served> = served
        .iter()
        .filter(|s| !bulkhead_kube::clean::is_cluster_state(&s.resource.group, &s.resource.plural))
        .filter(|s| selection.wants_resource(&s.resource.group, &s.resource.plural, &s.name(), s.namespaced))
        .cloned()
        .collect();
    resources.sort_by_key(Served::name);
    let stamp = crate::volumes::stamp_now();
    let volumes = snapshot_volumes(cluster, &request, &served, &mut resources, &stamp).await?;
    let taken = crate::volumes::taken(&volumes);
    let mut request = request;
    if !taken.is_empty() {
        request.snapshot.tags.push(bulkhead_repository::TagKey::VolumeSnapshots.with(&stamp));
    }
    let result = write(cluster, request, resources, volumes, progress, started).await;
    if result.is_err() {
        // A backup that fails keeps no snapshot in the repository, so its
        // volume snapshots would belong to nothing.
        crate::volumes::remove(cluster, &taken).await;
    }
    result
}

/// Takes the volume snapshots of the claims the backup holds (before
/// the objects are listed, so the VolumeSnapshots are in it), adding the
/// snapshot resource to `resources` when the selection left it out.
async fn snapshot_volumes(
    cluster: &Cluster,
    request: &BackupRequest,
    served: &[Served],
    resources: &mut Vec<Served>,
    stamp: &str,
) -> Result<Vec<crate::volumes::VolumeReport>, Error> {
    let is = |s: &Served, group: &str, plural: &str| s.resource.group == group && s.resource.plural == plural;
    let snapshot_group = bulkhead_kube::volume_snapshots::GROUP;
    if !request.volumes.snapshots || !resources.iter().any(|s| is(s, "", "persistentvolumeclaims")) {
        return Ok(Vec::new());
    }
    let selection = &request.selection;
    let labels = selection.labels_for("", "persistentvolumeclaims");
    // Claims that cannot be listed (RBAC) are the listing's to report, as
    // a resource skipped: the backup goes on without their snapshots.
    let claims = match bulkhead_kube::volume_snapshots::claims(cluster, &selection.namespaces, labels).await {
        Ok(claims) => claims,
        Err(e) => {
            tracing::debug!(error = %e, "claims not listed: no volume snapshots");
            return Ok(Vec::new());
        }
    };
    if claims.is_empty() {
        return Ok(Vec::new());
    }
    let reports = crate::volumes::take(cluster, claims, &request.volumes, stamp).await?;
    if reports.iter().any(|r| r.snapshot.is_some())
        && !resources.iter().any(|s| is(s, snapshot_group, "volumesnapshots"))
    {
        resources.extend(served.iter().filter(|s| is(s, snapshot_group, "volumesnapshots")).cloned());
        resources.sort_by_key(Served::name);
    }
    Ok(reports)
}

/// Lists the objects and writes them into the repository.
async fn write(
    cluster: &Cluster,
    request: BackupRequest,
    resources: Vec<Served>,
    volumes: Vec<crate::volumes::VolumeReport>,
    progress: &(dyn Fn(crate::Progress<'_>) + Sync),
    started: Instant,
) -> Result<BackupReport, Error> {
    let selection = &request.selection;
    let version = cluster
        .call("read its version", cluster.client.apiserver_version())
        .await
        .map(|v| v.git_version)
        .unwrap_or_else(|_| "unknown".into());
    let mut snapshot = request.snapshot.clone();
    let names: Vec<String> = resources.iter().map(Served::name).collect();
    snapshot.description = format!(
        "{}Kubernetes {version}\nresources: {}",
        if snapshot.description.is_empty() { String::new() } else { format!("{}\n", snapshot.description) },
        names.join(", ")
    );

    // The repository's side: open (or create) it, then save what arrives.
    let (tx, rx) = mpsc::channel::<File>();
    let outcome: Arc<Mutex<Option<Result<u64, String>>>> = Arc::new(Mutex::new(None));
    let writer = {
        let outcome = Arc::clone(&outcome);
        request.repository.run(Open::OrCreate, move |repository| {
            tracing::debug!(repository = repository.location(), "repository open");
            let complete = || {
                outcome.lock().ok().and_then(|o| o.clone()).unwrap_or_else(|| Err("the backup stopped early".into()))
            };
            repository.save(&snapshot, rx, &complete)
        })
    };

    // The cluster's side: whole resources in path order, fetched ahead.
    let namespaces = &selection.namespaces;
    let mut listed = futures::stream::iter(resources.iter())
        .map(|served| async move {
            // Cluster-scoped resources (the namespaces, the definitions) are listed whole.
            let scope: &[String] = if served.namespaced { namespaces } else { &[] };
            let labels = selection.labels_for(&served.resource.group, &served.resource.plural);
            (served, list_clean(cluster, served, scope, labels).await)
        })
        .buffered(request.parallel.max(1));
    let mut counts = BTreeMap::new();
    let mut skipped = Vec::new();
    let mut sent = 0u64;
    let mut failure = None;
    'resources: while let Some((served, result)) = listed.next().await {
        let objects = match result {
            Ok((objects, _)) => objects,
            Err(e) => {
                let why = match &e {
                    bulkhead_kube::Error::Api { source, .. } => bulkhead_kube::cause(source),
                    other => other.to_string(),
                };
                skipped.push(SkippedResource { resource: served.name(), why });
                continue;
            }
        };
        let folder = served.name();
        let mut files: Vec<File> = Vec::new();
        for object in objects {
            if !selection.wants_object(&served.resource.group, &served.resource.kind, &object) {
                continue;
            }
            match to_yaml(&object) {
                Ok(yaml) => files.push(File::bytes(path_of(&folder, &object), yaml.into_bytes())),
                Err(e) => {
                    failure = Some(format!("cannot write {folder} as YAML: {e}"));
                    break 'resources;
                }
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        if !files.is_empty() {
            counts.insert(folder, files.len());
        }
        for file in files {
            if tx.send(file).is_err() {
                // The repository's side stopped: its error says why.
                break 'resources;
            }
            sent += 1;
        }
        tracing::debug!(resource = %served.name(), objects = sent, "written");
        progress(crate::Progress::Backup { resource: &served.name(), objects: sent });
    }
    if let Ok(mut o) = outcome.lock() {
        *o = Some(failure.map_or(Ok(sent), Err));
    }
    drop(tx);
    let saved = writer.await?;
    Ok(BackupReport {
        snapshot: saved,
        objects: counts.values().sum(),
        resources: counts,
        skipped,
        volumes,
        seconds: started.elapsed().as_secs_f64(),
    })
}
