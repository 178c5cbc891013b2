//! Requests, limits and priority.

use super::containers;
use crate::engine::Ctx;
use crate::registry::*;

pub(super) fn run(ctx: &mut Ctx<'_, '_>) {
    let tier = ctx.app.sla.tier;
    for w in ctx.workloads() {
        let o = w.object;
        for (path, c) in containers(&w.pod_path, w.pod) {
            let res = c.resources.as_ref();
            let requests = res.and_then(|r| r.requests.as_ref());
            let limits = res.and_then(|r| r.limits.as_ref());
            let has = |m: Option<&std::collections::BTreeMap<String, _>>, k: &str| m.is_some_and(|m| m.contains_key(k));
            let what = format!("{}: container `{}`", o.id(), c.name);
            let missing: Vec<&str> = ["cpu", "memory"].into_iter().filter(|k| !has(requests, k)).collect();
            if !missing.is_empty() {
                ctx.report(
                    RESOURCES_REQUESTS_MISSING,
                    o,
                    &path,
                    format!("{what} has no {} request", missing.join(" or ")),
                );
            }
            if !has(limits, "memory") {
                ctx.report(RESOURCES_MEMORY_LIMIT_MISSING, o, &path, format!("{what} has no memory limit"));
            }
            if !has(limits, "cpu") {
                ctx.report(RESOURCES_CPU_LIMIT_MISSING, o, &path, format!("{what} has no CPU limit"));
            }
            if !has(requests, "ephemeral-storage") || !has(limits, "ephemeral-storage") {
                ctx.report(
                    RESOURCES_EPHEMERAL_STORAGE_MISSING,
                    o,
                    &path,
                    format!("{what} has no ephemeral-storage request and limit"),
                );
            }
        }
        match w.pod.priority_class_name.as_deref() {
            None | Some("") if tier == 1 && o.is_service_like() => ctx.report(
                PRIORITY_CLASS_MISSING,
                o,
                &w.pod_path,
                format!("{} belongs to a tier-1 app but has no priorityClassName", o.id()),
            ),
            Some(name) if !name.is_empty() && !ctx.priority_classes.contains(name) => ctx.report(
                PRIORITY_CLASS_UNKNOWN,
                o,
                &format!("{}/priorityClassName", w.pod_path),
                format!("{} uses PriorityClass `{name}`, which no manifest of the fleet defines", o.id()),
            ),
            _ => {}
        }
    }
}
