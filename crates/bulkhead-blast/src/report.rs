//! Single points of failure, ranked, and findings as diagnostics.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bulkhead_model::{About, Code, Diagnostic, Fleet, Severity};
use serde::Serialize;

use crate::Blast;
use crate::analysis::{Impact, human};
use crate::inputs::Policy;

/// A failure that takes an app down.
pub const BLAST_OUTAGE: Code = Code::new("blast-outage");
/// A failure that breaks a quorum.
pub const BLAST_QUORUM_LOST: Code = Code::new("blast-quorum-lost");
/// A failure that loses data for good.
pub const BLAST_DATA_LOSS: Code = Code::new("blast-data-loss");
/// A failure that leaves an app below its budget or without failover.
pub const BLAST_DEGRADED: Code = Code::new("blast-degraded");
/// A failure that breaks a control plane's etcd quorum.
pub const BLAST_CONTROL_PLANE: Code = Code::new("blast-control-plane");
/// A failure the app recovers from, but slower than its RTO.
pub const BLAST_RTO_EXCEEDED: Code = Code::new("blast-rto-exceeded");

/// Load-balancer announcers spread unevenly over racks.
pub const BLAST_UNEVEN_ANNOUNCERS: Code = Code::new("blast-uneven-announcers");

/// Every code the blast radius reports.
pub const CODES: &[Code] = &[
    BLAST_OUTAGE,
    BLAST_QUORUM_LOST,
    BLAST_DATA_LOSS,
    BLAST_DEGRADED,
    BLAST_CONTROL_PLANE,
    BLAST_RTO_EXCEEDED,
    BLAST_UNEVEN_ANNOUNCERS,
];

/// A domain whose failure hurts, with its weight.
#[derive(Debug, Clone, Serialize)]
pub struct Spof {
    /// The domain, by index.
    pub domain: usize,
    /// The worst it does to an app.
    pub worst: Impact,
    /// The apps it takes down (quorum, outage or data), most critical first.
    pub apps: Vec<String>,
    /// Control planes it breaks.
    pub control_planes: Vec<String>,
    /// Impact weighed by tier: an outage (or a lost quorum) of a tier-1 app
    /// counts 100, tier 2 10, tier 3 1; data loss three times that.
    pub score: u64,
}

fn weight(impact: Impact, tier: u8) -> u64 {
    let base = match tier {
        1 => 100,
        2 => 10,
        _ => 1,
    };
    base * match impact {
        Impact::Ok | Impact::Failover => 0,
        Impact::Degraded => 0,
        Impact::QuorumLost | Impact::Outage => 1,
        Impact::DataLoss => 3,
    }
}

/// Single domains whose failure takes something down, worst first.
pub fn spofs(blast: &Blast) -> Vec<Spof> {
    // Grouped by domain once: scanning every cell for every domain was
    // quadratic in the fleet's size.
    let mut cells_of: HashMap<usize, Vec<&crate::Cell>> = HashMap::new();
    for c in blast.singles().filter(|c| c.outcome.impact.is_down()) {
        cells_of.entry(c.failed[0]).or_default().push(c);
    }
    let mut cps_of: HashMap<usize, Vec<String>> = HashMap::new();
    for c in blast.control_planes.iter().filter(|c| c.failed.len() == 1) {
        cps_of.entry(c.failed[0]).or_default().push(c.cluster.clone());
    }
    let mut out: Vec<Spof> = Vec::new();
    for i in 0..blast.domains.len() {
        let cells = cells_of.remove(&i).unwrap_or_default();
        let cps = cps_of.remove(&i).unwrap_or_default();
        if cells.is_empty() && cps.is_empty() {
            continue;
        }
        let mut apps: Vec<(u8, String)> =
            cells.iter().map(|c| (blast.apps[c.app].tier, blast.apps[c.app].name.clone())).collect();
        apps.sort();
        let score =
            cells.iter().map(|c| weight(c.outcome.impact, blast.apps[c.app].tier)).sum::<u64>() + 50 * cps.len() as u64;
        let worst = cells.iter().map(|c| c.outcome.impact).max().unwrap_or(Impact::Degraded);
        out.push(Spof {
            domain: i,
            worst,
            apps: apps.into_iter().map(|(_, n)| n).collect(),
            control_planes: cps,
            score,
        });
    }
    out.sort_by(|a, b| b.score.cmp(&a.score).then(a.domain.cmp(&b.domain)));
    out
}

/// Findings for single failures: an error where a `--fail-on` policy is
/// broken, a warning for other outages, quorum and data losses and broken
/// control planes, a note where an app degrades or recovers slower than its RTO.
pub fn diagnostics(blast: &Blast, fleet: &Fleet, policies: &[Policy]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let spec = &fleet.file.spec;
    let app_indexes: HashMap<&str, usize> = spec.apps.iter().enumerate().map(|(i, a)| (a.name.as_str(), i)).collect();
    let app_index = |name: &str| app_indexes.get(name).copied().unwrap_or(0);
    // Which of an app's clusters a failure hits, found through the failed
    // domain's region (or, for a provider, the app's own list): listing all
    // of an app's clusters on every finding made the report of an app on
    // 10,000 clusters grow with their square.
    let mut by_region: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
    let mut provider_of: HashMap<&str, &str> = HashMap::new();
    for c in &spec.clusters {
        if let Some((p, r)) = c.provider_and_region() {
            by_region.entry((p, r)).or_default().push(c.name.as_str());
            provider_of.insert(c.name.as_str(), p);
        }
    }
    let app_sets: Vec<HashSet<&str>> =
        blast.apps.iter().map(|a| a.clusters.iter().map(String::as_str).collect()).collect();
    let hit = |app: usize, domain: &crate::Domain| -> Arc<[String]> {
        let on_app = |c: &str| app_sets[app].contains(c);
        let names: Vec<String> = match (domain.level, domain.path.as_slice()) {
            (bulkhead_model::spec::DomainLevel::Cluster | bulkhead_model::spec::DomainLevel::Node, _) => {
                domain.cluster.iter().filter(|c| on_app(c)).cloned().collect()
            }
            (_, [p]) => blast.apps[app]
                .clusters
                .iter()
                .filter(|c| provider_of.get(c.as_str()) == Some(&p.as_str()))
                .cloned()
                .collect(),
            (_, [p, r, ..]) => by_region
                .get(&(p.as_str(), r.as_str()))
                .into_iter()
                .flatten()
                .filter(|c| on_app(c))
                .map(|c| c.to_string())
                .collect(),
            _ => Vec::new(),
        };
        Arc::from(names)
    };
    for c in blast.singles() {
        let domain = &blast.domains[c.failed[0]];
        let app = &blast.apps[c.app];
        let (code, verb) = match c.outcome.impact {
            Impact::Outage => (BLAST_OUTAGE, "takes down"),
            Impact::QuorumLost => (BLAST_QUORUM_LOST, "breaks the quorum of"),
            Impact::DataLoss => (BLAST_DATA_LOSS, "loses the data of"),
            Impact::Degraded => (BLAST_DEGRADED, "degrades"),
            Impact::Failover if c.outcome.rto_exceeded => (BLAST_RTO_EXCEEDED, "fails over"),
            Impact::Failover | Impact::Ok => continue,
        };
        let severity = if c.outcome.impact.is_down() {
            if policies.iter().any(|p| p.level == domain.level && app.tier <= p.tier) {
                Severity::Error
            } else {
                Severity::Warning
            }
        } else {
            Severity::Info
        };
        let rto = match (c.outcome.rto_exceeded, app.rto_seconds) {
            (true, Some(rto)) => format!(" — slower than its RTO of {}", human(rto)),
            _ => String::new(),
        };
        let message = format!(
            "losing {} `{}` {verb} tier-{} app `{}`: {}; recovery: {}{rto}",
            domain.level,
            domain.name,
            app.tier,
            app.name,
            c.outcome.why,
            c.outcome.recovery.describe()
        );
        let hint = match c.outcome.impact {
            Impact::DataLoss => {
                "keep a backup outside the domain (`backup:` with a repository elsewhere) or replicate the data"
            }
            Impact::QuorumLost => {
                "put at most ⌊(n−1)/2⌋ members in any one domain: one per zone over three or more zones"
            }
            Impact::Degraded => {
                "spread replicas so one domain holds no more than the budget lets go, or add a traffic policy"
            }
            _ => {
                "spread replicas over more of these domains (or run the app in a second cluster with a traffic policy)"
            }
        };
        let i = app_index(&app.name);
        out.push(
            Diagnostic::new(severity, code, &fleet.path, Some(fleet.span(&format!("spec/apps/{i}/name"))), message)
                .with_hint(hint)
                .with_about(About { app: Some(app.name.clone()), object: None, clusters: hit(c.app, domain) }),
        );
    }
    let cluster_indexes: HashMap<&str, usize> =
        spec.clusters.iter().enumerate().map(|(i, c)| (c.name.as_str(), i)).collect();
    for cp in blast.control_planes.iter().filter(|c| c.failed.len() == 1) {
        let domain = &blast.domains[cp.failed[0]];
        if domain.level == bulkhead_model::spec::DomainLevel::Cluster {
            continue; // a cluster's own failure is its control plane's, by definition
        }
        let i = cluster_indexes.get(cp.cluster.as_str()).copied().unwrap_or(0);
        let what = if cp.managed {
            format!("cluster `{}`'s managed control plane", cp.cluster)
        } else {
            format!("{} of cluster `{}`'s {} etcd members", cp.lost, cp.cluster, cp.members)
        };
        out.push(
            Diagnostic::warning(
                BLAST_CONTROL_PLANE,
                &fleet.path,
                Some(fleet.span(&format!("spec/clusters/{i}/controlPlane"))),
                format!(
                    "losing {} `{}` takes {what}: its API stops and nothing reschedules until it returns",
                    domain.level, domain.name
                ),
            )
            .with_hint(format!(
                "spread etcd members over three zones (or sites), at most ⌊(n−1)/2⌋ in any one; if it does not come back: {}",
                cp.recovery.describe()
            )),
        );
    }
    out.extend(announcers(fleet));
    Diagnostic::sort(&mut out);
    out
}

/// On bare metal, every worker announces the load-balancer addresses and
/// the racks' routers spread traffic per next hop (ECMP): a rack with more
/// workers takes more traffic, and losing it takes more away.
fn announcers(fleet: &Fleet) -> Vec<Diagnostic> {
    use bulkhead_model::spec::{DomainLevel, ProviderKind};
    let spec = &fleet.file.spec;
    let topology = &fleet.topology;
    let mut out = Vec::new();
    for (ci, c) in spec.clusters.iter().enumerate() {
        let bare_metal = c
            .provider_and_region()
            .and_then(|(p, _)| spec.providers.iter().find(|x| x.name == p))
            .is_some_and(|p| p.kind == ProviderKind::BareMetal);
        if !bare_metal {
            continue;
        }
        let Some(id) = topology.id(DomainLevel::Cluster, &c.name) else { continue };
        let mut per_rack: std::collections::BTreeMap<String, u32> = Default::default();
        for n in topology.nodes_of(id) {
            if let Some(r) = topology.enclosing(n.id, DomainLevel::Rack) {
                *per_rack.entry(topology.get(r).label.clone()).or_default() += 1;
            }
        }
        let (Some(&most), Some(&least)) = (per_rack.values().max(), per_rack.values().min()) else { continue };
        if per_rack.len() < 2 || most == least {
            continue;
        }
        let total: u32 = per_rack.values().sum();
        let (rack, _) = per_rack.iter().find(|(_, n)| **n == most).expect("the fullest rack");
        let spread: Vec<String> = per_rack.iter().map(|(r, n)| format!("{r}: {n}")).collect();
        out.push(
            Diagnostic::warning(
                BLAST_UNEVEN_ANNOUNCERS,
                &fleet.path,
                Some(fleet.span(&format!("spec/clusters/{ci}/nodePools"))),
                format!(
                    "cluster `{}`'s workers are uneven over racks ({}): with per-node ECMP, rack `{rack}` carries {}% of the load-balanced traffic, and losing it drops that share at once",
                    c.name,
                    spread.join(", "),
                    most * 100 / total
                ),
            )
            .with_hint("balance the workers over the racks, or announce from a fixed, equal set of nodes per rack"),
        );
    }
    out
}
