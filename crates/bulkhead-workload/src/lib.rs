//! The fleet's workloads, typed once for every analysis that reasons about
//! them (the audit, the blast radius): [`Object`]s from manifests or live
//! clusters, each app's objects per cluster ([`AppObjects`]), the nodes each
//! cluster offers ([`ClusterNodes`]), and where the scheduler may put pods
//! in the worst case ([`scheduling`]).

mod apps;
mod budget;
pub mod live;
pub mod nodes;
mod objects;
pub mod resources;
pub mod scheduling;

pub use apps::{AppObjects, Variant};
pub use budget::allowed_disruptions;
pub use live::{ClusterState, LiveCluster, LiveFleet, LiveNode, LivePod};
pub use nodes::{ClassInfo, ClusterNodes, NodeGroup, Taint};
pub use objects::{
    Kind, Object, Origin, QUORUM_ANNOTATION, Source, Workload, budgets_for, hpa_for, quorum_tolerates, selects,
    selects_map,
};
pub use resources::Resources;
