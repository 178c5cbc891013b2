//! `bulkhead report --html DIR`: the dashboard of an offline fleet, as
//! files. The views are the server's own (`bulkhead_serve::offline_views`),
//! so the page reads them exactly as it reads the API.

use std::io::Write;

use bulkhead_model::Verdict;

use crate::error::Failure;
use crate::settings::ReportSettings;

/// Writes the files and says where.
///
/// # Errors
/// A fleet that cannot be used (exit 2), a folder that cannot be written.
pub fn run(settings: &ReportSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let views = bulkhead_serve::offline_views(&settings.fleet).map_err(super::serve::failure)?;
    bulkhead_serve::dashboard::write_offline(&settings.html, &views)
        .map_err(|e| Failure::Input(format!("cannot write the dashboard into {}: {e}", settings.html.display())))?;
    let apps = views["apps"].as_array().map_or(0, Vec::len);
    writeln!(out, "wrote the dashboard of {apps} apps into {} (open index.html)", settings.html.join("").display())?;
    Ok(Verdict::Pass)
}
