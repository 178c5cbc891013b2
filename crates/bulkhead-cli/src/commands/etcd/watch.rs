//! `bulkhead etcd watch`: continuous backup of a cluster's etcd into the
//! fleet's repository.

use std::io::Write;
use std::sync::Mutex;

use bulkhead_etcd::watch::Report;
use bulkhead_jobs::CancellationToken;
use bulkhead_model::Verdict;
use bulkhead_report::OutputFormat;

use super::super::recovery::{environment, load_fleet};
use crate::error::Failure;
use crate::settings::EtcdWatchSettings;

/// Runs `etcd watch`.
///
/// # Errors
/// Bad flags or fleet (exit 2); the repository unreachable at the start (exit 3).
pub fn run(settings: &EtcdWatchSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&settings.fleet)?;
    let json = settings.output == OutputFormat::Json;
    // Reports go out as they happen, from the watch's tasks.
    let out = Mutex::new(out);
    let report = |r: Report| {
        let line = if json { serde_json::to_string(&r).unwrap_or_default() } else { describe(&r) };
        if let Ok(mut out) = out.lock() {
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    };
    let cancel = CancellationToken::new();
    crate::runtime::block_on(bulkhead_jobs::etcd::watch(&fleet, &settings.job, &environment(), &report, &cancel))??;
    Ok(Verdict::Pass)
}

/// A report, for people.
fn describe(r: &Report) -> String {
    match r {
        Report::Full { revision, bytes, why } => {
            format!("full snapshot at revision {revision} stored ({}): {why}", bulkhead_report::size::bytes(*bytes))
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
