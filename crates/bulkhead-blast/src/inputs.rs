//! Building the analysis's inputs from a fleet, and the `--fail-on` policy.

use std::str::FromStr;

use bulkhead_model::Fleet;
use bulkhead_model::spec::DomainLevel;
use bulkhead_workload::{AppObjects, ClusterNodes, Kind, LiveFleet};

use crate::Blast;
use crate::analysis::{Measured, app_infos};
use crate::domains::{Domain, Site, fleet_domains};
use crate::exposure::{Exposure, live_exposure, static_exposure};

/// The blast radius of a fleet as declared: [`static_inputs`], analysed.
pub fn analyze_static(fleet: &Fleet, depth: u8, measured: &Measured) -> Blast {
    let (domains, exposures) = static_inputs(fleet);
    let apps = app_infos(&fleet.file.spec, &measured.restores);
    crate::analyze(&fleet.file.spec, &fleet.topology, domains, apps, exposures, depth, false, &measured.etcd)
}

/// The blast radius of a fleet as it runs now: [`live_inputs`], analysed.
pub fn analyze_live(fleet: &Fleet, live: &LiveFleet, depth: u8, measured: &Measured) -> Blast {
    let (domains, exposures) = live_inputs(fleet, live);
    let apps = app_infos(&fleet.file.spec, &measured.restores);
    crate::analyze(&fleet.file.spec, &fleet.topology, domains, apps, exposures, depth, true, &measured.etcd)
}

/// The domains and every workload's exposure from the clusters as they run:
/// their real nodes, and where each Deployment's and StatefulSet's pods are.
pub fn live_inputs(fleet: &Fleet, live: &LiveFleet) -> (Vec<Domain>, Vec<Exposure>) {
    let spec = &fleet.file.spec;
    let mut nodes = Vec::new();
    let mut sites = Vec::new();
    for c in &live.clusters {
        let n = c.nodes(fleet);
        for g in &n.groups {
            sites.push((c.name.clone(), g.pool.clone(), Site { zone: g.zone.clone(), rack: g.rack.clone() }, 1));
        }
        nodes.push((c.name.as_str(), n));
    }
    let domains = fleet_domains(spec, &fleet.topology, &sites, false);
    let mut exposures: Vec<Exposure> = Vec::new();
    for (ai, a) in &live.apps(fleet) {
        let cluster = &a.clusters[0];
        let Some((provider, region)) = cluster.provider_and_region() else { continue };
        let Some((_, n)) = nodes.iter().find(|(c, _)| *c == cluster.name) else { continue };
        let Some(read) = live.clusters.iter().find(|c| c.name == cluster.name) else { continue };
        let pods = &read.state.pods;
        let objects: Vec<_> = a.objects.iter().collect();
        for o in &objects {
            let Some(w) = o.workload() else { continue };
            if !matches!(w.object.kind, Kind::Deployment(_) | Kind::StatefulSet(_) | Kind::DaemonSet(_)) {
                continue;
            }
            let location = (provider.to_string(), region.to_string());
            exposures.extend(live_exposure(*ai, location, &objects, &w, n, pods));
        }
    }
    (domains, exposures)
}

/// The domains and every workload's exposure, from fleet.yaml and the
/// manifests: node pools placed as the failure-domain tree places them, and
/// the worst placement the scheduler may legally choose.
pub fn static_inputs(fleet: &Fleet) -> (Vec<Domain>, Vec<Exposure>) {
    let spec = &fleet.file.spec;
    let nodes: Vec<ClusterNodes> =
        spec.clusters.iter().map(|c| ClusterNodes::from_fleet(spec, &fleet.topology, c)).collect();
    let groups: Vec<(String, String, Site, u32)> = nodes
        .iter()
        .flat_map(|n| {
            n.groups.iter().map(|g| {
                (n.cluster.clone(), g.pool.clone(), Site { zone: g.zone.clone(), rack: g.rack.clone() }, g.count)
            })
        })
        .collect();
    let domains = fleet_domains(spec, &fleet.topology, &groups, true);
    let apps = AppObjects::of_fleet(fleet);
    // `nodes` is in `spec.clusters` order: one lookup finds both.
    let by_name: std::collections::HashMap<&str, usize> =
        spec.clusters.iter().enumerate().map(|(i, c)| (c.name.as_str(), i)).collect();
    let mut exposures = Vec::new();
    for (ai, a) in apps.iter().enumerate() {
        for v in &a.variants {
            let objects: Vec<_> = a.objects_of(v).collect();
            for cluster in &v.clusters {
                let Some(&ci) = by_name.get(cluster.as_str()) else { continue };
                let (c, n) = (&spec.clusters[ci], &nodes[ci]);
                let Some((provider, region)) = c.provider_and_region() else { continue };
                for o in &objects {
                    if !matches!(
                        o.kind,
                        Kind::Deployment(_)
                            | Kind::StatefulSet(_)
                            | Kind::DaemonSet(_)
                            | Kind::ReplicaSet(_)
                            | Kind::Pod(_)
                    ) {
                        continue;
                    }
                    let Some(w) = o.workload() else { continue };
                    exposures.push(static_exposure(ai, (provider.to_string(), region.to_string()), &objects, &w, n));
                }
            }
        }
    }
    (domains, exposures)
}

/// "No single failure at `level` may take down an app of tier `tier` or
/// more critical": `zone:1`, `region`, `node:2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The level of the failure.
    pub level: DomainLevel,
    /// The least critical tier protected (3 protects every app).
    pub tier: u8,
}

/// A `--fail-on` value that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);

impl FromStr for Policy {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, PolicyError> {
        let (level, tier) = s.split_once(':').unwrap_or((s, "3"));
        let level = DomainLevel::ALL.into_iter().find(|l| l.as_str() == level).ok_or_else(|| {
            PolicyError(format!("`{level}` is not a level: use provider, region, zone, rack, node or cluster"))
        })?;
        let tier: u8 = tier
            .parse()
            .ok()
            .filter(|t| (1..=3).contains(t))
            .ok_or_else(|| PolicyError(format!("`{tier}` is not a tier: use 1, 2 or 3")))?;
        Ok(Self { level, tier })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse() {
        assert_eq!("zone:1".parse::<Policy>().unwrap(), Policy { level: DomainLevel::Zone, tier: 1 });
        assert_eq!("region".parse::<Policy>().unwrap().tier, 3);
        assert!("zoen:1".parse::<Policy>().is_err());
        assert!("zone:4".parse::<Policy>().is_err());
    }
}
