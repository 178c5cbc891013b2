//! Reading every cluster of the fleet at once, for the `--live` flags.

use std::future::Future;
use std::pin::Pin;

use anyhow::Result;
use bulkhead_model::{Code, Diagnostic, Fleet};

/// A cluster that could not be reached for live work.
pub const CLUSTER_UNREACHABLE: Code = Code::new("cluster-unreachable");

/// What one cluster's read returns.
pub type Read<T> = Pin<Box<dyn Future<Output = Result<T, bulkhead_kube::Error>> + Send>>;

/// One cluster's outcome: its index in `spec.clusters`, its name, and what was read.
pub type Outcome<T> = (usize, String, Result<T, bulkhead_kube::Error>);

/// Each cluster with `access` read concurrently by `read`, in fleet order.
pub fn per_cluster<T: Send + 'static>(
    fleet: &Fleet,
    read: fn(bulkhead_kube::Cluster) -> Read<T>,
) -> Result<Vec<Outcome<T>>> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let root = fleet.root.clone();
    let clusters = fleet.file.spec.clusters.clone();
    Ok(runtime.block_on(async move {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, c) in clusters.into_iter().enumerate().filter(|(_, c)| c.access.is_some()) {
            let root = root.clone();
            tasks.spawn(async move {
                let result = match bulkhead_kube::connect(&root, &c).await {
                    Ok(cluster) => read(cluster).await,
                    Err(e) => Err(e),
                };
                (i, c.name.clone(), result)
            });
        }
        let mut results = Vec::new();
        while let Some(done) = tasks.join_next().await {
            results.push(done.expect("a live read task does not panic"));
        }
        results.sort_by_key(|(i, _, _)| *i);
        results
    }))
}

/// The diagnostic for a cluster that could not be read, at its `access`.
pub fn unreachable(fleet: &Fleet, index: usize, error: &bulkhead_kube::Error) -> Diagnostic {
    Diagnostic::error(
        CLUSTER_UNREACHABLE,
        &fleet.path,
        Some(fleet.span(&format!("spec/clusters/{index}/access"))),
        error.to_string(),
    )
    .with_hint("check the kubeconfig and context, and that the API server answers")
}
