//! The in-cluster manifests of `deploy/kubernetes`: Bulkhead's own audit
//! finds nothing in them, and a real API server accepts every object in a
//! server-side dry run (the namespaced ones moved into a test namespace),
//! while refusing a broken one, so the check can fail.

use std::path::Path;

use bulkhead_test::{TestEnv, TestNamespace};
use kube::api::{DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::Value;

use crate::support::{bulkhead, yaml_documents};

/// Every object of deploy/kubernetes, with the file it is in.
fn manifests() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut out = Vec::new();
    for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "yaml")) {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for doc in yaml_documents(&std::fs::read_to_string(file).unwrap()) {
            out.push((name.clone(), doc));
        }
    }
    out
}

#[test]
fn the_in_cluster_manifests_pass_bulkheads_own_audit() {
    let out = bulkhead().args(["audit", "--manifests", "deploy/kubernetes", "--output", "json"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = doc["diagnostics"].as_array().map_or(0, Vec::len);
    assert_eq!(findings, 0, "no finding of any severity: {doc:#}");
    let objects = manifests();
    let kinds: Vec<&str> = objects.iter().filter_map(|(_, o)| o["kind"].as_str()).collect();
    for kind in [
        "Namespace",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "PriorityClass",
    ] {
        assert!(kinds.contains(&kind), "deploy/kubernetes has a {kind}: {kinds:?}");
    }
}

/// A server-side dry-run apply of `object`, namespaced in `ns` when it is.
pub(crate) async fn dry_run(client: &kube::Client, ns: &str, object: &Value) -> Result<(), String> {
    let (group, version) = object["apiVersion"].as_str().unwrap().rsplit_once('/').unwrap_or(("", "v1"));
    let gvk = GroupVersionKind::gvk(group, version, object["kind"].as_str().unwrap());
    let (resource, caps) = kube::discovery::pinned_kind(client, &gvk).await.map_err(|e| e.to_string())?;
    let mut object = object.clone();
    let api: kube::Api<DynamicObject> = if caps.scope == kube::discovery::Scope::Namespaced {
        object["metadata"]["namespace"] = Value::from(ns);
        kube::Api::namespaced_with(client.clone(), ns, &resource)
    } else {
        kube::Api::all_with(client.clone(), &resource)
    };
    // The binding's subject is the account in the same namespace.
    if let Some(subjects) = object.get_mut("subjects").and_then(Value::as_array_mut) {
        for s in subjects {
            s["namespace"] = Value::from(ns);
        }
    }
    let name = object["metadata"]["name"].as_str().unwrap().to_string();
    let dynamic: DynamicObject = serde_json::from_value(object).map_err(|e| e.to_string())?;
    api.patch(&name, &PatchParams::apply("bulkhead-deploy-test").dry_run().force(), &Patch::Apply(&dynamic))
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_accepts_the_in_cluster_manifests_in_a_server_side_dry_run() {
    let Some(env) = TestEnv::require(1) else { return };
    let ns = TestNamespace::create(&env, 0, "deploy").await;
    let client = env.client(0).await;
    let objects = manifests();
    for (file, object) in &objects {
        if let Err(e) = dry_run(&client, ns.name(), object).await {
            panic!("{file}: {} {} refused: {e}", object["kind"], object["metadata"]["name"]);
        }
    }
    // The check can fail: a Deployment with a negative replica count is refused.
    let (_, deployment) = objects.iter().find(|(_, o)| o["kind"] == "Deployment").unwrap();
    let mut broken = deployment.clone();
    broken["spec"]["replicas"] = Value::from(-1);
    assert!(dry_run(&client, ns.name(), &broken).await.is_err(), "a negative replica count passed the dry run");
}
