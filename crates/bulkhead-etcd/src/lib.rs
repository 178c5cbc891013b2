//! etcd disaster recovery for self-managed control planes.
//!
//! A full snapshot is taken through etcd's maintenance API ([`snapshot`]),
//! the SHA-256 etcd appends to the stream checked before the snapshot
//! counts, and written as a file `etcdutl snapshot restore` accepts; the
//! CLI stores that file in the fleet's repository. [`access`] turns the
//! fleet's `controlPlane.etcd.access` into a connection.
//!
//! Snapshots are read offline, without etcd: [`bbolt`] walks the database
//! file, [`mvcc`] decodes etcd's revisions, [`file`] gives the objects at a
//! revision, [`registry`] maps keys to resources and names, and [`value`]
//! turns the API server's stored values back into JSON.

pub mod access;
pub mod bbolt;
pub mod delta;
pub mod encryption;
mod error;
pub mod file;
pub mod mvcc;
pub mod registry;
pub mod replay;
pub mod retention;
pub mod snapshot;
pub mod value;
pub mod watch;
pub mod wire;

pub use error::Error;

/// The tag of an etcd snapshot among the repository's snapshots (beside
/// `cluster=…` and `etcd-revision=…`): not a resource backup.
pub const SNAPSHOT_TAG: &str = "bulkhead=etcd";

/// The tag of a delta segment (beside `cluster=…`, `etcd-from=…`, `etcd-to=…`).
pub const DELTA_TAG: &str = "bulkhead=etcd-delta";
