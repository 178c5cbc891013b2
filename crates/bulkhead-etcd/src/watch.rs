//! Continuous backup: every change etcd's watch reports, gathered into
//! delta segments stored every few seconds, with a new full snapshot now
//! and then.
//!
//! Durability is counted from the repository, never from memory: the
//! watch resumes from the last revision stored, so a restart of etcd, of
//! the network or of Bulkhead itself leaves no gap. Segments end on whole
//! watch responses, and etcd sends a transaction's events in one response
//! (fragmenting is off), so a transaction never straddles two segments
//! (etcd-backup-restore#283). While the repository is unreachable segments
//! wait in memory up to a bound; past it the watch pauses (etcd keeps the
//! history) rather than drop anything. A compaction that removed the
//! history a resume needs is answered by a new full snapshot.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use etcd_client::{Client, EventType, WatchOptions};

use crate::Error;
use crate::access::Target;
use crate::delta::{Change, Event, Lease, Segment};
use crate::mvcc::KeyValue;
use crate::snapshot::{Taken, save};

/// Why a [`Store`] could not keep a segment or a snapshot: the store's own
/// error, whatever it is (the watch reports it and tries again).
pub type StoreError = Box<dyn std::error::Error + Send + Sync>;

/// Where segments and full snapshots go (a repository).
pub trait Store: Send + 'static {
    /// Stores a segment durably.
    ///
    /// # Errors
    /// Why it could not be stored (it is kept and tried again).
    fn segment(&mut self, segment: &Segment) -> Result<(), StoreError>;

    /// Stores a full snapshot taken into `file`.
    ///
    /// # Errors
    /// Why it could not be stored.
    fn full(&mut self, taken: &Taken, file: &Path) -> Result<(), StoreError>;
}

/// How the watch runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How often gathered changes are stored (the RPO is about this plus
    /// the time a store takes).
    pub flush_every: Duration,
    /// A new full snapshot after this long…
    pub full_every: Duration,
    /// …or after this many bytes of changes since the last one.
    pub full_after_bytes: u64,
    /// Changes held in memory while the repository is unreachable, at most;
    /// past it the watch pauses.
    pub max_pending_bytes: usize,
    /// Where full snapshots are written before they are stored.
    pub scratch: PathBuf,
    /// Stop after this long (tests, benchmarks); `None`: until stopped.
    pub run_for: Option<Duration>,
}

/// What the watch reports as it goes.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum Report {
    /// A full snapshot was stored.
    #[serde(rename_all = "camelCase")]
    Full {
        /// Its revision.
        revision: i64,
        /// Its size.
        bytes: u64,
        /// Why it was taken.
        why: String,
    },
    /// A segment was stored.
    #[serde(rename_all = "camelCase")]
    Segment {
        /// Its first revision.
        from: i64,
        /// Its last.
        to: i64,
        /// Its changes.
        events: usize,
        /// Their bytes.
        bytes: usize,
        /// When it was durable (milliseconds since the epoch).
        stored_at_ms: u128,
        /// How long its oldest change waited in memory, in milliseconds.
        waited_ms: u128,
    },
    /// Something failed and is being retried; nothing is lost.
    #[serde(rename_all = "camelCase")]
    Trouble {
        /// What failed, and what happens now.
        what: String,
    },
    /// The watch (re)started.
    #[serde(rename_all = "camelCase")]
    Watching {
        /// The first revision it asks etcd for.
        from: i64,
    },
}

/// Changes received and not yet stored.
#[derive(Default)]
struct Pending {
    events: Vec<Event>,
    bytes: usize,
    /// When the oldest of them arrived.
    since: Option<Instant>,
    /// The first revision the next segment covers (the one after the last
    /// segment's end): segments chain without a gap.
    from: i64,
    /// The last revision received.
    last: i64,
}

impl Pending {
    /// Nothing pending, after revision `after`.
    fn after(after: i64) -> Self {
        Self { from: after + 1, last: after, ..Self::default() }
    }
}

/// A segment waiting to be stored, and when its oldest change arrived.
type Unstored = (Segment, Instant);

/// Runs the watch until `settings.run_for` passes (or forever), starting
/// after revision `durable` (the newest stored in the repository; `None`:
/// nothing stored yet, a full snapshot comes first).
///
/// # Errors
/// Only what cannot be retried: a full snapshot that cannot be written to
/// its scratch file.
pub async fn run<R: Fn(Report) + ?Sized>(
    target: &Target,
    store: Arc<Mutex<dyn Store>>,
    durable: Option<i64>,
    settings: &Settings,
    report: &R,
) -> Result<(), Error> {
    let started = Instant::now();
    let deadline = settings.run_for.map(|d| started + d);
    let mut durable = match durable {
        Some(d) => d,
        None => full(target, &store, settings, "no full snapshot in the repository yet", report).await?,
    };
    let mut last_full = Instant::now();
    let mut since_full: u64 = 0;
    let mut pending = Pending::after(durable);
    let mut unstored: Vec<Unstored> = Vec::new();
    let mut leases: HashMap<i64, i64> = HashMap::new();
    let mut pause = Duration::from_millis(200);
    'connection: loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let mut client = match target.connect().await {
            Ok(c) => c,
            Err(e) => {
                report(Report::Trouble { what: format!("{e}; trying again in {pause:?}") });
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        let from = pending.last + 1;
        let options =
            WatchOptions::new().with_all_keys().with_start_revision(from).with_prev_key().with_progress_notify();
        let mut stream = match client.watch("\0", Some(options)).await {
            Ok(s) => s,
            Err(e) => {
                report(Report::Trouble { what: format!("etcd refused the watch: {e}; trying again in {pause:?}") });
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        report(Report::Watching { from });
        let mut tick = tokio::time::interval(settings.flush_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let held = pending.bytes + unstored.iter().map(|(s, _)| s.bytes()).sum::<usize>();
            let paused = held > settings.max_pending_bytes;
            tokio::select! {
                message = stream.message(), if !paused => match message {
                    Ok(Some(response)) => {
                        pause = Duration::from_millis(200);
                        if response.compact_revision() > 0 || response.canceled() {
                            let why = if response.compact_revision() > 0 {
                                format!(
                                    "etcd compacted its history up to revision {} and the watch needs {from}: changes in between are gone",
                                    response.compact_revision()
                                )
                            } else {
                                format!("etcd cancelled the watch: {}", response.cancel_reason())
                            };
                            // What arrived before stays valid; store it, then start afresh from a full snapshot.
                            close_segment(&mut pending, &mut unstored, &leases);
                            flush(&store, &mut unstored, &mut durable, report).await;
                            let revision = full(target, &store, settings, &why, report).await?;
                            durable = durable.max(revision);
                            pending = Pending::after(revision);
                            last_full = Instant::now();
                            since_full = 0;
                            continue 'connection;
                        }
                        for event in response.events() {
                            let Some(kv) = event.kv() else { continue };
                            let encoded = KeyValue {
                                key: kv.key(),
                                create_revision: kv.create_revision(),
                                mod_revision: kv.mod_revision(),
                                version: kv.version(),
                                value: kv.value(),
                                lease: kv.lease(),
                            }
                            .encode();
                            let prev = event.prev_kv().map(|p| {
                                KeyValue {
                                    key: p.key(),
                                    create_revision: p.create_revision(),
                                    mod_revision: p.mod_revision(),
                                    version: p.version(),
                                    value: p.value(),
                                    lease: p.lease(),
                                }
                                .encode()
                            });
                            if kv.lease() != 0 && !leases.contains_key(&kv.lease()) {
                                // The granted TTL, for the restore to recreate the lease; a
                                // lease already gone is recorded as 0 (the restore drops it).
                                let ttl = client.lease_time_to_live(kv.lease(), None).await.map_or(0, |r| r.granted_ttl().max(0));
                                leases.insert(kv.lease(), ttl);
                            }
                            pending.bytes += encoded.len() + prev.as_ref().map_or(0, Vec::len);
                            pending.last = pending.last.max(kv.mod_revision());
                            pending.since.get_or_insert_with(Instant::now);
                            let change = if event.event_type() == EventType::Delete { Change::Delete } else { Change::Put };
                            pending.events.push(Event { change, kv: encoded, prev_kv: prev });
                        }
                    }
                    Ok(None) | Err(_) => {
                        let why = match message { Err(e) => e.to_string(), _ => "the stream ended".into() };
                        report(Report::Trouble {
                            what: format!("the watch broke off ({why}); resuming after revision {}", pending.last),
                        });
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(10));
                        continue 'connection;
                    }
                },
                _ = tick.tick() => {
                    close_segment(&mut pending, &mut unstored, &leases);
                    since_full += flush(&store, &mut unstored, &mut durable, report).await;
                    let due = if last_full.elapsed() >= settings.full_every {
                        Some(format!("{:?} since the last full snapshot", settings.full_every))
                    } else if since_full >= settings.full_after_bytes {
                        Some(format!("{since_full} bytes of changes since the last full snapshot"))
                    } else {
                        None
                    };
                    if let Some(why) = due {
                        full(target, &store, settings, &why, report).await?;
                        last_full = Instant::now();
                        since_full = 0;
                    }
                    if deadline.is_some_and(|d| Instant::now() >= d) && unstored.is_empty() {
                        break 'connection;
                    }
                }
            }
        }
    }
    close_segment(&mut pending, &mut unstored, &leases);
    flush(&store, &mut unstored, &mut durable, report).await;
    if !unstored.is_empty() {
        let revisions: Vec<String> = unstored.iter().map(|(s, _)| format!("{}..={}", s.from, s.to)).collect();
        report(Report::Trouble {
            what: format!(
                "stopping with revisions {} not stored (the repository is unreachable); the next watch resumes from revision {}",
                revisions.join(", "),
                durable + 1
            ),
        });
    }
    Ok(())
}

/// Turns what is pending into a segment waiting to be stored, with the
/// leases its changes use.
fn close_segment(pending: &mut Pending, unstored: &mut Vec<Unstored>, leases: &HashMap<i64, i64>) {
    if pending.events.is_empty() {
        return;
    }
    let events = std::mem::take(&mut pending.events);
    let mut used: Vec<Lease> = events
        .iter()
        .filter_map(|e| KeyValue::decode(&e.kv).ok().map(|kv| kv.lease))
        .filter(|&id| id != 0)
        .map(|id| Lease { id, ttl: leases.get(&id).copied().unwrap_or(0) })
        .collect();
    used.sort_by_key(|l| l.id);
    used.dedup_by_key(|l| l.id);
    let since = pending.since.take().unwrap_or_else(Instant::now);
    unstored.push((Segment { from: pending.from, to: pending.last, events, leases: used }, since));
    pending.from = pending.last + 1;
    pending.bytes = 0;
}

/// Stores waiting segments in order; stops at the first failure (the rest
/// wait). The bytes of changes stored.
async fn flush<R: Fn(Report) + ?Sized>(
    store: &Arc<Mutex<dyn Store>>,
    unstored: &mut Vec<Unstored>,
    durable: &mut i64,
    report: &R,
) -> u64 {
    let mut stored_bytes = 0u64;
    while let Some((segment, arrived)) = unstored.first().cloned() {
        let store = Arc::clone(store);
        let result = tokio::task::spawn_blocking(move || {
            let stored = store.lock().map_err(|_| StoreError::from("the store's lock is poisoned"))?.segment(&segment);
            stored.map(|()| (segment, arrived))
        })
        .await
        .unwrap_or_else(|e| Err(format!("storing panicked: {e}").into()));
        match result {
            Ok((segment, arrived)) => {
                *durable = segment.to;
                stored_bytes += segment.bytes() as u64;
                let stored_at_ms =
                    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_millis();
                report(Report::Segment {
                    from: segment.from,
                    to: segment.to,
                    events: segment.events.len(),
                    bytes: segment.bytes(),
                    stored_at_ms,
                    waited_ms: arrived.elapsed().as_millis(),
                });
                unstored.remove(0);
            }
            Err(why) => {
                let held: usize = unstored.iter().map(|(s, _)| s.bytes()).sum();
                report(Report::Trouble {
                    what: format!(
                        "cannot store revisions {}..: {why}; {} segments ({held} bytes) wait in memory and are tried again",
                        unstored[0].0.from,
                        unstored.len()
                    ),
                });
                return stored_bytes;
            }
        }
    }
    stored_bytes
}

/// Takes a full snapshot and stores it; its revision.
async fn full<R: Fn(Report) + ?Sized>(
    target: &Target,
    store: &Arc<Mutex<dyn Store>>,
    settings: &Settings,
    why: &str,
    report: &R,
) -> Result<i64, Error> {
    let mut pause = Duration::from_millis(500);
    loop {
        let file = settings.scratch.join(format!("bulkhead-etcd-watch-{}.db", std::process::id()));
        let taken = async {
            let mut client: Client = target.connect().await?;
            save(target, &mut client, &file, &|_, _| {}).await
        }
        .await;
        let taken = match taken {
            Ok(t) => t,
            Err(e @ Error::Write { .. }) => return Err(e),
            Err(e) => {
                report(Report::Trouble { what: format!("a full snapshot failed ({e}); trying again in {pause:?}") });
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        let (store, path, held) = (Arc::clone(store), file.clone(), taken.clone());
        let stored = tokio::task::spawn_blocking(move || {
            store.lock().map_err(|_| StoreError::from("the store's lock is poisoned"))?.full(&held, &path)
        })
        .await
        .unwrap_or_else(|e| Err(format!("storing panicked: {e}").into()));
        let _ = std::fs::remove_file(&file);
        match stored {
            Ok(()) => {
                report(Report::Full { revision: taken.revision, bytes: taken.bytes, why: why.to_string() });
                return Ok(taken.revision);
            }
            Err(e) => {
                report(Report::Trouble {
                    what: format!("cannot store a full snapshot ({e}); trying again in {pause:?}"),
                });
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(10));
            }
        }
    }
}
