//! A restore: a snapshot's objects applied to a cluster in phases that
//! always work (definitions first, each waited for until Established; then
//! namespaces, identities, configuration, storage, workloads, networking,
//! the rest), with server-side apply under Bulkhead's field manager,
//! objects of a phase in parallel. Every object gets a result; a rerun
//! after an interruption converges to the same state (apply is idempotent).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use bulkhead_kube::Cluster;
use bulkhead_repository::{Open, RepositoryAccess, Snapshot, SnapshotRef};
use futures::StreamExt;
use kube::Api;
use kube::api::{DynamicObject, Patch, PatchParams};
use kube::discovery::{Discovery, Scope};
use serde::Serialize;
use serde_json::Value;

use crate::Error;
use crate::classes::{FleetClasses, TargetClasses};
use crate::layout::from_yaml;
use crate::mapping::Mapping;
use crate::volume_sources::{self, Record, RestoredClaim, RestoredVolume, Source, Target};
use crate::volumes::{is_record, is_scaffolding};
use bulkhead_kube::apply::{reason, resolve, retrying, wait_established};
use bulkhead_kube::order::Phase;

pub use bulkhead_kube::apply::FIELD_MANAGER;

/// What to do with an object that already exists in the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Existing {
    /// Leave it as it is.
    Skip,
    /// Apply the snapshot's fields over it (the default: reruns converge).
    #[default]
    Update,
    /// Count it as a failure.
    Fail,
}

/// What to restore, from where, and how.
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    /// The repository.
    pub repository: RepositoryAccess,
    /// The snapshot: an id (or prefix), or `latest`.
    pub snapshot: SnapshotRef,
    /// With `latest`: tags the snapshot must have (`cluster=…`, `app=…`).
    pub latest_tags: Vec<String>,
    /// Only objects of these source namespaces (cluster-scoped ones are then left out); empty: all.
    pub namespaces: Vec<String>,
    /// Only these kinds; empty: all.
    pub kinds: Vec<String>,
    /// Renames on the way.
    pub mapping: Mapping,
    /// With no storage-class renames given: the fleet's classes, to derive
    /// them from (`None`: classes go as they are).
    pub fleet_classes: Option<FleetClasses>,
    /// What to do with existing objects.
    pub existing: Existing,
    /// Restore a claim empty when the target cannot use its snapshot
    /// (another driver); without it, such a restore is refused.
    pub allow_empty_volumes: bool,
    /// Send everything as a server-side dry run and only report.
    pub dry_run: bool,
    /// Objects applied at once within a phase.
    pub parallel: usize,
}

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Created.
    Created,
    /// Existed and was updated.
    Updated,
    /// Existed and already held the snapshot's fields.
    Unchanged,
    /// Left alone, with the reason.
    Skipped,
    /// Failed, with the reason.
    Failed,
    /// Dry run: would be created.
    WouldCreate,
    /// Dry run: would be updated.
    WouldUpdate,
}

impl Action {
    /// The action's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
            Self::WouldCreate => "would create",
            Self::WouldUpdate => "would update",
        }
    }
}

/// One object's result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectResult {
    /// Its phase.
    pub phase: Phase,
    /// `apiVersion`.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Namespace (after mapping), if namespaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// What happened.
    pub action: Action,
    /// Why it was skipped or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// For an update (or a dry run's), the fields that change.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

impl ObjectResult {
    fn new(phase: Phase, object: &Value, action: Action, why: Option<String>) -> Self {
        Self {
            phase,
            api_version: object["apiVersion"].as_str().unwrap_or_default().to_string(),
            kind: object["kind"].as_str().unwrap_or_default().to_string(),
            namespace: object.pointer("/metadata/namespace").and_then(Value::as_str).map(str::to_string),
            name: object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string(),
            action,
            why,
            changes: Vec::new(),
        }
    }
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreReport {
    /// The snapshot restored.
    pub snapshot: Snapshot,
    /// Whether it was a dry run.
    pub dry_run: bool,
    /// The storage classes renamed (given, or derived from the fleet).
    pub storage_classes: BTreeMap<String, String>,
    /// Every claim restored, and where its data comes from.
    pub volumes: Vec<RestoredVolume>,
    /// Every object's result, in the order applied.
    pub results: Vec<ObjectResult>,
    /// Seconds it took.
    pub seconds: f64,
}

impl RestoreReport {
    /// Whether any object failed.
    pub fn failed(&self) -> usize {
        self.results.iter().filter(|r| r.action == Action::Failed).count()
    }
}

/// Restores a snapshot into `cluster`.
///
/// # Errors
/// When the repository or the snapshot cannot be read, or the cluster
/// cannot be reached at all; objects that fail are results, not errors.
pub async fn restore(
    cluster: &Cluster,
    request: RestoreRequest,
    progress: &(dyn Fn(crate::Progress<'_>) + Sync),
) -> Result<RestoreReport, Error> {
    let started = Instant::now();
    let (snapshot, files) = read_snapshot(&request).await?;
    let (mut report, _) = restore_files(cluster, &request, snapshot, files, progress).await?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Restores `files` of `snapshot` (as [`read_snapshot`] gives them) into
/// `cluster`; besides the report, the objects as they were sent (selected
/// and mapped), for whoever verifies the result.
///
/// Each form of an object is dropped as soon as the next is made (bytes,
/// then parsed, then mapped): a 50,000-object restore holds one copy.
///
/// # Errors
/// As [`restore`].
pub async fn restore_files(
    cluster: &Cluster,
    request: &RestoreRequest,
    snapshot: Snapshot,
    files: Vec<(String, Vec<u8>)>,
    progress: &(dyn Fn(crate::Progress<'_>) + Sync),
) -> Result<(RestoreReport, Vec<Value>), Error> {
    let started = Instant::now();
    let mut results = Vec::new();
    // Objects by phase, mapped and selected.
    let mut phases: BTreeMap<Phase, Vec<Value>> = BTreeMap::new();
    let mut objects = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        match from_yaml(&path, &bytes) {
            Ok(o) => objects.push(o),
            Err(why) => {
                let unnamed = serde_json::json!({"metadata": {"name": path}});
                results.push(ObjectResult::new(Phase::Rest, &unnamed, Action::Failed, Some(why.to_string())));
            }
        }
    }
    // The records of the backup's volume snapshots, whatever is selected:
    // the claims restored are provisioned from them.
    let records: Vec<&Value> = objects
        .iter()
        .filter(|o| {
            let (group, kind) = group_kind(o);
            is_record(&group, &kind, o)
        })
        .collect();
    let records: Vec<Record> = records.into_iter().filter_map(Record::of).collect();
    let volumes: Vec<String> = objects
        .iter()
        .filter(|o| o["kind"] == "PersistentVolume")
        .filter_map(|o| o.pointer("/metadata/name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let wanted = |o: &Value| {
        let (_, kind) = group_kind(o);
        let ns = o.pointer("/metadata/namespace").and_then(Value::as_str);
        let wanted_ns = request.namespaces.is_empty() || ns.is_some_and(|n| request.namespaces.iter().any(|w| w == n));
        let wanted_kind = request.kinds.is_empty() || request.kinds.iter().any(|k| k.eq_ignore_ascii_case(&kind));
        wanted_ns && wanted_kind
    };
    // With namespaces chosen, what they need comes along: the Namespace
    // objects and the definitions of the custom resources restored.
    let custom: Vec<(String, String)> = objects.iter().filter(|o| wanted(o)).map(group_kind).collect();
    let needed = |o: &Value| {
        if request.namespaces.is_empty() {
            return false;
        }
        match group_kind(o) {
            (g, k) if g.is_empty() && k == "Namespace" => o
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .is_some_and(|n| request.namespaces.iter().any(|w| w == n)),
            (g, k) if g == "apiextensions.k8s.io" && k == "CustomResourceDefinition" => {
                let group = o.pointer("/spec/group").and_then(Value::as_str).unwrap_or_default();
                let kind = o.pointer("/spec/names/kind").and_then(Value::as_str).unwrap_or_default();
                custom.iter().any(|(g, k)| g == group && k == kind)
            }
            _ => false,
        }
    };
    objects.retain(|o| wanted(o) || needed(o));
    let selected = objects;
    let mut mapping = request.mapping.clone();
    if mapping.storage_classes.is_empty()
        && let Some(fleet) = &request.fleet_classes
    {
        mapping.storage_classes =
            derive_classes(cluster, fleet, snapshot.tag(bulkhead_repository::TagKey::Cluster), &selected).await?;
    }
    let mut mapped = Vec::with_capacity(selected.len());
    let mut skipped_snapshots = BTreeSet::new();
    for object in selected {
        let (group, kind) = group_kind(&object);
        if is_record(&group, &kind, &object) || is_scaffolding(&group, &kind, &object) {
            // Created again, a record would snapshot the restored claim, and
            // a restore's own would point at a content this one does not bring.
            let why = if is_record(&group, &kind, &object) {
                "the record of a backup's volume snapshot: the claim is restored from it"
            } else {
                "made by an earlier restore to provision a claim from: this restore makes its own"
            };
            if let Some(name) = object.pointer("/metadata/name").and_then(Value::as_str) {
                skipped_snapshots.insert(name.to_string());
            }
            results.push(ObjectResult::new(Phase::of(&group, &kind), &object, Action::Skipped, Some(why.into())));
            continue;
        }
        let source_namespace = object.pointer("/metadata/namespace").and_then(Value::as_str).map(str::to_string);
        let Some(object) = mapping.apply(object) else { continue };
        mapped.push((group, kind, source_namespace, object));
    }
    let mut discovery = discover(cluster).await?;
    let sources = plan_volumes(cluster, request, &snapshot, &records, &mapped, &discovery).await?;
    let refused: Vec<String> = sources
        .iter()
        .filter_map(|v| match &v.source {
            Source::Refused { why } => Some(format!("claim {}/{}: {why}", v.namespace, v.claim)),
            _ => None,
        })
        .collect();
    if !refused.is_empty() {
        return Err(Error::VolumeData { claims: refused });
    }
    let source_of = |ns: &str, name: &str| sources.iter().find(|v| v.namespace == ns && v.claim == name);
    for (group, kind, _, mut object) in mapped {
        let ns = object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default().to_string();
        let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
        if group.is_empty() && kind == "PersistentVolumeClaim" {
            let source = source_of(&ns, &name).map(|v| &v.source);
            let provisioned = source.is_some_and(Source::has_data);
            if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut)
                && spec.get("volumeName").and_then(Value::as_str).is_some_and(|v| {
                    // A claim's binding belongs to the source cluster unless
                    // its volume comes along, and a claim provisioned from
                    // its snapshot gets a volume of its own.
                    provisioned || !volumes.iter().any(|p| p == v)
                })
            {
                spec.remove("volumeName");
            }
            if let Some(source) = source {
                volume_sources::set_source(&mut object, source, &skipped_snapshots);
                let labels = object.pointer("/metadata/labels").cloned().unwrap_or(Value::Null);
                for made in volume_sources::objects(&ns, &name, &labels, source) {
                    let (g, k) = group_kind(&made);
                    phases.entry(Phase::of(&g, &k)).or_default().push(made);
                }
            }
        }
        if group.is_empty()
            && kind == "PersistentVolume"
            && let Some((claim_ns, claim)) = claim_of_volume(&object, &mapping)
            && source_of(&claim_ns, &claim).is_some_and(|v| v.source.has_data())
        {
            let why = format!("its claim {claim_ns}/{claim} is provisioned afresh from its snapshot");
            results.push(ObjectResult::new(Phase::Storage, &object, Action::Skipped, Some(why)));
            continue;
        }
        phases.entry(Phase::of(&group, &kind)).or_default().push(object);
    }
    let mut sent = Vec::new();
    // A dry run creates nothing: what it would create (namespaces, definitions)
    // is not there for the objects after it, which are then checked as far
    // as possible and planned as creates.
    let mut planned = Planned::default();
    let total: usize = phases.values().map(Vec::len).sum();
    let done = std::sync::atomic::AtomicUsize::new(0);
    for (phase, objects) in phases {
        tracing::debug!(phase = ?phase, objects = objects.len(), "phase");
        if matches!(phase, Phase::Snapshots | Phase::Rest) {
            // Definitions restored earlier are served now.
            discovery = discover(cluster).await?;
        }
        let applied: Vec<ObjectResult> = futures::stream::iter(objects.iter())
            .map(|o| async {
                match planned.covers(o) {
                    Some(why) => ObjectResult::new(phase, o, Action::WouldCreate, Some(why)),
                    None => apply(cluster, &discovery, phase, o, request.existing, request.dry_run).await,
                }
            })
            .buffered(request.parallel.max(1))
            .inspect(|_| {
                let done = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress(crate::Progress::Restore { done, total });
            })
            .collect()
            .await;
        if request.dry_run {
            planned.record(&objects, &applied);
        }
        if phase == Phase::Definitions && !request.dry_run {
            for (object, result) in objects.iter().zip(&applied) {
                if matches!(result.action, Action::Created | Action::Updated | Action::Unchanged) {
                    wait_established(cluster, object).await;
                }
            }
        }
        results.extend(applied);
        sent.extend(objects);
    }
    let report = RestoreReport {
        snapshot,
        dry_run: request.dry_run,
        storage_classes: mapping.storage_classes,
        volumes: sources,
        results,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((report, sent))
}

/// The storage-class renames the fleet implies for `selected` (see
/// [`crate::classes`]): an error, before anything is written, for a class
/// with no match.
async fn derive_classes(
    cluster: &Cluster,
    fleet: &FleetClasses,
    source: Option<&str>,
    selected: &[Value],
) -> Result<BTreeMap<String, String>, Error> {
    let mut used: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut target = TargetClasses::default();
    for o in selected {
        let (group, kind) = group_kind(o);
        let name = o.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
        match (group.as_str(), kind.as_str()) {
            ("", "PersistentVolumeClaim" | "PersistentVolume") => {
                if let Some(class) =
                    o.pointer("/spec/storageClassName").and_then(Value::as_str).filter(|c| !c.is_empty())
                {
                    let ns = o.pointer("/metadata/namespace").and_then(Value::as_str);
                    let id = ns.map_or_else(|| format!("{kind} {name}"), |ns| format!("{kind} {ns}/{name}"));
                    used.entry(class.to_string()).or_default().push(id);
                }
            }
            ("storage.k8s.io", "StorageClass") => {
                target.restored.insert(name.to_string());
            }
            _ => {}
        }
    }
    if used.is_empty() {
        return Ok(BTreeMap::new());
    }
    let api: Api<k8s_openapi::api::storage::v1::StorageClass> = Api::all(cluster.client.clone());
    let live = cluster.call("list storage classes", api.list(&Default::default())).await?;
    target.live = live.items.into_iter().filter_map(|c| c.metadata.name).collect();
    Ok(crate::classes::derive(&used, fleet, source, &target)?)
}

/// Where the data of each claim of `mapped` comes from (see
/// [`volume_sources`]); what the target has is read only when the backup
/// holds snapshots.
async fn plan_volumes(
    cluster: &Cluster,
    request: &RestoreRequest,
    snapshot: &Snapshot,
    records: &[Record],
    mapped: &[(String, String, Option<String>, Value)],
    discovery: &Discovery,
) -> Result<Vec<RestoredVolume>, Error> {
    let text = |o: &Value, p: &str| o.pointer(p).and_then(Value::as_str).map(str::to_string);
    let claims: Vec<RestoredClaim> = mapped
        .iter()
        .filter(|(g, k, _, _)| g.is_empty() && k == "PersistentVolumeClaim")
        .filter_map(|(_, _, source_namespace, o)| {
            Some(RestoredClaim {
                source_namespace: source_namespace.clone()?,
                namespace: text(o, "/metadata/namespace")?,
                name: text(o, "/metadata/name")?,
                storage_class: text(o, "/spec/storageClassName"),
            })
        })
        .collect();
    let recorded = |c: &RestoredClaim| records.iter().any(|r| r.namespace == c.source_namespace && r.claim == c.name);
    let mut target = Target::default();
    if claims.iter().any(recorded) {
        target.same_cluster = snapshot.tag(bulkhead_repository::TagKey::Cluster) == Some(cluster.name.as_str());
        target.serves_snapshots = discovery.has_group(bulkhead_kube::volume_snapshots::GROUP);
        target.class_drivers = bulkhead_kube::volume_snapshots::storage_class_drivers(cluster).await?;
        for (g, k, _, o) in mapped {
            if g == "storage.k8s.io"
                && k == "StorageClass"
                && let (Some(name), Some(driver)) = (text(o, "/metadata/name"), text(o, "/provisioner"))
            {
                target.class_drivers.entry(name).or_insert(driver);
            }
        }
        for claim in claims.iter().filter(|c| recorded(c)) {
            let api: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> =
                Api::namespaced(cluster.client.clone(), &claim.namespace);
            let what = format!("read persistentvolumeclaim {}/{}", claim.namespace, claim.name);
            if let Some(live) = cluster.call(&what, api.get_opt(&claim.name)).await? {
                let spec = serde_json::to_value(live.spec).unwrap_or(Value::Null);
                let sources = ["dataSource", "dataSourceRef"]
                    .into_iter()
                    .filter_map(|k| Some((k.to_string(), spec.get(k).filter(|v| !v.is_null())?.clone())))
                    .collect();
                target.claims.insert((claim.namespace.clone(), claim.name.clone()), sources);
            }
            let same_place =
                target.same_cluster && target.serves_snapshots && claim.namespace == claim.source_namespace;
            for r in records.iter().filter(|r| same_place && r.namespace == claim.namespace && r.claim == claim.name) {
                if bulkhead_kube::volume_snapshots::exists(cluster, &r.namespace, &r.name).await? {
                    target.snapshots.insert((r.namespace.clone(), r.name.clone()));
                }
            }
        }
    }
    Ok(claims
        .iter()
        .map(|c| RestoredVolume {
            namespace: c.namespace.clone(),
            claim: c.name.clone(),
            source: volume_sources::plan(c, records, &target, request.allow_empty_volumes),
        })
        .collect())
}

/// The claim (namespace and name, after mapping) a PersistentVolume of the
/// backup was bound to.
fn claim_of_volume(volume: &Value, mapping: &Mapping) -> Option<(String, String)> {
    let reference = volume.pointer("/spec/claimRef")?;
    let ns = reference.get("namespace")?.as_str()?;
    let ns = mapping.namespaces.get(ns).map_or(ns, String::as_str);
    Some((ns.to_string(), reference.get("name")?.as_str()?.to_string()))
}

/// What a dry run would create that later objects need.
#[derive(Debug, Default)]
struct Planned {
    namespaces: Vec<String>,
    /// (group, kind) of definitions.
    kinds: Vec<(String, String)>,
}

impl Planned {
    fn record(&mut self, objects: &[Value], results: &[ObjectResult]) {
        for (o, r) in objects.iter().zip(results).filter(|(_, r)| r.action == Action::WouldCreate) {
            match group_kind(o) {
                (g, k) if g.is_empty() && k == "Namespace" => self.namespaces.push(r.name.clone()),
                (g, k) if g == "apiextensions.k8s.io" && k == "CustomResourceDefinition" => {
                    let group = o.pointer("/spec/group").and_then(Value::as_str).unwrap_or_default();
                    let kind = o.pointer("/spec/names/kind").and_then(Value::as_str).unwrap_or_default();
                    self.kinds.push((group.to_string(), kind.to_string()));
                }
                _ => {}
            }
        }
    }

    /// Why `o` can only be planned, not dry-run: what it needs is itself planned.
    fn covers(&self, o: &Value) -> Option<String> {
        if self.kinds.contains(&group_kind(o)) {
            return Some("its definition is created by this restore: checked when it exists".into());
        }
        let ns = o.pointer("/metadata/namespace").and_then(Value::as_str)?;
        self.namespaces
            .iter()
            .any(|n| n == ns)
            .then(|| format!("namespace {ns} is created by this restore: checked when it exists"))
    }
}

/// A snapshot and its files, as (path, bytes).
pub type SnapshotFiles = (Snapshot, Vec<(String, Vec<u8>)>);

/// The snapshot `request` names and its files, read on a thread of their
/// own (the repository blocks).
///
/// # Errors
/// When the repository or the snapshot cannot be read.
pub async fn read_snapshot(request: &RestoreRequest) -> Result<SnapshotFiles, Error> {
    let (wanted, tags) = (request.snapshot.clone(), request.latest_tags.clone());
    let read = request.repository.run(Open::Existing, move |repository| {
        let snapshot = repository.find(&wanted, &tags)?;
        let files = repository.files(&snapshot.id)?;
        Ok((snapshot, files))
    });
    Ok(read.await?)
}

fn group_kind(object: &Value) -> (String, String) {
    let group = object["apiVersion"].as_str().and_then(|v| v.rsplit_once('/')).map_or("", |(g, _)| g);
    (group.to_string(), object["kind"].as_str().unwrap_or_default().to_string())
}

async fn discover(cluster: &Cluster) -> Result<Discovery, Error> {
    Ok(bulkhead_kube::discovery::discover(cluster).await?)
}

/// Applies one object (or dry-runs it) and says what happened.
async fn apply(
    cluster: &Cluster,
    discovery: &Discovery,
    phase: Phase,
    object: &Value,
    existing: Existing,
    dry_run: bool,
) -> ObjectResult {
    let result = |action, why: Option<String>| ObjectResult::new(phase, object, action, why);
    let Some((resource, caps)) = resolve(discovery, object) else {
        return result(
            Action::Failed,
            Some(format!(
                "the cluster does not serve {} {}",
                object["apiVersion"].as_str().unwrap_or_default(),
                object["kind"].as_str().unwrap_or_default()
            )),
        );
    };
    let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
    let api: Api<DynamicObject> = match (caps.scope, object.pointer("/metadata/namespace").and_then(Value::as_str)) {
        (Scope::Namespaced, Some(ns)) => Api::namespaced_with(cluster.client.clone(), ns, &resource),
        (Scope::Namespaced, None) => {
            return result(Action::Failed, Some("a namespaced object without a namespace".into()));
        }
        (Scope::Cluster, _) => Api::all_with(cluster.client.clone(), &resource),
    };
    let before = match retrying(|| cluster.call("read an object", api.get_opt(&name))).await {
        Ok(b) => b,
        Err(e) => return result(Action::Failed, Some(reason(&e))),
    };
    match (&before, existing) {
        (Some(_), Existing::Skip) => return result(Action::Skipped, Some("it exists (--existing skip)".into())),
        (Some(_), Existing::Fail) => return result(Action::Failed, Some("it exists (--existing fail)".into())),
        _ => {}
    }
    let mut params = PatchParams::apply(FIELD_MANAGER).force();
    params.dry_run = dry_run;
    let patch: DynamicObject = match serde_json::from_value(object.clone()) {
        Ok(p) => p,
        Err(e) => return result(Action::Failed, Some(format!("not an object: {e}"))),
    };
    let patch = Patch::Apply(&patch);
    let after = match retrying(|| cluster.call("apply an object", api.patch(&name, &params, &patch))).await {
        Ok(a) => a,
        Err(e) => return result(Action::Failed, Some(reason(&e))),
    };
    let Some(before) = before else {
        return result(if dry_run { Action::WouldCreate } else { Action::Created }, None);
    };
    let changes = changed_fields(object, &to_value(&before), &to_value(&after));
    // Judged on the fields the snapshot sets: controllers may touch others
    // (a claim's annotations) between the read and the apply.
    let unchanged = changes.is_empty();
    let action = match (unchanged, dry_run) {
        (true, _) => Action::Unchanged,
        (false, true) => Action::WouldUpdate,
        (false, false) => Action::Updated,
    };
    let mut r = result(action, None);
    r.changes = if action == Action::Unchanged { Vec::new() } else { changes };
    r
}

fn to_value(o: &DynamicObject) -> Value {
    serde_json::to_value(o).unwrap_or(Value::Null)
}

/// The fields of `desired` whose value differs between `before` and
/// `after`, as dotted paths: what an apply changes of what it sets.
pub fn changed_fields(desired: &Value, before: &Value, after: &Value) -> Vec<String> {
    fn walk(path: &str, desired: &Value, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<String>) {
        match desired {
            Value::Object(map) => {
                for (k, v) in map {
                    let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    walk(&p, v, before.and_then(|b| b.get(k)), after.and_then(|a| a.get(k)), out);
                }
            }
            _ => {
                if before != after {
                    out.push(path.to_string());
                }
            }
        }
    }
    let mut out = Vec::new();
    walk("", desired, Some(before), Some(after), &mut out);
    out.retain(|p| !p.starts_with("metadata.resourceVersion") && !p.starts_with("metadata.managedFields"));
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn changes_are_the_desired_fields_that_moved() {
        let desired = json!({"data": {"a": "1", "b": "2"}});
        let before = json!({"data": {"a": "1", "b": "old", "c": "x"}});
        let after = json!({"data": {"a": "1", "b": "2", "c": "x"}});
        assert_eq!(changed_fields(&desired, &before, &after), ["data.b"]);
        assert!(changed_fields(&desired, &after, &after).is_empty());
    }
}
