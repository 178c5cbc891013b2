//! etcd's multi-version store as it lies in the `key` bucket: keys are
//! revisions (main, sub; a trailing `t` marks a deletion), values are
//! `mvccpb.KeyValue` messages.

use crate::wire::{self, Fields, WireError};

/// A revision: the store's main revision (one per transaction) and the
/// operation's place within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Revision {
    /// The transaction's revision.
    pub main: i64,
    /// The operation's index within the transaction.
    pub sub: i64,
}

/// A key of the `key` bucket, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevisionKey {
    /// The revision.
    pub revision: Revision,
    /// Whether this revision deleted the key.
    pub tombstone: bool,
}

impl RevisionKey {
    /// Decodes a bucket key: 8 bytes main, `_`, 8 bytes sub, maybe `t`.
    ///
    /// # Errors
    /// Any other shape.
    pub fn decode(key: &[u8]) -> Result<Self, WireError> {
        let tombstone = match key.len() {
            17 => false,
            18 if key[17] == b't' => true,
            _ => return Err(WireError("a revision key is 17 bytes (18 with a tombstone mark)")),
        };
        if key[8] != b'_' {
            return Err(WireError("a revision key has `_` between its revisions"));
        }
        let number = |b: &[u8]| i64::from_be_bytes(b.try_into().unwrap_or_default());
        Ok(Self { revision: Revision { main: number(&key[..8]), sub: number(&key[9..17]) }, tombstone })
    }

    /// Encodes a bucket key.
    pub fn encode(&self) -> Vec<u8> {
        let mut key = Vec::with_capacity(18);
        key.extend_from_slice(&self.revision.main.to_be_bytes());
        key.push(b'_');
        key.extend_from_slice(&self.revision.sub.to_be_bytes());
        if self.tombstone {
            key.push(b't');
        }
        key
    }
}

/// `mvccpb.KeyValue`, borrowed from the bytes it was read from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyValue<'a> {
    /// The user's key (`/registry/pods/default/web-0`).
    pub key: &'a [u8],
    /// The revision that created it (since its last deletion).
    pub create_revision: i64,
    /// The revision that last changed it.
    pub mod_revision: i64,
    /// How many times it changed since created.
    pub version: i64,
    /// The value.
    pub value: &'a [u8],
    /// The lease it is attached to (0: none).
    pub lease: i64,
}

impl<'a> KeyValue<'a> {
    /// Decodes a `mvccpb.KeyValue`.
    ///
    /// # Errors
    /// Not a valid message.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, WireError> {
        let mut kv = Self::default();
        for field in Fields::new(bytes) {
            let (number, value) = field?;
            match number {
                1 => kv.key = wire::bytes(value)?,
                2 => kv.create_revision = wire::int64(value)?,
                3 => kv.mod_revision = wire::int64(value)?,
                4 => kv.version = wire::int64(value)?,
                5 => kv.value = wire::bytes(value)?,
                6 => kv.lease = wire::int64(value)?,
                _ => {}
            }
        }
        Ok(kv)
    }

    /// Encodes it (the restore writes the changes it replays this way).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.key.len() + self.value.len() + 40);
        if !self.key.is_empty() {
            wire::put_bytes(&mut out, 1, self.key);
        }
        wire::put_int64(&mut out, 2, self.create_revision);
        wire::put_int64(&mut out, 3, self.mod_revision);
        wire::put_int64(&mut out, 4, self.version);
        if !self.value.is_empty() {
            wire::put_bytes(&mut out, 5, self.value);
        }
        wire::put_int64(&mut out, 6, self.lease);
        out
    }
}
