//! The backup repository: restic's repository format through rustic_core
//! (encrypted, compressed, deduplicated), in a local directory or S3, so a
//! backup stays readable with stock `restic` even without Bulkhead.
//!
//! Start at [`RepositoryAccess`]: where a repository is and its password,
//! with async methods that run the blocking work on a thread of their own.
//! [`Repository`] is the open repository those methods hand to their work.
//! Bulkhead's backups are files that never touch the disk: objects stream
//! from the API server into a snapshot ([`Repository::save`]) and come back
//! out as (path, bytes) ([`Repository::files`]). Snapshots are named by
//! [`SnapshotId`] and [`SnapshotRef`], and tagged in the vocabulary of
//! [`tags`]. This crate knows nothing of Kubernetes; `bulkhead-dr` decides
//! what the files are.

mod access;
mod compare;
mod error;
mod id;
mod location;
mod maintenance;
mod password;
mod repository;
mod source;
pub mod tags;

pub use access::{Open, RepositoryAccess, Saver};
pub use compare::{Change, Difference};
pub use error::Error;
pub use id::{BadSnapshotName, SnapshotId, SnapshotRef};
pub use location::Location;
pub use maintenance::{Decision, Keep, Pruned, Retention};
pub use password::{Password, PasswordSource};
pub use repository::{NewSnapshot, Repository, Snapshot, Writer};
pub use source::{Content, File};
pub use tags::{SnapshotKind, TagKey};

/// Reads the environment (S3 keys and the like); a function, so callers and
/// tests decide what the libraries see.
pub type Env = std::sync::Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;
