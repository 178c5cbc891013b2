//! Reading every cluster of a fleet at once: connections and reads run
//! concurrently, each cluster's failure is its own diagnostic, and the
//! others are still read.

use std::future::Future;

use bulkhead_model::{Code, Diagnostic, Fleet};
use bulkhead_workload::{LiveCluster, LiveFleet};

use crate::{Cluster, Error, connect};

/// A cluster that could not be reached for live work.
pub const CLUSTER_UNREACHABLE: Code = Code::new("cluster-unreachable");

/// One cluster's outcome: its index in `spec.clusters`, its name, and what was read.
pub type Outcome<T> = (usize, String, Result<T, Error>);

/// Connects to each cluster that has `access` and runs `read` on it, all at
/// once; results in fleet order.
pub async fn per_cluster<T, F, Fut>(fleet: &Fleet, read: F) -> Vec<Outcome<T>>
where
    T: Send + 'static,
    F: Fn(Cluster) -> Fut,
    Fut: Future<Output = Result<T, Error>> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    for (i, spec) in fleet.file.spec.clusters.iter().enumerate().filter(|(_, c)| c.access.is_some()) {
        let name = spec.name.clone();
        match connect(&fleet.root, spec).await {
            Ok(cluster) => {
                let reading = read(cluster);
                tasks.spawn(async move { (i, name, reading.await) });
            }
            Err(e) => {
                tasks.spawn(async move { (i, name, Err(e)) });
            }
        }
    }
    let mut results = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(outcome) => results.push(outcome),
            // A read that panicked is a bug; let it surface as one.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    results.sort_by_key(|(i, _, _)| *i);
    results
}

/// The diagnostic for a cluster that could not be read, at its `access`.
pub fn unreachable(fleet: &Fleet, index: usize, error: &Error) -> Diagnostic {
    Diagnostic::error(
        CLUSTER_UNREACHABLE,
        &fleet.path,
        Some(fleet.span(&format!("spec/clusters/{index}/access"))),
        error.to_string(),
    )
    .with_hint("check the kubeconfig and context, and that the API server answers")
}

/// Every reachable cluster's workloads, pods and nodes.
pub async fn read_workloads(fleet: &Fleet) -> LiveFleet {
    let results = per_cluster(fleet, |c| async move { crate::workloads::read(&c).await }).await;
    let mut live = LiveFleet::default();
    for (index, name, result) in results {
        match result {
            Ok(state) => live.clusters.push(LiveCluster { index, name, state }),
            Err(e) => live.unreachable.push(unreachable(fleet, index, &e)),
        }
    }
    live
}

/// Every reachable cluster's ranges in use, and the clusters that could not be read.
pub async fn read_networks(fleet: &Fleet) -> (Vec<(usize, String, bulkhead_net::ClusterNetwork)>, Vec<Diagnostic>) {
    let results = per_cluster(fleet, |c| async move { crate::network::read(&c).await }).await;
    let (mut read, mut failed) = (Vec::new(), Vec::new());
    for (index, name, result) in results {
        match result {
            Ok(network) => read.push((index, name, network)),
            Err(e) => failed.push(unreachable(fleet, index, &e)),
        }
    }
    (read, failed)
}
