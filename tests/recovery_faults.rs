//! Backups and restores when the world breaks under them: S3 killed in the
//! middle of a backup, an API server killed in the middle of a restore, a
//! snapshot holding a kind the target does not serve. The tests that kill
//! servers start environments of their own, so the tests sharing the main
//! one are not hit.

use std::io::{BufRead, BufReader};
use std::process::{Child, Output, Stdio};

use bulkhead_test::{TestEnv, TestNamespace};
use futures::StreamExt;
use kube::Api;
use serde_json::{Value, json};

use crate::backup::{PASSWORD, PASSWORD_ENV, json_of, run};
use crate::support::{bulkhead, create_object, scratch, testenv_fleet_with};

/// `n` ConfigMaps named `cm-0…` in `ns`, each holding `bytes` of data that
/// does not compress well, created 16 at once.
async fn config_maps(client: &kube::Client, ns: &str, n: usize, bytes: usize) {
    futures::stream::iter(0..n)
        .map(|i| {
            let mut state = 0x9e37_79b9_7f4a_7c15_u64 ^ (i as u64 + 1);
            let data: String = (0..bytes)
                .map(|_| {
                    // xorshift: cheap bytes a compressor cannot shrink much.
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    char::from(b'!' + (state % 90) as u8)
                })
                .collect();
            let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("cm-{i}")}, "data": {"blob": data}});
            async move { create_object(client, Some(ns), object).await }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
}

/// Starts `bulkhead ARGS` with the repository password and debug logs of
/// the recovery library on standard error.
fn spawn(args: &[String], envs: &[(String, String)]) -> Child {
    let mut cmd = bulkhead();
    cmd.args(args)
        .env(PASSWORD_ENV, PASSWORD)
        .env("BULKHEAD_LOG", "bulkhead_dr=debug")
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().expect("bulkhead starts")
}

/// Waits for `child` to log a line containing `marker`, runs `act`, and
/// returns the finished output (standard error whole). Panics when the
/// marker never came: the fault would not have hit work in flight.
fn act_at(mut child: Child, marker: &str, act: impl FnOnce()) -> Output {
    let stderr = child.stderr.take().expect("piped");
    // Standard output is read beside it: a report larger than a pipe's
    // buffer would otherwise block the child and this loop for ever.
    let mut stdout = child.stdout.take().expect("piped");
    let stdout = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut bytes);
        bytes
    });
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = String::new();
    let mut act = Some(act);
    for line in lines.by_ref() {
        let line = line.unwrap_or_default();
        let hit = line.contains(marker);
        seen.push_str(&line);
        seen.push('\n');
        if hit {
            (act.take().expect("once"))();
            break;
        }
    }
    for line in lines {
        seen.push_str(&line.unwrap_or_default());
        seen.push('\n');
    }
    let status = child.wait().expect("bulkhead ends");
    assert!(act.is_none(), "`{marker}` never logged: the fault hit nothing in flight\n{seen}");
    Output { status, stdout: stdout.join().expect("read"), stderr: seen.into_bytes() }
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Stock restic against an S3 repository.
fn restic_s3(env: &TestEnv, url: &str, args: &[&str]) -> Option<Output> {
    let s3 = env.s3.as_ref().expect("S3");
    bulkhead_test::program::RESTIC.require()?;
    let out = std::process::Command::new("restic")
        .args(args)
        .args(["--repo", url, "--no-cache"])
        .env("RESTIC_PASSWORD", PASSWORD)
        .env("AWS_ACCESS_KEY_ID", &s3.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &s3.secret_key)
        .env("AWS_DEFAULT_REGION", &s3.region)
        .output()
        .unwrap_or_else(|e| panic!("restic {args:?}: {e}"));
    Some(out)
}

/// S3 dies while a backup is under way: the backup fails as the outside
/// world's fault (exit 3), no snapshot is written, and once S3 is back the
/// repository passes stock restic's check and the next backup succeeds.
#[tokio::test(flavor = "multi_thread")]
async fn s3_dying_mid_backup_writes_no_snapshot_and_leaves_the_repository_consistent() {
    let Some(env) = TestEnv::own("s3-down", 1, true) else { return };
    let s3 = env.s3.clone().expect("started with S3");
    let client = env.client(0).await;
    create_object(&client, None, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payload"}}))
        .await;
    // About 8 MiB: listing and packing it takes long enough to interrupt.
    config_maps(&client, "payload", 1000, 8 * 1024).await;
    let dir = scratch("faults-s3-down");
    let url = format!("s3:{}/{}/repo", s3.endpoint, s3.bucket);
    let dr = format!("  dr:\n    repositories:\n      - {{name: s3, url: \"{url}\", passwordEnv: {PASSWORD_ENV}}}\n");
    testenv_fleet_with(&env, &dir, "", &dr);
    let args: Vec<String> =
        ["backup", "create", "--cluster", &env.cluster(0).name, "--parallel", "1", "--output", "json"]
            .iter()
            .map(|s| s.to_string())
            .chain([dir.display().to_string()])
            .collect();
    let keys = vec![
        ("AWS_ACCESS_KEY_ID".to_string(), s3.access_key.clone()),
        ("AWS_SECRET_ACCESS_KEY".to_string(), s3.secret_key.clone()),
        ("AWS_DEFAULT_REGION".to_string(), s3.region.clone()),
    ];
    let out = {
        let (args, keys, env) = (args.clone(), keys.clone(), &env);
        // The repository is created and open; the objects are still being listed.
        act_at(spawn(&args, &keys), "repository open", || env.s3_down())
    };
    assert_eq!(out.status.code(), Some(3), "an unreachable repository is the outside world's fault:\n{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\"snapshot\""), "{}", text(&out));
    env.s3_up();
    if let Some(snapshots) = restic_s3(&env, &url, &["snapshots", "--json"]) {
        assert!(snapshots.status.success(), "{}", text(&snapshots));
        let listed: Value = serde_json::from_slice(&snapshots.stdout).unwrap_or(Value::Null);
        assert_eq!(listed.as_array().map(Vec::len), Some(0), "no snapshot: {listed}");
        let check = restic_s3(&env, &url, &["check"]).expect("restic");
        assert!(check.status.success(), "restic check after the outage: {}", text(&check));
    }
    // The next backup goes through, and the repository is still whole.
    let out = tokio::task::spawn_blocking(move || spawn(&args, &keys).wait_with_output().unwrap()).await.unwrap();
    assert!(out.status.success(), "{}", text(&out));
    // The payload and the cluster's own ConfigMaps (kube-system's).
    assert!(json_of(&out)["backups"][0]["resources"]["configmaps"].as_u64() >= Some(1000), "{}", text(&out));
    if let Some(check) = restic_s3(&env, &url, &["check", "--read-data"]) {
        assert!(check.status.success(), "restic check after the next backup: {}", text(&check));
    }
}

/// The API server is killed while a restore applies ConfigMaps: the run
/// fails (never "completed"), and once the server is back the same restore,
/// run again, finishes it: every object there once, nothing failed.
#[tokio::test(flavor = "multi_thread")]
async fn a_restore_cut_by_an_api_server_restart_is_finished_by_a_rerun() {
    let Some(env) = TestEnv::own("apiserver-restart", 1, false) else { return };
    let client = env.client(0).await;
    create_object(&client, None, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "source"}}))
        .await;
    config_maps(&client, "source", 600, 64).await;
    create_object(&client, Some("source"), json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "stringData": {"password": "hunter2"}})).await;
    let dir = scratch("faults-apiserver");
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {PASSWORD_ENV}}}\n",
        dir.join("repo").display()
    );
    testenv_fleet_with(&env, &dir, "", &dr);
    let fleet = dir.display().to_string();
    let cluster = env.cluster(0).name.clone();
    let out = run(vec![
        "backup".into(),
        "create".into(),
        "--cluster".into(),
        cluster.clone(),
        "--namespace".into(),
        "source".into(),
        fleet.clone(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let restore: Vec<String> = [
        "restore",
        "--from",
        "latest",
        "--to",
        &cluster,
        "--namespace-map",
        "source=copy",
        "--parallel",
        "4",
        "--output",
        "json",
        &fleet,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = {
        let (restore, env) = (restore.clone(), &env);
        act_at(spawn(&restore, &[]), "phase=Configuration", || env.kill(0, "kube-apiserver"))
    };
    assert!(!out.status.success(), "a restore that lost its server must not pass:\n{}", text(&out));
    env.start(0);
    let out = tokio::task::spawn_blocking(move || spawn(&restore, &[]).wait_with_output().unwrap()).await.unwrap();
    let report = json_of(&out);
    assert!(out.status.success(), "the rerun finishes it: {}", text(&out));
    let results = report["results"].as_array().unwrap();
    assert!(
        results.iter().all(|r| ["created", "unchanged", "updated"].contains(&r["action"].as_str().unwrap())),
        "{report}"
    );
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(env.client(0).await, "copy");
    let names: Vec<String> =
        cms.list(&Default::default()).await.unwrap().items.into_iter().filter_map(|c| c.metadata.name).collect();
    assert_eq!(names.iter().filter(|n| n.starts_with("cm-")).count(), 600, "every ConfigMap, once");
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(env.client(0).await, "copy");
    assert!(secrets.get_opt("db").await.unwrap().is_some());
}

/// A snapshot from a newer Kubernetes holds a kind the target does not
/// serve: that object fails, by name and why, the rest is restored, the
/// exit is 1; the dry run says the same beforehand. The snapshot is written
/// by stock restic: Bulkhead reads any snapshot of YAML files.
#[tokio::test(flavor = "multi_thread")]
async fn a_kind_the_target_does_not_serve_fails_alone_and_by_name() {
    let Some(env) = TestEnv::require(1) else { return };
    let ns = TestNamespace::create(&env, 0, "future").await;
    let dir = scratch("faults-future-kind");
    let tree = dir.join("tree");
    let folder = tree.join("configmaps").join("app");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("settings.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: app\ndata:\n  mode: fast\n",
    )
    .unwrap();
    let folder = tree.join("deployments.apps").join("app");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("web.yaml"),
        "apiVersion: apps/v9\nkind: Deployment\nmetadata:\n  name: web\n  namespace: app\nspec:\n  replicas: 1\n",
    )
    .unwrap();
    let repo = dir.join("repo");
    let restic = |args: &[&str]| crate::support::restic(&repo, &tree, args);
    if !crate::support::restic_init(&repo, &tree) {
        return;
    }
    let saved = restic(&["backup", "--host", "future", "--tag", "cluster=future", "."]);
    assert!(saved.status.success(), "{}", text(&saved));
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {PASSWORD_ENV}}}\n",
        repo.display()
    );
    testenv_fleet_with(&env, &dir, "", &dr);
    let restore = |dry: bool| {
        let mut a: Vec<String> = [
            "restore",
            "--from",
            "latest",
            "--to",
            &env.cluster(0).name,
            "--namespace-map",
            &format!("app={}", ns.name()),
            "--output",
            "json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.push(dir.display().to_string());
        if dry {
            a.push("--dry-run".into());
        }
        a
    };
    let by_kind = |report: &Value, kind: &str| -> Value {
        report["results"].as_array().unwrap().iter().find(|r| r["kind"] == kind).cloned().unwrap_or(Value::Null)
    };
    let out = run(restore(true)).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let plan = json_of(&out);
    assert_eq!(by_kind(&plan, "Deployment")["action"], "failed", "{plan}");
    assert_eq!(by_kind(&plan, "ConfigMap")["action"], "would-create", "{plan}");
    let out = run(restore(false)).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = json_of(&out);
    let deployment = by_kind(&report, "Deployment");
    assert_eq!(deployment["action"], "failed", "{report}");
    assert_eq!(deployment["name"], "web", "{report}");
    assert!(deployment["why"].as_str().unwrap().contains("does not serve apps/v9 Deployment"), "{report}");
    assert_eq!(by_kind(&report, "ConfigMap")["action"], "created", "{report}");
}

/// A cluster whose credentials are rejected, or that does not answer, is the
/// outside world's fault (exit 3), named with why, before the repository is
/// touched; a repository password that is not there is bad input (exit 2).
#[tokio::test(flavor = "multi_thread")]
async fn rejected_credentials_an_unreachable_cluster_and_no_password_stop_a_backup_before_it_writes() {
    let Some(env) = TestEnv::require(1) else { return };
    let c0 = env.cluster(0).clone();
    let cases = [
        ("rejected", c0.server.clone(), "credentials were rejected (401 Unauthorized)"),
        ("refused", "https://127.0.0.1:1".to_string(), "connection refused"),
    ];
    for (name, server, why) in cases {
        let dir = scratch(&format!("faults-cluster-{name}"));
        let kubeconfig = dir.join("bad.kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: \"{server}\", insecure-skip-tls-verify: true}}\nusers:\n- name: u\n  user: {{token: not-a-token}}\ncontexts:\n- name: {ctx}\n  context: {{cluster: c, user: u}}\ncurrent-context: {ctx}\n",
                ctx = c0.context
            ),
        )
        .unwrap();
        let dr = format!(
            "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {PASSWORD_ENV}}}\n",
            dir.join("repo").display()
        );
        testenv_fleet_with(&env, &dir, "", &dr);
        let fleet_file = dir.join("fleet.yaml");
        let text = std::fs::read_to_string(&fleet_file).unwrap();
        std::fs::write(
            &fleet_file,
            text.replace(&c0.kubeconfig.display().to_string(), &kubeconfig.display().to_string()),
        )
        .unwrap();
        let out =
            run(vec!["backup".into(), "create".into(), "--cluster".into(), c0.name.clone(), dir.display().to_string()])
                .await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{name}: {stderr}");
        assert!(stderr.contains(&c0.name) && stderr.contains(why), "{name}: {stderr}");
        assert!(!dir.join("repo").exists(), "{name}: the repository was not touched");
    }
    // No password: the variable is named, nothing is read.
    let dir = scratch("faults-no-password");
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: BULKHEAD_TEST_UNSET_PASSWORD}}\n",
        dir.join("repo").display()
    );
    testenv_fleet_with(&env, &dir, "", &dr);
    let out =
        run(vec!["backup".into(), "create".into(), "--cluster".into(), c0.name.clone(), dir.display().to_string()])
            .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("BULKHEAD_TEST_UNSET_PASSWORD"), "{stderr}");
    assert!(!dir.join("repo").exists());
}
