//! The Helm chart of `deploy/helm/bulkhead`, with the pinned Helm testenv
//! builds: it lints; its default rendering is `deploy/kubernetes/bulkhead.yaml`
//! (so the plain manifests, which tests/deploy.rs audits and dry-runs, are
//! the chart); a bad value is refused with a reason; the git-checkout
//! variant passes Bulkhead's audit and a real API server's dry run; and
//! `helm install` on a real cluster runs two replicas that the real
//! scheduler spreads over two zones, which `upgrade` and `uninstall` change
//! and remove.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use bulkhead_test::{TestEnv, TestNamespace, eventually};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::api::ListParams;
use serde_json::Value;

use crate::deploy::dry_run;
use crate::support::{bulkhead, output_with_stdin, yaml_documents};

fn chart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/helm/bulkhead")
}

/// Runs the pinned Helm with `args`, against cluster 0 of the environment.
fn helm(env: &TestEnv, args: &[&str]) -> Output {
    Command::new(env.bin.join("helm"))
        .args(args)
        .env("KUBECONFIG", &env.cluster(0).kubeconfig)
        // Helm's own caches and settings stay in the test's folder.
        .env("HELM_CACHE_HOME", env.state.join("helm/cache"))
        .env("HELM_CONFIG_HOME", env.state.join("helm/config"))
        .env("HELM_DATA_HOME", env.state.join("helm/data"))
        .output()
        .expect("the pinned helm runs (testenv/build.sh builds it)")
}

fn ok(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{what}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// The chart rendered as release `bulkhead` in namespace `bulkhead` with `set`.
fn render(env: &TestEnv, set: &[&str]) -> String {
    let chart = chart();
    let mut args = vec!["template", "bulkhead", chart.to_str().unwrap(), "--namespace", "bulkhead"];
    for s in set {
        args.extend(["--set", s]);
    }
    ok(&helm(env, &args), "helm template")
}

const GIT: [&str; 5] = [
    "fleet.git.repository=https://git.invalid/platform/fleet.git",
    "fleet.git.image=git-sync:v4.4.0",
    "fleet.git.path=fleets/prod",
    "serve.shards=4",
    "serve.trafficKeySecret=bulkhead-traffic-key",
];

#[test]
fn the_chart_lints_and_renders_to_the_plain_manifests() {
    let Some(env) = TestEnv::require(1) else { return };
    ok(&helm(&env, &["lint", "--strict", chart().to_str().unwrap()]), "helm lint --strict");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes/bulkhead.yaml");
    let checked_in = std::fs::read_to_string(&file).unwrap();
    let body: String = checked_in.lines().skip_while(|l| l.starts_with("# ")).map(|l| format!("{l}\n")).collect();
    assert!(
        body == render(&env, &[]),
        "deploy/kubernetes/bulkhead.yaml is not the chart's rendering: run deploy/render.sh"
    );
    // The chart's PrometheusRule holds the rules promtool tests.
    let rendered = yaml_documents(&render(&env, &["prometheusRule.enabled=true"]));
    let rule = rendered.iter().find(|o| o["kind"] == "PrometheusRule").expect("prometheusRule.enabled renders one");
    let shipped = yaml_documents(&std::fs::read_to_string(chart().join("../../prometheusrule.yaml")).unwrap());
    assert_eq!(rule["spec"]["groups"], shipped[0]["spec"]["groups"]);
}

#[test]
fn a_bad_value_is_refused_with_the_reason() {
    let Some(env) = TestEnv::require(1) else { return };
    let chart = chart();
    let chart = chart.to_str().unwrap();
    for (set, says) in [
        // A typo: the schema knows every name.
        ("replica=3", "additional properties 'replica' not allowed"),
        ("serve.shards=0", "minimum"),
        ("serve.leaseDuration=fifteen", "serve/leaseDuration"),
        ("fleet.git.path=../../etc", "fleet/git/path"),
        // git without the image: the chart names no registry.
        ("fleet.git.repository=https://git.invalid/fleet.git", "fleet.git.image: name the git-sync (v4) image"),
    ] {
        let out = helm(&env, &["template", "x", chart, "--set", set]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "--set {set} rendered");
        assert!(stderr.contains(says), "--set {set}: says {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_git_checkout_variant_is_audited_and_accepted_by_a_real_api_server() {
    let Some(env) = TestEnv::require(1) else { return };
    let text = render(&env, &GIT);
    let objects = yaml_documents(&text);
    let deployment = objects.iter().find(|o| o["kind"] == "Deployment").unwrap();
    let pod = &deployment["spec"]["template"]["spec"];
    let serve = &pod["containers"][0];
    assert_eq!(serve["args"][1], "/git/fleet/fleets/prod", "serve reads the checkout's fleet folder");
    let args: Vec<&str> = serve["args"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(args.contains(&"--shards=4"), "{args:?}");
    assert!(args.contains(&"--traffic-key=/traffic-key/traffic.key"), "{args:?}");
    let mounts = serve["volumeMounts"].as_array().unwrap();
    assert!(mounts.iter().any(|m| m["name"] == "traffic-key" && m["readOnly"] == true), "{mounts:?}");
    let init: Vec<(&str, &Value)> =
        pod["initContainers"].as_array().unwrap().iter().map(|c| (c["name"].as_str().unwrap(), c)).collect();
    assert_eq!(init.iter().map(|(n, _)| *n).collect::<Vec<_>>(), ["fleet-clone", "fleet-sync"]);
    assert!(init[0].1["args"].as_array().unwrap().contains(&Value::from("--one-time")), "the clone comes first");
    assert_eq!(init[1].1["restartPolicy"], "Always", "the sync is a native sidecar");
    let volumes: Vec<&str> = pod["volumes"].as_array().unwrap().iter().filter_map(|v| v["name"].as_str()).collect();
    assert!(volumes.contains(&"git") && !volumes.contains(&"fleet"), "{volumes:?}");
    assert!(volumes.contains(&"traffic-key"), "the traffic key's Secret: {volumes:?}");

    // Bulkhead's own audit finds nothing, git-sync's containers included.
    let mut audit = bulkhead();
    audit.args(["audit", "--manifests", "-", "--output", "json"]);
    let out = output_with_stdin(audit, text.as_bytes());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(out.status.success() && doc["diagnostics"].as_array().is_none_or(Vec::is_empty), "{doc:#}");

    let ns = TestNamespace::create(&env, 0, "helm-git").await;
    let client = env.client(0).await;
    for object in &objects {
        if let Err(e) = dry_run(&client, ns.name(), object).await {
            panic!("{} {} refused: {e}", object["kind"], object["metadata"]["name"]);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn helm_installs_the_chart_whose_replicas_the_scheduler_spreads_over_zones() {
    let Some(env) = TestEnv::require(1) else { return };
    let ns = TestNamespace::create(&env, 0, "helm").await;
    let client = env.client(0).await;
    let release = ns.name().to_string();
    let chart = chart();
    let chart = chart.to_str().unwrap();
    let name = format!("{release}-bulkhead-serve");
    ok(&helm(&env, &["install", &release, chart, "--namespace", ns.name()]), "helm install");

    // kwok's nodes run the pods the real scheduler places: one per zone.
    let pods: kube::Api<Pod> = kube::Api::namespaced(client.clone(), ns.name());
    let nodes: kube::Api<Node> = kube::Api::all(client.clone());
    let selector = format!("app.kubernetes.io/instance={release}");
    let zones = eventually("two running replicas in two zones", Duration::from_secs(60), || async {
        let list = pods.list(&ListParams::default().labels(&selector)).await.map_err(|e| e.to_string())?;
        let mut zones = Vec::new();
        for pod in &list.items {
            let status = pod.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
            let node = pod.spec.as_ref().and_then(|s| s.node_name.clone()).ok_or("a pod is not placed yet")?;
            if status != "Running" {
                return Err(format!("a pod is {status}"));
            }
            let labels = nodes.get(&node).await.map_err(|e| e.to_string())?.metadata.labels.unwrap_or_default();
            zones.push(labels.get(&env.labels.zone).cloned().unwrap_or_default());
        }
        if zones.len() != 2 {
            return Err(format!("{} pods", zones.len()));
        }
        Ok(zones)
    })
    .await;
    assert_ne!(zones[0], zones[1], "the two replicas share zone {}", zones[0]);
    let pod = pods.list(&ListParams::default().labels(&selector)).await.unwrap().items.remove(0);
    assert_eq!(pod.spec.unwrap().priority_class_name.as_deref(), Some(name.as_str()));

    // An upgrade changes the flags; an uninstall removes every object,
    // the cluster-wide PriorityClass too.
    ok(&helm(&env, &["upgrade", &release, chart, "--namespace", ns.name(), "--set", "serve.shards=3"]), "upgrade");
    let deployments: kube::Api<Deployment> = kube::Api::namespaced(client.clone(), ns.name());
    let args = deployments.get(&name).await.unwrap().spec.unwrap().template.spec.unwrap().containers[0].args.clone();
    assert!(args.unwrap_or_default().contains(&"--shards=3".to_string()), "the upgrade set --shards=3");
    ok(&helm(&env, &["uninstall", &release, "--namespace", ns.name(), "--wait"]), "helm uninstall");
    assert!(deployments.get_opt(&name).await.unwrap().is_none(), "the Deployment is gone");
    let classes: kube::Api<PriorityClass> = kube::Api::all(client);
    assert!(classes.get_opt(&name).await.unwrap().is_none(), "the PriorityClass is gone");
}
