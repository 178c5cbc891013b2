use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A cloud or a bare-metal operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Provider {
    /// A short name that clusters refer to in `location`, such as `aws`.
    pub name: String,
    /// What kind of infrastructure this is.
    pub kind: ProviderKind,
    /// Regions (or, for bare metal, sites) where the fleet runs.
    pub regions: Vec<Region>,
}

/// Kinds of infrastructure. Bare metal has racks and no cloud load balancer or
/// managed control plane, and the analyses take that into account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    /// Amazon Web Services.
    Aws,
    /// Google Cloud.
    Gcp,
    /// Microsoft Azure.
    Azure,
    /// Machines you own or rent whole (Equinix Metal, on-prem).
    BareMetal,
    /// An OpenStack cloud.
    Openstack,
    /// VMware vSphere.
    Vsphere,
    /// Anything else.
    Other,
}

impl ProviderKind {
    /// Whether machines sit in racks that the fleet should spread across.
    pub fn has_racks(self) -> bool {
        matches!(self, Self::BareMetal | Self::Openstack | Self::Vsphere | Self::Other)
    }
}

/// A region of a cloud, or a bare-metal site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Region {
    /// The region's name as the provider writes it, such as `us-east-1`.
    pub name: String,
    /// Zone names exactly as nodes carry them in
    /// `topology.kubernetes.io/zone`, such as `us-east-1a`. A bare-metal site
    /// usually has one zone named after the site. At most 100.
    #[schemars(length(max = 100))]
    pub zones: Vec<String>,
    /// Racks, for bare metal. Write `r1` when the region has one zone, or
    /// `zone/r1` to say which zone a rack stands in. At most 1,000.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000))]
    pub racks: Vec<String>,
}
