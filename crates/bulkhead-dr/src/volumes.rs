//! The data of a backup's volumes: every bound claim of what is backed up
//! whose class has a CSI driver with a VolumeSnapshotClass gets a
//! VolumeSnapshot, taken before the objects are listed (so the snapshot
//! objects, with the driver's handle in their annotations, are in the
//! backup beside the claims they belong to). A backup waits for all of
//! them to be ready; one that fails removes every snapshot it took, so a
//! failed backup leaves nothing behind. [`choose`] is pure.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bulkhead_kube::Cluster;
use bulkhead_kube::volume_snapshots::{self as vs, Claim, NewVolumeSnapshot, ReadySnapshot, SnapshotClass};
use serde::Serialize;

use crate::Error;
use crate::hooks::Hook;

/// The label every VolumeSnapshot of one backup carries, with the backup's stamp.
pub const RUN_LABEL: &str = "backup.bulkhead.dev/run";
/// The annotation naming the claim a VolumeSnapshot belongs to.
pub const CLAIM_ANNOTATION: &str = "backup.bulkhead.dev/claim";
/// The annotation naming the claim's storage class when it was taken.
pub const STORAGE_CLASS_ANNOTATION: &str = "backup.bulkhead.dev/storage-class";
/// The annotation holding the driver's own id of the snapshot, once ready.
pub const HANDLE_ANNOTATION: &str = "backup.bulkhead.dev/snapshot-handle";
/// The annotation naming the CSI driver, once ready.
pub const DRIVER_ANNOTATION: &str = "backup.bulkhead.dev/driver";
/// The annotation saying how consistent the data is.
pub const CONSISTENCY_ANNOTATION: &str = "backup.bulkhead.dev/consistency";

/// What a snapshot without hooks around it is: the data as a crash would
/// have left it (what was written, not what an application had buffered).
pub const CRASH_CONSISTENT: &str = "crash-consistent";

/// How a backup treats volumes.
#[derive(Debug, Clone)]
pub struct VolumeOptions {
    /// Whether claims get volume snapshots at all.
    pub snapshots: bool,
    /// The fleet's choice of snapshot class per storage class (its
    /// `storageClasses[].snapshotClass`); a class not named here gets its
    /// driver's default class on the cluster.
    pub classes: BTreeMap<String, String>,
    /// How long to wait for all of a backup's snapshots to be ready.
    pub timeout: Duration,
    /// The app's calls around its snapshots (see [`crate::hooks`]).
    pub hooks: Vec<Hook>,
}

impl Default for VolumeOptions {
    fn default() -> Self {
        Self { snapshots: true, classes: BTreeMap::new(), timeout: Duration::from_secs(600), hooks: Vec::new() }
    }
}

/// What became of one claim's data.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeReport {
    /// The claim's namespace.
    pub namespace: String,
    /// The claim.
    pub claim: String,
    /// Its storage class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// Its snapshot, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<TakenSnapshot>,
    /// Why its data is not in the backup, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_taken: Option<String>,
}

/// A claim's VolumeSnapshot, ready.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TakenSnapshot {
    /// The VolumeSnapshot's name (in the claim's namespace).
    pub name: String,
    /// Its VolumeSnapshotClass.
    pub class: String,
    /// What the driver made.
    #[serde(flatten)]
    pub ready: ReadySnapshot,
    /// Seconds from its creation until it was ready.
    pub seconds: f64,
    /// [`CRASH_CONSISTENT`] when no hooks quiesced the application around
    /// it, else `application-consistent (hooks: …)`.
    pub consistency: String,
}

/// The snapshot class for `claim`, or why its data cannot be snapshotted.
/// `drivers` maps each storage class of the cluster to its provisioner.
///
/// # Errors
/// Why not, in words for the backup's report.
pub fn choose(
    claim: &Claim,
    fleet: &BTreeMap<String, String>,
    classes: &[SnapshotClass],
    drivers: &BTreeMap<String, String>,
) -> Result<String, String> {
    let Some(storage_class) = &claim.storage_class else {
        return Err("it has no storage class (a pre-bound volume): nothing names a driver to snapshot it".into());
    };
    if !claim.bound {
        return Err("it is not bound: there is no volume to snapshot".into());
    }
    if let Some(named) = fleet.get(storage_class) {
        return if classes.iter().any(|c| c.name == *named) {
            Ok(named.clone())
        } else {
            Err(format!(
                "fleet.yaml names snapshot class `{named}` for storage class `{storage_class}`, which the cluster does not have"
            ))
        };
    }
    let Some(driver) = drivers.get(storage_class) else {
        return Err(format!("its storage class `{storage_class}` is not on the cluster"));
    };
    let mut of_driver: Vec<&SnapshotClass> = classes.iter().filter(|c| c.driver == *driver).collect();
    // The driver's default, else the first by name: the same class every time.
    of_driver.sort_by_key(|c| (!c.default, c.name.clone()));
    of_driver.first().map(|c| c.name.clone()).ok_or_else(|| {
        format!("no VolumeSnapshotClass on the cluster is for driver `{driver}` (storage class `{storage_class}`)")
    })
}

/// A VolumeSnapshot's name for `claim` in the backup `stamp`: the claim's
/// name, shortened to leave room, and the stamp (a name is at most 253).
pub fn snapshot_name(claim: &str, stamp: &str) -> String {
    let room = 253 - stamp.len() - 1;
    let base: String = claim.chars().take(room).collect();
    format!("{}-{stamp}", base.trim_end_matches(['-', '.']))
}

/// The stamp of a backup started now (`bh` and its Unix milliseconds:
/// two backups of one cluster a second apart get names of their own).
pub fn stamp_now() -> String {
    format!("bh{}", SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis()))
}

/// Whether `object` is a VolumeSnapshot a backup took (it carries the
/// backup's run label): a record of the backup, not one of the app's.
pub fn is_record(group: &str, kind: &str, object: &serde_json::Value) -> bool {
    group == bulkhead_kube::volume_snapshots::GROUP && kind == "VolumeSnapshot" && label(object, RUN_LABEL)
}

/// Whether `object` is a VolumeSnapshot or content a restore made to
/// provision a claim from (see [`crate::volume_sources`]): it belongs to
/// that restore, and a restore of a later backup makes its own.
pub fn is_scaffolding(group: &str, kind: &str, object: &serde_json::Value) -> bool {
    group == bulkhead_kube::volume_snapshots::GROUP
        && matches!(kind, "VolumeSnapshot" | "VolumeSnapshotContent")
        && label(object, crate::volume_sources::RESTORED_LABEL)
}

fn label(object: &serde_json::Value, key: &str) -> bool {
    object.pointer("/metadata/labels").and_then(|l| l.get(key)).is_some()
}

/// Snapshots the volumes of `claims` and waits until all are ready.
///
/// # Errors
/// When a snapshot cannot be created or is not ready in time: every one
/// this call created is deleted first, and the error names each claim
/// that failed and why.
pub async fn take(
    cluster: &Cluster,
    claims: Vec<Claim>,
    options: &VolumeOptions,
    stamp: &str,
) -> Result<Vec<VolumeReport>, Error> {
    // Classes that cannot be read (a namespaced account may not list
    // cluster-scoped objects) leave every claim without a snapshot, each
    // saying why; the objects are still backed up.
    let classes = match (vs::snapshot_classes(cluster).await, vs::storage_class_drivers(cluster).await) {
        (Ok(classes), Ok(drivers)) => Ok((classes, drivers)),
        (Err(e), _) | (_, Err(e)) => Err(format!("the cluster's classes cannot be read: {e}")),
    };
    let mut reports = Vec::with_capacity(claims.len());
    let mut wanted = Vec::new();
    for claim in claims {
        let chosen = match &classes {
            Ok((classes, drivers)) => choose(&claim, &options.classes, classes, drivers),
            Err(why) => Err(why.clone()),
        };
        match chosen {
            Ok(class) => wanted.push((claim, class)),
            Err(why) => reports.push(VolumeReport {
                namespace: claim.namespace,
                claim: claim.name,
                storage_class: claim.storage_class,
                snapshot: None,
                not_taken: Some(why),
            }),
        }
    }
    // The hooks hold the application's writes only while there is
    // something to snapshot.
    let hooks = &options.hooks;
    let (answered, refused) = if wanted.is_empty() { (0, None) } else { crate::hooks::before(hooks).await };
    if let Some(why) = refused {
        let mut failures = vec![why];
        failures.extend(crate::hooks::after(hooks, answered).await);
        return Err(Error::VolumeSnapshots { cluster: cluster.name.clone(), failures });
    }
    let consistency = crate::hooks::consistency(hooks);
    let mut created: Vec<(String, String)> = Vec::new();
    let mut failures = Vec::new();
    for (claim, class) in &wanted {
        let new = new_snapshot(claim, class, stamp, &consistency);
        match vs::create(cluster, &new).await {
            Ok(()) => created.push((new.namespace, new.name)),
            Err(e) => failures.push(format!("{}/{}: {e}", claim.namespace, claim.name)),
        }
    }
    // Once every snapshot is cut (or none will be), the application may
    // write again, while the driver may still be uploading them.
    let created_all = failures.is_empty();
    let release = async {
        if answered > 0 && created_all {
            wait_cut(cluster, &created, options.timeout).await;
        }
        crate::hooks::after(hooks, answered).await
    };
    let started = std::time::Instant::now();
    let every = Duration::from_secs(1);
    let waits = wanted.iter().zip(&created).filter(|_| created_all).map(|((claim, class), (ns, name))| async move {
        let ready = vs::wait_ready(cluster, ns, name, options.timeout, every).await;
        (claim, class, name, ready, started.elapsed().as_secs_f64())
    });
    let (readiness, released) = futures::join!(futures::future::join_all(waits), release);
    for (claim, class, name, ready, seconds) in readiness {
        match ready {
            Ok(ready) => reports.push(VolumeReport {
                namespace: claim.namespace.clone(),
                claim: claim.name.clone(),
                storage_class: claim.storage_class.clone(),
                snapshot: Some(TakenSnapshot {
                    name: name.clone(),
                    class: class.clone(),
                    ready,
                    seconds,
                    consistency: consistency.clone(),
                }),
                not_taken: None,
            }),
            Err(why) => failures.push(format!("{}/{}: VolumeSnapshot {name} {why}", claim.namespace, claim.name)),
        }
    }
    failures.extend(released);
    if failures.is_empty() {
        // The driver's answer goes onto the object, so the backup (which
        // lists the snapshots next) holds it beside the claim.
        for report in &reports {
            let Some(taken) = &report.snapshot else { continue };
            let annotations = BTreeMap::from([
                (HANDLE_ANNOTATION.to_string(), taken.ready.handle.clone()),
                (DRIVER_ANNOTATION.to_string(), taken.ready.driver.clone()),
            ]);
            if let Err(e) = vs::annotate(cluster, &report.namespace, &taken.name, &annotations).await {
                failures.push(format!("{}/{}: {e}", report.namespace, report.claim));
            }
        }
    }
    if !failures.is_empty() {
        remove(cluster, &created).await;
        return Err(Error::VolumeSnapshots { cluster: cluster.name.clone(), failures });
    }
    reports.sort_by(|a, b| (&a.namespace, &a.claim).cmp(&(&b.namespace, &b.claim)));
    Ok(reports)
}

fn new_snapshot(claim: &Claim, class: &str, stamp: &str, consistency: &str) -> NewVolumeSnapshot {
    let mut labels = claim.labels.clone();
    labels.insert(RUN_LABEL.into(), stamp.into());
    labels.insert("app.kubernetes.io/managed-by".into(), "bulkhead".into());
    let mut annotations = BTreeMap::from([
        (CLAIM_ANNOTATION.to_string(), claim.name.clone()),
        (CONSISTENCY_ANNOTATION.to_string(), consistency.to_string()),
    ]);
    if let Some(sc) = &claim.storage_class {
        annotations.insert(STORAGE_CLASS_ANNOTATION.into(), sc.clone());
    }
    NewVolumeSnapshot {
        namespace: claim.namespace.clone(),
        name: snapshot_name(&claim.name, stamp),
        claim: claim.name.clone(),
        class: class.to_string(),
        labels,
        annotations,
    }
}

/// Waits until every snapshot of `created` is cut, or `timeout`; one that
/// cannot be read counts as cut (its own wait reports why).
async fn wait_cut(cluster: &Cluster, created: &[(String, String)], timeout: Duration) {
    let started = std::time::Instant::now();
    let mut waiting: Vec<&(String, String)> = created.iter().collect();
    while !waiting.is_empty() && started.elapsed() < timeout {
        let mut still = Vec::new();
        for snapshot in waiting {
            if matches!(vs::is_cut(cluster, &snapshot.0, &snapshot.1).await, Ok(false)) {
                still.push(snapshot);
            }
        }
        waiting = still;
        if !waiting.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Deletes the VolumeSnapshots `(namespace, name)`; one that cannot be
/// deleted is logged (the backup's own error is the one to report).
pub async fn remove(cluster: &Cluster, snapshots: &[(String, String)]) {
    for (ns, name) in snapshots {
        if let Err(e) = vs::delete(cluster, ns, name).await {
            tracing::warn!(cluster = %cluster.name, snapshot = %format!("{ns}/{name}"), error = %e, "a volume snapshot could not be removed");
        }
    }
}

/// The VolumeSnapshots a report's volumes name, as `(namespace, name)`.
pub fn taken(reports: &[VolumeReport]) -> Vec<(String, String)> {
    reports.iter().filter_map(|r| Some((r.namespace.clone(), r.snapshot.as_ref()?.name.clone()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(class: Option<&str>, bound: bool) -> Claim {
        Claim {
            namespace: "shop".into(),
            name: "data".into(),
            storage_class: class.map(str::to_string),
            bound,
            labels: BTreeMap::new(),
        }
    }

    fn class(name: &str, driver: &str, default: bool) -> SnapshotClass {
        SnapshotClass { name: name.into(), driver: driver.into(), default }
    }

    #[test]
    fn the_drivers_default_class_wins_then_the_first_by_name() {
        let drivers = BTreeMap::from([("fast".to_string(), "ebs.csi.aws.com".to_string())]);
        let none = BTreeMap::new();
        let classes = [class("b", "ebs.csi.aws.com", false), class("a", "ebs.csi.aws.com", false)];
        assert_eq!(choose(&claim(Some("fast"), true), &none, &classes, &drivers), Ok("a".into()));
        let classes =
            [class("a", "ebs.csi.aws.com", false), class("z", "ebs.csi.aws.com", true), class("x", "other", true)];
        assert_eq!(choose(&claim(Some("fast"), true), &none, &classes, &drivers), Ok("z".into()));
    }

    #[test]
    fn the_fleets_choice_is_taken_only_when_the_cluster_has_it() {
        let drivers = BTreeMap::from([("fast".to_string(), "d".to_string())]);
        let fleet = BTreeMap::from([("fast".to_string(), "nightly".to_string())]);
        let classes = [class("default", "d", true), class("nightly", "d", false)];
        assert_eq!(choose(&claim(Some("fast"), true), &fleet, &classes, &drivers), Ok("nightly".into()));
        let why = choose(&claim(Some("fast"), true), &fleet, &classes[..1], &drivers).unwrap_err();
        assert!(why.contains("`nightly`") && why.contains("does not have"), "{why}");
    }

    #[test]
    fn a_claim_without_a_snapshot_says_why() {
        let drivers =
            BTreeMap::from([("fast".to_string(), "d".to_string()), ("nfs".to_string(), "nfs.csi".to_string())]);
        let none = BTreeMap::new();
        let classes = [class("c", "d", true)];
        let why = |c: Claim| choose(&c, &none, &classes, &drivers).unwrap_err();
        assert!(why(claim(None, true)).contains("no storage class"));
        assert!(why(claim(Some("fast"), false)).contains("not bound"));
        assert!(why(claim(Some("gone"), true)).contains("`gone` is not on the cluster"));
        assert!(why(claim(Some("nfs"), true)).contains("for driver `nfs.csi`"));
    }

    #[test]
    fn only_the_snapshots_a_backup_took_are_its_records() {
        let taken = serde_json::json!({"metadata": {"labels": {RUN_LABEL: "bh1"}}});
        let apps_own = serde_json::json!({"metadata": {"labels": {"app": "db"}}});
        assert!(is_record("snapshot.storage.k8s.io", "VolumeSnapshot", &taken));
        assert!(!is_record("snapshot.storage.k8s.io", "VolumeSnapshot", &apps_own));
        assert!(!is_record("", "ConfigMap", &taken));
        let made = serde_json::json!({"metadata": {"labels": {crate::volume_sources::RESTORED_LABEL: "bh1"}}});
        assert!(is_scaffolding("snapshot.storage.k8s.io", "VolumeSnapshotContent", &made));
        assert!(!is_scaffolding("snapshot.storage.k8s.io", "VolumeSnapshot", &taken));
    }

    #[test]
    fn snapshot_names_stay_valid_for_long_claims() {
        assert_eq!(snapshot_name("data", "bh1"), "data-bh1");
        // Cut after a dot: the dot goes too, so the name stays valid.
        let long = format!("{}.-{}", "a".repeat(239), "b".repeat(40));
        let name = snapshot_name(&long, "bh1765000000");
        assert!(name.len() <= 253, "{}", name.len());
        assert_eq!(name, format!("{}-bh1765000000", "a".repeat(239)));
    }
}
