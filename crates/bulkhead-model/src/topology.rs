//! The failure-domain tree: provider → region → zone → rack → node, with each
//! cluster as a domain of its own.
//!
//! Every analysis asks the same questions of this tree ("which nodes die with
//! zone X", "how many distinct regions does this app span"), so it is built
//! once from the spec. Nodes are placed the way cloud node groups place them:
//! a pool's nodes spread evenly over its zones, and within a zone over its
//! racks.

use std::collections::HashMap;

use serde::Serialize;

use crate::spec::{Cluster, DomainLevel, FleetSpec};

/// An index into [`Topology::domains`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DomainId(pub u32);

/// One failure domain.
#[derive(Debug, Clone, Serialize)]
pub struct Domain {
    /// Its id.
    pub id: DomainId,
    /// Its level.
    pub level: DomainLevel,
    /// A name unique within its level: `aws`, `aws/us-east-1`,
    /// `aws/us-east-1/us-east-1a`, `metal/ams1/ams1/r1`, `aws-use1-prod`,
    /// `aws-use1-prod/general-3`.
    pub name: String,
    /// The name as the infrastructure writes it: `us-east-1a`, `r1`.
    pub label: String,
    /// The enclosing domain (a cluster's is its region; a node's is its rack
    /// or zone).
    pub parent: Option<DomainId>,
    /// For a node, the cluster it belongs to.
    pub cluster: Option<DomainId>,
}

/// Where a cluster's control plane runs.
#[derive(Debug, Clone, Serialize)]
pub struct ControlPlaneSlots {
    /// The cluster.
    pub cluster: DomainId,
    /// The zone of each etcd member.
    pub etcd_zones: Vec<DomainId>,
    /// Whether the provider runs it.
    pub managed: bool,
}

/// The whole tree.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Topology {
    /// Every domain; a domain's id is its index.
    pub domains: Vec<Domain>,
    /// Control-plane placement per cluster.
    pub control_planes: Vec<ControlPlaneSlots>,
    #[serde(skip)]
    index: HashMap<(DomainLevel, String), DomainId>,
    /// Each domain's children, by the domain's index; kept so lookups stay
    /// linear in what they return, not in the size of the fleet.
    #[serde(skip)]
    children: Vec<Vec<DomainId>>,
    /// Each cluster's nodes, by the cluster's id.
    #[serde(skip)]
    cluster_nodes: HashMap<DomainId, Vec<DomainId>>,
    /// Each cluster's entry in `control_planes`.
    #[serde(skip)]
    control_plane_index: HashMap<DomainId, usize>,
}

impl Topology {
    /// Builds the tree from a spec. References that do not resolve (a
    /// cluster in an unknown region) are skipped here; validation reports them.
    pub fn build(spec: &FleetSpec) -> Self {
        let mut t = Topology::default();
        for provider in &spec.providers {
            let p = t.add(DomainLevel::Provider, provider.name.clone(), provider.name.clone(), None, None);
            for region in &provider.regions {
                let r_name = format!("{}/{}", provider.name, region.name);
                let r = t.add(DomainLevel::Region, r_name.clone(), region.name.clone(), Some(p), None);
                for zone in &region.zones {
                    t.add(DomainLevel::Zone, format!("{r_name}/{zone}"), zone.clone(), Some(r), None);
                }
                for rack in &region.racks {
                    let (zone, rack_label) = match rack.split_once('/') {
                        Some((z, r)) => (z.to_string(), r.to_string()),
                        None if region.zones.len() == 1 => (region.zones[0].clone(), rack.clone()),
                        None => continue,
                    };
                    if let Some(z) = t.id(DomainLevel::Zone, &format!("{r_name}/{zone}")) {
                        t.add(DomainLevel::Rack, format!("{r_name}/{zone}/{rack_label}"), rack_label, Some(z), None);
                    }
                }
            }
        }
        for cluster in &spec.clusters {
            t.add_cluster(cluster);
        }
        t
    }

    fn add(
        &mut self,
        level: DomainLevel,
        name: String,
        label: String,
        parent: Option<DomainId>,
        cluster: Option<DomainId>,
    ) -> DomainId {
        if let Some(&id) = self.index.get(&(level, name.clone())) {
            return id;
        }
        let id = DomainId(self.domains.len() as u32);
        self.index.insert((level, name.clone()), id);
        self.domains.push(Domain { id, level, name, label, parent, cluster });
        self.children.push(Vec::new());
        // Nodes are indexed by cluster instead: a zone may hold thousands.
        if let Some(p) = parent
            && level != DomainLevel::Node
        {
            self.children[p.0 as usize].push(id);
        }
        if let Some(c) = cluster {
            self.cluster_nodes.entry(c).or_default().push(id);
        }
        id
    }

    fn add_cluster(&mut self, cluster: &Cluster) {
        let Some(region) = self.id(DomainLevel::Region, &cluster.location) else { return };
        let c = self.add(DomainLevel::Cluster, cluster.name.clone(), cluster.name.clone(), Some(region), None);
        let region_zones = self.children(region, DomainLevel::Zone);
        let mut used_zones: Vec<DomainId> = Vec::new();
        for pool in &cluster.node_pools {
            let zones: Vec<DomainId> = if pool.zones.is_empty() {
                region_zones.clone()
            } else {
                pool.zones
                    .iter()
                    .filter_map(|z| self.id(DomainLevel::Zone, &format!("{}/{z}", cluster.location)))
                    .collect()
            };
            if zones.is_empty() {
                continue;
            }
            // Each zone's slots: its racks that the pool uses, or the zone itself.
            let slots: Vec<Vec<DomainId>> = zones
                .iter()
                .map(|&z| {
                    let racks: Vec<DomainId> = self
                        .children(z, DomainLevel::Rack)
                        .into_iter()
                        .filter(|&r| pool.racks.is_empty() || pool.racks.iter().any(|want| self.rack_matches(r, want)))
                        .collect();
                    if racks.is_empty() { vec![z] } else { racks }
                })
                .collect();
            for i in 0..pool.count as usize {
                let zone_slots = &slots[i % slots.len()];
                let parent = zone_slots[(i / slots.len()) % zone_slots.len()];
                let name = format!("{}/{}-{i}", cluster.name, pool.name);
                self.add(DomainLevel::Node, name.clone(), format!("{}-{i}", pool.name), Some(parent), Some(c));
            }
            for z in zones {
                if !used_zones.contains(&z) {
                    used_zones.push(z);
                }
            }
        }
        if used_zones.is_empty() {
            used_zones = region_zones;
        }
        let etcd = &cluster.control_plane.etcd;
        let etcd_zones = if etcd.zones.is_empty() {
            (0..etcd.members as usize).filter_map(|i| used_zones.get(i % used_zones.len().max(1)).copied()).collect()
        } else {
            etcd.zones.iter().filter_map(|z| self.id(DomainLevel::Zone, &format!("{}/{z}", cluster.location))).collect()
        };
        self.control_plane_index.insert(c, self.control_planes.len());
        self.control_planes.push(ControlPlaneSlots { cluster: c, etcd_zones, managed: cluster.control_plane.managed });
    }

    fn rack_matches(&self, rack: DomainId, want: &str) -> bool {
        let d = self.get(rack);
        d.label == want || d.name.ends_with(&format!("/{want}"))
    }

    /// Where a cluster's control plane runs.
    pub fn control_plane(&self, cluster: DomainId) -> Option<&ControlPlaneSlots> {
        self.control_plane_index.get(&cluster).map(|&i| &self.control_planes[i])
    }

    /// The domain with this id.
    pub fn get(&self, id: DomainId) -> &Domain {
        &self.domains[id.0 as usize]
    }

    /// Looks a domain up by level and unique name.
    pub fn id(&self, level: DomainLevel, name: &str) -> Option<DomainId> {
        self.index.get(&(level, name.to_string())).copied()
    }

    /// The domains directly below `parent` at `level`.
    pub fn children(&self, parent: DomainId, level: DomainLevel) -> Vec<DomainId> {
        if level == DomainLevel::Node {
            return self.at_level(level).filter(|d| d.parent == Some(parent)).map(|d| d.id).collect();
        }
        self.children[parent.0 as usize].iter().copied().filter(|&c| self.get(c).level == level).collect()
    }

    /// Every domain of a level.
    pub fn at_level(&self, level: DomainLevel) -> impl Iterator<Item = &Domain> {
        self.domains.iter().filter(move |d| d.level == level)
    }

    /// The domain itself and everything above it, narrowest first. A node's
    /// chain includes its cluster.
    pub fn ancestors(&self, id: DomainId) -> Vec<DomainId> {
        let mut out = vec![id];
        let start = self.get(id);
        let mut cur = start.parent;
        while let Some(p) = cur {
            out.push(p);
            cur = self.get(p).parent;
        }
        if let Some(c) = start.cluster {
            out.push(c);
        }
        out
    }

    /// The domain of `level` that contains `id`, if any.
    pub fn enclosing(&self, id: DomainId, level: DomainLevel) -> Option<DomainId> {
        self.ancestors(id).into_iter().find(|&a| self.get(a).level == level)
    }

    /// The nodes of a cluster.
    pub fn nodes_of(&self, cluster: DomainId) -> impl Iterator<Item = &Domain> {
        self.cluster_nodes.get(&cluster).into_iter().flatten().map(|&n| self.get(n))
    }

    /// The distinct domains of `level` that a cluster's nodes (or, for
    /// levels above the zone, the cluster itself) stand in.
    pub fn cluster_domains(&self, cluster: DomainId, level: DomainLevel) -> Vec<DomainId> {
        let mut out: Vec<DomainId> = match level {
            DomainLevel::Cluster => vec![cluster],
            DomainLevel::Provider | DomainLevel::Region => self.enclosing(cluster, level).into_iter().collect(),
            DomainLevel::Zone | DomainLevel::Rack | DomainLevel::Node => {
                self.nodes_of(cluster).filter_map(|n| self.enclosing(n.id, level)).collect()
            }
        };
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::FleetFile;

    fn spec(yaml: &str) -> FleetSpec {
        let f: FleetFile = serde_json::from_value(
            crate::yaml::parse(&crate::SourceFile::new("f.yaml", yaml), Default::default()).unwrap().docs[0].to_json(),
        )
        .unwrap();
        f.spec
    }

    const FLEET: &str = r#"
apiVersion: bulkhead.dev/v1alpha1
kind: Fleet
metadata: {name: t}
spec:
  providers:
    - {name: aws, kind: aws, regions: [{name: us-east-1, zones: [a, b, c]}]}
    - {name: metal, kind: bare-metal, regions: [{name: ams1, zones: [ams1], racks: [r1, r2, r3]}]}
  clusters:
    - name: prod
      location: aws/us-east-1
      nodePools: [{name: general, count: 7}]
    - name: edge
      location: metal/ams1
      controlPlane: {etcd: {members: 3}}
      nodePools: [{name: metal, count: 6, racks: [r1, r2]}]
"#;

    #[test]
    fn pools_spread_evenly_over_zones_and_racks() {
        let t = Topology::build(&spec(FLEET));
        let prod = t.id(DomainLevel::Cluster, "prod").unwrap();
        let per_zone = |z: &str| {
            let zone = t.id(DomainLevel::Zone, &format!("aws/us-east-1/{z}")).unwrap();
            t.nodes_of(prod).filter(|n| t.enclosing(n.id, DomainLevel::Zone) == Some(zone)).count()
        };
        assert_eq!((per_zone("a"), per_zone("b"), per_zone("c")), (3, 2, 2));

        let edge = t.id(DomainLevel::Cluster, "edge").unwrap();
        let racks: Vec<_> =
            t.cluster_domains(edge, DomainLevel::Rack).iter().map(|&r| t.get(r).label.clone()).collect();
        assert_eq!(racks, ["r1", "r2"]);
    }

    #[test]
    fn etcd_members_follow_the_nodes_zones() {
        let t = Topology::build(&spec(FLEET));
        let cp = &t.control_planes[0];
        let zones: Vec<_> = cp.etcd_zones.iter().map(|&z| t.get(z).label.as_str()).collect();
        assert_eq!(zones, ["a", "b", "c"]);
        let edge = &t.control_planes[1];
        assert!(edge.etcd_zones.iter().all(|&z| t.get(z).label == "ams1"));
    }

    #[test]
    fn ancestors_run_from_node_to_provider_then_cluster() {
        let t = Topology::build(&spec(FLEET));
        let node = t.id(DomainLevel::Node, "edge/metal-0").unwrap();
        let levels: Vec<_> = t.ancestors(node).iter().map(|&a| t.get(a).level).collect();
        assert_eq!(
            levels,
            [
                DomainLevel::Node,
                DomainLevel::Rack,
                DomainLevel::Zone,
                DomainLevel::Region,
                DomainLevel::Provider,
                DomainLevel::Cluster
            ]
        );
    }
}
