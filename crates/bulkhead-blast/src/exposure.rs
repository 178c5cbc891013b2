//! What a failure costs each workload: how many of its replicas a set of
//! failed domains takes down. Statically this is the worst placement the
//! scheduler may legally choose (from the pod's selectors and spread rules
//! and the cluster's node groups); live it is where the pods run now.

use std::collections::{BTreeMap, BTreeSet};

use bulkhead_model::spec::{DomainLevel, VolumeTopology};
use bulkhead_workload::scheduling::{
    Placement, Replacement, ReplacementRule, SpreadLevel, place_replacements, rule, worst_case,
};
use bulkhead_workload::{ClusterNodes, Kind, Object, Workload, budgets_for, hpa_for, selects};
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
    /// How long until its pods can be replaced elsewhere at the earliest:
    /// the node-monitor grace period plus the pods' `unreachable`
    /// toleration. [`Exposure::reschedule_window`] adds the eviction pacing.
    pub reschedule_seconds: u64,
    #[serde(skip)]
    pub(crate) loss: Loss,
    /// The cluster's nodes, as (zone, rack, count), for the eviction pacing.
    #[serde(skip)]
    pub(crate) sites: Vec<(String, Option<String>, u32)>,
    /// How the scheduler places its replacements over zones.
    #[serde(skip)]
    pub(crate) zone_rule: ReplacementRule,
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
        sites: sites_of(nodes),
        zone_rule: ReplacementRule::of(w.pod, w.labels, SpreadLevel::Zone),
    }
}

fn sites_of(nodes: &ClusterNodes) -> Vec<(String, Option<String>, u32)> {
    nodes.groups.iter().map(|g| (g.zone.clone(), g.rack.clone(), g.count)).collect()
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
        sites: sites_of(nodes),
        zone_rule: ReplacementRule::of(w.pod, w.labels, SpreadLevel::Zone),
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

    /// When the lost replicas are replaced, in seconds after the failure:
    /// (earliest, latest), or `None` when the node lifecycle controller
    /// evicts none of them while the failure lasts. Between the two the
    /// order in which the controller taints the failed nodes decides.
    pub fn reschedule_window(&self, failed: &[&Domain]) -> Option<(u64, u64)> {
        if !self.can_reschedule(failed) {
            return None;
        }
        let (provider, region) = (&self.location.0, &self.location.1);
        let here: Vec<&&Domain> =
            failed.iter().filter(|d| d.path.len() >= 3 && d.path[0] == *provider && d.path[1] == *region).collect();
        // Failing and total nodes per zone of the cluster.
        let mut zones: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
        for (zone, rack, count) in &self.sites {
            let failing = here.iter().any(|d| match d.level {
                DomainLevel::Zone => d.path[2] == *zone,
                DomainLevel::Rack => d.path[2] == *zone && rack.as_deref() == Some(d.path[3].as_str()),
                _ => false,
            });
            let entry = zones.entry(zone.as_str()).or_default();
            entry.1 += count;
            if failing {
                entry.0 += count;
            }
        }
        for d in here.iter().filter(|d| d.level == DomainLevel::Node && d.cluster.as_deref() == Some(&self.cluster)) {
            if let Some(entry) = zones.get_mut(d.path[2].as_str()) {
                entry.0 = (entry.0 + 1).min(entry.1);
            }
        }
        let all_down = !zones.is_empty() && zones.values().all(|(f, t)| f == t);
        let mut latest_delay = 0.0f64;
        for &(failing, total) in zones.values().filter(|(f, _)| *f > 0) {
            match zone_eviction(failing, total, all_down) {
                ZoneEviction::Halted => return None,
                ZoneEviction::Paced(rate) => latest_delay = latest_delay.max(f64::from(failing - 1) / rate),
            }
        }
        Some((self.reschedule_seconds, self.reschedule_seconds + latest_delay.ceil() as u64))
    }

    /// Where the replacements of the replicas lost to failed zones can go:
    /// `None` when no zone of the workload's failed (node and rack failures
    /// leave every zone in the count, so the spread places replacements as
    /// usual).
    pub fn replacement(&self, failed: &[&Domain]) -> Option<Replacement> {
        let (provider, region) = (&self.location.0, &self.location.1);
        let dark: Vec<&str> = failed
            .iter()
            .filter(|d| d.level == DomainLevel::Zone && d.path[0] == *provider && d.path[1] == *region)
            .map(|d| d.path[2].as_str())
            .collect();
        let lost = self.lost(failed);
        if dark.is_empty() || lost == 0 {
            return None;
        }
        // Pods per surviving zone of the workload's.
        let surviving: Vec<u32> = match &self.loss {
            Loss::Live { per_node, sites } => {
                let mut per_zone: BTreeMap<&str, u32> = BTreeMap::new();
                for (zone, _) in sites.values() {
                    per_zone.entry(zone.as_str()).or_default();
                }
                for (node, n) in per_node {
                    if let Some((zone, _)) = sites.get(node) {
                        *per_zone.entry(zone.as_str()).or_default() += n;
                    }
                }
                per_zone.into_iter().filter(|(z, _)| !dark.contains(z)).map(|(_, n)| n).collect()
            }
            Loss::Static { zones, .. } => {
                // The survivors share the rest as evenly as the spread keeps them.
                let left: Vec<&String> = zones.iter().filter(|z| !dark.contains(&z.as_str())).collect();
                let k = left.len() as u32;
                let rest = self.replicas - lost;
                (0..k).map(|i| rest / k + u32::from(i < rest % k)).collect()
            }
        };
        let failed_here = match &self.loss {
            Loss::Static { zones, .. } => zones.iter().filter(|z| dark.contains(&z.as_str())).count(),
            Loss::Live { sites, .. } => {
                let mut zones: Vec<&str> =
                    sites.values().map(|(z, _)| z.as_str()).filter(|z| dark.contains(z)).collect();
                zones.sort_unstable();
                zones.dedup();
                zones.len()
            }
        } as u32;
        Some(place_replacements(self.zone_rule, &surviving, failed_here, lost))
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
