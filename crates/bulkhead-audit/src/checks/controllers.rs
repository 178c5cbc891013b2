//! Controllers and replica counts.

use bulkhead_model::Severity;
use bulkhead_workload::Kind;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::tolerable;
use crate::engine::Ctx;
use crate::registry::*;

pub(super) fn run(ctx: &mut Ctx<'_, '_>) {
    let tier = ctx.app.sla.tier;
    let min = ctx.settings.param(REPLICAS_MINIMUM, "min").max(1) as u32;
    for w in ctx.workloads() {
        let o = w.object;
        match &o.kind {
            Kind::Pod(p) if p.metadata.owner_references.as_ref().is_none_or(|r| r.is_empty()) => {
                ctx.report(
                    BARE_POD,
                    o,
                    "kind",
                    format!("{} is a bare Pod: nothing replaces it when its node fails", o.id()),
                );
            }
            Kind::ReplicaSet(r) if r.metadata.owner_references.as_ref().is_none_or(|r| r.is_empty()) => {
                ctx.report(
                    BARE_POD,
                    o,
                    "kind",
                    format!("{} is a ReplicaSet without a Deployment: it cannot be rolled out", o.id()),
                );
            }
            _ => {}
        }
        if matches!(o.kind, Kind::Deployment(_) | Kind::StatefulSet(_) | Kind::ReplicaSet(_))
            && tier <= 2
            && ctx.hpa_of(o).is_none()
            && w.replicas < min
        {
            let severity = if tier == 1 { Severity::Error } else { Severity::Warning };
            ctx.report_as(
                REPLICAS_MINIMUM,
                severity,
                o,
                if w.replicas_set { "spec/replicas" } else { "spec" },
                format!(
                    "{} runs {} replica{} in a tier-{tier} app; at least {min} are needed",
                    o.id(),
                    w.replicas,
                    if w.replicas == 1 { "" } else { "s" }
                ),
            );
        }
        if w.is_quorum() && w.replicas >= 2 && w.replicas % 2 == 0 {
            ctx.report(
                STATEFULSET_QUORUM_EVEN,
                o,
                "spec/replicas",
                format!(
                    "{} is a quorum system with {} members: it survives {} member failure{}, as {} members would",
                    o.id(),
                    w.replicas,
                    tolerable(w.replicas),
                    if tolerable(w.replicas) == 1 { "" } else { "s" },
                    w.replicas - 1
                ),
            );
        }
        if let Kind::DaemonSet(d) = &o.kind {
            let strategy = d.spec.as_ref().and_then(|s| s.update_strategy.as_ref());
            match strategy.and_then(|s| s.type_.as_deref()) {
                Some("OnDelete") => ctx.report(
                    DAEMONSET_UPDATE_STRATEGY,
                    o,
                    "spec/updateStrategy/type",
                    format!("{} uses OnDelete: new versions reach nodes only when someone deletes its pods", o.id()),
                ),
                _ => {
                    let max = strategy.and_then(|s| s.rolling_update.as_ref()).and_then(|r| r.max_unavailable.as_ref());
                    let too_many = match max {
                        Some(IntOrString::Int(n)) => *n > 1,
                        Some(IntOrString::String(p)) => p.trim_end_matches('%').parse::<u32>().is_ok_and(|p| p > 25),
                        None => false,
                    };
                    if too_many {
                        ctx.report(
                            DAEMONSET_UPDATE_STRATEGY,
                            o,
                            "spec/updateStrategy/rollingUpdate/maxUnavailable",
                            format!("{} may take its agent off many nodes at once during a rollout", o.id()),
                        );
                    }
                }
            }
        }
    }
}
