//! The second source of health: each site's cluster, asked through its API
//! whether the app's workloads (its Deployments, StatefulSets and DaemonSets,
//! as its manifests name them) have a pod available.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use bulkhead_kube::readiness::{Readiness, WorkloadRef, readiness};
use bulkhead_model::Fleet;

use crate::zone::Zone;

/// The clients of the clusters the API is asked on, by cluster name.
pub type Clients = HashMap<String, kube::Client>;

/// What the clusters are asked: each service's workloads, on the clusters
/// that have a client.
#[derive(Clone, Default)]
pub struct ApiHealth {
    /// Clients by cluster name.
    pub clients: Clients,
    /// Each service's workloads, in the zone's order.
    pub workloads: Vec<Vec<WorkloadRef>>,
}

impl std::fmt::Debug for ApiHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiHealth")
            .field("clusters", &self.clients.keys().collect::<Vec<_>>())
            .field("workloads", &self.workloads)
            .finish()
    }
}

/// Each service's workloads, in the order of the zone's services.
pub fn service_workloads(zone: &Zone, fleet: &Fleet) -> Vec<Vec<WorkloadRef>> {
    zone.services
        .iter()
        .map(|service| {
            let Some(index) = fleet.file.spec.apps.iter().position(|a| a.name == service.app) else {
                return Vec::new();
            };
            let Some(manifests) = fleet.apps.get(index) else { return Vec::new() };
            let all = manifests.base.iter().chain(manifests.overlays.iter().flatten());
            let unique: BTreeSet<(String, String, String)> = all
                .filter(|m| WorkloadRef::KINDS.contains(&m.kind.as_str()))
                .map(|m| {
                    (m.kind.clone(), m.namespace.clone().unwrap_or_else(|| service.namespace.clone()), m.name.clone())
                })
                .collect();
            unique.into_iter().map(|(kind, namespace, name)| WorkloadRef { kind, namespace, name }).collect()
        })
        .collect()
}

/// Asks one site's cluster; `None` when the cluster is not asked (no
/// client, or the app names no workload).
pub async fn site_readiness(
    clients: &Clients,
    cluster: &str,
    workloads: &[WorkloadRef],
    timeout: Duration,
) -> Option<Readiness> {
    let client = clients.get(cluster)?;
    if workloads.is_empty() {
        return None;
    }
    Some(readiness(client, workloads, timeout).await)
}
