//! The address ranges a running cluster really uses: each node's pod range,
//! the Service range (from ServiceCIDR objects, else every Service's cluster
//! IPs), and MetalLB's address pools when MetalLB is installed.

use std::net::IpAddr;

use ipnet::IpNet;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::networking::v1::ServiceCIDR;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, ListParams};

use crate::{Cluster, Error};

/// What one cluster uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveNetwork {
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

/// Reads a cluster's ranges.
///
/// # Errors
/// When the cluster does not answer or refuses to list nodes or Services.
pub async fn read(cluster: &Cluster) -> Result<LiveNetwork, Error> {
    let mut live = LiveNetwork::default();
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    for node in cluster.call("list nodes", nodes.list(&ListParams::default())).await? {
        let name = node.metadata.name.unwrap_or_default();
        let spec = node.spec.unwrap_or_default();
        let cidrs = spec.pod_cidrs.unwrap_or_else(|| spec.pod_cidr.into_iter().collect());
        for text in cidrs {
            match text.parse::<IpNet>() {
                Ok(net) => live.node_pod_cidrs.push((name.clone(), net)),
                Err(_) => live.unreadable.push(format!("node {name} podCIDR: {text}")),
            }
        }
    }

    let service_cidrs: Api<ServiceCIDR> = Api::all(cluster.client.clone());
    match cluster.call("list ServiceCIDRs", service_cidrs.list(&ListParams::default())).await {
        Ok(list) => {
            for sc in list {
                for text in sc.spec.and_then(|s| s.cidrs).unwrap_or_default() {
                    match text.parse::<IpNet>() {
                        Ok(net) => live.service_cidrs.push(net),
                        Err(_) => live.unreadable.push(format!("ServiceCIDR: {text}")),
                    }
                }
            }
        }
        Err(Error::Api { source: kube::Error::Api(e), .. }) if e.code == 404 => {}
        Err(e) => return Err(e),
    }
    if live.service_cidrs.is_empty() {
        let services: Api<Service> = Api::all(cluster.client.clone());
        for svc in cluster.call("list Services", services.list(&ListParams::default())).await? {
            let id =
                format!("{}/{}", svc.metadata.namespace.unwrap_or_default(), svc.metadata.name.unwrap_or_default());
            for ip in svc.spec.and_then(|s| s.cluster_ips).unwrap_or_default() {
                if let Ok(addr) = ip.parse::<IpAddr>() {
                    live.service_ips.push((id.clone(), addr));
                }
            }
        }
    }

    let pools: Api<DynamicObject> = Api::all_with(cluster.client.clone(), &metallb_pool());
    match cluster.call("list MetalLB IPAddressPools", pools.list(&ListParams::default())).await {
        Ok(list) => {
            for pool in list {
                let id = format!(
                    "{}/{}",
                    pool.metadata.namespace.unwrap_or_default(),
                    pool.metadata.name.unwrap_or_default()
                );
                let addresses =
                    pool.data.pointer("/spec/addresses").and_then(|a| a.as_array()).cloned().unwrap_or_default();
                for a in addresses.iter().filter_map(|a| a.as_str()) {
                    match pool_ranges(a) {
                        Some(nets) => live.load_balancer_pools.extend(nets.into_iter().map(|n| (id.clone(), n))),
                        None => live.unreadable.push(format!("IPAddressPool {id}: {a}")),
                    }
                }
            }
        }
        // MetalLB is not installed: nothing to read.
        Err(Error::Api { source: kube::Error::Api(e), .. }) if e.code == 404 => {}
        Err(e) => return Err(e),
    }
    Ok(live)
}

fn metallb_pool() -> ApiResource {
    ApiResource {
        group: "metallb.io".into(),
        version: "v1beta1".into(),
        api_version: "metallb.io/v1beta1".into(),
        kind: "IPAddressPool".into(),
        plural: "ipaddresspools".into(),
    }
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
