//! `bulkhead drill`: an app backed up on cluster 0 is recovered into
//! scratch namespaces of cluster 1, verified and timed, and the record
//! lands in the repository; a drill whose workload never comes up, and
//! so misses its RTO, fails, saying both.

use std::process::Output;

use bulkhead_test::{TestEnv, TestNamespace};
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use serde_json::{Value, json};

use crate::backup::{PASSWORD_ENV, json_of, run};
use crate::support::{create_object, scratch, testenv_fleet_with};

fn words(w: &[&str]) -> Vec<String> {
    w.iter().map(|s| s.to_string()).collect()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drill_recovers_verifies_times_and_records_an_app() {
    let Some(env) = TestEnv::require(2) else { return };
    let (c0, c1) = (env.cluster(0).name.clone(), env.cluster(1).name.clone());
    let shop = TestNamespace::create(&env, 0, "drill-shop").await;
    let stuck = TestNamespace::create(&env, 0, "drill-stuck").await;
    let client = env.client(0).await;
    let n = Some(shop.name());
    create_object(
        &client,
        n,
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"mode": "fast"}}),
    )
    .await;
    create_object(&client, n, json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "stringData": {"password": "hunter2"}})).await;
    create_object(&client, n, json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"storageClassName": "gp3", "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})).await;
    let deployment = |name: &str, selector: Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"nodeSelector": selector, "containers": [{"name": name, "image": "registry.example.com/web:1"}]}}}})
    };
    create_object(&client, n, deployment("web", json!({}))).await;
    create_object(
        &client,
        n,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
    )
    .await;
    // An app whose pods can never be placed.
    create_object(&client, Some(stuck.name()), deployment("stuck", json!({"nowhere": "true"}))).await;

    let dir = scratch("drill");
    // The app's own checks: kwok's pods serve nothing, so the HTTP check
    // asks a local server (which answers only for a drill's namespace), and
    // the Job check's pods are completed by kwok; stuck's checks cannot pass.
    let port = serve_checks().await;
    std::fs::create_dir_all(dir.join("checks")).unwrap();
    std::fs::write(dir.join("checks/smoke.yaml"), check_job("smoke", "{}")).unwrap();
    std::fs::write(dir.join("checks/never.yaml"), check_job("never", "{nowhere: \"true\"}")).unwrap();
    let apps = format!(
        "    - name: shop\n      manifests: apps/shop\n      namespace: {shop}\n      placement: {{clusters: {{names: [{c0}]}}}}\n      sla: {{tier: 1, rto: 5m, rpo: 1h}}\n      backup: {{policy: hourly}}\n      checks:\n        - {{name: answers, http: {{url: \"http://127.0.0.1:{port}/{{namespace}}/healthz\", bodyContains: ok}}, timeout: 20s}}\n        - {{name: smoke, job: checks/smoke.yaml, timeout: 60s}}\n    - name: stuck\n      manifests: apps/stuck\n      namespace: {stuck}\n      placement: {{clusters: {{names: [{c0}]}}}}\n      sla: {{tier: 1, rto: 1s, rpo: 1h}}\n      backup: {{policy: hourly}}\n      checks:\n        - {{name: answers, http: {{url: \"http://127.0.0.1:{port}/down\"}}, timeout: 3s}}\n        - {{name: smoke, job: checks/never.yaml, timeout: 3s}}\n",
        shop = shop.name(),
        stuck = stuck.name()
    );
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {PASSWORD_ENV}}}\n    policies:\n      - {{name: hourly, schedule: \"0 * * * *\", repository: local}}\n    drills:\n      - {{name: shop-to-{c1}, app: shop, from: {c0}, to: {c1}}}\n",
        dir.join("repo").display()
    );
    testenv_fleet_with(&env, &dir, &apps, &dr);
    // Storage classes: a zonal RWO class on each side, by other names.
    let path = dir.join("fleet.yaml");
    let fleet_text = std::fs::read_to_string(&path).unwrap();
    let classes = |cluster: &str, class: &str| {
        (
            format!("    - name: {cluster}\n"),
            format!(
                "    - name: {cluster}\n      storageClasses: [{{name: {class}, accessModes: [ReadWriteOnce], topology: zone, default: true}}]\n"
            ),
        )
    };
    let (a, b) = classes(&c0, "gp3");
    let (c, d) = classes(&c1, "standard-rwo");
    std::fs::write(&path, fleet_text.replacen(&a, &b, 1).replacen(&c, &d, 1)).unwrap();
    let fleet = dir.display().to_string();
    let with_fleet = |w: &[&str]| {
        let mut v = words(w);
        v.push(fleet.clone());
        v
    };

    for app in ["shop", "stuck"] {
        let out = run(with_fleet(&["backup", "create", "--app", app])).await;
        assert!(out.status.success(), "{}", text(&out));
    }

    let out = run(with_fleet(&["drill", "run", &format!("shop-to-{c1}"), "--output", "json"])).await;
    let doc = json_of(&out);
    assert!(out.status.success(), "{}", text(&out));
    let report = &doc["report"];
    assert_eq!(report["passed"], true, "{report}");
    assert!(report["rtoSeconds"].as_f64().unwrap() > 0.0 && report["rtoSeconds"].as_f64().unwrap() < 300.0, "{report}");
    assert!(report["rpoSeconds"].as_f64().unwrap() >= 0.0, "{report}");
    for kind in ["ConfigMap", "Secret", "PersistentVolumeClaim", "Deployment", "Service", "Namespace"] {
        assert_eq!(report["objects"][kind], 1, "{kind} verified: {report}");
    }
    let verifications: Vec<&str> = report["verifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["passed"] == true)
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert_eq!(
        verifications,
        ["restored", "available", "volumes", "check answers", "check smoke", "objects"],
        "{report}"
    );
    // Its claim had no volume snapshot (the test environment runs no CSI here):
    // reported as it is, not failed.
    assert_eq!(report["volumes"][0]["data"], false, "{report}");
    assert!(
        report["volumes"][0]["detail"].as_str().unwrap().contains("empty: the backup holds no snapshot"),
        "{report}"
    );
    let details = report["verifications"].to_string();
    assert!(details.contains("answered 200") && details.contains("completed after"), "{report}");
    // The scratch namespace is gone (or going).
    let scratch_ns = report["namespaces"][shop.name()].as_str().unwrap().to_string();
    let namespaces: Api<Namespace> = Api::all(env.client(1).await);
    let left = namespaces.get_opt(&scratch_ns).await.unwrap();
    assert!(left.is_none_or(|n| n.metadata.deletion_timestamp.is_some()), "{scratch_ns} removed");

    let out = run(with_fleet(&[
        "drill",
        "run",
        "--app",
        "stuck",
        "--from",
        &c0,
        "--to",
        &c1,
        "--timeout",
        "5s",
        "--output",
        "json",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = json_of(&out)["report"].clone();
    let problems = report["problems"].to_string();
    assert!(problems.contains("Deployment") && problems.contains("0 of 2 replicas available"), "{report}");
    assert!(problems.contains("RTO missed by"), "a 1 s RTO: {report}");
    assert!(problems.contains("check answers failed") && problems.contains("answered 503"), "{report}");
    assert!(problems.contains("down for maintenance"), "the body is quoted: {report}");
    assert!(problems.contains("check smoke failed") && problems.contains("did not complete"), "{report}");
    assert!(problems.contains("node affinity/selector"), "why its pod waits: {report}");

    let history = json_of(&run(with_fleet(&["drill", "history", "--output", "json"])).await);
    let verdicts: Vec<(String, bool)> = history["drills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["app"].as_str().unwrap().to_string(), d["passed"].as_bool().unwrap()))
        .collect();
    assert_eq!(verdicts, [("shop".to_string(), true), ("stuck".to_string(), false)], "{history}");
    let human = run(with_fleet(&["drill", "history"])).await;
    let mut filters = crate::support::recovery_filters("nonamespaceinthistable");
    // Measured times and ages differ from run to run.
    filters.insert(0, (r"\b\d+(\.\d+)? ?(ms|s|m|h)\b".into(), "[duration]".into()));
    let filters = filters.iter().map(|(regex, with)| (regex.as_str(), with.as_str())).collect::<Vec<_>>();
    insta::with_settings!({filters => filters}, {
        insta::assert_snapshot!("drill_history", String::from_utf8_lossy(&human.stdout));
    });
    let junit = run(with_fleet(&["drill", "history", "--output", "junit"])).await;
    let junit = String::from_utf8_lossy(&junit.stdout);
    assert!(junit.contains(r#"tests="2" failures="1""#) && junit.contains("<failure"), "{junit}");
    // check reads the records: shop's drill passed, stuck's failed and none of its passed.
    let check = json_of(&run(with_fleet(&["check", "--repos", "--output", "json"])).await);
    let found: Vec<(String, String)> = check["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"].as_str().is_some_and(|c| c.starts_with("drill-")))
        .map(|d| (d["code"].as_str().unwrap().to_string(), d["message"].as_str().unwrap().to_string()))
        .collect();
    let has = |code: &str, app: &str| found.iter().any(|(c, m)| c == code && m.contains(&format!("`{app}`")));
    assert!(has("drill-passed", "shop") && has("drill-failed", "stuck") && has("drill-overdue", "stuck"), "{found:?}");
    assert!(!has("drill-overdue", "shop"), "{found:?}");
    // Records are history, not backups.
    let listed = json_of(&run(with_fleet(&["backup", "list", "--output", "json"])).await);
    assert_eq!(listed["snapshots"].as_array().unwrap().len(), 2, "{listed}");
}

/// A check's Job: one pod, which kwok completes when it can be placed.
fn check_job(name: &str, node_selector: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: {name}}}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      nodeSelector: {node_selector}\n      containers: [{{name: smoke, image: registry.example.com/smoke:1}}]\n"
    )
}

/// A loopback HTTP server for the drills' HTTP checks: `/NS/healthz`
/// answers 200 `ok` when NS is a drill's scratch namespace (so the URL's
/// `{namespace}` was filled in), anything else 503.
async fn serve_checks() -> u16 {
    crate::support::serve_http(|_, path| {
        let ours = path.strip_suffix("/healthz").is_some_and(|ns| ns.contains("-drill-"));
        if ours { ("200 OK", "ok".into()) } else { ("503 Service Unavailable", "down for maintenance".into()) }
    })
    .await
}

/// The other ways a drill fails, each with its reason: an object the target
/// rejects (a Service whose fixed cluster IP lies outside the target's
/// Service range), and a backup whose data was damaged.
#[tokio::test(flavor = "multi_thread")]
async fn a_drill_fails_on_a_rejected_object_and_on_a_damaged_backup() {
    let Some(env) = TestEnv::require(2) else { return };
    let (c0, c1) = (env.cluster(0).clone(), env.cluster(1).name.clone());
    let ns = TestNamespace::create(&env, 0, "drill-reject").await;
    let client = env.client(0).await;
    // An address of cluster 0's Service range that cluster 1's does not hold.
    let base = c0.service_cidr.split('/').next().unwrap().rsplit_once('.').unwrap().0.to_string();
    let ip = format!("{base}.{}", 200 + (std::process::id() % 50));
    create_object(
        &client,
        Some(ns.name()),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "pinned"},
        "spec": {"clusterIP": ip, "ports": [{"port": 80}]}}),
    )
    .await;
    create_object(
        &client,
        Some(ns.name()),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}),
    )
    .await;
    let dir = scratch("drill-reject");
    let apps = format!(
        "    - name: pinned\n      manifests: apps/pinned\n      namespace: {}\n      placement: {{clusters: {{names: [{}]}}}}\n      sla: {{tier: 2, rto: 5m, rpo: 1h}}\n      backup: {{policy: hourly}}\n",
        ns.name(),
        c0.name
    );
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {PASSWORD_ENV}}}\n    policies:\n      - {{name: hourly, schedule: \"0 * * * *\", repository: local}}\n",
        dir.join("repo").display()
    );
    testenv_fleet_with(&env, &dir, &apps, &dr);
    let fleet = dir.display().to_string();
    let with_fleet = |w: &[&str]| {
        let mut v = words(w);
        v.push(fleet.clone());
        v
    };
    let out = run(with_fleet(&["backup", "create", "--app", "pinned"])).await;
    assert!(out.status.success(), "{}", text(&out));
    let drill = with_fleet(&["drill", "run", "--app", "pinned", "--from", &c0.name, "--to", &c1, "--output", "json"]);
    let out = run(drill.clone()).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = json_of(&out)["report"].clone();
    let problems = report["problems"].to_string();
    assert!(problems.contains("Service") && problems.contains("pinned was not restored"), "{report}");
    assert!(report["verifications"][0]["passed"] == false, "{report}");

    // Damage every data pack: the drill cannot read its backup, and says so.
    for pack in crate::backup::walk(&dir.join("repo").join("data")) {
        let mut bytes = std::fs::read(&pack).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&pack, bytes).unwrap();
    }
    let out = run(drill).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = json_of(&out)["report"].clone();
    assert!(report["problems"].to_string().contains("the backup could not be read"), "{report}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("could not remove"), "nothing was created to remove");
}

/// A backup older than the app's RPO fails the drill by how much it missed,
/// though everything else passes. The old backup is written by stock restic
/// (`--time` in the past) rather than waited for.
#[tokio::test(flavor = "multi_thread")]
async fn a_drill_fails_on_a_backup_older_than_the_rpo() {
    let Some(env) = TestEnv::require(2) else { return };
    let (c0, c1) = (env.cluster(0).name.clone(), env.cluster(1).name.clone());
    let dir = scratch("drill-rpo");
    let tree = dir.join("tree");
    let ns = format!("late-{}", std::process::id());
    for (folder, file, yaml) in [
        ("namespaces", String::new(), format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n")),
        (
            "configmaps",
            ns.clone(),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {ns}\ndata:\n  mode: fast\n"
            ),
        ),
    ] {
        let at = tree.join(folder).join(file);
        std::fs::create_dir_all(&at).unwrap();
        let name = if folder == "namespaces" { format!("{ns}.yaml") } else { "settings.yaml".into() };
        std::fs::write(at.join(name), yaml).unwrap();
    }
    let repo = dir.join("repo");
    let restic = |args: &[&str]| crate::support::restic(&repo, &tree, args);
    if !crate::support::restic_init(&repo, &tree) {
        return;
    }
    let (cluster_tag, app_tag) = (format!("cluster={c0}"), "app=late".to_string());
    let saved = restic(&["backup", "--time", "2026-01-01 00:00:00", "--tag", &cluster_tag, "--tag", &app_tag, "."]);
    assert!(saved.status.success(), "{}", text(&saved));
    let apps = format!(
        "    - name: late\n      manifests: apps/late\n      namespace: {ns}\n      placement: {{clusters: {{names: [{c0}]}}}}\n      sla: {{tier: 1, rto: 5m, rpo: 1m}}\n      backup: {{policy: minutely}}\n"
    );
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {PASSWORD_ENV}}}\n    policies:\n      - {{name: minutely, schedule: \"* * * * *\", repository: local}}\n",
        repo.display()
    );
    testenv_fleet_with(&env, &dir, &apps, &dr);
    let mut args = words(&["drill", "run", "--app", "late", "--from", &c0, "--to", &c1, "--output", "json"]);
    args.push(dir.display().to_string());
    let out = run(args).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = json_of(&out)["report"].clone();
    assert!(report["verifications"].as_array().unwrap().iter().all(|v| v["passed"] == true), "{report}");
    let problems: Vec<&str> = report["problems"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(problems.len(), 1, "{report}");
    assert!(problems[0].starts_with("RPO (the newest backup's age) missed by"), "{report}");
    assert!(problems[0].contains("against a target of 60 s"), "{report}");
    assert!(report["rpoSeconds"].as_f64().unwrap() > 86_400.0, "{report}");
}
