//! etcd's point-in-time restore as a job: the newest full snapshot at or
//! before the point, plus the delta segments after it, replayed offline
//! (bulkhead-etcd's replay) into a new database; then `etcdutl snapshot
//! restore` writes the data directory around it (the member's WAL and
//! snapshot, its membership) and bumps the revision, marked compacted.
//! Writing a WAL of our own would copy etcd's internals; etcdutl is what
//! every etcd operator has, in the version of their etcd.

use std::path::{Path, PathBuf};
use std::process::Command;

use bulkhead_etcd::delta::Segment;
use bulkhead_etcd::file::Snapshot as EtcdFile;
use bulkhead_etcd::replay::{Replayed, replay};
use bulkhead_model::Fleet;
use bulkhead_repository::{Env, Snapshot, SnapshotId, SnapshotKind, TagKey};

use crate::Error;
use crate::repository::choose;

/// An etcd restore job.
#[derive(Debug, Clone)]
pub struct EtcdRestoreJob {
    /// The cluster whose etcd is restored.
    pub cluster: String,
    /// The new data directory (must not exist, or be empty).
    pub to: PathBuf,
    /// Restore to this revision (default: the newest stored).
    pub revision: Option<i64>,
    /// Restore to what was stored by this time, in seconds since the epoch.
    pub until: Option<i64>,
    /// The member's name (etcd's `--name`).
    pub name: String,
    /// The cluster's members (etcd's `--initial-cluster`).
    pub initial_cluster: Option<String>,
    /// This member's peer URL (etcd's `--initial-advertise-peer-urls`).
    pub initial_advertise_peer_urls: Option<String>,
    /// How far the revision is bumped past the restored one (and marked compacted); 0: not.
    pub bump_revision: u64,
    /// `etcdutl`, found on PATH by the caller.
    pub etcdutl: PathBuf,
    /// The repository (a name of the fleet's, or a URL).
    pub repository: Option<String>,
}

/// What an etcd restore did.
#[derive(Debug, Clone)]
pub struct EtcdRestoreOutcome {
    /// The full snapshot it started from.
    pub full: Snapshot,
    /// What the replay did.
    pub replayed: Replayed,
}

/// Removes the files a restore works with, however it ends.
struct Scratch(Vec<PathBuf>);

impl Drop for Scratch {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The full snapshots and delta segments of `cluster` stored by `until`,
/// each in its order: fulls by revision (then time), segments by start.
fn stored(all: &[Snapshot], cluster: &str, until: Option<i64>) -> (Vec<Snapshot>, Vec<Snapshot>) {
    let of_kind = |kind: SnapshotKind| -> Vec<Snapshot> {
        all.iter()
            .filter(|s| s.kind() == kind && s.tag(TagKey::Cluster) == Some(cluster))
            .filter(|s| until.is_none_or(|t| s.epoch <= t))
            .cloned()
            .collect()
    };
    let number = |s: &Snapshot, key: TagKey| s.number(key).unwrap_or(0);
    let mut fulls = of_kind(SnapshotKind::EtcdFull);
    fulls.sort_by_key(|s| (number(s, TagKey::EtcdRevision), s.nanos));
    let mut deltas = of_kind(SnapshotKind::EtcdDelta);
    deltas.sort_by_key(|s| number(s, TagKey::EtcdFrom));
    (fulls, deltas)
}

/// Restores a new etcd data directory.
///
/// # Errors
/// A cluster the fleet does not have, a data directory in the way, a point
/// the backup does not hold, damaged data (the input); the repository or
/// etcdutl failing (the outside world).
pub async fn restore(fleet: &Fleet, job: &EtcdRestoreJob, env: &Env) -> Result<EtcdRestoreOutcome, Error> {
    let clusters = &fleet.file.spec.clusters;
    if !clusters.iter().any(|c| c.name == job.cluster) {
        return Err(Error::unknown("cluster", &job.cluster, clusters.iter().map(|c| c.name.as_str())));
    }
    if job.to.exists() && std::fs::read_dir(&job.to).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(Error::Input(format!(
            "{} exists and is not empty: restore into a new directory (etcd's data is never overwritten)",
            job.to.display()
        )));
    }
    let repository = choose(fleet, job.repository.as_deref(), None, env)?;
    let all = repository.access.snapshots().await?;
    let (fulls, deltas) = stored(&all, &job.cluster, job.until);
    let number = |s: &Snapshot, key: TagKey| s.number(key).unwrap_or(0);
    if fulls.is_empty() {
        return Err(Error::Input(format!(
            "repository `{}` has no full etcd snapshot of `{}`{}: take one with `bulkhead etcd snapshot` or `etcd watch`",
            repository.name,
            job.cluster,
            if job.until.is_some() { " from before that time" } else { "" }
        )));
    }
    // The point: a revision, or as far as what was stored by the time reaches.
    let target =
        job.revision.or_else(|| job.until.map(|_| deltas.iter().map(|d| number(d, TagKey::EtcdTo)).max().unwrap_or(0)));
    let parent = job.to.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::Input(format!("cannot write {}: {e}", parent.display())))?;
    let name = job.to.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "etcd".into());
    let full_file = parent.join(format!(".{name}.bulkhead-full.db"));
    let rebuilt = parent.join(format!(".{name}.bulkhead-restored.db"));
    let _scratch = Scratch(vec![full_file.clone(), rebuilt.clone()]);

    // The newest full snapshot at or before the point (its tag is the
    // revision just before it began: the file may hold a few more).
    let mut chosen = None;
    for full in fulls.iter().rev().filter(|f| target.is_none_or(|t| number(f, TagKey::EtcdRevision) <= t)) {
        let (id, path) = (full.id.clone(), full_file.clone());
        repository
            .access
            .run(bulkhead_repository::Open::Existing, move |r| {
                let mut file = std::fs::File::create(&path)
                    .map_err(|e| bulkhead_repository::Error::Source(format!("{}: {e}", path.display())))?;
                r.dump(&id, "snapshot.db", &mut file)
            })
            .await?;
        let what = || format!("full snapshot {} in the repository", full.id.short());
        let unreadable = |source| bulkhead_etcd::Error::Read { what: what(), source };
        let snapshot = EtcdFile::open(&full_file, true).map_err(unreadable)?;
        let newest = snapshot.newest().map_err(unreadable)?;
        if target.is_none_or(|t| newest <= t) {
            chosen = Some((full.clone(), snapshot, newest));
            break;
        }
    }
    let Some((full, snapshot, newest)) = chosen else {
        return Err(Error::Input(format!(
            "no full snapshot of `{}` is at or before revision {}: the oldest starts at revision {}",
            job.cluster,
            target.unwrap_or_default(),
            fulls.first().map_or(0, |f| number(f, TagKey::EtcdRevision))
        )));
    };
    let wanted: Vec<SnapshotId> =
        deltas.iter().filter(|d| number(d, TagKey::EtcdTo) > newest).map(|d| d.id.clone()).collect();
    let files = repository.access.run(bulkhead_repository::Open::Existing, move |r| r.files_of(&wanted)).await?;
    let segments: Vec<Segment> = files
        .iter()
        .flatten()
        .map(|(path, bytes)| {
            Segment::decode(bytes)
                .map_err(|source| bulkhead_etcd::Error::Segment { what: format!("delta segment {path}"), source })
        })
        .collect::<Result<_, _>>()?;
    let replayed = replay(&snapshot, &segments, target, &rebuilt).map_err(bulkhead_etcd::Error::from)?;
    drop(snapshot);
    write_data_dir(job, &rebuilt)?;
    Ok(EtcdRestoreOutcome { full, replayed })
}

/// `etcdutl snapshot restore` of the rebuilt database into the data directory.
fn write_data_dir(job: &EtcdRestoreJob, rebuilt: &Path) -> Result<(), Error> {
    let mut command = Command::new(&job.etcdutl);
    command
        .args(["snapshot", "restore"])
        .arg(rebuilt)
        .arg("--data-dir")
        .arg(&job.to)
        .args(["--name", &job.name])
        // The rebuilt file has no trailer: it is not a stream etcd sent.
        .arg("--skip-hash-check");
    if let Some(c) = &job.initial_cluster {
        command.args(["--initial-cluster", c]);
    }
    if let Some(u) = &job.initial_advertise_peer_urls {
        command.args(["--initial-advertise-peer-urls", u]);
    }
    if job.bump_revision > 0 {
        command.args(["--bump-revision", &job.bump_revision.to_string(), "--mark-compacted"]);
    }
    let done = command.output().map_err(|e| Error::Tool(format!("cannot run {}: {e}", job.etcdutl.display())))?;
    if !done.status.success() {
        return Err(Error::Input(format!(
            "etcdutl snapshot restore failed: {}",
            String::from_utf8_lossy(&done.stderr).trim()
        )));
    }
    Ok(())
}

/// `etcdutl` on PATH: it writes the data directory.
///
/// # Errors
/// When it is not there (install the version of your etcd).
pub fn etcdutl_on_path() -> Result<PathBuf, Error> {
    std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|d| d.join("etcdutl")).find(|p| p.is_file()))
        .ok_or_else(|| {
            Error::Tool(
                "etcdutl is not on PATH: it writes the data directory (install the version of your etcd)".into(),
            )
        })
}
