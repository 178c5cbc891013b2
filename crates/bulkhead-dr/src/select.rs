//! What a backup holds: every resource the cluster serves except its own
//! runtime state and the noise controllers regenerate, narrowed by
//! namespace, resource and label. Pure.

use serde_json::Value;

/// Resources a backup leaves out unless asked for: the controllers make
/// them again from what is backed up. (One cluster's own state, such as
/// nodes, events and leases, is never exported at all.)
pub const NOISE: &[(&str, &str, &str)] = &[
    ("", "endpoints", "the endpoints controller rebuilds them from Services"),
    ("discovery.k8s.io", "endpointslices", "the EndpointSlice controller rebuilds them from Services"),
    ("apps", "controllerrevisions", "StatefulSets and DaemonSets record their revisions again"),
];

/// Kinds left out when a controller owns them: their owner recreates them.
const OWNED: &[(&str, &str)] = &[("", "Pod"), ("apps", "ReplicaSet"), ("batch", "Job")];

/// The choice of what to back up.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these namespaces (cluster-scoped objects are then left out); empty: all.
    pub namespaces: Vec<String>,
    /// Only these resources (`configmaps`, `deployments.apps`); empty: all.
    pub resources: Vec<String>,
    /// Never these resources.
    pub exclude_resources: Vec<String>,
    /// Only objects with these labels (`key=value` or `key`).
    pub labels: Vec<(String, Option<String>)>,
    /// Keep the noise too.
    pub include_noise: bool,
}

impl Selection {
    /// Whether resource `folder` (`plural[.group]`) of `group`/`plural` is backed up.
    /// With namespaces chosen, cluster-scoped resources are left out except
    /// the namespaces themselves and the custom resource definitions (what
    /// the namespaces' objects need to be restored elsewhere).
    pub fn wants_resource(&self, group: &str, plural: &str, folder: &str, namespaced: bool) -> bool {
        let needed =
            matches!((group, plural), ("", "namespaces") | ("apiextensions.k8s.io", "customresourcedefinitions"));
        if !self.namespaces.is_empty() && !namespaced && !needed {
            return false;
        }
        if !self.resources.is_empty() && !self.resources.iter().any(|r| r == folder || r == plural) {
            return false;
        }
        if self.exclude_resources.iter().any(|r| r == folder || r == plural) {
            return false;
        }
        self.include_noise || !NOISE.iter().any(|(g, p, _)| *g == group && *p == plural)
    }

    /// Whether `object` of kind `kind` in `group` is backed up.
    pub fn wants_object(&self, group: &str, kind: &str, object: &Value) -> bool {
        if (group, kind) == ("", "Namespace") && !self.namespaces.is_empty() {
            let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
            return self.namespaces.iter().any(|n| n == name);
        }
        let labels = object.pointer("/metadata/labels");
        let label_ok = self.labels.iter().all(|(k, v)| match (labels.and_then(|l| l.get(k)), v) {
            (Some(have), Some(want)) => have.as_str() == Some(want.as_str()),
            (Some(_), None) => true,
            (None, _) => false,
        });
        if !label_ok {
            return false;
        }
        if self.include_noise || !OWNED.contains(&(group, kind)) {
            return true;
        }
        let owned = object
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .is_some_and(|refs| refs.iter().any(|r| r["controller"] == true));
        !owned
    }
}

/// Reads `key=value` (or `key`) label selectors separated by commas.
///
/// # Errors
/// When a term is empty or uses an operator Bulkhead does not read (`!=`, `in`).
pub fn parse_labels(text: &str) -> Result<Vec<(String, Option<String>)>, String> {
    text.split(',')
        .map(str::trim)
        .map(|term| {
            if term.is_empty() || term.contains("!=") || term.contains(' ') {
                return Err(format!("`{term}` is not a `key=value` or `key` selector"));
            }
            Ok(match term.split_once('=') {
                Some((k, v)) => (k.trim_end_matches('=').to_string(), Some(v.trim_start_matches('=').to_string())),
                None => (term.to_string(), None),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn noise_and_owned_objects_stay_out_unless_asked_for() {
        let s = Selection::default();
        assert!(!s.wants_resource("discovery.k8s.io", "endpointslices", "endpointslices.discovery.k8s.io", true));
        assert!(s.wants_resource("apps", "deployments", "deployments.apps", true));
        let owned = json!({"metadata": {"name": "p", "ownerReferences": [{"kind": "ReplicaSet", "controller": true}]}});
        assert!(!s.wants_object("", "Pod", &owned));
        assert!(s.wants_object("", "Pod", &json!({"metadata": {"name": "bare"}})));
        let all = Selection { include_noise: true, ..Selection::default() };
        assert!(all.wants_object("", "Pod", &owned));
        let ns = Selection { namespaces: vec!["shop".into()], ..Selection::default() };
        assert!(!ns.wants_resource("", "nodes", "nodes", false));
        assert!(ns.wants_resource("", "namespaces", "namespaces", false));
        assert!(ns.wants_object("", "Namespace", &json!({"metadata": {"name": "shop"}})));
        assert!(!ns.wants_object("", "Namespace", &json!({"metadata": {"name": "other"}})));
    }

    #[test]
    fn labels_select() {
        let s = Selection { labels: parse_labels("app=web,tier").unwrap(), ..Selection::default() };
        assert!(s.wants_object("", "ConfigMap", &json!({"metadata": {"labels": {"app": "web", "tier": "x"}}})));
        assert!(!s.wants_object("", "ConfigMap", &json!({"metadata": {"labels": {"app": "db", "tier": "x"}}})));
        assert!(parse_labels("a!=b").is_err());
        assert!(parse_labels("").is_err());
    }
}
