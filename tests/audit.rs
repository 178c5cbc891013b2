//! `bulkhead audit`: every check has a failing fixture that it reports and
//! a passing one (its own `pass.yaml`, or the hardened baseline) that it
//! does not; the fixtures run in `tests/audit/fleet.yaml`.

use std::collections::BTreeSet;
use std::path::Path;

use insta_cmd::assert_cmd_snapshot;
use serde_json::Value;

use crate::support::{bulkhead, repo_root, scratch};

/// Builds a fleet around one fixture: the first lines may say
/// `# placement: cluster,cluster tier: N`.
fn fleet_for(fixture: &Path, name: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(fixture).unwrap();
    let dir = scratch(&format!("audit-{name}"));
    let mut fleet = std::fs::read_to_string(repo_root().join("tests/audit/fleet.yaml")).unwrap();
    if let Some(header) = text.lines().next().and_then(|l| l.strip_prefix("# placement: ")) {
        let (clusters, tier) = header.split_once(" tier: ").unwrap_or((header, "1"));
        fleet = fleet
            .replace(
                "placement: {clusters: {names: [aws-prod]}}",
                &format!("placement: {{clusters: {{names: [{clusters}]}}}}"),
            )
            .replace("sla: {tier: 1, rto: 5m, rpo: 1h}", &format!("sla: {{tier: {}, rto: 5m, rpo: 1h}}", tier.trim()));
    }
    std::fs::write(dir.join("fleet.yaml"), fleet).unwrap();
    std::fs::create_dir_all(dir.join("apps/app")).unwrap();
    std::fs::write(dir.join("apps/app/manifests.yaml"), text).unwrap();
    dir
}

/// (code, message) of every finding of the audit of `fixture`.
fn findings(fixture: &Path, name: &str) -> Vec<(String, String)> {
    let dir = fleet_for(fixture, name);
    let out = bulkhead().arg("audit").arg(&dir).args(["--output", "json"]).output().unwrap();
    codes_and_messages(&out, name)
}

/// (code, message) of every diagnostic of a JSON report on stdout.
fn codes_and_messages(out: &std::process::Output, what: &str) -> Vec<(String, String)> {
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["code"].as_str().unwrap().to_string(), d["message"].as_str().unwrap().to_string()))
        .collect()
}

fn check_ids() -> Vec<String> {
    let out = bulkhead().args(["audit", "--list-checks", "--output", "json"]).output().unwrap();
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn the_hardened_baseline_passes_every_check() {
    let found = findings(&repo_root().join("tests/audit/hardened.yaml"), "hardened");
    assert_eq!(found, vec![], "the baseline that stands in as every check's passing fixture must be clean");
}

#[test]
fn every_check_fires_on_its_failing_fixture_and_not_on_its_passing_one() {
    let dir = repo_root().join("tests/audit/checks");
    let mut report = String::new();
    for id in check_ids() {
        if id.starts_with("live-") {
            continue; // only running clusters show these: tests/audit_live.rs
        }
        let fail = dir.join(&id).join("fail.yaml");
        assert!(fail.exists(), "check `{id}` has no failing fixture at {}", fail.display());
        let found = findings(&fail, &format!("{id}-fail"));
        let hits: Vec<&String> = found.iter().filter(|(c, _)| *c == id).map(|(_, m)| m).collect();
        assert!(!hits.is_empty(), "check `{id}` did not fire on its failing fixture; found {found:?}");
        for m in hits {
            report.push_str(&format!("{id}: {m}\n"));
        }
        let pass = dir.join(&id).join("pass.yaml");
        let pass = if pass.exists() { pass } else { repo_root().join("tests/audit/hardened.yaml") };
        let found = findings(&pass, &format!("{id}-pass"));
        assert!(
            found.iter().all(|(c, _)| *c != id),
            "check `{id}` fired on its passing fixture {}: {found:?}",
            pass.display()
        );
    }
    // Every fixture directory is a check (a renamed check leaves none behind).
    let ids: BTreeSet<String> = check_ids().into_iter().collect();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(ids.contains(&name), "tests/audit/checks/{name} names no check");
    }
    insta::assert_snapshot!("failing_fixtures", report);
}

/// The example fleet's findings, as people read them.
#[test]
fn audit_example_fleet() {
    let mut cmd = bulkhead();
    cmd.args(["audit", "examples/multicloud"]);
    assert_cmd_snapshot!(cmd);
}

/// Settings in fleet.yaml: a typo is a warning with a suggestion; a check
/// turned off stays silent; an object can opt out by annotation.
#[test]
fn audit_settings_and_suppressions() {
    let fixture = repo_root().join("tests/audit/checks/image-tag-mutable/fail.yaml");
    let dir = fleet_for(&fixture, "settings");
    let fleet = std::fs::read_to_string(dir.join("fleet.yaml")).unwrap();
    std::fs::write(
        dir.join("fleet.yaml"),
        fleet.replace(
            "      image-pull-policy-always: {enabled: true}\n",
            "      image-pull-policy-always: {enabled: true}\n      image-tag-mutable: {severity: info}\n      probe-readines-missing: {enabled: false}\n",
        ),
    )
    .unwrap();
    let out = bulkhead().arg("audit").arg(&dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("note[image-tag-mutable]"), "{text}");
    assert!(text.contains("warning[unknown-check]: unknown check `probe-readines-missing`"), "{text}");
    assert!(text.contains("did you mean `probe-readiness-missing`?"), "{text}");
    assert_eq!(out.status.code(), Some(0), "a note does not fail the audit");

    let manifests = std::fs::read_to_string(dir.join("apps/app/manifests.yaml")).unwrap();
    std::fs::write(
        dir.join("apps/app/manifests.yaml"),
        manifests.replacen(
            "  name: api\n  labels:",
            "  name: api\n  annotations: {bulkhead.dev/audit-ignore: \"image-tag-mutable, image-pull-policy-always\"}\n  labels:",
            1,
        ),
    )
    .unwrap();
    let out = bulkhead().arg("audit").arg(&dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("image-tag-mutable"), "{text}");
}

/// `--live` reads what runs: two replicas forced onto one node, behind a
/// budget that allows no eviction, are reported as such by the real cluster.
#[tokio::test(flavor = "multi_thread")]
async fn audit_live_sees_pods_on_one_node_and_a_blocking_budget() {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::policy::v1::PodDisruptionBudget;
    use kube::api::PostParams;

    let Some(env) = bulkhead_test::TestEnv::require(1) else { return };
    let ns = bulkhead_test::TestNamespace::create(&env, 0, "audit-live").await;
    let client = env.client(0).await;
    let node = env.cluster(0).nodes[0].clone();
    let deployment: Deployment = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "cart"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "cart"}},
            "template": {
                "metadata": {"labels": {"app": "cart"}},
                "spec": {
                    "nodeSelector": {"kubernetes.io/hostname": node},
                    "containers": [{"name": "cart", "image": "registry.example.com/shop/cart:1.0.0"}]
                }
            }
        }
    }))
    .unwrap();
    let pdb: PodDisruptionBudget = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "cart"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "cart"}}}
    }))
    .unwrap();
    kube::Api::<Deployment>::namespaced(client.clone(), ns.name())
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();
    let pdbs = kube::Api::<PodDisruptionBudget>::namespaced(client.clone(), ns.name());
    pdbs.create(&PostParams::default(), &pdb).await.unwrap();
    // The disruption controller has judged the budget once both pods run.
    bulkhead_test::eventually("the budget to see 2 healthy pods", std::time::Duration::from_secs(60), || async {
        let p = pdbs.get("cart").await.map_err(|e| e.to_string())?;
        match p.status.and_then(|s| s.current_healthy) {
            Some(2) => Ok(()),
            other => Err(format!("currentHealthy {other:?}")),
        }
    })
    .await;

    let dir = scratch("audit-live");
    let apps = format!(
        "    - name: cart\n      manifests: apps/cart\n      namespace: {}\n      placement: {{clusters: {{names: [{}]}}}}\n",
        ns.name(),
        env.cluster(0).name
    );
    crate::support::testenv_fleet_with_apps(&env, &dir, &apps);
    let out = tokio::task::spawn_blocking(move || bulkhead().args(["audit", "--live"]).arg(&dir).output().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let object = format!("Deployment/{}/cart", ns.name());
    assert!(
        text.contains(&format!("warning[live-pods-one-node]: all 2 running pods of {object} are on node `{node}`")),
        "{text}"
    );
    assert!(text.contains("warning[live-pdb-blocking]"), "{text}");
    assert!(text.contains("live objects of 1 apps on"), "{text}");
    // The checks that run on manifests run on live objects too.
    assert!(text.contains(&format!("warning[resources-requests-missing]: {object}: container `cart`")), "{text}");

    // `check --live` runs the same live audit through the engine, with the
    // other analyses, and says which clusters it read.
    let out = tokio::task::spawn_blocking(move || {
        bulkhead().args(["check", "--live", "--output", "json"]).arg(scratch_path("audit-live")).output().unwrap()
    })
    .await
    .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    let stage = |name: &str| report["stages"].as_array().unwrap().iter().find(|s| s["name"] == name).cloned();
    let clusters = stage("clusters").expect("a stage for the clusters read");
    assert_eq!(clusters["status"], "passed", "{report}");
    assert!(stage("audit").unwrap()["detail"].as_str().unwrap().contains("live objects"), "{report}");
    let codes: Vec<&str> =
        report["diagnostics"].as_array().unwrap().iter().filter_map(|d| d["code"].as_str()).collect();
    assert!(codes.contains(&"live-pods-one-node") && codes.contains(&"live-pdb-blocking"), "{codes:?}");
    assert!(matches!(out.status.code(), Some(0 | 1)), "reachable clusters: pass or findings, not 3");
}

/// The scratch folder a test made with `scratch(name)`, without emptying it.
fn scratch_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// `audit --manifests` on a folder, on one file and on standard input gives
/// the findings of the same objects audited inside a fleet, without one.
#[test]
fn audit_plain_manifests_without_a_fleet() {
    let fixture = repo_root().join("tests/audit/regressions/generate-name-and-bare-pod.yaml");
    let in_fleet: BTreeSet<(String, String)> = findings(&fixture, "plain-in-fleet").into_iter().collect();
    let dir = scratch("plain-manifests");
    std::fs::copy(&fixture, dir.join("objects.yaml")).unwrap();
    let folder = bulkhead().args(["audit", "--output", "json", "--manifests"]).arg(&dir).output().unwrap();
    let file =
        bulkhead().args(["audit", "--output", "json", "--manifests"]).arg(dir.join("objects.yaml")).output().unwrap();
    let mut audit = bulkhead();
    audit.args(["audit", "--output", "json", "--manifests", "-"]);
    let piped = crate::support::output_with_stdin(audit, &std::fs::read(&fixture).unwrap());
    for (what, out) in [("folder", &folder), ("file", &file), ("stdin", &piped)] {
        assert_eq!(out.status.code(), Some(1), "{what}: findings are exit 1");
        let found: BTreeSet<(String, String)> = codes_and_messages(out, what).into_iter().collect();
        // Fleet-aware checks see another cluster than the fixture fleet's; the
        // object-level ones must agree.
        for probe in ["probe-readiness-missing", "probe-liveness-missing", "bare-pod", "replicas-minimum"] {
            let a: BTreeSet<_> = found.iter().filter(|(c, _)| c == probe).collect();
            let b: BTreeSet<_> = in_fleet.iter().filter(|(c, _)| c == probe).collect();
            assert_eq!(a, b, "{what}: {probe}");
            assert!(!a.is_empty(), "{what}: {probe} fires");
        }
    }
}

/// The audit of a realistic corpus of 10,000 objects (2,000 apps on 200
/// clusters, generated by bench/corpus.py from templates), summarised by
/// check: a change in any check's reach shows up here.
#[test]
fn audit_realistic_corpus_of_ten_thousand_objects() {
    let dir = scratch("audit-corpus");
    let status = std::process::Command::new("python3")
        .arg(repo_root().join("bench/corpus.py"))
        .arg(&dir)
        .args(["--clusters", "200", "--apps", "2000", "--seed", "3"])
        .status()
        .expect("python3 runs bench/corpus.py");
    assert!(status.success());
    let out = bulkhead().arg("audit").arg(&dir).args(["--output", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "the corpus has errors (mutable image tags, blocking budgets)");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut by_check: std::collections::BTreeMap<String, (usize, usize, usize)> = Default::default();
    for d in doc["diagnostics"].as_array().unwrap() {
        let e = by_check.entry(d["code"].as_str().unwrap().to_string()).or_default();
        match d["severity"].as_str().unwrap() {
            "error" => e.0 += 1,
            "warning" => e.1 += 1,
            _ => e.2 += 1,
        }
    }
    let mut summary = String::new();
    for (check, (e, w, i)) in by_check {
        summary.push_str(&format!("{check}: {e} errors, {w} warnings, {i} notes\n"));
    }
    insta::assert_snapshot!("corpus_10k", summary);
}

/// Regression: objects named by `generateName` are audited under their
/// prefix (they were reported as `Deployment/app/`), and a bare Pod that
/// serves ports gets the probe checks.
#[test]
fn generate_name_objects_and_bare_pods_are_audited() {
    let fixture = repo_root().join("tests/audit/regressions/generate-name-and-bare-pod.yaml");
    let found = findings(&fixture, "generate-name");
    let has = |code: &str, object: &str| found.iter().any(|(c, m)| c == code && m.starts_with(object));
    assert!(has("probe-readiness-missing", "Deployment/app/web-*:"), "{found:?}");
    assert!(has("replicas-minimum", "Deployment/app/web-*"), "{found:?}");
    assert!(has("probe-liveness-missing", "Pod/app/solo:"), "{found:?}");
    assert!(has("probe-readiness-missing", "Pod/app/solo:"), "{found:?}");
    assert!(found.iter().all(|(_, m)| !m.contains("Deployment/app/ ")), "{found:?}");
}
