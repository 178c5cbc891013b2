//! Files that are not on disk, streamed into a snapshot: rustic_core's
//! `ReadSource` fed by a channel, so objects go from the API server into
//! the repository without temporary files.
//!
//! The archiver builds trees as the paths come and expects them sorted
//! component by component; a path out of order (or one the channel could
//! not deliver) marks the source failed, and the snapshot is not kept.

use std::io::{Cursor, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

use rustic_core::repofile::{Metadata, Node, NodeType};
use rustic_core::{ErrorKind, ReadSource, ReadSourceEntry, RusticError, RusticResult};

/// A file for a snapshot: its path under the snapshot's base, as
/// components (`["configmaps", "shop", "settings.yaml"]`), and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// The path's components.
    pub path: Vec<String>,
    /// The content.
    pub content: Content,
}

/// A file's content: small files come in memory, large ones (an etcd
/// snapshot of gigabytes) are read from disk as the archiver goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// The bytes themselves.
    Bytes(Vec<u8>),
    /// A file on disk, read when its turn comes.
    Disk(PathBuf),
}

impl File {
    /// A file whose bytes are in memory.
    pub fn bytes(path: Vec<String>, content: Vec<u8>) -> Self {
        Self { path, content: Content::Bytes(content) }
    }
}

/// How the stream went, shared with whoever checks it afterwards.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Files handed to the archiver.
    pub files: AtomicU64,
    /// A file came out of order or was unusable.
    pub failed: AtomicBool,
}

pub(crate) struct ChannelSource {
    base: PathBuf,
    files: Mutex<Option<Receiver<File>>>,
    tally: Arc<Tally>,
}

impl ChannelSource {
    pub(crate) fn new(base: PathBuf, files: Receiver<File>, tally: Arc<Tally>) -> Self {
        Self { base, files: Mutex::new(Some(files)), tally }
    }
}

/// What the archiver reads a file from.
pub(crate) type Reader = Box<dyn Read + Send>;

impl ReadSource for ChannelSource {
    type Open = Reader;
    type Iter = Entries;

    fn size(&self) -> RusticResult<Option<u64>> {
        Ok(None)
    }

    fn entries(&self) -> Entries {
        let files = self.files.lock().ok().and_then(|mut f| f.take());
        Entries { files, base: self.base.clone(), last: None, tally: Arc::clone(&self.tally) }
    }
}

pub(crate) struct Entries {
    files: Option<Receiver<File>>,
    base: PathBuf,
    last: Option<Vec<String>>,
    tally: Arc<Tally>,
}

impl Iterator for Entries {
    type Item = RusticResult<ReadSourceEntry<Reader>>;

    fn next(&mut self) -> Option<Self::Item> {
        let file = self.files.as_ref()?.recv().ok()?;
        let in_order = self.last.as_ref().is_none_or(|last| *last < file.path);
        let usable = !file.path.is_empty()
            && file.path.iter().all(|c| !c.is_empty() && !c.contains('/') && c != "." && c != "..");
        if !in_order || !usable {
            self.tally.failed.store(true, Ordering::SeqCst);
            self.files = None;
            return Some(Err(RusticError::new(
                ErrorKind::Internal,
                "a file of the backup came out of order or with an unusable path: `{path}`",
            )
            .attach_context("path", file.path.join("/"))));
        }
        let mut path = self.base.clone();
        path.extend(&file.path);
        let name = file.path.last().cloned().unwrap_or_default();
        // No times: a file's node (and so its tree) is then the same in
        // every snapshot that holds the same bytes, and an unchanged cluster
        // adds no new trees, only a snapshot file.
        let (size, open): (u64, Reader) = match file.content {
            Content::Bytes(bytes) => (bytes.len() as u64, Box::new(Cursor::new(bytes))),
            Content::Disk(disk) => match std::fs::File::open(&disk).and_then(|f| Ok((f.metadata()?.len(), f))) {
                Ok((size, f)) => (size, Box::new(f)),
                Err(e) => {
                    self.tally.failed.store(true, Ordering::SeqCst);
                    self.files = None;
                    return Some(Err(RusticError::new(ErrorKind::InputOutput, "cannot read `{file}`: {error}")
                        .attach_context("file", disk.display().to_string())
                        .attach_context("error", e.to_string())));
                }
            },
        };
        let meta = Metadata { mode: Some(0o600), size, ..Metadata::default() };
        let node = Node::new_node(std::ffi::OsStr::new(&name), NodeType::File, meta);
        self.last = Some(file.path);
        self.tally.files.fetch_add(1, Ordering::SeqCst);
        Some(Ok(ReadSourceEntry { path, node, open: Some(open) }))
    }
}
