//! `bulkhead plan`, `apply` and `drift` on three real clusters: a plan
//! shows what apply then does; a second plan is empty; an edit made on a
//! cluster is drift and nothing else is; a saved plan refuses a cluster
//! that changed; removing an app deletes only what Bulkhead applied, past
//! the mass-delete guardrail; a wave that does not become healthy stops
//! the rollout before the next.

use std::path::Path;
use std::process::Output;

use bulkhead_test::{TestEnv, TestNamespace};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use crate::backup::{json_of, run};
use crate::support::{create_object, scratch, testenv_fleet_with};

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

async fn bulkhead(dir: &Path, words: &[&str]) -> Output {
    let mut args: Vec<String> = words.iter().map(|s| s.to_string()).collect();
    args.push(dir.display().to_string());
    run(args).await
}

/// A fleet named `name` over the test environment's clusters, with `apps`
/// and `more` of its spec; each app's files written from `files`.
fn fleet(env: &TestEnv, dir: &Path, name: &str, apps: &str, more: &str, files: &[(&str, String)]) {
    testenv_fleet_with(env, dir, apps, more);
    let path = dir.join("fleet.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("metadata: {name: testenv}", &format!("metadata: {{name: {name}}}"));
    std::fs::write(&path, text).unwrap();
    for (file, content) in files {
        let file = dir.join(file);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, content).unwrap();
    }
}

/// A name no other run uses (namespace and fleet at once).
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{:x}-{:x}", std::process::id(), nanos % 0xffff_ffff)
}

fn config_map(name: &str, data: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {data}\n")
}

fn deployment(name: &str, node_selector: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  replicas: 2\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      nodeSelector: {node_selector}\n      containers: [{{name: {name}, image: \"registry.example.com/{name}:1\"}}]\n"
    )
}

fn per_cluster<'a>(doc: &'a Value, cluster: &str) -> &'a Value {
    doc["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cluster"] == cluster)
        .unwrap_or_else(|| panic!("{cluster} in {doc}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_apply_drift_saved_plans_and_pruning_on_three_clusters() {
    let Some(env) = TestEnv::require(3) else { return };
    let names: Vec<String> = (0..3).map(|i| env.cluster(i).name.clone()).collect();
    // Bulkhead creates the namespace (the app's); these delete it at the end.
    let ns = unique("apply");
    let _cleanup: Vec<TestNamespace> = (0..3).map(|i| TestNamespace::adopt(&env, i, &ns)).collect();
    let dir = scratch("apply");
    let fleet_name = ns.clone();
    let apps = format!(
        "    - {{name: web, manifests: web, namespace: {ns}, placement: {{clusters: {{}}}}}}\n    - {{name: cache, manifests: cache, namespace: {ns}, placement: {{clusters: {{}}}}}}\n"
    );
    let service =
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n"
            .to_string();
    let files = [
        ("web/settings.yaml", config_map("settings", "{mode: fast}")),
        ("web/deployment.yaml", deployment("web", "{}")),
        ("web/service.yaml", service),
        ("cache/config.yaml", config_map("cache-config", "{size: '1Gi'}")),
        ("cache/extra.yaml", config_map("cache-extra", "{ttl: '60'}")),
        ("cache/deployment.yaml", deployment("cache", "{}")),
    ];
    fleet(&env, &dir, &fleet_name, &apps, "", &files);

    // The plan: seven objects to create on each cluster (the namespace once).
    let out = bulkhead(&dir, &["plan", "--output", "json"]).await;
    assert_eq!(out.status.code(), Some(1), "changes pending is exit 1: {}", text(&out));
    let plan = json_of(&out);
    for c in &names {
        assert_eq!(per_cluster(&plan, c)["create"], 7, "{plan:#}");
        assert_eq!(per_cluster(&plan, c)["update"], 0);
    }

    // Apply converges; a second plan has nothing to do, and nothing drifted.
    let out = bulkhead(&dir, &["apply", "--yes", "--health-timeout", "60s"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("every wave healthy"), "{}", text(&out));
    let out = bulkhead(&dir, &["plan"]).await;
    assert_eq!(out.status.code(), Some(0), "a second plan has no changes: {}", text(&out));
    let filters = crate::support::recovery_filters(&ns);
    let filters = || filters.iter().map(|(regex, with)| (regex.as_str(), with.as_str()));
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!("plan_without_changes", String::from_utf8_lossy(&out.stdout));
    });
    let out = bulkhead(&dir, &["drift"]).await;
    assert_eq!(out.status.code(), Some(0), "a freshly applied fleet has no drift: {}", text(&out));

    // An edit made on cluster 1 is drift; another manager's annotation and
    // an extra key of the ConfigMap are not Bulkhead's fields.
    let client = env.client(1).await;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let edit = |data: Value| Patch::Merge(json!({"data": data, "metadata": {"annotations": {"someone": "else"}}}));
    maps.patch("settings", &PatchParams::default(), &edit(json!({"mode": "slow", "extra": "x"}))).await.unwrap();
    let human = bulkhead(&dir, &["drift"]).await;
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!("drift_of_one_field", String::from_utf8_lossy(&human.stdout));
    });
    let out = bulkhead(&dir, &["drift", "--output", "json"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let drift = json_of(&out);
    for (i, c) in names.iter().enumerate() {
        let drifted = per_cluster(&drift, c)["drifted"].as_array().unwrap();
        if i == 1 {
            assert_eq!(drifted.len(), 1, "{drift:#}");
            assert_eq!(drifted[0]["key"]["name"], "settings");
            assert_eq!(drifted[0]["fields"], json!([{"path": "data.mode", "before": "slow", "after": "fast"}]));
        } else {
            assert!(drifted.is_empty(), "{drift:#}");
        }
    }

    // `check --live` reports the same drift, once.
    let out = bulkhead(&dir, &["check", "--live", "--output", "json"]).await;
    let check = json_of(&out);
    let drift: Vec<&Value> = check["diagnostics"].as_array().unwrap().iter().filter(|d| d["code"] == "drift").collect();
    assert_eq!(drift.len(), 1, "{check:#}");
    let message = drift[0]["message"].as_str().unwrap();
    assert!(message.contains("settings") && message.contains(&names[1]) && message.contains("data.mode"), "{message}");
    // Said of its app and cluster, so a dashboard counts it against `web`.
    assert_eq!(drift[0]["about"]["app"], "web", "{:#}", drift[0]);
    assert_eq!(drift[0]["about"]["clusters"], json!([names[1]]), "{:#}", drift[0]);

    // A saved plan refuses a cluster that changed in a way that changes it.
    let plan_file = dir.join("release.plan");
    let out = bulkhead(&dir, &["plan", "--out", plan_file.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    maps.patch("settings", &PatchParams::default(), &edit(json!({"mode": "slower"}))).await.unwrap();
    let out = run(vec!["apply".into(), "--yes".into(), plan_file.display().to_string()]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("changed since the plan was made"), "{}", text(&out));
    assert!(text(&out).contains("\"slower\""), "the refusal names the change: {}", text(&out));
    let live = maps.get("settings").await.unwrap();
    assert_eq!(live.data.unwrap()["mode"], "slower", "a refused plan applies nothing");
    // A plan that still holds applies exactly.
    let out = bulkhead(&dir, &["plan", "--out", plan_file.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = run(vec!["apply".into(), "--yes".into(), plan_file.display().to_string()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(maps.get("settings").await.unwrap().data.unwrap()["mode"], "fast");
    let out = bulkhead(&dir, &["drift"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // An object Bulkhead never applied, in the same namespace.
    let c0 = env.client(0).await;
    create_object(&c0, Some(&ns), json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "handmade"}}))
        .await;
    // The cache app leaves the fleet: its three objects are planned for deletion.
    let path = dir.join("fleet.yaml");
    let without = std::fs::read_to_string(&path).unwrap().replace(
        &format!("    - {{name: cache, manifests: cache, namespace: {ns}, placement: {{clusters: {{}}}}}}\n"),
        "",
    );
    std::fs::write(&path, without).unwrap();
    let out = bulkhead(&dir, &["plan", "--output", "json"]).await;
    let plan = json_of(&out);
    for c in &names {
        assert_eq!(per_cluster(&plan, c)["delete"], 3, "{plan:#}");
    }
    // Three of seven is more than the default 25%: refused, nothing deleted.
    let out = bulkhead(&dir, &["apply", "--yes"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("--allow-mass-delete"), "{}", text(&out));
    let maps0: Api<ConfigMap> = Api::namespaced(c0.clone(), &ns);
    assert!(maps0.get_opt("cache-config").await.unwrap().is_some(), "the guardrail deleted nothing");
    // Allowed: only what Bulkhead applied goes.
    let out = bulkhead(&dir, &["apply", "--yes", "--allow-mass-delete"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(maps0.get_opt("cache-config").await.unwrap().is_none());
    assert!(maps0.get_opt("cache-extra").await.unwrap().is_none());
    let deployments: Api<Deployment> = Api::namespaced(c0.clone(), &ns);
    assert!(deployments.get_opt("cache").await.unwrap().is_none());
    assert!(maps0.get_opt("handmade").await.unwrap().is_some(), "never applied by Bulkhead: never deleted");
    assert!(maps0.get_opt("settings").await.unwrap().is_some());
    let out = bulkhead(&dir, &["plan"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wave_that_does_not_become_healthy_stops_the_rollout() {
    let Some(env) = TestEnv::require(3) else { return };
    let names: Vec<String> = (0..3).map(|i| env.cluster(i).name.clone()).collect();
    let ns = unique("gate");
    let _cleanup: Vec<TestNamespace> = (0..3).map(|i| TestNamespace::adopt(&env, i, &ns)).collect();
    let dir = scratch("apply-gate");
    let apps = format!("    - {{name: stuck, manifests: stuck, namespace: {ns}, placement: {{clusters: {{}}}}}}\n");
    let waves = format!(
        "  rollout:\n    waves:\n      - {{name: canary, clusters: {{names: [{}]}}}}\n      - {{name: rest-of-fleet, clusters: {{names: [{}, {}]}}, approval: true}}\n",
        names[0], names[1], names[2]
    );
    // Pods no node can take: the Deployment never becomes available.
    let files = [("stuck/deployment.yaml", deployment("stuck", "{nowhere: 'true'}"))];
    fleet(&env, &dir, &ns, &apps, &waves, &files);
    let out = bulkhead(&dir, &["apply", "--yes", "--health-timeout", "6s"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("Deployment.apps") && said.contains("is not healthy"), "{said}");
    assert!(said.contains("cannot be scheduled"), "the scheduler's reason is given: {said}");
    assert!(said.contains("Stopped at wave canary; not started: rest-of-fleet"), "{said}");
    let later: Api<Deployment> = Api::namespaced(env.client(1).await, &ns);
    assert!(later.get_opt("stuck").await.unwrap().is_none(), "wave 2 was never applied");

    // A healthy canary, and a wave that needs approval with no one to give it.
    std::fs::write(dir.join("stuck/deployment.yaml"), deployment("stuck", "{}")).unwrap();
    let out = bulkhead(&dir, &["apply", "--health-timeout", "60s"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("wave rest-of-fleet: not approved"), "{}", text(&out));
    assert!(later.get_opt("stuck").await.unwrap().is_none());
    let out = bulkhead(&dir, &["apply", "--yes", "--health-timeout", "60s"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(later.get_opt("stuck").await.unwrap().is_some());
}
