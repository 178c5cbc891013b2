//! Where a restored claim's data comes from. A backup holds, beside each
//! claim it snapshotted, the VolumeSnapshot it took (its record: the
//! driver and the driver's handle in its annotations). A claim restored
//! is then provisioned from that snapshot:
//!
//! - on the cluster it was taken on, into its own namespace, while the
//!   snapshot is still there: `dataSource` names it;
//! - anywhere else the claim's target class has the same driver (another
//!   namespace, another cluster of the same cloud account): a
//!   VolumeSnapshotContent made from the recorded handle (pre-provisioned,
//!   `Retain`, so removing it never removes the driver's snapshot) and a
//!   VolumeSnapshot bound to it, which `dataSource` names;
//! - where the target cannot use it (another driver, no snapshot API), the
//!   claim would come back empty: that is refused, per claim, unless the
//!   restore allows empty volumes.
//!
//! A claim that exists on the target keeps its volume (a claim's source
//! cannot change), and one the backup has no snapshot of comes back empty,
//! as it always did. [`plan`] decides, purely; [`objects`] builds what a
//! pre-provisioned source needs.

use std::collections::{BTreeMap, BTreeSet};

use bulkhead_kube::volume_snapshots::GROUP;
use serde::Serialize;
use serde_json::{Value, json};

use crate::volumes::{CLAIM_ANNOTATION, DRIVER_ANNOTATION, HANDLE_ANNOTATION, RUN_LABEL};

/// The label of the VolumeSnapshots and contents a restore makes, with the
/// backup's stamp: scaffolding for provisioning, never restored again.
pub const RESTORED_LABEL: &str = "backup.bulkhead.dev/restored-from";

/// A backup's record of one claim's snapshot, read from the backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The namespace it was taken in (the claim's, on the source).
    pub namespace: String,
    /// The VolumeSnapshot's name.
    pub name: String,
    /// The claim it snapshotted.
    pub claim: String,
    /// The backup's stamp (its run label).
    pub stamp: String,
    /// The driver's id of the snapshot, when the record has it.
    pub handle: Option<String>,
    /// The CSI driver, when the record has it.
    pub driver: Option<String>,
}

impl Record {
    /// The record `object` holds, if it is one (see [`crate::volumes::is_record`]).
    pub fn of(object: &Value) -> Option<Self> {
        let meta = object.get("metadata")?;
        let annotation = |k: &str| meta.pointer(&format!("/annotations/{}", k.replace('/', "~1")));
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let claim = text(annotation(CLAIM_ANNOTATION))
            .or_else(|| text(object.pointer("/spec/source/persistentVolumeClaimName")))?;
        Some(Self {
            namespace: text(meta.get("namespace"))?,
            name: text(meta.get("name"))?,
            claim,
            stamp: text(meta.pointer(&format!("/labels/{}", RUN_LABEL.replace('/', "~1"))))?,
            handle: text(annotation(HANDLE_ANNOTATION)),
            driver: text(annotation(DRIVER_ANNOTATION)),
        })
    }
}

/// A claim as the restore sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoredClaim {
    /// Its namespace in the backup.
    pub source_namespace: String,
    /// Its namespace on the target (after mapping).
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its storage class on the target (after mapping).
    pub storage_class: Option<String>,
}

/// What the target offers a restore's claims.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// Whether it is the cluster the backup was taken on.
    pub same_cluster: bool,
    /// Whether it serves `snapshot.storage.k8s.io`.
    pub serves_snapshots: bool,
    /// Each storage class it has (or the restore creates) and its driver.
    pub class_drivers: BTreeMap<String, String>,
    /// VolumeSnapshots present on it, as `(namespace, name)`.
    pub snapshots: BTreeSet<(String, String)>,
    /// Claims present on it, by `(namespace, name)`, with their
    /// `dataSource` and `dataSourceRef`, when set.
    pub claims: BTreeMap<(String, String), Vec<(String, Value)>>,
}

/// Where one claim's data comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "from")]
pub enum Source {
    /// The backup's own VolumeSnapshot, still on the cluster.
    Snapshot {
        /// Its name, in the claim's namespace.
        snapshot: String,
    },
    /// A VolumeSnapshot bound to a content made from the recorded handle.
    Content {
        /// The VolumeSnapshot made, in the claim's namespace.
        snapshot: String,
        /// The VolumeSnapshotContent made.
        content: String,
        /// The driver's id of the snapshot.
        handle: String,
        /// The CSI driver.
        driver: String,
        /// The backup's stamp.
        #[serde(skip)]
        stamp: String,
    },
    /// The claim exists on the target and keeps its volume.
    Kept {
        /// Why its data is not replaced.
        why: String,
        /// Its `dataSource` and `dataSourceRef` as they are (a claim's
        /// source cannot change, so an apply must send them unchanged).
        #[serde(skip)]
        live_source: Vec<(String, Value)>,
    },
    /// Restored with no data.
    Empty {
        /// Why.
        why: String,
        /// Whether the backup has its data (which this target cannot use).
        had_snapshot: bool,
    },
    /// Not restored: its data would be lost.
    Refused {
        /// Why the target cannot use its snapshot.
        why: String,
    },
}

impl Source {
    /// Whether the restored claim gets the backup's data.
    pub fn has_data(&self) -> bool {
        matches!(self, Self::Snapshot { .. } | Self::Content { .. })
    }

    /// The VolumeSnapshot the claim's `dataSource` names, if any.
    pub fn snapshot(&self) -> Option<&str> {
        match self {
            Self::Snapshot { snapshot } | Self::Content { snapshot, .. } => Some(snapshot),
            _ => None,
        }
    }
}

/// One restored claim and where its data comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoredVolume {
    /// The claim's namespace on the target.
    pub namespace: String,
    /// The claim.
    pub claim: String,
    /// Where its data comes from.
    #[serde(flatten)]
    pub source: Source,
}

/// Where `claim`'s data comes from, given the backup's `records` and what
/// the target has; `allow_empty` turns a refusal into an empty volume.
pub fn plan(claim: &RestoredClaim, records: &[Record], target: &Target, allow_empty: bool) -> Source {
    let Some(record) = records.iter().find(|r| r.namespace == claim.source_namespace && r.claim == claim.name) else {
        return Source::Empty { why: "the backup holds no snapshot of its data".into(), had_snapshot: false };
    };
    if let Some(live_source) = target.claims.get(&(claim.namespace.clone(), claim.name.clone())) {
        return Source::Kept {
            why: "the claim exists on the target and keeps its volume (a claim's data source cannot change)".into(),
            live_source: live_source.clone(),
        };
    }
    if target.same_cluster
        && claim.namespace == record.namespace
        && target.snapshots.contains(&(record.namespace.clone(), record.name.clone()))
    {
        return Source::Snapshot { snapshot: record.name.clone() };
    }
    let unusable = match usable(claim, record, target) {
        Ok((handle, driver)) => {
            return Source::Content {
                snapshot: record.name.clone(),
                content: content_name(&claim.namespace, &record.name),
                handle,
                driver,
                stamp: record.stamp.clone(),
            };
        }
        Err(why) => why,
    };
    if allow_empty {
        Source::Empty { why: format!("{unusable}; restored empty (--allow-empty-volumes)"), had_snapshot: true }
    } else {
        Source::Refused { why: unusable }
    }
}

/// The handle and driver a pre-provisioned source uses, or why the target
/// cannot use the snapshot.
fn usable(claim: &RestoredClaim, record: &Record, target: &Target) -> Result<(String, String), String> {
    let name = &record.name;
    let (Some(handle), Some(driver)) = (&record.handle, &record.driver) else {
        return Err(format!("the backup's record of its snapshot {name} holds no driver handle"));
    };
    if !target.serves_snapshots {
        return Err(format!("its snapshot was taken by `{driver}`, and the target does not serve {GROUP}"));
    }
    let Some(class) = &claim.storage_class else {
        return Err(format!("its snapshot was taken by `{driver}`, and the restored claim names no storage class"));
    };
    match target.class_drivers.get(class) {
        Some(d) if d == driver => Ok((handle.clone(), driver.clone())),
        Some(d) => Err(format!(
            "its snapshot was taken by `{driver}`, and storage class `{class}` on the target provisions with `{d}`"
        )),
        None => Err(format!("its snapshot was taken by `{driver}`, and the target has no storage class `{class}`")),
    }
}

/// The name of the content a restore makes for snapshot `name` restored
/// into `namespace` (one per target namespace, so a rerun converges).
pub fn content_name(namespace: &str, name: &str) -> String {
    let head = format!("bulkhead-{namespace}-");
    let tail: String = name.chars().take(253 - head.len()).collect();
    format!("{head}{}", tail.trim_end_matches(['-', '.']))
}

/// The VolumeSnapshotContent and VolumeSnapshot a [`Source::Content`]
/// needs for a claim in `namespace` with `labels`; nothing for the others.
pub fn objects(namespace: &str, claim: &str, labels: &Value, source: &Source) -> Vec<Value> {
    let Source::Content { snapshot, content, handle, driver, stamp } = source else { return Vec::new() };
    let mut labels = labels.as_object().cloned().unwrap_or_default();
    labels.insert(RESTORED_LABEL.into(), stamp.clone().into());
    labels.insert("app.kubernetes.io/managed-by".into(), "bulkhead".into());
    vec![
        json!({
            "apiVersion": format!("{GROUP}/v1"),
            "kind": "VolumeSnapshotContent",
            "metadata": {"name": content, "labels": {RESTORED_LABEL: stamp, "app.kubernetes.io/managed-by": "bulkhead"}},
            "spec": {
                // Retain: the driver's snapshot belongs to the backup that took it.
                "deletionPolicy": "Retain",
                "driver": driver,
                "source": {"snapshotHandle": handle},
                "volumeSnapshotRef": {"namespace": namespace, "name": snapshot},
            },
        }),
        json!({
            "apiVersion": format!("{GROUP}/v1"),
            "kind": "VolumeSnapshot",
            "metadata": {
                "name": snapshot,
                "namespace": namespace,
                "labels": labels,
                "annotations": {CLAIM_ANNOTATION: claim},
            },
            "spec": {"source": {"volumeSnapshotContentName": content}},
        }),
    ]
}

/// Points `claim` (a PersistentVolumeClaim object) at its source, or, for
/// a claim restored empty, drops a `dataSource` naming a snapshot this
/// restore does not bring (it would stay Pending forever).
pub fn set_source(claim: &mut Value, source: &Source, skipped_snapshots: &BTreeSet<String>) {
    let Some(spec) = claim.get_mut("spec").and_then(Value::as_object_mut) else { return };
    if let Some(snapshot) = source.snapshot() {
        let reference = json!({"apiGroup": GROUP, "kind": "VolumeSnapshot", "name": snapshot});
        spec.insert("dataSource".into(), reference.clone());
        spec.insert("dataSourceRef".into(), reference);
        return;
    }
    if let Source::Kept { live_source, .. } = source {
        spec.remove("dataSource");
        spec.remove("dataSourceRef");
        spec.extend(live_source.iter().cloned());
        return;
    }
    let names_skipped = |key: &str| {
        spec.get(key).is_some_and(|s| {
            s["kind"] == "VolumeSnapshot" && s["name"].as_str().is_some_and(|n| skipped_snapshots.contains(n))
        })
    };
    if names_skipped("dataSource") || names_skipped("dataSourceRef") {
        spec.remove("dataSource");
        spec.remove("dataSourceRef");
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn record() -> Record {
        Record {
            namespace: "shop".into(),
            name: "data-bh1".into(),
            claim: "data".into(),
            stamp: "bh1".into(),
            handle: Some("snap-7".into()),
            driver: Some("ebs.csi.aws.com".into()),
        }
    }

    fn claim(namespace: &str, class: &str) -> RestoredClaim {
        RestoredClaim {
            source_namespace: "shop".into(),
            namespace: namespace.into(),
            name: "data".into(),
            storage_class: Some(class.into()),
        }
    }

    fn target(same_cluster: bool) -> Target {
        Target {
            same_cluster,
            serves_snapshots: true,
            class_drivers: BTreeMap::from([
                ("gp3".to_string(), "ebs.csi.aws.com".to_string()),
                ("nfs".to_string(), "nfs.csi.k8s.io".to_string()),
            ]),
            snapshots: BTreeSet::from([("shop".to_string(), "data-bh1".to_string())]),
            claims: BTreeMap::new(),
        }
    }

    #[test]
    fn the_backups_snapshot_is_used_where_it_still_is() {
        let source = plan(&claim("shop", "gp3"), &[record()], &target(true), false);
        assert_eq!(source, Source::Snapshot { snapshot: "data-bh1".into() });
        assert!(source.has_data());
    }

    #[test]
    fn elsewhere_a_content_is_made_from_the_handle() {
        for (ns, same) in [("shop-dr", true), ("shop", false)] {
            let source = plan(&claim(ns, "gp3"), &[record()], &target(same), false);
            let Source::Content { snapshot, content, handle, driver, .. } = &source else { panic!("{source:?}") };
            assert_eq!(
                (snapshot.as_str(), handle.as_str(), driver.as_str()),
                ("data-bh1", "snap-7", "ebs.csi.aws.com")
            );
            assert_eq!(content, &format!("bulkhead-{ns}-data-bh1"));
            let made = objects(ns, "data", &json!({"app": "db"}), &source);
            assert_eq!(made[0]["spec"]["source"]["snapshotHandle"], "snap-7");
            assert_eq!(made[0]["spec"]["deletionPolicy"], "Retain");
            assert_eq!(made[0]["spec"]["volumeSnapshotRef"]["namespace"], ns);
            assert_eq!(made[1]["spec"]["source"]["volumeSnapshotContentName"], content.as_str());
            assert_eq!(made[1]["metadata"]["labels"]["app"], "db");
            assert_eq!(made[1]["metadata"]["labels"][RESTORED_LABEL], "bh1");
        }
        // On its own cluster with the snapshot gone (forgotten), the handle is tried.
        let mut gone = target(true);
        gone.snapshots.clear();
        assert!(matches!(plan(&claim("shop", "gp3"), &[record()], &gone, false), Source::Content { .. }));
    }

    #[test]
    fn a_target_that_cannot_use_the_snapshot_refuses_unless_empty_is_allowed() {
        let refused = plan(&claim("shop", "nfs"), &[record()], &target(false), false);
        let Source::Refused { why } = &refused else { panic!("{refused:?}") };
        assert!(
            why.contains("`ebs.csi.aws.com`") && why.contains("`nfs`") && why.contains("`nfs.csi.k8s.io`"),
            "{why}"
        );
        let empty = plan(&claim("shop", "nfs"), &[record()], &target(false), true);
        assert!(matches!(&empty, Source::Empty { had_snapshot: true, why } if why.contains("--allow-empty-volumes")));
        let mut no_api = target(false);
        no_api.serves_snapshots = false;
        let Source::Refused { why } = plan(&claim("shop", "gp3"), &[record()], &no_api, false) else { panic!() };
        assert!(why.contains("does not serve snapshot.storage.k8s.io"), "{why}");
        let Source::Refused { why } = plan(&claim("shop", "gone"), &[record()], &target(false), false) else {
            panic!()
        };
        assert!(why.contains("no storage class `gone`"), "{why}");
        let mut unrecorded = record();
        unrecorded.handle = None;
        let Source::Refused { why } = plan(&claim("shop", "gp3"), &[unrecorded], &target(false), false) else {
            panic!()
        };
        assert!(why.contains("no driver handle"), "{why}");
    }

    #[test]
    fn a_claim_without_a_snapshot_comes_back_empty_and_one_that_exists_is_kept() {
        let other = RestoredClaim { name: "cache".into(), ..claim("shop", "gp3") };
        assert!(matches!(plan(&other, &[record()], &target(true), false), Source::Empty { had_snapshot: false, .. }));
        let mut live = target(true);
        let reference = json!({"kind": "VolumeSnapshot", "name": "data-bh0"});
        live.claims.insert(("shop".into(), "data".into()), vec![("dataSource".into(), reference.clone())]);
        let kept = plan(&claim("shop", "gp3"), &[record()], &live, false);
        assert!(matches!(kept, Source::Kept { .. }), "{kept:?}");
        // Applied again, the claim sends the source it has, not the backup's.
        let mut pvc = json!({"spec": {"dataSource": {"kind": "VolumeSnapshot", "name": "data-bh1"}}});
        set_source(&mut pvc, &kept, &BTreeSet::new());
        assert_eq!(pvc["spec"]["dataSource"], reference);
    }

    #[test]
    fn a_claim_names_its_source_and_an_empty_one_drops_a_skipped_snapshot() {
        let mut pvc = json!({"kind": "PersistentVolumeClaim", "spec": {"storageClassName": "gp3"}});
        set_source(&mut pvc, &Source::Snapshot { snapshot: "data-bh1".into() }, &BTreeSet::new());
        assert_eq!(pvc["spec"]["dataSource"]["name"], "data-bh1");
        assert_eq!(pvc["spec"]["dataSourceRef"]["apiGroup"], GROUP);
        let skipped = BTreeSet::from(["data-bh1".to_string()]);
        let empty = Source::Empty { why: String::new(), had_snapshot: false };
        set_source(&mut pvc, &empty, &skipped);
        assert!(pvc["spec"].get("dataSource").is_none() && pvc["spec"].get("dataSourceRef").is_none());
        let mut apps_own = json!({"spec": {"dataSource": {"kind": "VolumeSnapshot", "name": "golden"}}});
        set_source(&mut apps_own, &empty, &skipped);
        assert_eq!(apps_own["spec"]["dataSource"]["name"], "golden");
    }

    #[test]
    fn a_record_is_read_from_the_backups_object() {
        let object = json!({
            "metadata": {"namespace": "shop", "name": "data-bh1", "labels": {RUN_LABEL: "bh1"},
                         "annotations": {CLAIM_ANNOTATION: "data", HANDLE_ANNOTATION: "snap-7", DRIVER_ANNOTATION: "d"}},
        });
        let r = Record::of(&object).unwrap();
        assert_eq!((r.claim.as_str(), r.handle.as_deref(), r.driver.as_deref()), ("data", Some("snap-7"), Some("d")));
        assert_eq!(content_name("n", &"x".repeat(300)).len(), 253);
    }

    proptest! {
        // A backup's records are the repository's data, written by whoever
        // could write there: any text reads back as it was, and a content
        // made from it keeps the handle and a valid length.
        #[test]
        fn any_record_reads_back_and_makes_a_content_of_its_handle(
            ns in "[a-z0-9-]{1,63}",
            name in "[a-z0-9.-]{1,253}",
            claim in "\\PC{1,40}",
            handle in "\\PC{1,80}",
            driver in "\\PC{1,40}",
        ) {
            let object = json!({"metadata": {
                "namespace": ns, "name": name, "labels": {RUN_LABEL: "bh1"},
                "annotations": {CLAIM_ANNOTATION: claim, HANDLE_ANNOTATION: handle, DRIVER_ANNOTATION: driver},
            }});
            let r = Record::of(&object).unwrap();
            prop_assert_eq!((&r.claim, r.handle.as_ref(), r.driver.as_ref()), (&claim, Some(&handle), Some(&driver)));
            let target = Target {
                serves_snapshots: true,
                class_drivers: BTreeMap::from([("c".to_string(), driver.clone())]),
                ..Target::default()
            };
            let restored = RestoredClaim {
                source_namespace: ns.clone(), namespace: ns.clone(), name: claim.clone(), storage_class: Some("c".into()),
            };
            let source = plan(&restored, &[r], &target, false);
            let made = objects(&ns, &claim, &Value::Null, &source);
            prop_assert_eq!(made[0]["spec"]["source"]["snapshotHandle"].as_str(), Some(handle.as_str()));
            prop_assert!(made[0]["metadata"]["name"].as_str().unwrap().len() <= 253);
        }

        #[test]
        fn any_object_is_a_record_or_not_without_failing(text in "\\PC{0,200}") {
            let object: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            let _ = Record::of(&object);
            let _ = Record::of(&json!({"metadata": object}));
        }
    }
}
