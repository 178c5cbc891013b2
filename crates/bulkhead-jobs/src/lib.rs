//! The jobs layer: every unit of work the fleet can ask for, resolved from
//! the fleet into a typed plan and run to a typed outcome. The CLI and
//! `bulkhead serve` call the same functions; they differ only in how a job
//! is triggered and how its outcome is reported.
//!
//! Each job kind has a module: [`check`] (every analysis, offline or live),
//! [`backup`] (a cluster, an app, or a policy's apps where they run),
//! [`retention`] (forget by the keep rules, prune), [`drill`] (rehearse a
//! recovery and record it), [snapshots] (what a repository holds: listed,
//! shown, compared, checked, an etcd snapshot fetched). Plan, then execute, as rustic_core does: a
//! `plan` function resolves names, namespaces, tags and the repository
//! ([`repository::choose`]) without touching a cluster; `execute` does the
//! work, reports [`Progress`] and stops when its `CancellationToken` is
//! cancelled. Errors say whose move they are ([`Error::fault`]).

pub mod apply;
pub mod backup;
pub mod blast;
pub mod check;
pub mod clusters;
pub mod drill;
mod error;
pub mod etcd;
pub mod etcd_restore;
mod local_files;
pub mod progress;
pub mod repository;
pub mod restore;
pub mod retention;
pub mod snapshots;
pub mod tags;
pub mod traffic;

pub use check::{
    Backups, CheckOptions, CheckResult, DEFAULT_BLAST_POLICY, DRIFT, LiveState, check, measured, measured_restores,
    read_backups, read_live,
};
pub use error::Error;
pub use local_files::{read_lock, read_ranges};
pub use progress::Progress;
pub use tokio_util::sync::CancellationToken;
