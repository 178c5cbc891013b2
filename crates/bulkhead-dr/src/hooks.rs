//! The calls a backup makes around an app's volume snapshots: each hook's
//! `pre` in order before the first snapshot is taken, and, once the driver
//! has cut them all (or the backup failed), the `post` of every hook whose
//! `pre` answered, in reverse order. A snapshot between them holds what the
//! application flushed, not only what a crash would have left.

use std::time::Duration;

use crate::volumes::CRASH_CONSISTENT;

/// One HTTP call of a hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `POST`, `PUT` or `GET`.
    pub method: String,
    /// The URL.
    pub url: String,
}

/// A hook of the app backed up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// Its name.
    pub name: String,
    /// Called before the snapshots.
    pub pre: Call,
    /// Called after them.
    pub post: Option<Call>,
    /// How long each call may take.
    pub timeout: Duration,
}

/// The default time a call may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How consistent snapshots taken between `hooks` are.
pub fn consistency(hooks: &[Hook]) -> String {
    if hooks.is_empty() {
        CRASH_CONSISTENT.to_string()
    } else {
        let names: Vec<&str> = hooks.iter().map(|h| h.name.as_str()).collect();
        format!("application-consistent (hooks: {})", names.join(", "))
    }
}

/// Calls each hook's `pre`, in order, until one fails: how many answered,
/// and the failure (`hook NAME: pre POST URL: why`).
pub async fn before(hooks: &[Hook]) -> (usize, Option<String>) {
    for (i, hook) in hooks.iter().enumerate() {
        if let Err(why) = call(&hook.pre, hook.timeout).await {
            return (i, Some(format!("hook {}: pre {} {}: {why}", hook.name, hook.pre.method, hook.pre.url)));
        }
        tracing::info!(hook = %hook.name, "pre hook answered");
    }
    (hooks.len(), None)
}

/// Calls the `post` of the first `answered` hooks, the last first; each
/// that fails, with why.
pub async fn after(hooks: &[Hook], answered: usize) -> Vec<String> {
    let mut failures = Vec::new();
    for hook in hooks[..answered.min(hooks.len())].iter().rev() {
        let Some(post) = &hook.post else { continue };
        match call(post, hook.timeout).await {
            Ok(()) => tracing::info!(hook = %hook.name, "post hook answered"),
            Err(why) => failures.push(format!(
                "hook {}: post {} {}: {why} (the application may still be holding its writes)",
                hook.name, post.method, post.url
            )),
        }
    }
    failures
}

async fn call(call: &Call, timeout: Duration) -> Result<(), String> {
    let method = reqwest::Method::from_bytes(call.method.as_bytes()).map_err(|e| e.to_string())?;
    let client = reqwest::Client::builder().timeout(timeout).build().map_err(|e| e.to_string())?;
    let mut response = client.request(method, &call.url).send().await.map_err(|e| crate::checks::chain(&e))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    // The first piece of the body says why; a hook's server is not trusted
    // to keep its answer short.
    let first = response.chunk().await.ok().flatten().unwrap_or_default();
    let body: String = String::from_utf8_lossy(&first[..first.len().min(800)]).chars().take(200).collect();
    Err(format!(
        "answered {status}{}",
        if body.trim().is_empty() { String::new() } else { format!(": {}", body.trim()) }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(name: &str) -> Hook {
        let call = Call { method: "POST".into(), url: "http://127.0.0.1:9/x".into() };
        Hook { name: name.into(), pre: call.clone(), post: Some(call), timeout: DEFAULT_TIMEOUT }
    }

    #[test]
    fn snapshots_between_hooks_are_application_consistent() {
        assert_eq!(consistency(&[]), "crash-consistent");
        assert_eq!(consistency(&[hook("a"), hook("b")]), "application-consistent (hooks: a, b)");
    }
}
