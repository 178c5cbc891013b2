//! What a run of Bulkhead decided: the verdict (one exit code each), the
//! analyses of a check and their counts. These are decided by the jobs
//! layer and printed by the report crate; they live here so that neither
//! depends on the other and a server's API can name them too.

use schemars::JsonSchema;
use serde::Serialize;

use crate::{Diagnostic, Severity};

/// The outcome of a whole run. Each maps to one exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
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

/// Diagnostics per severity.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq, JsonSchema)]
pub struct SeverityCounts {
    /// Errors.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
    /// Notes.
    pub infos: usize,
}

impl SeverityCounts {
    /// Counts a list.
    pub fn of<'a>(diagnostics: impl IntoIterator<Item = &'a Diagnostic>) -> Self {
        let mut c = Self::default();
        for d in diagnostics {
            match d.severity {
                Severity::Error => c.errors += 1,
                Severity::Warning => c.warnings += 1,
                Severity::Info => c.infos += 1,
            }
        }
        c
    }
}

/// How one analysis went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
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
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Stage {
    /// Its name, as the subcommand that runs it alone.
    pub name: String,
    /// How it went.
    pub status: StageStatus,
    /// Its findings per severity.
    pub counts: SeverityCounts,
    /// One line about what it covered.
    pub detail: String,
}

impl Stage {
    /// A stage from its findings: failed when any is at or above `fail_on`.
    pub fn from_findings(name: &str, findings: &[Diagnostic], fail_on: Severity, detail: String) -> Self {
        let failed = findings.iter().any(|d| d.severity >= fail_on);
        Self {
            name: name.to_string(),
            status: if failed { StageStatus::Failed } else { StageStatus::Passed },
            counts: SeverityCounts::of(findings),
            detail,
        }
    }

    /// A stage that did not run.
    pub fn skipped(name: &str, why: &str) -> Self {
        Self {
            name: name.to_string(),
            status: StageStatus::Skipped,
            counts: SeverityCounts::default(),
            detail: why.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_fails_only_at_or_above_its_severity() {
        let warning = Diagnostic::new(Severity::Warning, crate::Code::new("X001"), "fleet.yaml", None, "w");
        let findings = [warning];
        assert_eq!(Stage::from_findings("a", &findings, Severity::Error, String::new()).status, StageStatus::Passed);
        let failed = Stage::from_findings("a", &findings, Severity::Warning, String::new());
        assert_eq!(failed.status, StageStatus::Failed);
        assert_eq!(failed.counts, SeverityCounts { errors: 0, warnings: 1, infos: 0 });
    }
}
