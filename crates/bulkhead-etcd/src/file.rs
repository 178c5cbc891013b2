//! An etcd snapshot file, read offline: its trailer checked, its `key`
//! bucket walked, and the objects it held at a revision.

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::bbolt::{Bucket, Db, FormatError, OpenError};
use crate::mvcc::{KeyValue, Revision, RevisionKey};

/// Why a snapshot cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file cannot be opened or is not bbolt.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The bbolt tree or an entry is damaged.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The SHA-256 etcd appended does not match.
    #[error("the snapshot's SHA-256 trailer does not match its contents: damaged or truncated")]
    HashMismatch,
    /// A bbolt database, but not etcd's.
    #[error("a bbolt database without etcd's `key` bucket: not an etcd snapshot")]
    NotEtcd,
    /// An entry of the `key` bucket does not decode.
    #[error("damaged entry in the `key` bucket: {0}")]
    Entry(String),
    /// The revision asked for is not in the snapshot.
    #[error("{0}")]
    NoRevision(String),
}

/// An open snapshot.
pub struct Snapshot {
    db: Db,
    /// Whether the file carried etcd's SHA-256 trailer (checked on open).
    pub had_trailer: bool,
}

/// One object's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Object<'a> {
    /// The revision of its last change.
    pub revision: Revision,
    /// Its `mvccpb.KeyValue`.
    pub kv: KeyValue<'a>,
}

/// The objects a snapshot held at one revision.
#[derive(Debug, Default)]
pub struct State<'a> {
    /// By key.
    pub objects: HashMap<&'a [u8], Object<'a>>,
    /// The revision the state is at.
    pub revision: i64,
    /// The snapshot's newest revision.
    pub newest: i64,
    /// The revision compacted up to (older history is gone).
    pub compacted: i64,
    /// Entries of the `key` bucket read.
    pub entries: u64,
}

impl Snapshot {
    /// Opens a snapshot file; with `verify`, checks etcd's SHA-256 trailer
    /// when the file has one (a file `etcdutl` or etcd's own backup wrote
    /// has none: it is read as it is).
    ///
    /// # Errors
    /// Not readable, damaged, or not etcd's.
    pub fn open(path: &Path, verify: bool) -> Result<Self, ReadError> {
        let len = std::fs::metadata(path).map_err(|e| OpenError::Io(path.to_path_buf(), e))?.len();
        // etcd's trailer makes the size 32 more than a whole number of pages.
        let had_trailer = len % 512 == 32;
        let db = Db::open(path, if had_trailer { 32 } else { 0 })?;
        Self::checked(db, had_trailer, verify)
    }

    /// Reads a snapshot held in memory (tests and fuzzing).
    ///
    /// # Errors
    /// Damaged, or not etcd's.
    pub fn from_vec(bytes: Vec<u8>, verify: bool) -> Result<Self, ReadError> {
        let had_trailer = bytes.len() % 512 == 32;
        let db = Db::from_vec(bytes, if had_trailer { 32 } else { 0 })?;
        Self::checked(db, had_trailer, verify)
    }

    fn checked(db: Db, had_trailer: bool, verify: bool) -> Result<Self, ReadError> {
        if had_trailer && verify {
            let data = db.data();
            let all = db.whole();
            if Sha256::digest(data)[..] != all[data.len()..] {
                return Err(ReadError::HashMismatch);
            }
        }
        let snapshot = Self { db, had_trailer };
        snapshot.keys()?;
        Ok(snapshot)
    }

    /// The `key` bucket.
    fn keys(&self) -> Result<Bucket<'_>, ReadError> {
        self.db.bucket(b"key")?.ok_or(ReadError::NotEtcd)
    }

    /// The bbolt database under it.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The revision compacted up to (from the `meta` bucket), 0 if none.
    ///
    /// # Errors
    /// The tree is damaged.
    pub fn compacted(&self) -> Result<i64, ReadError> {
        let Some(meta) = self.db.bucket(b"meta")? else { return Ok(0) };
        Ok(match meta.get(b"finishedCompactRev")? {
            Some(v) if v.len() >= 17 => RevisionKey::decode(&v[..17]).map_or(0, |k| k.revision.main),
            _ => 0,
        })
    }

    /// Calls `each` with every entry of the `key` bucket, oldest first.
    ///
    /// # Errors
    /// A damaged tree or entry, or `each` failed.
    pub fn history<'a>(
        &'a self,
        mut each: impl FnMut(RevisionKey, KeyValue<'a>) -> Result<(), ReadError>,
    ) -> Result<(), ReadError> {
        let mut failed = None;
        self.keys()?
            .for_each(|entry| {
                let step = (|| {
                    let key = RevisionKey::decode(entry.key).map_err(|e| ReadError::Entry(e.to_string()))?;
                    let kv = KeyValue::decode(entry.value).map_err(|e| ReadError::Entry(e.to_string()))?;
                    each(key, kv)
                })();
                // The tree walk speaks FormatError: carry ours past it.
                step.map_err(|e| {
                    failed = Some(e);
                    FormatError::Damaged(String::new())
                })
            })
            .map_err(|e| failed.take().unwrap_or(ReadError::Format(e)))
    }

    /// The snapshot's newest revision (a walk of the `key` bucket's keys,
    /// nothing kept).
    ///
    /// # Errors
    /// A damaged tree or key.
    pub fn newest(&self) -> Result<i64, ReadError> {
        let mut newest = 0;
        self.keys()?.for_each(|entry| {
            let key = RevisionKey::decode(entry.key).map_err(|e| FormatError::Damaged(e.to_string()))?;
            newest = newest.max(key.revision.main);
            Ok(())
        })?;
        Ok(newest)
    }

    /// The objects at revision `at` (the newest when `None`).
    ///
    /// # Errors
    /// A damaged snapshot, or a revision it does not hold (compacted away,
    /// or newer than the snapshot).
    pub fn state(&self, at: Option<i64>) -> Result<State<'_>, ReadError> {
        let compacted = self.compacted()?;
        let mut state = State { compacted, ..State::default() };
        let limit = at.unwrap_or(i64::MAX);
        self.history(|key, kv| {
            state.entries += 1;
            state.newest = state.newest.max(key.revision.main);
            if key.revision.main > limit {
                return Ok(());
            }
            if key.tombstone {
                state.objects.remove(kv.key);
            } else {
                state.objects.insert(kv.key, Object { revision: key.revision, kv });
            }
            Ok(())
        })?;
        state.revision = at.unwrap_or(state.newest);
        if let Some(at) = at {
            if at > state.newest {
                return Err(ReadError::NoRevision(format!(
                    "revision {at} is not in the snapshot: its newest revision is {}",
                    state.newest
                )));
            }
            if at < compacted {
                return Err(ReadError::NoRevision(format!(
                    "revision {at} was compacted away: the snapshot keeps history from revision {compacted} on"
                )));
            }
        }
        Ok(state)
    }
}
