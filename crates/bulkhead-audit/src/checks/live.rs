//! What only a running cluster shows: replicas bunched on one node or in one
//! zone right now, and budgets that block evictions right now.

use std::collections::BTreeSet;

use bulkhead_workload::{ClusterNodes, Kind, selects};

use crate::engine::{Ctx, LivePods};
use crate::registry::*;

pub(crate) fn run(ctx: &mut Ctx<'_, '_>, live: &LivePods, nodes: Option<&ClusterNodes>) {
    for w in ctx.workloads() {
        if !w.object.is_service_like() || matches!(w.object.kind, Kind::DaemonSet(_)) {
            continue;
        }
        let Some(selector) = w.selector else { continue };
        let running: Vec<&String> = live
            .pods
            .iter()
            .filter(|(ns, labels, _)| *ns == w.object.namespace && selects(selector, Some(labels)))
            .map(|(_, _, node)| node)
            .collect();
        if running.len() < 2 {
            continue;
        }
        let node_set: BTreeSet<&String> = running.iter().copied().collect();
        if node_set.len() == 1 {
            ctx.report(
                LIVE_PODS_ONE_NODE,
                w.object,
                "metadata/name",
                format!("all {} running pods of {} are on node `{}`", running.len(), w.object.id(), running[0]),
            );
            continue;
        }
        let zones: BTreeSet<&String> = running.iter().filter_map(|n| live.node_zones.get(*n)).collect();
        let cluster_zones =
            nodes.map_or_else(|| live.node_zones.values().collect::<BTreeSet<_>>().len(), |n| n.zones.len());
        if zones.len() == 1 && cluster_zones > 1 {
            ctx.report(
                LIVE_PODS_ONE_ZONE,
                w.object,
                "metadata/name",
                format!(
                    "all {} running pods of {} are in zone `{}`, of the cluster's {cluster_zones}",
                    running.len(),
                    w.object.id(),
                    zones.iter().next().expect("one zone")
                ),
            );
        }
    }
    for o in ctx.objects.clone() {
        if let Kind::Pdb(p) = &o.kind
            && let Some(status) = &p.status
            && status.disruptions_allowed == Some(0)
            && status.expected_pods.unwrap_or(0) > 0
        {
            ctx.report(
                LIVE_PDB_BLOCKING,
                o,
                "status",
                format!(
                    "{} allows no eviction now ({} of {} pods healthy, {} needed)",
                    o.id(),
                    status.current_healthy.unwrap_or(0),
                    status.expected_pods.unwrap_or(0),
                    status.desired_healthy.unwrap_or(0)
                ),
            );
        }
    }
}
