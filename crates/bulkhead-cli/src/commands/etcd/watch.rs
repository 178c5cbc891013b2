//! `bulkhead etcd watch`: continuous backup of a cluster's etcd into the
//! fleet's repository.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use bulkhead_etcd::delta::Segment;
use bulkhead_etcd::snapshot::Taken;
use bulkhead_etcd::watch::{Report, Settings, Store};
use bulkhead_report::{OutputFormat, Verdict};
use bulkhead_vault::{File, NewSnapshot};

use super::super::recovery::{Repo, load_fleet, on_vault, repository, with_vault};
use crate::args::EtcdWatchArgs;
use crate::error::Failure;
use crate::settings::output;

/// Segments and full snapshots, into the repository.
struct VaultStore {
    repo: Repo,
    cluster: String,
    fleet: String,
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
        // Never created here: a repository that vanished is an outage to
        // wait out, not a place to start a new one.
        on_vault(&self.repo, false, move |vault| {
            let (tx, rx) = std::sync::mpsc::channel();
            let _ = tx.send(file);
            drop(tx);
            vault.save(&snapshot, rx, &|| Ok(1))
        })
        .map(|_| ())
        .map_err(|f| f.to_string())
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
    let store: Arc<Mutex<dyn Store>> = Arc::new(Mutex::new(VaultStore {
        repo,
        cluster: cluster.name.clone(),
        fleet: fleet.file.metadata.name.clone(),
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
