use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ClusterSelector;

/// The order in which `bulkhead apply` reaches clusters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RolloutSpec {
    /// Waves, applied one after another; each must be healthy before the next.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waves: Vec<Wave>,
}

/// A group of clusters that change together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Wave {
    /// The wave's name, such as `canary`.
    pub name: String,
    /// The clusters of this wave.
    pub clusters: ClusterSelector,
    /// Wait for a person to confirm before this wave.
    #[serde(default)]
    pub approval: bool,
    /// How long to watch the wave before the next one, such as `10m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<String>,
}
