//! Which kinds are cluster-scoped, known before any cluster is asked: the
//! built-in ones of the pinned Kubernetes release, and custom kinds whose
//! definitions are among the desired objects. Rendering needs this to give a
//! namespaced object its app's namespace and to leave a cluster-scoped one
//! alone; at plan time the cluster's discovery has the final word.

use std::collections::BTreeSet;

use serde_json::Value;

/// Cluster-scoped kinds of Kubernetes v1.36, by group and kind. The schema
/// Bulkhead embeds has no scopes (they live in the API's paths, not its
/// definitions), so the list is written here; it changes a few times a
/// decade, and a kind missing from it is corrected by discovery at plan time.
const BUILT_IN: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("", "ComponentStatus"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("certificates.k8s.io", "ClusterTrustBundle"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "IPAddress"),
    ("networking.k8s.io", "ServiceCIDR"),
    ("node.k8s.io", "RuntimeClass"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("resource.k8s.io", "DeviceClass"),
    ("resource.k8s.io", "ResourceSlice"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("storage.k8s.io", "VolumeAttributesClass"),
    ("storagemigration.k8s.io", "StorageVersionMigration"),
];

/// The cluster-scoped kinds: built-in, plus custom ones defined by desired
/// CustomResourceDefinitions.
#[derive(Debug, Clone, Default)]
pub struct Scopes {
    custom: BTreeSet<(String, String)>,
}

impl Scopes {
    /// Learns the custom kinds that `objects` define.
    pub fn with_definitions<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Self {
        let mut custom = BTreeSet::new();
        for o in objects {
            if o["kind"] == "CustomResourceDefinition"
                && o["apiVersion"].as_str().is_some_and(|v| v.starts_with("apiextensions.k8s.io/"))
                && o.pointer("/spec/scope").and_then(Value::as_str) == Some("Cluster")
                && let (Some(group), Some(kind)) = (
                    o.pointer("/spec/group").and_then(Value::as_str),
                    o.pointer("/spec/names/kind").and_then(Value::as_str),
                )
            {
                custom.insert((group.to_string(), kind.to_string()));
            }
        }
        Self { custom }
    }

    /// Whether objects of `kind` in `group` live outside namespaces.
    pub fn is_cluster_scoped(&self, group: &str, kind: &str) -> bool {
        BUILT_IN.iter().any(|(g, k)| *g == group && *k == kind)
            || self.custom.iter().any(|(g, k)| g == group && k == kind)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn built_in_and_defined_kinds_are_known() {
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "spec": {"group": "example.com", "scope": "Cluster", "names": {"kind": "Widget"}}
        });
        let scopes = Scopes::with_definitions([&crd]);
        assert!(scopes.is_cluster_scoped("", "Namespace"));
        assert!(scopes.is_cluster_scoped("rbac.authorization.k8s.io", "ClusterRole"));
        assert!(scopes.is_cluster_scoped("example.com", "Widget"));
        assert!(!scopes.is_cluster_scoped("", "ConfigMap"));
        assert!(!scopes.is_cluster_scoped("rbac.authorization.k8s.io", "Role"));
        assert!(!scopes.is_cluster_scoped("example.com", "Gadget"));
    }
}
