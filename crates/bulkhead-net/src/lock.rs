//! The lock file, `net.lock.json` beside fleet.yaml: what the planner
//! allocated, so that the next plan keeps it. It is written by `bulkhead net
//! plan` and meant to be committed, like `Cargo.lock`.

use std::collections::BTreeMap;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// The lock file's name, beside fleet.yaml.
pub const LOCK_FILE: &str = "net.lock.json";
/// The format version this build reads and writes.
pub const LOCK_VERSION: u32 = 1;

/// Every allocation, by cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Lock {
    /// Always [`LOCK_VERSION`].
    pub version: u32,
    /// Allocations by cluster name.
    pub clusters: BTreeMap<String, LockedCluster>,
}

/// One cluster's allocations. Only ranges the planner chose are here; ranges
/// written in fleet.yaml are not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LockedCluster {
    /// Node (VPC) ranges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<IpNet>,
    /// Pod ranges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pods: Vec<IpNet>,
    /// Service ranges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<IpNet>,
    /// Load-balancer pools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_balancer: Vec<IpNet>,
    /// How many zone slots the node range was cut into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_slots: Option<u32>,
    /// Each zone's slot index in the node range.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub zones: BTreeMap<String, u32>,
}

/// Why a lock file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Not JSON of the lock's shape.
    #[error("{LOCK_FILE} is not a valid lock file: {0}")]
    Malformed(#[from] serde_json::Error),
    /// Written by another version.
    #[error("{LOCK_FILE} has version {0}; this Bulkhead reads version {LOCK_VERSION}")]
    Version(u32),
    /// A range that is not a network address (host bits set).
    #[error("{LOCK_FILE}: cluster `{cluster}` has `{net}`, which is not a network address (did you mean {trunc}?)")]
    HostBits {
        /// The cluster.
        cluster: String,
        /// The range as written.
        net: IpNet,
        /// The network it lies in.
        trunc: IpNet,
    },
}

impl Lock {
    /// An empty lock.
    pub fn new() -> Self {
        Self { version: LOCK_VERSION, clusters: BTreeMap::new() }
    }

    /// Reads a lock file's text. The file is input like any other: it may be
    /// hand-edited, merged badly or truncated, so every range is checked.
    ///
    /// # Errors
    /// When the text is not a lock file of this version.
    pub fn parse(text: &str) -> Result<Self, LockError> {
        // The version first, on its own: a newer lock may have fields this
        // build does not know, and "malformed" would hide the real reason.
        #[derive(Deserialize)]
        struct Versioned {
            version: u32,
        }
        if let Ok(Versioned { version }) = serde_json::from_str::<Versioned>(text)
            && version != LOCK_VERSION
        {
            return Err(LockError::Version(version));
        }
        let lock: Lock = serde_json::from_str(text)?;
        if lock.version != LOCK_VERSION {
            return Err(LockError::Version(lock.version));
        }
        for (name, c) in &lock.clusters {
            for net in c.nodes.iter().chain(&c.pods).chain(&c.services).chain(&c.load_balancer) {
                if net.trunc() != *net {
                    return Err(LockError::HostBits { cluster: name.clone(), net: *net, trunc: net.trunc() });
                }
            }
        }
        Ok(lock)
    }

    /// The lock as text, stable for review: sorted, pretty, one trailing newline.
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a lock always serializes");
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let mut lock = Lock::new();
        let c = lock.clusters.entry("a".into()).or_default();
        c.pods.push("10.0.0.0/19".parse().unwrap());
        c.zones.insert("z1".into(), 0);
        c.zone_slots = Some(4);
        assert_eq!(Lock::parse(&lock.to_text()).unwrap(), lock);
    }

    #[test]
    fn refuses_what_it_cannot_trust() {
        assert!(matches!(Lock::parse("{"), Err(LockError::Malformed(_))));
        assert!(matches!(Lock::parse(r#"{"version": 9, "clusters": {}}"#), Err(LockError::Version(9))));
        let host_bits = r#"{"version": 1, "clusters": {"a": {"pods": ["10.0.0.1/16"]}}}"#;
        assert!(matches!(Lock::parse(host_bits), Err(LockError::HostBits { .. })));
        // A newer lock with fields this build does not know names its version.
        let newer = r#"{"version": 2, "clusters": {"a": {"pods": ["10.0.0.0/16"], "egress": []}}, "sites": {}}"#;
        assert!(matches!(Lock::parse(newer), Err(LockError::Version(2))));
        let unknown = r#"{"version": 1, "clusters": {"a": {"pod": ["10.0.0.0/16"]}}}"#;
        assert!(matches!(Lock::parse(unknown), Err(LockError::Malformed(_))));
    }
}
