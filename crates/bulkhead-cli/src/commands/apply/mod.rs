//! `bulkhead render`, `plan`, `apply` and `drift`: the fleet's code applied
//! to its clusters. The desired state is rendered once here and handed to
//! `bulkhead-apply`, which plans, applies and compares.

pub mod drift;
pub mod plan;
pub mod render;
pub mod run;

use std::path::Path;
use std::sync::Arc;

use bulkhead_apply::desired::{DesiredCluster, render};
use bulkhead_apply::plan::{ClusterPlan, PlanOptions, plan_all};
use bulkhead_kube::Cluster;
use bulkhead_model::{Fleet, LoadOptions};

use crate::args::TargetArgs;
use crate::error::Failure;

/// The fleet, loaded with its manifests, and every cluster's desired state.
pub(crate) fn load_and_render(path: &Path) -> Result<(Fleet, Vec<DesiredCluster>), Failure> {
    let loaded = bulkhead_model::load(path, LoadOptions { manifests: true })?;
    if loaded.has_errors() {
        return Err(Failure::Input(format!(
            "{} has errors; `bulkhead validate {}` lists them",
            path.display(),
            path.display()
        )));
    }
    let fleet = loaded.fleet.ok_or_else(|| Failure::Input(format!("{} holds no fleet", path.display())))?;
    let (desired, problems) = render(&fleet);
    if let Some(first) = problems.first() {
        let more = if problems.len() > 1 { format!(" (and {} more)", problems.len() - 1) } else { String::new() };
        return Err(Failure::Input(format!("{}: {}{more}", first.file.display(), first.message)));
    }
    Ok((fleet, desired))
}

/// The clusters chosen by `--cluster` (every cluster with `access` when
/// none is named), checked against the fleet.
pub(crate) fn chosen<'a>(fleet: &'a Fleet, targets: &TargetArgs) -> Result<Vec<&'a str>, Failure> {
    let clusters = &fleet.file.spec.clusters;
    if targets.clusters.is_empty() {
        return Ok(clusters.iter().filter(|c| c.access.is_some()).map(|c| c.name.as_str()).collect());
    }
    targets
        .clusters
        .iter()
        .map(|name| match clusters.iter().find(|c| &c.name == name) {
            Some(c) if c.access.is_some() => Ok(c.name.as_str()),
            Some(_) => {
                Err(Failure::Usage(format!("cluster `{name}` has no `access` in the fleet; it cannot be reached")))
            }
            None => {
                let known: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
                Err(Failure::Usage(format!("the fleet has no cluster `{name}`; it has: {}", known.join(", "))))
            }
        })
        .collect()
}

/// A cluster planned, or why it could not be.
pub(crate) struct Planned {
    /// The cluster's name.
    pub name: String,
    /// The connection, when it was made.
    pub cluster: Option<Cluster>,
    /// What it should have.
    pub desired: Arc<DesiredCluster>,
    /// The plan, or why there is none.
    pub plan: Result<ClusterPlan, String>,
}

/// Connects to the chosen clusters and plans them all at once.
pub(crate) async fn plan_chosen(
    fleet: &Fleet,
    desired: Vec<DesiredCluster>,
    chosen: &[&str],
    options: PlanOptions,
) -> Vec<Planned> {
    let mut out: Vec<Planned> = Vec::new();
    let mut reachable = Vec::new();
    for d in desired.into_iter().filter(|d| chosen.contains(&d.cluster.as_str())) {
        let desired = Arc::new(d);
        match bulkhead_jobs::clusters::connect(fleet, &desired.cluster).await {
            Ok(cluster) => reachable.push((cluster, desired)),
            Err(e) => {
                out.push(Planned { name: desired.cluster.clone(), cluster: None, desired, plan: Err(e.to_string()) })
            }
        }
    }
    let clusters: Vec<(Cluster, Arc<DesiredCluster>)> = reachable.clone();
    for ((cluster, desired), (name, result)) in reachable.into_iter().zip(plan_all(clusters, options).await) {
        out.push(Planned { name, cluster: Some(cluster), desired, plan: result.map_err(|e| e.to_string()) });
    }
    let order = |n: &str| chosen.iter().position(|c| *c == n);
    out.sort_by_key(|p| order(&p.name));
    out
}
