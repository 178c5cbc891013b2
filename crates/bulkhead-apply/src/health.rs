//! The gate between waves: every workload Bulkhead applies to the wave's
//! clusters rolled out (as `kubectl rollout status` judges it), and none of
//! their pods crash-looping, first within a timeout and then for the wave's
//! whole pause.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bulkhead_kube::Cluster;
use bulkhead_model::manifest::ObjectKey;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::Api;
use kube::api::ListParams;
use serde::Serialize;

use crate::Error;

/// A workload that is not healthy, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unhealthy {
    /// The cluster.
    pub cluster: String,
    /// The workload.
    pub key: ObjectKey,
    /// Why, in words.
    pub why: String,
    /// Whether waiting cannot help (a crash loop, a failed rollout).
    pub fatal: bool,
}

/// Whether `key` is a workload the gate watches.
pub fn is_workload(key: &ObjectKey) -> bool {
    key.group == "apps" && matches!(key.kind.as_str(), "Deployment" | "StatefulSet" | "DaemonSet")
}

/// The state of `workloads` on `cluster` now: the ones not healthy. One
/// list per kind and namespace (and of the namespace's pods), not a request
/// per workload: a wave of hundreds of Deployments is a handful of calls.
///
/// # Errors
/// When the cluster cannot be read.
pub async fn check(cluster: &Cluster, workloads: &[ObjectKey]) -> Result<Vec<Unhealthy>, Error> {
    let mut by_namespace: BTreeMap<&str, Vec<&ObjectKey>> = BTreeMap::new();
    for key in workloads.iter().filter(|k| is_workload(k)) {
        by_namespace.entry(key.namespace.as_deref().unwrap_or("default")).or_default().push(key);
    }
    let mut out = Vec::new();
    for (ns, keys) in by_namespace {
        let kinds: BTreeSet<&str> = keys.iter().map(|k| k.kind.as_str()).collect();
        let params = ListParams::default();
        let mut found: BTreeMap<(&str, String), Judged> = BTreeMap::new();
        if kinds.contains("Deployment") {
            let api: Api<Deployment> = Api::namespaced(cluster.client.clone(), ns);
            for d in cluster.call("list Deployments", api.list(&params)).await?.items {
                let name = d.metadata.name.clone().unwrap_or_default();
                found.insert(("Deployment", name), (deployment(&d), d.spec.map(|s| s.selector)));
            }
        }
        if kinds.contains("StatefulSet") {
            let api: Api<StatefulSet> = Api::namespaced(cluster.client.clone(), ns);
            for s in cluster.call("list StatefulSets", api.list(&params)).await?.items {
                let name = s.metadata.name.clone().unwrap_or_default();
                found.insert(("StatefulSet", name), (stateful_set(&s), s.spec.map(|s| s.selector)));
            }
        }
        if kinds.contains("DaemonSet") {
            let api: Api<DaemonSet> = Api::namespaced(cluster.client.clone(), ns);
            for d in cluster.call("list DaemonSets", api.list(&params)).await?.items {
                let name = d.metadata.name.clone().unwrap_or_default();
                found.insert(("DaemonSet", name), (daemon_set(&d), d.spec.map(|s| s.selector)));
            }
        }
        // Pods only when something is not rolled out: a healthy wave of
        // workloads with crash-looping pods still has pods that are not ready.
        let mut pods: Option<Vec<Pod>> = None;
        for key in keys {
            let unhealthy =
                |why: String, fatal| Unhealthy { cluster: cluster.name.clone(), key: key.clone(), why, fatal };
            let Some((rollout, selector)) = found.get(&(key.kind.as_str(), key.name.clone())) else {
                out.push(unhealthy("it does not exist".into(), false));
                continue;
            };
            let Err(why) = rollout else { continue };
            if pods.is_none() {
                let api: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
                pods = Some(cluster.call("list pods", api.list(&params)).await?.items);
            }
            let mine: Vec<&Pod> = pods.iter().flatten().filter(|p| selected(selector.as_ref(), p)).collect();
            if let Some(crash) = crash_looping(&mine) {
                out.push(unhealthy(crash, true));
            } else {
                let pending =
                    unschedulable(&mine).map(|m| format!("; pods cannot be scheduled: {m}")).unwrap_or_default();
                out.push(unhealthy(format!("{why}{pending}"), false));
            }
        }
    }
    Ok(out)
}

/// A workload read: rolled out or why not, and its pods' selector.
type Judged = (Result<(), String>, Option<LabelSelector>);

/// Whether a workload's `matchLabels` select `pod` (expressions are not
/// judged: a pod they would leave out only adds a reason to a message).
fn selected(selector: Option<&LabelSelector>, pod: &Pod) -> bool {
    let Some(wanted) = selector.and_then(|s| s.match_labels.as_ref()).filter(|l| !l.is_empty()) else {
        return false;
    };
    let labels = pod.metadata.labels.as_ref();
    wanted.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// Waits until every workload is healthy, up to `timeout`; a fatal problem
/// (a crash loop) ends the wait at once. Returns the problems left.
///
/// # Errors
/// When the cluster cannot be read.
pub async fn wait_healthy(
    cluster: &Cluster,
    workloads: &[ObjectKey],
    timeout: Duration,
    poll: Duration,
) -> Result<Vec<Unhealthy>, Error> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let problems = check(cluster, workloads).await?;
        if problems.is_empty() || problems.iter().any(|p| p.fatal) || tokio::time::Instant::now() >= deadline {
            return Ok(problems);
        }
        tokio::time::sleep(poll).await;
    }
}

fn generation_seen(generation: Option<i64>, observed: Option<i64>) -> Result<(), String> {
    if observed.unwrap_or(0) < generation.unwrap_or(0) {
        Err("its controller has not seen the new spec yet".into())
    } else {
        Ok(())
    }
}

fn deployment(d: &Deployment) -> Result<(), String> {
    let status = d.status.clone().unwrap_or_default();
    generation_seen(d.metadata.generation, status.observed_generation)?;
    if let Some(c) = status.conditions.iter().flatten().find(|c| c.type_ == "Progressing")
        && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    {
        return Err(format!("its rollout failed: {}", c.message.clone().unwrap_or_default()));
    }
    let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    if updated < want {
        Err(format!("{updated} of {want} replicas updated"))
    } else if total > updated {
        Err(format!("{} old replicas still running", total - updated))
    } else if available < updated {
        Err(format!("{available} of {want} replicas available"))
    } else {
        Ok(())
    }
}

fn stateful_set(s: &StatefulSet) -> Result<(), String> {
    let status = s.status.clone().unwrap_or_default();
    generation_seen(s.metadata.generation, status.observed_generation)?;
    let want = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let ready = status.ready_replicas.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    if ready < want {
        Err(format!("{ready} of {want} replicas ready"))
    } else if updated < want && status.update_revision != status.current_revision {
        Err(format!("{updated} of {want} replicas updated"))
    } else {
        Ok(())
    }
}

fn daemon_set(d: &DaemonSet) -> Result<(), String> {
    let status = d.status.clone().unwrap_or_default();
    generation_seen(d.metadata.generation, status.observed_generation)?;
    let want = status.desired_number_scheduled;
    let updated = status.updated_number_scheduled.unwrap_or(0);
    let available = status.number_available.unwrap_or(0);
    if updated < want {
        Err(format!("{updated} of {want} nodes updated"))
    } else if available < want {
        Err(format!("{available} of {want} nodes available"))
    } else {
        Ok(())
    }
}

/// A pod whose container is in CrashLoopBackOff: waiting will not help.
fn crash_looping(pods: &[&Pod]) -> Option<String> {
    pods.iter().find_map(|p| {
        let statuses = p.status.as_ref()?.container_statuses.as_ref()?;
        statuses.iter().find_map(|c| {
            let waiting = c.state.as_ref()?.waiting.as_ref()?;
            (waiting.reason.as_deref() == Some("CrashLoopBackOff")).then(|| {
                format!(
                    "pod {} container {} is crash-looping ({} restarts)",
                    p.metadata.name.as_deref().unwrap_or_default(),
                    c.name,
                    c.restart_count
                )
            })
        })
    })
}

/// The scheduler's message for a pod it cannot place.
fn unschedulable(pods: &[&Pod]) -> Option<String> {
    pods.iter().find_map(|p| {
        let conditions = p.status.as_ref()?.conditions.as_ref()?;
        conditions
            .iter()
            .find(|c| c.type_ == "PodScheduled" && c.status == "False")
            .map(|c| c.message.clone().unwrap_or_else(|| c.reason.clone().unwrap_or_default()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment_with(replicas: i32, status: serde_json::Value) -> Deployment {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": replicas, "selector": {}, "template": {}},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn a_deployment_is_rolled_out_when_every_replica_is_new_and_available() {
        let done = deployment_with(
            3,
            serde_json::json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}),
        );
        assert_eq!(deployment(&done), Ok(()));
        let unseen = deployment_with(
            3,
            serde_json::json!({"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}),
        );
        assert!(deployment(&unseen).is_err());
        let rolling = deployment_with(
            3,
            serde_json::json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3, "availableReplicas": 3}),
        );
        assert_eq!(deployment(&rolling), Err("1 old replicas still running".into()));
        let waiting = deployment_with(
            3,
            serde_json::json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 1}),
        );
        assert_eq!(deployment(&waiting), Err("1 of 3 replicas available".into()));
    }
}
