//! The address ranges a running cluster really uses: each node's pod range,
//! the Service range (from ServiceCIDR objects, else every Service's cluster
//! IPs), and MetalLB's address pools when MetalLB is installed.

use std::net::IpAddr;

use ipnet::IpNet;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::networking::v1::ServiceCIDR;
use kube::Api;
use kube::api::{ApiResource, DynamicObject};

use bulkhead_net::{ClusterNetwork, pool_ranges};

use crate::list::list_all;
use crate::{Cluster, Error};

/// Reads a cluster's ranges.
///
/// # Errors
/// When the cluster does not answer or refuses to list nodes or Services.
pub async fn read(cluster: &Cluster) -> Result<ClusterNetwork, Error> {
    let mut live = ClusterNetwork::default();
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    for node in list_all(cluster, &nodes, "list nodes").await? {
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
    match list_all(cluster, &service_cidrs, "list ServiceCIDRs").await {
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
        for svc in list_all(cluster, &services, "list Services").await? {
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
    match list_all(cluster, &pools, "list MetalLB IPAddressPools").await {
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
