//! The failure domains a blast radius is computed for, each with its full
//! path in the tree (provider → region → zone → rack → node), so "does this
//! failure take that node down" is a prefix test.

use std::collections::BTreeMap;

use bulkhead_model::Topology;
use bulkhead_model::spec::{DomainLevel, FleetSpec};
use serde::Serialize;

/// A failure domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Domain {
    /// Its level.
    pub level: DomainLevel,
    /// Its name, unique in the report: `aws`, `aws/us-east-1/us-east-1a`,
    /// `metal/ams1/ams1/r2`, `aws-use1-prod` (a cluster), `aws-use1-prod/general-0` (a node).
    pub name: String,
    /// Provider, region, zone, rack labels down to its level.
    #[serde(skip)]
    pub path: Vec<String>,
    /// For a cluster or a node: the cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// For a node: its name in the cluster (live), or its pool (static).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// For a group of alike nodes (static): how many it stands for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodes: Option<u32>,
}

impl Domain {
    /// Whether a failure of `self` takes `other` down with it.
    pub fn contains(&self, other: &Domain) -> bool {
        if self.level == DomainLevel::Cluster {
            return other.cluster.as_deref() == self.cluster.as_deref()
                && matches!(other.level, DomainLevel::Cluster | DomainLevel::Node);
        }
        let prefix = other.path.len() >= self.path.len() && other.path[..self.path.len()] == self.path[..];
        match (self.level, other.level) {
            (DomainLevel::Node, _) => self == other,
            (DomainLevel::Provider | DomainLevel::Region, DomainLevel::Cluster) => prefix,
            (_, DomainLevel::Cluster) => false,
            _ => prefix,
        }
    }

    /// Whether the failure takes a whole cluster located at `provider/region` down.
    pub fn covers_cluster(&self, cluster: &str, provider: &str, region: &str) -> bool {
        match self.level {
            DomainLevel::Provider => self.path[0] == provider,
            DomainLevel::Region => self.path[0] == provider && self.path[1] == region,
            DomainLevel::Cluster => self.cluster.as_deref() == Some(cluster),
            _ => false,
        }
    }
}

/// A node of a cluster, where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// Zone label.
    pub zone: String,
    /// Rack label, on bare metal.
    pub rack: Option<String>,
}

/// The domains of a fleet, widest first: providers, regions, zones, racks,
/// clusters; then node groups (static, one row per pool × zone × rack, as
/// every node of a group fails alike in the worst case: `grouped`) or nodes
/// (live). `nodes` are (cluster, pool or node name, site, node count).
pub fn fleet_domains(
    spec: &FleetSpec,
    topology: &Topology,
    nodes: &[(String, String, Site, u32)],
    grouped: bool,
) -> Vec<Domain> {
    let mut out = Vec::new();
    for level in [DomainLevel::Provider, DomainLevel::Region, DomainLevel::Zone, DomainLevel::Rack] {
        for d in topology.at_level(level) {
            let path: Vec<String> = d.name.split('/').map(str::to_string).collect();
            out.push(Domain { level, name: d.name.clone(), path, cluster: None, node: None, nodes: None });
        }
    }
    for c in &spec.clusters {
        let Some((provider, region)) = c.provider_and_region() else { continue };
        out.push(Domain {
            level: DomainLevel::Cluster,
            name: c.name.clone(),
            path: vec![provider.to_string(), region.to_string()],
            cluster: Some(c.name.clone()),
            node: None,
            nodes: None,
        });
    }
    let regions: BTreeMap<&str, (&str, &str)> =
        spec.clusters.iter().filter_map(|c| c.provider_and_region().map(|pr| (c.name.as_str(), pr))).collect();
    for (cluster, node, site, count) in nodes {
        let Some((provider, region)) = regions.get(cluster.as_str()) else { continue };
        let mut path = vec![provider.to_string(), region.to_string(), site.zone.clone()];
        if let Some(r) = &site.rack {
            path.push(r.clone());
        }
        path.push(node.clone());
        let name = match site.rack.as_deref() {
            Some(r) if grouped => format!("{cluster}/{node} in {}/{r}", site.zone),
            _ if grouped => format!("{cluster}/{node} in {}", site.zone),
            _ => format!("{cluster}/{node}"),
        };
        out.push(Domain {
            level: DomainLevel::Node,
            name,
            path,
            cluster: Some(cluster.clone()),
            node: Some(node.clone()),
            nodes: grouped.then_some(*count),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(level: DomainLevel, path: &[&str], cluster: Option<&str>) -> Domain {
        Domain {
            level,
            name: path.join("/"),
            path: path.iter().map(|s| s.to_string()).collect(),
            cluster: cluster.map(str::to_string),
            node: None,
            nodes: None,
        }
    }

    #[test]
    fn containment_follows_the_tree() {
        let zone = d(DomainLevel::Zone, &["aws", "use1", "a"], None);
        let region = d(DomainLevel::Region, &["aws", "use1"], None);
        let node = d(DomainLevel::Node, &["aws", "use1", "a", "n1"], Some("prod"));
        let cluster = d(DomainLevel::Cluster, &["aws", "use1"], Some("prod"));
        assert!(region.contains(&zone) && zone.contains(&node) && region.contains(&node));
        assert!(!zone.contains(&region) && !node.contains(&zone));
        assert!(cluster.contains(&node) && !zone.contains(&cluster) && region.contains(&cluster));
        assert!(cluster.covers_cluster("prod", "aws", "use1") && region.covers_cluster("prod", "aws", "use1"));
        assert!(!zone.covers_cluster("prod", "aws", "use1"));
    }
}
