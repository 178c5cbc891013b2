//! HorizontalPodAutoscalers.

use bulkhead_workload::Kind;

use crate::engine::Ctx;
use crate::registry::*;

pub(super) fn run(ctx: &mut Ctx<'_, '_>) {
    for o in ctx.objects.clone() {
        let Kind::Hpa(h) = &o.kind else { continue };
        let spec = &h.spec;
        let min = spec.min_replicas.unwrap_or(1);
        if min < 2 {
            ctx.report(
                HPA_MIN_REPLICAS,
                o,
                if spec.min_replicas.is_some() { "spec/minReplicas" } else { "spec" },
                format!("{} may scale down to {min} replica", o.id()),
            );
        }
        if spec.max_replicas <= min {
            ctx.report(
                HPA_MAX_NOT_ABOVE_MIN,
                o,
                "spec/maxReplicas",
                format!("{} has maxReplicas {} and minReplicas {min}: it cannot scale", o.id(), spec.max_replicas),
            );
        }
        let t = &spec.scale_target_ref;
        let target = ctx
            .objects
            .iter()
            .copied()
            .find(|x| x.kind_name == t.kind && x.name == t.name && x.namespace == o.namespace);
        match target {
            None => ctx.report(
                HPA_TARGET_MISSING,
                o,
                "spec/scaleTargetRef",
                format!("{} scales {} `{}`, which the app does not have", o.id(), t.kind, t.name),
            ),
            Some(target) => {
                if target.workload().is_some_and(|w| w.replicas_set) {
                    ctx.report(
                        HPA_FIXED_REPLICAS,
                        target,
                        "spec/replicas",
                        format!(
                            "{} sets replicas although {} scales it: every apply resets the count",
                            target.id(),
                            o.id()
                        ),
                    );
                }
            }
        }
    }
}
