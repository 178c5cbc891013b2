//! Every run the server made, kept in an embedded store (redb: one file,
//! crash-safe, no server) so `serve` works on one machine with nothing
//! else, and `bulkhead jobs list|show` can read it. Bounded: the oldest
//! runs go once there are more than the store keeps.
//!
//! The server holds the store open as its one writer; `bulkhead jobs`
//! opens it read-only beside it (redb's single-writer mode: readers in
//! other processes share the file and see each commit), so the history is
//! readable while `serve` runs.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};

/// Runs by id (the order they started in), each as JSON: the record can
/// grow fields without a migration.
const RUNS: TableDefinition<u64, &str> = TableDefinition::new("runs");

/// Paused schedules by job key, each a [`Pause`] as JSON. Kept beside the
/// runs so a pause outlives a restart of the server.
const PAUSED: TableDefinition<&str, &str> = TableDefinition::new("paused");

/// A schedule a person paused: its job runs only when asked for by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pause {
    /// When (RFC 3339).
    pub since: String,
    /// Who, as the API knew them.
    pub by: String,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// Still running (a run is recorded when it starts).
    Running,
    /// It did what it was for.
    Succeeded,
    /// It failed; the reason says why.
    Failed,
    /// It ran out of its time. Named as the metrics and `jobs list` name it
    /// (records of older versions said `timedOut`).
    #[serde(rename = "timed-out", alias = "timedOut")]
    TimedOut,
    /// The server stopped it (shutting down, or its lease was lost).
    Cancelled,
}

impl Outcome {
    /// The outcome as metrics label it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::TimedOut => "timed-out",
            Self::Cancelled => "cancelled",
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Figures {
    /// Objects backed up, restored or compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects: Option<u64>,
    /// Bytes written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Snapshots removed (retention).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<u64>,
    /// A drill's measured RTO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto_seconds: Option<f64>,
    /// A drill's measured RPO: the restored snapshot's age.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpo_seconds: Option<f64>,
    /// Findings (drift, check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<u64>,
}

/// One run of one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// Its id: increasing, in the order runs started.
    pub id: u64,
    /// The job's key (`backup/nightly/aws-use1-prod/shop`).
    pub job: String,
    /// The job's kind (`backup`, `drill` …).
    pub kind: String,
    /// The slot it ran for (RFC 3339), when it was scheduled by cron.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    /// How many slots it made up for (after downtime: more than one).
    pub missed: u32,
    /// Which attempt this was (1: the first; retries count up).
    pub attempt: u32,
    /// When it started (RFC 3339).
    pub started: String,
    /// When it ended (RFC 3339); `None` while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it failed, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What it measured.
    #[serde(default)]
    pub figures: Figures,
}

/// Why the history cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The store's file cannot be opened or written.
    #[error("the history at {path}: {why}")]
    Store {
        /// The file.
        path: PathBuf,
        /// What redb said.
        why: String,
    },
    /// A record that does not read back (written by a newer Bulkhead?).
    #[error("the history at {path}: run {id} does not read: {source}")]
    Record {
        /// The file.
        path: PathBuf,
        /// The run.
        id: u64,
        /// Why.
        source: serde_json::Error,
    },
}

/// The history of runs.
pub struct History {
    store: Store,
    path: PathBuf,
    keep: usize,
}

/// The store: written by the server, read by everyone else.
enum Store {
    Writer(Database),
    Reader(redb::ReadOnlyDatabase),
}

/// redb opened so one process writes and any number read at once.
fn shared() -> redb::Builder {
    let mut builder = redb::Builder::new();
    builder.set_concurrency_mode(redb::ConcurrencyMode::SingleWriter);
    builder
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History").field("path", &self.path).field("keep", &self.keep).finish_non_exhaustive()
    }
}

impl History {
    /// Opens (or creates) the history at `path`, keeping the newest `keep` runs.
    ///
    /// # Errors
    /// When the file cannot be opened or created (or another process holds it).
    pub fn open(path: &Path, keep: usize) -> Result<Self, HistoryError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| Self::store_error(path, e))?;
        }
        let db = shared().create(path).map_err(|e| Self::store_error(path, e))?;
        let history = Self { store: Store::Writer(db), path: path.to_path_buf(), keep: keep.max(1) };
        // The table exists from the start, so readers never find it missing.
        history.write(|table| {
            let _ = table.len()?;
            Ok(())
        })?;
        Ok(history)
    }

    /// Opens an existing history to read (`bulkhead jobs`).
    ///
    /// # Errors
    /// When there is none at `path`, or it cannot be read.
    pub fn open_existing(path: &Path) -> Result<Self, HistoryError> {
        if !path.exists() {
            return Err(HistoryError::Store {
                path: path.to_path_buf(),
                why: "no history here: `bulkhead serve` writes it (see --state)".into(),
            });
        }
        match shared().open_read_only(path) {
            Ok(db) => Ok(Self { store: Store::Reader(db), path: path.to_path_buf(), keep: usize::MAX }),
            // A server that was killed (or exited without closing it) left
            // the store to be repaired, which a reader cannot do: with no
            // server running, open it as the writer, which repairs it.
            Err(redb::DatabaseError::RepairAborted) => {
                let db = shared().open(path).map_err(|e| Self::store_error(path, e))?;
                Ok(Self { store: Store::Writer(db), path: path.to_path_buf(), keep: usize::MAX })
            }
            Err(e) => Err(Self::store_error(path, e)),
        }
    }

    fn store_error(path: &Path, e: impl std::fmt::Display) -> HistoryError {
        HistoryError::Store { path: path.to_path_buf(), why: e.to_string() }
    }

    /// A read transaction, from the writer or a reader alike.
    fn read(&self) -> Result<redb::ReadTransaction, HistoryError> {
        let tx = match &self.store {
            Store::Writer(db) => db.begin_read(),
            Store::Reader(db) => db.begin_read(),
        };
        tx.map_err(|e| Self::store_error(&self.path, e))
    }

    /// Commits `work` durably: readers in other processes see durable
    /// commits only, and `jobs list` must see a run that started.
    fn write<T>(
        &self,
        work: impl FnOnce(&mut redb::Table<'_, u64, &'static str>) -> Result<T, redb::Error>,
    ) -> Result<T, HistoryError> {
        self.write_in(RUNS, work)
    }

    /// Commits `work` on `table` durably.
    fn write_in<K: redb::Key + 'static, V: redb::Value + 'static, T>(
        &self,
        table: TableDefinition<'static, K, V>,
        work: impl FnOnce(&mut redb::Table<'_, K, V>) -> Result<T, redb::Error>,
    ) -> Result<T, HistoryError> {
        let Store::Writer(db) = &self.store else {
            return Err(Self::store_error(&self.path, "opened to read, not to write"));
        };
        let run = || -> Result<T, redb::Error> {
            let tx = db.begin_write()?;
            let out = {
                let mut table = tx.open_table(table)?;
                work(&mut table)?
            };
            tx.commit()?;
            Ok(out)
        };
        run().map_err(|e| Self::store_error(&self.path, e))
    }

    /// Records a run that starts now; its id.
    ///
    /// # Errors
    /// When the store cannot be written.
    pub fn begin(&self, mut run: Run) -> Result<u64, HistoryError> {
        let keep = self.keep;
        self.write(move |table| {
            let id = table.last()?.map_or(1, |(k, _)| k.value() + 1);
            run.id = id;
            let json = serde_json::to_string(&run).expect("a run serializes");
            table.insert(id, json.as_str())?;
            // Bounded: the oldest go.
            let excess = (table.len()? as usize).saturating_sub(keep);
            if excess > 0 {
                let old: Vec<u64> =
                    table.iter()?.take(excess).map(|e| e.map(|(k, _)| k.value())).collect::<Result<_, _>>()?;
                for k in old {
                    table.remove(k)?;
                }
            }
            Ok(id)
        })
    }

    /// Records how run `run.id` ended.
    ///
    /// # Errors
    /// When the store cannot be written.
    pub fn end(&self, run: &Run) -> Result<(), HistoryError> {
        let json = serde_json::to_string(run).expect("a run serializes");
        self.write(move |table| {
            table.insert(run.id, json.as_str())?;
            Ok(())
        })
    }

    /// Runs marked running by a server that stopped without ending them
    /// (killed): ended as cancelled, so nothing claims to run forever.
    ///
    /// # Errors
    /// When the store cannot be written.
    pub fn close_abandoned(&self, now: &str) -> Result<usize, HistoryError> {
        let abandoned: Vec<Run> =
            self.list(None, usize::MAX)?.into_iter().filter(|r| r.outcome == Outcome::Running).collect();
        for mut run in abandoned.iter().cloned() {
            run.outcome = Outcome::Cancelled;
            run.ended = Some(now.to_string());
            run.reason = Some("the server stopped while it ran".into());
            self.end(&run)?;
        }
        Ok(abandoned.len())
    }

    /// The newest `limit` runs (of job `job`, when given), newest first.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub fn list(&self, job: Option<&str>, limit: usize) -> Result<Vec<Run>, HistoryError> {
        self.list_before(job, None, limit)
    }

    /// The newest `limit` runs older than run `before` (all, without it),
    /// of job `job` when given, newest first: a page of the history.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub fn list_before(&self, job: Option<&str>, before: Option<u64>, limit: usize) -> Result<Vec<Run>, HistoryError> {
        let tx = self.read()?;
        let rows = (|| -> Result<Vec<(u64, String)>, redb::Error> {
            let table = tx.open_table(RUNS)?;
            let mut out = Vec::new();
            for entry in table.range(..before.unwrap_or(u64::MAX))?.rev() {
                let (k, v) = entry?;
                out.push((k.value(), v.value().to_string()));
            }
            Ok(out)
        })()
        .map_err(|e| Self::store_error(&self.path, e))?;
        let mut runs = Vec::new();
        for (id, json) in rows {
            let run: Run = serde_json::from_str(&json).map_err(|source| HistoryError::Record {
                path: self.path.clone(),
                id,
                source,
            })?;
            if job.is_none_or(|j| run.job == j || run.job.starts_with(&format!("{j}/"))) {
                runs.push(run);
                if runs.len() >= limit {
                    break;
                }
            }
        }
        Ok(runs)
    }

    /// Run `id`.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub fn get(&self, id: u64) -> Result<Option<Run>, HistoryError> {
        let tx = self.read()?;
        let json = (|| -> Result<Option<String>, redb::Error> {
            let table = tx.open_table(RUNS)?;
            Ok(table.get(id)?.map(|v| v.value().to_string()))
        })()
        .map_err(|e| Self::store_error(&self.path, e))?;
        json.map(|j| {
            serde_json::from_str(&j).map_err(|source| HistoryError::Record { path: self.path.clone(), id, source })
        })
        .transpose()
    }

    /// Pauses `job`'s schedule (again: the newer pause stands).
    ///
    /// # Errors
    /// When the store cannot be written.
    pub fn pause(&self, job: &str, pause: &Pause) -> Result<(), HistoryError> {
        let json = serde_json::to_string(pause).expect("a pause serializes");
        self.write_in(PAUSED, |table| {
            table.insert(job, json.as_str())?;
            Ok(())
        })
    }

    /// Resumes `job`'s schedule; whether it was paused.
    ///
    /// # Errors
    /// When the store cannot be written.
    pub fn resume(&self, job: &str) -> Result<bool, HistoryError> {
        self.write_in(PAUSED, |table| Ok(table.remove(job)?.is_some()))
    }

    /// Every paused schedule, by job key.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub fn paused(&self) -> Result<std::collections::BTreeMap<String, Pause>, HistoryError> {
        let tx = self.read()?;
        let rows = (|| -> Result<Vec<(String, String)>, redb::Error> {
            let table = match tx.open_table(PAUSED) {
                Ok(table) => table,
                // A history from before pauses, or nothing ever paused.
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
                Err(e) => return Err(e.into()),
            };
            table
                .iter()?
                .map(|e| e.map(|(k, v)| (k.value().to_string(), v.value().to_string())))
                .collect::<Result<_, _>>()
                .map_err(Into::into)
        })()
        .map_err(|e| Self::store_error(&self.path, e))?;
        // A record that does not read is left out rather than failing every
        // look at the schedule; it is resumed by resuming its job.
        Ok(rows.into_iter().filter_map(|(job, json)| Some((job, serde_json::from_str(&json).ok()?))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(job: &str) -> Run {
        Run {
            id: 0,
            job: job.into(),
            kind: "backup".into(),
            slot: None,
            missed: 1,
            attempt: 1,
            started: "2026-12-03T00:00:00Z".into(),
            ended: None,
            outcome: Outcome::Running,
            reason: None,
            figures: Figures::default(),
        }
    }

    #[test]
    fn runs_are_kept_newest_first_and_bounded() {
        let dir = std::env::temp_dir().join(format!("bulkhead-history-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("history.redb");
        {
            let history = History::open(&path, 3).unwrap();
            for i in 0..5 {
                let id = history.begin(run(&format!("backup/p/c/app{i}"))).unwrap();
                let mut done = run(&format!("backup/p/c/app{i}"));
                done.id = id;
                done.outcome = Outcome::Succeeded;
                done.figures.objects = Some(i);
                history.end(&done).unwrap();
            }
            history.begin(run("drill/d")).unwrap();
        }
        // Reopened, as after a crash: the same runs, the oldest gone.
        let history = History::open(&path, 3).unwrap();
        let all = history.list(None, 100).unwrap();
        let ids: Vec<u64> = all.iter().map(|r| r.id).collect();
        assert_eq!(ids, [6, 5, 4]);
        assert_eq!(all[1].figures.objects, Some(4));
        assert_eq!(history.list(Some("drill"), 10).unwrap().len(), 1);
        assert_eq!(history.close_abandoned("2026-12-03T01:00:00Z").unwrap(), 1);
        assert_eq!(history.get(6).unwrap().unwrap().outcome, Outcome::Cancelled);
        assert!(history.get(1).unwrap().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_pause_outlives_the_store_being_closed_and_a_resume_ends_it() {
        let dir = std::env::temp_dir().join(format!("bulkhead-history-pause-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("history.redb");
        let pause = Pause { since: "2026-12-04T10:00:00Z".into(), by: "system:serviceaccount:ops:on-call".into() };
        {
            let history = History::open(&path, 10).unwrap();
            assert!(history.paused().unwrap().is_empty(), "a new history pauses nothing");
            history.pause("backup/p/c/a", &pause).unwrap();
            history.pause("drill/d", &pause).unwrap();
        }
        let history = History::open(&path, 10).unwrap();
        let paused = history.paused().unwrap();
        assert_eq!(paused.keys().collect::<Vec<_>>(), ["backup/p/c/a", "drill/d"]);
        assert_eq!(paused["drill/d"], pause);
        assert!(history.resume("drill/d").unwrap());
        assert!(!history.resume("drill/d").unwrap(), "resuming twice says it was not paused");
        assert_eq!(history.paused().unwrap().len(), 1);
        // A reader beside the writer sees the pauses too.
        drop(history);
        let reader = History::open_existing(&path).unwrap();
        assert_eq!(reader.paused().unwrap().len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A store a killed server left unrepaired is read all the same (a
    /// reader cannot repair it; it was "Database repair aborted").
    #[test]
    fn a_store_left_by_a_killed_server_is_read() {
        let dir = std::env::temp_dir().join(format!("bulkhead-history-killed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("history.redb");
        let server = History::open(&path, 100).unwrap();
        server.begin(run("backup/p/c/a")).unwrap();
        // As a SIGKILL leaves it: never closed.
        std::mem::forget(server);
        let reader = History::open_existing(&path);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(reader.unwrap().list(None, 10).unwrap().len(), 1);
    }

    /// A server writing and `bulkhead jobs list` reading one store at once
    /// (it was held open by the server, and `jobs list` failed with
    /// "Database already open" while `serve` ran).
    #[test]
    fn a_reader_and_a_writer_share_the_store() {
        let dir = std::env::temp_dir().join(format!("bulkhead-history-shared-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("history.redb");
        let server = History::open(&path, 100).unwrap();
        let reader = History::open_existing(&path).unwrap();
        let writer = std::thread::spawn(move || {
            for i in 0..50 {
                server.begin(run(&format!("backup/p/c/app{i}"))).unwrap();
            }
        });
        let start = std::time::Instant::now();
        let mut seen = 0;
        while seen < 50 {
            assert!(start.elapsed() < std::time::Duration::from_secs(20), "the reader saw {seen} of 50 runs");
            seen = reader.list(None, 1000).unwrap().len();
        }
        writer.join().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
