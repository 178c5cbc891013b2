//! Health probes on serving containers.

use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::containers;
use crate::engine::Ctx;
use crate::registry::*;

/// The handler of a probe, for comparing two probes.
fn handler(p: &Probe) -> serde_json::Value {
    serde_json::json!([p.exec, p.http_get, p.tcp_socket, p.grpc])
}

fn named_port(p: &Probe) -> Option<&str> {
    let port = p.http_get.as_ref().map(|h| &h.port).or(p.tcp_socket.as_ref().map(|t| &t.port))?;
    match port {
        IntOrString::String(name) => Some(name.as_str()),
        IntOrString::Int(_) => None,
    }
}

fn declares(c: &Container, name: &str) -> bool {
    c.ports.iter().flatten().any(|p| p.name.as_deref() == Some(name))
}

pub(super) fn run(ctx: &mut Ctx<'_, '_>) {
    let slow_start = ctx.settings.param(PROBE_STARTUP_MISSING, "slowStartSeconds");
    for w in ctx.workloads() {
        if !w.object.is_service_like() {
            continue;
        }
        for (path, c) in containers(&w.pod_path, w.pod) {
            let serving = c.ports.as_ref().is_some_and(|p| !p.is_empty());
            let what = format!("{}: container `{}`", w.object.id(), c.name);
            if serving && c.readiness_probe.is_none() {
                ctx.report(
                    PROBE_READINESS_MISSING,
                    w.object,
                    &path,
                    format!("{what} serves ports but has no readiness probe"),
                );
            }
            if serving && c.liveness_probe.is_none() {
                ctx.report(
                    PROBE_LIVENESS_MISSING,
                    w.object,
                    &path,
                    format!("{what} serves ports but has no liveness probe"),
                );
            }
            if let (Some(r), Some(l)) = (&c.readiness_probe, &c.liveness_probe)
                && handler(r) == handler(l)
            {
                ctx.report(
                    PROBE_LIVENESS_EQUALS_READINESS,
                    w.object,
                    &format!("{path}/livenessProbe"),
                    format!("{what} has a liveness probe identical to its readiness probe"),
                );
            }
            if let Some(l) = &c.liveness_probe
                && i64::from(l.initial_delay_seconds.unwrap_or(0)) >= slow_start
                && c.startup_probe.is_none()
            {
                ctx.report(
                    PROBE_STARTUP_MISSING,
                    w.object,
                    &format!("{path}/livenessProbe/initialDelaySeconds"),
                    format!(
                        "{what} waits {} s before liveness checks instead of using a startup probe",
                        l.initial_delay_seconds.unwrap_or(0)
                    ),
                );
            }
            for (field, probe) in [
                ("readinessProbe", &c.readiness_probe),
                ("livenessProbe", &c.liveness_probe),
                ("startupProbe", &c.startup_probe),
            ] {
                if let Some(name) = probe.as_ref().and_then(named_port)
                    && !declares(c, name)
                {
                    ctx.report(
                        PROBE_PORT_UNKNOWN,
                        w.object,
                        &format!("{path}/{field}"),
                        format!("{what}'s {field} uses port `{name}`, which the container does not declare"),
                    );
                }
            }
        }
    }
}
