//! The ranges a running cluster really uses, in plain types: what a reader
//! of the API hands over, and the pure conversion into owned ranges that
//! `check` compares with the plan.

use std::net::IpAddr;

use bulkhead_model::{Code, Diagnostic, Fleet};
use ipnet::IpNet;

use crate::{OwnedRange, RangeKind, Source};

/// What one cluster uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterNetwork {
    /// Each node's pod ranges, by node name.
    pub node_pod_cidrs: Vec<(String, IpNet)>,
    /// The Service ranges the API server allocates from.
    pub service_cidrs: Vec<IpNet>,
    /// Cluster IPs of Services, by `namespace/name`; read only when the
    /// cluster publishes no ServiceCIDR.
    pub service_ips: Vec<(String, IpAddr)>,
    /// MetalLB address pools, by `namespace/name`.
    pub load_balancer_pools: Vec<(String, IpNet)>,
    /// Values that did not parse, as `what: value`; reported, not fatal.
    pub unreadable: Vec<String>,
}

/// The live ranges of every cluster read, and warnings about values that
/// could not be read.
#[derive(Debug, Clone, Default)]
pub struct LiveRanges {
    /// Every range, sorted by owner and network.
    pub ranges: Vec<OwnedRange>,
    /// Values that could not be read, as warnings at the cluster.
    pub notes: Vec<Diagnostic>,
}

/// Turns what each cluster (index in `spec.clusters`, name) uses into owned ranges.
pub fn live_ranges(fleet: &Fleet, clusters: &[(usize, String, ClusterNetwork)]) -> LiveRanges {
    let mut out = LiveRanges::default();
    for (i, name, live) in clusters {
        for (node, net) in &live.node_pod_cidrs {
            out.ranges.push(
                OwnedRange::new(name, RangeKind::NodePods, *net, Source::Live).with_detail(format!("node {node}")),
            );
        }
        for net in &live.service_cidrs {
            out.ranges.push(OwnedRange::new(name, RangeKind::Services, *net, Source::Live).with_detail("ServiceCIDR"));
        }
        for (svc, ip) in &live.service_ips {
            out.ranges.push(
                OwnedRange::new(name, RangeKind::ServiceIp, IpNet::from(*ip), Source::Live)
                    .with_detail(format!("Service {svc}")),
            );
        }
        for (pool, net) in &live.load_balancer_pools {
            out.ranges.push(
                OwnedRange::new(name, RangeKind::LoadBalancer, *net, Source::Live)
                    .with_detail(format!("IPAddressPool {pool}")),
            );
        }
        for what in &live.unreadable {
            out.notes.push(Diagnostic::warning(
                Code::InvalidValue,
                &fleet.path,
                Some(fleet.span(&format!("spec/clusters/{i}/name"))),
                format!("cluster `{name}` has a range Bulkhead cannot read: {what}"),
            ));
        }
    }
    out.ranges.sort_by(|a, b| (&a.owner, a.net).cmp(&(&b.owner, b.net)));
    out
}

/// A MetalLB address entry: a CIDR, or a `first-last` range, as the CIDRs
/// that cover it exactly.
pub fn pool_ranges(text: &str) -> Option<Vec<IpNet>> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Some(vec![net]);
    }
    let (a, b) = text.split_once('-')?;
    let (a, b): (IpAddr, IpAddr) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) if a <= b => Some(ipnet::Ipv4Subnets::new(a, b, 0).map(IpNet::V4).collect()),
        (IpAddr::V6(a), IpAddr::V6(b)) if a <= b => Some(ipnet::Ipv6Subnets::new(a, b, 0).map(IpNet::V6).collect()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metallb_ranges_become_exact_cidrs() {
        let nets = pool_ranges("192.168.10.0-192.168.10.255").unwrap();
        assert_eq!(nets, vec!["192.168.10.0/24".parse::<IpNet>().unwrap()]);
        let nets = pool_ranges("10.0.0.1 - 10.0.0.4").unwrap();
        let text: Vec<String> = nets.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/32"]);
        assert_eq!(pool_ranges("fd00::/120").unwrap().len(), 1);
        assert!(pool_ranges("10.0.0.9-10.0.0.1").is_none());
        assert!(pool_ranges("nonsense").is_none());
    }
}
