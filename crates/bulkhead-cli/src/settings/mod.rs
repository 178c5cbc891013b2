//! Flags and environment, resolved once into what commands need. Commands
//! never see raw flags: the analyses' settings are here, the recovery
//! commands' in [`recovery`] and [`etcd`] (the jobs layer's requests, built
//! from the flags), `render`/`plan`/`apply`/`drift` in [`apply`], and the
//! long-running `serve`, `jobs` and `traffic serve` in [`serve`]. A flag
//! that does not read stops the command here, before it loads or contacts
//! anything, and is printed in the format the command was asked for.

use std::io::IsTerminal;
use std::path::PathBuf;

use bulkhead_model::Severity;
use bulkhead_report::{OutputFormat, Style};

use crate::args::{
    AuditArgs, BlastArgs, CheckArgs, ColorChoice, DataOutput, DataOutputArg, DrillOutput, FailOn, FailOnAll,
    GlobalArgs, NetCheckArgs, NetPlanArgs, Output, PlanOutput, ReportArgs, ValidateArgs,
};
use crate::env_vars;

mod apply;
mod etcd;
mod recovery;
mod serve;
pub use apply::*;
pub use etcd::*;
pub use recovery::*;
pub use serve::*;

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
    /// Run against the live clusters.
    pub live: bool,
    /// Read the backup repositories (implied by `live`).
    pub repos: bool,
    /// Output format.
    pub output: OutputFormat,
}

impl CheckSettings {
    /// Resolves the flags.
    pub fn resolve(args: CheckArgs) -> Self {
        Self {
            fleet: args.fleet.fleet,
            fail_on: fail_on(args.fail_on),
            live: args.live,
            repos: args.repos,
            output: output(args.output),
        }
    }
}

/// `audit`'s settings.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// Read the clusters instead of the manifests.
    pub live: bool,
    /// Plain manifests to audit without a fleet (a path, or `-`).
    pub manifests: Option<PathBuf>,
    /// The tier plain manifests are judged as.
    pub tier: u8,
    /// List the checks and exit.
    pub list_checks: bool,
    /// The lowest severity that fails.
    pub fail_on: Severity,
    /// Output format.
    pub output: OutputFormat,
}

impl AuditSettings {
    /// Resolves the flags.
    pub fn resolve(args: AuditArgs) -> Self {
        let fail_on = match args.fail_on {
            FailOnAll::Error => Severity::Error,
            FailOnAll::Warning => Severity::Warning,
            FailOnAll::Info => Severity::Info,
        };
        Self {
            fleet: args.fleet.fleet,
            live: args.live,
            manifests: args.manifests,
            tier: args.tier,
            list_checks: args.list_checks,
            fail_on,
            output: output(args.output),
        }
    }
}

/// `blast`'s settings.
#[derive(Debug, Clone)]
pub struct BlastSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// 1 or 2.
    pub depth: u8,
    /// Use running pods.
    pub live: bool,
    /// Read the drill records of the backup repositories.
    pub repos: bool,
    /// One failure to predict: level and name.
    pub simulate: Option<(bulkhead_model::spec::DomainLevel, String)>,
    /// Policies that fail the run.
    pub fail_on: Vec<bulkhead_blast::Policy>,
    /// Where to write HTML.
    pub html: Option<PathBuf>,
    /// Output format.
    pub output: OutputFormat,
}

impl BlastSettings {
    /// Resolves the flags.
    ///
    /// # Errors
    /// When `--fail-on` or `--simulate` do not parse.
    pub fn resolve(args: BlastArgs) -> Result<Self, String> {
        let fail_on = args
            .fail_on
            .iter()
            .map(|p| p.parse::<bulkhead_blast::Policy>().map_err(|e| format!("--fail-on {p}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let simulate = match &args.simulate {
            None => None,
            Some(text) => {
                let (level, name) = text
                    .split_once('=')
                    .ok_or_else(|| format!("--simulate {text}: write LEVEL=NAME, such as zone=us-east-1a"))?;
                let level = bulkhead_model::spec::DomainLevel::ALL
                    .into_iter()
                    .find(|l| l.as_str() == level)
                    .ok_or_else(|| {
                        format!(
                            "--simulate {text}: `{level}` is not a level (provider, region, zone, rack, node, cluster)"
                        )
                    })?;
                Some((level, name.to_string()))
            }
        };
        Ok(Self {
            fleet: args.fleet.fleet,
            depth: args.depth,
            live: args.live,
            repos: args.repos,
            simulate,
            fail_on,
            html: args.html,
            output: output(args.output),
        })
    }
}

/// What `net plan` does with the lock file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Write it when it changes.
    Write,
    /// Fail when it would change.
    Locked,
    /// Leave it alone.
    DryRun,
}

/// `net plan`'s settings.
#[derive(Debug, Clone)]
pub struct NetPlanSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// What to do with the lock file.
    pub lock: LockMode,
    /// Where to write Terraform variables, if anywhere.
    pub tfvars: Option<PathBuf>,
    /// JSON instead of a table.
    pub json: bool,
}

impl NetPlanSettings {
    /// Resolves the flags.
    pub fn resolve(args: NetPlanArgs) -> Self {
        let lock = match (args.locked, args.dry_run) {
            (true, _) => LockMode::Locked,
            (_, true) => LockMode::DryRun,
            _ => LockMode::Write,
        };
        // The variable sets a default for every command; it applies only
        // where the value is one this command accepts.
        let output = flag_or_env(args.output, PlanOutput::Human);
        Self { fleet: args.fleet.fleet, lock, tfvars: args.tfvars, json: output == PlanOutput::Json }
    }
}

/// `report`'s settings.
#[derive(Debug, Clone)]
pub struct ReportSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// Where the dashboard's files go.
    pub html: PathBuf,
}

impl ReportSettings {
    /// Resolves the flags.
    pub fn resolve(args: ReportArgs) -> Self {
        Self { fleet: args.fleet.fleet, html: args.html }
    }
}

/// `net check`'s settings.
#[derive(Debug, Clone)]
pub struct NetCheckSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// Read the clusters too.
    pub live: bool,
    /// A ranges file to check as well.
    pub ranges: Option<PathBuf>,
    /// The lowest severity that fails the check.
    pub fail_on: Severity,
    /// Output format.
    pub output: OutputFormat,
}

impl NetCheckSettings {
    /// Resolves the flags.
    pub fn resolve(args: NetCheckArgs) -> Self {
        Self {
            fleet: args.fleet.fleet,
            live: args.live,
            ranges: args.ranges,
            fail_on: fail_on(args.fail_on),
            output: output(args.output),
        }
    }
}

fn fail_on(f: FailOn) -> Severity {
    match f {
        FailOn::Error => Severity::Error,
        FailOn::Warning => Severity::Warning,
    }
}

/// An `--output` value: what a command prints.
pub trait Format {
    /// The report format it means.
    fn format(self) -> OutputFormat;
}

impl Format for Output {
    fn format(self) -> OutputFormat {
        match self {
            Output::Human => OutputFormat::Human,
            Output::Json => OutputFormat::Json,
            Output::Sarif => OutputFormat::Sarif,
            Output::Junit => OutputFormat::Junit,
        }
    }
}

impl Format for PlanOutput {
    fn format(self) -> OutputFormat {
        match self {
            PlanOutput::Human => OutputFormat::Human,
            PlanOutput::Json => OutputFormat::Json,
        }
    }
}

/// The flag, else `BULKHEAD_OUTPUT` when it names a format this command
/// prints (the variable sets a default for every command; the analyses
/// print more formats than the rest), else human.
fn flag_or_env<T: clap::ValueEnum + Copy>(flag: Option<T>, human: T) -> T {
    flag.or_else(|| {
        let value = std::env::var(crate::env_vars::BULKHEAD_OUTPUT).ok()?;
        T::from_str(&value, true).ok()
    })
    .unwrap_or(human)
}

impl Format for Option<DataOutput> {
    fn format(self) -> OutputFormat {
        match flag_or_env(self, DataOutput::Human) {
            DataOutput::Human => OutputFormat::Human,
            DataOutput::Json => OutputFormat::Json,
        }
    }
}

impl Format for Option<DrillOutput> {
    fn format(self) -> OutputFormat {
        match flag_or_env(self, DrillOutput::Human) {
            DrillOutput::Human => OutputFormat::Human,
            DrillOutput::Json => OutputFormat::Json,
            DrillOutput::Junit => OutputFormat::Junit,
        }
    }
}

impl Format for DataOutputArg {
    fn format(self) -> OutputFormat {
        self.output.format()
    }
}

/// The report format of an `--output` value.
pub fn output(o: impl Format) -> OutputFormat {
    o.format()
}

/// `bulkhead export`, resolved.
#[derive(Debug, Clone)]
pub struct ExportSettings {
    /// The fleet directory or file (with `--cluster`).
    pub fleet: PathBuf,
    /// Which cluster, and how to reach it.
    pub source: ExportSource,
    /// Only these namespaces; empty: all.
    pub namespaces: Vec<String>,
    /// A directory for the tree; `None`: the stream on standard output.
    pub out: Option<PathBuf>,
    /// Resources listed at once.
    pub parallel: usize,
}

/// The cluster `export` reads.
#[derive(Debug, Clone)]
pub enum ExportSource {
    /// A cluster of the fleet, by name.
    Fleet(String),
    /// A kubeconfig and (optionally) its context.
    Kubeconfig(PathBuf, Option<String>),
}

impl ExportSettings {
    /// Resolves the flags.
    pub fn resolve(args: crate::args::ExportArgs) -> Self {
        // clap requires one of `--cluster` and `--kubeconfig`.
        let source = match args.kubeconfig {
            Some(path) => ExportSource::Kubeconfig(path, args.context),
            None => ExportSource::Fleet(args.cluster.unwrap_or_default()),
        };
        Self {
            fleet: args.fleet.fleet,
            source,
            namespaces: args.namespaces,
            out: (args.out.as_os_str() != "-").then_some(args.out),
            parallel: usize::from(args.parallel),
        }
    }
}
