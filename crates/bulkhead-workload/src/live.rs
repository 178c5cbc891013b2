//! Live cluster state in plain types: what a reader (the API, or a cache fed
//! by a watch) hands the analyses. The converters here are pure, so any
//! source of Kubernetes objects feeds the same code path as the manifests.

use std::collections::{BTreeMap, BTreeSet};

use bulkhead_model::{Diagnostic, Fleet};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::resources::{Resources, pod_requests};
use crate::{AppObjects, ClusterNodes, Object, Origin, Source, Taint};

/// A running pod: where it is, and what it holds there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePod {
    /// Its namespace.
    pub namespace: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its node.
    pub node: String,
    /// Its requests, which the node's allocatable must hold.
    pub requests: Resources,
    /// Its priority (resolved from its PriorityClass by admission).
    pub priority: i32,
}

impl LivePod {
    /// A pod that runs on a node; `None` for one that is not Running or not
    /// yet placed.
    pub fn from_pod(pod: &Pod) -> Option<Self> {
        let running = pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
        let node = pod.spec.as_ref().and_then(|s| s.node_name.clone())?;
        running.then(|| Self {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            labels: pod.metadata.labels.clone().unwrap_or_default(),
            node,
            requests: pod.spec.as_ref().map(pod_requests).unwrap_or_default(),
            priority: pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0),
        })
    }
}

/// A node: its name, labels, taints and readiness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveNode {
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Taints.
    pub taints: Vec<Taint>,
    /// Whether it is Ready.
    pub ready: bool,
    /// What pods may request of it.
    pub allocatable: Resources,
}

impl LiveNode {
    /// The node as the analyses see it.
    pub fn from_node(node: &Node) -> Self {
        let ready = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        let taints = node.spec.as_ref().and_then(|s| s.taints.as_ref()).into_iter().flatten();
        Self {
            name: node.metadata.name.clone().unwrap_or_default(),
            labels: node.metadata.labels.clone().unwrap_or_default(),
            taints: taints
                .map(|t| Taint {
                    key: t.key.clone(),
                    value: t.value.clone().unwrap_or_default(),
                    effect: t.effect.clone(),
                })
                .collect(),
            ready,
            allocatable: node
                .status
                .as_ref()
                .and_then(|s| s.allocatable.as_ref())
                .map(Resources::from_map)
                .unwrap_or_default(),
        }
    }
}

/// Whether no other object owns this one (controllers' children are left
/// out: the audit judges the Deployment, not its ReplicaSets and Pods).
pub fn is_unowned(meta: &ObjectMeta) -> bool {
    meta.owner_references.as_ref().is_none_or(|r| r.is_empty())
}

/// What the analyses read from one cluster.
#[derive(Debug, Clone, Default)]
pub struct ClusterState {
    /// Objects as JSON (apiVersion and kind included), not owned by another object.
    pub objects: Vec<serde_json::Value>,
    /// Running pods.
    pub pods: Vec<LivePod>,
    /// Nodes.
    pub nodes: Vec<LiveNode>,
}

/// One reachable cluster of the fleet and its state.
#[derive(Debug, Clone)]
pub struct LiveCluster {
    /// Its index in `spec.clusters`.
    pub index: usize,
    /// Its name.
    pub name: String,
    /// What was read.
    pub state: ClusterState,
}

/// Every cluster of a fleet that could be read, in fleet order, and the
/// ones that could not.
#[derive(Debug, Clone, Default)]
pub struct LiveFleet {
    /// The clusters read.
    pub clusters: Vec<LiveCluster>,
    /// Clusters that could not be read, as errors at their `access`.
    pub unreachable: Vec<Diagnostic>,
}

impl LiveCluster {
    /// The cluster's nodes, for the scheduling questions.
    pub fn nodes(&self, fleet: &Fleet) -> ClusterNodes {
        ClusterNodes::from_live(&fleet.file.spec.clusters[self.index], &self.state.nodes)
    }

    /// Running pods as (namespace, labels, node).
    pub fn pod_sites(&self) -> Vec<(String, BTreeMap<String, String>, String)> {
        self.state.pods.iter().map(|p| (p.namespace.clone(), p.labels.clone(), p.node.clone())).collect()
    }
}

impl LiveFleet {
    /// Each app placed on a reachable cluster, with the objects in its
    /// namespaces there: (app index, app objects).
    pub fn apps<'a>(&'a self, fleet: &'a Fleet) -> Vec<(usize, AppObjects<'a>)> {
        let spec = &fleet.file.spec;
        let mut apps = Vec::new();
        for live in &self.clusters {
            let cluster = &spec.clusters[live.index];
            for (ai, app) in spec.apps.iter().enumerate() {
                if !app.placement.clusters.matches(cluster) {
                    continue;
                }
                let ns = namespaces(fleet, ai);
                let mine: Vec<Object<'_>> = live
                    .state
                    .objects
                    .iter()
                    .filter(|o| {
                        o.pointer("/metadata/namespace").and_then(|n| n.as_str()).is_some_and(|n| ns.contains(n))
                    })
                    .map(|o| Object::new(Source::Json(o), None, Origin::Live { cluster: live.name.clone() }))
                    .collect();
                apps.push((ai, AppObjects::live(app, cluster, mine)));
            }
        }
        apps
    }
}

/// The namespaces an app's objects live in: its own, and those its manifests name.
fn namespaces(fleet: &Fleet, app: usize) -> BTreeSet<String> {
    let spec = &fleet.file.spec.apps[app];
    let mut out: BTreeSet<String> = spec.namespace.iter().cloned().collect();
    if let Some(m) = fleet.apps.get(app) {
        out.extend(m.base.iter().filter_map(|o| o.namespace.clone()));
    }
    out
}
