//! The verdict of `bulkhead check`: one line per analysis, then one word.

use std::io::{self, Write};

use bulkhead_model::{Diagnostic, Stage, StageStatus, Verdict};
use serde::Serialize;

use crate::table::Table;

/// Everything `check` reports.
#[derive(Debug, Serialize)]
pub struct CheckReport<'a> {
    /// The fleet's name, when it could be read.
    pub fleet: Option<String>,
    /// The analyses, in the order they ran.
    pub stages: Vec<Stage>,
    /// The outcome.
    pub verdict: Verdict,
    /// Every finding of every stage.
    pub diagnostics: &'a [Diagnostic],
}

impl CheckReport<'_> {
    /// Writes the stage table and the verdict line.
    ///
    /// # Errors
    /// When the writer fails.
    pub fn write_summary(&self, w: &mut dyn Write) -> io::Result<()> {
        let mut table = Table::new(["check", "result", "errors", "warnings", "notes", "covered"]);
        for s in &self.stages {
            let status = match s.status {
                StageStatus::Passed => "passed",
                StageStatus::Failed => "FAILED",
                StageStatus::Skipped => "skipped",
            };
            table.row([
                s.name.clone(),
                status.to_string(),
                s.counts.errors.to_string(),
                s.counts.warnings.to_string(),
                s.counts.infos.to_string(),
                s.detail.clone(),
            ]);
        }
        match &self.fleet {
            Some(name) => writeln!(w, "fleet `{name}`")?,
            None => writeln!(w, "fleet could not be read")?,
        }
        table.write(w)?;
        writeln!(w, "\nverdict: {}", self.verdict.as_str())
    }

    /// Writes the whole report as one JSON document.
    ///
    /// # Errors
    /// When the writer fails.
    pub fn write_json(&self, w: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *w, self)?;
        writeln!(w)
    }
}
