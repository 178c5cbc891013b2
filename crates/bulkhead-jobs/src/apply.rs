//! Configuration as code as jobs: each cluster's desired state rendered
//! from the fleet, the chosen clusters connected and planned at once (or a
//! saved plan's clusters reconnected), what forbids applying a plan (an
//! unreachable cluster, refused objects, a mass deletion), and drift.

use std::sync::Arc;

use bulkhead_apply::desired::{DesiredCluster, render};
use bulkhead_apply::drift::{ClusterDrift, of_plan};
use bulkhead_apply::plan::{ClusterPlan, PlanOptions, plan_all};
use bulkhead_apply::plan_file::PlanFile;
use bulkhead_kube::Cluster;
use bulkhead_model::Fleet;

use crate::{Error, clusters};

/// Every cluster's desired state.
///
/// # Errors
/// When two sources give a cluster the same object (the first problem, with
/// how many more there are).
pub fn render_fleet(fleet: &Fleet) -> Result<Vec<DesiredCluster>, Error> {
    let (desired, problems) = render(fleet);
    if let Some(first) = problems.first() {
        let more = if problems.len() > 1 { format!(" (and {} more)", problems.len() - 1) } else { String::new() };
        return Err(Error::Input(format!("{}: {}{more}", first.file.display(), first.message)));
    }
    Ok(desired)
}

/// The clusters `names` picks (every cluster with `access` when empty).
///
/// # Errors
/// A name the fleet does not have, or a cluster it gives no access.
pub fn chosen<'a>(fleet: &'a Fleet, names: &[String]) -> Result<Vec<&'a str>, Error> {
    let clusters = &fleet.file.spec.clusters;
    if names.is_empty() {
        return Ok(clusters.iter().filter(|c| c.access.is_some()).map(|c| c.name.as_str()).collect());
    }
    names
        .iter()
        .map(|name| match clusters.iter().find(|c| &c.name == name) {
            Some(c) if c.access.is_some() => Ok(c.name.as_str()),
            Some(_) => {
                Err(Error::Usage(format!("cluster `{name}` has no `access` in the fleet; it cannot be reached")))
            }
            None => Err(Error::unknown("cluster", name, clusters.iter().map(|c| c.name.as_str()))),
        })
        .collect()
}

/// A cluster planned, or why it could not be.
pub struct Planned {
    /// The cluster's name.
    pub name: String,
    /// The connection, when it was made.
    pub cluster: Option<Cluster>,
    /// What it should have.
    pub desired: Arc<DesiredCluster>,
    /// The plan, or why there is none.
    pub plan: Result<ClusterPlan, String>,
}

/// Connects to the chosen clusters and plans them all at once, in the order chosen.
pub async fn plan_chosen(
    fleet: &Fleet,
    desired: Vec<DesiredCluster>,
    chosen: &[&str],
    options: PlanOptions,
) -> Vec<Planned> {
    let mut out: Vec<Planned> = Vec::new();
    let mut reachable = Vec::new();
    for d in desired.into_iter().filter(|d| chosen.contains(&d.cluster.as_str())) {
        let desired = Arc::new(d);
        match clusters::connect(fleet, &desired.cluster).await {
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

/// A saved plan's clusters (those of `only`, when given), connected through
/// the fleet's access.
pub async fn from_file(fleet: &Fleet, file: &PlanFile, only: &[String]) -> Vec<Planned> {
    let mut out = Vec::new();
    for c in file.clusters.iter().filter(|c| only.is_empty() || only.contains(&c.plan.cluster)) {
        let name = &c.plan.cluster;
        let desired = Arc::new(c.desired.clone());
        match clusters::connect(fleet, name).await {
            Ok(cluster) => {
                out.push(Planned { name: name.clone(), cluster: Some(cluster), desired, plan: Ok(c.plan.clone()) });
            }
            Err(e) => out.push(Planned { name: name.clone(), cluster: None, desired, plan: Err(e.to_string()) }),
        }
    }
    out
}

/// Why a plan may not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A cluster could not be planned.
    Unreachable(String),
    /// A cluster's API server refuses objects of the plan.
    Refused(String),
    /// The plan deletes more than the guardrail allows.
    MassDelete(String),
}

impl Refusal {
    /// In words.
    pub fn message(&self) -> &str {
        match self {
            Self::Unreachable(m) | Self::Refused(m) | Self::MassDelete(m) => m,
        }
    }
}

/// Why nothing of `planned` may be applied, if anything forbids it. The
/// guardrail: no cluster may lose more than `max_delete` percent of its
/// managed objects unless `allow_mass_delete`.
pub fn refusal(planned: &[Planned], max_delete: u8, allow_mass_delete: bool) -> Option<Refusal> {
    if let Some(p) = planned.iter().find(|p| p.plan.is_err()) {
        let why = p.plan.as_ref().err().cloned().unwrap_or_default();
        return Some(Refusal::Unreachable(format!(
            "cluster `{}` cannot be planned ({why}); nothing applied (leave it out with --cluster)",
            p.name
        )));
    }
    let plans = planned.iter().filter_map(|p| p.plan.as_ref().ok());
    if let Some(p) = plans.clone().find(|p| !p.refused.is_empty()) {
        return Some(Refusal::Refused(format!(
            "cluster `{}` refuses {} object(s); nothing applied: fix them first (the plan above says why)",
            p.cluster,
            p.refused.len()
        )));
    }
    if !allow_mass_delete {
        let share = f64::from(max_delete) / 100.0;
        let mass: Vec<String> = plans.filter_map(|p| p.mass_delete(share)).collect();
        if !mass.is_empty() {
            return Some(Refusal::MassDelete(format!(
                "refused: the plan {}; nothing applied. If that is meant, pass --allow-mass-delete",
                mass.join("; and ")
            )));
        }
    }
    None
}

/// Each planned cluster's drift, or (name, why) when it could not be planned.
pub fn drift(planned: &[Planned]) -> Vec<Result<ClusterDrift, (String, String)>> {
    planned.iter().map(|p| p.plan.as_ref().map(of_plan).map_err(|e| (p.name.clone(), e.clone()))).collect()
}
