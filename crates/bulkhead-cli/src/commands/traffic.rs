//! `bulkhead traffic serve`: one instance of the traffic DNS, served by
//! the jobs layer until Ctrl-C, SIGTERM or `--for`.

use std::io::Write;

use bulkhead_jobs::CancellationToken;
use bulkhead_model::Verdict;

use super::recovery::load_fleet_with;
use crate::error::Failure;
use crate::settings::TrafficServeSettings;

/// Runs `traffic serve` until Ctrl-C, SIGTERM or `--for`.
///
/// # Errors
/// A fleet without a traffic zone, an unknown instance or a bad key (exit 2);
/// an address that cannot be listened on (exit 3).
pub fn serve_command(settings: &TrafficServeSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    // With the manifests: the apps' workloads are read from them.
    let fleet = load_fleet_with(&settings.fleet, true)?;
    let job = settings.job.clone();
    // A bad key or zone is refused before anything listens.
    bulkhead_jobs::traffic::plan(&fleet, &job)?;
    let run_for = settings.run_for;
    let cancel = CancellationToken::new();
    crate::runtime::block_on(async move {
        crate::runtime::cancel_on_signals(cancel.clone(), run_for);
        bulkhead_jobs::traffic::serve_dns(&fleet, &job, cancel).await
    })??;
    writeln!(out, "stopped").map_err(|e| Failure::Outside(e.to_string()))?;
    Ok(Verdict::Pass)
}
