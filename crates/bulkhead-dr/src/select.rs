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
    /// Only objects whose labels match (the API server selects them).
    pub labels: Option<kube::core::Selector>,
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

    /// The label selector to list resource `group`/`plural` with: none for
    /// the namespaces and the custom resource definitions, which come along
    /// whole (what the selected objects need to be restored elsewhere).
    pub fn labels_for(&self, group: &str, plural: &str) -> Option<&kube::core::Selector> {
        let structure =
            matches!((group, plural), ("", "namespaces") | ("apiextensions.k8s.io", "customresourcedefinitions"));
        self.labels.as_ref().filter(|_| !structure)
    }

    /// Whether `object` of kind `kind` in `group` is backed up.
    pub fn wants_object(&self, group: &str, kind: &str, object: &Value) -> bool {
        if (group, kind) == ("", "Namespace") && !self.namespaces.is_empty() {
            let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
            return self.namespaces.iter().any(|n| n == name);
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
}
