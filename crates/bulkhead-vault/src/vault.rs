//! An open repository, and what Bulkhead does with it: save a snapshot of
//! files streamed in, list snapshots, read a snapshot's files back.
//!
//! Everything here blocks (rustic_core is synchronous, and its S3 backend
//! runs a runtime of its own): call it from a plain thread, never from
//! inside an async runtime.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;

use rustic_backend::BackendOptions;
use rustic_core::repofile::SnapshotFile;
use rustic_core::{
    BackupOptions, CheckOptions, ConfigOptions, Credentials, KeyOptions, OpenStatus, Repository, RepositoryOptions,
    RusticError, SnapshotOptions,
};

use crate::compare::file_nodes;
use crate::error::rustic;
use crate::source::{ChannelSource, File, Tally};
use crate::{Error, Location};

/// A snapshot's files: (path under the snapshot's root, content), in path order.
pub type Files = Vec<(String, Vec<u8>)>;

/// A repository, opened with its password.
pub struct Vault {
    pub(crate) repo: Repository<OpenStatus>,
    pub(crate) location: String,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").field("location", &self.location).finish_non_exhaustive()
    }
}

/// What a new snapshot is called and tagged with.
#[derive(Debug, Clone, Default)]
pub struct NewSnapshot {
    /// The folder the files sit under in the snapshot (`/aws-use1-prod`).
    pub base: String,
    /// The snapshot's host (Bulkhead puts the cluster there).
    pub hostname: String,
    /// Its label.
    pub label: String,
    /// Its tags (`fleet=…`, `cluster=…`, `app=…`).
    pub tags: Vec<String>,
    /// Its description (free text: the API server's version, the resources).
    pub description: String,
}

/// A snapshot, as Bulkhead shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Snapshot {
    /// Its id (hex).
    pub id: String,
    /// When it was taken (RFC 3339).
    pub time: String,
    /// Seconds since the epoch, for ages.
    #[serde(skip)]
    pub epoch: i64,
    /// Nanoseconds since the epoch: the order snapshots were taken in.
    /// Seconds are not enough: two backups of one app a second apart are
    /// common, and ordering those by id made `latest` the older one.
    #[serde(skip)]
    pub nanos: i128,
    /// Its host.
    pub hostname: String,
    /// Its label.
    pub label: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its paths.
    pub paths: Vec<String>,
    /// Its description.
    pub description: String,
    /// Files in it.
    pub files: u64,
    /// Bytes of those files.
    pub bytes: u64,
    /// New data it added to the repository (after deduplication, before compression).
    pub added: u64,
}

impl Snapshot {
    pub(crate) fn of(s: &SnapshotFile) -> Self {
        let summary = s.summary.as_ref();
        Self {
            id: s.id.to_hex().to_string(),
            time: s.time.timestamp().to_string(),
            epoch: s.time.timestamp().as_second(),
            nanos: s.time.timestamp().as_nanosecond(),
            hostname: s.hostname.clone(),
            label: s.label.clone(),
            tags: s.tags.iter().cloned().collect(),
            paths: s.paths.iter().cloned().collect(),
            description: s.description.clone().unwrap_or_default(),
            files: summary.map_or(0, |s| s.total_files_processed),
            bytes: summary.map_or(0, |s| s.total_bytes_processed),
            added: summary.map_or(0, |s| s.data_added),
        }
    }

    /// The value of a `key=value` tag.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find_map(|t| t.strip_prefix(key)?.strip_prefix('='))
    }

    /// Whether this is a backup of cluster resources. Snapshots of other
    /// kinds carry `bulkhead=KIND` (`drill` records, `etcd` snapshots) and
    /// are left to their own commands: `backup list`, `restore --from
    /// latest` and `backup forget` pass them by.
    pub fn is_resource_backup(&self) -> bool {
        self.tag(KIND_TAG).is_none()
    }
}

/// The tag key naming a snapshot's kind when it is not a resource backup.
pub const KIND_TAG: &str = "bulkhead";

impl Vault {
    /// Opens the repository at `location`; with `create`, initialises it
    /// first when it does not exist yet. `env` supplies S3 keys.
    ///
    /// # Errors
    /// When the storage cannot be reached, the password is wrong, or the
    /// repository does not exist (and `create` is off).
    pub fn open(
        location: &Location,
        password: &str,
        create: bool,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        let shown = location.to_string();
        let fail = |action: &str| rustic(&shown, action);
        let (name, options) = location.backend(env)?;
        let backends =
            BackendOptions::default().repository(name).options(options).to_backends().map_err(fail("reach it"))?;
        // No local cache: a backup job on a fresh machine (CI, a pod) must not depend on one.
        let repo_options = RepositoryOptions::default().no_cache(true);
        let repo = Repository::new(&repo_options, &backends).map_err(fail("reach it"))?;
        let credentials = Credentials::password(password);
        let exists = repo.config_id().map_err(fail("read its config"))?.is_some();
        let repo = match (exists, create) {
            (true, _) => repo.open(&credentials).map_err(fail("open it"))?,
            (false, true) => {
                repo.init(&credentials, &KeyOptions::default(), &ConfigOptions::default()).map_err(fail("create it"))?
            }
            (false, false) => {
                return Err(Error::Repository {
                    location: shown,
                    action: "open it".into(),
                    message: "there is no repository there (`bulkhead backup create` makes one)".into(),
                });
            }
        };
        Ok(Self { repo, location: location.to_string() })
    }

    /// Where it is, for messages.
    pub fn location(&self) -> &str {
        &self.location
    }

    pub(crate) fn fail(&self, action: &str) -> impl Fn(Box<RusticError>) -> Error + use<> {
        rustic(&self.location, action)
    }

    /// Saves the files that arrive on `files`, in order (component by
    /// component), as one snapshot. The snapshot is kept only if every file
    /// arrived, in order, and `complete` says the sender finished (its
    /// source did not fail half-way): a partial backup is never a snapshot.
    ///
    /// # Errors
    /// When the repository fails or the stream was incomplete.
    pub fn save(
        self,
        snapshot: &NewSnapshot,
        files: Receiver<File>,
        complete: &dyn Fn() -> Result<u64, String>,
    ) -> Result<Snapshot, Error> {
        self.writer()?.save(snapshot, files, complete)
    }

    /// The repository kept open for many saves: its index is read once
    /// here, not at every save (etcd's delta segments come every few
    /// seconds, and each save adds an index file).
    ///
    /// # Errors
    /// When the index cannot be read.
    pub fn writer(self) -> Result<Writer, Error> {
        let location = self.location.clone();
        let repo = self.repo.to_indexed_ids().map_err(rustic(&location, "read its index"))?;
        Ok(Writer { repo, location })
    }

    /// Checks the repository's structure (index, packs, trees, snapshots)
    /// and, with `read_data`, reads and verifies every pack's content: the
    /// problems found, in words (none: healthy).
    ///
    /// # Errors
    /// When the repository cannot be read at all.
    pub fn check(self, read_data: bool) -> Result<Vec<String>, Error> {
        let results = self.repo.check(CheckOptions::default().read_data(read_data)).map_err(self.fail("check it"))?;
        Ok(results.0.iter().map(|(level, problem)| format!("{level:?}: {problem}")).collect())
    }

    /// Every snapshot, oldest first.
    ///
    /// # Errors
    /// When the repository cannot be read.
    pub fn snapshots(&self) -> Result<Vec<Snapshot>, Error> {
        let mut all: Vec<Snapshot> =
            self.repo.get_all_snapshots().map_err(self.fail("list snapshots"))?.iter().map(Snapshot::of).collect();
        all.sort_by(|a, b| (a.nanos, &a.id).cmp(&(b.nanos, &b.id)));
        Ok(all)
    }

    /// The snapshot `wanted` names: an id or its prefix.
    ///
    /// # Errors
    /// When none or several match, or the repository cannot be read.
    pub fn snapshot(&self, wanted: &str) -> Result<Snapshot, Error> {
        let found: Vec<Snapshot> = self.snapshots()?.into_iter().filter(|s| s.id.starts_with(wanted)).collect();
        match found.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(Error::NoSnapshot { location: self.location.clone(), wanted: wanted.to_string() }),
            _ => Err(Error::NoSnapshot {
                location: self.location.clone(),
                wanted: format!("{wanted} alone: {} snapshots start with it", found.len()),
            }),
        }
    }

    /// The snapshot `wanted` names: `latest` (the newest backup, a snapshot
    /// tagged `cluster=…`, with every tag of `tags`), or an id or its prefix.
    ///
    /// # Errors
    /// When none or several match, or the repository cannot be read.
    pub fn find(&self, wanted: &str, tags: &[String]) -> Result<Snapshot, Error> {
        if wanted != "latest" {
            return self.snapshot(wanted);
        }
        let backup = |s: &Snapshot| {
            s.is_resource_backup() && s.tag("cluster").is_some() && tags.iter().all(|t| s.tags.contains(t))
        };
        self.snapshots()?.into_iter().rev().find(backup).ok_or_else(|| Error::NoSnapshot {
            location: self.location.clone(),
            wanted: if tags.is_empty() { "at all".to_string() } else { format!("tagged {}", tags.join(", ")) },
        })
    }

    /// Every file of snapshot `id`, as (path under the snapshot's root, content), in path order.
    ///
    /// # Errors
    /// When the snapshot or a file cannot be read.
    pub fn files(self, id: &str) -> Result<Files, Error> {
        Ok(self.files_of(&[id.to_string()])?.pop().unwrap_or_default())
    }

    /// Writes the first file of snapshot `id` whose path ends with `name`
    /// to `out` as it is read: for files too large to hold in memory (etcd
    /// snapshots of gigabytes).
    ///
    /// # Errors
    /// When the snapshot has no such file, or it cannot be read or written.
    pub fn dump(self, id: &str, name: &str, out: &mut dyn std::io::Write) -> Result<u64, Error> {
        let location = self.location.clone();
        let repo = self.repo.to_indexed().map_err(rustic(&location, "read its index"))?;
        let nodes = file_nodes(&repo, id, &location)?;
        let node = nodes.iter().find(|(path, _)| path.ends_with(name)).map(|(_, n)| n).ok_or_else(|| {
            Error::NoSnapshot { location: location.clone(), wanted: format!("{id} with a file {name}") }
        })?;
        let mut out = out;
        repo.dump(node, &mut out).map_err(rustic(&location, "read a file"))?;
        Ok(node.meta.size)
    }

    /// Every file of each snapshot of `ids`, read with one index: for many
    /// small snapshots (etcd's delta segments).
    ///
    /// # Errors
    /// When a snapshot or a file cannot be read.
    pub fn files_of(self, ids: &[String]) -> Result<Vec<Files>, Error> {
        let location = self.location.clone();
        let repo = self.repo.to_indexed().map_err(rustic(&location, "read its index"))?;
        let mut all = Vec::with_capacity(ids.len());
        for id in ids {
            let mut out = Vec::new();
            for (path, node) in file_nodes(&repo, id, &location)? {
                let mut content = Vec::with_capacity(usize::try_from(node.meta.size).unwrap_or(0));
                repo.dump(&node, &mut content).map_err(rustic(&location, "read a file"))?;
                out.push((path, content));
            }
            all.push(out);
        }
        Ok(all)
    }

    /// The paths of snapshot `id`'s files (under its root), in path order; nothing is read but trees.
    ///
    /// # Errors
    /// When the snapshot cannot be read.
    pub fn paths(self, id: &str) -> Result<Vec<String>, Error> {
        let location = self.location.clone();
        let repo = self.repo.to_indexed_ids().map_err(rustic(&location, "read its index"))?;
        Ok(file_nodes(&repo, id, &location)?.into_keys().collect())
    }
}

/// A repository open for saving, again and again (see [`Vault::writer`]).
pub struct Writer {
    repo: Repository<rustic_core::IndexedIdsStatus>,
    location: String,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("location", &self.location).finish_non_exhaustive()
    }
}

impl Writer {
    /// [`Vault::save`], on the open repository.
    ///
    /// # Errors
    /// When the repository fails or the stream was incomplete.
    pub fn save(
        &self,
        snapshot: &NewSnapshot,
        files: Receiver<File>,
        complete: &dyn Fn() -> Result<u64, String>,
    ) -> Result<Snapshot, Error> {
        let fail = |action: &str| rustic(&self.location, action);
        let mut options = SnapshotOptions::default().label(snapshot.label.clone()).host(snapshot.hostname.clone());
        options.description = Some(snapshot.description.clone());
        for tag in &snapshot.tags {
            options = options.add_tags(tag).map_err(fail("tag the snapshot"))?;
        }
        let snap = options.to_snapshot().map_err(fail("start a snapshot"))?;
        let tally = Arc::new(Tally::default());
        let source = ChannelSource::new(PathBuf::from(&snapshot.base), files, Arc::clone(&tally));
        // archive() saves the snapshot itself; what it keeps is checked
        // below and removed again if the stream was incomplete.
        // No parent: rustic_core would otherwise take a file whose size and
        // (absent) times match the parent's as unchanged and keep the old
        // content — an object edited to the same length would be lost.
        // Every file is read; deduplication still stores only what changed.
        let mut options = BackupOptions::default();
        options.parent_opts.force = true;
        let saved = self
            .repo
            .archive(&options, &source, snap, &[PathBuf::from(&snapshot.base)])
            .map_err(fail("save the backup"))?;
        let sent = complete();
        let arrived = tally.files.load(Ordering::SeqCst);
        let problem = match sent {
            Err(why) => Some(why),
            Ok(_) if tally.failed.load(Ordering::SeqCst) => Some("a file came out of order".to_string()),
            Ok(n) if n != arrived => Some(format!("{n} files were sent but {arrived} saved")),
            Ok(_) => None,
        };
        if let Some(why) = problem {
            self.repo.delete_snapshots(&[saved.id]).map_err(fail("remove the incomplete snapshot"))?;
            return Err(Error::Source(why));
        }
        Ok(Snapshot::of(&saved))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn save_one(writer: &Writer, n: usize) -> Snapshot {
        let (tx, rx) = std::sync::mpsc::channel();
        tx.send(File::bytes(vec![format!("f{n}")], vec![b'x'; n])).unwrap();
        drop(tx);
        let snapshot = NewSnapshot {
            base: "/t".into(),
            hostname: "t".into(),
            tags: vec!["cluster=t".into()],
            ..NewSnapshot::default()
        };
        writer.save(&snapshot, rx, &|| Ok(1)).unwrap()
    }

    /// Regression (issue 28): snapshots taken within one second were
    /// ordered by id, so `latest` could name the older of two backups and a
    /// restore would bring back the wrong state.
    #[test]
    fn snapshots_within_one_second_keep_the_order_they_were_taken_in() {
        let dir = std::env::temp_dir().join(format!("bulkhead-vault-order-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let location = Location::Local(dir.display().to_string());
        let writer = Vault::open(&location, "test", true, &|_| None).unwrap().writer().unwrap();
        let saved: Vec<String> = (1..=6).map(|n| save_one(&writer, n).id).collect();
        let vault = Vault::open(&location, "test", false, &|_| None).unwrap();
        let listed: Vec<String> = vault.snapshots().unwrap().into_iter().map(|s| s.id).collect();
        let latest = vault.find("latest", &[]).unwrap().id;
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(listed, saved, "oldest first, in the order they were saved");
        assert_eq!(latest, saved[5]);
    }
}
