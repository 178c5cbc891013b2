//! Server-side apply, one object at a time, as restores and `bulkhead
//! apply` both make it: the resource resolved from discovery, Bulkhead's
//! field manager, calls turned away for load made again, and a reason a
//! person can read when the API server refuses.

use std::time::{Duration, Instant};

use kube::Api;
use kube::discovery::{ApiCapabilities, ApiResource, Discovery};
use serde_json::Value;

use crate::Cluster;

/// Bulkhead's field manager: what it applies, it owns.
pub const FIELD_MANAGER: &str = "bulkhead";

/// The resource an object is of, as the cluster serves it.
pub fn resolve(discovery: &Discovery, object: &Value) -> Option<(ApiResource, ApiCapabilities)> {
    let api_version = object["apiVersion"].as_str()?;
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = kube::api::GroupVersionKind::gvk(group, version, object["kind"].as_str()?);
    discovery.resolve_gvk(&gvk)
}

/// The pauses between tries of a call the API server turned away.
const RETRY_PAUSES: [Duration; 5] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

/// Runs `call`, again after a pause when it failed for load: a loaded API
/// server answers 429 (priority and fairness) or 5xx, or does not answer in
/// time, and a read or a server-side apply may simply be made again. A
/// 50,000-object restore on a busy server lost objects to this before.
pub async fn retrying<T, F, Fut>(mut call: F) -> Result<T, crate::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::Error>>,
{
    let mut pauses = RETRY_PAUSES.iter();
    loop {
        match call().await {
            Err(e) if transient(&e) => match pauses.next() {
                Some(pause) => {
                    tracing::debug!(error = %e, "retrying after {pause:?}");
                    tokio::time::sleep(*pause).await;
                }
                None => return Err(e),
            },
            other => return other,
        }
    }
}

/// Whether a failed call may succeed when made again unchanged.
pub fn transient(e: &crate::Error) -> bool {
    match e {
        crate::Error::Timeout { .. } => true,
        crate::Error::Api { source: kube::Error::Api(status), .. } => {
            matches!(status.code, 429 | 500 | 502 | 503 | 504)
        }
        _ => false,
    }
}

/// Why a call failed, as the API server put it.
pub fn reason(e: &crate::Error) -> String {
    match e {
        crate::Error::Api { source, .. } => crate::cause(source),
        other => other.to_string(),
    }
}

/// Waits (up to a minute) until an applied definition is Established, so
/// the custom resources after it are served.
pub async fn wait_established(cluster: &Cluster, crd: &Value) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let Some(name) = crd.pointer("/metadata/name").and_then(Value::as_str) else { return };
    let api: Api<CustomResourceDefinition> = Api::all(cluster.client.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let established = cluster.call("read a definition", api.get_opt(name)).await.ok().flatten().is_some_and(|c| {
            c.status
                .and_then(|s| s.conditions)
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Established" && c.status == "True"))
        });
        if established {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tracing::warn!(crd = name, "not Established after 60 s; its custom resources may fail");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(code: u16) -> crate::Error {
        let status: kube::core::Status =
            serde_json::from_value(serde_json::json!({"code": code, "message": "m", "reason": "r"})).unwrap();
        crate::Error::Api {
            cluster: "c".into(),
            server: "s".into(),
            what: "apply an object".into(),
            source: kube::Error::Api(Box::new(status)),
        }
    }

    #[test]
    fn load_is_transient_refusals_are_not() {
        for code in [429, 500, 503, 504] {
            assert!(transient(&api_error(code)), "{code}");
        }
        for code in [400, 403, 404, 409, 422] {
            assert!(!transient(&api_error(code)), "{code}");
        }
        let timeout = crate::Error::Timeout { cluster: "c".into(), server: "s".into(), what: "w".into(), seconds: 30 };
        assert!(transient(&timeout));
    }

    /// A call turned away twice for load succeeds on the third try; one
    /// refused for a reason is not tried again; load that never ends
    /// fails after the last pause.
    #[tokio::test(start_paused = true)]
    async fn calls_turned_away_for_load_are_made_again() {
        let tries = std::sync::atomic::AtomicU32::new(0);
        let result = retrying(|| async {
            let n = tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if n < 2 { Err(api_error(429)) } else { Ok(n) }
        })
        .await;
        assert_eq!(result.unwrap(), 2);
        tries.store(0, std::sync::atomic::Ordering::SeqCst);
        let refused = retrying(|| async {
            tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Err::<(), _>(api_error(422))
        })
        .await;
        assert!(refused.is_err());
        assert_eq!(tries.load(std::sync::atomic::Ordering::SeqCst), 1);
        tries.store(0, std::sync::atomic::Ordering::SeqCst);
        let overloaded = retrying(|| async {
            tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Err::<(), _>(api_error(503))
        })
        .await;
        assert!(overloaded.is_err());
        assert_eq!(tries.load(std::sync::atomic::Ordering::SeqCst), 1 + RETRY_PAUSES.len() as u32);
    }
}
