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
    let dumped = std::process::Command::new("restic")
        .args(["--repo", dir.join("repo").to_str().unwrap(), "--no-cache", "dump", id])
        .arg(format!("/etcd/{}/snapshot.db", c0.name))
        .env("RESTIC_PASSWORD", PASSWORD)
        .output();
    match dumped {
        Ok(dumped) => {
            assert!(dumped.status.success(), "restic dump: {}", text(&dumped));
            assert!(dumped.stdout == std::fs::read(&file).unwrap(), "restic gives back the file etcd sent");
        }
        Err(_) => assert!(std::env::var_os("CI").is_none(), "CI needs restic (.ci/run installs it)"),
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
