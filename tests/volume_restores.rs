//! Restores and drills of claims a backup snapshotted, against the real
//! CSI machinery testenv runs (snapshot-controller, csi-provisioner,
//! csi-snapshotter, Kubernetes' CSI mock driver). The mock keeps no data,
//! but it provisions a volume from a snapshot only when it knows the
//! snapshot: a claim that binds was provisioned from the backup's.

use std::time::Duration;

use bulkhead_test::{TestEnv, TestNamespace, eventually};
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::{Value, json};

use crate::backup::{json_of, run};
use crate::support::{cli_args, create_object};
use crate::volumes::{backup_args, bound, claim, fleet};

fn snapshot_api(client: &kube::Client, kind: &str, plural: &str, ns: Option<&str>) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("snapshot.storage.k8s.io", "v1", kind);
    let resource = ApiResource::from_gvk_with_plural(&gvk, plural);
    match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    }
}

fn claims(client: &kube::Client, ns: &str) -> Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> {
    Api::namespaced(client.clone(), ns)
}

fn restore_args(fleet: &str, id: &str, to: &str, ns: &str, more: &[&str]) -> Vec<String> {
    cli_args(&["restore", "--from", id, "--to", to, "--namespace", ns, "--output", "json"], more, fleet)
}

/// The one volume of a restore's report.
fn only_volume(report: &Value) -> Value {
    let volumes = report["volumes"].as_array().unwrap_or_else(|| panic!("no volumes: {report}"));
    assert_eq!(volumes.len(), 1, "{report}");
    volumes[0].clone()
}

/// A claim backed up with its snapshot, then deleted; restored in place
/// from the backup's own VolumeSnapshot, into another namespace from a
/// content made from the recorded handle (and again, converging); into a
/// class of another driver refused, and with --allow-empty-volumes empty.
#[tokio::test(flavor = "multi_thread")]
async fn a_claim_is_restored_from_its_snapshot_in_place_and_elsewhere() {
    let Some(env) = TestEnv::own_csi("volume-restores", 1) else { return };
    let csi = env.cluster(0).csi.clone().unwrap();
    let c0 = env.cluster(0).name.clone();
    let ns = TestNamespace::create(&env, 0, "vrestore").await;
    let client = env.client(0).await;
    create_object(&client, Some(ns.name()), claim("data", &csi.storage_class)).await;
    bound(&client, ns.name(), "data").await;
    let fleet = fleet(&env, "volume-restores", ns.name());
    let out = run(backup_args(&fleet, &[])).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let backup = json_of(&out)["backups"][0].clone();
    let id = backup["snapshot"]["id"].as_str().unwrap().to_string();
    let taken = backup["volumes"][0]["snapshot"].clone();
    let (Some(snapshot), Some(handle)) = (taken["name"].as_str(), taken["handle"].as_str()) else { panic!("{backup}") };

    // In place: the claim is gone, the backup's VolumeSnapshot is not.
    claims(&client, ns.name()).delete("data", &Default::default()).await.unwrap();
    eventually("the claim to be gone", Duration::from_secs(30), || async {
        match claims(&client, ns.name()).get_opt("data").await {
            Ok(None) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let out = run(restore_args(&fleet, &id, &c0, ns.name(), &[])).await;
    let report = json_of(&out);
    assert!(out.status.success(), "{report}");
    let volume = only_volume(&report);
    assert_eq!(volume["from"], "snapshot", "{volume}");
    assert_eq!(volume["snapshot"], snapshot, "{volume}");
    bound(&client, ns.name(), "data").await;
    let live = claims(&client, ns.name()).get("data").await.unwrap();
    let source = live.spec.and_then(|s| s.data_source).expect("a data source");
    assert_eq!((source.kind.as_str(), source.name.as_str()), ("VolumeSnapshot", snapshot));

    // Into another namespace: a content of the recorded handle, and a
    // VolumeSnapshot bound to it, ready; the claim is provisioned from it.
    let copy = TestNamespace::adopt(&env, 0, &format!("{}-copy", ns.name()));
    let map = format!("{}={}", ns.name(), copy.name());
    let out = run(restore_args(&fleet, &id, &c0, ns.name(), &["--namespace-map", &map])).await;
    let report = json_of(&out);
    assert!(out.status.success(), "{report}");
    let volume = only_volume(&report);
    assert_eq!(volume["from"], "content", "{volume}");
    assert_eq!(volume["handle"], handle, "{volume}");
    assert_eq!(volume["driver"], csi.driver.as_str(), "{volume}");
    let content_name = volume["content"].as_str().unwrap().to_string();
    bound(&client, copy.name(), "data").await;
    let content = snapshot_api(&client, "VolumeSnapshotContent", "volumesnapshotcontents", None)
        .get(&content_name)
        .await
        .unwrap();
    assert_eq!(content.data["spec"]["source"]["snapshotHandle"], handle, "{content:?}");
    assert_eq!(content.data["spec"]["deletionPolicy"], "Retain", "{content:?}");
    let made =
        snapshot_api(&client, "VolumeSnapshot", "volumesnapshots", Some(copy.name())).get(snapshot).await.unwrap();
    assert_eq!(made.data["status"]["readyToUse"], true, "{made:?}");
    assert_eq!(made.data["status"]["boundVolumeSnapshotContentName"], content_name.as_str(), "{made:?}");

    // Again: the claim exists and keeps its volume; nothing fails.
    let out = run(restore_args(&fleet, &id, &c0, ns.name(), &["--namespace-map", &map])).await;
    let report = json_of(&out);
    assert!(out.status.success(), "{report}");
    assert_eq!(only_volume(&report)["from"], "kept", "{report}");

    // A class of another driver cannot use the snapshot: refused before
    // anything is written, naming the claim; allowed, restored empty.
    let classes_api: Api<k8s_openapi::api::storage::v1::StorageClass> = Api::all(client.clone());
    let other_driver =
        serde_json::from_value(json!({"metadata": {"name": "other-driver"}, "provisioner": "other.csi.example"}));
    classes_api.create(&Default::default(), &other_driver.unwrap()).await.unwrap();
    let elsewhere = TestNamespace::adopt(&env, 0, &format!("{}-other", ns.name()));
    let map = format!("{}={}", ns.name(), elsewhere.name());
    let classes = format!("{}=other-driver", csi.storage_class);
    let mapped = ["--namespace-map", map.as_str(), "--storage-class-map", classes.as_str()];
    let out = run(restore_args(&fleet, &id, &c0, ns.name(), &mapped)).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("claim {}/data", elsewhere.name())), "{stderr}");
    assert!(stderr.contains("`other.csi.example`") && stderr.contains("--allow-empty-volumes"), "{stderr}");
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    assert!(namespaces.get_opt(elsewhere.name()).await.unwrap().is_none(), "nothing is written");
    let allowed: Vec<&str> = mapped.iter().copied().chain(["--allow-empty-volumes"]).collect();
    let out = run(restore_args(&fleet, &id, &c0, ns.name(), &allowed)).await;
    let report = json_of(&out);
    assert!(out.status.success(), "{report}");
    let volume = only_volume(&report);
    assert_eq!(volume["from"], "empty", "{volume}");
    assert_eq!(volume["hadSnapshot"], true, "{volume}");
    let live = claims(&client, elsewhere.name()).get("data").await.unwrap();
    assert!(live.spec.and_then(|s| s.data_source).is_none(), "an empty claim names no source");

    // The text output names each claim's source.
    let mut args = restore_args(&fleet, &id, &c0, ns.name(), &["--dry-run"]);
    args.retain(|a| a != "--output" && a != "json");
    let out = run(args).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains(&format!("claim {}/data: kept", ns.name())), "{text}");
    classes_api.delete("other-driver", &Default::default()).await.unwrap();
}

/// Two clusters whose sidecars share one driver (one cloud account): a
/// backup of the first restored on the second through a content of the
/// recorded handle, and a drill from the first to the second that finds
/// the claim bound with the backup's data and removes what it made.
#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_taken_on_one_cluster_is_restored_and_drilled_on_another_of_its_driver() {
    let Some(env) = TestEnv::own_csi_shared("volume-restores-shared", 2) else { return };
    let csi = env.cluster(0).csi.clone().unwrap();
    let (c0, c1) = (env.cluster(0).name.clone(), env.cluster(1).name.clone());
    let ns = TestNamespace::create(&env, 0, "vshared").await;
    let client = env.client(0).await;
    create_object(&client, Some(ns.name()), claim("data", &csi.storage_class)).await;
    bound(&client, ns.name(), "data").await;
    let fleet = fleet(&env, "volume-restores-shared", ns.name());
    let out = run(backup_args(&fleet, &[])).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let backup = json_of(&out)["backups"][0].clone();
    let id = backup["snapshot"]["id"].as_str().unwrap().to_string();
    let handle = backup["volumes"][0]["snapshot"]["handle"].as_str().unwrap_or_else(|| panic!("{backup}")).to_string();

    let target = TestNamespace::adopt(&env, 1, ns.name());
    let out = run(restore_args(&fleet, &id, &c1, ns.name(), &[])).await;
    let report = json_of(&out);
    assert!(out.status.success(), "{report}");
    let volume = only_volume(&report);
    assert_eq!(volume["from"], "content", "{volume}");
    assert_eq!(volume["handle"], handle.as_str(), "{volume}");
    let other = env.client(1).await;
    bound(&other, target.name(), "data").await;

    // The drill restores into scratch namespaces of the second cluster.
    let drill = ["drill", "run", "--app", "shop", "--from", &c0, "--to", &c1, "--timeout", "60s", "--output", "json"];
    let mut args: Vec<String> = drill.iter().map(|s| (*s).to_string()).collect();
    args.extend(["--repo".to_string(), "local".to_string(), fleet.clone()]);
    let out = run(args).await;
    let report = json_of(&out)["report"].clone();
    assert!(out.status.success(), "{report}");
    let volumes = report["volumes"].as_array().unwrap_or_else(|| panic!("{report}"));
    assert_eq!(volumes.len(), 1, "{report}");
    assert_eq!((volumes[0]["data"].as_bool(), volumes[0]["bound"].as_bool()), (Some(true), Some(true)), "{report}");
    assert!(volumes[0]["detail"].as_str().unwrap().contains(&handle), "{report}");
    let check = report["verifications"].as_array().unwrap().iter().find(|v| v["name"] == "volumes").unwrap().clone();
    assert_eq!(check["passed"], true, "{check}");
    assert!(check["detail"].as_str().unwrap().contains("1 of 1 claims bound; 1 restored with the backup's data"));
    // The content the drill made for its scratch namespace is removed with it.
    let scratch = report["namespaces"][ns.name()].as_str().unwrap().to_string();
    let contents = snapshot_api(&other, "VolumeSnapshotContent", "volumesnapshotcontents", None);
    eventually("the drill's content to be gone", Duration::from_secs(60), || async {
        let list = contents.list(&Default::default()).await.map_err(|e| e.to_string())?;
        let left: Vec<String> =
            list.items.into_iter().filter_map(|c| c.metadata.name).filter(|n| n.contains(&scratch)).collect();
        if left.is_empty() { Ok(()) } else { Err(format!("{left:?}")) }
    })
    .await;
}
