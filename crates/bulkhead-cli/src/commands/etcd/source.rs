//! The snapshot `etcd inspect` and `etcd extract` read: a file, or one of
//! the repository's etcd snapshots fetched to a temporary file first (it is
//! read memory-mapped, never whole into memory).

use std::path::PathBuf;

use bulkhead_etcd::file::{ReadError, Snapshot};

use super::super::recovery::{environment, load_fleet};
use crate::error::Failure;
use crate::settings::{EtcdSnapshotSource, EtcdSourceSettings};

/// An open snapshot, and what to call it.
pub(crate) struct Opened {
    pub snapshot: Snapshot,
    /// The file, or `repository R, snapshot ID`.
    pub shown: String,
    /// The file's size.
    pub bytes: u64,
    /// Keys for values encrypted at rest, when given.
    pub keys: Option<bulkhead_etcd::encryption::Keys>,
    /// A file fetched from the repository, removed when done.
    temporary: Option<PathBuf>,
}

impl Drop for Opened {
    fn drop(&mut self) {
        if let Some(p) = &self.temporary {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Opens the snapshot the settings name.
///
/// # Errors
/// A missing or damaged file (exit 2), an unreachable repository (exit 3).
pub(crate) fn open(settings: &EtcdSourceSettings) -> Result<Opened, Failure> {
    let keys = settings
        .encryption_config
        .as_ref()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::Input(format!("cannot read {}: {e}", path.display())))?;
            bulkhead_etcd::encryption::Keys::from_config(&text)
                .map_err(|e| Failure::Input(format!("{}: {e}", path.display())))
        })
        .transpose()?;
    let mut opened = open_snapshot(&settings.source)?;
    opened.keys = keys;
    Ok(opened)
}

fn open_snapshot(source: &EtcdSnapshotSource) -> Result<Opened, Failure> {
    let (fleet, repository, cluster, wanted) = match source {
        EtcdSnapshotSource::File(path) => {
            let shown = path.display().to_string();
            let snapshot = Snapshot::open(path, true).map_err(|e| unreadable(&shown, &e))?;
            let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or_default();
            return Ok(Opened { snapshot, shown, bytes, keys: None, temporary: None });
        }
        EtcdSnapshotSource::Repository { fleet, repository, cluster, snapshot } => {
            (fleet, repository, cluster, snapshot)
        }
    };
    let fleet = load_fleet(fleet)?;
    let path = std::env::temp_dir().join(format!("bulkhead-etcd-read-{cluster}-{}.db", std::process::id()));
    let fetched = crate::runtime::block_on(bulkhead_jobs::snapshots::fetch_etcd(
        &fleet,
        repository.as_deref(),
        cluster,
        wanted,
        &path,
        &environment(),
    ))??;
    let (chosen, bytes) = (fetched.snapshot, fetched.bytes);
    let shown = format!("repository `{}`, snapshot {} of {cluster}", fetched.repository, chosen.id.short());
    // Stored with its trailer and checked by the repository's own hashes: checked again all the same.
    let snapshot = Snapshot::open(&path, true).map_err(|e| {
        let _ = std::fs::remove_file(&path);
        unreadable(&shown, &e)
    })?;
    Ok(Opened { snapshot, shown, bytes, keys: None, temporary: Some(path) })
}

fn unreadable(what: &str, e: &ReadError) -> Failure {
    Failure::Input(format!("{what}: {e}"))
}
