//! The objects a reliability audit reads, from a running cluster: every
//! workload that no other object owns, the objects that reference them,
//! where pods run now, and the nodes, converted by `bulkhead-workload`'s pure
//! converters.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::{Api, Resource};
use serde::de::DeserializeOwned;

use bulkhead_workload::live::{ClusterState, LiveNode, LivePod, is_unowned};

use crate::list::list_each;
use crate::{Cluster, Error};

async fn list<K>(cluster: &Cluster, out: &mut Vec<serde_json::Value>, keep: impl Fn(&K) -> bool) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let api: Api<K> = Api::all(cluster.client.clone());
    let what = format!("list {}", K::plural(&()));
    list_each(cluster, &api, &what, |item| {
        if keep(&item) {
            out.push(serde_json::to_value(&item).expect("API objects serialize"));
        }
    })
    .await
}

/// Reads a cluster's workloads and their neighbours.
///
/// # Errors
/// When the cluster does not answer or refuses a list.
pub async fn read(cluster: &Cluster) -> Result<ClusterState, Error> {
    let mut live = ClusterState::default();
    let o = &mut live.objects;
    list::<Deployment>(cluster, o, |x| is_unowned(&x.metadata)).await?;
    list::<StatefulSet>(cluster, o, |x| is_unowned(&x.metadata)).await?;
    list::<DaemonSet>(cluster, o, |x| is_unowned(&x.metadata)).await?;
    list::<ReplicaSet>(cluster, o, |x| is_unowned(&x.metadata)).await?;
    list::<Job>(cluster, o, |x| is_unowned(&x.metadata)).await?;
    list::<CronJob>(cluster, o, |_| true).await?;
    list::<Service>(cluster, o, |_| true).await?;
    list::<PodDisruptionBudget>(cluster, o, |_| true).await?;
    list::<HorizontalPodAutoscaler>(cluster, o, |_| true).await?;
    list::<Ingress>(cluster, o, |_| true).await?;
    list::<PersistentVolumeClaim>(cluster, o, |_| true).await?;
    list::<PriorityClass>(cluster, o, |_| true).await?;
    list::<StorageClass>(cluster, o, |_| true).await?;

    let pods: Api<Pod> = Api::all(cluster.client.clone());
    let (objects, running) = (&mut live.objects, &mut live.pods);
    list_each(cluster, &pods, "list pods", |pod| {
        if is_unowned(&pod.metadata) {
            objects.push(serde_json::to_value(&pod).expect("API objects serialize"));
        }
        running.extend(LivePod::from_pod(&pod));
    })
    .await?;
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    let out = &mut live.nodes;
    list_each(cluster, &nodes, "list nodes", |node| out.push(LiveNode::from_node(&node))).await?;
    Ok(live)
}
