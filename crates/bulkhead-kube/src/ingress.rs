//! Where an app's traffic enters a cluster, as the cluster reports it: the
//! addresses in the status of its LoadBalancer Services, Ingresses and
//! Gateways (`bulkhead traffic serve --live`).

use std::collections::BTreeSet;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams};

use crate::{Cluster, Error};

/// What was found in one namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngressAddresses {
    /// IP addresses, each once, sorted.
    pub ips: Vec<IpAddr>,
    /// Host names a load balancer reports instead of an IP (as cloud load
    /// balancers do): an A record cannot hold them.
    pub hostnames: Vec<String>,
}

/// Reads the addresses of every LoadBalancer Service, Ingress and Gateway in
/// `namespace`. Gateways are read only where the Gateway API is installed.
pub async fn ingress_addresses(cluster: &Cluster, namespace: &str) -> Result<IngressAddresses, Error> {
    let client = &cluster.client;
    let mut ips = BTreeSet::new();
    let mut hostnames = BTreeSet::new();
    let mut note = |ip: Option<&String>, hostname: Option<&String>| {
        if let Some(ip) = ip.and_then(|ip| ip.parse::<IpAddr>().ok()) {
            ips.insert(ip);
        } else if let Some(h) = hostname {
            hostnames.insert(h.clone());
        }
    };
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    let listed = cluster.call(&format!("list Services in {namespace}"), services.list(&ListParams::default())).await?;
    for s in listed.items {
        if s.spec.as_ref().and_then(|sp| sp.type_.as_deref()) != Some("LoadBalancer") {
            continue;
        }
        for i in s.status.and_then(|st| st.load_balancer).and_then(|lb| lb.ingress).unwrap_or_default() {
            note(i.ip.as_ref(), i.hostname.as_ref());
        }
    }
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), namespace);
    let listed =
        cluster.call(&format!("list Ingresses in {namespace}"), ingresses.list(&ListParams::default())).await?;
    for ing in listed.items {
        for i in ing.status.and_then(|st| st.load_balancer).and_then(|lb| lb.ingress).unwrap_or_default() {
            note(i.ip.as_ref(), i.hostname.as_ref());
        }
    }
    let gvk = GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "Gateway");
    let gateways: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &ApiResource::from_gvk_with_plural(&gvk, "gateways"));
    match cluster.call(&format!("list Gateways in {namespace}"), gateways.list(&ListParams::default())).await {
        Ok(listed) => {
            for g in listed.items {
                let addresses = g.data["status"]["addresses"].as_array().cloned().unwrap_or_default();
                for a in addresses {
                    let value = a["value"].as_str().map(String::from);
                    match a["type"].as_str().unwrap_or("IPAddress") {
                        "IPAddress" => note(value.as_ref(), None),
                        "Hostname" => note(None, value.as_ref()),
                        _ => {}
                    }
                }
            }
        }
        // No Gateway API in this cluster.
        Err(Error::Api { source: kube::Error::Api(s), .. }) if s.code == 404 => {}
        Err(e) => return Err(e),
    }
    Ok(IngressAddresses { ips: ips.into_iter().collect(), hostnames: hostnames.into_iter().collect() })
}
