//! The checks, one module per category. `run` holds the checks that need
//! only the objects; `run_on` the fleet-aware ones, given one cluster shape.

mod autoscaling;
mod controllers;
mod disruption;
pub(crate) mod live;
mod probes;
mod references;
mod resources;
mod rollout;
mod spread;
mod storage;

use bulkhead_workload::ClusterNodes;
use bulkhead_workload::scheduling::Placement;
use k8s_openapi::api::core::v1::Container;

use crate::engine::Ctx;

pub(crate) fn run(ctx: &mut Ctx<'_, '_>) {
    probes::run(ctx);
    controllers::run(ctx);
    resources::run(ctx);
    disruption::run(ctx);
    spread::run(ctx);
    autoscaling::run(ctx);
    storage::run(ctx);
    rollout::run(ctx);
    references::run(ctx);
}

pub(crate) fn run_on(ctx: &mut Ctx<'_, '_>, nodes: &ClusterNodes) {
    // Where each workload may run on this shape of cluster, worked out once
    // for every check that asks.
    let placed: Vec<Placed<'_, '_>> = ctx.workloads().into_iter().map(|w| (Placement::of(w.pod, nodes), w)).collect();
    disruption::run_on(ctx, &placed);
    spread::run_on(ctx, nodes, &placed);
    storage::run_on(ctx, nodes, &placed);
}

/// A workload and where it may run.
pub(crate) type Placed<'n, 'a> = (Placement<'n>, bulkhead_workload::Workload<'a>);

/// The regular containers of a pod spec with their paths.
pub(crate) fn containers<'p>(
    pod_path: &str,
    pod: &'p k8s_openapi::api::core::v1::PodSpec,
) -> Vec<(String, &'p Container)> {
    pod.containers.iter().enumerate().map(|(i, c)| (format!("{pod_path}/containers/{i}"), c)).collect()
}

/// Regular and init containers.
pub(crate) fn all_containers<'p>(
    pod_path: &str,
    pod: &'p k8s_openapi::api::core::v1::PodSpec,
) -> Vec<(String, &'p Container)> {
    let mut out = containers(pod_path, pod);
    out.extend(
        pod.init_containers.iter().flatten().enumerate().map(|(i, c)| (format!("{pod_path}/initContainers/{i}"), c)),
    );
    out
}

/// The most members a quorum of `n` can lose.
pub(crate) use bulkhead_workload::quorum_tolerates as tolerable;
