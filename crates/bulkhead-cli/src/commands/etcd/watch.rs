//! `bulkhead etcd watch`: continuous backup of a cluster's etcd into the
//! fleet's repository.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};

use bulkhead_etcd::delta::Segment;
use bulkhead_etcd::snapshot::Taken;
use bulkhead_etcd::watch::{Report, Settings, Store};
use bulkhead_report::{OutputFormat, Verdict};
use bulkhead_vault::{File, NewSnapshot, Vault, Writer};

use super::super::recovery::{Repo, load_fleet, on_vault, repository, with_vault};
use crate::args::EtcdWatchArgs;
use crate::error::Failure;
use crate::settings::output;

/// Segments and full snapshots, into the repository.
struct VaultStore {
    repo: Repo,
    cluster: String,
    fleet: String,
    segments: SegmentWriter,
}

/// A save to run on the segment writer's thread.
type Save = Box<dyn FnOnce(&Writer) -> Result<(), String> + Send>;

/// A thread that keeps the repository open for segments, so a store costs
/// its segment, not a fresh open and a read of every index file (the
/// repository library blocks, and its S3 backend runs a runtime of its
/// own: hence a plain thread). After a failure it opens the repository
/// again for the next save: an outage ends without a restart.
struct SegmentWriter {
    jobs: mpsc::Sender<(Save, mpsc::Sender<Result<(), String>>)>,
}

impl SegmentWriter {
    fn start(repo: &Repo) -> Self {
        let (jobs, queue) = mpsc::channel::<(Save, mpsc::Sender<Result<(), String>>)>();
        let (location, password) = (repo.location.clone(), repo.password.clone());
        std::thread::spawn(move || {
            let env = super::super::recovery::environment();
            let mut open: Option<Writer> = None;
            for (save, reply) in queue {
                if open.is_none() {
                    // Never created here: a repository that vanished is an
                    // outage to wait out, not a place to start a new one.
                    match Vault::open(&location, &password, false, &*env).and_then(Vault::writer) {
                        Ok(w) => open = Some(w),
                        Err(e) => {
                            let _ = reply.send(Err(e.to_string()));
                            continue;
                        }
                    }
                }
                let result = open.as_ref().map_or_else(|| Err("the repository is not open".into()), save);
                if result.is_err() {
                    open = None;
                }
                let _ = reply.send(result);
            }
        });
        Self { jobs }
    }

    fn run(&self, save: Save) -> Result<(), String> {
        let (reply, answer) = mpsc::channel();
        self.jobs.send((save, reply)).map_err(|_| "the segment writer stopped".to_string())?;
        answer.recv().map_err(|_| "the segment writer stopped".to_string())?
    }
}

impl Store for VaultStore {
    fn segment(&mut self, segment: &Segment) -> Result<(), String> {
        let snapshot = NewSnapshot {
            base: "/etcd".into(),
            hostname: self.cluster.clone(),
            label: "etcd-delta".into(),
            tags: vec![
                bulkhead_etcd::DELTA_TAG.into(),
                format!("fleet={}", self.fleet),
                format!("cluster={}", self.cluster),
                format!("etcd-from={}", segment.from),
                format!("etcd-to={}", segment.to),
            ],
            description: format!(
                "bulkhead etcd changes of {}: revisions {}..={}, {} changes",
                self.cluster,
                segment.from,
                segment.to,
                segment.events.len()
            ),
        };
        let file = File::bytes(
            vec![self.cluster.clone(), "deltas".into(), format!("{:020}-{:020}.delta", segment.from, segment.to)],
            segment.encode(),
        );
        self.segments.run(Box::new(move |writer| {
            let (tx, rx) = mpsc::channel();
            let _ = tx.send(file);
            drop(tx);
            writer.save(&snapshot, rx, &|| Ok(1)).map(|_| ()).map_err(|e| e.to_string())
        }))
    }

    fn full(&mut self, taken: &Taken, file: &Path) -> Result<(), String> {
        super::store_snapshot(&self.repo, &self.cluster, &self.fleet, taken, file.to_path_buf(), false)
            .map(|_| ())
            .map_err(|f| f.to_string())
    }
}

/// The newest revision the repository holds for `cluster`: a full
/// snapshot's or a delta segment's end; `None` when it holds neither.
pub(crate) fn durable_revision(repo: &Repo, cluster: &str) -> Result<Option<i64>, Failure> {
    let cluster_tag = format!("cluster={cluster}");
    with_vault(repo, move |vault| {
        let snapshots = vault.snapshots()?;
        Ok(snapshots
            .iter()
            .filter(|s| s.tags.contains(&cluster_tag))
            .filter_map(|s| {
                if s.tags.iter().any(|t| t == bulkhead_etcd::SNAPSHOT_TAG) {
                    s.tag("etcd-revision")?.parse::<i64>().ok()
                } else if s.tags.iter().any(|t| t == bulkhead_etcd::DELTA_TAG) {
                    s.tag("etcd-to")?.parse::<i64>().ok()
                } else {
                    None
                }
            })
            .max())
    })
}

/// Runs `etcd watch`.
///
/// # Errors
/// Bad flags or fleet (exit 2); the repository unreachable at the start (exit 3).
pub fn run(args: &EtcdWatchArgs, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&args.fleet.fleet)?;
    let (cluster, target) = super::etcd_target(&fleet, &args.cluster)?;
    let repo = repository(&fleet, args.repo.repo.as_deref(), None)?;
    // Create the repository if need be, and find where the backup stands.
    on_vault(&repo, true, |_| Ok(()))?;
    let durable = durable_revision(&repo, &cluster.name)?;
    let settings = Settings {
        flush_every: args.flush_every.max(std::time::Duration::from_millis(100)),
        full_every: args.full_every,
        full_after_bytes: args.full_after_mib << 20,
        max_pending_bytes: args.max_pending_mib << 20,
        scratch: std::env::temp_dir(),
        run_for: args.run_for,
    };
    let json = output(args.output) == OutputFormat::Json;
    let segments = SegmentWriter::start(&repo);
    let store: Arc<Mutex<dyn Store>> = Arc::new(Mutex::new(VaultStore {
        repo,
        cluster: cluster.name.clone(),
        fleet: fleet.file.metadata.name.clone(),
        segments,
    }));
    // Reports go out as they happen, from the watch's tasks.
    let out = Mutex::new(out);
    let report = |r: Report| {
        let line = if json { serde_json::to_string(&r).unwrap_or_default() } else { describe(&r) };
        if let Ok(mut out) = out.lock() {
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    };
    super::super::block_on(bulkhead_etcd::watch::run(&target, store, durable, &settings, &report))?
        .map_err(|e| Failure::Input(e.to_string()))?;
    Ok(Verdict::Pass)
}

/// A report, for people.
fn describe(r: &Report) -> String {
    match r {
        Report::Full { revision, bytes, why } => {
            #[allow(clippy::cast_precision_loss)] // a size for people
            let mib = *bytes as f64 / f64::from(1 << 20);
            format!("full snapshot at revision {revision} stored ({mib:.1} MiB): {why}")
        }
        Report::Segment { from, to, events, bytes, waited_ms, .. } => {
            format!(
                "stored revisions {from}..={to}: {events} changes, {bytes} bytes, {waited_ms} ms after the first arrived"
            )
        }
        Report::Trouble { what } => what.clone(),
        Report::Watching { from } => format!("watching etcd from revision {from}"),
    }
}
