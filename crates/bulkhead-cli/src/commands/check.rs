//! `bulkhead check`: every analysis, one verdict. The pipeline itself is
//! `bulkhead-engine`; this module loads, reads the clusters when asked, and
//! prints.

use std::io::Write;

use bulkhead_model::Verdict;
use bulkhead_model::{LoadOptions, Severity, load};
use bulkhead_report::{CheckReport, OutputFormat};

use super::Printer;
use crate::error::Failure;
use crate::settings::{CheckSettings, GlobalSettings};

/// Runs the command.
///
/// # Errors
/// When writing fails or Bulkhead's own schemas are broken.
pub fn run(settings: &CheckSettings, global: GlobalSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let loaded = load(&settings.fleet, LoadOptions::default())?;
    let usable = loaded.fleet.as_ref().filter(|_| !loaded.has_errors());
    let live = match usable.filter(|_| settings.live) {
        Some(fleet) => Some(crate::runtime::block_on(bulkhead_jobs::read_live(fleet))?),
        None => None,
    };
    let backups = match usable.filter(|_| settings.live || settings.repos) {
        Some(fleet) => {
            Some(crate::runtime::block_on(bulkhead_jobs::read_backups(fleet, &super::recovery::environment()))?)
        }
        None => None,
    };
    let options = bulkhead_jobs::CheckOptions { fail_on: settings.fail_on };
    let result = bulkhead_jobs::check(&loaded, live.as_ref(), backups.as_ref(), options);
    let printer = Printer { fleet: &settings.fleet, format: settings.output, global, suite: "check" };
    let report = CheckReport {
        fleet: result.fleet.clone(),
        stages: result.stages.clone(),
        verdict: result.verdict,
        diagnostics: &result.diagnostics,
    };
    match settings.output {
        OutputFormat::Human => {
            printer.diagnostics(out, &result.diagnostics, &loaded)?;
            report.write_summary(out)?;
            if result.verdict == Verdict::Pass
                && settings.fail_on == Severity::Error
                && report.stages.iter().any(|s| s.counts.warnings > 0)
            {
                writeln!(out, "(warnings do not fail the check; `--fail-on warning` makes them)")?;
            }
        }
        OutputFormat::Json => report.write_json(out)?,
        OutputFormat::Sarif | OutputFormat::Junit => printer.diagnostics(out, &result.diagnostics, &loaded)?,
    }
    let verdict = result.verdict;
    super::at_exit(result);
    super::at_exit(live);
    super::at_exit(loaded);
    Ok(verdict)
}
