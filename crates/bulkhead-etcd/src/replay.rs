//! A restore's first half, offline: a full snapshot plus the delta segments
//! after it, replayed up to a chosen revision into a new database file.
//!
//! The replay writes the changes into the `key` bucket exactly as etcd
//! would have (same revisions, sub-revisions in the transaction's order,
//! tombstones for deletions) instead of replaying them through a running
//! etcd: one that runs during the replay revokes expired leases and moves
//! the revision under it, and the first change is lost
//! (etcd-backup-restore#1045). Leases granted after the snapshot are added
//! to the `lease` bucket with the TTL they were granted, so their keys
//! still expire after the restore.

use std::collections::BTreeMap;
use std::io::BufWriter;
use std::path::Path;

use crate::bbolt::writer::Writer;
use crate::delta::{Change, Segment};
use crate::file::{ReadError, Snapshot};
use crate::mvcc::{KeyValue, Revision, RevisionKey};
use crate::wire;

/// Why a replay cannot be done.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The snapshot cannot be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The segments leave revisions uncovered.
    #[error("revisions {from}..={to} are in no delta segment: the backup has a gap there")]
    Gap {
        /// First missing revision.
        from: i64,
        /// Last missing.
        to: i64,
    },
    /// The revision asked for is outside what the backup holds.
    #[error("{0}")]
    Revision(String),
    /// A segment's event is malformed.
    #[error("a delta segment's change does not decode: {0}")]
    Event(String),
    /// Writing the new database failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What a replay did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Replayed {
    /// The full snapshot's newest revision.
    pub snapshot_revision: i64,
    /// The revision the new database is at.
    pub revision: i64,
    /// Changes replayed on top of the snapshot.
    pub events: usize,
    /// Segments they came from.
    pub segments: usize,
    /// Leases added.
    pub leases: usize,
}

/// The revision the segments reach without a gap after `snapshot_revision`.
///
/// # Errors
/// A gap between the snapshot and the segments, or between segments.
pub fn reach(snapshot_revision: i64, segments: &[Segment]) -> Result<i64, ReplayError> {
    let mut reached = snapshot_revision;
    for s in segments {
        if s.to <= reached {
            continue;
        }
        if s.from > reached + 1 {
            return Err(ReplayError::Gap { from: reached + 1, to: s.from - 1 });
        }
        reached = s.to;
    }
    Ok(reached)
}

/// Writes `out`: `snapshot` with the changes of `segments` (sorted by
/// `from`) up to revision `target` (default: as far as they reach).
///
/// # Errors
/// A gap, a revision outside the backup, a damaged input, a failed write.
pub fn replay(
    snapshot: &Snapshot,
    segments: &[Segment],
    target: Option<i64>,
    out: &Path,
) -> Result<Replayed, ReplayError> {
    let newest = snapshot.newest()?;
    let reached = reach(newest, segments)?;
    let target = target.unwrap_or(reached);
    if target < newest {
        return Err(ReplayError::Revision(format!(
            "revision {target} is older than the full snapshot (revision {newest}): restore from an older full snapshot"
        )));
    }
    if target > reached {
        return Err(ReplayError::Revision(format!(
            "revision {target} is not in the backup yet: it reaches revision {reached}"
        )));
    }
    // The changes to add, in order, with their sub-revisions.
    let mut added: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut leases: BTreeMap<i64, i64> = BTreeMap::new();
    let (mut used_segments, mut last) = (0, Revision { main: newest, sub: -1 });
    for s in segments.iter().filter(|s| s.to > newest && s.from <= target) {
        used_segments += 1;
        for e in &s.events {
            let kv = KeyValue::decode(&e.kv).map_err(|err| ReplayError::Event(err.to_string()))?;
            if kv.mod_revision <= newest || kv.mod_revision > target {
                continue;
            }
            let sub = if kv.mod_revision == last.main { last.sub + 1 } else { 0 };
            last = Revision { main: kv.mod_revision, sub };
            let key = RevisionKey { revision: last, tombstone: e.change == Change::Delete };
            let value = match e.change {
                Change::Put => e.kv.clone(),
                // etcd's tombstone holds the key alone.
                Change::Delete => KeyValue { key: kv.key, ..KeyValue::default() }.encode(),
            };
            added.push((key.encode(), value));
            if kv.lease != 0 {
                let ttl = s.leases.iter().find(|l| l.id == kv.lease).map_or(0, |l| l.ttl);
                leases.insert(kv.lease, ttl);
            }
        }
    }
    let write_error = |source| ReplayError::Write { path: out.to_path_buf(), source };
    let file = std::fs::File::create(out).map_err(write_error)?;
    let mut writer =
        Writer::new(BufWriter::with_capacity(1 << 20, file), snapshot.db().page_size()).map_err(write_error)?;
    let mut roots = Vec::new();
    let names = snapshot.db().bucket_names().map_err(ReadError::from)?;
    let mut new_leases = 0;
    for name in &names {
        let bucket = snapshot.db().bucket(name).map_err(ReadError::from)?.ok_or(ReadError::NotEtcd)?;
        let mut entries: Vec<(&[u8], &[u8])> = Vec::new();
        bucket
            .for_each(|e| {
                if e.is_bucket {
                    return Err(crate::bbolt::FormatError::Damaged(format!(
                        "bucket {} holds a bucket: not a database etcd writes",
                        String::from_utf8_lossy(name)
                    )));
                }
                entries.push((e.key, e.value));
                Ok(())
            })
            .map_err(ReadError::from)?;
        let lease_values: Vec<(Vec<u8>, Vec<u8>)>;
        let root = match name.as_slice() {
            b"key" => writer
                .bucket(entries.iter().copied().chain(added.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))))
                .map_err(write_error)?,
            b"lease" => {
                // Leases the snapshot lacks, merged in id order (keys are big-endian ids).
                let mut merged: BTreeMap<Vec<u8>, Vec<u8>> =
                    entries.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
                for (&id, &ttl) in &leases {
                    let key = id.to_be_bytes().to_vec();
                    if ttl > 0 && !merged.contains_key(&key) {
                        let mut lease = Vec::new();
                        wire::put_int64(&mut lease, 1, id);
                        wire::put_int64(&mut lease, 2, ttl);
                        merged.insert(key, lease);
                        new_leases += 1;
                    }
                }
                lease_values = merged.into_iter().collect();
                writer.bucket(lease_values.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))).map_err(write_error)?
            }
            _ => writer.bucket(entries.iter().copied()).map_err(write_error)?,
        };
        roots.push((name.as_slice(), root));
    }
    writer.finish(&roots).map_err(write_error)?;
    Ok(Replayed {
        snapshot_revision: newest,
        revision: target,
        events: added.len(),
        segments: used_segments,
        leases: new_leases,
    })
}
