//! A cluster's plan carried out: the inventory first (so an interrupted
//! apply still knows what it may have created), then the creates and
//! updates phase by phase (definitions first, waited for until
//! Established), objects of a phase at once, then the deletions, dependents
//! first; finally the inventory of what is now Bulkhead's.

use std::collections::BTreeMap;

use bulkhead_kube::Cluster;
use bulkhead_kube::apply::{reason, resolve, retrying, wait_established};
use bulkhead_kube::order::Phase;
use bulkhead_model::manifest::ObjectKey;
use futures::StreamExt;
use kube::api::{DeleteParams, PropagationPolicy};
use serde::Serialize;
use serde_json::Value;

use crate::Error;
use crate::desired::DesiredCluster;
use crate::inventory::{self, Entry, Inventory};
use crate::plan::{Action, ClusterPlan, PlanOptions, api_for, plan_cluster, server_side_apply};

/// What an apply did to one cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    /// The cluster.
    pub cluster: String,
    /// Objects created.
    pub created: Vec<ObjectKey>,
    /// Objects updated.
    pub updated: Vec<ObjectKey>,
    /// Objects deleted.
    pub deleted: Vec<ObjectKey>,
    /// Objects no longer managed, left in the cluster.
    pub orphaned: Vec<ObjectKey>,
    /// Objects that failed, with the API server's reason.
    pub failed: Vec<(ObjectKey, String)>,
}

impl Applied {
    /// Whether every change went through.
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Checks that `planned` still describes what applying `desired` would do
/// (a plan file made earlier): the cluster is planned again and the
/// changes compared, object by object and field by field. Objects whose
/// resourceVersion moved for reasons that change nothing of the plan (a
/// controller writing status) pass; anything else refuses.
///
/// # Errors
/// [`Error::Changed`] naming the first difference; or the cluster unreadable.
pub async fn recheck(
    cluster: &Cluster,
    desired: &DesiredCluster,
    planned: &ClusterPlan,
    options: PlanOptions,
) -> Result<ClusterPlan, Error> {
    let now = plan_cluster(cluster, desired, options).await?;
    let (was, is) = (planned.signature(), now.signature());
    if was != is {
        type Sig<'a> = [(Action, &'a ObjectKey, &'a [crate::diff::FieldChange])];
        let describe = |s: &Sig<'_>, other: &Sig<'_>| {
            s.iter().find(|c| !other.contains(c)).map(|(a, k, fields)| {
                let field = fields.first().map_or(String::new(), |f| {
                    format!(
                        " ({}: {} → {})",
                        f.path,
                        crate::diff::show(f.before.as_ref()),
                        crate::diff::show(f.after.as_ref())
                    )
                });
                format!("{} {k}{field}", a.sign())
            })
        };
        let why = match (describe(&was, &is), describe(&is, &was)) {
            (Some(gone), Some(new)) => format!("the plan said `{gone}`, the cluster now needs `{new}`"),
            (Some(gone), None) => format!("the plan's `{gone}` is no longer needed"),
            (None, Some(new)) => format!("it now needs `{new}`, which the plan does not have"),
            (None, None) => "the changes come in another order".to_string(),
        };
        return Err(Error::Changed { cluster: cluster.name.clone(), why: format!("{why}; make a new plan") });
    }
    Ok(now)
}

/// Carries out `plan` on `cluster`, with `desired` the objects it was made
/// from.
///
/// # Errors
/// When the inventory cannot be written (nothing is applied then) or the
/// cluster cannot be reached; a refused object is a failure in [`Applied`].
pub async fn execute(
    cluster: &Cluster,
    desired: &DesiredCluster,
    plan: &ClusterPlan,
    options: PlanOptions,
) -> Result<Applied, Error> {
    let mut applied = Applied { cluster: cluster.name.clone(), ..Default::default() };
    let entry_of = |o: &crate::desired::DesiredObject| Entry {
        api_version: o.api_version().to_string(),
        key: o.key.clone(),
        digest: o.digest(),
    };
    // Before anything changes: everything that may exist after this apply.
    let mut before = plan.inventory.clone();
    for o in &desired.objects {
        before.entries.insert(o.key.clone(), entry_of(o));
    }
    let mut inventory = inventory::write(cluster, &desired.fleet, &before).await?;

    let mut discovery = bulkhead_kube::discovery::discover(cluster).await?;
    let by_key: BTreeMap<&ObjectKey, &Value> = desired.objects.iter().map(|o| (&o.key, &o.object)).collect();
    let mut phases: BTreeMap<Phase, Vec<(Action, &ObjectKey, &Value)>> = BTreeMap::new();
    for c in plan.changes.iter().filter(|c| matches!(c.action, Action::Create | Action::Update)) {
        if let Some(object) = by_key.get(&c.key) {
            phases.entry(Phase::of(&c.key.group, &c.key.kind)).or_default().push((c.action, &c.key, object));
        }
    }
    for (phase, objects) in phases {
        if phase > Phase::Definitions && applied.created.iter().any(|k| k.kind == "CustomResourceDefinition") {
            // The new kinds are served now: learn them.
            discovery = bulkhead_kube::discovery::discover(cluster).await?;
        }
        let discovery = &discovery;
        let results: Vec<(Action, &ObjectKey, Result<Value, String>)> = futures::stream::iter(objects)
            .map(|(action, key, object)| async move {
                (action, key, server_side_apply(cluster, discovery, object, false).await)
            })
            .buffer_unordered(options.parallel.max(1))
            .collect()
            .await;
        for (action, key, result) in results {
            match result {
                Ok(_) if action == Action::Create => applied.created.push(key.clone()),
                Ok(_) => applied.updated.push(key.clone()),
                Err(why) => applied.failed.push((key.clone(), why)),
            }
        }
        if phase == Phase::Definitions {
            for key in applied.created.iter().chain(&applied.updated).filter(|k| k.kind == "CustomResourceDefinition") {
                if let Some(object) = by_key.get(key) {
                    wait_established(cluster, object).await;
                }
            }
        }
    }

    for c in &plan.changes {
        match c.action {
            Action::Delete => match delete(cluster, &discovery, &c.api_version, &c.key).await {
                Ok(()) => applied.deleted.push(c.key.clone()),
                Err(why) => applied.failed.push((c.key.clone(), why)),
            },
            Action::Orphan => applied.orphaned.push(c.key.clone()),
            Action::Create | Action::Update => {}
        }
    }

    // Now Bulkhead's: what is desired, and what it failed to delete.
    let failed: Vec<&ObjectKey> = applied.failed.iter().map(|(k, _)| k).collect();
    let after = Inventory {
        resource_version: inventory.resource_version.clone(),
        entries: inventory
            .entries
            .iter()
            .filter(|(k, _)| by_key.contains_key(k) || failed.contains(k))
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect(),
    };
    inventory = inventory::write(cluster, &desired.fleet, &after).await?;
    tracing::debug!(cluster = cluster.name, managed = inventory.entries.len(), "inventory written");
    Ok(applied)
}

/// Deletes one object Bulkhead applied; already gone counts as deleted.
async fn delete(
    cluster: &Cluster,
    discovery: &kube::discovery::Discovery,
    api_version: &str,
    key: &ObjectKey,
) -> Result<(), String> {
    let probe = serde_json::json!({"apiVersion": api_version, "kind": key.kind});
    let Some((resource, caps)) = resolve(discovery, &probe) else {
        // Its kind is gone, and its objects with it.
        return Ok(());
    };
    let api = api_for(cluster, &resource, &caps.scope, key.namespace.as_deref());
    let params = DeleteParams { propagation_policy: Some(PropagationPolicy::Background), ..Default::default() };
    match retrying(|| cluster.call("delete an object", api.delete(&key.name, &params))).await {
        Ok(_) => Ok(()),
        Err(bulkhead_kube::Error::Api { source: kube::Error::Api(status), .. }) if status.code == 404 => Ok(()),
        Err(e) => Err(reason(&e)),
    }
}
