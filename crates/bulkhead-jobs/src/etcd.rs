//! etcd backups as jobs: which control plane, how to reach its etcd (from
//! `controlPlane.etcd.access`), a full snapshot taken and stored in the
//! repository as `/etcd/CLUSTER/snapshot.db`, tagged with its revision; and
//! the watch, a long-running job that stores every change in delta segments.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use bulkhead_etcd::access::Target;
use bulkhead_etcd::delta::Segment;
use bulkhead_etcd::snapshot::Taken;
use bulkhead_etcd::watch::{Report, Settings, Store, StoreError};
use bulkhead_model::Fleet;
use bulkhead_model::spec::Cluster;
use bulkhead_repository::{
    Content, Env, File, NewSnapshot, Open, RepositoryAccess, Saver, Snapshot, SnapshotKind, TagKey,
};
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::progress::{OnProgress, Progress};
use crate::repository::{ChosenRepository, choose};

/// The fleet's cluster `name` and how to reach its etcd.
///
/// # Errors
/// No such cluster, a managed control plane, or no (usable) access settings.
pub fn target<'f>(fleet: &'f Fleet, name: &str) -> Result<(&'f Cluster, Target), Error> {
    let spec = &fleet.file.spec;
    let cluster = spec
        .clusters
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| Error::unknown("cluster", name, spec.clusters.iter().map(|c| c.name.as_str())))?;
    if cluster.control_plane.managed {
        return Err(Error::Input(format!(
            "cluster `{}` has a managed control plane: its provider keeps etcd out of reach (and backs it up)",
            cluster.name
        )));
    }
    let access = cluster.control_plane.etcd.access.as_ref().ok_or_else(|| {
        Error::Input(format!(
            "cluster `{}` says nowhere how to reach its etcd: add `controlPlane.etcd.access: {{endpoints: [https://HOST:2379], caFile: …, certFile: …, keyFile: …}}` to fleet.yaml",
            cluster.name
        ))
    })?;
    let target = Target::resolve(&fleet.root, access)?;
    Ok((cluster, target))
}

/// The tags of a full etcd snapshot.
pub fn snapshot_tags(fleet: &str, cluster: &str, revision: i64) -> Vec<String> {
    SnapshotKind::EtcdFull
        .tag()
        .into_iter()
        .chain([TagKey::Fleet.with(fleet), TagKey::Cluster.with(cluster), TagKey::EtcdRevision.with(revision)])
        .collect()
}

/// The tags of a delta segment holding revisions `from..=to`.
pub fn delta_tags(fleet: &str, cluster: &str, from: i64, to: i64) -> Vec<String> {
    SnapshotKind::EtcdDelta
        .tag()
        .into_iter()
        .chain([
            TagKey::Fleet.with(fleet),
            TagKey::Cluster.with(cluster),
            TagKey::EtcdFrom.with(from),
            TagKey::EtcdTo.with(to),
        ])
        .collect()
}

/// A full etcd snapshot as the repository stores it: the file at `path` as
/// `/etcd/CLUSTER/snapshot.db` (read from disk as the archiver goes: it may
/// be gigabytes), tagged with its revision, described for `restic snapshots`.
fn full_snapshot(fleet: &str, cluster: &str, taken: &Taken, path: PathBuf) -> (NewSnapshot, File) {
    let snapshot = NewSnapshot {
        base: "/etcd".into(),
        hostname: cluster.to_string(),
        label: "etcd".into(),
        tags: snapshot_tags(fleet, cluster, taken.revision),
        description: format!(
            "bulkhead etcd snapshot of {cluster}: revision {}, {} bytes, sha256 {}, etcd {}",
            taken.revision, taken.bytes, taken.sha256, taken.etcd_version
        ),
    };
    (snapshot, File { path: vec![cluster.to_string(), "snapshot.db".into()], content: Content::Disk(path) })
}

/// Stores the snapshot file at `path` in the repository (see [`full_snapshot`]).
///
/// # Errors
/// When the repository cannot be opened or written.
pub async fn store_snapshot(
    repository: &RepositoryAccess,
    fleet: &str,
    cluster: &str,
    taken: &Taken,
    path: PathBuf,
) -> Result<Snapshot, Error> {
    let (snapshot, file) = full_snapshot(fleet, cluster, taken, path);
    let saved = repository.run(Open::OrCreate, move |r| {
        let (tx, rx) = mpsc::channel();
        // The receiver lives until save returns: the send cannot fail.
        let _ = tx.send(file);
        drop(tx);
        r.save(&snapshot, rx, &|| Ok(1))
    });
    Ok(saved.await?)
}

/// An etcd snapshot job.
#[derive(Debug, Clone, Default)]
pub struct EtcdSnapshotJob {
    /// The cluster whose etcd is snapshotted.
    pub cluster: String,
    /// Keep the snapshot file here too (for `etcdutl snapshot restore`).
    pub out: Option<PathBuf>,
    /// Store it in the repository even with `out` (a name or URL); without
    /// `out` it is always stored, in the fleet's repository.
    pub repository: Option<String>,
}

/// An etcd snapshot job resolved.
#[derive(Clone)]
pub struct EtcdSnapshotPlan {
    /// The cluster.
    pub cluster: String,
    /// Its etcd.
    pub target: Target,
    /// Where the file is written, and whether it is only a stop on the way.
    pub file: PathBuf,
    /// The file is removed once stored.
    pub temporary: bool,
    /// Where it is stored, if anywhere.
    pub repository: Option<ChosenRepository>,
}

/// What an etcd snapshot job did.
#[derive(Debug, Clone)]
pub struct EtcdSnapshotOutcome {
    /// The cluster.
    pub cluster: String,
    /// The snapshot as etcd sent it, verified.
    pub taken: Taken,
    /// The file kept, when asked for.
    pub file: Option<PathBuf>,
    /// The repository it went to, and the snapshot there.
    pub stored: Option<(String, Snapshot)>,
}

/// Resolves `job`: the cluster's etcd, and the repository (its password
/// read now, so a missing one fails before etcd is touched).
///
/// # Errors
/// As [`target`], or when the repository cannot be chosen.
pub fn plan_snapshot(fleet: &Fleet, job: &EtcdSnapshotJob, env: &Env) -> Result<EtcdSnapshotPlan, Error> {
    let (cluster, target) = target(fleet, &job.cluster)?;
    let store = job.out.is_none() || job.repository.is_some();
    let repository = if store { Some(choose(fleet, job.repository.as_deref(), None, env)?) } else { None };
    let (file, temporary) = match &job.out {
        Some(p) => (p.clone(), false),
        None => (std::env::temp_dir().join(format!("bulkhead-etcd-{}-{}.db", cluster.name, std::process::id())), true),
    };
    Ok(EtcdSnapshotPlan { cluster: cluster.name.clone(), target, file, temporary, repository })
}

/// Takes the snapshot (its SHA-256 trailer checked) and stores it.
///
/// # Errors
/// When etcd cannot be reached, sends a damaged snapshot, or the file or
/// repository cannot be written.
pub async fn snapshot(
    fleet: &Fleet,
    plan: EtcdSnapshotPlan,
    progress: OnProgress<'_>,
) -> Result<EtcdSnapshotOutcome, Error> {
    progress(Progress::Began { what: &format!("snapshotting etcd of {}", plan.cluster) });
    let taken = async {
        let mut client = plan.target.connect().await?;
        bulkhead_etcd::snapshot::save(&plan.target, &mut client, &plan.file, &|done, total| {
            progress(Progress::Bytes { done, total });
        })
        .await
    }
    .await;
    progress(Progress::Ended);
    let taken = taken?;
    let stored = match plan.repository {
        Some(repository) => {
            let saved =
                store_snapshot(&repository.access, &fleet.file.metadata.name, &plan.cluster, &taken, plan.file.clone())
                    .await;
            if plan.temporary {
                let _ = std::fs::remove_file(&plan.file);
            }
            Some((repository.name, saved?))
        }
        None => None,
    };
    Ok(EtcdSnapshotOutcome { cluster: plan.cluster, taken, file: (!plan.temporary).then_some(plan.file), stored })
}

/// Segments and full snapshots of the etcd watch, into the repository
/// through one [`Saver`]: the repository is opened once, not per segment.
struct RepositoryStore {
    saver: Saver,
    cluster: String,
    fleet: String,
}

impl Store for RepositoryStore {
    fn segment(&mut self, segment: &Segment) -> Result<(), StoreError> {
        let snapshot = NewSnapshot {
            base: "/etcd".into(),
            hostname: self.cluster.clone(),
            label: "etcd-delta".into(),
            tags: delta_tags(&self.fleet, &self.cluster, segment.from, segment.to),
            description: format!(
                "bulkhead etcd changes of {}: revisions {}..={}, {} changes",
                self.cluster,
                segment.from,
                segment.to,
                segment.events.len()
            ),
        };
        let file = File::bytes(
            vec![self.cluster.clone(), "deltas".into(), format!("{:020}-{:020}.delta", segment.from, segment.to)],
            segment.encode(),
        );
        Ok(self.saver.save(snapshot, vec![file]).map(drop)?)
    }

    fn full(&mut self, taken: &Taken, file: &Path) -> Result<(), StoreError> {
        let (snapshot, file) = full_snapshot(&self.fleet, &self.cluster, taken, file.to_path_buf());
        Ok(self.saver.save(snapshot, vec![file]).map(drop)?)
    }
}

/// The newest revision the repository holds for `cluster`: a full
/// snapshot's or a delta segment's end; `None` when it holds neither.
pub fn durable_revision(snapshots: &[Snapshot], cluster: &str) -> Option<i64> {
    snapshots
        .iter()
        .filter(|s| s.tag(TagKey::Cluster) == Some(cluster))
        .filter_map(|s| match s.kind() {
            SnapshotKind::EtcdFull => s.number(TagKey::EtcdRevision),
            SnapshotKind::EtcdDelta => s.number(TagKey::EtcdTo),
            _ => None,
        })
        .max()
}

/// An etcd watch job: a long-running backup of every change.
#[derive(Debug, Clone)]
pub struct EtcdWatchJob {
    /// The cluster whose etcd is watched.
    pub cluster: String,
    /// How the watch runs (flushes, full snapshots, limits).
    pub settings: Settings,
    /// The repository (a name of the fleet's, or a URL).
    pub repository: Option<String>,
}

/// Watches the cluster's etcd and stores every change, resuming from the
/// newest revision the repository holds; reports go to `report` as they
/// happen. Runs until the settings' `run_for` ends or it is cancelled.
///
/// # Errors
/// When the cluster, its etcd access or the repository cannot be used at
/// the start; later outages are waited out (and reported).
pub async fn watch<R: Fn(Report) + ?Sized>(
    fleet: &Fleet,
    job: &EtcdWatchJob,
    env: &Env,
    report: &R,
    cancel: &CancellationToken,
) -> Result<(), Error> {
    let (cluster, target) = target(fleet, &job.cluster)?;
    let repository = choose(fleet, job.repository.as_deref(), None, env)?;
    // Create the repository if need be, and find where the backup stands.
    let snapshots = repository.access.run(Open::OrCreate, |r| r.snapshots()).await?;
    let durable = durable_revision(&snapshots, &cluster.name);
    let store: Arc<Mutex<dyn Store>> = Arc::new(Mutex::new(RepositoryStore {
        saver: repository.access.saver()?,
        cluster: cluster.name.clone(),
        fleet: fleet.file.metadata.name.clone(),
    }));
    tokio::select! {
        done = bulkhead_etcd::watch::run(&target, store, durable, &job.settings, report) => Ok(done?),
        () = cancel.cancelled() => Err(Error::Cancelled),
    }
}
