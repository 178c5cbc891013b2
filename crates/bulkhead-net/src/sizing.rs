//! How large each of a cluster's ranges must be, from its declared node
//! pools and pod density, with headroom to grow.
//!
//! The rules, in one place (docs/net.md repeats them for users):
//! - every count is doubled for headroom and rounded up to a power of two;
//! - a node gets a pod block big enough for twice its `maxPods` (110 by
//!   default → /24 in IPv4, as the controller manager's default; /64 in IPv6);
//! - each zone gets a slot of the node range: a private subnet for nodes
//!   (at least a /24, and room for 5 addresses the cloud reserves), a public
//!   subnet a quarter of the slot, and a spare quarter; a cluster has at least
//!   4 slots, so a zone can be added without moving anything;
//! - Services get a /20 (IPv4) or a /112 (IPv6); a bare-metal load-balancer
//!   pool a /26 or a /120.

use bulkhead_model::spec::{Cluster, DomainLevel, ProviderKind};
use bulkhead_model::{DomainId, Topology};

use crate::range::{Family, RangeKind};

/// Pods per node when a pool does not say (the kubelet's default).
pub const DEFAULT_MAX_PODS: u32 = 110;
/// Headroom factor on every count.
pub const HEADROOM: u64 = 2;
/// Fewest zone slots in a node range.
pub const MIN_ZONE_SLOTS: u32 = 4;
/// Addresses a cloud keeps in every subnet (AWS: network, router, DNS, future, broadcast).
pub const CLOUD_RESERVED: u64 = 5;

/// What one cluster needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needs {
    /// Nodes declared.
    pub nodes: u64,
    /// Most nodes any one zone holds.
    pub nodes_per_zone: u64,
    /// Most pods a node runs.
    pub max_pods: u32,
    /// The cluster's zones, in order.
    pub zones: Vec<String>,
    /// Whether it gets a load-balancer pool by default (bare metal).
    pub load_balancer: bool,
}

fn ceil_log2(n: u64) -> u8 {
    if n <= 1 { 0 } else { (64 - (n - 1).leading_zeros()) as u8 }
}

impl Needs {
    /// Reads a cluster's needs from the spec and the failure-domain tree.
    pub fn of(cluster: &Cluster, topology: &Topology, provider_kind: Option<ProviderKind>) -> Self {
        let id = topology.id(DomainLevel::Cluster, &cluster.name);
        let zones: Vec<String> = match id {
            Some(c) => zone_labels(topology, topology.cluster_domains(c, DomainLevel::Zone)),
            None => Vec::new(),
        };
        let nodes: u64 = cluster.node_pools.iter().map(|p| u64::from(p.count)).sum();
        let nodes_per_zone = match id {
            Some(c) => {
                let mut per_zone = std::collections::HashMap::<DomainId, u64>::new();
                for n in topology.nodes_of(c) {
                    if let Some(z) = topology.enclosing(n.id, DomainLevel::Zone) {
                        *per_zone.entry(z).or_default() += 1;
                    }
                }
                per_zone.values().copied().max().unwrap_or(nodes)
            }
            None => nodes,
        };
        let max_pods = cluster.node_pools.iter().filter_map(|p| p.max_pods).max().unwrap_or(DEFAULT_MAX_PODS);
        let load_balancer = match &cluster.network.load_balancer {
            Some(_) => true,
            None => provider_kind == Some(ProviderKind::BareMetal),
        };
        Self { nodes: nodes.max(1), nodes_per_zone: nodes_per_zone.max(1), max_pods, zones, load_balancer }
    }

    /// Zone slots in the node range.
    pub fn zone_slots(&self) -> u32 {
        (self.zones.len() as u32).next_power_of_two().max(MIN_ZONE_SLOTS)
    }

    /// Prefix length of one node's pod block.
    pub fn node_pod_prefix(&self, family: Family) -> u8 {
        match family {
            Family::V4 => 32 - ceil_log2((u64::from(self.max_pods) * HEADROOM).max(256)).min(16),
            Family::V6 => 64,
        }
    }

    /// Prefix length of a zone's slot in the node range.
    pub fn zone_slot_prefix(&self, family: Family) -> u8 {
        match family {
            // The private subnet is half the slot.
            Family::V4 => {
                let hosts = (self.nodes_per_zone * HEADROOM + CLOUD_RESERVED).max(256);
                32 - ceil_log2(hosts) - 1
            }
            // A /60 per zone: private, public and spare /64s with room to spare.
            Family::V6 => 60,
        }
    }

    /// The prefix length this cluster needs for `kind` in `family`.
    pub fn prefix(&self, kind: RangeKind, family: Family) -> u8 {
        match kind {
            RangeKind::Nodes => self.zone_slot_prefix(family) - ceil_log2(u64::from(self.zone_slots())),
            RangeKind::Pods => {
                let blocks = (self.nodes * HEADROOM).max(16).next_power_of_two();
                self.node_pod_prefix(family) - ceil_log2(blocks)
            }
            RangeKind::Services => match family {
                Family::V4 => 20,
                Family::V6 => 112,
            },
            RangeKind::LoadBalancer => match family {
                Family::V4 => 26,
                Family::V6 => 120,
            },
            RangeKind::NodePods | RangeKind::ServiceIp | RangeKind::External => family.bits(),
        }
    }

    /// How many nodes a pod range of `prefix` gives room for.
    pub fn nodes_fitting(&self, pods_prefix: u8, family: Family) -> u64 {
        let node = self.node_pod_prefix(family);
        if pods_prefix > node { 0 } else { 1u64.checked_shl(u32::from(node - pods_prefix)).unwrap_or(u64::MAX) }
    }
}

fn zone_labels(topology: &Topology, zones: Vec<DomainId>) -> Vec<String> {
    zones.into_iter().map(|z| topology.get(z).label.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(nodes: u64, per_zone: u64, zones: usize) -> Needs {
        Needs {
            nodes,
            nodes_per_zone: per_zone,
            max_pods: DEFAULT_MAX_PODS,
            zones: (0..zones).map(|z| format!("z{z}")).collect(),
            load_balancer: false,
        }
    }

    #[test]
    fn sizes_follow_nodes_with_headroom() {
        let n = needs(9, 3, 3);
        assert_eq!(n.prefix(RangeKind::Nodes, Family::V4), 21); // 4 slots of /23: /24 private each
        assert_eq!(n.prefix(RangeKind::Pods, Family::V4), 19); // 32 nodes of /24
        assert_eq!(n.nodes_fitting(19, Family::V4), 32);
        assert_eq!(n.prefix(RangeKind::Services, Family::V4), 20);
        assert_eq!(n.prefix(RangeKind::Nodes, Family::V6), 58);
        assert_eq!(n.prefix(RangeKind::Pods, Family::V6), 59);

        let big = needs(1000, 400, 3);
        assert_eq!(big.zone_slot_prefix(Family::V4), 21); // 805 hosts → /22 private
        assert_eq!(big.prefix(RangeKind::Pods, Family::V4), 13); // 2048 nodes of /24
    }

    #[test]
    fn dense_nodes_get_larger_blocks() {
        let mut n = needs(3, 1, 3);
        n.max_pods = 250;
        assert_eq!(n.node_pod_prefix(Family::V4), 23);
    }
}
