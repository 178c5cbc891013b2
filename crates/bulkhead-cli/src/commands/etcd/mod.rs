//! `bulkhead etcd`: a self-managed control plane's etcd, backed up
//! (`snapshot`) and read offline (`inspect`, `extract`).

pub mod extract;
pub mod forget;
pub mod inspect;
pub mod restore;
mod source;
pub mod watch;

use std::io::Write;

use bulkhead_model::Verdict;
use bulkhead_report::OutputFormat;

use super::recovery::{ProgressDisplay, environment, load_fleet};
use crate::error::Failure;
use crate::settings::EtcdSnapshotSettings;

/// Runs `etcd snapshot`.
///
/// # Errors
/// Bad flags or fleet (exit 2), etcd or the repository unreachable (exit 3).
pub fn snapshot(settings: &EtcdSnapshotSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&settings.fleet)?;
    let plan = bulkhead_jobs::etcd::plan_snapshot(&fleet, &settings.job, &environment())?;
    let display = ProgressDisplay::bytes_counter();
    let done = crate::runtime::block_on(bulkhead_jobs::etcd::snapshot(&fleet, plan, &|p| display.update(p)))??;
    drop(display);
    let (taken, stored) = (&done.taken, &done.stored);
    match settings.output {
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "cluster": done.cluster,
                "revision": taken.revision,
                "bytes": taken.bytes,
                "sha256": taken.sha256,
                "etcdVersion": taken.etcd_version,
                "seconds": taken.seconds,
                "file": done.file.as_ref().map(|p| p.display().to_string()),
                "repository": stored.as_ref().map(|(name, _)| name),
                "snapshot": stored.as_ref().map(|(_, s)| s),
            });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        _ => {
            writeln!(
                out,
                "etcd of `{}` at revision {}: {}, SHA-256 {} verified (etcd {}, {:.1} s)",
                done.cluster,
                taken.revision,
                bulkhead_report::size::bytes(taken.bytes),
                taken.sha256,
                taken.etcd_version,
                taken.seconds
            )?;
            if let Some(path) = &done.file {
                writeln!(out, "written to {}", path.display())?;
            }
            if let Some((name, s)) = &stored {
                writeln!(out, "stored in repository `{name}` as snapshot {}", s.id)?;
            }
        }
    }
    Ok(Verdict::Pass)
}
