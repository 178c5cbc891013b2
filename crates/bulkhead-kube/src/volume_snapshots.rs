//! CSI volume snapshots (`snapshot.storage.k8s.io/v1`): the claims of a
//! namespace and their classes' drivers, the snapshot classes a cluster
//! has, and one VolumeSnapshot's life — created for a claim, waited on
//! until its driver says it is ready (or says why not), deleted. The
//! snapshot API is a CRD with no types in k8s-openapi, so its objects are
//! read as JSON here and handed over in plain types.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Api;
use kube::api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, PostParams};
use serde_json::{Value, json};

use crate::list::list_all;
use crate::{Cluster, Error};

/// The API group of volume snapshots.
pub const GROUP: &str = "snapshot.storage.k8s.io";

/// The annotation a class carries when it is its driver's default.
const DEFAULT_CLASS: &str = "snapshot.storage.kubernetes.io/is-default-class";

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(GROUP, "v1", kind), plural)
}

fn snapshots(cluster: &Cluster, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(cluster.client.clone(), namespace, &resource("VolumeSnapshot", "volumesnapshots"))
}

/// A VolumeSnapshotClass: which driver it snapshots with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotClass {
    /// Its name.
    pub name: String,
    /// The CSI driver (a storage class's `provisioner`).
    pub driver: String,
    /// Whether it is the default for its driver.
    pub default: bool,
}

/// The snapshot classes of `cluster`; none when it does not serve the
/// snapshot API at all (no CRDs: no CSI snapshot support installed).
///
/// # Errors
/// When the list fails for another reason.
pub async fn snapshot_classes(cluster: &Cluster) -> Result<Vec<SnapshotClass>, Error> {
    let api: Api<DynamicObject> =
        Api::all_with(cluster.client.clone(), &resource("VolumeSnapshotClass", "volumesnapshotclasses"));
    let list = match cluster.call("list volumesnapshotclasses", api.list(&ListParams::default())).await {
        Ok(list) => list,
        Err(Error::Api { source: kube::Error::Api(status), .. }) if status.code == 404 => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(list
        .items
        .into_iter()
        .filter_map(|o| {
            let driver = o.data.get("driver")?.as_str()?.to_string();
            let default =
                o.metadata.annotations.as_ref().and_then(|a| a.get(DEFAULT_CLASS)).is_some_and(|v| v == "true");
            Some(SnapshotClass { name: o.metadata.name?, driver, default })
        })
        .collect())
}

/// Each storage class of `cluster` and its provisioner (for CSI classes,
/// the driver's name).
///
/// # Errors
/// When the list fails.
pub async fn storage_class_drivers(cluster: &Cluster) -> Result<BTreeMap<String, String>, Error> {
    let api: Api<StorageClass> = Api::all(cluster.client.clone());
    let classes = list_all(cluster, &api, "list storageclasses").await?;
    Ok(classes.into_iter().filter_map(|c| Some((c.metadata.name?, c.provisioner))).collect())
}

/// A PersistentVolumeClaim, as a backup sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its storage class; none: the cluster's default at creation, which
    /// Kubernetes writes into the claim, so none means no class at all.
    pub storage_class: Option<String>,
    /// Whether it is bound to a volume (only a bound claim has data to snapshot).
    pub bound: bool,
    /// Its labels (a snapshot of it carries them too, so a selector that
    /// took the claim takes its snapshot).
    pub labels: BTreeMap<String, String>,
}

/// The claims of `namespaces` (every namespace when empty) whose labels
/// match `labels`.
///
/// # Errors
/// When a list fails.
pub async fn claims(
    cluster: &Cluster,
    namespaces: &[String],
    labels: Option<&kube::core::Selector>,
) -> Result<Vec<Claim>, Error> {
    let scopes: Vec<Option<&str>> =
        if namespaces.is_empty() { vec![None] } else { namespaces.iter().map(|n| Some(n.as_str())).collect() };
    let mut out = Vec::new();
    for ns in scopes {
        let api: Api<PersistentVolumeClaim> = match ns {
            Some(ns) => Api::namespaced(cluster.client.clone(), ns),
            None => Api::all(cluster.client.clone()),
        };
        let mut params = ListParams::default();
        if let Some(labels) = labels {
            params = params.labels_from(labels);
        }
        crate::list::list_each_with(cluster, &api, "list persistentvolumeclaims", params, |c| {
            out.extend(claim_of(c));
        })
        .await?;
    }
    out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    Ok(out)
}

fn claim_of(c: PersistentVolumeClaim) -> Option<Claim> {
    Some(Claim {
        namespace: c.metadata.namespace?,
        name: c.metadata.name?,
        storage_class: c.spec.as_ref().and_then(|s| s.storage_class_name.clone()),
        bound: c.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound"),
        labels: c.metadata.labels.unwrap_or_default(),
    })
}

/// A VolumeSnapshot to create.
#[derive(Debug, Clone)]
pub struct NewVolumeSnapshot {
    /// Its namespace: the claim's.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The claim it snapshots.
    pub claim: String,
    /// Its VolumeSnapshotClass.
    pub class: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its annotations.
    pub annotations: BTreeMap<String, String>,
}

/// Creates the VolumeSnapshot.
///
/// # Errors
/// When the API server refuses it.
pub async fn create(cluster: &Cluster, new: &NewVolumeSnapshot) -> Result<(), Error> {
    let mut object = DynamicObject::new(&new.name, &resource("VolumeSnapshot", "volumesnapshots"))
        .within(&new.namespace)
        .data(json!({
            "spec": {
                "volumeSnapshotClassName": new.class,
                "source": {"persistentVolumeClaimName": new.claim},
            },
        }));
    object.metadata.labels = Some(new.labels.clone());
    object.metadata.annotations = Some(new.annotations.clone());
    let what = format!("create volumesnapshot {}/{}", new.namespace, new.name);
    cluster.call(&what, snapshots(cluster, &new.namespace).create(&PostParams::default(), &object)).await?;
    Ok(())
}

/// A VolumeSnapshot its driver has made: what a restore needs to find the
/// data again, on this cluster or another of the same driver.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadySnapshot {
    /// The VolumeSnapshotContent it is bound to.
    pub content: String,
    /// The driver's own id of the snapshot.
    pub handle: String,
    /// The CSI driver.
    pub driver: String,
    /// The size a volume restored from it needs, when the driver says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_size: Option<String>,
}

/// Why a VolumeSnapshot did not become ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReady {
    /// The API server could not be asked.
    Cluster(String),
    /// Not ready in time; the last error the driver or the controller
    /// reported, when there was one.
    TimedOut {
        /// How long it was waited for.
        waited: Duration,
        /// The last error seen on the snapshot or its content.
        last_error: Option<String>,
    },
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cluster(why) => f.write_str(why),
            Self::TimedOut { waited, last_error: Some(e) } => {
                write!(f, "not ready after {} s: {e}", waited.as_secs())
            }
            Self::TimedOut { waited, last_error: None } => write!(
                f,
                "not ready after {} s, and neither it nor its content reports an error (is the driver's csi-snapshotter running?)",
                waited.as_secs()
            ),
        }
    }
}

/// Waits until the VolumeSnapshot is ready to use, asking every 100 ms at
/// first and then less often, up to every `every` (most drivers answer in
/// well under a second; a slow upload need not be asked after ten times a
/// second). An error on the snapshot or its content is not the end (the
/// controller retries, and many are transient conflicts); it is what the
/// timeout says.
///
/// # Errors
/// When it is not ready within `timeout`, or the cluster cannot be read.
pub async fn wait_ready(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    timeout: Duration,
    every: Duration,
) -> Result<ReadySnapshot, NotReady> {
    let started = Instant::now();
    let api = snapshots(cluster, namespace);
    let contents: Api<DynamicObject> =
        Api::all_with(cluster.client.clone(), &resource("VolumeSnapshotContent", "volumesnapshotcontents"));
    let mut last_error = None;
    let mut pause = FIRST_PAUSE.min(every);
    loop {
        let what = format!("read volumesnapshot {namespace}/{name}");
        let snapshot = cluster.call(&what, api.get(name)).await.map_err(|e| NotReady::Cluster(e.to_string()))?;
        let status = snapshot.data.get("status");
        last_error = error_message(status).or(last_error);
        let bound = status.and_then(|s| s.get("boundVolumeSnapshotContentName")).and_then(Value::as_str);
        if let Some(content_name) = bound {
            let what = format!("read volumesnapshotcontent {content_name}");
            match cluster.call(&what, contents.get_opt(content_name)).await {
                Ok(Some(content)) => {
                    let content_status = content.data.get("status");
                    last_error = error_message(content_status).or(last_error);
                    let ready = status.and_then(|s| s.get("readyToUse")).and_then(Value::as_bool) == Some(true);
                    let handle = content_status.and_then(|s| s.get("snapshotHandle")).and_then(Value::as_str);
                    if let (true, Some(handle)) = (ready, handle) {
                        return Ok(ReadySnapshot {
                            content: content_name.to_string(),
                            handle: handle.to_string(),
                            driver: content
                                .data
                                .pointer("/spec/driver")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string(),
                            restore_size: status
                                .and_then(|s| s.get("restoreSize"))
                                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)),
                        });
                    }
                }
                Ok(None) => {}
                Err(e) => return Err(NotReady::Cluster(e.to_string())),
            }
        }
        if started.elapsed() >= timeout {
            return Err(NotReady::TimedOut { waited: timeout, last_error });
        }
        tokio::time::sleep(pause.min(timeout.saturating_sub(started.elapsed()))).await;
        pause = pause.mul_f32(1.5).min(every);
    }
}

/// The first pause between two reads of a snapshot that is not ready.
const FIRST_PAUSE: Duration = Duration::from_millis(100);

/// Whether the driver has cut the VolumeSnapshot (it has a `creationTime`:
/// the point in time it holds is fixed, even while the driver still
/// uploads it), or it is ready.
///
/// # Errors
/// When the API server cannot be asked.
pub async fn is_cut(cluster: &Cluster, namespace: &str, name: &str) -> Result<bool, Error> {
    let what = format!("read volumesnapshot {namespace}/{name}");
    let snapshot = cluster.call(&what, snapshots(cluster, namespace).get(name)).await?;
    let status = snapshot.data.get("status");
    let created = status.and_then(|s| s.get("creationTime")).is_some_and(|t| !t.is_null());
    Ok(created || status.and_then(|s| s.get("readyToUse")).and_then(Value::as_bool) == Some(true))
}

fn error_message(status: Option<&Value>) -> Option<String> {
    status?.pointer("/error/message")?.as_str().map(str::to_string)
}

/// The VolumeSnapshots of every namespace whose labels match `labels`
/// (`key=value,…`), as `(namespace, name)`; none where the snapshot API
/// is not served.
///
/// # Errors
/// When the list fails.
pub async fn list_labelled(cluster: &Cluster, labels: &str) -> Result<Vec<(String, String)>, Error> {
    let api: Api<DynamicObject> = Api::all_with(cluster.client.clone(), &resource("VolumeSnapshot", "volumesnapshots"));
    let what = format!("list volumesnapshots labelled {labels}");
    let list = match cluster.call(&what, api.list(&ListParams::default().labels(labels))).await {
        Ok(list) => list,
        Err(Error::Api { source: kube::Error::Api(status), .. }) if status.code == 404 => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(list.items.into_iter().filter_map(|o| Some((o.metadata.namespace?, o.metadata.name?))).collect())
}

/// Deletes the VolumeSnapshot (its class's deletion policy decides what
/// becomes of the driver's snapshot); one already gone is no error.
///
/// # Errors
/// When the API server refuses.
pub async fn delete(cluster: &Cluster, namespace: &str, name: &str) -> Result<(), Error> {
    let what = format!("delete volumesnapshot {namespace}/{name}");
    match cluster.call(&what, snapshots(cluster, namespace).delete(name, &DeleteParams::default())).await {
        Ok(_) => Ok(()),
        Err(Error::Api { source: kube::Error::Api(status), .. }) if status.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether the VolumeSnapshot is there and not being deleted.
///
/// # Errors
/// When the API server cannot be asked.
pub async fn exists(cluster: &Cluster, namespace: &str, name: &str) -> Result<bool, Error> {
    let what = format!("read volumesnapshot {namespace}/{name}");
    match cluster.call(&what, snapshots(cluster, namespace).get_opt(name)).await {
        Ok(found) => Ok(found.is_some_and(|o| o.metadata.deletion_timestamp.is_none())),
        Err(Error::Api { source: kube::Error::Api(status), .. }) if status.code == 404 => Ok(false),
        Err(e) => Err(e),
    }
}

/// Deletes the VolumeSnapshotContent (one a restore made, `Retain`: the
/// driver's snapshot stays); one already gone is no error.
///
/// # Errors
/// When the API server refuses.
pub async fn delete_content(cluster: &Cluster, name: &str) -> Result<(), Error> {
    let api: Api<DynamicObject> =
        Api::all_with(cluster.client.clone(), &resource("VolumeSnapshotContent", "volumesnapshotcontents"));
    let what = format!("delete volumesnapshotcontent {name}");
    match cluster.call(&what, api.delete(name, &DeleteParams::default())).await {
        Ok(_) => Ok(()),
        Err(Error::Api { source: kube::Error::Api(status), .. }) if status.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Adds `annotations` to the VolumeSnapshot (a merge patch).
///
/// # Errors
/// When the API server refuses.
pub async fn annotate(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    annotations: &BTreeMap<String, String>,
) -> Result<(), Error> {
    let what = format!("annotate volumesnapshot {namespace}/{name}");
    let patch = kube::api::Patch::Merge(json!({"metadata": {"annotations": annotations}}));
    cluster.call(&what, snapshots(cluster, namespace).patch(name, &kube::api::PatchParams::default(), &patch)).await?;
    Ok(())
}
