//! The objects a reliability audit reads, from a running cluster: every
//! workload that no other object owns, the objects that reference them,
//! where pods run now, and the nodes.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::ListParams;
use kube::{Api, Resource};
use serde::de::DeserializeOwned;

use crate::{Cluster, Error};

/// A running pod: where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePod {
    /// Its namespace.
    pub namespace: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its node.
    pub node: String,
}

/// A node: its name, labels and taints (`key`, `value`, `effect`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveNode {
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Taints.
    pub taints: Vec<(String, String, String)>,
    /// Whether it is Ready.
    pub ready: bool,
}

/// What the audit reads from one cluster.
#[derive(Debug, Clone, Default)]
pub struct LiveObjects {
    /// Objects as JSON (apiVersion and kind included), not owned by another object.
    pub objects: Vec<serde_json::Value>,
    /// Running pods.
    pub pods: Vec<LivePod>,
    /// Nodes.
    pub nodes: Vec<LiveNode>,
}

fn unowned(meta: &ObjectMeta) -> bool {
    meta.owner_references.as_ref().is_none_or(|r| r.is_empty())
}

async fn list<K>(cluster: &Cluster, out: &mut Vec<serde_json::Value>, keep: impl Fn(&K) -> bool) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let api: Api<K> = Api::all(cluster.client.clone());
    let what = format!("list {}", K::plural(&()));
    for item in cluster.call(&what, api.list(&ListParams::default())).await? {
        if keep(&item) {
            out.push(serde_json::to_value(&item).expect("API objects serialize"));
        }
    }
    Ok(())
}

/// Reads a cluster's workloads and their neighbours.
///
/// # Errors
/// When the cluster does not answer or refuses a list.
pub async fn read(cluster: &Cluster) -> Result<LiveObjects, Error> {
    let mut live = LiveObjects::default();
    let o = &mut live.objects;
    list::<Deployment>(cluster, o, |x| unowned(&x.metadata)).await?;
    list::<StatefulSet>(cluster, o, |x| unowned(&x.metadata)).await?;
    list::<DaemonSet>(cluster, o, |x| unowned(&x.metadata)).await?;
    list::<ReplicaSet>(cluster, o, |x| unowned(&x.metadata)).await?;
    list::<Job>(cluster, o, |x| unowned(&x.metadata)).await?;
    list::<CronJob>(cluster, o, |_| true).await?;
    list::<Service>(cluster, o, |_| true).await?;
    list::<PodDisruptionBudget>(cluster, o, |_| true).await?;
    list::<HorizontalPodAutoscaler>(cluster, o, |_| true).await?;
    list::<Ingress>(cluster, o, |_| true).await?;
    list::<PersistentVolumeClaim>(cluster, o, |_| true).await?;
    list::<PriorityClass>(cluster, o, |_| true).await?;
    list::<StorageClass>(cluster, o, |_| true).await?;

    let pods: Api<Pod> = Api::all(cluster.client.clone());
    for pod in cluster.call("list pods", pods.list(&ListParams::default())).await? {
        if unowned(&pod.metadata) {
            live.objects.push(serde_json::to_value(&pod).expect("API objects serialize"));
        }
        let running = pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
        let node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
        if let (true, Some(node)) = (running, node) {
            live.pods.push(LivePod {
                namespace: pod.metadata.namespace.clone().unwrap_or_default(),
                labels: pod.metadata.labels.clone().unwrap_or_default(),
                node,
            });
        }
    }
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    for node in cluster.call("list nodes", nodes.list(&ListParams::default())).await? {
        let ready = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        live.nodes.push(LiveNode {
            name: node.metadata.name.clone().unwrap_or_default(),
            labels: node.metadata.labels.clone().unwrap_or_default(),
            taints: node
                .spec
                .as_ref()
                .and_then(|s| s.taints.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|t| (t.key, t.value.unwrap_or_default(), t.effect))
                .collect(),
            ready,
        });
    }
    Ok(live)
}
