use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Address space of the whole fleet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NetworkSpec {
    /// CIDRs every cluster range is allocated from, IPv4 and/or IPv6, such
    /// as `10.0.0.0/8`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supernets: Vec<String>,
    /// Ranges used outside the fleet (offices, VPN peers, cloud-reserved
    /// blocks) that no cluster range may overlap.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external: Vec<ExternalRange>,
}

/// A range owned by something outside the fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExternalRange {
    /// Who owns it, such as `office-vpn`.
    pub name: String,
    /// The range, such as `192.168.0.0/16`.
    pub cidr: String,
}

/// A cluster's ranges. Each is `auto` (allocated by `bulkhead net plan`), one
/// CIDR, or a list (one IPv4 and one IPv6 CIDR for dual stack).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterNetwork {
    /// The nodes' (VPC) range.
    #[serde(default)]
    pub nodes: RangeSpec,
    /// The pods' range (the cluster CIDR).
    #[serde(default)]
    pub pods: RangeSpec,
    /// The Services' cluster-IP range.
    #[serde(default)]
    pub services: RangeSpec,
    /// Addresses that a bare-metal load balancer (MetalLB) announces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<RangeSpec>,
    /// A cluster ID for multi-cluster networking (Cilium ClusterMesh: 1–255).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<u32>,
}

/// `auto`, a CIDR, or a list of CIDRs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RangeSpec {
    /// `auto` or one CIDR.
    One(String),
    /// Several CIDRs (dual stack).
    Many(Vec<String>),
}

impl Default for RangeSpec {
    fn default() -> Self {
        Self::One("auto".to_string())
    }
}

impl RangeSpec {
    /// Whether the range is left to the planner.
    pub fn is_auto(&self) -> bool {
        matches!(self, Self::One(s) if s == "auto")
    }

    /// The CIDRs as written, with `auto` left out.
    pub fn cidrs(&self) -> Vec<&str> {
        match self {
            Self::One(s) if s == "auto" => Vec::new(),
            Self::One(s) => vec![s.as_str()],
            Self::Many(list) => list.iter().map(String::as_str).collect(),
        }
    }
}
