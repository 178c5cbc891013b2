//! Why a command could not finish, sorted by whose move it is (as uv sorts
//! user, argument and unexpected failures). Each kind has one exit code, and
//! every kind is printed in the output format the user asked for, so a
//! script reading `--output json` always gets JSON.

use std::io;
use std::path::Path;

use bulkhead_model::{Code, Diagnostic, Fault};

/// Exit code: everything passed.
pub const EXIT_OK: u8 = 0;
/// Exit code: a check found problems (a policy failed).
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: bad input or usage.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code: the outside world failed (cluster unreachable, storage down).
pub const EXIT_OUTSIDE: u8 = 3;
/// Exit code: a bug in Bulkhead. The same code a Rust panic exits with, so
/// "Bulkhead itself is broken" is one code whichever way it broke.
pub const EXIT_BUG: u8 = 101;

/// A command that could not finish.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// A flag or argument that cannot work, found after parsing.
    #[error("{0}")]
    Usage(String),
    /// Input that cannot be used: a file that cannot be read or written,
    /// a value that does not parse.
    #[error("{0}")]
    Input(String),
    /// The outside world failed: a cluster, storage, the terminal.
    #[error("{0}")]
    Outside(String),
    /// Writing the report failed (a closed pipe ends quietly).
    #[error("cannot write the output: {0}")]
    Output(#[from] io::Error),
    /// Bulkhead itself is broken.
    #[error("a bug in Bulkhead: {0}; please report it")]
    Bug(String),
    /// A job could not be planned or run; the error says whose move it is
    /// and keeps its sources.
    #[error(transparent)]
    Job(#[from] bulkhead_jobs::Error),
}

impl From<bulkhead_repository::Error> for Failure {
    fn from(e: bulkhead_repository::Error) -> Self {
        Self::Job(e.into())
    }
}

impl From<bulkhead_dr::Error> for Failure {
    fn from(e: bulkhead_dr::Error) -> Self {
        Self::Job(e.into())
    }
}

impl From<bulkhead_kube::Error> for Failure {
    fn from(e: bulkhead_kube::Error) -> Self {
        Self::Job(e.into())
    }
}

impl Failure {
    /// A local file the user named that cannot be written: their input.
    pub fn cannot_write(path: &Path, error: &io::Error) -> Self {
        Self::Input(format!("cannot write {}: {error}", path.display()))
    }

    /// The exit code of this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) | Self::Input(_) => EXIT_BAD_INPUT,
            Self::Outside(_) | Self::Output(_) => EXIT_OUTSIDE,
            Self::Bug(_) => EXIT_BUG,
            Self::Job(e) => match e.fault() {
                Fault::Input => EXIT_BAD_INPUT,
                Fault::Outside => EXIT_OUTSIDE,
                Fault::Bug => EXIT_BUG,
            },
        }
    }

    /// Whether this is a reader that went away (`bulkhead … | head`).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Self::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }

    /// The failure as a diagnostic, for the machine-readable formats.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let code = match self {
            Self::Usage(_) => Code::new("usage"),
            Self::Job(e) if e.is_usage() => Code::new("usage"),
            Self::Input(_) => Code::new("bad-input"),
            Self::Outside(_) | Self::Output(_) => Code::new("outside-world"),
            Self::Bug(_) => Code::new("internal-error"),
            Self::Job(e) => match e.fault() {
                Fault::Input => Code::new("bad-input"),
                Fault::Outside => Code::new("outside-world"),
                Fault::Bug => Code::new("internal-error"),
            },
        };
        Diagnostic::error(code, Path::new(""), None, self.to_string())
    }
}

impl From<serde_json::Error> for Failure {
    fn from(e: serde_json::Error) -> Self {
        // serde_json fails on a writer only when the writer does.
        Self::Output(io::Error::other(e))
    }
}

impl From<bulkhead_model::Error> for Failure {
    fn from(e: bulkhead_model::Error) -> Self {
        // The model fails only when its embedded schemas are broken.
        Self::Bug(e.to_string())
    }
}
