//! Network ranges across the fleet: `net plan` allocates every `auto` range
//! from the fleet's supernets and records it in a lock file so it never
//! moves; `net check` finds every overlap, every range too small for its
//! cluster, live ranges that drifted from the declared ones, and colliding
//! multi-cluster IDs.
//!
//! Start with [`plan()`] and [`check()`]. Everything here is pure: the lock
//! file arrives as text, live ranges arrive as [`OwnedRange`]s that
//! `bulkhead-kube` read from the clusters.

mod allocator;
mod check;
mod live;
mod lock;
mod plan;
mod range;
mod ranges_file;
mod sizing;
mod tfvars;

pub use allocator::{Pool, Reserve};
pub use check::{
    CLUSTER_ID_COLLISION, CODES, Inputs, LOCK_INVALID, Overlap, RANGE_DRIFT, RANGE_NOT_PLANNED, RANGE_OVERLAP,
    RANGE_TOO_SMALL, check, effective_ranges, overlaps,
};
pub use live::{ClusterNetwork, LiveRanges, live_ranges, pool_ranges};
pub use lock::{LOCK_FILE, LOCK_VERSION, Lock, LockError, LockedCluster};
pub use plan::{
    Change, ClusterPlan, PLANNED_KINDS, Plan, PlanError, Planned, Unfit, ZoneSubnets, declared, is_auto, plan,
    supernets, zone_subnets,
};
pub use range::{Family, OwnedRange, RangeKind, Source, bounds, net_at};
pub use ranges_file::{RANGES_SYNTAX, parse_ranges};
pub use sizing::{DEFAULT_MAX_PODS, HEADROOM, Needs};
pub use tfvars::tfvars;
