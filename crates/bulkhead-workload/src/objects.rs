//! The objects an audit reads, typed once, whether they came from a
//! manifest file or from a live cluster, and the workload view every pod
//! check works on.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bulkhead_model::yaml::Node;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, PodSpec, PodTemplateSpec, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde_json::Value;

/// Where an object came from, so a finding can point at it.
#[derive(Debug, Clone)]
pub enum Origin<'a> {
    /// A manifest file: its path (relative to the fleet) and YAML tree.
    Manifest {
        /// The file.
        file: PathBuf,
        /// The object's tree, for spans.
        node: &'a Node,
    },
    /// A running cluster.
    Live {
        /// The cluster's name.
        cluster: String,
    },
}

/// A typed Kubernetes object.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // read once, never moved in a hot loop
pub enum Kind {
    /// apps/v1 Deployment.
    Deployment(Deployment),
    /// apps/v1 StatefulSet.
    StatefulSet(StatefulSet),
    /// apps/v1 DaemonSet.
    DaemonSet(DaemonSet),
    /// apps/v1 ReplicaSet.
    ReplicaSet(ReplicaSet),
    /// v1 Pod.
    Pod(Pod),
    /// batch/v1 Job.
    Job(Job),
    /// batch/v1 CronJob.
    CronJob(CronJob),
    /// v1 Service.
    Service(Service),
    /// policy/v1 PodDisruptionBudget.
    Pdb(PodDisruptionBudget),
    /// autoscaling/v2 HorizontalPodAutoscaler.
    Hpa(HorizontalPodAutoscaler),
    /// networking.k8s.io/v1 Ingress.
    Ingress(Ingress),
    /// v1 PersistentVolumeClaim.
    Pvc(PersistentVolumeClaim),
    /// scheduling.k8s.io/v1 PriorityClass.
    PriorityClass(PriorityClass),
    /// storage.k8s.io/v1 StorageClass.
    StorageClass(StorageClass),
    /// Anything else: not audited.
    Other,
}

/// One object and where it is.
#[derive(Debug, Clone)]
pub struct Object<'a> {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind_name: String,
    /// `metadata.name`.
    pub name: String,
    /// The namespace (the app's when the object sets none).
    pub namespace: String,
    /// The typed object.
    pub kind: Kind,
    /// Where it came from.
    pub origin: Origin<'a>,
}

/// What an object is read from: a manifest's YAML tree, or a live cluster's JSON.
#[derive(Debug, Clone, Copy)]
pub enum Source<'s> {
    /// A manifest.
    Yaml(&'s Node),
    /// An object the API server returned.
    Json(&'s Value),
}

fn parse<T: serde::de::DeserializeOwned>(source: Source<'_>) -> Option<T> {
    match source {
        Source::Yaml(node) => T::deserialize(node).ok(),
        Source::Json(json) => T::deserialize(json).ok(),
    }
}

impl Source<'_> {
    fn text(&self, path: &[&str]) -> Option<String> {
        match self {
            Source::Yaml(node) => match node.locate(path) {
                (found, true) => found.as_str().map(str::to_string),
                _ => None,
            },
            Source::Json(json) => {
                let mut v = *json;
                for p in path {
                    v = v.get(p)?;
                }
                v.as_str().map(str::to_string)
            }
        }
    }
}

impl<'a> Object<'a> {
    /// Types an object from its JSON. Objects of kinds the audit does not
    /// read, or whose fields do not type (validation reports those), are `Other`.
    pub fn new(source: Source<'_>, namespace: Option<&str>, origin: Origin<'a>) -> Self {
        let api_version = source.text(&["apiVersion"]).unwrap_or_default();
        let kind_name = source.text(&["kind"]).unwrap_or_default();
        // An object that `kubectl create` names (`generateName: web-`) is
        // known by its prefix, written `web-*`.
        let name = source
            .text(&["metadata", "name"])
            .or_else(|| source.text(&["metadata", "generateName"]).map(|prefix| format!("{prefix}*")))
            .unwrap_or_default();
        let namespace = source
            .text(&["metadata", "namespace"])
            .or_else(|| namespace.map(str::to_string))
            .unwrap_or_else(|| "default".to_string());
        let json = source;
        let kind = match (api_version.as_str(), kind_name.as_str()) {
            ("apps/v1", "Deployment") => parse(json).map(Kind::Deployment),
            ("apps/v1", "StatefulSet") => parse(json).map(Kind::StatefulSet),
            ("apps/v1", "DaemonSet") => parse(json).map(Kind::DaemonSet),
            ("apps/v1", "ReplicaSet") => parse(json).map(Kind::ReplicaSet),
            ("v1", "Pod") => parse(json).map(Kind::Pod),
            ("batch/v1", "Job") => parse(json).map(Kind::Job),
            ("batch/v1", "CronJob") => parse(json).map(Kind::CronJob),
            ("v1", "Service") => parse(json).map(Kind::Service),
            ("policy/v1", "PodDisruptionBudget") => parse(json).map(Kind::Pdb),
            ("autoscaling/v2", "HorizontalPodAutoscaler") => parse(json).map(Kind::Hpa),
            ("networking.k8s.io/v1", "Ingress") => parse(json).map(Kind::Ingress),
            ("v1", "PersistentVolumeClaim") => parse(json).map(Kind::Pvc),
            ("scheduling.k8s.io/v1", "PriorityClass") => parse(json).map(Kind::PriorityClass),
            ("storage.k8s.io/v1", "StorageClass") => parse(json).map(Kind::StorageClass),
            _ => None,
        }
        .unwrap_or(Kind::Other);
        Self { api_version, kind_name, name, namespace, kind, origin }
    }

    /// `Kind/namespace/name`.
    pub fn id(&self) -> String {
        format!("{}/{}/{}", self.kind_name, self.namespace, self.name)
    }

    /// The object's metadata.
    pub fn meta(&self) -> Option<&ObjectMeta> {
        Some(match &self.kind {
            Kind::Deployment(o) => &o.metadata,
            Kind::StatefulSet(o) => &o.metadata,
            Kind::DaemonSet(o) => &o.metadata,
            Kind::ReplicaSet(o) => &o.metadata,
            Kind::Pod(o) => &o.metadata,
            Kind::Job(o) => &o.metadata,
            Kind::CronJob(o) => &o.metadata,
            Kind::Service(o) => &o.metadata,
            Kind::Pdb(o) => &o.metadata,
            Kind::Hpa(o) => &o.metadata,
            Kind::Ingress(o) => &o.metadata,
            Kind::Pvc(o) => &o.metadata,
            Kind::PriorityClass(o) => &o.metadata,
            Kind::StorageClass(o) => &o.metadata,
            Kind::Other => return None,
        })
    }

    /// The object's annotation `key`.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.meta()?.annotations.as_ref()?.get(key).map(String::as_str)
    }

    /// The pod-running view of the object, if it runs pods.
    pub fn workload(&self) -> Option<Workload<'_>> {
        let (template, path, replicas, selector): (&PodTemplateSpec, &str, Option<i32>, Option<&LabelSelector>) =
            match &self.kind {
                Kind::Deployment(d) => {
                    let s = d.spec.as_ref()?;
                    (&s.template, "spec/template", s.replicas, Some(&s.selector))
                }
                Kind::StatefulSet(d) => {
                    let s = d.spec.as_ref()?;
                    (&s.template, "spec/template", s.replicas, Some(&s.selector))
                }
                Kind::DaemonSet(d) => {
                    let s = d.spec.as_ref()?;
                    (&s.template, "spec/template", None, Some(&s.selector))
                }
                Kind::ReplicaSet(d) => {
                    let s = d.spec.as_ref()?;
                    (s.template.as_ref()?, "spec/template", s.replicas, Some(&s.selector))
                }
                Kind::Job(d) => {
                    let s = d.spec.as_ref()?;
                    (&s.template, "spec/template", s.parallelism, s.selector.as_ref())
                }
                Kind::CronJob(d) => {
                    let s = d.spec.job_template.spec.as_ref()?;
                    (&s.template, "spec/jobTemplate/spec/template", s.parallelism, None)
                }
                Kind::Pod(p) => {
                    let spec = p.spec.as_ref()?;
                    let labels = p.metadata.labels.as_ref();
                    return Some(Workload {
                        object: self,
                        pod: spec,
                        labels,
                        pod_path: "spec".into(),
                        replicas: 1,
                        replicas_set: false,
                        selector: None,
                    });
                }
                _ => return None,
            };
        let pod = template.spec.as_ref()?;
        let replicas_set = replicas.is_some();
        Some(Workload {
            object: self,
            pod,
            labels: template.metadata.as_ref().and_then(|m| m.labels.as_ref()),
            pod_path: format!("{path}/spec"),
            // Unset means 1 (the API default); a DaemonSet runs one per node.
            replicas: replicas.unwrap_or(1).max(0) as u32,
            replicas_set,
            selector,
        })
    }

    /// Whether the object is a long-running server (not a batch job).
    pub fn is_service_like(&self) -> bool {
        matches!(
            self.kind,
            Kind::Deployment(_) | Kind::StatefulSet(_) | Kind::DaemonSet(_) | Kind::ReplicaSet(_) | Kind::Pod(_)
        )
    }
}

/// An object that runs pods, seen through its pod template.
#[derive(Debug, Clone)]
pub struct Workload<'o> {
    /// The object.
    pub object: &'o Object<'o>,
    /// The pod spec.
    pub pod: &'o PodSpec,
    /// The pods' labels.
    pub labels: Option<&'o BTreeMap<String, String>>,
    /// The pod spec's path in the object, such as `spec/template/spec`.
    pub pod_path: String,
    /// Replicas (1 when unset; parallelism for jobs).
    pub replicas: u32,
    /// Whether `replicas` is written.
    pub replicas_set: bool,
    /// The selector, for matching PDBs against the pods.
    pub selector: Option<&'o LabelSelector>,
}

/// The annotation that marks a StatefulSet as a quorum system (`"true"` or
/// `"false"`), overriding detection by image.
pub const QUORUM_ANNOTATION: &str = "bulkhead.dev/quorum";

/// Images of systems that need a majority of their members: etcd,
/// ZooKeeper, Consul, Kafka (KRaft), CockroachDB, NATS, RabbitMQ (quorum
/// queues), MongoDB, Vault (Raft), Redis Sentinel.
const QUORUM_IMAGES: &[&str] =
    &["etcd", "zookeeper", "consul", "kafka", "cockroach", "nats", "rabbitmq", "mongo", "vault", "redis-sentinel"];

impl Workload<'_> {
    /// Whether it is a quorum system: a StatefulSet so annotated, or running
    /// one of the known quorum images.
    pub fn is_quorum(&self) -> bool {
        if !matches!(self.object.kind, Kind::StatefulSet(_)) {
            return false;
        }
        match self.object.annotation(QUORUM_ANNOTATION) {
            Some("true") => return true,
            Some("false") => return false,
            _ => {}
        }
        self.pod.containers.iter().any(|c| {
            let image = c.image.as_deref().unwrap_or_default();
            let name = image.rsplit('/').next().unwrap_or(image);
            let name = name.split([':', '@']).next().unwrap_or(name);
            QUORUM_IMAGES.iter().any(|q| name == *q || name.starts_with(&format!("{q}-")))
        })
    }

    /// The pods' label `key`.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels?.get(key).map(String::as_str)
    }
}

/// The HorizontalPodAutoscaler among `objects` that scales `target`.
pub fn hpa_for<'a>(objects: &[&'a Object<'a>], target: &Object<'_>) -> Option<&'a HorizontalPodAutoscaler> {
    objects.iter().find_map(|&o| match &o.kind {
        Kind::Hpa(h) if o.namespace == target.namespace => {
            let t = &h.spec.scale_target_ref;
            (t.kind == target.kind_name && t.name == target.name).then_some(h)
        }
        _ => None,
    })
}

/// The PodDisruptionBudgets among `objects` that cover a workload's pods.
pub fn budgets_for<'a>(objects: &[&'a Object<'a>], w: &Workload<'_>) -> Vec<(&'a Object<'a>, &'a PodDisruptionBudget)> {
    objects
        .iter()
        .filter_map(|&o| match &o.kind {
            Kind::Pdb(p) if o.namespace == w.object.namespace => {
                let sel = p.spec.as_ref()?.selector.as_ref()?;
                selects(sel, w.labels).then_some((o, p))
            }
            _ => None,
        })
        .collect()
}

/// The most members a quorum of `n` survives losing: ⌊(n−1)/2⌋.
pub fn quorum_tolerates(n: u32) -> u32 {
    n.saturating_sub(1) / 2
}

/// Whether `selector` selects pods labelled `labels` (matchLabels and
/// matchExpressions, as the API server evaluates them).
pub fn selects(selector: &LabelSelector, labels: Option<&BTreeMap<String, String>>) -> bool {
    let empty = BTreeMap::new();
    let labels = labels.unwrap_or(&empty);
    let match_labels = selector.match_labels.as_ref();
    let exprs = selector.match_expressions.as_deref().unwrap_or_default();
    if match_labels.is_none_or(|m| m.is_empty()) && exprs.is_empty() {
        // An empty selector selects everything, for PDBs in policy/v1.
        return true;
    }
    let labels_ok = match_labels.is_none_or(|m| m.iter().all(|(k, v)| labels.get(k) == Some(v)));
    labels_ok
        && exprs.iter().all(|e| {
            let values = e.values.as_deref().unwrap_or_default();
            let have = labels.get(&e.key);
            match e.operator.as_str() {
                "In" => have.is_some_and(|v| values.contains(v)),
                "NotIn" => have.is_none_or(|v| !values.contains(v)),
                "Exists" => have.is_some(),
                "DoesNotExist" => have.is_none(),
                _ => false,
            }
        })
}

/// Whether a plain `key: value` selector (a Service's) selects `labels`.
pub fn selects_map(selector: &BTreeMap<String, String>, labels: Option<&BTreeMap<String, String>>) -> bool {
    !selector.is_empty() && labels.is_some_and(|l| selector.iter().all(|(k, v)| l.get(k) == Some(v)))
}
