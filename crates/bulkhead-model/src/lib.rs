//! The fleet model: `fleet.yaml` and the apps' manifests, read into typed
//! data, validated with a diagnostic for every problem, and resolved into the
//! failure-domain tree that every analysis reasons about.
//!
//! Start with [`load`]: it reads a fleet directory and returns a [`Fleet`]
//! (when usable) and every [`Diagnostic`]. The format itself is in [`spec`];
//! the tree is [`Topology`].
//!
//! This crate has no client and no network: live cluster state is converted
//! *into* these types by `bulkhead-kube`, so offline and live analyses share
//! one code path.

pub mod api_rules;
pub mod diagnostic;
mod fault;
pub mod files;
pub mod kubernetes;
mod load;
pub mod manifest;
pub mod schedule;
pub mod schema;
pub mod source;
pub mod spec;
pub mod topology;
mod validate;
pub mod verdict;
pub mod yaml;
mod yaml_de;

pub use diagnostic::{About, Code, Diagnostic, Severity};
pub use fault::Fault;
pub use files::{DirFiles, FleetFiles, MemoryFiles};
pub use load::{Counts, FLEET_FILE, Fleet, LoadOptions, Loaded, Sources, load, load_from};
pub use schedule::{CronSchedule, ScheduleError};
pub use source::{SourceFile, Span};
pub use topology::{Domain, DomainId, Topology};
pub use validate::{MAX_CLUSTER_NODES, MAX_FLEET_NODES};
pub use verdict::{SeverityCounts, Stage, StageStatus, Verdict};
pub use yaml_de::DeError;

/// Failures of Bulkhead itself, as opposed to problems with the input (which
/// are [`Diagnostic`]s).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An embedded schema does not compile: a bug in this build.
    #[error("internal schema error: {0}")]
    Schema(String),
}
