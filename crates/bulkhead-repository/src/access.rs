//! The async face of a repository. rustic_core blocks, and its S3 backend
//! runs a tokio runtime of its own (it panics when called from inside
//! another: rustic_core #522), so repository work runs on a plain thread of
//! its own; [`RepositoryAccess::run`] starts that thread and hands back a
//! future of its result. It is the one place that thread is written.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use crate::{Env, Error, File, Location, NewSnapshot, Password, Repository, Snapshot, SnapshotRef, Writer};

/// Whether opening may create the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Only one that exists (reading, forgetting, restoring).
    Existing,
    /// Created first when there is none yet (the first backup).
    OrCreate,
}

/// Everything needed to open a repository: where it is, its password and
/// the environment its storage reads keys from. `Debug` never shows the
/// password.
#[derive(Clone)]
pub struct RepositoryAccess {
    location: Location,
    password: Password,
    env: Env,
}

impl std::fmt::Debug for RepositoryAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepositoryAccess").field("location", &self.location).finish_non_exhaustive()
    }
}

impl RepositoryAccess {
    /// The repository at `location`, opened with `password`; `env` supplies S3 keys.
    pub fn new(location: Location, password: Password, env: Env) -> Self {
        Self { location, password, env }
    }

    /// Where it is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The environment its storage reads keys from.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// Opens the repository on a thread of its own and runs `work` on it.
    /// The thread starts at once, before the future is first polled, so
    /// work can be fed (a backup's files) while the caller goes on.
    ///
    /// # Errors
    /// What opening or `work` returns; a panic in either is
    /// [`Error::Panicked`] (a bug), never a hang.
    pub fn run<T, F>(&self, open: Open, work: F) -> impl Future<Output = Result<T, Error>> + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce(Repository) -> Result<T, Error> + Send + 'static,
    {
        let (tx, rx) = futures::channel::oneshot::channel();
        let (location, password, env) = (self.location.clone(), self.password.clone(), Arc::clone(&self.env));
        let spawned = std::thread::Builder::new().name("repository".into()).spawn(move || {
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
                let repository = Repository::open(&location, &password, open == Open::OrCreate, &*env)?;
                work(repository)
            }));
            // The receiver is gone only when the caller stopped waiting.
            let _ = tx.send(result.map_err(panic_message));
        });
        async move {
            spawned.map_err(|e| Error::Panicked(format!("cannot start the repository's thread: {e}")))?;
            match rx.await {
                Ok(Ok(result)) => result,
                Ok(Err(why)) => Err(Error::Panicked(why)),
                Err(_) => Err(Error::Panicked("the repository's thread ended without an answer".into())),
            }
        }
    }

    /// Every snapshot, oldest first.
    ///
    /// # Errors
    /// When the repository cannot be opened or read.
    pub async fn snapshots(&self) -> Result<Vec<Snapshot>, Error> {
        self.run(Open::Existing, |r| r.snapshots()).await
    }

    /// The snapshot `wanted` names (see [`Repository::find`]).
    ///
    /// # Errors
    /// When none or several match, or the repository cannot be read.
    pub async fn find(&self, wanted: &SnapshotRef, tags: &[String]) -> Result<Snapshot, Error> {
        let (wanted, tags) = (wanted.clone(), tags.to_vec());
        self.run(Open::Existing, move |r| r.find(&wanted, &tags)).await
    }
}

/// A repository kept open on a thread of its own for many saves, one after
/// another: a save costs its files, not a fresh open and a read of every
/// index file (etcd's delta segments come every few seconds). After a
/// failure the next save opens the repository again, so an outage of the
/// storage ends without a restart. Never creates the repository: one that
/// vanished is an outage to wait out, not a place to start a new one.
/// Dropping it ends the thread.
pub struct Saver {
    jobs: std::sync::mpsc::Sender<SaveJob>,
}

type SaveJob = (NewSnapshot, Vec<File>, std::sync::mpsc::Sender<Result<Snapshot, Error>>);

impl std::fmt::Debug for Saver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Saver").finish_non_exhaustive()
    }
}

impl RepositoryAccess {
    /// Starts a [`Saver`] for this repository.
    ///
    /// # Errors
    /// When its thread cannot be started.
    pub fn saver(&self) -> Result<Saver, Error> {
        let (jobs, queue) = std::sync::mpsc::channel::<SaveJob>();
        let access = self.clone();
        std::thread::Builder::new()
            .name("repository-saver".into())
            .spawn(move || {
                let mut open: Option<Writer> = None;
                for (snapshot, files, reply) in queue {
                    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        if open.is_none() {
                            let repository = Repository::open(&access.location, &access.password, false, &*access.env)?;
                            open = Some(repository.writer()?);
                        }
                        let writer = open.as_ref().ok_or_else(|| Error::Panicked("no writer".into()))?;
                        writer.check_present()?;
                        let (tx, rx) = std::sync::mpsc::channel();
                        let count = files.len() as u64;
                        for file in files {
                            // The receiver lives until save returns: the send cannot fail.
                            let _ = tx.send(file);
                        }
                        drop(tx);
                        writer.save(&snapshot, rx, &|| Ok(count))
                    }))
                    .unwrap_or_else(|panic| Err(Error::Panicked(panic_message(panic))));
                    if result.is_err() {
                        open = None;
                    }
                    let _ = reply.send(result);
                }
            })
            .map_err(|e| Error::Panicked(format!("cannot start the repository's thread: {e}")))?;
        Ok(Saver { jobs })
    }
}

impl Saver {
    /// Saves `files` as one snapshot; blocks until it is stored.
    ///
    /// # Errors
    /// When the repository cannot be opened or written.
    pub fn save(&self, snapshot: NewSnapshot, files: Vec<File>) -> Result<Snapshot, Error> {
        let (reply, answer) = std::sync::mpsc::channel();
        let stopped = || Error::Panicked("the repository's saving thread stopped".into());
        self.jobs.send((snapshot, files, reply)).map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())?
    }
}

/// What a panic said, for the error that reports it.
pub(crate) fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
        .unwrap_or_else(|| "a panic without a message".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(name: &str) -> (std::path::PathBuf, RepositoryAccess) {
        let dir = std::env::temp_dir().join(format!("bulkhead-access-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let access = RepositoryAccess::new(
            Location::Local(dir.display().to_string()),
            Password::from("p4ss-never-shown"),
            Arc::new(|_: &str| None),
        );
        (dir, access)
    }

    #[test]
    fn work_runs_on_its_own_thread_and_a_panic_is_a_bug_not_a_hang() {
        let (dir, access) = local("panic");
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        // From inside a runtime, as a server calls it.
        let listed = runtime.block_on(access.run(Open::OrCreate, |r| r.snapshots())).unwrap();
        assert!(listed.is_empty());
        let panicked = runtime.block_on(access.run(Open::Existing, |_| -> Result<(), Error> { panic!("boom") }));
        assert!(matches!(&panicked, Err(Error::Panicked(why)) if why == "boom"), "{panicked:?}");
        assert_eq!(panicked.unwrap_err().fault(), bulkhead_model::Fault::Bug);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Regression: jobs starting together on a new repository each created
    /// it, and it was left unreadable to all of them.
    #[test]
    fn jobs_creating_one_new_repository_at_once_make_one_repository() {
        let (dir, access) = local("create-race");
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
        let saves = (0..6u8).map(|n| {
            let access = access.clone();
            async move {
                access
                    .run(Open::OrCreate, move |r| {
                        let snapshot =
                            NewSnapshot { base: "/t".into(), hostname: format!("h{n}"), ..NewSnapshot::default() };
                        let (files, received) = std::sync::mpsc::channel();
                        let _ = files.send(File::bytes(vec![format!("f{n}")], vec![n; 64]));
                        drop(files);
                        r.save(&snapshot, received, &|| Ok(1))
                    })
                    .await
            }
        });
        let saved = runtime.block_on(futures::future::join_all(saves));
        assert!(saved.iter().all(Result::is_ok), "{saved:?}");
        let listed = runtime.block_on(access.snapshots()).unwrap();
        assert_eq!(listed.len(), 6);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn debug_never_shows_the_password() {
        let (_, access) = local("debug");
        let shown = format!("{access:?}");
        assert!(!shown.contains("p4ss"), "{shown}");
        assert!(shown.contains("RepositoryAccess"), "{shown}");
    }
}

#[cfg(test)]
mod saver_tests {
    use super::*;

    fn one_file(n: u8) -> (NewSnapshot, Vec<File>) {
        let snapshot = NewSnapshot { base: "/t".into(), hostname: "t".into(), ..NewSnapshot::default() };
        (snapshot, vec![File::bytes(vec![format!("f{n}")], vec![n; 64])])
    }

    /// A repository taken away under a saver fails its saves (the etcd
    /// watch then keeps the changes in memory), and the saves go through
    /// again once it is back.
    #[test]
    fn a_saver_fails_while_the_repository_is_away_and_recovers() {
        let dir = std::env::temp_dir().join(format!("bulkhead-saver-{}", std::process::id()));
        let away = dir.with_extension("away");
        let _ = (std::fs::remove_dir_all(&dir), std::fs::remove_dir_all(&away));
        let access = RepositoryAccess::new(
            Location::Local(dir.display().to_string()),
            Password::from("t"),
            Arc::new(|_: &str| None),
        );
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(access.run(Open::OrCreate, |_| Ok(()))).unwrap();
        let saver = access.saver().unwrap();
        let (s, f) = one_file(1);
        saver.save(s, f).unwrap();
        std::fs::rename(&dir, &away).unwrap();
        let (s, f) = one_file(2);
        let gone = saver.save(s, f);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&away, &dir).unwrap();
        let (s, f) = one_file(3);
        let back = saver.save(s, f);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(gone.is_err(), "saved into a repository that is not there: {gone:?}");
        assert!(back.is_ok(), "{back:?}");
    }
}
