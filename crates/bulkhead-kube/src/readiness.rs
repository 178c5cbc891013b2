//! Whether an app's workloads can serve right now, read through the API: the
//! cluster's own view of health, beside the traffic DNS's probes.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use kube::Api;

/// One workload of an app.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorkloadRef {
    /// `Deployment`, `StatefulSet` or `DaemonSet`.
    pub kind: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl WorkloadRef {
    /// The kinds judged: the ones that serve traffic and report available pods.
    pub const KINDS: [&'static str; 3] = ["Deployment", "StatefulSet", "DaemonSet"];
}

impl std::fmt::Display for WorkloadRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{}", self.kind.to_ascii_lowercase(), self.namespace, self.name)
    }
}

/// What the cluster says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Every workload has at least one available pod.
    Ready,
    /// One has none (why, naming it).
    NotReady(String),
    /// The API could not be asked: the cluster's view is unknown, and the
    /// probes alone decide (an API server down is not a data plane down).
    Unknown(String),
}

/// Reads each workload (one GET each, within `timeout` in all).
pub async fn readiness(client: &kube::Client, workloads: &[WorkloadRef], timeout: Duration) -> Readiness {
    match tokio::time::timeout(timeout, read_all(client, workloads)).await {
        Ok(r) => r,
        Err(_) => Readiness::Unknown(format!("the API did not answer within {}s", timeout.as_secs_f32())),
    }
}

async fn read_all(client: &kube::Client, workloads: &[WorkloadRef]) -> Readiness {
    for w in workloads {
        let available = match w.kind.as_str() {
            "Deployment" => get::<Deployment>(client, w).await.map(|d| {
                let want = d.spec.and_then(|s| s.replicas).unwrap_or(1);
                (want, d.status.and_then(|s| s.available_replicas).unwrap_or(0))
            }),
            "StatefulSet" => get::<StatefulSet>(client, w).await.map(|s| {
                let want = s.spec.and_then(|s| s.replicas).unwrap_or(1);
                (want, s.status.and_then(|s| s.available_replicas).unwrap_or(0))
            }),
            "DaemonSet" => get::<DaemonSet>(client, w).await.map(|d| {
                let status = d.status.unwrap_or_default();
                (status.desired_number_scheduled, status.number_available.unwrap_or(0))
            }),
            _ => continue,
        };
        match available {
            Err(r) => return r,
            Ok((want, available)) => {
                if let Some(why) = judge(w, want, available) {
                    return Readiness::NotReady(why);
                }
            }
        }
    }
    Readiness::Ready
}

/// Why a workload cannot serve, if it cannot: no pod available.
pub fn judge(w: &WorkloadRef, desired: i32, available: i32) -> Option<String> {
    if desired == 0 {
        return Some(format!("{w} is scaled to 0"));
    }
    (available < 1).then(|| format!("{w} has 0 of {desired} pods available"))
}

async fn get<K>(client: &kube::Client, w: &WorkloadRef) -> Result<K, Readiness>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let api: Api<K> = Api::namespaced(client.clone(), &w.namespace);
    match api.get_opt(&w.name).await {
        Ok(Some(object)) => Ok(object),
        Ok(None) => Err(Readiness::NotReady(format!("{w} does not exist"))),
        Err(e) => Err(Readiness::Unknown(format!("reading {w}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workload_serves_with_one_pod_available() {
        let w = WorkloadRef { kind: "Deployment".into(), namespace: "shop".into(), name: "web".into() };
        assert_eq!(judge(&w, 3, 1), None);
        assert_eq!(judge(&w, 3, 0).unwrap(), "deployment shop/web has 0 of 3 pods available");
        assert_eq!(judge(&w, 0, 0).unwrap(), "deployment shop/web is scaled to 0");
    }
}
