//! The blast radius of every failure domain: for each node (group), rack,
//! zone, region, provider and cluster — and with depth 2 every pair — which
//! apps lose availability, quorum or data, whether each control plane keeps
//! quorum, and how each app recovers and how fast.
//!
//! Start with [`analyze`]: it takes the domains and every workload's
//! [`Exposure`] (built statically by [`static_inputs`], or from live pods),
//! and returns a [`Blast`] that the printers in this crate turn into a
//! matrix, a ranked list of single points of failure and diagnostics;
//! `bulkhead-report` prints it, as a self-contained HTML report too.

mod analysis;
mod domains;
mod exposure;
mod fate;
mod inputs;
mod report;

pub use analysis::{
    AppInfo, Backup, Cell, ControlPlaneLoss, DNS_FAILOVER_SECONDS, EtcdBackups, EtcdRecovery, Impact, Measured,
    MeasuredRestore, MeasuredRestores, Outcome, Recovery, app_infos, human,
};
pub use domains::{Domain, Site, fleet_domains};
pub use exposure::{
    Controller, DEFAULT_TOLERATION_SECONDS, Exposure, Halt, LARGE_CLUSTER_SIZE_THRESHOLD, NODE_EVICTION_RATE,
    SECONDARY_NODE_EVICTION_RATE, UNHEALTHY_ZONE_THRESHOLD, ZoneEviction, live_exposure, static_exposure,
    zone_eviction,
};
pub use fate::Fate;
pub use inputs::{Policy, PolicyError, analyze_live, analyze_static, live_inputs, static_inputs};
pub use report::{CODES, Spof, diagnostics, spofs};

use std::collections::{BTreeMap, HashMap};

use bulkhead_model::Topology;
use bulkhead_model::spec::{DomainLevel, FleetSpec};
use serde::Serialize;

/// The whole analysis.
#[derive(Debug, Clone, Serialize)]
pub struct Blast {
    /// Every failure domain considered.
    pub domains: Vec<Domain>,
    /// Every app.
    pub apps: Vec<AppInfo>,
    /// What each failure does to each app, where it does anything.
    pub cells: Vec<Cell>,
    /// Control planes that lose quorum.
    pub control_planes: Vec<ControlPlaneLoss>,
    /// Whether pairs of failures were analysed too.
    pub depth: u8,
    /// Whether the exposures came from running pods.
    pub live: bool,
    /// Every workload on every cluster, and what failures cost it.
    #[serde(skip)]
    pub exposures: Vec<Exposure>,
}

/// Runs the analysis: every single domain, and with `depth` 2 every pair
/// of domains above the node level (pairs of nodes would be millions).
// The analysis's inputs, each a different thing the callers build; a struct of them would only be rebuilt at every call.
#[allow(clippy::too_many_arguments)]
pub fn analyze(
    spec: &FleetSpec,
    topology: &Topology,
    domains: Vec<Domain>,
    apps: Vec<AppInfo>,
    exposures: Vec<Exposure>,
    depth: u8,
    live: bool,
    etcd: &EtcdBackups,
) -> Blast {
    let (cells, control_planes) = run(spec, topology, &domains, &apps, &exposures, depth, etcd);
    Blast { domains, apps, cells, control_planes, depth, live, exposures }
}

fn run(
    spec: &FleetSpec,
    topology: &Topology,
    domains: &[Domain],
    apps: &[AppInfo],
    exposures: &[Exposure],
    depth: u8,
    etcd: &EtcdBackups,
) -> (Vec<Cell>, Vec<ControlPlaneLoss>) {
    // Indexes, so a failure costs what its regions hold rather than what the
    // fleet holds: an app on every one of 10,000 clusters, judged against
    // every domain, was otherwise 10,000 × 50,000 steps.
    let mut by_region: HashMap<(&str, &str), Vec<&Exposure>> = HashMap::new();
    let mut regions_of_provider: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
    let mut clusters_by_region: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    let mut totals: HashMap<usize, analysis::AppTotals> = HashMap::new();
    let mut app_clusters: HashMap<usize, std::collections::HashSet<&str>> = HashMap::new();
    for e in exposures {
        let key = (e.location.0.as_str(), e.location.1.as_str());
        let list = by_region.entry(key).or_default();
        if list.is_empty() {
            regions_of_provider.entry(key.0).or_default().push(key);
        }
        list.push(e);
        totals.entry(e.app).or_default().replicas += e.replicas;
        app_clusters.entry(e.app).or_default().insert(e.cluster.as_str());
    }
    for (app, clusters) in app_clusters {
        totals.entry(app).or_default().clusters = clusters.len();
    }
    for (i, c) in spec.clusters.iter().enumerate() {
        if let Some(key) = c.provider_and_region() {
            clusters_by_region.entry(key).or_default().push(i);
        }
    }
    let inputs = analysis::Inputs { domains, apps, spec, topology, totals: &totals, etcd };
    let regions_hit = |failed: &[usize]| -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = Vec::new();
        for &i in failed {
            let d = &domains[i];
            match d.path.as_slice() {
                [p] => out.extend(regions_of_provider.get(p.as_str()).into_iter().flatten().copied()),
                [p, r, ..] => out.push((p.as_str(), r.as_str())),
                [] => {}
            }
            if d.level == DomainLevel::Provider {
                // Clusters of the provider with no workloads still have control planes.
                out.extend(clusters_by_region.keys().filter(|(p, _)| *p == d.path[0]).copied());
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    };
    let touched = |failed: &[usize]| -> analysis::Touched<'_> {
        let regions = regions_hit(failed);
        let mut by_app: BTreeMap<usize, Vec<&Exposure>> = BTreeMap::new();
        for key in &regions {
            for e in by_region.get(key).into_iter().flatten() {
                by_app.entry(e.app).or_default().push(e);
            }
        }
        let mut clusters: Vec<usize> =
            regions.iter().flat_map(|k| clusters_by_region.get(k).into_iter().flatten().copied()).collect();
        clusters.sort_unstable(); // fleet order, as reports list control planes
        analysis::Touched { by_app, clusters }
    };
    let mut cells = Vec::new();
    let mut control_planes = Vec::new();
    for i in 0..domains.len() {
        let (c, cp) = analysis::fail(&inputs, &[i], &touched(&[i]));
        cells.extend(c);
        control_planes.extend(cp);
    }
    if depth >= 2 {
        let wide: Vec<usize> = (0..domains.len()).filter(|&i| domains[i].level != DomainLevel::Node).collect();
        for (a, &i) in wide.iter().enumerate() {
            for &j in &wide[a + 1..] {
                if domains[i].contains(&domains[j]) || domains[j].contains(&domains[i]) {
                    continue; // the wider one alone says it all
                }
                let (c, cp) = analysis::fail(&inputs, &[i, j], &touched(&[i, j]));
                cells.extend(c);
                control_planes.extend(cp);
            }
        }
    }
    (cells, control_planes)
}

/// A game day on paper: what one failure does, app by app and workload by
/// workload.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Simulation<'b> {
    /// The failed domain.
    pub failure: &'b Domain,
    /// Whether the pods are those running now.
    #[serde(skip)]
    pub live: bool,
    /// What each app that loses anything loses.
    pub apps: Vec<AppLoss>,
    /// Control planes that lose quorum.
    pub control_planes: Vec<&'b ControlPlaneLoss>,
    /// Every workload that loses a replica.
    pub workloads: Vec<WorkloadLoss>,
}

/// One app's loss under a simulated failure.
#[derive(Debug, Clone, Serialize)]
pub struct AppLoss {
    /// The app.
    pub app: String,
    /// What happens to it.
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Simulation<'_> {
    /// Whether an app goes down (outage, quorum or data).
    pub fn takes_an_app_down(&self) -> bool {
        self.apps.iter().any(|a| a.outcome.impact.is_down())
    }
}

/// What `--simulate` names that is not one domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FindError {
    /// No domain of the level has the name.
    #[error("no {level} named `{name}`; the fleet has: {}", known.join(", "))]
    Unknown {
        /// The level asked for.
        level: DomainLevel,
        /// The name asked for.
        name: String,
        /// The level's domains.
        known: Vec<String>,
    },
    /// Several do (two zones `a` in two regions): guessing would simulate the wrong one.
    #[error("{} {level}s are named `{name}`: {}; write the full path, such as `{level}={}`", candidates.len(), candidates.join(", "), candidates[0])]
    Ambiguous {
        /// The level asked for.
        level: DomainLevel,
        /// The name asked for.
        name: String,
        /// The full paths of every match.
        candidates: Vec<String>,
    },
}

impl Blast {
    /// The one domain of `level` that `name` names: its full path, its own
    /// label, or (for nodes) the node's name.
    ///
    /// # Errors
    /// When no domain or several match.
    pub fn find(&self, level: DomainLevel, name: &str) -> Result<usize, FindError> {
        let found: Vec<usize> = (0..self.domains.len())
            .filter(|&i| {
                let d = &self.domains[i];
                d.level == level
                    && (d.name == name || d.path.last().is_some_and(|l| l == name) || d.node.as_deref() == Some(name))
            })
            .collect();
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(FindError::Unknown {
                level,
                name: name.to_string(),
                known: self.domains.iter().filter(|d| d.level == level).map(|d| d.name.clone()).collect(),
            }),
            many => Err(FindError::Ambiguous {
                level,
                name: name.to_string(),
                candidates: many.iter().map(|&i| self.domains[i].name.clone()).collect(),
            }),
        }
    }

    /// What the failure of domain `index` alone does.
    pub fn simulate(&self, index: usize) -> Simulation<'_> {
        let apps = self
            .singles()
            .filter(|c| c.failed[0] == index)
            .map(|c| AppLoss { app: self.apps[c.app].name.clone(), outcome: c.outcome.clone() })
            .collect();
        Simulation {
            failure: &self.domains[index],
            live: self.live,
            apps,
            control_planes: self.control_planes.iter().filter(|c| c.failed == [index]).collect(),
            workloads: self.workload_losses(index),
        }
    }
}

/// One workload's loss under a failure.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadLoss {
    /// `Kind/namespace/name`.
    pub workload: String,
    /// The cluster.
    pub cluster: String,
    /// Replicas it runs.
    pub replicas: u32,
    /// Replicas that keep running while the failure lasts.
    pub available: u32,
    /// The fewest replicas its budget keeps (1 without a budget).
    pub budget: u32,
    /// Whether every lost replica is replaced in the cluster.
    pub rescheduled: bool,
    /// When the replaced ones run again, in seconds: the latest it may take.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u64>,
    /// The earliest it may take (the eviction pacing decides between).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earliest_seconds: Option<u64>,
    /// What becomes of the lost replicas, and what decided it.
    #[serde(flatten)]
    pub fate: Fate,
}

impl Blast {
    /// What one failed domain costs each workload that loses anything.
    pub fn workload_losses(&self, domain: usize) -> Vec<WorkloadLoss> {
        let failed = [&self.domains[domain]];
        self.exposures
            .iter()
            .filter_map(|e| {
                let fate = e.fate(&failed);
                (fate.lost > 0).then(|| WorkloadLoss {
                    workload: e.workload.clone(),
                    cluster: e.cluster.clone(),
                    replicas: e.replicas,
                    available: e.replicas - fate.lost,
                    budget: e.needed,
                    rescheduled: fate.recovers(),
                    seconds: fate.window.map(|(_, latest)| latest),
                    earliest_seconds: fate.window.map(|(earliest, _)| earliest),
                    fate,
                })
            })
            .collect()
    }

    /// The single-failure cells.
    pub fn singles(&self) -> impl Iterator<Item = &Cell> {
        self.cells.iter().filter(|c| c.failed.len() == 1)
    }

    /// The name of a failure: one domain, or `a + b`.
    pub fn failure_name(&self, failed: &[usize]) -> String {
        failed.iter().map(|&i| self.domains[i].name.as_str()).collect::<Vec<_>>().join(" + ")
    }
}
