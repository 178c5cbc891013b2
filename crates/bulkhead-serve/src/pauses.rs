//! Where paused schedules are kept so that the replica running a job sees
//! a pause another replica took (the API is served by every replica, the
//! job runs on one): with Leases, as annotations of one more Lease beside
//! them, `NAME-pauses`, which the replicas' Role already covers; without,
//! in this server's history alone. Either way the history keeps a copy,
//! so a restart without the cluster still knows them.

use std::collections::BTreeMap;

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use sha2::{Digest, Sha256};

use crate::history::Pause;

/// Annotations of the pauses' Lease start with this, then a digest of the
/// job's key (keys hold `/`, which an annotation's name may not).
const PREFIX: &str = "pause.bulkhead.dev/";

/// Why a pause could not be kept.
#[derive(Debug, thiserror::Error)]
pub enum PauseError {
    /// The management cluster's Lease could not be written.
    #[error("the pauses' Lease in the management cluster: {0}")]
    Cluster(#[from] kube::Error),
    /// The history could not be written.
    #[error(transparent)]
    History(#[from] crate::HistoryError),
}

/// One pause as an annotation's value.
#[derive(serde::Serialize, serde::Deserialize)]
struct Entry {
    job: String,
    #[serde(flatten)]
    pause: Pause,
}

/// The pauses every replica reads: a Lease of the management cluster.
/// (Without Leases there is none, and the history alone keeps them.)
pub(crate) struct Pauses {
    /// The Leases' namespace.
    pub leases: Api<Lease>,
    /// The pauses' Lease.
    pub name: String,
}

fn annotation(job: &str) -> String {
    let digest = Sha256::digest(job.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{PREFIX}{hex}")
}

impl Pauses {
    /// The pauses every replica sees.
    ///
    /// # Errors
    /// The Lease cannot be read.
    pub(crate) async fn read(&self) -> Result<BTreeMap<String, Pause>, kube::Error> {
        let Some(lease) = self.leases.get_opt(&self.name).await? else { return Ok(BTreeMap::new()) };
        let annotations = lease.metadata.annotations.unwrap_or_default();
        Ok(annotations
            .iter()
            .filter(|(k, _)| k.starts_with(PREFIX))
            .filter_map(|(_, v)| serde_json::from_str::<Entry>(v).ok())
            .map(|e| (e.job, e.pause))
            .collect())
    }

    /// Pauses (`Some`) or resumes (`None`) `job` where every replica sees it.
    ///
    /// # Errors
    /// The Lease cannot be created or patched.
    pub(crate) async fn write(&self, job: &str, pause: Option<&Pause>) -> Result<(), kube::Error> {
        let (leases, name) = (&self.leases, &self.name);
        let value = match pause {
            Some(p) => serde_json::Value::String(
                serde_json::to_string(&Entry { job: job.to_string(), pause: p.clone() }).expect("a pause serializes"),
            ),
            // A merge patch's null removes the annotation.
            None => serde_json::Value::Null,
        };
        let patch = serde_json::json!({"metadata": {"annotations": {annotation(job): value}}});
        match leases.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 404 => {
                let lease = Lease {
                    metadata: kube::api::ObjectMeta { name: Some(name.clone()), ..Default::default() },
                    spec: None,
                };
                match leases.create(&PostParams::default(), &lease).await {
                    Ok(_) => {}
                    // Another replica made it first.
                    Err(kube::Error::Api(e)) if e.code == 409 => {}
                    Err(e) => return Err(e),
                }
                leases.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await.map(|_| ())
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_job_has_an_annotation_kubernetes_takes() {
        let name = annotation("backup/tier1/aws-use1-prod/orders-db");
        let (prefix, rest) = name.split_once('/').unwrap();
        assert_eq!(prefix, "pause.bulkhead.dev");
        assert!(rest.len() <= 63 && rest.chars().all(|c| c.is_ascii_hexdigit()), "{rest}");
        assert_ne!(annotation("drill/a"), annotation("drill/b"));
    }
}
