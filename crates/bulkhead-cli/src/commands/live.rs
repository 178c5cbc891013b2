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

/// Every reachable cluster's workloads, pods and nodes.
pub struct LiveClusters {
    /// (index in spec.clusters, name, what was read), in fleet order.
    pub clusters: Vec<(usize, String, bulkhead_kube::workloads::LiveObjects)>,
    /// Clusters that could not be read, as errors at their `access`.
    pub unreachable: Vec<Diagnostic>,
}

/// Reads every cluster's workloads at once.
pub fn read_workloads(fleet: &Fleet) -> Result<LiveClusters> {
    let results = per_cluster(fleet, |c| Box::pin(async move { bulkhead_kube::workloads::read(&c).await }))?;
    let mut live = LiveClusters { clusters: Vec::new(), unreachable: Vec::new() };
    for (i, name, result) in results {
        match result {
            Ok(objects) => live.clusters.push((i, name, objects)),
            Err(e) => live.unreachable.push(unreachable(fleet, i, &e)),
        }
    }
    Ok(live)
}

/// A live cluster's nodes, for the scheduling questions.
pub fn nodes_of(
    fleet: &Fleet,
    index: usize,
    live: &bulkhead_kube::workloads::LiveObjects,
) -> bulkhead_workload::ClusterNodes {
    let nodes = live.nodes.iter().map(|n| {
        let taints = n
            .taints
            .iter()
            .map(|(k, v, e)| bulkhead_workload::Taint { key: k.clone(), value: v.clone(), effect: e.clone() })
            .collect();
        (n.name.clone(), n.labels.clone(), taints)
    });
    bulkhead_workload::ClusterNodes::from_live(&fleet.file.spec.clusters[index], nodes)
}

/// The namespaces an app's objects live in: its own, and those its manifests name.
fn namespaces(fleet: &Fleet, app: usize) -> std::collections::BTreeSet<String> {
    let spec = &fleet.file.spec.apps[app];
    let mut out: std::collections::BTreeSet<String> = spec.namespace.iter().cloned().collect();
    if let Some(m) = fleet.apps.get(app) {
        out.extend(m.base.iter().filter_map(|o| o.namespace.clone()));
    }
    out
}

/// Each app placed on a reachable cluster, with the objects in its
/// namespaces there: (app index, app objects).
pub fn live_apps<'a>(fleet: &'a Fleet, live: &'a LiveClusters) -> Vec<(usize, bulkhead_workload::AppObjects<'a>)> {
    let spec = &fleet.file.spec;
    let mut apps = Vec::new();
    for (i, name, read) in &live.clusters {
        let cluster = &spec.clusters[*i];
        for (ai, app) in spec.apps.iter().enumerate() {
            if !app.placement.clusters.matches(cluster) {
                continue;
            }
            let ns = namespaces(fleet, ai);
            let mine: Vec<bulkhead_workload::Object<'_>> = read
                .objects
                .iter()
                .filter(|o| o.pointer("/metadata/namespace").and_then(|n| n.as_str()).is_some_and(|n| ns.contains(n)))
                .map(|o| {
                    bulkhead_workload::Object::new(
                        bulkhead_workload::Source::Json(o),
                        None,
                        bulkhead_workload::Origin::Live { cluster: name.clone() },
                    )
                })
                .collect();
            apps.push((ai, bulkhead_workload::AppObjects::live(app, cluster, mine)));
        }
    }
    apps
}
