//! Two snapshots side by side: which files were added, removed or changed.
//! Files are compared by the ids of their content blobs, so unchanged files
//! are never read; only the differing ones are.

use std::collections::BTreeMap;

use rustic_core::repofile::Node;
use rustic_core::{IndexedTree, LsOptions, Repository as RusticRepository};
use serde::Serialize;

use crate::error::rustic;
use crate::{Error, Repository, SnapshotId};

/// How a file differs between two snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Only in the second.
    Added,
    /// Only in the first.
    Removed,
    /// In both, with other content.
    Changed,
}

/// One file that differs, with its content on each side it is on.
#[derive(Debug, Clone)]
pub struct Difference {
    /// Its path under the snapshot's root.
    pub path: String,
    /// How it differs.
    pub change: Change,
    /// Its content in the first snapshot.
    pub before: Option<Vec<u8>>,
    /// Its content in the second.
    pub after: Option<Vec<u8>>,
}

impl Repository {
    /// The files that differ between snapshots `a` and `b` (ids), in path order.
    ///
    /// # Errors
    /// When a snapshot or a file cannot be read.
    pub fn compare(self, a: &SnapshotId, b: &SnapshotId) -> Result<Vec<Difference>, Error> {
        let location = self.location.clone();
        let fail = |action: &str| rustic(&location, action);
        let repo = self.repo.to_indexed().map_err(fail("read its index"))?;
        let list = |id: &SnapshotId| file_nodes(&repo, id, &location);
        let read = |node: &Node| -> Result<Vec<u8>, Error> {
            let mut content = Vec::with_capacity(usize::try_from(node.meta.size).unwrap_or(0));
            repo.dump(node, &mut content).map_err(fail("read a file"))?;
            Ok(content)
        };
        let (first, second) = (list(a)?, list(b)?);
        let mut out = Vec::new();
        for (path, before) in &first {
            match second.get(path) {
                None => out.push(Difference {
                    path: path.clone(),
                    change: Change::Removed,
                    before: Some(read(before)?),
                    after: None,
                }),
                Some(after) if after.content != before.content => out.push(Difference {
                    path: path.clone(),
                    change: Change::Changed,
                    before: Some(read(before)?),
                    after: Some(read(after)?),
                }),
                Some(_) => {}
            }
        }
        for (path, after) in second.iter().filter(|(p, _)| !first.contains_key(*p)) {
            out.push(Difference { path: path.clone(), change: Change::Added, before: None, after: Some(read(after)?) });
        }
        out.sort_by(|x, y| x.path.cmp(&y.path));
        Ok(out)
    }
}

/// The files of snapshot `id` by path (under its root), without their content.
pub(crate) fn file_nodes<S: IndexedTree>(
    repo: &RusticRepository<S>,
    id: &SnapshotId,
    location: &str,
) -> Result<BTreeMap<String, Node>, Error> {
    let fail = |action: &str| rustic(location, action);
    let root = repo.node_from_snapshot_path(id.as_str(), |_| true).map_err(fail("find the snapshot"))?;
    let mut files = BTreeMap::new();
    for item in repo.ls(&root, &LsOptions::default()).map_err(fail("list the snapshot"))? {
        let (path, node) = item.map_err(fail("list the snapshot"))?;
        if node.is_file() {
            files.insert(path.to_string_lossy().into_owned(), node);
        }
    }
    Ok(files)
}
