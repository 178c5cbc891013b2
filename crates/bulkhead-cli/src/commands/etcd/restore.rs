//! `bulkhead etcd restore`: a new etcd data directory from the repository.
//!
//! The database is rebuilt offline (bulkhead-etcd's replay); the data
//! directory around it (the member's WAL and snapshot, its cluster
//! membership) is written by `etcdutl snapshot restore`, etcd's own tool,
//! which also bumps the revision and marks it compacted. Writing a WAL of
//! our own would copy etcd's internals; etcdutl is what every etcd
//! operator has, in the version of their etcd.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use bulkhead_etcd::delta::Segment;
use bulkhead_etcd::file::Snapshot;
use bulkhead_etcd::replay::{Replayed, replay};
use bulkhead_report::{OutputFormat, Verdict};
use bulkhead_vault::Snapshot as Stored;

use super::super::recovery::{load_fleet, repository, with_vault};
use crate::args::EtcdRestoreArgs;
use crate::error::Failure;
use crate::settings::output;

/// Removes the files a restore works with, however it ends.
struct Scratch(Vec<PathBuf>);

impl Drop for Scratch {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Runs `etcd restore`.
///
/// # Errors
/// Bad flags, a data directory in the way, a point the backup does not
/// hold, damaged data (exit 2); the repository or etcdutl unavailable (exit 3).
#[allow(clippy::too_many_lines)] // one sequence of steps, each said where it is
pub fn run(args: &EtcdRestoreArgs, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&args.fleet.fleet)?;
    if !fleet.file.spec.clusters.iter().any(|c| c.name == args.cluster) {
        return Err(Failure::Usage(format!("the fleet has no cluster `{}`", args.cluster)));
    }
    if args.to.exists() && std::fs::read_dir(&args.to).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(Failure::Input(format!(
            "{} exists and is not empty: restore into a new directory (etcd's data is never overwritten)",
            args.to.display()
        )));
    }
    let until = args.time.as_deref().map(parse_time).transpose()?;
    let etcdutl = which("etcdutl").ok_or_else(|| {
        Failure::Outside(
            "etcdutl is not on PATH: it writes the data directory (install the version of your etcd)".into(),
        )
    })?;
    let repo = repository(&fleet, args.repo.repo.as_deref(), None)?;
    let cluster_tag = format!("cluster={}", args.cluster);
    let all = with_vault(&repo, move |vault| vault.snapshots())?;
    let tagged = |kind: &str| -> Vec<Stored> {
        all.iter()
            .filter(|s| s.tags.contains(&cluster_tag) && s.tags.iter().any(|t| t == kind))
            .filter(|s| until.is_none_or(|t| s.epoch <= t))
            .cloned()
            .collect()
    };
    let number = |s: &Stored, tag: &str| s.tag(tag).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    let mut fulls = tagged(bulkhead_etcd::SNAPSHOT_TAG);
    fulls.sort_by_key(|s| (number(s, "etcd-revision"), s.nanos));
    let mut deltas = tagged(bulkhead_etcd::DELTA_TAG);
    deltas.sort_by_key(|s| number(s, "etcd-from"));
    if fulls.is_empty() {
        return Err(Failure::Input(format!(
            "repository `{}` has no full etcd snapshot of `{}`{}: take one with `bulkhead etcd snapshot` or `etcd watch`",
            repo.name,
            args.cluster,
            if until.is_some() { " from before that time" } else { "" }
        )));
    }
    // The point: a revision, or as far as what was stored by the time reaches.
    let target =
        args.revision.or_else(|| until.map(|_| deltas.iter().map(|d| number(d, "etcd-to")).max().unwrap_or(0)));
    let parent = args.to.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Failure::cannot_write(parent, &e))?;
    let name = args.to.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "etcd".into());
    let full_file = parent.join(format!(".{name}.bulkhead-full.db"));
    let rebuilt = parent.join(format!(".{name}.bulkhead-restored.db"));
    let _scratch = Scratch(vec![full_file.clone(), rebuilt.clone()]);

    // The newest full snapshot at or before the point (its tag is the
    // revision just before it began: the file may hold a few more).
    let mut chosen = None;
    for full in fulls.iter().rev().filter(|f| target.is_none_or(|t| number(f, "etcd-revision") <= t)) {
        let (id, path) = (full.id.clone(), full_file.clone());
        with_vault(&repo, move |vault| {
            let mut file = std::fs::File::create(&path)
                .map_err(|e| bulkhead_vault::Error::Source(format!("{}: {e}", path.display())))?;
            vault.dump(&id, "snapshot.db", &mut file)
        })?;
        let snapshot = Snapshot::open(&full_file, true)
            .map_err(|e| Failure::Input(format!("full snapshot {} in the repository: {e}", &full.id[..8])))?;
        let newest = snapshot.newest().map_err(|e| Failure::Input(e.to_string()))?;
        if target.is_none_or(|t| newest <= t) {
            chosen = Some((full.clone(), snapshot, newest));
            break;
        }
    }
    let Some((full, snapshot, newest)) = chosen else {
        return Err(Failure::Input(format!(
            "no full snapshot of `{}` is at or before revision {}: the oldest starts at revision {}",
            args.cluster,
            target.unwrap_or_default(),
            fulls.first().map_or(0, |f| number(f, "etcd-revision"))
        )));
    };
    let wanted: Vec<String> = deltas.iter().filter(|d| number(d, "etcd-to") > newest).map(|d| d.id.clone()).collect();
    let files = with_vault(&repo, move |vault| vault.files_of(&wanted))?;
    let segments: Vec<Segment> = files
        .iter()
        .flatten()
        .map(|(path, bytes)| Segment::decode(bytes).map_err(|e| Failure::Input(format!("delta segment {path}: {e}"))))
        .collect::<Result<_, _>>()?;
    let replayed = replay(&snapshot, &segments, target, &rebuilt).map_err(|e| Failure::Input(e.to_string()))?;
    drop(snapshot);

    let mut command = Command::new(&etcdutl);
    command
        .args(["snapshot", "restore"])
        .arg(&rebuilt)
        .arg("--data-dir")
        .arg(&args.to)
        .args(["--name", &args.name])
        // The rebuilt file has no trailer: it is not a stream etcd sent.
        .arg("--skip-hash-check");
    if let Some(c) = &args.initial_cluster {
        command.args(["--initial-cluster", c]);
    }
    if let Some(u) = &args.initial_advertise_peer_urls {
        command.args(["--initial-advertise-peer-urls", u]);
    }
    if args.bump_revision > 0 {
        command.args(["--bump-revision", &args.bump_revision.to_string(), "--mark-compacted"]);
    }
    let done = command.output().map_err(|e| Failure::Outside(format!("cannot run {}: {e}", etcdutl.display())))?;
    if !done.status.success() {
        return Err(Failure::Input(format!(
            "etcdutl snapshot restore failed: {}",
            String::from_utf8_lossy(&done.stderr).trim()
        )));
    }
    report(args, &full, &replayed, out)?;
    Ok(Verdict::Pass)
}

fn report(args: &EtcdRestoreArgs, full: &Stored, replayed: &Replayed, out: &mut dyn Write) -> Result<(), Failure> {
    match output(args.output) {
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "cluster": args.cluster,
                "dataDir": args.to.display().to_string(),
                "fullSnapshot": full.id,
                "fullSnapshotTime": full.time,
                "replayed": replayed,
                "bumpedBy": args.bump_revision,
            });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        _ => {
            writeln!(
                out,
                "etcd of `{}` restored to revision {} in {}: full snapshot {} (revision {}, {}) plus {} changes from {} delta segments{}",
                args.cluster,
                replayed.revision,
                args.to.display(),
                &full.id[..8],
                replayed.snapshot_revision,
                full.time,
                replayed.events,
                replayed.segments,
                if replayed.leases > 0 { format!(", {} leases recreated", replayed.leases) } else { String::new() }
            )?;
            if args.bump_revision > 0 {
                writeln!(
                    out,
                    "revision bumped by {} and marked compacted: API servers' watch caches relist instead of serving newer objects",
                    args.bump_revision
                )?;
            }
            writeln!(
                out,
                "next: start etcd with --data-dir {} (and --name {}), then the API servers",
                args.to.display(),
                args.name
            )?;
        }
    }
    Ok(())
}

/// Seconds since the epoch of an RFC 3339 time, or of a duration ago (`2h`).
fn parse_time(text: &str) -> Result<i64, Failure> {
    if let Ok(t) = humantime::parse_rfc3339_weak(text) {
        return t
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .map_err(|_| Failure::Usage(format!("--time {text}: before 1970")));
    }
    let ago = humantime::parse_duration(text).map_err(|_| {
        Failure::Usage(format!("--time {text}: give an RFC 3339 time (2026-12-01T03:00:00Z) or a duration ago (2h)"))
    })?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Ok(i64::try_from(now.saturating_sub(ago).as_secs()).unwrap_or(0))
}

/// A program on PATH.
fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(program)).find(|p| p.is_file())
}
