//! The fleet specification as written in `fleet.yaml`: plain data, versioned.
//!
//! These types are the single source of the format: serde reads them, and the
//! JSON Schema that editors and `bulkhead validate` use is generated from them
//! (see [`crate::schema`]). Field documentation here is what users see in
//! their editor, so it speaks to them.

mod app;
mod cluster;
mod dr;
mod network;
mod provider;
mod rollout;
mod traffic;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use app::{App, AppBackup, AppCheck, HookCall, HttpCheck, Overlay, Placement, Sla, SnapshotHook, Spread};
pub use cluster::{
    AccessMode, Cluster, ClusterAccess, ControlPlane, EtcdAccess, EtcdBackup, EtcdSpec, NodePool, StorageClass,
    VolumeTopology,
};
pub use dr::{BackupPolicy, DrSpec, Drill, Keep, Repository};
pub use network::{ClusterNetwork, ExternalRange, NetworkSpec, RangeSpec};
pub use provider::{Provider, ProviderKind, Region};
pub use rollout::{RolloutSpec, Wave};
pub use traffic::{
    ClusterIngress, DEFAULT_PEER_PORT, DEFAULT_TRAFFIC_TTL_SECONDS, Nameserver, ProbeKind, Probes, Traffic,
    TrafficPolicy, TrafficSpec,
};

/// The `apiVersion` this version of Bulkhead reads.
pub const API_VERSION: &str = "bulkhead.dev/v1alpha1";
/// The `kind` of a fleet file.
pub const KIND: &str = "Fleet";

/// A fleet: every cloud, site, cluster and app that Bulkhead keeps reliable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "Bulkhead fleet")]
pub struct FleetFile {
    /// Always `bulkhead.dev/v1alpha1` for this version of the format.
    pub api_version: String,
    /// Always `Fleet`.
    pub kind: String,
    /// The fleet's name and labels.
    pub metadata: Metadata,
    /// What the fleet is made of.
    pub spec: FleetSpec,
}

/// A name and free-form labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    /// The fleet's name, used in reports and metrics.
    pub name: String,
    /// Free-form labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// The fleet's providers, clusters, apps and recovery plans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FleetSpec {
    /// Address space the clusters' ranges come from, and ranges that are
    /// already taken outside the fleet.
    #[serde(default)]
    pub network: NetworkSpec,
    /// Clouds and bare-metal sites, with their regions, zones and racks: the
    /// failure domains every analysis reasons about.
    pub providers: Vec<Provider>,
    /// The Kubernetes clusters of the fleet.
    pub clusters: Vec<Cluster>,
    /// The applications deployed to the clusters.
    #[serde(default)]
    pub apps: Vec<App>,
    /// What every cluster (or every cluster a selector chooses) gets
    /// besides its apps: namespaces, RBAC defined once, platform components.
    /// `bulkhead plan` and `apply` keep them in sync like the apps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub baselines: Vec<Baseline>,
    /// Backups, retention and recovery drills.
    #[serde(default)]
    pub dr: DrSpec,
    /// The order in which changes reach clusters.
    #[serde(default)]
    pub rollout: RolloutSpec,
    /// How `bulkhead audit` judges the apps' workloads.
    #[serde(default)]
    pub audit: AuditSpec,
    /// The DNS zone `bulkhead traffic serve` answers for, and its nameservers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<TrafficSpec>,
    /// Where the replicas of `bulkhead serve` coordinate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serve: Option<ServeSpec>,
}

/// The management cluster of `bulkhead serve`: its replicas hold Leases
/// there, so one runs each job (or each shard of the jobs) at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServeSpec {
    /// The fleet's cluster that holds the Leases; it needs `access`.
    pub management_cluster: String,
    /// The Leases' namespace (it must exist), `bulkhead` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_namespace: Option<String>,
}

/// The Leases' namespace when the fleet names none.
pub const DEFAULT_LEASE_NAMESPACE: &str = "bulkhead";

/// Manifests every chosen cluster gets, as they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Baseline {
    /// A unique name, such as `rbac` or `platform`.
    pub name: String,
    /// A directory of plain Kubernetes YAML, relative to the fleet directory.
    /// Namespaced objects must set their namespace.
    pub manifests: String,
    /// The clusters that get it; every cluster when left out.
    #[serde(default)]
    pub clusters: ClusterSelector,
}

/// Settings of the reliability audit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuditSpec {
    /// Per-check settings, by check ID (`bulkhead audit --list-checks`
    /// lists them), such as `probe-liveness-missing: {severity: error}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, CheckSetting>,
}

/// One check's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CheckSetting {
    /// Turn the check on or off; each check has its own default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Report the check's findings at this severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<CheckSeverity>,
    /// The check's parameters, such as `{min: 3}` for `replicas-minimum`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, i64>,
}

/// A severity a check can be set to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckSeverity {
    /// Fails `check` by default.
    Error,
    /// Fails `check --fail-on warning`.
    Warning,
    /// Never fails.
    Info,
}

/// Chooses clusters by name, by labels, or both (a cluster must match all
/// that is given). An empty selector chooses every cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterSelector {
    /// Cluster names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Labels a cluster must carry, all of them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

impl ClusterSelector {
    /// Whether `cluster` is chosen.
    pub fn matches(&self, cluster: &Cluster) -> bool {
        (self.names.is_empty() || self.names.contains(&cluster.name))
            && self.labels.iter().all(|(k, v)| cluster.labels.get(k) == Some(v))
    }
}

/// Clusters by name and by label, built once per fleet, so a selector finds
/// its clusters without a scan: an edge fleet of 10,000 clusters with an app
/// for each would otherwise match 10,000 × 10,000 selectors.
#[derive(Debug, Clone, Default)]
pub struct ClusterIndex {
    by_name: std::collections::HashMap<String, usize>,
    by_label: std::collections::HashMap<(String, String), Vec<usize>>,
    count: usize,
}

impl ClusterIndex {
    /// Indexes `clusters` (in `spec.clusters` order).
    pub fn new(clusters: &[Cluster]) -> Self {
        let mut index = Self { count: clusters.len(), ..Self::default() };
        for (i, c) in clusters.iter().enumerate() {
            index.by_name.entry(c.name.clone()).or_insert(i);
            for (k, v) in &c.labels {
                index.by_label.entry((k.clone(), v.clone())).or_default().push(i);
            }
        }
        index
    }

    /// The indexes of the clusters `selector` chooses, in fleet order.
    pub fn select(&self, clusters: &[Cluster], selector: &ClusterSelector) -> Vec<usize> {
        let mut candidates: Vec<usize> = if !selector.names.is_empty() {
            selector.names.iter().filter_map(|n| self.by_name.get(n).copied()).collect()
        } else if let Some(rarest) = selector
            .labels
            .iter()
            .map(|(k, v)| self.by_label.get(&(k.clone(), v.clone())).map_or(&[][..], Vec::as_slice))
            .min_by_key(|list| list.len())
        {
            rarest.to_vec()
        } else {
            (0..self.count).collect()
        };
        candidates.sort_unstable();
        candidates.dedup();
        candidates.retain(|&i| selector.matches(&clusters[i]));
        candidates
    }
}

/// A level of the failure-domain tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DomainLevel {
    /// A cloud or bare-metal provider.
    Provider,
    /// A region of a provider, or a bare-metal site.
    Region,
    /// An availability zone (a site counts as one zone unless it declares more).
    Zone,
    /// A rack in a bare-metal zone.
    Rack,
    /// One machine.
    Node,
    /// A Kubernetes cluster, as a domain of its own (its control plane).
    Cluster,
}

impl DomainLevel {
    /// The levels from the widest to the narrowest, then the cluster.
    pub const ALL: [DomainLevel; 6] = [Self::Provider, Self::Region, Self::Zone, Self::Rack, Self::Node, Self::Cluster];

    /// The level's name as written in fleet.yaml.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provider => "provider",
            Self::Region => "region",
            Self::Zone => "zone",
            Self::Rack => "rack",
            Self::Node => "node",
            Self::Cluster => "cluster",
        }
    }
}

impl std::fmt::Display for DomainLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod index_tests {
    use super::*;

    fn cluster(name: &str, labels: &[(&str, &str)]) -> Cluster {
        serde_json::from_value(serde_json::json!({
            "name": name, "location": "p/r",
            "labels": labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>()
        }))
        .unwrap()
    }

    #[test]
    fn the_index_selects_what_a_scan_selects() {
        let clusters = vec![
            cluster("a", &[("tier", "prod"), ("store", "1")]),
            cluster("b", &[("tier", "prod"), ("store", "2")]),
            cluster("c", &[("tier", "dev")]),
        ];
        let index = ClusterIndex::new(&clusters);
        let selectors = [
            ClusterSelector::default(),
            ClusterSelector { names: vec!["c".into(), "a".into(), "zz".into()], labels: BTreeMap::new() },
            ClusterSelector { names: vec![], labels: [("tier".to_string(), "prod".to_string())].into() },
            ClusterSelector {
                names: vec![],
                labels: [("tier".to_string(), "prod".to_string()), ("store".to_string(), "2".to_string())].into(),
            },
            ClusterSelector { names: vec!["a".into()], labels: [("tier".to_string(), "dev".to_string())].into() },
            ClusterSelector { names: vec![], labels: [("nope".to_string(), "x".to_string())].into() },
        ];
        for s in &selectors {
            let scan: Vec<usize> = (0..clusters.len()).filter(|&i| s.matches(&clusters[i])).collect();
            assert_eq!(index.select(&clusters, s), scan, "{s:?}");
        }
    }
}
