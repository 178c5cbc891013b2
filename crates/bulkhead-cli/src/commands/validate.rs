//! `bulkhead validate`: every problem of fleet.yaml and the manifests.

use std::io::Write;

use bulkhead_model::Verdict;
use bulkhead_model::{LoadOptions, Loaded, load};
use bulkhead_report::OutputFormat;

use super::Printer;
use crate::error::Failure;
use crate::settings::{GlobalSettings, ValidateSettings};

/// Runs the command.
///
/// # Errors
/// When writing fails or Bulkhead's own schemas are broken.
pub fn run(settings: &ValidateSettings, global: GlobalSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let loaded = load(&settings.fleet, LoadOptions { manifests: settings.manifests })?;
    let printer = Printer { fleet: &settings.fleet, format: settings.output, global, suite: "validate" };
    printer.diagnostics(out, &loaded.diagnostics, &loaded)?;
    if settings.output == OutputFormat::Human {
        writeln!(out, "{}", summary_line(&loaded, settings.manifests))?;
    }
    let verdict = if loaded.has_errors() { Verdict::Invalid } else { Verdict::Pass };
    super::at_exit(loaded);
    Ok(verdict)
}

/// "checked fleet.yaml and 12 manifest files (40 objects): 0 errors, 2 warnings".
pub(crate) fn summary_line(loaded: &Loaded, manifests: bool) -> String {
    let c = bulkhead_model::SeverityCounts::of(&loaded.diagnostics);
    let what = if manifests {
        format!(
            "fleet.yaml and {} manifest file{} ({} object{})",
            loaded.counts.manifest_files,
            plural(loaded.counts.manifest_files),
            loaded.counts.objects,
            plural(loaded.counts.objects)
        )
    } else {
        "fleet.yaml".to_string()
    };
    format!(
        "checked {what}: {} error{}, {} warning{}, {} note{}",
        c.errors,
        plural(c.errors),
        c.warnings,
        plural(c.warnings),
        c.infos,
        plural(c.infos)
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The directory diagnostics' paths are relative to, as the user wrote it.
pub(crate) fn display_root(fleet: &std::path::Path) -> std::path::PathBuf {
    if fleet.is_dir() {
        fleet.to_path_buf()
    } else {
        fleet.parent().map(std::path::Path::to_path_buf).unwrap_or_default()
    }
}
