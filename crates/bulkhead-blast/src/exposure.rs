//! What a failure costs each workload: how many of its replicas a set of
//! failed domains takes down. Statically this is the worst placement the
//! scheduler may legally choose (from the pod's selectors and spread rules
//! and the cluster's node groups); live it is where the pods run now.

use std::collections::{BTreeMap, BTreeSet};

use bulkhead_model::spec::{DomainLevel, VolumeTopology};
use bulkhead_workload::scheduling::{Placement, SpreadLevel, rule, worst_case};
use bulkhead_workload::{ClusterNodes, Kind, Object, Workload, budgets_for, hpa_for, selects};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde::Serialize;

use crate::domains::Domain;

/// Seconds a pod tolerates an unreachable node before eviction, unless it
/// says otherwise (the DefaultTolerationSeconds admission plugin's 300 s).
pub const DEFAULT_TOLERATION_SECONDS: u64 = 300;

/// How one workload's replicas are lost.
#[derive(Debug, Clone)]
pub enum Loss {
    /// The worst case over the pod's rules.
    Static {
        /// The most replicas in one zone, rack, node.
        per_zone: u32,
        /// See `per_zone`.
        per_rack: u32,
        /// See `per_zone`.
        per_node: u32,
        /// Zones (labels) and racks (zone, rack) it may use.
        zones: BTreeSet<String>,
        /// See `zones`.
        racks: BTreeSet<(String, String)>,
        /// Node groups it may use, as (pool, zone, rack).
        groups: BTreeSet<(String, String, Option<String>)>,
    },
    /// Running pods per node now.
    Live {
        /// Pods by node name.
        per_node: BTreeMap<String, u32>,
        /// Each node's (zone, rack).
        sites: BTreeMap<String, (String, Option<String>)>,
    },
}

/// One workload of an app on one cluster.
#[derive(Debug, Clone, Serialize)]
pub struct Exposure {
    /// The app's index in `spec.apps`.
    pub app: usize,
    /// The cluster.
    pub cluster: String,
    /// Its provider and region.
    #[serde(skip)]
    pub location: (String, String),
    /// `Kind/namespace/name`.
    pub workload: String,
    /// Replicas (the HPA's minimum when one scales it).
    pub replicas: u32,
    /// The fewest replicas its budget keeps (1 without a budget).
    pub needed: u32,
    /// Whether it is a quorum system.
    pub quorum: bool,
    /// The narrowest reach of its volumes: data pinned to node or zone.
    pub volumes: Option<VolumeTopology>,
    /// How long until its pods are replaced elsewhere in the cluster.
    pub reschedule_seconds: u64,
    #[serde(skip)]
    pub(crate) loss: Loss,
}

/// The fewest of `n` replicas a budget keeps (1 without a budget).
pub(crate) fn needed(pdb: Option<&PodDisruptionBudget>, n: u32) -> u32 {
    let allowed = pdb.and_then(|p| bulkhead_workload::allowed_disruptions(p, n)).unwrap_or(n.saturating_sub(1));
    n.saturating_sub(allowed).max(n.min(1))
}

/// The seconds a pod waits on an unreachable node before it is evicted.
fn toleration_seconds(w: &Workload<'_>) -> u64 {
    w.pod
        .tolerations
        .iter()
        .flatten()
        .filter(|t| t.key.as_deref() == Some("node.kubernetes.io/unreachable"))
        .filter_map(|t| t.toleration_seconds)
        .map(|s| s.max(0) as u64)
        .min()
        .unwrap_or(DEFAULT_TOLERATION_SECONDS)
}

/// The replicas a workload runs with at least, and the budget over its pods.
fn replicas_and_budget<'a>(objects: &[&'a Object<'a>], w: &Workload<'_>) -> (u32, Option<&'a PodDisruptionBudget>) {
    let hpa_min = hpa_for(objects, w.object).map(|h| h.spec.min_replicas.unwrap_or(1).max(0) as u32);
    let pdb = budgets_for(objects, w).into_iter().next().map(|(_, p)| p);
    (hpa_min.unwrap_or(w.replicas), pdb)
}

/// The narrowest reach of a StatefulSet's (or a claim's) volumes on a cluster.
fn volume_reach(objects: &[&Object<'_>], w: &Workload<'_>, nodes: &ClusterNodes) -> Option<VolumeTopology> {
    let mut classes: Vec<Option<String>> = Vec::new();
    if let Kind::StatefulSet(s) = &w.object.kind {
        for t in s.spec.iter().flat_map(|s| s.volume_claim_templates.iter().flatten()) {
            classes.push(t.spec.as_ref().and_then(|s| s.storage_class_name.clone()));
        }
    }
    for v in w.pod.volumes.iter().flatten() {
        let Some(claim) = &v.persistent_volume_claim else { continue };
        for o in objects {
            if let Kind::Pvc(p) = &o.kind
                && o.name == claim.claim_name
                && o.namespace == w.object.namespace
            {
                classes.push(p.spec.as_ref().and_then(|s| s.storage_class_name.clone()));
            }
        }
    }
    classes.iter().filter_map(|c| nodes.class(c.as_deref()).map(|c| c.topology)).min_by_key(|t| match t {
        VolumeTopology::Node => 0,
        VolumeTopology::Zone => 1,
        VolumeTopology::Region => 2,
    })
}

/// A workload's exposure on one cluster, statically.
pub fn static_exposure(
    app: usize,
    location: (String, String),
    objects: &[&Object<'_>],
    w: &Workload<'_>,
    nodes: &ClusterNodes,
) -> Exposure {
    let (n, pdb) = replicas_and_budget(objects, w);
    let p = Placement::of(w.pod, nodes);
    let worst = |level: SpreadLevel| worst_case(rule(w.pod, w.labels, level), n, p.domains(level)).max_per_domain;
    // A node lies in one rack and one zone: it never holds more than they do.
    let per_zone = worst(SpreadLevel::Zone);
    let per_rack = if p.racks > 0 { worst(SpreadLevel::Rack).min(per_zone) } else { per_zone };
    let per_node = worst(SpreadLevel::Node).min(per_rack);
    let loss = Loss::Static {
        per_zone,
        per_rack,
        per_node,
        zones: p.groups.iter().map(|g| g.zone.clone()).collect(),
        racks: p.groups.iter().filter_map(|g| g.rack.clone().map(|r| (g.zone.clone(), r))).collect(),
        groups: p.groups.iter().map(|g| (g.pool.clone(), g.zone.clone(), g.rack.clone())).collect(),
    };
    Exposure {
        app,
        cluster: nodes.cluster.clone(),
        location,
        workload: w.object.id(),
        replicas: n,
        needed: needed(pdb, n),
        quorum: w.is_quorum(),
        volumes: volume_reach(objects, w, nodes),
        reschedule_seconds: nodes.node_grace_seconds + toleration_seconds(w),
        loss,
    }
}

/// A workload's exposure on one cluster from its running pods: `pods` are
/// (namespace, labels, node) of running pods, `sites` each node's place.
pub fn live_exposure(
    app: usize,
    location: (String, String),
    objects: &[&Object<'_>],
    w: &Workload<'_>,
    nodes: &ClusterNodes,
    pods: &[(String, BTreeMap<String, String>, String)],
) -> Option<Exposure> {
    let selector = w.selector?;
    let mut per_node: BTreeMap<String, u32> = BTreeMap::new();
    for (ns, labels, node) in pods {
        if *ns == w.object.namespace && selects(selector, Some(labels)) {
            *per_node.entry(node.clone()).or_default() += 1;
        }
    }
    let (n, pdb) = replicas_and_budget(objects, w);
    let sites =
        nodes.groups.iter().map(|g| (g.pool.clone(), (g.zone.clone(), g.rack.clone()))).collect::<BTreeMap<_, _>>();
    let running: u32 = per_node.values().sum();
    Some(Exposure {
        app,
        cluster: nodes.cluster.clone(),
        location,
        workload: w.object.id(),
        replicas: running,
        needed: needed(pdb, n).min(running),
        quorum: w.is_quorum(),
        volumes: volume_reach(objects, w, nodes),
        reschedule_seconds: nodes.node_grace_seconds + toleration_seconds(w),
        loss: Loss::Live { per_node, sites },
    })
}

impl Exposure {
    /// Replicas lost when every domain of `failed` fails at once. Statically
    /// the worst cases of unrelated domains add up (two zones may each hold
    /// their worst share), capped at the replica count.
    pub fn lost(&self, failed: &[&Domain]) -> u32 {
        let (provider, region) = (&self.location.0, &self.location.1);
        if failed.iter().any(|d| d.covers_cluster(&self.cluster, provider, region)) {
            return self.replicas;
        }
        // Only domains inside this cluster's region matter; nested ones count once.
        let here: Vec<&&Domain> = failed
            .iter()
            .filter(|d| d.path.len() >= 3 && d.path[0] == *provider && d.path[1] == *region)
            .filter(|d| d.level != DomainLevel::Node || d.cluster.as_deref() == Some(&self.cluster))
            .collect();
        let outer: Vec<&&&Domain> =
            here.iter().filter(|d| !here.iter().any(|o| !std::ptr::eq(**o, ***d) && o.contains(d))).collect();
        match &self.loss {
            Loss::Static { per_zone, per_rack, per_node, zones, racks, groups } => {
                let mut lost = 0u32;
                for d in outer {
                    let zone = &d.path[2];
                    lost += match d.level {
                        DomainLevel::Zone if zones.contains(zone) => *per_zone,
                        DomainLevel::Rack if racks.contains(&(zone.clone(), d.path[3].clone())) => *per_rack,
                        DomainLevel::Node => {
                            let rack = (d.path.len() == 5).then(|| d.path[3].clone());
                            let pool = d.node.clone().unwrap_or_default();
                            if groups.contains(&(pool, zone.clone(), rack)) { *per_node } else { 0 }
                        }
                        _ => 0,
                    };
                }
                lost.min(self.replicas)
            }
            Loss::Live { per_node, sites } => {
                let lost: u32 = per_node
                    .iter()
                    .filter(|(node, _)| {
                        let Some((zone, rack)) = sites.get(*node) else { return false };
                        outer.iter().any(|d| match d.level {
                            DomainLevel::Zone => d.path[2] == *zone,
                            DomainLevel::Rack => d.path[2] == *zone && rack.as_deref() == Some(d.path[3].as_str()),
                            DomainLevel::Node => d.node.as_deref() == Some(node.as_str()),
                            _ => false,
                        })
                    })
                    .map(|(_, n)| n)
                    .sum();
                lost.min(self.replicas)
            }
        }
    }

    /// Whether the cluster keeps somewhere to reschedule the lost replicas.
    pub fn can_reschedule(&self, failed: &[&Domain]) -> bool {
        let (provider, region) = (&self.location.0, &self.location.1);
        if failed.iter().any(|d| d.covers_cluster(&self.cluster, provider, region)) {
            return false;
        }
        let zone_down = |z: &str| {
            failed.iter().any(|d| {
                d.level == DomainLevel::Zone && d.path[0] == *provider && d.path[1] == *region && d.path[2] == z
            })
        };
        match &self.loss {
            // The node lifecycle controller evicts nothing when every zone is
            // down (its full-disruption rule): the pods wait for the zones.
            Loss::Static { zones, .. } => zones.iter().any(|z| !zone_down(z)),
            Loss::Live { sites, .. } => sites.values().any(|(z, _)| !zone_down(z)),
        }
    }
}
