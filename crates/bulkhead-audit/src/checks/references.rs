//! References between an app's objects.

use std::collections::BTreeSet;

use bulkhead_workload::{Kind, selects, selects_map};

use super::all_containers;
use crate::engine::Ctx;
use crate::registry::*;

pub(super) fn run(ctx: &mut Ctx<'_, '_>) {
    let objects = ctx.objects.clone();
    let workloads = ctx.workloads();
    let services: Vec<_> = objects.iter().filter(|o| matches!(o.kind, Kind::Service(_))).collect();
    for o in &objects {
        match &o.kind {
            Kind::Service(s) => {
                let Some(spec) = &s.spec else { continue };
                let Some(selector) = spec.selector.as_ref().filter(|s| !s.is_empty()) else { continue };
                if spec.type_.as_deref() == Some("ExternalName") {
                    continue;
                }
                let hit =
                    workloads.iter().any(|w| w.object.namespace == o.namespace && selects_map(selector, w.labels));
                if !hit {
                    ctx.report(
                        SERVICE_SELECTS_NOTHING,
                        o,
                        "spec/selector",
                        format!("{} selects none of the app's pods", o.id()),
                    );
                }
            }
            Kind::Ingress(i) => {
                let Some(spec) = &i.spec else { continue };
                let mut backends: Vec<(String, String)> = Vec::new();
                if let Some(svc) = spec.default_backend.as_ref().and_then(|b| b.service.as_ref()) {
                    backends.push(("spec/defaultBackend".into(), svc.name.clone()));
                }
                for (ri, rule) in spec.rules.iter().flatten().enumerate() {
                    for (pi, path) in rule.http.iter().flat_map(|h| h.paths.iter()).enumerate() {
                        if let Some(svc) = &path.backend.service {
                            backends.push((format!("spec/rules/{ri}/http/paths/{pi}/backend"), svc.name.clone()));
                        }
                    }
                }
                for (path, name) in backends {
                    if !services.iter().any(|s| s.name == name && s.namespace == o.namespace) {
                        ctx.report(
                            INGRESS_BACKEND_MISSING,
                            o,
                            &path,
                            format!("{} routes to Service `{name}`, which the app does not have", o.id()),
                        );
                    }
                }
            }
            Kind::CronJob(c) if c.spec.starting_deadline_seconds.is_none() => {
                ctx.report(CRONJOB_DEADLINE_MISSING, o, "spec", format!("{} has no startingDeadlineSeconds", o.id()));
            }
            _ => {}
        }
    }
    for w in &workloads {
        let o = w.object;
        if let Kind::StatefulSet(s) = &o.kind {
            let name = s.spec.as_ref().and_then(|s| s.service_name.clone()).unwrap_or_default();
            let headless = services.iter().any(|x| match &x.kind {
                Kind::Service(svc) => {
                    x.name == name
                        && x.namespace == o.namespace
                        && svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None")
                }
                _ => false,
            });
            if !headless {
                ctx.report(
                    STATEFULSET_SERVICE_MISSING,
                    o,
                    "spec/serviceName",
                    format!("{}'s serviceName `{name}` is not a headless Service of the app", o.id()),
                );
            }
        }
        if let Some(sel) = w.selector
            && !matches!(o.kind, Kind::Job(_) | Kind::CronJob(_))
            && !selects(sel, w.labels)
        {
            ctx.report(
                SELECTOR_TEMPLATE_MISMATCH,
                o,
                "spec/selector",
                format!("{}'s selector does not match its pod template's labels", o.id()),
            );
        }
        for (path, c) in all_containers(&w.pod_path, w.pod) {
            let mut seen = BTreeSet::new();
            for (i, e) in c.env.iter().flatten().enumerate() {
                if !seen.insert(e.name.as_str()) {
                    ctx.report(
                        ENV_DUPLICATE,
                        o,
                        &format!("{path}/env/{i}"),
                        format!("{}: container `{}` sets `{}` twice", o.id(), c.name, e.name),
                    );
                }
            }
        }
    }
}
