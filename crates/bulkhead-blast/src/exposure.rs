//! What a failure costs each workload: how many of its replicas a set of
//! failed domains takes down. Statically this is the worst placement the
//! scheduler may legally choose (from the pod's selectors and spread rules
//! and the cluster's node groups); live it is where the pods run now.

use std::collections::{BTreeMap, BTreeSet};

use bulkhead_model::spec::{DomainLevel, VolumeTopology};
use bulkhead_workload::resources::{Resources, pod_requests};
use bulkhead_workload::scheduling::{Placement, ReplacementRule, SpreadLevel, allows, rule, worst_case};
use bulkhead_workload::{ClusterNodes, Kind, LivePod, Object, Workload, budgets_for, hpa_for, selects};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde::Serialize;

use crate::domains::Domain;

/// Seconds a pod tolerates an unreachable node before eviction, unless it
/// says otherwise (the DefaultTolerationSeconds admission plugin's 300 s).
pub const DEFAULT_TOLERATION_SECONDS: u64 = 300;

/// The node lifecycle controller's pacing of evictions, per zone, as
/// kube-controller-manager v1.36 sets it by default: it taints unreachable
/// nodes one at a time at `--node-eviction-rate` nodes a second (a burst of
/// one), so the tenth node of a failed zone is tainted 90 s after the first.
pub const NODE_EVICTION_RATE: f64 = 0.1;
/// `--secondary-node-eviction-rate`: the pace in a partly failed zone of a
/// large cluster.
pub const SECONDARY_NODE_EVICTION_RATE: f64 = 0.01;
/// `--unhealthy-zone-threshold`: the share of NotReady nodes (more than two)
/// from which a zone counts as partly failed.
pub const UNHEALTHY_ZONE_THRESHOLD: f64 = 0.55;
/// `--large-cluster-size-threshold`: a partly failed zone of at most this
/// many nodes is not evicted from at all.
pub const LARGE_CLUSTER_SIZE_THRESHOLD: u32 = 50;

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
        /// Nodes its pods may run on (selectors, node affinity, taints).
        eligible: BTreeSet<String>,
        /// Room for its replacements on each node, when its pods request anything.
        capacity: Option<Capacity>,
    },
}

/// Room for a workload's replacement pods, node by node, as the
/// scheduler's NodeResourcesFit filter and its preemption see it.
#[derive(Debug, Clone)]
pub struct Capacity {
    /// What each of its pods requests.
    pub request: Resources,
    /// Per node: what is free, and what pods of lower priority hold (which
    /// preemption may take back for it).
    pub nodes: BTreeMap<String, (Resources, Resources)>,
}

/// What a workload's controller does about pods lost with their nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    /// A ReplicaSet (a Deployment's): replaces an evicted pod at once.
    Replaces,
    /// A StatefulSet: recreates a pod only when the old one is gone, which
    /// an unreachable node cannot confirm.
    StatefulSet,
    /// A DaemonSet: its pods belong to their nodes.
    DaemonSet,
    /// A bare Pod: nothing replaces it.
    None,
}

impl Controller {
    fn of(w: &Workload<'_>) -> Self {
        match w.object.kind {
            Kind::StatefulSet(_) => Self::StatefulSet,
            Kind::DaemonSet(_) => Self::DaemonSet,
            Kind::Pod(_) => Self::None,
            _ => Self::Replaces,
        }
    }
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
    /// How long until its pods can be replaced elsewhere at the earliest:
    /// the node-monitor grace period plus the pods' `unreachable`
    /// toleration. [`Exposure::reschedule_window`] adds the eviction pacing.
    pub reschedule_seconds: u64,
    #[serde(skip)]
    pub(crate) loss: Loss,
    /// The cluster's nodes, as (zone, rack, count), for the eviction pacing.
    #[serde(skip)]
    pub(crate) sites: Vec<(String, Option<String>, u32)>,
    /// How the scheduler places its replacements over zones, racks and
    /// nodes ([`SpreadLevel`] order).
    #[serde(skip)]
    pub(crate) rules: [(SpreadLevel, ReplacementRule); 3],
    /// What replaces its lost pods.
    #[serde(skip)]
    pub(crate) controller: Controller,
    /// The seconds of its pods' unreachable toleration.
    #[serde(skip)]
    pub(crate) toleration_seconds: u64,
}

fn rules_of(w: &Workload<'_>) -> [(SpreadLevel, ReplacementRule); 3] {
    [SpreadLevel::Zone, SpreadLevel::Rack, SpreadLevel::Node].map(|l| (l, ReplacementRule::of(w.pod, w.labels, l)))
}

/// How the node lifecycle controller treats a zone some of whose nodes failed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ZoneEviction {
    /// Evicts, tainting one node every `1 / rate` seconds.
    Paced(f64),
    /// Evicts nothing: a small zone mostly down, or every zone of the
    /// cluster down (the full-disruption rule).
    Halted,
}

/// The pace of evictions in a zone of `total` nodes of which `failing`
/// stopped, when `all_zones_down` says whether the whole cluster is dark.
pub fn zone_eviction(failing: u32, total: u32, all_zones_down: bool) -> ZoneEviction {
    if all_zones_down {
        return ZoneEviction::Halted;
    }
    let ready = total.saturating_sub(failing);
    if ready == 0 {
        return ZoneEviction::Paced(NODE_EVICTION_RATE);
    }
    if failing > 2 && f64::from(failing) / f64::from(total) >= UNHEALTHY_ZONE_THRESHOLD {
        return if total > LARGE_CLUSTER_SIZE_THRESHOLD {
            ZoneEviction::Paced(SECONDARY_NODE_EVICTION_RATE)
        } else {
            ZoneEviction::Halted
        };
    }
    ZoneEviction::Paced(NODE_EVICTION_RATE)
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
    let controller = Controller::of(w);
    // A DaemonSet runs one pod on each node it may use.
    let n = if controller == Controller::DaemonSet { p.nodes } else { n };
    let worst = |level: SpreadLevel| {
        if controller == Controller::DaemonSet {
            return daemon_per_domain(&p, level);
        }
        worst_case(rule(w.pod, w.labels, level), n, p.domains(level)).max_per_domain
    };
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
        sites: sites_of(nodes),
        rules: rules_of(w),
        controller,
        toleration_seconds: toleration_seconds(w),
    }
}

/// The most nodes of one domain of `level` a DaemonSet's pods run on.
fn daemon_per_domain(p: &Placement<'_>, level: SpreadLevel) -> u32 {
    let mut per: BTreeMap<(&str, Option<&str>), u32> = BTreeMap::new();
    for g in &p.groups {
        match level {
            SpreadLevel::Zone => *per.entry((g.zone.as_str(), None)).or_default() += g.count,
            SpreadLevel::Rack => *per.entry((g.zone.as_str(), g.rack.as_deref())).or_default() += g.count,
            SpreadLevel::Node => return 1,
        }
    }
    per.into_values().max().unwrap_or(0)
}

fn sites_of(nodes: &ClusterNodes) -> Vec<(String, Option<String>, u32)> {
    nodes.groups.iter().map(|g| (g.zone.clone(), g.rack.clone(), g.count)).collect()
}

/// A workload's exposure on one cluster from the pods running on it now.
pub fn live_exposure(
    app: usize,
    location: (String, String),
    objects: &[&Object<'_>],
    w: &Workload<'_>,
    nodes: &ClusterNodes,
    pods: &[LivePod],
) -> Option<Exposure> {
    let selector = w.selector?;
    let mut per_node: BTreeMap<String, u32> = BTreeMap::new();
    // Its pods carry the priority admission resolved from its class.
    let mut priority = None;
    for p in pods {
        if p.namespace == w.object.namespace && selects(selector, Some(&p.labels)) {
            *per_node.entry(p.node.clone()).or_default() += 1;
            priority = priority.max(Some(p.priority));
        }
    }
    let (n, pdb) = replicas_and_budget(objects, w);
    let sites =
        nodes.groups.iter().map(|g| (g.pool.clone(), (g.zone.clone(), g.rack.clone()))).collect::<BTreeMap<_, _>>();
    let eligible = nodes.groups.iter().filter(|g| allows(w.pod, g)).map(|g| g.pool.clone()).collect();
    let capacity = capacity(w, nodes, pods, priority.unwrap_or(0));
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
        loss: Loss::Live { per_node, sites, eligible, capacity },
        sites: sites_of(nodes),
        rules: rules_of(w),
        controller: Controller::of(w),
        toleration_seconds: toleration_seconds(w),
    })
}

/// Room for `w`'s pods on each node, or `None` when they request nothing.
fn capacity(w: &Workload<'_>, nodes: &ClusterNodes, pods: &[LivePod], priority: i32) -> Option<Capacity> {
    let request = pod_requests(w.pod);
    if request.is_zero() {
        return None;
    }
    let mut used: BTreeMap<&str, (Resources, Resources)> = BTreeMap::new();
    for p in pods {
        let entry = used.entry(p.node.as_str()).or_default();
        entry.0 = entry.0.plus(p.requests);
        if p.priority < priority {
            entry.1 = entry.1.plus(p.requests);
        }
    }
    let nodes = nodes
        .groups
        .iter()
        .filter_map(|g| {
            let allocatable = g.allocatable?;
            let (used, lower) = used.get(g.pool.as_str()).copied().unwrap_or_default();
            Some((g.pool.clone(), (allocatable.minus(used), lower)))
        })
        .collect();
    Some(Capacity { request, nodes })
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
            Loss::Live { per_node, sites, .. } => {
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

    /// Whether a node at (`zone`, `rack`) named `node` is inside a failed domain.
    pub(crate) fn site_failed(&self, failed: &[&Domain], zone: &str, rack: Option<&str>, node: Option<&str>) -> bool {
        let (provider, region) = (&self.location.0, &self.location.1);
        failed.iter().any(|d| {
            if d.covers_cluster(&self.cluster, provider, region) {
                return true;
            }
            if d.path.len() < 3 || d.path[0] != *provider || d.path[1] != *region || d.path[2] != zone {
                return false;
            }
            match d.level {
                DomainLevel::Zone => true,
                DomainLevel::Rack => rack == Some(d.path[3].as_str()),
                DomainLevel::Node => d.cluster.as_deref() == Some(&self.cluster) && node == d.node.as_deref(),
                _ => false,
            }
        })
    }

    /// When the lost replicas are evicted, in seconds after the failure:
    /// (earliest, latest), or why the node lifecycle controller evicts none
    /// of them while the failure lasts. Between the two the order in which
    /// the controller taints the failed nodes decides.
    pub fn eviction_window(&self, failed: &[&Domain]) -> Result<(u64, u64), Halt> {
        let (provider, region) = (&self.location.0, &self.location.1);
        if failed.iter().any(|d| d.covers_cluster(&self.cluster, provider, region)) {
            return Err(Halt::ClusterDown);
        }
        // Failing and total nodes per zone of the cluster.
        let mut zones: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
        for (zone, rack, count) in &self.sites {
            let entry = zones.entry(zone.as_str()).or_default();
            entry.1 += count;
            if self.site_failed(failed, zone, rack.as_deref(), None) {
                entry.0 += count;
            }
        }
        let here = failed.iter().filter(|d| d.path.len() >= 3 && d.path[0] == *provider && d.path[1] == *region);
        for d in here.filter(|d| d.level == DomainLevel::Node && d.cluster.as_deref() == Some(&self.cluster)) {
            if let Some(entry) = zones.get_mut(d.path[2].as_str()) {
                entry.0 = (entry.0 + 1).min(entry.1);
            }
        }
        let all_down = !zones.is_empty() && zones.values().all(|(f, t)| f == t);
        let mut latest_delay = 0.0f64;
        for &(failing, total) in zones.values().filter(|(f, _)| *f > 0) {
            match zone_eviction(failing, total, all_down) {
                ZoneEviction::Halted if all_down => return Err(Halt::FullDisruption),
                ZoneEviction::Halted => return Err(Halt::PartialDisruption),
                ZoneEviction::Paced(rate) => latest_delay = latest_delay.max(f64::from(failing - 1) / rate),
            }
        }
        Ok((self.reschedule_seconds, self.reschedule_seconds + latest_delay.ceil() as u64))
    }
}

/// Why the node lifecycle controller evicts nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Halt {
    /// The whole cluster (its control plane with it) is down.
    ClusterDown,
    /// Every zone of the cluster is down.
    FullDisruption,
    /// Most of a small cluster's zone is down.
    PartialDisruption,
}

impl Halt {
    /// The reason, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Self::ClusterDown => "the whole cluster is down, its control plane with it",
            Self::FullDisruption => {
                "every zone of the cluster is down: the node lifecycle controller evicts nothing \
                 (its full-disruption rule), so the pods wait for their nodes"
            }
            Self::PartialDisruption => {
                "more than 55% of the zone's nodes are down in a cluster of at most 50 nodes: the node \
                 lifecycle controller stops evicting there (--unhealthy-zone-threshold)"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eviction_follows_the_node_lifecycle_controller() {
        // A whole zone down while others stand: paced at 0.1 nodes/s.
        assert_eq!(zone_eviction(2, 2, false), ZoneEviction::Paced(NODE_EVICTION_RATE));
        // Every zone down: nothing is evicted (full disruption).
        assert_eq!(zone_eviction(2, 2, true), ZoneEviction::Halted);
        // Two of six nodes: a normal zone.
        assert_eq!(zone_eviction(2, 6, false), ZoneEviction::Paced(NODE_EVICTION_RATE));
        // Four of six (more than two, over 55%) in a small zone: halted.
        assert_eq!(zone_eviction(4, 6, false), ZoneEviction::Halted);
        // The same share of a large zone: the secondary rate.
        assert_eq!(zone_eviction(40, 60, false), ZoneEviction::Paced(SECONDARY_NODE_EVICTION_RATE));
    }
}
