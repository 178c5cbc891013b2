//! `bulkhead backup` and `bulkhead restore` against real clusters and a
//! real repository: a namespace with a custom resource, Secrets, a claim of
//! a zonal class and workloads is backed up from cluster 0 and restored into
//! cluster 1 under another namespace and storage class; `export` on both
//! sides proves the objects equal after mapping. Stock restic reads the
//! repository; S3 (SeaweedFS) holds one too.

use std::process::Output;
use std::time::Duration;

use bulkhead_test::{TestEnv, TestNamespace, eventually};
use kube::Api;
use kube::api::PostParams;
use serde_json::{Value, json};

use crate::support::{bulkhead, scratch, testenv_fleet_with};

pub(crate) const PASSWORD_ENV: &str = "BULKHEAD_TEST_REPO_PASSWORD";
pub(crate) const PASSWORD: &str = "correct horse battery staple";

async fn create(client: &kube::Client, ns: Option<&str>, object: Value) {
    crate::support::create_object(client, ns, object).await;
}

/// Runs a recovery command with the test repositories' password, logging
/// everything (`-vv`): whatever it prints, the password never appears.
pub(crate) async fn run(args: Vec<String>) -> Output {
    let out = tokio::task::spawn_blocking(move || {
        bulkhead().arg("-vv").args(&args).env(PASSWORD_ENV, PASSWORD).output().unwrap()
    })
    .await
    .unwrap();
    crate::support::assert_secret_unseen(&out, PASSWORD);
    out
}

pub(crate) fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
}

/// The objects `bulkhead export` gives for one namespace, by (kind, name),
/// with the namespace taken out (it differs by design).
async fn exported(env: &TestEnv, cluster: usize, ns: &str) -> std::collections::BTreeMap<(String, String), Value> {
    let c = env.cluster(cluster).clone();
    let args = vec![
        "export".to_string(),
        "--kubeconfig".into(),
        c.kubeconfig.display().to_string(),
        "--context".into(),
        c.context.clone(),
        "--namespace".into(),
        ns.to_string(),
    ];
    let out = run(args).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    crate::support::yaml_documents(&String::from_utf8_lossy(&out.stdout))
        .into_iter()
        .map(|mut o| {
            o["metadata"].as_object_mut().unwrap().remove("namespace");
            let key = (o["kind"].as_str().unwrap().to_string(), o["metadata"]["name"].as_str().unwrap().to_string());
            (key, o)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_moves_between_clusters_through_a_backup() {
    let Some(env) = TestEnv::require(2) else { return };
    let source = env.client(0).await;
    let ns = TestNamespace::create(&env, 0, "backup").await;
    let ns_name = ns.name().to_string();
    let suffix = ns_name.trim_start_matches("backup-").to_string();
    // Where it goes: a namespace of the same suffix on cluster 1, deleted afterwards.
    let target_ns = format!("restored-{suffix}");
    let _target_guard = TestNamespace::adopt(&env, 1, &target_ns);
    let group = format!("b{suffix}.bulkhead.dev");
    create(&source, None, crate::support::widget_crd(&group)).await;
    let n = Some(ns_name.as_str());
    create(
        &source,
        n,
        json!({"apiVersion": format!("{group}/v1"), "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 3}}),
    )
    .await;
    create(&source, n, json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"enabled": "yes", "mode": "0644"}})).await;
    create(&source, n, json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "stringData": {"password": "hunter2"}})).await;
    create(&source, n, json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "web"}})).await;
    create(
        &source,
        n,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "web-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "web", "namespace": ns_name}]}),
    )
    .await;
    create(&source, n, json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"storageClassName": "gp3", "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})).await;
    create(&source, n, json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"serviceAccountName": "web", "containers": [{"name": "web", "image": "registry.example.com/web:1"}]}}}})).await;
    create(
        &source,
        n,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
    )
    .await;

    // A fleet with a local repository whose password lives in the environment.
    let dir = scratch("backup-migrate");
    let repo = dir.join("repo");
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {PASSWORD_ENV}}}\n",
        repo.display()
    );
    testenv_fleet_with(&env, &dir, "", &dr);
    let fleet = dir.display().to_string();
    let (c0, c1) = (env.cluster(0).name.clone(), env.cluster(1).name.clone());

    let out = run(vec![
        "backup".into(),
        "create".into(),
        "--cluster".into(),
        c0.clone(),
        "--namespace".into(),
        ns_name.clone(),
        "--output".into(),
        "json".into(),
        fleet.clone(),
    ])
    .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let backup = json_of(&out)["backups"][0].clone();
    let id = backup["snapshot"]["id"].as_str().unwrap().to_string();
    let resources = &backup["resources"];
    for r in [
        "configmaps",
        "secrets",
        "deployments.apps",
        "services",
        "persistentvolumeclaims",
        "serviceaccounts",
        "rolebindings.rbac.authorization.k8s.io",
        &format!("widgets.{group}"),
    ] {
        assert!(resources.get(r).is_some(), "{r} backed up: {backup}");
    }
    assert_eq!(resources["namespaces"], 1, "the namespace itself: {backup}");
    assert!(
        resources.get("replicasets.apps").is_none() && resources.get("pods").is_none(),
        "owned objects are noise: {backup}"
    );
    assert!(backup["snapshot"]["tags"].as_array().unwrap().contains(&json!(format!("cluster={c0}"))), "{backup}");
    assert!(backup["snapshot"]["description"].as_str().unwrap().contains("Kubernetes v1.36"), "{backup}");

    let out = run(vec![
        "backup".into(),
        "list".into(),
        "--cluster".into(),
        c0.clone(),
        "--output".into(),
        "json".into(),
        fleet.clone(),
    ])
    .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(json_of(&out)["snapshots"].as_array().unwrap().iter().any(|s| s["id"] == id));

    // A dry run changes nothing and plans every object as a create.
    let restore = |dry: bool, snapshot: &str| {
        let mut a: Vec<String> = vec![
            "restore".into(),
            "--from".into(),
            snapshot.into(),
            "--to".into(),
            c1.clone(),
            "--namespace".into(),
            ns_name.clone(),
            "--namespace-map".into(),
            format!("{ns_name}={target_ns}"),
            "--storage-class-map".into(),
            "gp3=standard".into(),
            "--output".into(),
            "json".into(),
            fleet.clone(),
        ];
        if dry {
            a.push("--dry-run".into());
        }
        a
    };
    let out = run(restore(true, &id)).await;
    let plan = json_of(&out);
    assert!(out.status.success(), "{plan}");
    let actions: Vec<&str> =
        plan["results"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert!(!actions.is_empty() && actions.iter().all(|a| *a == "would-create"), "{plan}");
    let target = env.client(1).await;
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(target.clone(), &target_ns);
    assert!(cms.get_opt("settings").await.unwrap().is_none(), "a dry run writes nothing");

    // The restore, then again: the second changes nothing.
    let out = run(restore(false, "latest")).await;
    let report = json_of(&out);
    assert!(out.status.success(), "{report}");
    let phases: Vec<&str> =
        report["results"].as_array().unwrap().iter().map(|r| r["phase"].as_str().unwrap()).collect();
    assert_eq!(phases.first(), Some(&"definitions"), "{report}");
    assert!(phases.windows(2).all(|w| order(w[0]) <= order(w[1])), "phases in order: {phases:?}");
    assert!(report["results"].as_array().unwrap().iter().all(|r| r["action"] == "created"), "{report}");
    let out = run(restore(false, &id)).await;
    let again = json_of(&out);
    assert!(again["results"].as_array().unwrap().iter().all(|r| r["action"] == "unchanged"), "{again}");

    // Equal after mapping, as export sees both sides.
    eventually("the restored claim", Duration::from_secs(10), || async {
        let pvcs: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> = Api::namespaced(target.clone(), &target_ns);
        pvcs.get_opt("data").await.map_err(|e| e.to_string())?.ok_or("not yet".to_string())
    })
    .await;
    let before = exported(&env, 0, &ns_name).await;
    let after = exported(&env, 1, &target_ns).await;
    for kind in [
        "ConfigMap",
        "Secret",
        "ServiceAccount",
        "RoleBinding",
        "PersistentVolumeClaim",
        "Deployment",
        "Service",
        "Widget",
    ] {
        let mine: Vec<_> = before.iter().filter(|((k, _), _)| k == kind).collect();
        assert!(!mine.is_empty(), "{kind} in the source");
        for (key, source) in mine {
            let mut expected = source.clone();
            match kind {
                "RoleBinding" => expected["subjects"][0]["namespace"] = json!(target_ns),
                "PersistentVolumeClaim" => expected["spec"]["storageClassName"] = json!("standard"),
                _ => {}
            }
            assert_eq!(after.get(key), Some(&expected), "{key:?} restored equal after mapping");
        }
    }

    // Stock restic (Debian's 0.14) reads what Bulkhead wrote.
    restic_reads(&repo, &c0, &ns_name);

    // Bulkhead's own check passes, then finds a pack whose bytes were damaged.
    let check = vec!["backup".to_string(), "check".into(), "--read-data".into(), fleet.clone()];
    let out = run(check.clone()).await;
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let pack = walk(&repo.join("data")).into_iter().max_by_key(|p| std::fs::metadata(p).unwrap().len()).unwrap();
    let mut bytes = std::fs::read(&pack).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&pack, bytes).unwrap();
    let out = run(check).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("problems"), "{stdout}");
    let _ = Api::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>::all(
        source,
    )
    .delete(&format!("widgets.{group}"), &Default::default())
    .await;
    let _ = Api::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>::all(
        target,
    )
    .delete(&format!("widgets.{group}"), &Default::default())
    .await;
}

/// Every file under `dir`.
pub(crate) fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

fn order(phase: &str) -> usize {
    ["definitions", "namespaces", "identities", "configuration", "storage", "workloads", "networking", "rest"]
        .iter()
        .position(|p| *p == phase)
        .unwrap_or(99)
}

fn restic_reads(repo: &std::path::Path, cluster: &str, ns: &str) {
    if bulkhead_test::program::RESTIC.require().is_none() {
        return;
    }
    let restic = |args: &[&str]| crate::support::restic(repo, repo.parent().unwrap_or(repo), args);
    let check = restic(&["check", "--read-data"]);
    assert!(
        check.status.success(),
        "restic check: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let dump = restic(&["dump", "latest", &format!("/{cluster}/configmaps/{ns}/settings.yaml")]);
    let text = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dump.status.success() && text.contains("enabled: \"yes\""),
        "restic dump: {text}{}",
        String::from_utf8_lossy(&dump.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_goes_to_s3_and_a_wrong_password_is_refused() {
    let Some((env, s3)) = TestEnv::require_s3() else { return };
    let ns = TestNamespace::create(&env, 0, "backup-s3").await;
    let client = env.client(0).await;
    create(
        &client,
        Some(ns.name()),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}),
    )
    .await;
    let dir = scratch("backup-s3");
    let url = format!("s3:{}/{}/{}", s3.endpoint, s3.bucket, ns.name());
    let dr = format!("  dr:\n    repositories:\n      - {{name: s3, url: \"{url}\", passwordEnv: {PASSWORD_ENV}}}\n");
    testenv_fleet_with(&env, &dir, "", &dr);
    let fleet = dir.display().to_string();
    let c0 = env.cluster(0).name.clone();
    let args = vec![
        "backup".to_string(),
        "create".into(),
        "--cluster".into(),
        c0.clone(),
        "--namespace".into(),
        ns.name().to_string(),
        "--output".into(),
        "json".into(),
        fleet.clone(),
    ];
    let s3_env = move |cmd: &mut std::process::Command| {
        cmd.env("AWS_ACCESS_KEY_ID", &s3.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &s3.secret_key)
            .env("AWS_DEFAULT_REGION", &s3.region);
    };
    let out = {
        let (args, s3_env) = (args.clone(), s3_env.clone());
        tokio::task::spawn_blocking(move || {
            let mut cmd = bulkhead();
            cmd.args(&args).env(PASSWORD_ENV, PASSWORD);
            s3_env(&mut cmd);
            cmd.output().unwrap()
        })
        .await
        .unwrap()
    };
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_of(&out)["backups"][0]["resources"]["configmaps"], 1);
    // The same repository with another password: refused, as bad input, saying which repository.
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = bulkhead();
        cmd.args(["backup", "list", &fleet]).env(PASSWORD_ENV, "not the password");
        s3_env(&mut cmd);
        cmd.output().unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("repository") && !stderr.contains("not the password"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_backs_up_each_of_its_apps_where_it_runs() {
    let Some(env) = TestEnv::require(1) else { return };
    let ns = TestNamespace::create(&env, 0, "backup-policy").await;
    let client = env.client(0).await;
    create(
        &client,
        Some(ns.name()),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}),
    )
    .await;
    let dir = scratch("backup-policy");
    let c0 = env.cluster(0).name.clone();
    let apps = format!(
        "    - name: shop\n      manifests: apps/shop\n      namespace: {}\n      placement: {{clusters: {{names: [{c0}]}}}}\n      backup: {{policy: hourly}}\n",
        ns.name()
    );
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {PASSWORD_ENV}}}\n    policies:\n      - {{name: hourly, schedule: \"0 * * * *\", repository: local}}\n",
        dir.join("repo").display()
    );
    testenv_fleet_with(&env, &dir, &apps, &dr);
    let fleet = dir.display().to_string();
    let out = run(vec![
        "backup".into(),
        "create".into(),
        "--policy".into(),
        "hourly".into(),
        "--output".into(),
        "json".into(),
        fleet.clone(),
    ])
    .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let backups = json_of(&out)["backups"].clone();
    assert_eq!(backups.as_array().unwrap().len(), 1, "{backups}");
    let tags = &backups[0]["snapshot"]["tags"];
    for tag in ["app=shop".to_string(), format!("cluster={c0}"), "policy=hourly".to_string()] {
        assert!(tags.as_array().unwrap().contains(&json!(tag)), "{tag}: {tags}");
    }
    assert_eq!(backups[0]["resources"]["configmaps"], 1, "{backups}");
    let out = run(vec!["backup".into(), "create".into(), "--policy".into(), "nope".into(), fleet]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no policy `nope`; it has: hourly"));
}

/// RBAC that forbids most resources: the forbidden ones are named, the
/// allowed ones backed up, and the exit is 1 (never a quiet partial backup).
#[tokio::test(flavor = "multi_thread")]
async fn a_resource_rbac_forbids_is_named_and_the_rest_backed_up() {
    use k8s_openapi::api::authentication::v1::TokenRequest;
    use k8s_openapi::api::core::v1::ServiceAccount;

    let Some(env) = TestEnv::require(1) else { return };
    let ns = TestNamespace::create(&env, 0, "backup-rbac").await;
    let client = env.client(0).await;
    let n = Some(ns.name());
    create(
        &client,
        n,
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "allowed"}, "data": {"k": "v"}}),
    )
    .await;
    create(
        &client,
        n,
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "forbidden"}, "stringData": {"k": "v"}}),
    )
    .await;
    create(&client, n, json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "reader"}})).await;
    create(
        &client,
        n,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "reader"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]}),
    )
    .await;
    create(
        &client,
        n,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": ns.name()}]}),
    )
    .await;
    let request: TokenRequest =
        serde_json::from_value(json!({"spec": {"audiences": [], "expirationSeconds": 600}})).unwrap();
    let token = Api::<ServiceAccount>::namespaced(client.clone(), ns.name())
        .create_token_request("reader", &PostParams::default(), &request)
        .await
        .unwrap()
        .status
        .unwrap()
        .token
        .unwrap();
    // A kubeconfig for the service account, beside the admin's.
    let c = env.cluster(0).clone();
    let admin = kube::config::Kubeconfig::read_from(&c.kubeconfig).unwrap();
    let entry = admin.clusters.iter().find(|e| e.name == c.context).or(admin.clusters.first()).unwrap();
    let cluster = entry.cluster.as_ref().unwrap();
    let (ca, server) = (cluster.certificate_authority.clone().unwrap(), cluster.server.clone().unwrap());
    let dir = scratch("backup-rbac");
    let kubeconfig = dir.join("reader.kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!("apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: '{server}', certificate-authority: '{ca}'}}}}]\ncontexts: [{{name: reader, context: {{cluster: c, user: reader}}}}]\ncurrent-context: reader\nusers: [{{name: reader, user: {{token: '{token}'}}}}]\n"),
    )
    .unwrap();
    let fleet_text = format!(
        "apiVersion: bulkhead.dev/v1alpha1\nkind: Fleet\nmetadata: {{name: rbac}}\nspec:\n  providers:\n    - {{name: {p}, kind: {k}, regions: [{{name: {r}, zones: [{z}]}}]}}\n  clusters:\n    - name: {name}\n      location: {p}/{r}\n      access: {{kubeconfig: reader.kubeconfig, context: reader}}\n  dr:\n    repositories:\n      - {{name: local, url: ./repo, passwordEnv: {PASSWORD_ENV}}}\n",
        p = c.provider,
        k = c.provider_kind,
        r = c.region,
        z = c.zones.join(", "),
        name = c.name,
    );
    std::fs::write(dir.join("fleet.yaml"), fleet_text).unwrap();
    let out = run(vec![
        "backup".into(),
        "create".into(),
        "--cluster".into(),
        c.name.clone(),
        "--namespace".into(),
        ns.name().to_string(),
        "--output".into(),
        "json".into(),
        dir.display().to_string(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let backup = json_of(&out)["backups"][0].clone();
    assert_eq!(backup["resources"]["configmaps"], 1, "{backup}");
    let skipped = backup["skipped"].as_array().unwrap();
    let secrets = skipped.iter().find(|s| s["resource"] == "secrets").unwrap_or_else(|| panic!("{backup}"));
    assert!(secrets["why"].as_str().unwrap().contains("forbidden"), "{secrets}");
}

/// `check --live` knows the fleet's backups: an app whose policy never ran
/// is an error until a backup exists.
#[tokio::test(flavor = "multi_thread")]
async fn check_live_reports_an_app_without_a_backup_until_it_has_one() {
    let Some(env) = TestEnv::require(1) else { return };
    let ns = TestNamespace::create(&env, 0, "backup-check").await;
    let dir = scratch("backup-check");
    let c0 = env.cluster(0).name.clone();
    let apps = format!(
        "    - name: shop\n      manifests: apps/shop\n      namespace: {}\n      placement: {{clusters: {{names: [{c0}]}}}}\n      sla: {{tier: 2, rto: 1h, rpo: 1h}}\n      backup: {{policy: hourly}}\n",
        ns.name()
    );
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {PASSWORD_ENV}}}\n    policies:\n      - {{name: hourly, schedule: \"0 * * * *\", repository: local, keep: {{hourly: 24}}}}\n",
        dir.join("repo").display()
    );
    testenv_fleet_with(&env, &dir, &apps, &dr);
    let fleet = dir.display().to_string();
    let check = vec!["check".to_string(), "--live".into(), "--output".into(), "json".into(), fleet.clone()];
    let codes = |out: &Output| -> Vec<String> {
        json_of(out)["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap().to_string())
            .collect()
    };
    // No repository yet: the backups are unknown.
    let out = run(check.clone()).await;
    assert!(codes(&out).contains(&"backup-unknown".to_string()), "{}", String::from_utf8_lossy(&out.stdout));
    let out = run(vec![
        "backup".into(),
        "create".into(),
        "--cluster".into(),
        c0.clone(),
        "--namespace".into(),
        ns.name().to_string(),
        fleet.clone(),
    ])
    .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A repository, but no snapshot of the app: missing.
    let out = run(check.clone()).await;
    assert!(codes(&out).contains(&"backup-missing".to_string()), "{}", String::from_utf8_lossy(&out.stdout));
    let out = run(vec!["backup".into(), "create".into(), "--policy".into(), "hourly".into(), fleet.clone()]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(check).await;
    let found = codes(&out);
    assert!(!found.iter().any(|c| c.starts_with("backup-")), "{found:?}");
    let stages = json_of(&out)["stages"].clone();
    assert!(stages.as_array().unwrap().iter().any(|s| s["name"] == "backups"), "{stages}");
    // --repos reads the repositories alone: no cluster is read.
    let out = run(vec!["check".into(), "--repos".into(), "--output".into(), "json".into(), fleet]).await;
    let stages = json_of(&out)["stages"].clone();
    let names: Vec<&str> = stages.as_array().unwrap().iter().filter_map(|s| s["name"].as_str()).collect();
    assert!(names.contains(&"backups") && !names.contains(&"clusters"), "{stages}");
}
