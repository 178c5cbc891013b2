//! One module per subcommand. Each takes resolved settings and a writer for
//! its report, and returns the verdict that becomes the exit code, or a
//! [`Failure`] that says why it could not finish.

pub mod apply;
pub mod audit;
pub mod backup;
pub mod blast;
pub mod check;
pub mod drill;
pub mod etcd;
pub mod export;
pub mod net;
mod plain_manifests;
mod recovery;
pub mod report;
pub mod restore;
pub mod retention;
pub mod schema;
pub mod serve;
pub mod snapshots;
pub mod traffic;
pub mod validate;

use std::io::Write;
use std::path::Path;

use bulkhead_model::Verdict;
use bulkhead_model::{Diagnostic, Loaded, Severity};
use bulkhead_report::{DiagnosticsReport, OutputFormat};

use crate::error::Failure;
use crate::settings::GlobalSettings;

/// Lets a large value go without freeing it: the process is about to exit,
/// and tearing down the tree of a big fleet (every manifest's YAML, JSON and
/// typed objects) took 15% of `validate`'s time, for nothing.
pub(crate) fn at_exit<T>(value: T) {
    std::mem::forget(value);
}

/// How a command that stops on bad input prints it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Printer<'a> {
    /// The fleet argument, for the paths diagnostics show.
    pub fleet: &'a Path,
    /// The output format.
    pub format: OutputFormat,
    /// Human style.
    pub global: GlobalSettings,
    /// The command, for JUnit.
    pub suite: &'a str,
}

impl Printer<'_> {
    /// Prints `diagnostics` in the chosen format (human: with the lines they
    /// point at).
    pub(crate) fn diagnostics(
        &self,
        out: &mut dyn Write,
        diagnostics: &[Diagnostic],
        loaded: &Loaded,
    ) -> Result<(), Failure> {
        let root = validate::display_root(self.fleet);
        let report = DiagnosticsReport {
            diagnostics,
            sources: &loaded.sources,
            root: &root,
            suite: self.suite,
            files: &loaded.files,
        };
        report.write(out, self.format, self.global.style)?;
        Ok(())
    }
}

/// Loads a fleet for a command that analyses it. When the fleet has errors
/// they are printed (in the chosen format) and `None` comes back (the
/// verdict is then bad input); otherwise the loaded fleet, whose `fleet` is
/// always set.
pub(crate) fn load_valid(
    printer: Printer<'_>,
    manifests: bool,
    out: &mut dyn Write,
) -> Result<Option<Loaded>, Failure> {
    let loaded = bulkhead_model::load(printer.fleet, bulkhead_model::LoadOptions { manifests })?;
    require_valid(printer, loaded, out)
}

/// [`load_valid`] for a fleet already loaded.
pub(crate) fn require_valid(
    printer: Printer<'_>,
    loaded: Loaded,
    out: &mut dyn Write,
) -> Result<Option<Loaded>, Failure> {
    if loaded.fleet.is_some() && !loaded.has_errors() {
        return Ok(Some(loaded));
    }
    printer.diagnostics(out, &loaded.diagnostics, &loaded)?;
    if printer.format == OutputFormat::Human {
        writeln!(out, "the fleet has errors; fix them first (`bulkhead validate` lists them all)")?;
    }
    Ok(None)
}

/// The verdict of an analysis: bad input first, then an unreachable
/// cluster, then a finding at or above `fail_on`.
pub(crate) fn verdict_of(diagnostics: &[Diagnostic], fail_on: Severity, invalid: bool, unreachable: bool) -> Verdict {
    if invalid {
        Verdict::Invalid
    } else if unreachable {
        Verdict::Unreachable
    } else if diagnostics.iter().any(|d| d.severity >= fail_on) {
        Verdict::Fail
    } else {
        Verdict::Pass
    }
}
