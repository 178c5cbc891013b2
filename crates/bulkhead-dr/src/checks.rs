//! An app's own checks, run by a drill once the restored workloads are
//! available: "the objects came back" is no proof the app works
//! (kubernetes#118501). An HTTP GET that must answer, or a Job that must
//! complete; each retried until its timeout, and explained when it fails.

use std::time::{Duration, Instant};

use bulkhead_kube::Cluster;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::Value;

use crate::drill::Verification;
use bulkhead_kube::apply::reason;

/// One check, as the fleet declares it (files already read).
#[derive(Debug, Clone)]
pub struct AppCheck {
    /// Its name, unique within the app.
    pub name: String,
    /// How it checks.
    pub how: How,
    /// How long it may take, retries included.
    pub timeout: Duration,
}

/// The ways an app proves it works.
#[derive(Debug, Clone)]
pub enum How {
    /// A GET that must answer `status` (any 2xx when none) with a body
    /// holding `body_contains`. `{namespace}` in the URL becomes the
    /// namespace the app was restored into.
    Http {
        /// The URL.
        url: String,
        /// The status that passes.
        status: Option<u16>,
        /// Text the body must hold.
        body_contains: Option<String>,
    },
    /// A Job manifest, created in the app's restored namespace; it must complete.
    Job(Value),
}

/// How long a check waits between two tries.
const RETRY: Duration = Duration::from_secs(1);

/// Runs every check at once against the app restored into `namespace`;
/// a verification each, named `check NAME`.
pub async fn run_checks(cluster: &Cluster, checks: &[AppCheck], namespace: &str) -> Vec<Verification> {
    let client = reqwest::Client::new();
    let runs = checks.iter().map(|check| {
        let client = &client;
        async move {
            let deadline = Instant::now() + check.timeout;
            let (passed, detail) = match &check.how {
                How::Http { url, status, body_contains } => {
                    let url = url.replace("{namespace}", namespace);
                    http(client, &url, *status, body_contains.as_deref(), deadline).await
                }
                How::Job(manifest) => job(cluster, manifest, namespace, deadline).await,
            };
            Verification { name: format!("check {}", check.name), passed, detail }
        }
    });
    futures::future::join_all(runs).await
}

/// GETs `url` until it passes or `deadline`; what the last answer was.
async fn http(
    client: &reqwest::Client,
    url: &str,
    want: Option<u16>,
    body_contains: Option<&str>,
    deadline: Instant,
) -> (bool, String) {
    let started = Instant::now();
    let mut last;
    loop {
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
        last = match client.get(url).timeout(left).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.text().await.unwrap_or_default();
                let status_ok = want.map_or((200..300).contains(&status), |w| w == status);
                let body_ok = body_contains.is_none_or(|text| body.contains(text));
                if status_ok && body_ok {
                    let took = started.elapsed().as_secs_f64();
                    return (true, format!("GET {url} answered {status} after {took:.1} s"));
                }
                if status_ok {
                    format!(
                        "answered {status} without `{}` in its body: {}",
                        body_contains.unwrap_or_default(),
                        excerpt(&body)
                    )
                } else {
                    let wanted = want.map_or_else(|| "a 2xx status".to_string(), |w| w.to_string());
                    format!("answered {status} where {wanted} was wanted: {}", excerpt(&body))
                }
            }
            Err(e) => format!("could not be fetched: {}", chain(&e)),
        };
        if Instant::now() + RETRY >= deadline {
            let waited = humantime::format_duration(Duration::from_secs(started.elapsed().as_secs()));
            return (false, format!("GET {url} did not pass in {waited}: it {last}"));
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// The start of a body, on one line.
fn excerpt(body: &str) -> String {
    const MAX: usize = 200;
    let line = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() {
        return "(empty body)".into();
    }
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// An error with its causes: reqwest's own message names only the URL.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// Creates the Job in `namespace` and waits until it completes, fails or
/// `deadline`.
async fn job(cluster: &Cluster, manifest: &Value, namespace: &str, deadline: Instant) -> (bool, String) {
    let mut manifest = manifest.clone();
    manifest["metadata"]["namespace"] = Value::String(namespace.to_string());
    let job: Job = match serde_json::from_value(manifest) {
        Ok(j) => j,
        Err(e) => return (false, format!("the manifest is not a Job: {e}")),
    };
    let name = job.metadata.name.clone().unwrap_or_default();
    let id = format!("Job {namespace}/{name}");
    let api: Api<Job> = Api::namespaced(cluster.client.clone(), namespace);
    if let Err(e) = cluster.call("create a check's Job", api.create(&PostParams::default(), &job)).await {
        return (false, format!("{id} could not be created: {}", reason(&e)));
    }
    let started = Instant::now();
    loop {
        let status = match cluster.call("read a check's Job", api.get_status(&name)).await {
            Ok(j) => j.status.unwrap_or_default(),
            Err(e) => return (false, format!("{id} could not be read: {}", reason(&e))),
        };
        let condition =
            |kind: &str| status.conditions.iter().flatten().find(|c| c.type_ == kind && c.status == "True").cloned();
        if condition("Complete").is_some() {
            let took = started.elapsed().as_secs_f64();
            return (true, format!("{id} completed after {took:.1} s"));
        }
        if let Some(failed) = condition("Failed") {
            let why = [failed.reason, failed.message].into_iter().flatten().collect::<Vec<_>>().join(": ");
            return (false, format!("{id} failed: {why}"));
        }
        if Instant::now() + RETRY >= deadline {
            let waited = humantime::format_duration(Duration::from_secs(started.elapsed().as_secs()));
            let counts = format!(
                "{} succeeded, {} active, {} failed",
                status.succeeded.unwrap_or(0),
                status.active.unwrap_or(0),
                status.failed.unwrap_or(0)
            );
            let pods = pods_waiting(cluster, namespace, &name).await;
            return (false, format!("{id} did not complete in {waited} ({counts}){pods}"));
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// Why the Job's pods are not done, as their conditions say (unschedulable,
/// for one), for the explanation of a Job that did not complete.
async fn pods_waiting(cluster: &Cluster, namespace: &str, job: &str) -> String {
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), namespace);
    let Ok(list) = pods.list(&ListParams::default().labels(&format!("batch.kubernetes.io/job-name={job}"))).await
    else {
        return String::new();
    };
    let lines: Vec<String> = list
        .items
        .into_iter()
        .map(|p| {
            let name = p.metadata.name.unwrap_or_default();
            let status = p.status.unwrap_or_default();
            let phase = status.phase.unwrap_or_else(|| "Unknown".into());
            let why = status
                .conditions
                .unwrap_or_default()
                .into_iter()
                .find(|c| c.status != "True" && c.message.is_some())
                .and_then(|c| c.message)
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            format!("pod {name} {phase}{why}")
        })
        .collect();
    if lines.is_empty() { "; it has no pods".into() } else { format!("; {}", lines.join("; ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_is_one_line_and_short() {
        assert_eq!(excerpt("  \n"), "(empty body)");
        assert_eq!(excerpt("down\nfor maintenance"), "down for maintenance");
        let long = "é".repeat(300);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), 201);
        assert!(cut.ends_with('…'));
    }
}
