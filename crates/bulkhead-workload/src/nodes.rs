//! What nodes a cluster offers, as groups of alike nodes (a pool's nodes in
//! one zone, or rack), with the labels and taints the scheduler sees. Built
//! from fleet.yaml's node pools, or from a live cluster's Node objects, so
//! scheduling questions get one answer either way.

use std::collections::BTreeMap;

use bulkhead_model::Topology;
use bulkhead_model::spec::{AccessMode, Cluster, DomainLevel, FleetSpec, VolumeTopology};

use crate::live::LiveNode;
use crate::resources::Resources;

/// The zone label.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// The region label.
pub const REGION_LABEL: &str = "topology.kubernetes.io/region";
/// The node name label.
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";
/// The provider label Bulkhead defines (no upstream key exists).
pub const PROVIDER_LABEL: &str = "topology.bulkhead.dev/provider";
/// The rack label Bulkhead defines (no upstream key exists).
pub const RACK_LABEL: &str = "topology.bulkhead.dev/rack";

/// A taint, as `key=value:Effect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taint {
    /// Key.
    pub key: String,
    /// Value (may be empty).
    pub value: String,
    /// NoSchedule, PreferNoSchedule or NoExecute.
    pub effect: String,
}

impl Taint {
    /// Reads `key=value:Effect` or `key:Effect`.
    pub fn parse(text: &str) -> Option<Self> {
        let (kv, effect) = text.rsplit_once(':')?;
        let (key, value) = kv.split_once('=').unwrap_or((kv, ""));
        Some(Self { key: key.to_string(), value: value.to_string(), effect: effect.to_string() })
    }
}

/// Alike nodes in one place.
#[derive(Debug, Clone)]
pub struct NodeGroup {
    /// The pool (or, live, the node's name).
    pub pool: String,
    /// Their labels.
    pub labels: BTreeMap<String, String>,
    /// Their taints.
    pub taints: Vec<Taint>,
    /// Their zone.
    pub zone: String,
    /// Their rack, on bare metal.
    pub rack: Option<String>,
    /// How many.
    pub count: u32,
    /// What pods may request of each; known live only (a node pool does
    /// not say its machines' size).
    pub allocatable: Option<Resources>,
}

/// A storage class as the audit needs it.
#[derive(Debug, Clone)]
pub struct ClassInfo {
    /// Name.
    pub name: String,
    /// Access modes it can give.
    pub access_modes: Vec<AccessMode>,
    /// How far its volumes reach.
    pub topology: VolumeTopology,
    /// Whether claims without a class get it.
    pub default: bool,
    /// Its VolumeSnapshotClass, when its volumes can be snapshotted.
    pub snapshot_class: Option<String>,
}

/// A cluster's nodes and storage.
#[derive(Debug, Clone)]
pub struct ClusterNodes {
    /// The cluster.
    pub cluster: String,
    /// Its zones, in order.
    pub zones: Vec<String>,
    /// Its racks, when it has them.
    pub racks: Vec<String>,
    /// Its node groups.
    pub groups: Vec<NodeGroup>,
    /// Its storage classes.
    pub classes: Vec<ClassInfo>,
    /// Seconds until an unreachable node is marked NotReady.
    pub node_grace_seconds: u64,
    /// See [`ClusterNodes::shape_key`]; computed once.
    shape: String,
}

impl ClusterNodes {
    /// The nodes fleet.yaml declares for `cluster`, placed as the
    /// failure-domain tree places them.
    pub fn from_fleet(spec: &FleetSpec, topology: &Topology, cluster: &Cluster) -> Self {
        let (provider, region) = cluster.provider_and_region().unwrap_or(("", ""));
        let mut groups: BTreeMap<(usize, String, Option<String>), NodeGroup> = BTreeMap::new();
        if let Some(c) = topology.id(DomainLevel::Cluster, &cluster.name) {
            for node in topology.nodes_of(c) {
                let pool_name = node.label.rsplit_once('-').map_or(node.label.as_str(), |(p, _)| p);
                let Some(pi) = cluster.node_pools.iter().position(|p| p.name == pool_name) else { continue };
                let pool = &cluster.node_pools[pi];
                let zone = topology.enclosing(node.id, DomainLevel::Zone).map(|z| topology.get(z).label.clone());
                let rack = topology.enclosing(node.id, DomainLevel::Rack).map(|r| topology.get(r).label.clone());
                let zone = zone.unwrap_or_default();
                let entry = groups.entry((pi, zone.clone(), rack.clone())).or_insert_with(|| {
                    let mut labels = pool.labels.clone();
                    labels.insert(ZONE_LABEL.into(), zone.clone());
                    labels.insert(REGION_LABEL.into(), region.to_string());
                    labels.insert(PROVIDER_LABEL.into(), provider.to_string());
                    labels.insert("kubernetes.io/os".into(), "linux".into());
                    labels.insert("kubernetes.io/arch".into(), "amd64".into());
                    if let Some(t) = &pool.instance_type {
                        labels.insert("node.kubernetes.io/instance-type".into(), t.clone());
                    }
                    if let Some(r) = &rack {
                        labels.insert(RACK_LABEL.into(), r.clone());
                    }
                    NodeGroup {
                        pool: pool.name.clone(),
                        labels,
                        taints: pool.taints.iter().filter_map(|t| Taint::parse(t)).collect(),
                        zone: zone.clone(),
                        rack: rack.clone(),
                        count: 0,
                        allocatable: None,
                    }
                });
                entry.count += 1;
            }
        }
        let groups: Vec<NodeGroup> = groups.into_values().collect();
        let mut zones: Vec<String> = Vec::new();
        let mut racks: Vec<String> = Vec::new();
        for g in &groups {
            if !zones.contains(&g.zone) {
                zones.push(g.zone.clone());
            }
            if let Some(r) = &g.rack
                && !racks.contains(r)
            {
                racks.push(r.clone());
            }
        }
        if zones.is_empty() {
            // No pools declared: the region's zones, so zone questions still have an answer.
            zones = spec
                .providers
                .iter()
                .filter(|p| p.name == provider)
                .flat_map(|p| p.regions.iter().filter(|r| r.name == region))
                .flat_map(|r| r.zones.clone())
                .collect();
        }
        Self::new(cluster, zones, racks, groups)
    }

    /// The nodes a live cluster has, one group per node, with the storage
    /// classes fleet.yaml declares for it (a live StorageClass does not say
    /// what access modes or topology its volumes have).
    pub fn from_live<'n>(cluster: &Cluster, nodes: impl IntoIterator<Item = &'n LiveNode>) -> Self {
        let mut groups = Vec::new();
        let (mut zones, mut racks) = (Vec::new(), Vec::new());
        for node in nodes {
            let (name, mut labels, taints) = (node.name.clone(), node.labels.clone(), node.taints.clone());
            labels.insert(HOSTNAME_LABEL.into(), name.clone());
            let zone = labels.get(ZONE_LABEL).cloned().unwrap_or_default();
            let rack = labels.get(RACK_LABEL).cloned();
            if !zones.contains(&zone) {
                zones.push(zone.clone());
            }
            if let Some(r) = &rack
                && !racks.contains(r)
            {
                racks.push(r.clone());
            }
            groups.push(NodeGroup {
                pool: name,
                labels,
                taints,
                zone,
                rack,
                count: 1,
                allocatable: Some(node.allocatable),
            });
        }
        Self::new(cluster, zones, racks, groups)
    }

    /// All nodes.
    pub fn node_count(&self) -> u32 {
        self.groups.iter().map(|g| g.count).sum()
    }

    /// The class a claim gets: the named one, or the default.
    pub fn class(&self, name: Option<&str>) -> Option<&ClassInfo> {
        match name {
            Some("") => None,
            Some(n) => self.classes.iter().find(|c| c.name == n),
            None => self.classes.iter().find(|c| c.default),
        }
    }

    fn new(spec: &Cluster, zones: Vec<String>, racks: Vec<String>, groups: Vec<NodeGroup>) -> Self {
        let cluster = spec.name.clone();
        let classes = classes_of(spec);
        let node_grace_seconds = spec.control_plane.node_grace_seconds();
        let mut shape = format!("{zones:?}|{racks:?}|{node_grace_seconds}|");
        for g in &groups {
            let mut labels = g.labels.clone();
            labels.remove(REGION_LABEL);
            labels.remove(HOSTNAME_LABEL);
            shape.push_str(&format!("{:?}{:?}{}{:?}{};", labels, g.taints, g.zone, g.rack, g.count));
        }
        for c in &classes {
            shape.push_str(&format!("{}{:?}{:?}{};", c.name, c.access_modes, c.topology, c.default));
        }
        Self { cluster, zones, racks, groups, classes, node_grace_seconds, shape }
    }

    /// A key that is equal for clusters whose nodes and storage answer every
    /// scheduling question alike (names of clusters aside), so checks run
    /// once per shape rather than once per cluster.
    pub fn shape_key(&self) -> &str {
        &self.shape
    }
}

fn classes_of(cluster: &Cluster) -> Vec<ClassInfo> {
    cluster
        .storage_classes
        .iter()
        .map(|s| ClassInfo {
            name: s.name.clone(),
            access_modes: s.access_modes.clone(),
            topology: s.topology,
            default: s.default,
            snapshot_class: s.snapshot_class.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taints_parse_with_and_without_value() {
        assert_eq!(
            Taint::parse("dedicated=db:NoSchedule"),
            Some(Taint { key: "dedicated".into(), value: "db".into(), effect: "NoSchedule".into() })
        );
        assert_eq!(Taint::parse("gpu:NoExecute").unwrap().value, "");
        assert_eq!(Taint::parse("nonsense"), None);
    }
}
