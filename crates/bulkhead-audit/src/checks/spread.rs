//! Spreading replicas over nodes and zones, and whether the target
//! clusters can satisfy what the pods require.

use bulkhead_workload::ClusterNodes;
use bulkhead_workload::nodes::ZONE_LABEL;
use bulkhead_workload::scheduling::{ReplacementRule, Rule, SpreadLevel, place_replacements, rule, worst_case};

use crate::engine::Ctx;
use crate::registry::*;

fn multi(ctx: &Ctx<'_, '_>, w: &bulkhead_workload::Workload<'_>) -> Option<u32> {
    let n = ctx.min_replicas(w);
    (w.object.is_service_like() && !matches!(w.object.kind, bulkhead_workload::Kind::DaemonSet(_)) && n >= 2)
        .then_some(n)
}

/// The zone a workload is pinned to by nodeSelector or required node
/// affinity, when it allows exactly one.
fn pinned_zone(pod: &k8s_openapi::api::core::v1::PodSpec) -> Option<(String, String)> {
    if let Some(z) = pod.node_selector.as_ref().and_then(|s| s.get(ZONE_LABEL)) {
        return Some((z.clone(), "nodeSelector".into()));
    }
    let terms = pod
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms
        .as_slice();
    let mut zones: Vec<&String> = Vec::new();
    for t in terms {
        let zone_terms: Vec<_> =
            t.match_expressions.iter().flatten().filter(|e| e.key == ZONE_LABEL && e.operator == "In").collect();
        if zone_terms.is_empty() {
            return None; // one term allows any zone
        }
        for e in zone_terms {
            zones.extend(e.values.iter().flatten());
        }
    }
    zones.sort();
    zones.dedup();
    (zones.len() == 1).then(|| (zones[0].clone(), "affinity/nodeAffinity".into()))
}

pub(super) fn run(ctx: &mut Ctx<'_, '_>) {
    for w in ctx.workloads() {
        if let Some((zone, field)) = pinned_zone(w.pod) {
            ctx.report(
                NODE_AFFINITY_SINGLE_ZONE,
                w.object,
                &format!("{}/{field}", w.pod_path),
                format!("{} can only run in zone `{zone}`", w.object.id()),
            );
        }
        let Some(n) = multi(ctx, &w) else { continue };
        let node_rule = rule(w.pod, w.labels, SpreadLevel::Node);
        let zone_rule = rule(w.pod, w.labels, SpreadLevel::Zone);
        if node_rule == Rule::None && zone_rule != Rule::OnePerDomain {
            ctx.report(
                SPREAD_NODE_MISSING,
                w.object,
                &w.pod_path,
                format!("{}'s {n} replicas may share a node: nothing spreads them over nodes", w.object.id()),
            );
        }
    }
}

pub(super) fn run_on<'a>(ctx: &mut Ctx<'_, 'a>, nodes: &ClusterNodes, placed: &[super::Placed<'_, 'a>]) {
    for (p, w) in placed {
        if p.groups.is_empty() && !nodes.groups.is_empty() {
            ctx.report(
                NODE_SELECTOR_UNMATCHED,
                w.object,
                &w.pod_path,
                format!(
                    "no node pool of the cluster matches {}'s node selector, affinity and tolerations: its pods stay Pending",
                    w.object.id()
                ),
            );
            continue;
        }
        let Some(n) = multi(ctx, w) else { continue };
        let zones = p.zones;
        if zones > 1 && rule(w.pod, w.labels, SpreadLevel::Zone) == Rule::None {
            ctx.report(
                SPREAD_ZONE_MISSING,
                w.object,
                &w.pod_path,
                format!("{}'s {n} replicas may all land in one of the cluster's {zones} zones", w.object.id()),
            );
        }
        if zones > 1 {
            zone_outage_recovery(ctx, w, n, zones);
        }
        for level in [SpreadLevel::Zone, SpreadLevel::Rack, SpreadLevel::Node] {
            let count = p.domains(level);
            if level == SpreadLevel::Rack && count == 0 {
                continue;
            }
            let r = rule(w.pod, w.labels, level);
            let worst = worst_case(r, n, count);
            if worst.pending > 0 && nodes.node_count() > 0 {
                let what = match level {
                    SpreadLevel::Zone => "zones",
                    SpreadLevel::Rack => "racks",
                    SpreadLevel::Node => "nodes",
                };
                ctx.report(
                    SPREAD_UNSATISFIABLE,
                    w.object,
                    &w.pod_path,
                    format!(
                        "{} requires its {n} replicas spread over {what}, and the cluster offers it {count}: {} stay Pending",
                        w.object.id(),
                        worst.pending
                    ),
                );
            }
        }
    }
}

/// Whether a one-zone outage leaves replacements Pending: the zone holding
/// the most replicas fails, the others hold the rest as evenly as the spread
/// keeps them, and the scheduler places the lost ones (as the blast radius
/// predicts it).
fn zone_outage_recovery<'a>(ctx: &mut Ctx<'_, 'a>, w: &bulkhead_workload::Workload<'a>, n: u32, zones: u32) {
    let replacement = ReplacementRule::of(w.pod, w.labels, SpreadLevel::Zone);
    if replacement == ReplacementRule::Free || (replacement == ReplacementRule::OnePerDomain && n > zones) {
        return; // nothing required; or more replicas than zones, which spread-unsatisfiable reports
    }
    let lost = worst_case(rule(w.pod, w.labels, SpreadLevel::Zone), n, zones).max_per_domain;
    let (k, rest) = (zones - 1, n - lost);
    let surviving: Vec<u32> = (0..k).map(|i| rest / k + u32::from(i < rest % k)).collect();
    let r = place_replacements(replacement, &surviving, 1, lost);
    if r.pending > 0 {
        ctx.report(
            SPREAD_ZONE_OUTAGE_STUCK,
            w.object,
            &format!("{}/topologySpreadConstraints", w.pod_path),
            format!(
                "if a zone fails, {} {} there {} Pending until it returns: {}",
                match (r.pending, lost) {
                    (_, 1) => "the replica of".to_string(),
                    (p, l) if p == l => format!("all {l} replicas of"),
                    (p, l) => format!("{p} of the {l} replicas of"),
                },
                w.object.id(),
                if r.pending == 1 { "stays" } else { "stay" },
                r.why.unwrap_or_default()
            ),
        );
    }
}
