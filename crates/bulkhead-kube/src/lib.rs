//! Live clusters. [`connect`] turns a cluster's `access` in fleet.yaml into a
//! client; the modules below read what the analyses need and hand it over in
//! plain types, so offline and live analyses share one code path.
//!
//! Every call is bounded by a timeout: a cluster that does not answer is an
//! [`Error`] naming it, never a hang.

pub mod apply;
pub mod clean;
mod connect;
pub mod discovery;
mod error;
pub mod export;
mod fleet;
pub mod ingress;
pub mod list;
pub mod network;
pub mod order;
pub mod readiness;
pub mod review;
pub mod selector;
pub mod volume_snapshots;
pub mod workloads;

pub use connect::{Cluster, connect, connect_all, connect_kubeconfig, use_ring};
pub use error::{Error, cause};
pub use fleet::{CLUSTER_UNREACHABLE, Outcome, per_cluster, read_networks, read_workloads, unreachable};
