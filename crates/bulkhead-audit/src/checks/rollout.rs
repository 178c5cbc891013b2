//! Rollout strategies and images.

use bulkhead_workload::Kind;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::all_containers;
use crate::engine::Ctx;
use crate::registry::*;

/// Whether an image reference is mutable: no tag, or `latest`, and no digest.
pub(crate) fn mutable_tag(image: &str) -> Option<&'static str> {
    if image.contains('@') {
        return None;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        None => Some("has no tag"),
        Some((_, "latest")) => Some("uses `latest`"),
        Some(_) => None,
    }
}

pub(super) fn run(ctx: &mut Ctx<'_, '_>) {
    for w in ctx.workloads() {
        let o = w.object;
        let n = ctx.min_replicas(&w);
        if let Kind::Deployment(d) = &o.kind
            && let Some(strategy) = d.spec.as_ref().and_then(|s| s.strategy.as_ref())
        {
            match strategy.type_.as_deref() {
                Some("Recreate") => ctx.report(
                    ROLLOUT_RECREATE,
                    o,
                    "spec/strategy/type",
                    format!("{} uses the Recreate strategy: every rollout stops all pods first", o.id()),
                ),
                _ => {
                    let max = strategy.rolling_update.as_ref().and_then(|r| r.max_unavailable.as_ref());
                    let all = match max {
                        Some(IntOrString::Int(k)) => *k >= 1 && *k as u32 >= n,
                        Some(IntOrString::String(p)) => p.trim() == "100%",
                        None => false,
                    };
                    if all {
                        ctx.report(
                            ROLLOUT_MAX_UNAVAILABLE_ALL,
                            o,
                            "spec/strategy/rollingUpdate/maxUnavailable",
                            format!("{}'s rollouts may take all {n} of its replicas down at once", o.id()),
                        );
                    }
                }
            }
        }
        for (path, c) in all_containers(&w.pod_path, w.pod) {
            let image = c.image.as_deref().unwrap_or_default();
            if let Some(why) = mutable_tag(image) {
                ctx.report(
                    IMAGE_TAG_MUTABLE,
                    o,
                    &format!("{path}/image"),
                    format!("{}: container `{}` image `{image}` {why}", o.id(), c.name),
                );
            }
            match c.image_pull_policy.as_deref() {
                Some("Never") => ctx.report(
                    IMAGE_PULL_POLICY_NEVER,
                    o,
                    &format!("{path}/imagePullPolicy"),
                    format!("{}: container `{}` never pulls its image", o.id(), c.name),
                ),
                Some("Always") => {}
                _ => ctx.report(
                    IMAGE_PULL_POLICY_ALWAYS,
                    o,
                    &path,
                    format!("{}: container `{}` does not set imagePullPolicy: Always", o.id(), c.name),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::mutable_tag;

    #[test]
    fn tags() {
        assert_eq!(mutable_tag("nginx"), Some("has no tag"));
        assert_eq!(mutable_tag("nginx:latest"), Some("uses `latest`"));
        assert_eq!(mutable_tag("registry:5000/team/app"), Some("has no tag"));
        assert_eq!(mutable_tag("registry:5000/team/app:1.2"), None);
        assert_eq!(mutable_tag("app@sha256:abc"), None);
    }
}
