//! Delta segments: the changes etcd's watch reported between two
//! revisions, whole transactions only, as a file the repository stores.
//!
//! The file: a magic line, a protobuf body (our own message, read with the
//! same in-place reader as etcd's), and the SHA-256 of the body. Events
//! keep etcd's own `mvccpb.KeyValue` bytes, so a restore writes them into
//! the `key` bucket as etcd would have.
//!
//! ```text
//! Segment { 1: from (int64), 2: to (int64), 3: repeated Event, 4: repeated Lease }
//! Event   { 1: type (0 put, 1 delete), 2: kv (mvccpb.KeyValue), 3: prev_kv }
//! Lease   { 1: id, 2: granted TTL in seconds }
//! ```

use sha2::{Digest, Sha256};

use crate::mvcc::KeyValue;
use crate::wire::{self, Fields, WireError};

const MAGIC: &[u8] = b"bulkhead-etcd-delta/1\n";

/// What happened to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Written.
    Put,
    /// Deleted.
    Delete,
}

/// One change, as the watch reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Put or delete.
    pub change: Change,
    /// The key's `mvccpb.KeyValue` after the change (for a delete: the key
    /// and the deleting revision).
    pub kv: Vec<u8>,
    /// Its `mvccpb.KeyValue` before, when etcd still had it.
    pub prev_kv: Option<Vec<u8>>,
}

impl Event {
    /// The revision of the change.
    ///
    /// # Errors
    /// The KeyValue is malformed.
    pub fn revision(&self) -> Result<i64, WireError> {
        Ok(KeyValue::decode(&self.kv)?.mod_revision)
    }
}

/// A lease keys of the segment are attached to, with the TTL it was granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// Its id.
    pub id: i64,
    /// Its granted TTL, in seconds.
    pub ttl: i64,
}

/// The changes of revisions `from..=to`, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Segment {
    /// The first revision the segment covers.
    pub from: i64,
    /// The last revision it covers (it may have no event of its own: the
    /// watch confirmed nothing else happened up to it).
    pub to: i64,
    /// The changes, oldest first; one revision's changes (a transaction)
    /// are never split across segments.
    pub events: Vec<Event>,
    /// Leases the changes use.
    pub leases: Vec<Lease>,
}

/// Why bytes are not a segment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    /// Not a segment file at all.
    #[error("not a bulkhead etcd delta segment (no magic line)")]
    NotASegment,
    /// The checksum does not match.
    #[error("the delta segment's SHA-256 does not match: damaged")]
    Checksum,
    /// Malformed inside.
    #[error("malformed delta segment: {0}")]
    Malformed(String),
}

impl From<WireError> for SegmentError {
    fn from(e: WireError) -> Self {
        Self::Malformed(e.to_string())
    }
}

impl Segment {
    /// The segment as a file.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        wire::put_int64(&mut body, 1, self.from);
        wire::put_int64(&mut body, 2, self.to);
        for e in &self.events {
            let mut event = Vec::with_capacity(e.kv.len() + 16);
            wire::put_int64(&mut event, 1, i64::from(e.change == Change::Delete));
            wire::put_bytes(&mut event, 2, &e.kv);
            if let Some(prev) = &e.prev_kv {
                wire::put_bytes(&mut event, 3, prev);
            }
            wire::put_bytes(&mut body, 3, &event);
        }
        for l in &self.leases {
            let mut lease = Vec::new();
            wire::put_int64(&mut lease, 1, l.id);
            wire::put_int64(&mut lease, 2, l.ttl);
            wire::put_bytes(&mut body, 4, &lease);
        }
        let mut out = Vec::with_capacity(MAGIC.len() + body.len() + 32);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&body);
        out.extend_from_slice(&Sha256::digest(&body));
        out
    }

    /// Reads a segment file, checking its checksum and that its events are
    /// in order within `from..=to`.
    ///
    /// # Errors
    /// Not a segment, damaged, or inconsistent.
    pub fn decode(bytes: &[u8]) -> Result<Self, SegmentError> {
        let rest = bytes.strip_prefix(MAGIC).ok_or(SegmentError::NotASegment)?;
        if rest.len() < 32 {
            return Err(SegmentError::Checksum);
        }
        let (body, sum) = rest.split_at(rest.len() - 32);
        if Sha256::digest(body)[..] != *sum {
            return Err(SegmentError::Checksum);
        }
        let mut segment = Self::default();
        for field in Fields::new(body) {
            match field? {
                (1, v) => segment.from = wire::int64(v)?,
                (2, v) => segment.to = wire::int64(v)?,
                (3, v) => {
                    let mut event = Event { change: Change::Put, kv: Vec::new(), prev_kv: None };
                    for f in Fields::new(wire::bytes(v)?) {
                        match f? {
                            (1, v) => {
                                event.change = if wire::int64(v)? == 1 { Change::Delete } else { Change::Put };
                            }
                            (2, v) => event.kv = wire::bytes(v)?.to_vec(),
                            (3, v) => event.prev_kv = Some(wire::bytes(v)?.to_vec()),
                            _ => {}
                        }
                    }
                    segment.events.push(event);
                }
                (4, v) => {
                    let mut lease = Lease { id: 0, ttl: 0 };
                    for f in Fields::new(wire::bytes(v)?) {
                        match f? {
                            (1, v) => lease.id = wire::int64(v)?,
                            (2, v) => lease.ttl = wire::int64(v)?,
                            _ => {}
                        }
                    }
                    segment.leases.push(lease);
                }
                _ => {}
            }
        }
        segment.check()?;
        Ok(segment)
    }

    /// Its events are in revision order, within its range.
    fn check(&self) -> Result<(), SegmentError> {
        if self.from > self.to + 1 || self.from < 1 {
            return Err(SegmentError::Malformed(format!("a range of revisions {}..={}", self.from, self.to)));
        }
        let mut last = self.from;
        for e in &self.events {
            let revision = e.revision()?;
            if revision < last || revision > self.to {
                return Err(SegmentError::Malformed(format!(
                    "event at revision {revision} out of order in {}..={}",
                    self.from, self.to
                )));
            }
            last = revision;
        }
        Ok(())
    }

    /// Bytes of its events (for thresholds and memory bounds).
    pub fn bytes(&self) -> usize {
        self.events.iter().map(|e| e.kv.len() + e.prev_kv.as_ref().map_or(0, Vec::len)).sum()
    }
}
