//! Every flag of `bulkhead`, in one place. Parsing only checks shapes;
//! [`crate::settings`] turns flags and environment into what commands use.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::env_vars;

/// Bulkhead keeps a fleet of Kubernetes clusters, across clouds and
/// bare-metal sites, reliable and recoverable, and proves it with numbers.
///
/// A fleet is a directory in git: `fleet.yaml` (providers, clusters, apps,
/// recovery plans) and the apps' manifests. Start with:
///
///   bulkhead check examples/multicloud
#[derive(Debug, Parser)]
#[command(name = "bulkhead", version, propagate_version = true, max_term_width = 100)]
#[command(
    after_help = "Exit codes: 0 passed, 1 a check found problems, 2 bad input or usage, 3 the outside world failed.\nThe fleet format: docs/fleet.md; `bulkhead schema` gives it to your editor."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// Flags every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// When to colour human output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, env = env_vars::BULKHEAD_COLOR)]
    pub color: ColorChoice,

    /// Log more about what is happening (to stderr); repeat for more.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every analysis of the fleet and give one verdict (the CI job).
    ///
    /// Today: validation of fleet.yaml and every manifest. Network, audit and
    /// blast-radius analyses join as they land. Exit 0 on pass, 1 when a
    /// finding reaches `--fail-on`, 2 on bad input.
    Check(CheckArgs),

    /// Check fleet.yaml and every app manifest; report every problem.
    ///
    /// Each problem comes with file:line:column, what is wrong and a hint.
    /// Manifests are checked against the Kubernetes v1.36 API schema
    /// (unknown fields are errors). Exit 0 when the fleet is usable, 2 when
    /// it has errors.
    Validate(ValidateArgs),

    /// Print the JSON Schema of fleet.yaml, for editors.
    ///
    /// Point your editor at it, for example with a first line
    /// `# yaml-language-server: $schema=fleet.schema.json`.
    Schema,
}

/// Where the fleet is.
#[derive(Debug, Args)]
pub struct FleetArg {
    /// A fleet directory (holding fleet.yaml), or the path of a fleet file.
    #[arg(value_name = "DIR", env = env_vars::BULKHEAD_FLEET, default_value = ".")]
    pub fleet: PathBuf,
}

/// `bulkhead validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// Check fleet.yaml only, not the apps' manifests.
    #[arg(long)]
    pub no_manifests: bool,

    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Output::Human, env = env_vars::BULKHEAD_OUTPUT)]
    pub output: Output,
}

/// `bulkhead check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// The lowest severity that fails the check (exit 1).
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,

    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Output::Human, env = env_vars::BULKHEAD_OUTPUT)]
    pub output: Output,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Tables and source snippets for people.
    Human,
    /// One JSON document, for scripts.
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// JUnit XML, for CI test reports.
    Junit,
}

/// When to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Severity thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Fail on errors only.
    Error,
    /// Fail on warnings too.
    Warning,
}
