//! A plan: what applying the desired state would change on each cluster,
//! found by a server-side dry-run apply of every desired object (the API
//! server defaults, validates and runs its webhooks, and nothing is
//! written), and what Bulkhead applied before that is no longer desired.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bulkhead_kube::Cluster;
use bulkhead_kube::apply::{FIELD_MANAGER, reason, resolve, retrying};
use bulkhead_kube::order::Phase;
use bulkhead_model::manifest::ObjectKey;
use futures::StreamExt;
use kube::Api;
use kube::api::{DynamicObject, ListParams, Patch, PatchParams};
use kube::discovery::{ApiResource, Discovery, Scope};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;
use crate::desired::{DesiredCluster, DesiredObject, Origin};
use crate::diff::{FieldChange, changes, holds};
use crate::inventory::{self, Inventory};

/// What a plan does to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// Create it.
    Create,
    /// Change fields Bulkhead's field manager sets.
    Update,
    /// Delete it: Bulkhead applied it, and it is no longer desired.
    Delete,
    /// Stop managing it but leave it: deleting a namespace or a definition
    /// would delete everything in it, Bulkhead's or not.
    Orphan,
}

impl Action {
    /// `+`, `~`, `-`, `!`: the plan's signs.
    pub fn sign(self) -> char {
        match self {
            Self::Create => '+',
            Self::Update => '~',
            Self::Delete => '-',
            Self::Orphan => '!',
        }
    }
}

/// One change of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// What happens.
    pub action: Action,
    /// To which object.
    pub key: ObjectKey,
    /// Its `apiVersion`.
    pub api_version: String,
    /// Where the desired object comes from (none for deletions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// The live object's resourceVersion when planned; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// The fields an update changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// Why, when it needs saying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The desired object differs from the one Bulkhead last applied (the
    /// fleet's code changed): a pending change, not drift.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub desired_changed: bool,
}

/// A desired object the cluster refuses (invalid, denied by a webhook or
/// policy, of a kind it does not serve).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refused {
    /// The object.
    pub key: ObjectKey,
    /// The API server's reason.
    pub reason: String,
}

/// What applying would do to one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterPlan {
    /// The cluster's name.
    pub cluster: String,
    /// Its API server.
    pub server: String,
    /// The changes, in the order they are made.
    pub changes: Vec<Change>,
    /// Desired objects already as desired.
    pub unchanged: usize,
    /// Desired objects the cluster refuses.
    pub refused: Vec<Refused>,
    /// The inventory as read.
    pub inventory: Inventory,
}

impl ClusterPlan {
    /// Whether applying would change anything.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// How many changes of `action`.
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    /// When the plan deletes more than `max_share` (0–1) of the objects
    /// Bulkhead manages on the cluster: what it would delete, in words.
    pub fn mass_delete(&self, max_share: f64) -> Option<String> {
        let deletes = self.count(Action::Delete);
        let managed = self.inventory.entries.len();
        // Precision is not at stake: counts of objects, far below 2^52.
        #[allow(clippy::cast_precision_loss)]
        let share = if managed == 0 { 0.0 } else { deletes as f64 / managed as f64 };
        (deletes > 0 && share > max_share).then(|| {
            format!(
                "deletes {deletes} of the {managed} objects Bulkhead manages on `{}` ({:.0}%, more than {:.0}%)",
                self.cluster,
                share * 100.0,
                max_share * 100.0
            )
        })
    }

    /// The changes as compared between a plan and its re-check: what
    /// happens to which object, and which fields.
    pub fn signature(&self) -> Vec<(Action, &ObjectKey, &[FieldChange])> {
        self.changes.iter().map(|c| (c.action, &c.key, c.fields.as_slice())).collect()
    }
}

/// How to plan.
#[derive(Debug, Clone, Copy)]
pub struct PlanOptions {
    /// Dry runs in flight at once per cluster.
    pub parallel: usize,
    /// Plan only the desired objects Bulkhead applied before (what drift
    /// is about): a fleet that never used `apply` costs one read per cluster.
    pub only_applied: bool,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self { parallel: 16, only_applied: false }
    }
}

/// The live objects of the kinds and namespaces a plan touches, by key.
pub(crate) type Live = BTreeMap<ObjectKey, Value>;

/// Plans one cluster.
///
/// # Errors
/// When the cluster cannot be read (discovery, the inventory, a list).
pub async fn plan_cluster(
    cluster: &Cluster,
    desired: &DesiredCluster,
    options: PlanOptions,
) -> Result<ClusterPlan, Error> {
    let inventory = inventory::read(cluster, &desired.fleet).await?;
    let applied_only;
    let desired = if options.only_applied {
        let objects = desired.objects.iter().filter(|o| inventory.entries.contains_key(&o.key)).cloned().collect();
        applied_only = DesiredCluster { objects, ..desired.clone() };
        &applied_only
    } else {
        desired
    };
    let discovery = bulkhead_kube::discovery::discover(cluster).await?;
    let live = read_live(cluster, &discovery, desired, &inventory, options.parallel).await?;
    let mut plan = ClusterPlan {
        cluster: cluster.name.clone(),
        server: cluster.server.clone(),
        changes: Vec::new(),
        unchanged: 0,
        refused: Vec::new(),
        inventory,
    };
    // Namespaces and definitions this plan creates: objects in them cannot
    // be dry-run yet (the API server would say the namespace or kind does
    // not exist); they are checked when applied.
    let new_namespaces: BTreeSet<&str> = desired
        .objects
        .iter()
        .filter(|o| o.key.group.is_empty() && o.key.kind == "Namespace" && !live.contains_key(&o.key))
        .map(|o| o.key.name.as_str())
        .collect();
    let defined: BTreeSet<(String, String)> = desired
        .objects
        .iter()
        .filter(|o| o.key.kind == "CustomResourceDefinition")
        .filter_map(|o| {
            let group = o.object.pointer("/spec/group")?.as_str()?;
            let kind = o.object.pointer("/spec/names/kind")?.as_str()?;
            Some((group.to_string(), kind.to_string()))
        })
        .collect();
    let inventory = &plan.inventory;
    let planning: Vec<_> = desired
        .objects
        .iter()
        .map(|object| {
            let live = live.get(&object.key);
            let later = if object.key.namespace.as_deref().is_some_and(|ns| new_namespaces.contains(ns)) {
                Some("its namespace is created by this plan; the API server checks it when applied")
            } else if resolve(&discovery, &object.object).is_none()
                && defined.contains(&(object.key.group.clone(), object.key.kind.clone()))
            {
                Some("its definition is created by this plan; the API server checks it when applied")
            } else {
                None
            };
            let applied_digest = inventory.entries.get(&object.key).map(|e| e.digest.as_str());
            plan_object(cluster, &discovery, object, live, applied_digest, later)
        })
        .collect();
    let results: Vec<Outcome> = futures::stream::iter(planning).buffered(options.parallel.max(1)).collect().await;
    for outcome in results {
        match outcome {
            Outcome::Unchanged => plan.unchanged += 1,
            Outcome::Change(c) => plan.changes.push(c),
            Outcome::Refused(r) => plan.refused.push(r),
        }
    }
    let desired_keys: BTreeSet<&ObjectKey> = desired.objects.iter().map(|o| &o.key).collect();
    let mut removals: Vec<Change> = Vec::new();
    for entry in plan.inventory.entries.values().filter(|e| !desired_keys.contains(&e.key)) {
        // Gone already (deleted by hand, or with its namespace): nothing to do.
        let Some(object) = live.get(&entry.key) else { continue };
        let ours = object
            .pointer("/metadata/managedFields")
            .and_then(Value::as_array)
            .is_some_and(|m| m.iter().any(|f| f["manager"] == FIELD_MANAGER));
        let (action, note) = if !ours {
            (Action::Orphan, Some("no field of it is Bulkhead's any more: someone else took it over".to_string()))
        } else if entry.key.group.is_empty() && entry.key.kind == "Namespace"
            || entry.key.kind == "CustomResourceDefinition"
        {
            (
                Action::Orphan,
                Some(format!(
                    "deleting a {} deletes everything in it, Bulkhead's or not; delete it by hand if that is meant",
                    entry.key.kind
                )),
            )
        } else {
            (Action::Delete, None)
        };
        removals.push(Change {
            action,
            key: entry.key.clone(),
            api_version: entry.api_version.clone(),
            origin: None,
            resource_version: resource_version(object),
            fields: Vec::new(),
            note,
            desired_changed: true,
        });
    }
    // Dependents go before what they depend on.
    removals.sort_by(|a, b| {
        (std::cmp::Reverse(Phase::of(&a.key.group, &a.key.kind)), &a.key)
            .cmp(&(std::cmp::Reverse(Phase::of(&b.key.group, &b.key.kind)), &b.key))
    });
    plan.changes.extend(removals);
    Ok(plan)
}

enum Outcome {
    Unchanged,
    Change(Change),
    Refused(Refused),
}

async fn plan_object(
    cluster: &Cluster,
    discovery: &Discovery,
    desired: &DesiredObject,
    live: Option<&Value>,
    applied_digest: Option<&str>,
    later: Option<&str>,
) -> Outcome {
    let change = |action, fields, note: Option<&str>| {
        Outcome::Change(Change {
            action,
            key: desired.key.clone(),
            api_version: desired.api_version().to_string(),
            origin: Some(desired.origin.clone()),
            resource_version: live.and_then(resource_version),
            fields,
            note: note.map(str::to_string),
            desired_changed: applied_digest.is_some_and(|d| d != desired.digest()),
        })
    };
    if let Some(note) = later {
        return change(Action::Create, Vec::new(), Some(note));
    }
    // Applied as it is now, and every field it sets still holds: the dry
    // run could only say "unchanged". A second plan of a large fleet is a
    // list per kind instead of a request per object.
    if let Some(live) = live
        && applied_digest == Some(desired.digest().as_str())
        && holds(live, &desired.object)
    {
        return Outcome::Unchanged;
    }
    match dry_run(cluster, discovery, &desired.object).await {
        Err(why) => Outcome::Refused(Refused { key: desired.key.clone(), reason: why }),
        Ok(after) => match live {
            None => change(Action::Create, Vec::new(), None),
            Some(before) => {
                let fields = changes(before, &after);
                if fields.is_empty() { Outcome::Unchanged } else { change(Action::Update, fields, None) }
            }
        },
    }
}

fn resource_version(object: &Value) -> Option<String> {
    object.pointer("/metadata/resourceVersion").and_then(Value::as_str).map(str::to_string)
}

/// The API for an object's resource, in its namespace when it has one.
pub(crate) fn api_for(
    cluster: &Cluster,
    resource: &ApiResource,
    scope: &Scope,
    namespace: Option<&str>,
) -> Api<DynamicObject> {
    match (scope, namespace) {
        (Scope::Namespaced, Some(ns)) => Api::namespaced_with(cluster.client.clone(), ns, resource),
        _ => Api::all_with(cluster.client.clone(), resource),
    }
}

/// Server-side applies `object` under Bulkhead's field manager (taking
/// over fields others set: the fleet's code is the source of truth), as a
/// dry run or for real; the object as the API server leaves it.
pub(crate) async fn server_side_apply(
    cluster: &Cluster,
    discovery: &Discovery,
    object: &Value,
    dry_run: bool,
) -> Result<Value, String> {
    let Some((resource, caps)) = resolve(discovery, object) else {
        return Err(format!(
            "the cluster does not serve {} {}",
            object["apiVersion"].as_str().unwrap_or_default(),
            object["kind"].as_str().unwrap_or_default()
        ));
    };
    let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    let namespace = object.pointer("/metadata/namespace").and_then(Value::as_str);
    if caps.scope == Scope::Namespaced && namespace.is_none() {
        return Err(format!("{} is namespaced here, and the object has no namespace", resource.kind));
    }
    let api = api_for(cluster, &resource, &caps.scope, namespace);
    let mut params = PatchParams::apply(FIELD_MANAGER).force();
    params.dry_run = dry_run;
    let what = if dry_run { "dry-run apply an object" } else { "apply an object" };
    let patch = Patch::Apply(object);
    match retrying(|| cluster.call(what, api.patch(name, &params, &patch))).await {
        Ok(after) => Ok(serde_json::to_value(after).unwrap_or(Value::Null)),
        Err(e) => Err(reason(&e)),
    }
}

async fn dry_run(cluster: &Cluster, discovery: &Discovery, object: &Value) -> Result<Value, String> {
    server_side_apply(cluster, discovery, object, true).await
}

/// Lists, once per resource and namespace, the live objects a plan needs:
/// those of the desired objects and of the inventory's.
async fn read_live(
    cluster: &Cluster,
    discovery: &Discovery,
    desired: &DesiredCluster,
    inventory: &Inventory,
    parallel: usize,
) -> Result<Live, Error> {
    // One list per group, version, plural and namespace.
    type ListId = (String, String, String, Option<String>);
    let mut lists: BTreeMap<ListId, (ApiResource, Scope)> = BTreeMap::new();
    let wanted = desired
        .objects
        .iter()
        .map(|o| (o.api_version().to_string(), &o.key))
        .chain(inventory.entries.values().map(|e| (e.api_version.clone(), &e.key)));
    for (api_version, key) in wanted {
        let probe = serde_json::json!({"apiVersion": api_version, "kind": key.kind});
        let Some((resource, caps)) = resolve(discovery, &probe) else { continue };
        let namespace = if caps.scope == Scope::Namespaced { key.namespace.clone() } else { None };
        let id = (resource.group.clone(), resource.version.clone(), resource.plural.clone(), namespace);
        lists.entry(id).or_insert((resource, caps.scope));
    }
    let listed: Vec<Result<Vec<Value>, Error>> = futures::stream::iter(lists)
        .map(|((_, _, _, namespace), (resource, scope))| async move {
            let api = api_for(cluster, &resource, &scope, namespace.as_deref());
            let params = ListParams::default();
            let list = retrying(|| cluster.call("list objects", api.list(&params))).await?;
            Ok(list
                .items
                .into_iter()
                .map(|o| {
                    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
                    // Items of a list carry no type; the dry run's answer does.
                    v["apiVersion"] = Value::String(resource.api_version.clone());
                    v["kind"] = Value::String(resource.kind.clone());
                    v
                })
                .collect())
        })
        .buffer_unordered(parallel.clamp(1, 8))
        .collect()
        .await;
    let mut live = Live::new();
    for objects in listed {
        for o in objects? {
            if let Some(key) = ObjectKey::of_json(&o) {
                live.insert(key, o);
            }
        }
    }
    Ok(live)
}

/// Plans every cluster at once; results in the order given.
pub async fn plan_all(
    targets: Vec<(Cluster, Arc<DesiredCluster>)>,
    options: PlanOptions,
) -> Vec<(String, Result<ClusterPlan, Error>)> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (cluster, desired)) in targets.into_iter().enumerate() {
        tasks.spawn(async move { (i, cluster.name.clone(), plan_cluster(&cluster, &desired, options).await) });
    }
    let mut out = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(r) => out.push(r),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    out.sort_by_key(|(i, _, _)| *i);
    out.into_iter().map(|(_, name, r)| (name, r)).collect()
}
