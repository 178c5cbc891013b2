//! A namespace per test, removed when the test ends, so tests that share a
//! cluster never see each other's objects.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{DeleteParams, PostParams};

use crate::env::{TestEnv, client_for};

/// A fresh namespace, deleted on drop.
#[derive(Debug)]
pub struct TestNamespace {
    name: String,
    kubeconfig: PathBuf,
    context: String,
}

impl TestNamespace {
    /// Creates `<prefix>-<unique suffix>` in cluster `cluster`, labelled
    /// `bulkhead.dev/test=true`.
    ///
    /// # Panics
    /// When the cluster refuses.
    pub async fn create(env: &TestEnv, cluster: usize, prefix: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let unique = format!("{:x}{:x}{:x}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed), nanos % 4096);
        let name = format!("{prefix}-{unique}");
        let c = env.cluster(cluster);
        let client = env.client(cluster).await;
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "labels": {"bulkhead.dev/test": "true"}}
        }))
        .expect("a valid namespace");
        Api::<Namespace>::all(client)
            .create(&PostParams::default(), &ns)
            .await
            .unwrap_or_else(|e| panic!("cannot create namespace {name}: {e}"));
        Self { name, kubeconfig: c.kubeconfig.clone(), context: c.context.clone() }
    }

    /// Takes charge of a namespace something else creates (a restore, say):
    /// deleted on drop, like one this made.
    pub fn adopt(env: &TestEnv, cluster: usize, name: &str) -> Self {
        let c = env.cluster(cluster);
        Self { name: name.to_string(), kubeconfig: c.kubeconfig.clone(), context: c.context.clone() }
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        // Drop cannot await, and the test's runtime may be shutting down: a
        // thread of its own with a client of its own deletes the namespace.
        let (name, kubeconfig, context) = (self.name.clone(), self.kubeconfig.clone(), self.context.clone());
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            rt.block_on(async {
                let client = client_for(&kubeconfig, &context).await;
                let _ = Api::<Namespace>::all(client).delete(&name, &DeleteParams::background()).await;
            });
        });
        let _ = done.join();
    }
}
