//! The order a restore applies objects in, so that everything an object
//! needs exists before it: definitions, then namespaces, identities,
//! configuration, volume snapshots, storage, workloads, then what points
//! at workloads, then everything else (custom resources last, their
//! definitions served by then). Pure: restores and `bulkhead apply` share it.

/// A restore phase, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// CustomResourceDefinitions (each waited for until Established).
    Definitions,
    /// Namespaces.
    Namespaces,
    /// ServiceAccounts and RBAC.
    Identities,
    /// ConfigMaps, Secrets, priority classes, quotas and limits.
    Configuration,
    /// Volume snapshots and their classes and contents: what claims are
    /// provisioned from must exist before them.
    Snapshots,
    /// StorageClasses, PersistentVolumes, PersistentVolumeClaims.
    Storage,
    /// Deployments, StatefulSets, DaemonSets, Jobs, Pods, and what guards them.
    Workloads,
    /// Services, Ingresses, network policies.
    Networking,
    /// Everything else, custom resources among them.
    Rest,
}

impl Phase {
    /// All phases, in order.
    pub const ALL: [Self; 9] = [
        Self::Definitions,
        Self::Namespaces,
        Self::Identities,
        Self::Configuration,
        Self::Snapshots,
        Self::Storage,
        Self::Workloads,
        Self::Networking,
        Self::Rest,
    ];

    /// The phase of an object of `kind` in API group `group`.
    pub fn of(group: &str, kind: &str) -> Self {
        match (group, kind) {
            ("apiextensions.k8s.io", "CustomResourceDefinition") => Self::Definitions,
            ("", "Namespace") => Self::Namespaces,
            ("", "ServiceAccount") | ("rbac.authorization.k8s.io", _) => Self::Identities,
            ("", "ConfigMap" | "Secret" | "LimitRange" | "ResourceQuota") | ("scheduling.k8s.io", "PriorityClass") => {
                Self::Configuration
            }
            ("snapshot.storage.k8s.io", _) => Self::Snapshots,
            ("storage.k8s.io", "StorageClass") | ("", "PersistentVolume" | "PersistentVolumeClaim") => Self::Storage,
            ("apps", _)
            | ("batch", _)
            | ("", "Pod" | "ReplicationController")
            | ("policy", "PodDisruptionBudget")
            | ("autoscaling", _) => Self::Workloads,
            ("", "Service") | ("networking.k8s.io", _) | ("gateway.networking.k8s.io", _) => Self::Networking,
            _ => Self::Rest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_come_first() {
        assert!(Phase::of("apiextensions.k8s.io", "CustomResourceDefinition") < Phase::of("", "Namespace"));
        assert!(Phase::of("", "Namespace") < Phase::of("", "Secret"));
        assert!(Phase::of("", "PersistentVolumeClaim") < Phase::of("apps", "StatefulSet"));
        assert!(Phase::of("snapshot.storage.k8s.io", "VolumeSnapshot") < Phase::of("", "PersistentVolumeClaim"));
        assert!(Phase::of("apps", "Deployment") < Phase::of("", "Service"));
        assert_eq!(Phase::of("example.com", "Widget"), Phase::Rest);
    }
}
