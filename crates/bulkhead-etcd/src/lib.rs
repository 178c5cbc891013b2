//! etcd disaster recovery for self-managed control planes.
//!
//! A full snapshot is taken through etcd's maintenance API ([`snapshot`]),
//! the SHA-256 etcd appends to the stream checked before the snapshot
//! counts, and written as a file `etcdutl snapshot restore` accepts; the
//! CLI stores that file in the fleet's repository. [`access`] turns the
//! fleet's `controlPlane.etcd.access` into a connection.

pub mod access;
mod error;
pub mod snapshot;

pub use error::Error;

/// The tag of an etcd snapshot among the repository's snapshots (beside
/// `cluster=…` and `etcd-revision=…`): not a resource backup.
pub const SNAPSHOT_TAG: &str = "bulkhead=etcd";
