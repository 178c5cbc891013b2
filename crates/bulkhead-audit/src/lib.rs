//! The reliability audit: every workload of every app checked against the
//! practices that keep it up — probes, replicas, requests and limits,
//! disruption budgets, spread over nodes and zones, autoscaling, storage,
//! rollouts and references — and, where no other tool can, against the
//! fleet itself: the zones, node pools and storage classes of each cluster
//! the app is placed on.
//!
//! Start with [`audit_fleet`] (offline, from manifests) or [`engine::run`]
//! (any objects, live ones included). Checks are listed in [`registry`];
//! each has a stable ID, a severity, the failure it prevents and the fix.

mod checks;
pub mod engine;
pub mod registry;
mod report;

pub use engine::{Finding, LivePods};
pub use registry::{ALL, CheckInfo, Settings};
pub use report::{Stats, audit_fleet, audit_live, resolve_settings, to_diagnostics};
