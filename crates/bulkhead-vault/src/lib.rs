//! The backup repository: restic's repository format through rustic_core
//! (encrypted, compressed, deduplicated), in a local directory or S3, so a
//! backup stays readable with stock `restic` even without Bulkhead.
//!
//! Bulkhead's backups are files that never touch the disk: objects stream
//! from the API server into a snapshot ([`Vault::save`]) and come back out
//! as (path, bytes) ([`Vault::files`]). This crate knows nothing of
//! Kubernetes; `bulkhead-dr` decides what the files are.

mod compare;
mod error;
mod location;
mod maintenance;
mod password;
mod source;
mod vault;

pub use compare::{Change, Difference};
pub use error::Error;
pub use location::Location;
pub use maintenance::{Decision, Keep, Pruned, Retention};
pub use password::PasswordSource;
pub use source::{Content, File};
pub use vault::{KIND_TAG, NewSnapshot, Snapshot, Vault, Writer};

/// Reads the environment (S3 keys and the like); a function, so callers and
/// tests decide what the libraries see.
pub type Env = std::sync::Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;
