//! Disaster recovery of cluster resources: [`backup`] streams a cluster's
//! objects (cleaned by `bulkhead-kube`) into a snapshot of the repository
//! (`bulkhead-vault`); [`restore`] applies a snapshot to a cluster in an
//! order that always works, with mappings, a dry run and a result per
//! object. The pure parts — what is selected, where an object sits in a
//! snapshot, the restore order, the mappings — are modules of their own.

pub mod backup;
pub mod checks;
pub mod classes;
pub mod diff;
pub mod drill;
mod error;
pub mod freshness;
pub mod hooks;
pub mod layout;
pub mod mapping;
pub use bulkhead_kube::order;
pub mod restore;
pub mod select;
pub mod volume_sources;
pub mod volumes;

pub use backup::{BackupReport, BackupRequest, backup};

/// Where a long backup or restore has got to, for a progress display.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A backup wrote a resource: the objects written so far.
    Backup {
        /// The resource just written.
        resource: &'a str,
        /// Objects written so far.
        objects: u64,
    },
    /// A restore applied an object.
    Restore {
        /// Objects done so far.
        done: usize,
        /// Objects in all.
        total: usize,
    },
}
pub use error::Error;
pub use restore::{Action, Existing, ObjectResult, RestoreReport, RestoreRequest, restore};
