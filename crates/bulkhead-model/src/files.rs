//! Where a fleet's files come from: a directory on disk, or files held in
//! memory (tests, fuzzing, a server that received a fleet over the network,
//! a git tree later). Loading goes through [`FleetFiles`] only, so every
//! source gets the same checks: size limits, binary and UTF-8 refusals,
//! paths that may not leave the fleet.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic};
use crate::source::{MAX_FILE_BYTES, SourceFile};

/// An entry of a folder listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's name inside its folder.
    pub name: String,
    /// Whether it is a folder.
    pub is_dir: bool,
}

/// The files of one fleet, addressed by paths relative to the fleet's root.
pub trait FleetFiles {
    /// The fleet's root on disk, where relative paths of the fleet (a
    /// cluster's kubeconfig) resolve; empty for files held in memory.
    fn root(&self) -> &Path;

    /// Reads one file as text, refusing one that is missing, too large,
    /// binary or not UTF-8; the refusal is a diagnostic against `relative`.
    ///
    /// # Errors
    /// A diagnostic naming the file.
    fn read(&self, relative: &Path) -> Result<SourceFile, Diagnostic>;

    /// Whether `relative` exists (file or folder).
    fn exists(&self, relative: &Path) -> bool;

    /// Whether `relative` is a folder.
    fn is_dir(&self, relative: &Path) -> bool;

    /// The entries of the folder `relative`, in no particular order; empty
    /// when it cannot be listed.
    fn list(&self, relative: &Path) -> Vec<DirEntry>;
}

/// A fleet directory on disk.
#[derive(Debug, Clone)]
pub struct DirFiles {
    root: PathBuf,
}

impl DirFiles {
    /// The fleet rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

impl FleetFiles for DirFiles {
    fn root(&self) -> &Path {
        &self.root
    }

    fn read(&self, relative: &Path) -> Result<SourceFile, Diagnostic> {
        let full = self.root.join(relative);
        let unreadable = |why: String| Diagnostic::error(Code::UnreadableFile, relative, None, why);
        // Open first and ask the open file for its size: one path lookup, not two.
        let file = fs::File::open(&full).map_err(|e| unreadable(format!("cannot read file: {e}")))?;
        let meta = file.metadata().map_err(|e| unreadable(format!("cannot read file: {e}")))?;
        if meta.is_dir() {
            return Err(unreadable("expected a file, found a directory".into()));
        }
        check_size(relative, meta.len())?;
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        // Read through `take` as well: the file may grow between stat and read.
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| unreadable(format!("cannot read file: {e}")))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(Diagnostic::error(
                Code::FileTooLarge,
                relative,
                None,
                "file grew past the size limit while being read",
            ));
        }
        SourceFile::from_bytes(relative, bytes)
    }

    fn exists(&self, relative: &Path) -> bool {
        self.root.join(relative).exists()
    }

    fn is_dir(&self, relative: &Path) -> bool {
        self.root.join(relative).is_dir()
    }

    fn list(&self, relative: &Path) -> Vec<DirEntry> {
        let Ok(entries) = fs::read_dir(self.root.join(relative)) else { return Vec::new() };
        entries
            .flatten()
            .filter_map(|e| {
                let is_dir = e.file_type().ok()?.is_dir();
                Some(DirEntry { name: e.file_name().to_string_lossy().into_owned(), is_dir })
            })
            .collect()
    }
}

/// A fleet held in memory: file paths (relative, `/`-separated) and bytes.
#[derive(Debug, Clone, Default)]
pub struct MemoryFiles {
    files: BTreeMap<PathBuf, Vec<u8>>,
}

impl MemoryFiles {
    /// No files yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a file.
    pub fn insert(&mut self, path: impl Into<PathBuf>, bytes: impl Into<Vec<u8>>) -> &mut Self {
        self.files.insert(path.into(), bytes.into());
        self
    }

    /// A folder is any proper prefix of a file's path.
    fn dir_exists(&self, relative: &Path) -> bool {
        relative.as_os_str().is_empty() || self.files.keys().any(|p| p.starts_with(relative) && p != relative)
    }
}

impl FleetFiles for MemoryFiles {
    fn root(&self) -> &Path {
        Path::new("")
    }

    fn read(&self, relative: &Path) -> Result<SourceFile, Diagnostic> {
        let Some(bytes) = self.files.get(relative) else {
            let why = if self.dir_exists(relative) { "expected a file, found a directory" } else { "no such file" };
            return Err(Diagnostic::error(Code::UnreadableFile, relative, None, format!("cannot read file: {why}")));
        };
        check_size(relative, bytes.len() as u64)?;
        SourceFile::from_bytes(relative, bytes.clone())
    }

    fn exists(&self, relative: &Path) -> bool {
        self.files.contains_key(relative) || self.dir_exists(relative)
    }

    fn is_dir(&self, relative: &Path) -> bool {
        !self.files.contains_key(relative) && self.dir_exists(relative)
    }

    fn list(&self, relative: &Path) -> Vec<DirEntry> {
        let mut out: Vec<DirEntry> = Vec::new();
        for path in self.files.keys() {
            let Ok(rest) = path.strip_prefix(relative) else { continue };
            let mut parts = rest.components();
            let Some(first) = parts.next() else { continue };
            let entry =
                DirEntry { name: first.as_os_str().to_string_lossy().into_owned(), is_dir: parts.next().is_some() };
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
        out
    }
}

fn check_size(relative: &Path, len: u64) -> Result<(), Diagnostic> {
    if len > MAX_FILE_BYTES {
        return Err(Diagnostic::error(
            Code::FileTooLarge,
            relative,
            None,
            format!("file is {len} bytes; the limit is {} MiB", MAX_FILE_BYTES / (1024 * 1024)),
        )
        .with_hint("split large manifests into several files; generated dumps do not belong in a fleet"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_files_list_like_folders() {
        let mut m = MemoryFiles::new();
        m.insert("fleet.yaml", "a: 1").insert("apps/web/d.yaml", "b").insert("apps/web/s/x.yaml", "c");
        assert!(m.is_dir(Path::new("apps")) && m.is_dir(Path::new("apps/web")));
        assert!(!m.is_dir(Path::new("fleet.yaml")) && m.exists(Path::new("fleet.yaml")));
        let mut names: Vec<(String, bool)> =
            m.list(Path::new("apps/web")).into_iter().map(|e| (e.name, e.is_dir)).collect();
        names.sort();
        assert_eq!(names, [("d.yaml".to_string(), false), ("s".to_string(), true)]);
        assert_eq!(m.read(Path::new("apps")).unwrap_err().code, Code::UnreadableFile);
    }
}
