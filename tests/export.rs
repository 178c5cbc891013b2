//! `bulkhead export` against a real cluster: every kind of object comes
//! back clean (no server bookkeeping, no allocated addresses, intent kept),
//! as YAML that reads back the same, as a stream or a tree.

use bulkhead_test::{TestEnv, TestNamespace};
use kube::Api;
use serde_json::{Value, json};

use crate::support::{bulkhead, scratch};

async fn create(client: &kube::Client, ns: Option<&str>, object: Value) {
    crate::support::create_object(client, ns, object).await;
}

fn documents(yaml: &str) -> Vec<Value> {
    crate::support::yaml_documents(yaml)
}

#[tokio::test(flavor = "multi_thread")]
async fn export_gives_clean_objects_that_read_back_the_same() {
    let Some(env) = TestEnv::require(1) else { return };
    let client = env.client(0).await;
    let ns = TestNamespace::create(&env, 0, "export").await;
    let suffix = ns.name().trim_start_matches("export-").to_string();
    // A custom resource definition of the test's own, and one of its objects.
    let group = format!("t{suffix}.bulkhead.dev");
    create(&client, None, crate::support::widget_crd(&group)).await;
    let widget = json!({"apiVersion": format!("{group}/v1"), "kind": "Widget",
                        "metadata": {"name": "w1"}, "spec": {"size": 3}});
    create(&client, Some(ns.name()), widget.clone()).await;
    let ns_name = ns.name();
    create(
        &client,
        Some(ns_name),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
        "data": {"enabled": "yes", "mode": "0644", "note": "multi\nline\n"}}),
    )
    .await;
    create(
        &client,
        Some(ns_name),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
        "stringData": {"password": "hunter2"}}),
    )
    .await;
    create(
        &client,
        Some(ns_name),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "allocated"},
        "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80}]}}),
    )
    .await;
    create(
        &client,
        Some(ns_name),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "fixed"},
        "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80, "nodePort": 30999}]}}),
    )
    .await;
    create(
        &client,
        Some(ns_name),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "registry.example.com/web:1"}]}}}}),
    )
    .await;

    let c = env.cluster(0).clone();
    let args =
        ["export", "--kubeconfig", c.kubeconfig.to_str().unwrap(), "--context", &c.context, "--namespace", ns_name];
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let out = tokio::task::spawn_blocking(move || bulkhead().args(&args).output().unwrap()).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let docs = documents(&String::from_utf8_lossy(&out.stdout));
    let find = |kind: &str, name: &str| {
        docs.iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{kind}/{name} exported: {docs:?}"))
            .clone()
    };
    for d in &docs {
        let meta = &d["metadata"];
        for field in ["uid", "resourceVersion", "creationTimestamp", "managedFields", "generation"] {
            assert!(meta.get(field).is_none(), "{field} left in {d}");
        }
        assert!(d.get("status").is_none(), "status left in {d}");
        assert!(d["apiVersion"].is_string() && d["kind"].is_string(), "{d}");
    }
    // YAML 1.1 would read an unquoted yes as true and 0644 as 420: the values come back as written.
    let cm = find("ConfigMap", "settings");
    assert_eq!(cm["data"], json!({"enabled": "yes", "mode": "0644", "note": "multi\nline\n"}));
    // Secrets are exported (a backup is encrypted); token Secrets and the root CA are not.
    assert_eq!(find("Secret", "db")["data"]["password"], "aHVudGVyMg==");
    assert!(!docs.iter().any(|d| d["metadata"]["name"] == "kube-root-ca.crt"));
    assert!(stderr.contains("kube-root-ca.crt"), "{stderr}");
    // Allocated addresses go; a node port someone chose stays.
    let allocated = find("Service", "allocated");
    assert!(allocated["spec"].get("clusterIP").is_none(), "{allocated}");
    assert!(allocated["spec"]["ports"][0].get("nodePort").is_none(), "{allocated}");
    assert_eq!(find("Service", "fixed")["spec"]["ports"][0]["nodePort"], 30999);
    assert_eq!(find("Widget", "w1")["spec"]["size"], 3);
    find("Deployment", "web");
    // Controllers' children are objects too: the export has every object.
    assert!(docs.iter().any(|d| d["kind"] == "ReplicaSet"), "{docs:?}");

    // The same as a tree, one file per object.
    let dir = scratch("export-tree");
    let c = env.cluster(0).clone();
    let tree = dir.clone();
    let ns_owned = ns_name.to_string();
    let out = tokio::task::spawn_blocking(move || {
        bulkhead()
            .args(["export", "--kubeconfig", c.kubeconfig.to_str().unwrap(), "--context", &c.context])
            .args(["--namespace", &ns_owned, "--out"])
            .arg(&tree)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let file = dir.join(format!("namespaces/{ns_name}/widget.{group}/w1.yaml"));
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert_eq!(documents(&text)[0], find("Widget", "w1"));
    assert!(dir.join(format!("namespaces/{ns_name}/configmap/settings.yaml")).exists());

    let _ = Api::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>::all(
        client.clone(),
    )
    .delete(&format!("widgets.{group}"), &Default::default())
    .await;
}

#[test]
fn export_names_a_cluster_the_fleet_does_not_have() {
    let out = bulkhead().args(["export", "--cluster", "nope", "examples/multicloud"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no cluster `nope`") && stderr.contains("aws-use1-prod"), "{stderr}");
}

#[test]
fn export_of_an_unreachable_cluster_is_exit_3() {
    let dir = scratch("export-unreachable");
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {token: t}}]\n",
    )
    .unwrap();
    let out = bulkhead().args(["export", "--kubeconfig"]).arg(&kubeconfig).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
}
