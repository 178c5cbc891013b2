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
    BackupOptions, CheckOptions, ConfigOptions, Credentials, KeyOptions, OpenStatus, Repository as RusticRepository,
    RepositoryOptions, RusticError, SnapshotOptions,
};

use secrecy::ExposeSecret;

use crate::compare::file_nodes;
use crate::error::rustic;
use crate::source::{ChannelSource, File, Tally};
use crate::{Error, Location, Password, SnapshotId, SnapshotKind, SnapshotRef, TagKey};

/// A snapshot's files: (path under the snapshot's root, content), in path order.
pub type Files = Vec<(String, Vec<u8>)>;

/// A repository, opened with its password.
pub struct Repository {
    pub(crate) repo: RusticRepository<OpenStatus>,
    pub(crate) location: String,
}

impl std::fmt::Debug for Repository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository").field("location", &self.location).finish_non_exhaustive()
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
    /// Its id.
    pub id: SnapshotId,
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
            id: SnapshotId::of(&s.id),
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

    /// The value of its tag `key`.
    pub fn tag(&self, key: TagKey) -> Option<&str> {
        self.tags.iter().find_map(|t| key.value_in(t))
    }

    /// The value of its tag `key` as a number (a revision, seconds).
    pub fn number(&self, key: TagKey) -> Option<i64> {
        self.tag(key)?.parse().ok()
    }

    /// What it holds.
    pub fn kind(&self) -> SnapshotKind {
        SnapshotKind::of(&self.tags)
    }

    /// Whether this is a backup of cluster resources. Snapshots of other
    /// kinds (drill records, etcd snapshots) are left to their own
    /// commands: `backup list`, `restore --from latest` and `backup forget`
    /// pass them by.
    pub fn is_resource_backup(&self) -> bool {
        self.kind() == SnapshotKind::ResourceBackup
    }
}

impl Repository {
    /// Opens the repository at `location`; with `create`, initialises it
    /// first when it does not exist yet. `env` supplies S3 keys.
    ///
    /// # Errors
    /// When the storage cannot be reached, the password is wrong, or the
    /// repository does not exist (and `create` is off).
    pub fn open(
        location: &Location,
        password: &Password,
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
        let repo = RusticRepository::new(&repo_options, &backends).map_err(fail("reach it"))?;
        let credentials = Credentials::password(password.expose_secret());
        // Two jobs of one process creating one new repository at once would
        // each write a key and a config, and leave a repository neither can
        // read (found by `serve` starting a policy's first backups together):
        // looking and creating are one step per process. (Replicas of
        // `serve` in other processes are told to create it first: docs/serve.md.)
        static CREATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _creating = create.then(|| CREATING.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
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

    /// The snapshot whose id is or starts with `prefix`, found as restic
    /// finds it: by the names of the snapshot files, reading only the one
    /// that matches (not every snapshot). The names are matched here rather
    /// than by rustic's `find_ids`, which reports "none matches" as a
    /// failure of the storage: a mistyped id is the user's, not an outage.
    ///
    /// # Errors
    /// When none or several match, or the repository cannot be read.
    pub fn snapshot(&self, prefix: &str) -> Result<Snapshot, Error> {
        let matching: Vec<rustic_core::repofile::SnapshotId> = self
            .repo
            .list::<rustic_core::repofile::SnapshotId>()
            .map_err(self.fail("list snapshots"))?
            .filter(|id| id.to_hex().starts_with(prefix))
            .collect();
        let not_found = |wanted: String| Error::NoSnapshot { location: self.location.clone(), wanted };
        match matching.as_slice() {
            [id] => {
                let file =
                    self.repo.get_snapshot_from_str(&id.to_hex(), |_| true).map_err(self.fail("read the snapshot"))?;
                Ok(Snapshot::of(&file))
            }
            [] => Err(not_found(prefix.to_string())),
            several => Err(not_found(format!("{prefix} alone: {} snapshots start with it", several.len()))),
        }
    }

    /// The snapshot `wanted` names: [`SnapshotRef::Latest`] is the newest
    /// resource backup (tagged `cluster=…`) that has every tag of `tags`;
    /// a prefix is looked up as [`Repository::snapshot`] does.
    ///
    /// # Errors
    /// When none or several match, or the repository cannot be read.
    pub fn find(&self, wanted: &SnapshotRef, tags: &[String]) -> Result<Snapshot, Error> {
        if let SnapshotRef::Prefix(prefix) = wanted {
            return self.snapshot(prefix);
        }
        let backup = |s: &Snapshot| {
            s.is_resource_backup() && s.tag(TagKey::Cluster).is_some() && tags.iter().all(|t| s.tags.contains(t))
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
    pub fn files(self, id: &SnapshotId) -> Result<Files, Error> {
        Ok(self.files_of(std::slice::from_ref(id))?.pop().unwrap_or_default())
    }

    /// Writes the first file of snapshot `id` whose path ends with `name`
    /// to `out` as it is read: for files too large to hold in memory (etcd
    /// snapshots of gigabytes).
    ///
    /// # Errors
    /// When the snapshot has no such file, or it cannot be read or written.
    pub fn dump(self, id: &SnapshotId, name: &str, out: &mut dyn std::io::Write) -> Result<u64, Error> {
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
    pub fn files_of(self, ids: &[SnapshotId]) -> Result<Vec<Files>, Error> {
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
    pub fn paths(self, id: &SnapshotId) -> Result<Vec<String>, Error> {
        let location = self.location.clone();
        let repo = self.repo.to_indexed_ids().map_err(rustic(&location, "read its index"))?;
        Ok(file_nodes(&repo, id, &location)?.into_keys().collect())
    }
}

/// A repository open for saving, again and again (see [`Repository::writer`]).
pub struct Writer {
    repo: RusticRepository<rustic_core::IndexedIdsStatus>,
    location: String,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("location", &self.location).finish_non_exhaustive()
    }
}

impl Writer {
    /// Whether the repository is still where it was opened: a repository
    /// kept open for long (the etcd watch's) must not go on writing when
    /// its storage was taken away — a local backend would recreate the
    /// folders and fill a repository without a config that nothing can read.
    ///
    /// # Errors
    /// When the storage cannot be read, or the repository's config is gone.
    pub fn check_present(&self) -> Result<(), Error> {
        match self.repo.config_id().map_err(rustic(&self.location, "read its config"))? {
            Some(_) => Ok(()),
            None => Err(Error::Storage {
                location: self.location.clone(),
                action: "save".into(),
                message: "the repository is gone from its storage (no config file)".into(),
            }),
        }
    }

    /// [`Repository::save`], on the open repository.
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
        let password = Password::from("test");
        let writer = Repository::open(&location, &password, true, &|_| None).unwrap().writer().unwrap();
        let saved: Vec<SnapshotId> = (1..=6).map(|n| save_one(&writer, n).id).collect();
        let repository = Repository::open(&location, &password, false, &|_| None).unwrap();
        let listed: Vec<SnapshotId> = repository.snapshots().unwrap().into_iter().map(|s| s.id).collect();
        let latest = repository.find(&SnapshotRef::Latest, &[]).unwrap().id;
        let by_prefix = repository.find(&SnapshotRef::Prefix(saved[2].short().into()), &[]).unwrap().id;
        let missing = repository.snapshot("00000000").unwrap_err();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(listed, saved, "oldest first, in the order they were saved");
        assert_eq!(latest, saved[5]);
        assert_eq!(by_prefix, saved[2]);
        assert!(matches!(missing, Error::NoSnapshot { .. }), "{missing}");
    }
}
