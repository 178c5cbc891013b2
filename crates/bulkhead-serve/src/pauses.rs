//! Where paused schedules are kept so that the replica running a job sees
//! a pause another replica took (the API is served by every replica, the
//! job runs on one): with Leases, as annotations of one more Lease beside
//! them, `NAME-pauses`, which the replicas' Role already covers; without,
//! in this server's history alone. Either way the history keeps a copy,
//! so a restart without the cluster still knows them.
//!
//! The same Lease hands a run asked for by hand ("back up now") from the
//! replica that took the request to the one holding the job's shard: an
//! annotation the holder reads within seconds, starts the job on, and
//! removes.

use std::collections::BTreeMap;

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use sha2::{Digest, Sha256};

use crate::history::Pause;

/// Annotations of the pauses' Lease start with this, then a digest of the
/// job's key (keys hold `/`, which an annotation's name may not).
const PREFIX: &str = "pause.bulkhead.dev/";
/// Annotations of runs asked for on another replica.
const RUN_PREFIX: &str = "run.bulkhead.dev/";

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

/// A run asked for through one replica, for the replica holding its shard.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct RunRequest {
    /// The job's key.
    pub job: String,
    /// Who asked.
    pub by: String,
    /// When (RFC 3339).
    pub asked: String,
}

/// What the Lease holds.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// The paused schedules, by job.
    pub pauses: BTreeMap<String, Pause>,
    /// The runs asked for and not yet started.
    pub runs: Vec<RunRequest>,
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
    annotation_under(PREFIX, job)
}

fn annotation_under(prefix: &str, job: &str) -> String {
    let digest = Sha256::digest(job.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

impl Pauses {
    /// The pauses every replica sees.
    ///
    /// # Errors
    /// The Lease cannot be read.
    pub(crate) async fn read(&self) -> Result<Shared, kube::Error> {
        let Some(lease) = self.leases.get_opt(&self.name).await? else { return Ok(Shared::default()) };
        let annotations = lease.metadata.annotations.unwrap_or_default();
        let pauses = annotations
            .iter()
            .filter(|(k, _)| k.starts_with(PREFIX))
            .filter_map(|(_, v)| serde_json::from_str::<Entry>(v).ok())
            .map(|e| (e.job, e.pause))
            .collect();
        let runs = annotations
            .iter()
            .filter(|(k, _)| k.starts_with(RUN_PREFIX))
            .filter_map(|(_, v)| serde_json::from_str::<RunRequest>(v).ok())
            .collect();
        Ok(Shared { pauses, runs })
    }

    /// Asks the replica holding `request.job`'s shard to start it.
    ///
    /// # Errors
    /// The Lease cannot be created or patched.
    pub(crate) async fn ask_run(&self, request: &RunRequest) -> Result<(), kube::Error> {
        let value = serde_json::to_string(request).expect("a request serializes");
        self.annotate(&annotation_under(RUN_PREFIX, &request.job), serde_json::Value::String(value)).await
    }

    /// Takes a run request off the Lease (it started, or it is stale).
    ///
    /// # Errors
    /// The Lease cannot be patched.
    pub(crate) async fn run_taken(&self, job: &str) -> Result<(), kube::Error> {
        self.annotate(&annotation_under(RUN_PREFIX, job), serde_json::Value::Null).await
    }

    /// Pauses (`Some`) or resumes (`None`) `job` where every replica sees it.
    ///
    /// # Errors
    /// The Lease cannot be created or patched.
    pub(crate) async fn write(&self, job: &str, pause: Option<&Pause>) -> Result<(), kube::Error> {
        let value = match pause {
            Some(p) => serde_json::Value::String(
                serde_json::to_string(&Entry { job: job.to_string(), pause: p.clone() }).expect("a pause serializes"),
            ),
            // A merge patch's null removes the annotation.
            None => serde_json::Value::Null,
        };
        self.annotate(&annotation(job), value).await
    }

    /// Sets one annotation of the Lease (`null` removes it), making the
    /// Lease first when there is none.
    async fn annotate(&self, key: &str, value: serde_json::Value) -> Result<(), kube::Error> {
        let (leases, name) = (&self.leases, &self.name);
        let patch = serde_json::json!({"metadata": {"annotations": {key: value}}});
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
        let run = annotation_under(RUN_PREFIX, "drill/a");
        assert!(run.starts_with("run.bulkhead.dev/") && run.ends_with(&annotation("drill/a")[PREFIX.len()..]));
    }
}
