//! A backup's volumes, against the real CSI snapshot machinery testenv
//! runs in each cluster: the snapshot CRDs and snapshot-controller, the
//! csi-provisioner and csi-snapshotter sidecars, and Kubernetes' CSI mock
//! driver (it keeps no data, so what is checked here is the controller
//! side: claims bound, snapshots ready, handles recorded, nothing left).

use std::time::Duration;

use bulkhead_test::{TestEnv, TestNamespace, eventually};
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde_json::{Value, json};

use crate::backup::{PASSWORD_ENV, json_of, run};
use crate::support::{cli_args, create_object, scratch, testenv_fleet_with};

fn volume_snapshots(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("snapshot.storage.k8s.io", "v1", "VolumeSnapshot");
    Api::namespaced_with(client.clone(), ns, &ApiResource::from_gvk_with_plural(&gvk, "volumesnapshots"))
}

pub(crate) fn claim(name: &str, class: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "labels": {"app": "shop"}},
        "spec": {"storageClassName": class, "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    })
}

pub(crate) async fn bound(client: &kube::Client, ns: &str, name: &str) {
    let api: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    eventually(&format!("claim {name} to be bound"), Duration::from_secs(30), || async {
        let c = api.get(name).await.map_err(|e| e.to_string())?;
        match c.status.and_then(|s| s.phase) {
            Some(p) if p == "Bound" => Ok(()),
            other => Err(format!("phase {other:?}")),
        }
    })
    .await;
}

/// An app's fleet on cluster 0 with a local repository; its directory.
pub(crate) fn fleet(env: &TestEnv, name: &str, ns: &str) -> String {
    fleet_with_backup(env, name, ns, "")
}

/// [`fleet`], the app's `backup:` block (indented six spaces) given, and a
/// policy `hourly` for it.
fn fleet_with_backup(env: &TestEnv, name: &str, ns: &str, backup: &str) -> String {
    let dir = scratch(name);
    let c0 = env.cluster(0).name.clone();
    let apps = format!(
        "    - name: shop\n      manifests: apps/shop\n      namespace: {ns}\n      placement: {{clusters: {{names: [{c0}]}}}}\n{backup}"
    );
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {PASSWORD_ENV}}}\n    policies:\n      - {{name: hourly, schedule: \"0 * * * *\", repository: local, keep: {{last: 5}}}}\n",
        dir.join("repo").display()
    );
    testenv_fleet_with(env, &dir, &apps, &dr);
    dir.display().to_string()
}

pub(crate) fn backup_args(fleet: &str, more: &[&str]) -> Vec<String> {
    cli_args(&["backup", "create", "--app", "shop", "--repo", "local", "--output", "json"], more, fleet)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bound_claim_is_snapshotted_with_its_backup_and_its_handle_kept() {
    let Some(env) = TestEnv::own_csi("volumes", 1) else { return };
    let csi = env.cluster(0).csi.clone().unwrap();
    let ns = TestNamespace::create(&env, 0, "volumes").await;
    let client = env.client(0).await;
    create_object(&client, Some(ns.name()), claim("data", &csi.storage_class)).await;
    // A class the cluster does not have: the claim stays Pending, with no volume.
    create_object(&client, Some(ns.name()), claim("pending", "no-such-class")).await;
    bound(&client, ns.name(), "data").await;
    let fleet = fleet(&env, "volumes-snapshot", ns.name());

    let out = run(backup_args(&fleet, &[])).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = json_of(&out)["backups"][0].clone();
    let volumes = report["volumes"].as_array().unwrap().clone();
    assert_eq!(volumes.len(), 2, "{report}");
    let data = volumes.iter().find(|v| v["claim"] == "data").unwrap();
    let taken = &data["snapshot"];
    assert_eq!(taken["class"], csi.snapshot_class.as_str(), "{data}");
    assert_eq!(taken["driver"], csi.driver.as_str(), "{data}");
    assert_eq!(taken["consistency"], "crash-consistent", "{data}");
    let handle = taken["handle"].as_str().unwrap();
    assert!(!handle.is_empty(), "{data}");
    let pending = volumes.iter().find(|v| v["claim"] == "pending").unwrap();
    assert!(pending["notTaken"].as_str().unwrap().contains("not bound"), "{pending}");
    // The VolumeSnapshot objects are in the backup, beside the claims.
    assert_eq!(report["resources"]["volumesnapshots.snapshot.storage.k8s.io"], 1, "{report}");
    assert_eq!(report["resources"]["persistentvolumeclaims"], 2, "{report}");

    // On the cluster: ready, labelled like its claim, the driver's handle on it.
    let name = taken["name"].as_str().unwrap();
    let live = volume_snapshots(&client, ns.name()).get(name).await.unwrap();
    assert_eq!(live.data["status"]["readyToUse"], true, "{live:?}");
    let annotations = live.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(annotations.get("backup.bulkhead.dev/snapshot-handle").map(String::as_str), Some(handle));
    assert_eq!(annotations.get("backup.bulkhead.dev/claim").map(String::as_str), Some("data"));
    assert_eq!(live.metadata.labels.as_ref().and_then(|l| l.get("app")).map(String::as_str), Some("shop"));

    // A restore passes the record by: created again it would snapshot the
    // restored claim. Planned (a dry run) into another namespace.
    let id = report["snapshot"]["id"].as_str().unwrap().to_string();
    let c0 = env.cluster(0).name.clone();
    let to = format!("{}-restored", ns.name());
    let restore = ["restore", "--from", &id, "--to", &c0, "--namespace", ns.name(), "--dry-run", "--output", "json"];
    let mut args: Vec<String> = restore.iter().map(|s| (*s).to_string()).collect();
    let classes = format!("no-such-class={}", csi.storage_class);
    args.extend(["--namespace-map".into(), format!("{}={to}", ns.name()), "--storage-class-map".into(), classes]);
    args.push(fleet.clone());
    let out = run(args).await;
    let plan = json_of(&out);
    assert!(out.status.success(), "{plan}");
    let results = plan["results"].as_array().unwrap();
    let record = results.iter().find(|r| r["kind"] == "VolumeSnapshot").unwrap();
    assert_eq!(record["action"], "skipped", "{plan}");
    assert!(record["why"].as_str().unwrap().contains("volume snapshot"), "{plan}");
    assert!(results.iter().any(|r| r["kind"] == "PersistentVolumeClaim" && r["action"] == "would-create"), "{plan}");

    // The text output says the same in words.
    let mut args = backup_args(&fleet, &[]);
    args.retain(|a| a != "--output" && a != "json");
    let out = run(args).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("volume {}/data: VolumeSnapshot data-bh", ns.name())), "{text}");
    assert!(text.contains("no snapshot, its data is not in the backup: it is not bound"), "{text}");
    let second = text.split("VolumeSnapshot ").nth(1).and_then(|t| t.split_whitespace().next()).unwrap();

    // This test's snapshots only: a whole-cluster backup of another test
    // running at the same time snapshots this namespace's claim too.
    let mut ours = vec![name.to_string(), second.to_string()];
    ours.sort();
    let names = || async {
        let list = volume_snapshots(&client, ns.name()).list(&ListParams::default()).await.unwrap();
        let mut names: Vec<String> =
            list.items.into_iter().filter_map(|o| o.metadata.name).filter(|n| ours.contains(n)).collect();
        names.sort();
        names
    };
    assert_eq!(names().await, ours);

    // Asked not to, a backup takes none.
    let out = run(backup_args(&fleet, &["--no-volume-snapshots"])).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_of(&out)["backups"][0]["volumes"], json!([]));

    // Retention: keeping the newest backup removes the two older ones, and
    // the volume snapshot of the one that had one (the newest had none).
    let forget = ["backup", "forget", "--app", "shop", "--repo", "local", "--keep-last", "1", "--output", "json"];
    let mut args: Vec<String> = forget.iter().map(|s| (*s).to_string()).collect();
    args.push(fleet.clone());
    let out = run(args).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let done = json_of(&out);
    let removed = done["volumeSnapshots"]["removed"].as_array().unwrap().clone();
    let expected: Vec<Value> = ours.iter().map(|n| json!(format!("{c0}: {}/{n}", ns.name()))).collect();
    let mut removed_sorted = removed.clone();
    removed_sorted.sort_by_key(ToString::to_string);
    assert_eq!(removed_sorted, expected, "{done}");
    assert_eq!(done["volumeSnapshots"]["left"], json!([]), "{done}");
    eventually("the forgotten backups' VolumeSnapshots to be gone", Duration::from_secs(30), || async {
        let left = names().await;
        if left.is_empty() { Ok(()) } else { Err(format!("{left:?}")) }
    })
    .await;
}

/// The driver is down: its snapshot never becomes ready, the backup fails
/// with the reason, keeps no snapshot in the repository and deletes the
/// VolumeSnapshot it took. An environment of its own: the driver it stops
/// would fail the other tests' snapshots.
#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_that_does_not_become_ready_fails_the_backup_and_leaves_nothing() {
    let Some(env) = TestEnv::own_csi("volumes-driver-down", 1) else { return };
    let csi = env.cluster(0).csi.clone().expect("testenv runs CSI");
    let ns = TestNamespace::create(&env, 0, "volumes-down").await;
    let client = env.client(0).await;
    create_object(&client, Some(ns.name()), claim("data", &csi.storage_class)).await;
    bound(&client, ns.name(), "data").await;
    let fleet = fleet(&env, "volumes-driver-down", ns.name());

    env.csi_down(0);
    let out = run(backup_args(&fleet, &["--volume-snapshot-timeout", "5s"])).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("volume snapshots failed, so the backup took none"), "{stderr}");
    assert!(stderr.contains(&format!("{}/data: VolumeSnapshot data-bh", ns.name())), "{stderr}");
    assert!(stderr.contains("not ready after 5 s"), "{stderr}");
    // No snapshot in the repository either (the volumes come first: it was never opened).
    let snapshots_dir = std::path::Path::new(&fleet).join("repo").join("snapshots");
    let kept = std::fs::read_dir(&snapshots_dir).map(Iterator::count).unwrap_or(0);
    assert_eq!(kept, 0, "{}", snapshots_dir.display());

    // The backup deleted the snapshot it took. The snapshot-controller
    // holds a snapshot whose content the driver has not answered for
    // (a finalizer) until the driver is back; this driver, a mock, forgets
    // its volumes when it restarts, so here it stays marked deleted.
    let left = volume_snapshots(&client, ns.name()).list(&ListParams::default()).await.unwrap().items;
    assert!(left.len() <= 1, "{left:?}");
    for o in &left {
        assert!(o.metadata.deletion_timestamp.is_some(), "not deleted: {o:?}");
    }
}

/// A loopback HTTP server for snapshot hooks: it answers 200, or 500 for
/// paths under `/fail`, and keeps each call (`METHOD PATH`) with when
/// (Unix seconds).
async fn serve_hooks() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<(String, f64)>>>) {
    let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = calls.clone();
    let port = crate::support::serve_http(move |method, path| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
        seen.lock().unwrap().push((format!("{method} {path}"), now));
        if path.starts_with("/fail") {
            ("500 Internal Server Error", "frozen already".into())
        } else {
            ("200 OK", "ok".into())
        }
    })
    .await;
    (port, calls)
}

/// Hooks around the snapshots: every `pre` in order before the first is
/// taken, the `post`s after, the last first, and the snapshots said to be
/// application-consistent. A `pre` that fails fails the backup before any
/// snapshot is taken, and the hooks that answered are let go again.
#[tokio::test(flavor = "multi_thread")]
async fn hooks_hold_the_apps_writes_while_its_volumes_are_snapshotted() {
    let Some(env) = TestEnv::own_csi("volume-hooks", 1) else { return };
    let csi = env.cluster(0).csi.clone().unwrap();
    let ns = TestNamespace::create(&env, 0, "vhooks").await;
    let client = env.client(0).await;
    create_object(&client, Some(ns.name()), claim("data", &csi.storage_class)).await;
    bound(&client, ns.name(), "data").await;
    let (port, calls) = serve_hooks().await;
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let backup = format!(
        "      backup:\n        policy: hourly\n        hooks:\n          - {{name: freeze, pre: {{url: \"{}\"}}, post: {{url: \"{}\", method: PUT}}, timeout: 5s}}\n          - {{name: checkpoint, pre: {{url: \"{}\"}}}}\n",
        url("/freeze"),
        url("/thaw"),
        url("/checkpoint")
    );
    let fleet = fleet_with_backup(&env, "volume-hooks", ns.name(), &backup);
    let out = run(backup_args(&fleet, &[])).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = json_of(&out)["backups"][0].clone();
    let taken = report["volumes"][0]["snapshot"].clone();
    assert_eq!(taken["consistency"], "application-consistent (hooks: freeze, checkpoint)", "{report}");
    let seen: Vec<(String, f64)> = calls.lock().unwrap().clone();
    let paths: Vec<&str> = seen.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["POST /freeze", "POST /checkpoint", "PUT /thaw"]);
    // Taken between the last pre and the post (the object's time is in whole seconds).
    let live = volume_snapshots(&client, ns.name()).get(taken["name"].as_str().unwrap()).await.unwrap();
    let created = live.metadata.creation_timestamp.clone().unwrap().0.as_second() as f64;
    assert!(created >= seen[1].1.floor() && created <= seen[2].1.ceil(), "{created} not within {seen:?}");
    let annotations = live.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(annotations.get("backup.bulkhead.dev/consistency").map(String::as_str), taken["consistency"].as_str());

    // A pre that fails: nothing is snapshotted, and the freeze is let go.
    calls.lock().unwrap().clear();
    let failing = backup.replace("/checkpoint", "/fail/checkpoint");
    let fleet = fleet_with_backup(&env, "volume-hooks-failing", ns.name(), &failing);
    let before = volume_snapshots(&client, ns.name()).list(&ListParams::default()).await.unwrap().items.len();
    let out = run(backup_args(&fleet, &[])).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("hook checkpoint: pre POST {}: answered 500", url("/fail/checkpoint"))),
        "{stderr}"
    );
    assert!(stderr.contains("frozen already"), "{stderr}");
    let paths: Vec<String> = calls.lock().unwrap().iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(paths, ["POST /freeze", "POST /fail/checkpoint", "PUT /thaw"]);
    let after = volume_snapshots(&client, ns.name()).list(&ListParams::default()).await.unwrap().items.len();
    assert_eq!(after, before, "no snapshot is taken");
}
