//! `bulkhead etcd snapshot` against the test environment's real etcd: a
//! snapshot verified by its SHA-256 trailer, stored in the repository
//! (stock restic reads it back byte for byte), kept as a file `etcdutl`
//! accepts at the same revision, and kept out of the resource backups;
//! and the ways it fails before anything is stored.

use std::process::Output;

use bulkhead_test::TestEnv;
use serde_json::Value;

use crate::backup::{PASSWORD, PASSWORD_ENV, json_of, run};
use crate::support::{scratch, testenv_fleet_with};

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn args(words: &[&str], fleet: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = words.iter().map(|s| s.to_string()).collect();
    v.push(fleet.display().to_string());
    v
}

/// A fleet for the test environment whose first cluster says how to reach
/// its etcd at `endpoint`, with a local repository.
fn etcd_fleet(env: &TestEnv, name: &str, endpoint: &str) -> std::path::PathBuf {
    let dir = scratch(name);
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {PASSWORD_ENV}}}\n",
        dir.join("repo").display()
    );
    testenv_fleet_with(env, &dir, "", &dr);
    let path = dir.join("fleet.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let grace = &env.cluster(0).node_monitor_grace_period;
    let plain = format!("controlPlane: {{nodeMonitorGracePeriod: {grace}}}");
    let with_etcd = format!(
        "controlPlane: {{nodeMonitorGracePeriod: {grace}, etcd: {{members: 1, access: {{endpoints: [\"{endpoint}\"]}}}}}}"
    );
    assert!(text.contains(&plain), "{text}");
    std::fs::write(&path, text.replacen(&plain, &with_etcd, 1)).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_is_verified_stored_and_readable_by_etcdutl_and_restic() {
    let Some(env) = TestEnv::require(1) else { return };
    let c0 = env.cluster(0).clone();
    let dir = etcd_fleet(&env, "etcd-snapshot", &c0.etcd_endpoint());
    let file = dir.join("etcd.db");
    let out = run(args(
        &["etcd", "snapshot", "--cluster", &c0.name, "--out", file.to_str().unwrap(), "--repo", "local", "-o", "json"],
        &dir,
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let doc = json_of(&out);
    let (revision, bytes) = (doc["revision"].as_i64().unwrap(), doc["bytes"].as_u64().unwrap());
    assert!(revision > 1 && bytes > 100_000, "{doc}");
    assert_eq!(doc["sha256"].as_str().unwrap().len(), 64, "{doc}");
    // etcd's format, trailer kept: etcdutl checks it again and reads the revision.
    assert_eq!(std::fs::metadata(&file).unwrap().len(), bytes + 32);
    assert!(!dir.join("etcd.db.partial").exists(), "no partial file is left");
    let status = std::process::Command::new(env.bin.join("etcdutl"))
        .args(["snapshot", "status", "-w", "json"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(status.status.success(), "etcdutl: {}", text(&status));
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    let file_revision = status["revision"].as_i64().unwrap();
    // The revision is read just before the snapshot begins; the API server
    // writes (leases) all the time, so the file may hold a few more.
    assert!(revision <= file_revision && file_revision - revision < 50, "ours {revision}, etcdutl {status}");

    // In the repository, tagged, and byte for byte what etcd sent (stock restic).
    let id = doc["snapshot"]["id"].as_str().unwrap();
    let tags: Vec<&str> = doc["snapshot"]["tags"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(tags.contains(&"bulkhead=etcd") && tags.contains(&format!("cluster={}", c0.name).as_str()), "{doc}");
    assert!(tags.contains(&format!("etcd-revision={revision}").as_str()), "{doc}");
    if bulkhead_test::program::RESTIC.require().is_some() {
        let dumped =
            crate::support::restic(&dir.join("repo"), &dir, &["dump", id, &format!("/etcd/{}/snapshot.db", c0.name)]);
        assert!(dumped.status.success(), "restic dump: {}", text(&dumped));
        assert!(dumped.stdout == std::fs::read(&file).unwrap(), "restic gives back the file etcd sent");
    }
    // Not a resource backup: backup list and restore's `latest` pass it by.
    let listed = json_of(&run(args(&["backup", "list", "-o", "json"], &dir)).await);
    assert_eq!(listed["snapshots"].as_array().unwrap().len(), 0, "{listed}");
    let restore = run(args(&["restore", "--from", "latest", "--to", &c0.name, "--dry-run"], &dir)).await;
    assert_eq!(restore.status.code(), Some(2), "no resource backup to restore: {}", text(&restore));

    // Without --out the file is only in the repository.
    let out = run(args(&["etcd", "snapshot", "--cluster", &c0.name], &dir)).await;
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("SHA-256") && said.contains("stored in repository `local`"), "{said}");
}

/// Every refusal comes before anything is stored: etcd unreachable (exit
/// 3), a cluster with no etcd access, a missing repository password (exit 2).
#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_fails_clearly_and_stores_nothing() {
    let Some(env) = TestEnv::require(1) else { return };
    let c0 = env.cluster(0).clone();
    // A loopback port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = etcd_fleet(&env, "etcd-unreachable", &format!("http://127.0.0.1:{closed}"));
    let out = run(args(&["etcd", "snapshot", "--cluster", &c0.name], &dir)).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains(&format!("127.0.0.1:{closed}")), "names the endpoint: {}", text(&out));
    assert!(
        !dir.join("repo").join("snapshots").exists()
            || crate::backup::walk(&dir.join("repo").join("snapshots")).is_empty()
    );

    let dir = scratch("etcd-no-access");
    testenv_fleet_with(&env, &dir, "", "");
    let out = run(args(&["etcd", "snapshot", "--cluster", &c0.name, "--out", "x.db"], &dir)).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("controlPlane.etcd.access"), "{}", text(&out));

    let dir = etcd_fleet(&env, "etcd-no-password", &c0.etcd_endpoint());
    let out = crate::support::bulkhead()
        .args(args(&["etcd", "snapshot", "--cluster", &c0.name], &dir))
        .env_remove(PASSWORD_ENV)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains(PASSWORD_ENV), "{}", text(&out));
}

/// `bulkhead etcd inspect --objects -o json FILE`, which must succeed.
pub(crate) async fn inspect_objects(file: &std::path::Path) -> Value {
    let out = run(vec![
        "etcd".into(),
        "inspect".into(),
        file.display().to_string(),
        "--objects".into(),
        "-o".into(),
        "json".into(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    json_of(&out)
}

/// `etcd inspect` and `etcd extract` read a real etcd's snapshot offline: a
/// ConfigMap deleted after the snapshot comes back with one command, as the
/// API server would serve it, at the snapshot's revision or an older one;
/// from a file or from the repository.
#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_object_comes_back_from_the_snapshot() {
    use k8s_openapi::api::core::v1::ConfigMap;
    let Some(env) = TestEnv::require(1) else { return };
    let c0 = env.cluster(0).clone();
    let client = env.client(0).await;
    let ns = bulkhead_test::TestNamespace::create(&env, 0, "etcd-extract").await;
    let cms: kube::Api<ConfigMap> = kube::Api::namespaced(client.clone(), ns.name());
    let cm = |value: &str| {
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "labels": {"tier": "gold"}},
            "data": {"mode": value, "empty": ""}})
    };
    crate::support::create_object(&client, Some(ns.name()), cm("first")).await;
    let first = cms.get("settings").await.unwrap();
    let first_rv: i64 = first.metadata.resource_version.clone().unwrap().parse().unwrap();
    let patch = kube::api::Patch::Merge(serde_json::json!({"data": {"mode": "second"}}));
    cms.patch("settings", &kube::api::PatchParams::default(), &patch).await.unwrap();

    let dir = etcd_fleet(&env, "etcd-extract", &c0.etcd_endpoint());
    let file = dir.join("etcd.db");
    let out = run(args(
        &["etcd", "snapshot", "--cluster", &c0.name, "--out", file.to_str().unwrap(), "--repo", "local"],
        &dir,
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    cms.delete("settings", &kube::api::DeleteParams::default()).await.unwrap();

    // Inspect: the snapshot's objects, counted per resource.
    let doc = inspect_objects(&file).await;
    assert_eq!(doc["sha256Verified"], true, "{doc}");
    assert!(doc["resources"]["configmaps"]["objects"].as_u64().unwrap() >= 1, "{doc}");
    assert!(doc["resources"]["nodes"]["objects"].as_u64().unwrap() >= 1, "nodes are stored as `minions`: {doc}");
    let key = format!("/registry/configmaps/{}/settings", ns.name());
    let listed =
        doc["list"].as_array().unwrap().iter().find(|o| o["key"] == key.as_str()).unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(listed["stored"], "protobuf");
    assert_eq!(listed["namespace"], ns.name());

    // Extract: clean YAML that applies as it is; the object is back.
    let wanted = format!("configmap/{}/settings", ns.name());
    let out = run(vec!["etcd".into(), "extract".into(), file.display().to_string(), wanted.clone()]).await;
    assert!(out.status.success(), "{}", text(&out));
    let yaml = String::from_utf8(out.stdout.clone()).unwrap();
    let docs = crate::support::yaml_documents(&yaml);
    assert_eq!(docs.len(), 1, "{yaml}");
    assert_eq!(docs[0]["data"]["mode"], "second", "{yaml}");
    assert_eq!(docs[0]["metadata"]["labels"]["tier"], "gold", "{yaml}");
    assert!(
        docs[0]["metadata"].get("uid").is_none() && docs[0]["metadata"].get("resourceVersion").is_none(),
        "cleaned: {yaml}"
    );
    crate::support::create_object(&client, Some(ns.name()), docs[0].clone()).await;
    let back = cms.get("settings").await.unwrap();
    assert_eq!(back.data.unwrap()["mode"], "second");

    // At an older revision (the snapshot keeps history): the first value.
    let out = run(vec![
        "etcd".into(),
        "extract".into(),
        file.display().to_string(),
        wanted.clone(),
        "--revision".into(),
        first_rv.to_string(),
        "-o".into(),
        "json".into(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json_of(&out)["items"][0]["data"]["mode"], "first");

    // From the repository, by `latest`, raw (as stored, with its resourceVersion).
    let out = run(vec![
        "etcd".into(),
        "extract".into(),
        "--cluster".into(),
        c0.name.clone(),
        "latest".into(),
        wanted.clone(),
        "--raw".into(),
        "-o".into(),
        "json".into(),
        "--fleet".into(),
        dir.display().to_string(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let raw = &json_of(&out)["items"][0];
    assert!(raw["metadata"]["uid"].is_string() && raw["metadata"]["resourceVersion"].is_string(), "{raw}");

    // An object the snapshot does not have: exit 1, said on standard error.
    let out =
        run(vec!["etcd".into(), "extract".into(), file.display().to_string(), format!("configmap/{}/nope", ns.name())])
            .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not in the snapshot"), "{}", text(&out));
}

/// Bad snapshots are refused with what is wrong: a truncated file, a
/// flipped byte (the SHA-256 trailer), a file that is not etcd's, a
/// revision the snapshot does not hold.
#[tokio::test(flavor = "multi_thread")]
async fn damaged_and_foreign_snapshots_are_refused() {
    let Some(env) = TestEnv::require(1) else { return };
    let c0 = env.cluster(0).clone();
    let dir = etcd_fleet(&env, "etcd-damaged", &c0.etcd_endpoint());
    let file = dir.join("etcd.db");
    let out = run(args(&["etcd", "snapshot", "--cluster", &c0.name, "--out", file.to_str().unwrap()], &dir)).await;
    assert!(out.status.success(), "{}", text(&out));
    let bytes = std::fs::read(&file).unwrap();
    let inspect = |path: &std::path::Path| vec!["etcd".to_string(), "inspect".into(), path.display().to_string()];

    let truncated = dir.join("truncated.db");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let out = run(inspect(&truncated)).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("truncated") || text(&out).contains("beyond the end"), "{}", text(&out));

    let flipped = dir.join("flipped.db");
    let mut damaged = bytes.clone();
    damaged[bytes.len() / 3] ^= 0x40;
    std::fs::write(&flipped, &damaged).unwrap();
    let out = run(inspect(&flipped)).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("SHA-256"), "{}", text(&out));

    let foreign = dir.join("fleet.yaml");
    let out = run(inspect(&foreign)).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not a bbolt database"), "{}", text(&out));

    let mut future = inspect(&file);
    future.extend(["--revision".into(), "999999999".into()]);
    let out = run(future).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not in the snapshot"), "{}", text(&out));
}

/// Reads `bulkhead etcd watch -o json` lines as they come.
fn watch_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<Value> {
    use std::io::BufRead;
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                let _ = tx.send(v);
            }
        }
    });
    rx
}

/// Waits for a watch report that satisfies `wanted`.
fn wait_for_report(rx: &std::sync::mpsc::Receiver<Value>, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut seen = Vec::new();
    while std::time::Instant::now() < deadline {
        if let Ok(v) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
            if wanted(&v) {
                return v;
            }
            seen.push(v);
        }
    }
    panic!("no watch report {what} within 60 s; saw {seen:?}");
}

async fn configmap_revision(api: &kube::Api<k8s_openapi::api::core::v1::ConfigMap>, name: &str) -> i64 {
    api.get(name).await.unwrap().metadata.resource_version.unwrap().parse().unwrap()
}

/// The whole path on a cluster of its own: `etcd watch` stores every
/// change within seconds; the cluster's etcd is stopped and its data set
/// aside; `etcd restore` rebuilds a data directory at a chosen revision
/// (full snapshot plus replayed changes) and the control plane starts on
/// it with exactly the objects of that revision.
#[tokio::test(flavor = "multi_thread")]
async fn a_control_plane_restarts_on_a_restored_data_directory() {
    use k8s_openapi::api::core::v1::ConfigMap;
    let Some(env) = TestEnv::own("etcd-restore", 1, false) else { return };
    let c0 = env.cluster(0).clone();
    let dir = etcd_fleet(&env, "etcd-restore", &c0.etcd_endpoint());
    let mut watch = crate::support::bulkhead()
        .args(args(
            &["etcd", "watch", "--cluster", &c0.name, "--flush-every", "500ms", "--for", "120s", "-o", "json"],
            &dir,
        ))
        .env(PASSWORD_ENV, PASSWORD)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let reports = watch_lines(&mut watch);
    let full = wait_for_report(&reports, "of a full snapshot", |v| v["event"] == "full");
    assert!(full["why"].as_str().unwrap().contains("no full snapshot"), "{full}");

    let client = env.client(0).await;
    let ns = bulkhead_test::TestNamespace::create(&env, 0, "etcd-restore").await;
    let cms: kube::Api<ConfigMap> = kube::Api::namespaced(client.clone(), ns.name());
    let cm = |name: &str| serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": name}});
    for name in ["deleted-before", "kept", "marker"] {
        crate::support::create_object(&client, Some(ns.name()), cm(name)).await;
    }
    cms.delete("deleted-before", &kube::api::DeleteParams::default()).await.unwrap();
    // The chosen point: after the deletion, before `created-after`.
    crate::support::create_object(&client, Some(ns.name()), cm("point")).await;
    let point = configmap_revision(&cms, "point").await;
    crate::support::create_object(&client, Some(ns.name()), cm("created-after")).await;
    let after = configmap_revision(&cms, "created-after").await;
    let written = std::time::SystemTime::now();
    let stored = wait_for_report(&reports, "covering the last write", |v| {
        v["event"] == "segment" && v["to"].as_i64().unwrap() >= after
    });
    // The RPO: the write was durable in the repository within 5 s.
    let stored_at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(stored["storedAtMs"].as_u64().unwrap());
    let rpo = stored_at.duration_since(written).unwrap_or_default();
    assert!(rpo < std::time::Duration::from_secs(5), "a write took {rpo:?} to be durable");
    let _ = watch.kill();
    let _ = watch.wait();

    // The control plane goes down; its data is set aside.
    for component in ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok-controller", "etcd"] {
        env.kill(0, component);
    }
    let data = c0.workdir.join("etcd");
    std::fs::rename(&data, c0.workdir.join("etcd.lost")).unwrap();
    let peer = format!("http://127.0.0.1:{}", c0.ports["etcd_peer"]);
    let path = format!("{}:{}", env.bin.display(), std::env::var("PATH").unwrap_or_default());
    let restored = crate::support::bulkhead()
        .args(args(
            &[
                "etcd",
                "restore",
                "--cluster",
                &c0.name,
                "--to",
                data.to_str().unwrap(),
                "--revision",
                &point.to_string(),
                "--name",
                "node0",
                "--initial-cluster",
                &format!("node0={peer}"),
                "--initial-advertise-peer-urls",
                &peer,
                "-o",
                "json",
            ],
            &dir,
        ))
        .env(PASSWORD_ENV, PASSWORD)
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(restored.status.success(), "{}", text(&restored));
    let doc = json_of(&restored);
    assert_eq!(doc["replayed"]["revision"], point, "{doc}");
    assert!(doc["replayed"]["events"].as_u64().unwrap() > 0, "changes after the full snapshot were replayed: {doc}");

    env.start(0);
    let client = env.client(0).await;
    let cms: kube::Api<ConfigMap> = kube::Api::namespaced(client, ns.name());
    let mut names: Vec<String> =
        cms.list(&Default::default()).await.unwrap().items.into_iter().filter_map(|c| c.metadata.name).collect();
    names.retain(|n| n != "kube-root-ca.crt");
    names.sort();
    assert_eq!(names, ["kept", "marker", "point"], "exactly the objects of revision {point}");
    // The revision was bumped: new writes land far above the restored one.
    crate::support::create_object(&env.client(0).await, Some(ns.name()), cm("new")).await;
    assert!(configmap_revision(&cms, "new").await > point + 1_000_000, "the revision was bumped");
}

fn start_watch(dir: &std::path::Path, cluster: &str) -> (std::process::Child, std::sync::mpsc::Receiver<Value>) {
    let mut child = crate::support::bulkhead()
        .args(args(
            &["etcd", "watch", "--cluster", cluster, "--flush-every", "300ms", "--for", "150s", "-o", "json"],
            dir,
        ))
        .env(PASSWORD_ENV, PASSWORD)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let rx = watch_lines(&mut child);
    (child, rx)
}

/// The watch through its faults, on a cluster of its own: the repository
/// gone for a while (changes wait in memory, said, then stored), etcd
/// killed and restarted (the watch resumes without a gap), a compaction
/// while the watch was stopped (a new full snapshot, said why). Nothing is
/// lost: a restore of the newest point holds every object written.
#[tokio::test(flavor = "multi_thread")]
async fn the_watch_survives_outages_and_compaction_without_a_gap() {
    use k8s_openapi::api::core::v1::ConfigMap;
    let Some(env) = TestEnv::own("etcd-watch-faults", 1, false) else { return };
    let c0 = env.cluster(0).clone();
    let dir = etcd_fleet(&env, "etcd-watch-faults", &c0.etcd_endpoint());
    let (mut watch, reports) = start_watch(&dir, &c0.name);
    wait_for_report(&reports, "of the first full snapshot", |v| v["event"] == "full");
    let client = env.client(0).await;
    let ns = bulkhead_test::TestNamespace::create(&env, 0, "etcd-watch").await;
    let cm = |name: &str| serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": name}});
    let write = |name: &'static str| {
        let (client, ns) = (client.clone(), ns.name().to_string());
        async move {
            crate::support::create_object(&client, Some(&ns), cm(name)).await;
            let api: kube::Api<ConfigMap> = kube::Api::namespaced(client, &ns);
            configmap_revision(&api, name).await
        }
    };
    let covered = |rx: &std::sync::mpsc::Receiver<Value>, revision: i64| {
        wait_for_report(rx, &format!("storing revision {revision}"), |v| {
            v["event"] == "segment" && v["to"].as_i64().unwrap() >= revision
        })
    };

    // The repository goes away: changes wait, the watch says so, then stores them.
    let repo = dir.join("repo");
    std::fs::rename(&repo, dir.join("repo.away")).unwrap();
    let while_away = write("while-away").await;
    let trouble = wait_for_report(&reports, "of the repository's absence", |v| v["event"] == "trouble");
    assert!(trouble["what"].as_str().unwrap().contains("wait in memory"), "{trouble}");
    std::fs::rename(dir.join("repo.away"), &repo).unwrap();
    covered(&reports, while_away);

    // etcd is killed and comes back: the watch resumes where it was.
    env.kill(0, "etcd");
    let broke = wait_for_report(&reports, "of the broken watch", |v| v["event"] == "trouble");
    assert!(broke["what"].as_str().unwrap().contains("resuming after revision"), "{broke}");
    env.start(0);
    let client = env.client(0).await;
    let ns_name = ns.name().to_string();
    let after_restart = {
        crate::support::create_object(&client, Some(&ns_name), cm("after-restart")).await;
        configmap_revision(&kube::Api::namespaced(client.clone(), &ns_name), "after-restart").await
    };
    covered(&reports, after_restart);
    let _ = watch.kill();
    let _ = watch.wait();

    // While no watch runs, etcd compacts past the stored revision: the next
    // watch cannot resume and starts from a new full snapshot, saying why.
    // Two writes: compacting at the second removes the first, which the
    // watch needs (compacting at a revision keeps that revision itself).
    crate::support::create_object(&client, Some(&ns_name), cm("while-stopped")).await;
    crate::support::create_object(&client, Some(&ns_name), cm("also-while-stopped")).await;
    let now = configmap_revision(&kube::Api::namespaced(client.clone(), &ns_name), "also-while-stopped").await;
    let compact = std::process::Command::new(env.bin.join("etcdctl"))
        .args(["--endpoints", &c0.etcd_endpoint(), "compact", &now.to_string()])
        .output()
        .unwrap();
    assert!(compact.status.success(), "{}", text(&compact));
    let (mut watch, reports) = start_watch(&dir, &c0.name);
    let full = wait_for_report(&reports, "of a full snapshot after the compaction", |v| v["event"] == "full");
    assert!(full["why"].as_str().unwrap().contains("compacted"), "{full}");
    crate::support::create_object(&client, Some(&ns_name), cm("last")).await;
    let last = configmap_revision(&kube::Api::namespaced(client.clone(), &ns_name), "last").await;
    covered(&reports, last);
    let _ = watch.kill();
    let _ = watch.wait();

    // Every object is in the backup: restore the newest point and read it offline.
    let target = dir.join("restored");
    let path = format!("{}:{}", env.bin.display(), std::env::var("PATH").unwrap_or_default());
    let restored = crate::support::bulkhead()
        .args(args(
            &["etcd", "restore", "--cluster", &c0.name, "--to", target.to_str().unwrap(), "--bump-revision", "0"],
            &dir,
        ))
        .env(PASSWORD_ENV, PASSWORD)
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(restored.status.success(), "{}", text(&restored));
    let db = target.join("member").join("snap").join("db");
    let doc = inspect_objects(&db).await;
    let keys: Vec<&str> = doc["list"].as_array().unwrap().iter().filter_map(|o| o["key"].as_str()).collect();
    for name in ["while-away", "after-restart", "while-stopped", "also-while-stopped", "last"] {
        let key = format!("/registry/configmaps/{ns_name}/{name}");
        assert!(keys.contains(&key.as_str()), "{key} is in the restored database");
    }
}

/// The test environment's API servers encrypt Secrets at rest (aescbc), as
/// production clusters do: a snapshot reports them encrypted, with their
/// key; given the API server's EncryptionConfiguration, extract decrypts
/// them into the Secret as it was.
#[tokio::test(flavor = "multi_thread")]
async fn secrets_encrypted_at_rest_come_back_with_the_encryption_config() {
    let Some(env) = TestEnv::require(1) else { return };
    let c0 = env.cluster(0).clone();
    let client = env.client(0).await;
    let ns = bulkhead_test::TestNamespace::create(&env, 0, "etcd-encrypted").await;
    let secret = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
        "type": "Opaque", "stringData": {"password": "s3cret-at-rest"}});
    crate::support::create_object(&client, Some(ns.name()), secret).await;
    let dir = etcd_fleet(&env, "etcd-encrypted", &c0.etcd_endpoint());
    let file = dir.join("etcd.db");
    let out = run(args(&["etcd", "snapshot", "--cluster", &c0.name, "--out", file.to_str().unwrap()], &dir)).await;
    assert!(out.status.success(), "{}", text(&out));

    let doc = inspect_objects(&file).await;
    let key = format!("/registry/secrets/{}/db", ns.name());
    let listed =
        doc["list"].as_array().unwrap().iter().find(|o| o["key"] == key.as_str()).unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(listed["stored"], "encrypted:aescbc:testenv", "{listed}");
    assert!(doc["resources"]["secrets"]["encrypted"].as_u64().unwrap() >= 1, "{doc}");

    let wanted = format!("secret/{}/db", ns.name());
    let out = run(vec!["etcd".into(), "extract".into(), file.display().to_string(), wanted.clone()]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("encrypted at rest with aescbc key `testenv`"), "{}", text(&out));

    let out = run(vec![
        "etcd".into(),
        "extract".into(),
        file.display().to_string(),
        wanted,
        "--encryption-config".into(),
        env.encryption_config.display().to_string(),
        "-o".into(),
        "json".into(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let secret = &json_of(&out)["items"][0];
    // "s3cret-at-rest", base64 as the API serves it.
    assert_eq!(secret["data"]["password"], "czNjcmV0LWF0LXJlc3Q=", "{secret}");
}

/// `etcd forget` keeps a cluster's etcd backups to their rules: full
/// snapshots beyond them go, and with them the delta segments no kept full
/// snapshot can lead to; what stays still restores.
#[tokio::test(flavor = "multi_thread")]
async fn forget_keeps_what_a_restore_can_use() {
    let Some(env) = TestEnv::require(1) else { return };
    let c0 = env.cluster(0).clone();
    let client = env.client(0).await;
    let ns = bulkhead_test::TestNamespace::create(&env, 0, "etcd-forget").await;
    let dir = etcd_fleet(&env, "etcd-forget", &c0.etcd_endpoint());
    let cm = |name: &str| serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}});
    for round in ["first", "second"] {
        if round == "second" {
            let out = run(args(&["etcd", "snapshot", "--cluster", &c0.name], &dir)).await;
            assert!(out.status.success(), "{}", text(&out));
        }
        let (mut watch, reports) = start_watch(&dir, &c0.name);
        wait_for_report(&reports, "of the watch starting", |v| v["event"] == "watching");
        crate::support::create_object(&client, Some(ns.name()), cm(round)).await;
        let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> = kube::Api::namespaced(client.clone(), ns.name());
        let revision = configmap_revision(&api, round).await;
        wait_for_report(&reports, "storing the write", |v| {
            v["event"] == "segment" && v["to"].as_i64().unwrap() >= revision
        });
        let _ = watch.kill();
        let _ = watch.wait();
    }
    let forget = |dry: bool| {
        let mut words = vec!["etcd", "forget", "--cluster", c0.name.as_str(), "--keep-last", "1", "-o", "json"];
        if dry {
            words.push("--dry-run");
        }
        run(args(&words, &dir))
    };
    let dry = json_of(&forget(true).await);
    let kept = |doc: &Value| doc["fullSnapshots"].as_array().unwrap().iter().filter(|d| d["keep"] == true).count();
    assert_eq!(kept(&dry), 1, "{dry}");
    assert!(dry["fullSnapshots"].as_array().unwrap().len() >= 2, "{dry}");
    assert!(
        !dry["segmentsRemoved"].as_array().unwrap().is_empty(),
        "the first round's segments precede the kept snapshot: {dry}"
    );
    assert!(dry["segmentsKept"].as_u64().unwrap() >= 1, "{dry}");
    let done = json_of(&forget(false).await);
    assert_eq!(done["segmentsRemoved"], dry["segmentsRemoved"], "{done}");
    // Forgetting again finds nothing more to remove.
    let again = json_of(&forget(false).await);
    assert!(again["segmentsRemoved"].as_array().unwrap().is_empty(), "{again}");
    assert_eq!(again["fullSnapshots"].as_array().unwrap().len(), 1, "{again}");

    // What stays restores the newest point, the second round's object in it.
    let target = dir.join("restored");
    let path = format!("{}:{}", env.bin.display(), std::env::var("PATH").unwrap_or_default());
    let restored = crate::support::bulkhead()
        .args(args(&["etcd", "restore", "--cluster", &c0.name, "--to", target.to_str().unwrap(), "-o", "json"], &dir))
        .env(PASSWORD_ENV, PASSWORD)
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(restored.status.success(), "{}", text(&restored));
    let doc = inspect_objects(&target.join("member").join("snap").join("db")).await;
    let key = format!("/registry/configmaps/{}/second", ns.name());
    assert!(doc["list"].as_array().unwrap().iter().any(|o| o["key"] == key.as_str()), "{key} restored");
}

/// A small snapshot file whose every byte the test chooses, written as etcd
/// writes one (the `key` bucket of revisions, a SHA-256 trailer), so what
/// `etcd inspect` prints can be kept as a snapshot of its own.
fn written_snapshot(path: &std::path::Path) {
    use bulkhead_etcd::bbolt::writer::Writer;
    use bulkhead_etcd::mvcc::{KeyValue, Revision, RevisionKey};
    use sha2::Digest;
    let configmap = |name: &str, value: &str| {
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "shop"}, "data": {"k": value}})
            .to_string()
    };
    // (revision, key, value, created at, version); an empty value is a deletion.
    let changes: Vec<(i64, &str, String, i64, i64)> = vec![
        (
            2,
            "/registry/namespaces/shop",
            r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}"#.into(),
            2,
            1,
        ),
        (3, "/registry/configmaps/shop/settings", configmap("settings", "first"), 3, 1),
        (4, "/registry/configmaps/shop/flags", configmap("flags", &"x".repeat(2000)), 4, 1),
        (5, "/registry/secrets/shop/db", "k8s:enc:aescbc:v1:key1:opaque-bytes".into(), 5, 1),
        (6, "/registry/configmaps/shop/settings", configmap("settings", "second"), 3, 2),
        (7, "/registry/configmaps/shop/flags", String::new(), 0, 0),
    ];
    let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for (revision, key, value, created, version) in &changes {
        let tombstone = value.is_empty();
        let kv = KeyValue {
            key: key.as_bytes(),
            create_revision: *created,
            mod_revision: *revision,
            version: *version,
            value: value.as_bytes(),
            lease: 0,
        };
        let at = RevisionKey { revision: Revision { main: *revision, sub: 0 }, tombstone };
        entries.push((at.encode(), kv.encode()));
    }
    let mut writer = Writer::new(std::io::Cursor::new(Vec::new()), 4096).unwrap();
    let root = writer.bucket(entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))).unwrap();
    let mut bytes = writer.finish(&[(b"key".as_slice(), root)]).unwrap().into_inner();
    let trailer = sha2::Sha256::digest(&bytes);
    bytes.extend_from_slice(&trailer);
    std::fs::write(path, bytes).unwrap();
}

/// What `etcd inspect` prints for people and for scripts, on a snapshot
/// the test wrote byte by byte: the counts, the largest, every object, and
/// the objects as of an older revision.
#[tokio::test(flavor = "multi_thread")]
async fn etcd_inspect_output() {
    let dir = scratch("etcd-inspect-output");
    let file = dir.join("etcd.db");
    written_snapshot(&file);
    let inspect = |extra: &[&str]| {
        let args: Vec<String> =
            ["etcd", "inspect", file.to_str().unwrap()].iter().chain(extra).map(ToString::to_string).collect();
        async move {
            let out = run(args.clone()).await;
            assert!(out.status.success(), "{args:?}: {}", text(&out));
            String::from_utf8(out.stdout).unwrap()
        }
    };
    let human = inspect(&[]).await;
    let objects = inspect(&["--objects", "--largest", "2"]).await;
    let older = inspect(&["--revision", "5", "--objects"]).await;
    let json = inspect(&["--objects", "-o", "json"]).await;
    let path = crate::support::regex_escape(&file.display().to_string());
    insta::with_settings!({filters => vec![(path.as_str(), "[file]")]}, {
        insta::assert_snapshot!("etcd_inspect", human);
        insta::assert_snapshot!("etcd_inspect_objects", objects);
        insta::assert_snapshot!("etcd_inspect_at_revision", older);
        insta::assert_snapshot!("etcd_inspect_json", json);
    });
}
