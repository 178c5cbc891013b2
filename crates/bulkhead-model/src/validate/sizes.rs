//! Sizes that the topology materialises one by one (nodes above all), checked
//! before anything is built, so a typo such as `count: 4000000000` ends in a
//! diagnostic instead of a process that grows until it is killed.

use super::Ctx;
use crate::diagnostic::Code;
use crate::spec::FleetFile;

/// The most nodes one cluster may declare: the largest cluster Kubernetes
/// supports.
pub const MAX_CLUSTER_NODES: u64 = 5_000;

/// The most nodes a whole fleet may declare. Every node is a failure domain
/// that the blast radius weighs; past this the analysis stops being quick, and
/// no real fleet definition needs node-level detail for more machines.
pub const MAX_FLEET_NODES: u64 = 500_000;

/// Returns whether the fleet's sizes are within the limits (the schema has
/// already bounded each single value).
pub(crate) fn check(ctx: &mut Ctx<'_>, fleet: &FleetFile) -> bool {
    let mut ok = true;
    let mut total: u64 = 0;
    for (ci, c) in fleet.spec.clusters.iter().enumerate() {
        let nodes: u64 = c.node_pools.iter().map(|p| u64::from(p.count)).sum();
        total += nodes;
        if nodes > MAX_CLUSTER_NODES {
            ctx.error(
                Code::InvalidValue,
                &format!("spec/clusters/{ci}/nodePools"),
                format!("cluster `{}` declares {nodes} nodes; the limit is {MAX_CLUSTER_NODES}", c.name),
                "Kubernetes supports clusters of up to 5,000 nodes; split the cluster",
            );
            ok = false;
        }
    }
    if ok && total > MAX_FLEET_NODES {
        ctx.error(
            Code::InvalidValue,
            "spec/clusters",
            format!("the fleet declares {total} nodes; the limit is {MAX_FLEET_NODES}"),
            "declare fewer, larger node pools, or split the fleet into several fleet files",
        );
        ok = false;
    }
    ok
}
