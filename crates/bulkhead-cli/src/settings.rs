//! Flags and environment, resolved once into what commands need. Commands
//! never see raw flags.

use std::io::IsTerminal;
use std::path::PathBuf;

use bulkhead_model::Severity;
use bulkhead_report::{OutputFormat, Style};

use crate::args::{CheckArgs, ColorChoice, FailOn, GlobalArgs, Output, ValidateArgs};
use crate::env_vars;

/// Settings every command shares.
#[derive(Debug, Clone, Copy)]
pub struct GlobalSettings {
    /// Human output style.
    pub style: Style,
}

impl GlobalSettings {
    /// Resolves colour against the terminal and `NO_COLOR`.
    pub fn resolve(args: &GlobalArgs) -> Self {
        let color = match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::env::var_os(env_vars::NO_COLOR).is_none() && std::io::stdout().is_terminal(),
        };
        Self { style: Style { color } }
    }
}

/// `validate`'s settings.
#[derive(Debug, Clone)]
pub struct ValidateSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// Whether to check manifests.
    pub manifests: bool,
    /// Output format.
    pub output: OutputFormat,
}

impl ValidateSettings {
    /// Resolves the flags.
    pub fn resolve(args: ValidateArgs) -> Self {
        Self { fleet: args.fleet.fleet, manifests: !args.no_manifests, output: output(args.output) }
    }
}

/// `check`'s settings.
#[derive(Debug, Clone)]
pub struct CheckSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// The lowest severity that fails the check.
    pub fail_on: Severity,
    /// Output format.
    pub output: OutputFormat,
}

impl CheckSettings {
    /// Resolves the flags.
    pub fn resolve(args: CheckArgs) -> Self {
        let fail_on = match args.fail_on {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
        };
        Self { fleet: args.fleet.fleet, fail_on, output: output(args.output) }
    }
}

fn output(o: Output) -> OutputFormat {
    match o {
        Output::Human => OutputFormat::Human,
        Output::Json => OutputFormat::Json,
        Output::Sarif => OutputFormat::Sarif,
        Output::Junit => OutputFormat::Junit,
    }
}
