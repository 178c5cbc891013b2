//! Reading what a repository holds: its resource backups listed, one shown
//! object by object, two compared, the repository checked, and an etcd
//! snapshot fetched to a file to be read offline. Each takes the same
//! request a person's flags make (or a server's API call) and answers with
//! typed figures; printing them is the caller's business.

use std::path::{Path, PathBuf};

use bulkhead_dr::diff::{ObjectChange, object_changes};
use bulkhead_dr::layout::{Place, place_of};
use bulkhead_model::Fleet;
use bulkhead_repository::{Env, Open, Snapshot, SnapshotKind, SnapshotRef, TagKey};

use crate::Error;
use crate::repository::{ChosenRepository, choose};
use crate::tags::latest;

/// Which snapshots a request looks among: a repository (by name, or the
/// app's, or the fleet's default) and the cluster's and app's tags.
#[derive(Debug, Clone, Default)]
pub struct Among {
    /// The repository's name in the fleet; `None`: the app's, or the default.
    pub repository: Option<String>,
    /// Only this cluster's snapshots.
    pub cluster: Option<String>,
    /// Only this app's snapshots.
    pub app: Option<String>,
}

impl Among {
    fn open(&self, fleet: &Fleet, env: &Env) -> Result<ChosenRepository, Error> {
        choose(fleet, self.repository.as_deref(), self.app.as_deref(), env)
    }

    fn tags(&self) -> Vec<String> {
        latest(self.cluster.as_deref(), self.app.as_deref())
    }
}

/// The resource backups a repository holds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listed {
    /// The repository's name.
    pub repository: String,
    /// Its resource backups of the cluster and app asked for, oldest first
    /// (drill records and etcd snapshots have listings of their own).
    pub snapshots: Vec<Snapshot>,
}

/// Lists the resource backups `among` names.
///
/// # Errors
/// An unknown repository (the input); one that cannot be read (the outside world).
pub async fn list(fleet: &Fleet, among: &Among, env: &Env) -> Result<Listed, Error> {
    let repository = among.open(fleet, env)?;
    let snapshots = repository
        .access
        .snapshots()
        .await?
        .into_iter()
        .filter(|s| {
            s.is_resource_backup()
                && among.cluster.as_deref().is_none_or(|c| s.tag(TagKey::Cluster) == Some(c))
                && among.app.as_deref().is_none_or(|a| s.tag(TagKey::App) == Some(a))
        })
        .collect();
    Ok(Listed { repository: repository.name, snapshots })
}

/// One snapshot and the objects it holds.
#[derive(Debug, Clone)]
pub struct Shown {
    /// The repository's name.
    pub repository: String,
    /// The snapshot.
    pub snapshot: Snapshot,
    /// Where each object it holds came from, in path order.
    pub objects: Vec<Place>,
}

/// Shows the snapshot `wanted` names among `among`'s.
///
/// # Errors
/// No such snapshot, several that match (the input); a repository that
/// cannot be read (the outside world).
pub async fn show(fleet: &Fleet, among: &Among, wanted: &SnapshotRef, env: &Env) -> Result<Shown, Error> {
    let repository = among.open(fleet, env)?;
    let (wanted, tags) = (wanted.clone(), among.tags());
    let (snapshot, paths) = repository
        .access
        .run(Open::Existing, move |r| {
            let snapshot = r.find(&wanted, &tags)?;
            let paths = r.paths(&snapshot.id)?;
            Ok((snapshot, paths))
        })
        .await?;
    let objects = paths.iter().filter_map(|p| place_of(p)).collect();
    Ok(Shown { repository: repository.name, snapshot, objects })
}

/// What changed between two snapshots.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Compared {
    /// The repository's name.
    pub repository: String,
    /// The older snapshot (the first named).
    pub from: Snapshot,
    /// The newer.
    pub to: Snapshot,
    /// Each object added, removed or changed (with the fields that changed).
    pub changes: Vec<ObjectChange>,
}

/// Compares snapshots `first` and `second` among `among`'s.
///
/// # Errors
/// As [`show`].
pub async fn diff(
    fleet: &Fleet,
    among: &Among,
    first: &SnapshotRef,
    second: &SnapshotRef,
    env: &Env,
) -> Result<Compared, Error> {
    let repository = among.open(fleet, env)?;
    let (first, second, tags) = (first.clone(), second.clone(), among.tags());
    let (from, to, differences) = repository
        .access
        .run(Open::Existing, move |r| {
            let a = r.find(&first, &tags)?;
            let b = r.find(&second, &tags)?;
            let differences = r.compare(&a.id, &b.id)?;
            Ok((a, b, differences))
        })
        .await?;
    Ok(Compared { repository: repository.name, from, to, changes: object_changes(&differences) })
}

/// A repository's check.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Checked {
    /// The repository's name.
    pub repository: String,
    /// Whether the data was read and verified, not only the structure.
    pub read_data: bool,
    /// Each problem found, as restic words it; none when the repository is sound.
    pub problems: Vec<String>,
}

/// Checks repository `name` (the default when `None`): its structure, and
/// with `read_data` every pack's data.
///
/// # Errors
/// An unknown repository (the input), one that cannot be opened (the
/// outside world). Damage is a problem in the outcome, not an error.
pub async fn check(fleet: &Fleet, name: Option<&str>, read_data: bool, env: &Env) -> Result<Checked, Error> {
    let repository = choose(fleet, name, None, env)?;
    let problems = match repository.access.run(Open::Existing, move |r| r.check(read_data)).await {
        // rustic_core 0.13 panics on some damaged data instead of reporting it
        // (a tree blob that does not decode): that is a finding, not our crash.
        Err(bulkhead_repository::Error::Panicked(why)) => {
            vec![format!("Error: the check stopped on damaged data ({why})")]
        }
        other => other?,
    };
    Ok(Checked { repository: repository.name, read_data, problems })
}

/// An etcd snapshot fetched from a repository into a file.
#[derive(Debug, Clone)]
pub struct FetchedEtcd {
    /// The repository's name.
    pub repository: String,
    /// The snapshot.
    pub snapshot: Snapshot,
    /// The file written.
    pub file: PathBuf,
    /// Its size.
    pub bytes: u64,
}

/// Fetches cluster `cluster`'s full etcd snapshot `wanted` (`latest`: the
/// newest) from repository `name` into `to`. The file is removed again when
/// fetching fails.
///
/// # Errors
/// No such cluster or snapshot, a snapshot that is not an etcd snapshot (the
/// input); a repository that cannot be read, a file that cannot be written.
pub async fn fetch_etcd(
    fleet: &Fleet,
    name: Option<&str>,
    cluster: &str,
    wanted: &SnapshotRef,
    to: &Path,
    env: &Env,
) -> Result<FetchedEtcd, Error> {
    let clusters = &fleet.file.spec.clusters;
    if !clusters.iter().any(|c| c.name == cluster) {
        return Err(Error::unknown("cluster", cluster, clusters.iter().map(|c| c.name.as_str())));
    }
    let repository = choose(fleet, name, None, env)?;
    let (wanted, cluster, target) = (wanted.clone(), cluster.to_string(), to.to_path_buf());
    let fetched = repository
        .access
        .run(Open::Existing, move |r| {
            let chosen = match &wanted {
                SnapshotRef::Latest => r
                    .snapshots()?
                    .into_iter()
                    .rev()
                    .find(|s| s.kind() == SnapshotKind::EtcdFull && s.tag(TagKey::Cluster) == Some(cluster.as_str()))
                    .ok_or_else(|| bulkhead_repository::Error::NoSnapshot {
                        location: r.location().to_string(),
                        wanted: format!("of etcd of cluster `{cluster}`: take one with `bulkhead etcd snapshot`"),
                    })?,
                SnapshotRef::Prefix(prefix) => r.snapshot(prefix)?,
            };
            if chosen.kind() != SnapshotKind::EtcdFull {
                return Err(bulkhead_repository::Error::Source(format!(
                    "snapshot {} is not an etcd snapshot (tags: {})",
                    chosen.id,
                    chosen.tags.join(", ")
                )));
            }
            let mut file = std::fs::File::create(&target)
                .map_err(|e| bulkhead_repository::Error::Source(format!("{}: {e}", target.display())))?;
            let bytes = r.dump(&chosen.id, "snapshot.db", &mut file)?;
            Ok((chosen, bytes))
        })
        .await;
    match fetched {
        Ok((snapshot, bytes)) => {
            Ok(FetchedEtcd { repository: repository.name, snapshot, file: to.to_path_buf(), bytes })
        }
        Err(e) => {
            let _ = std::fs::remove_file(to);
            Err(e.into())
        }
    }
}
