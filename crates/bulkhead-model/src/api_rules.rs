//! Rules the API server enforces beyond its OpenAPI schema, for the kinds
//! fleets are made of. The schema says which fields exist and their types; it
//! lets a `Deployment` with no `spec`, a pod with no containers or a topology
//! spread with `maxSkew: 0` through, and `kubectl apply` then fails. These are
//! the checks of the API server's own validation (`pkg/apis/*/validation`)
//! that a manifest can fail, reported before anything reaches a cluster.

use std::path::Path;

use crate::diagnostic::{Code, Diagnostic};
use crate::yaml::{Node, Value};

/// Where the pod template of each workload kind sits, as path segments from
/// the object's root; `None` for kinds without one.
pub fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" | "ReplicationController" => {
            Some(&["spec", "template", "spec"])
        }
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        "Pod" => Some(&["spec"]),
        _ => None,
    }
}

/// The number of a percentage as the API server validates it (`^[0-9]+%$`,
/// at most 100); `None` for anything else, `"34"` included.
pub fn percent(s: &str) -> Option<u64> {
    let digits = s.strip_suffix('%')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok().filter(|p| *p <= 100)
}

/// Checks one object (`kind` at `api_version`) and appends a diagnostic per
/// broken rule.
pub(crate) fn check(file: &Path, api_version: &str, kind: &str, node: &Node, out: &mut Vec<Diagnostic>) {
    let mut ctx = Rules { file, node, out };
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    // Fields required under `spec`, for the kinds that require `spec`. A
    // selector that misses the template's labels is refused too; the audit's
    // `selector-template-mismatch` reports that one.
    let under_spec: Option<&[&[&str]]> = match (group, kind) {
        ("apps", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet") => {
            Some(&[&["spec", "selector"], &["spec", "template"]])
        }
        ("batch", "Job") => Some(&[&["spec", "template"]]),
        ("batch", "CronJob") => Some(&[&["spec", "schedule"], &["spec", "jobTemplate", "spec", "template"]]),
        ("", "Pod") => Some(&[]),
        _ => None,
    };
    if let Some(paths) = under_spec
        && ctx.require(&["spec"], kind)
    {
        for path in paths {
            ctx.require(path, kind);
        }
    }
    if (group, kind) == ("policy", "PodDisruptionBudget") {
        ctx.budget();
    }
    if let Some(path) = pod_spec_path(kind)
        && let (pod, true) = node.locate(path)
    {
        ctx.pod_spec(pod, kind);
    }
}

struct Rules<'a> {
    file: &'a Path,
    node: &'a Node,
    out: &'a mut Vec<Diagnostic>,
}

impl Rules<'_> {
    /// Reports `path` missing (at its nearest parent); returns whether it is there.
    fn require(&mut self, path: &[&str], kind: &str) -> bool {
        let (at, found) = self.node.locate(path);
        if !found {
            let field = path.join(".");
            self.out.push(
                Diagnostic::error(Code::MissingField, self.file, Some(at.span), format!("{kind} has no `{field}`"))
                    .with_hint(format!("the API server requires `{field}`; `kubectl apply` would refuse this {kind}")),
            );
        }
        found
    }

    fn pod_spec(&mut self, pod: &Node, kind: &str) {
        match pod.get("containers").map(|c| &c.value) {
            Some(Value::Seq(items)) if !items.is_empty() => {}
            Some(Value::Seq(_)) | Some(Value::Null) | None => {
                self.out.push(
                    Diagnostic::error(
                        Code::MissingField,
                        self.file,
                        Some(pod.get("containers").map_or(pod.span, |c| c.span)),
                        format!("the pod template of this {kind} has no containers"),
                    )
                    .with_hint("a pod needs at least one entry under `containers`"),
                );
            }
            Some(_) => {} // a wrong type is the schema's to report
        }
        let Some(Value::Seq(constraints)) = pod.get("topologySpreadConstraints").map(|c| &c.value) else { return };
        for c in constraints {
            if let Some(skew) = c.get("maxSkew")
                && matches!(skew.value, Value::Int(v) if v < 1)
            {
                self.out.push(
                    Diagnostic::error(Code::InvalidValue, self.file, Some(skew.span), "`maxSkew` must be at least 1")
                        .with_hint("1 spreads pods as evenly as possible"),
                );
            }
            if let Some(min) = c.get("minDomains") {
                if matches!(min.value, Value::Int(v) if v < 1) {
                    self.out.push(
                        Diagnostic::error(
                            Code::InvalidValue,
                            self.file,
                            Some(min.span),
                            "`minDomains` must be at least 1",
                        )
                        .with_hint("leave it out to mean 1"),
                    );
                }
                if c.get("whenUnsatisfiable").and_then(Node::as_str) != Some("DoNotSchedule") {
                    self.out.push(
                        Diagnostic::error(
                            Code::InvalidValue,
                            self.file,
                            Some(min.span),
                            "`minDomains` only works with `whenUnsatisfiable: DoNotSchedule`",
                        )
                        .with_hint("set `whenUnsatisfiable: DoNotSchedule`, or remove `minDomains`"),
                    );
                }
            }
        }
    }

    /// `minAvailable` and `maxUnavailable`: not both, each a count of at
    /// least 0 or a percentage `N%` of at most 100%.
    fn budget(&mut self) {
        let Some(spec) = self.node.get("spec") else { return };
        let min = spec.entry("minAvailable");
        let max = spec.entry("maxUnavailable");
        if let (Some(_), Some(m)) = (min, max) {
            self.out.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    self.file,
                    Some(m.key_span),
                    "a PodDisruptionBudget sets `minAvailable` or `maxUnavailable`, not both",
                )
                .with_hint("keep one of them"),
            );
        }
        for entry in [min, max].into_iter().flatten() {
            let valid = match &entry.value.value {
                Value::Int(v) => *v >= 0,
                Value::String(s) => percent(s).is_some(),
                _ => true, // a wrong type is the schema's to report
            };
            if !valid {
                self.out.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        self.file,
                        Some(entry.value.span),
                        format!("`{}` must be a count of at least 0 or a percentage such as `50%`", entry.key),
                    )
                    .with_hint("percentages end in `%` and are at most 100%"),
                );
            }
        }
    }
}
