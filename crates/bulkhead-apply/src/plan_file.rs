//! A saved plan, for `bulkhead plan --out FILE` and `bulkhead apply FILE`:
//! each cluster's desired objects exactly as planned and the plan made from
//! them, so the apply carries out what was reviewed and nothing else.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::desired::DesiredCluster;
use crate::plan::ClusterPlan;

/// The format's name and version, the file's first field.
pub const FORMAT: &str = "bulkhead.dev/plan/v1";

/// One cluster of a saved plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedCluster {
    /// What it should have.
    pub desired: DesiredCluster,
    /// What applying it does.
    pub plan: ClusterPlan,
}

/// A saved plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// The fleet it was made from (its clusters' access settings are read from there).
    pub fleet: PathBuf,
    /// When it was made (RFC 3339).
    pub created: String,
    /// The clusters planned.
    pub clusters: Vec<PlannedCluster>,
}

/// Why bytes are not a plan file this Bulkhead reads.
#[derive(Debug, thiserror::Error)]
pub enum NotAPlan {
    /// Not JSON, or not a plan's shape.
    #[error(transparent)]
    Json(serde_json::Error),
    /// A plan of another format version.
    #[error("its format is `{0}`; this Bulkhead reads `{FORMAT}`")]
    Format(String),
    /// JSON without the plan's `format`.
    #[error("it has no `format`")]
    NoFormat,
}

impl PlanFile {
    /// Reads a plan file.
    ///
    /// # Errors
    /// When it cannot be read or is not a plan of this version.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read(path).map_err(|source| Error::PlanFileRead { path: path.into(), source })?;
        Self::parse(&text).map_err(|source| Error::PlanFileFormat { path: path.into(), source })
    }

    /// Parses a plan file's bytes.
    ///
    /// # Errors
    /// When they are not a plan of this version.
    pub fn parse(bytes: &[u8]) -> Result<Self, NotAPlan> {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(NotAPlan::Json)?;
        match value.get("format").and_then(serde_json::Value::as_str) {
            Some(FORMAT) => serde_json::from_value(value).map_err(NotAPlan::Json),
            Some(other) => Err(NotAPlan::Format(other.to_string())),
            None => Err(NotAPlan::NoFormat),
        }
    }

    /// Whether `bytes` look like a plan file rather than a fleet.
    pub fn looks_like(bytes: &[u8]) -> bool {
        let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).map_or(&[][..], |i| &bytes[i..]);
        start.starts_with(b"{") && bytes.windows(FORMAT.len()).any(|w| w == FORMAT.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn only_this_version_is_read() {
        let plan = PlanFile { format: FORMAT.into(), fleet: "f".into(), created: "now".into(), clusters: Vec::new() };
        let text = serde_json::to_vec(&plan).unwrap();
        assert!(PlanFile::looks_like(&text));
        assert_eq!(PlanFile::parse(&text).unwrap(), plan);
        let other = String::from_utf8(text).unwrap().replace("/v1", "/v9");
        assert!(PlanFile::parse(other.as_bytes()).unwrap_err().to_string().contains("v9"));
        assert!(!PlanFile::looks_like(b"apiVersion: bulkhead.dev/v1alpha1"));
    }

    proptest! {
        /// Any bytes: an error or a plan, never a panic.
        #[test]
        fn any_bytes_parse_or_fail(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = PlanFile::parse(&bytes);
            let _ = PlanFile::looks_like(&bytes);
        }
    }
}
