//! The verdict of `bulkhead check`: one line per analysis, then one word.

use std::io::{self, Write};

use bulkhead_model::Diagnostic;
use serde::Serialize;

use crate::diagnostics::Counts;
use crate::table::Table;

/// The outcome of a whole check. Each maps to one exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Everything passed (exit 0).
    Pass,
    /// A policy failed: findings at or above the chosen severity (exit 1).
    Fail,
    /// The input is not usable (exit 2).
    Invalid,
    /// The outside world failed: a cluster or storage could not be reached (exit 3).
    Unreachable,
}

impl Verdict {
    /// The verdict as shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::Invalid => "INVALID INPUT",
            Self::Unreachable => "UNREACHABLE",
        }
    }
}

/// How one analysis went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    /// Found nothing at or above the failing severity.
    Passed,
    /// Found something at or above the failing severity.
    Failed,
    /// Could not run because an earlier stage failed on bad input.
    Skipped,
}

/// One analysis of the check.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    /// Its name, as the subcommand that runs it alone.
    pub name: String,
    /// How it went.
    pub status: StageStatus,
    /// Its findings per severity.
    pub counts: Counts,
    /// One line about what it covered.
    pub detail: String,
}

impl Stage {
    /// A stage from its findings: failed when any is at or above `fail_on`.
    pub fn from_findings(
        name: &str,
        findings: &[Diagnostic],
        fail_on: bulkhead_model::Severity,
        detail: String,
    ) -> Self {
        let failed = findings.iter().any(|d| d.severity >= fail_on);
        Self {
            name: name.to_string(),
            status: if failed { StageStatus::Failed } else { StageStatus::Passed },
            counts: Counts::of(findings),
            detail,
        }
    }

    /// A stage that did not run.
    pub fn skipped(name: &str, why: &str) -> Self {
        Self {
            name: name.to_string(),
            status: StageStatus::Skipped,
            counts: Counts::default(),
            detail: why.to_string(),
        }
    }
}

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
