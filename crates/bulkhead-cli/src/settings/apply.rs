//! `render`, `plan`, `apply` and `drift`: the fleet's code against its
//! clusters, with the flags resolved.

use std::path::PathBuf;
use std::time::Duration;

use bulkhead_report::OutputFormat;

use super::Format;
use crate::args::{ApplyArgs, DriftArgs, ExtractOutput, PlanArgs, RenderArgs, TargetArgs};

/// The clusters a command works on, and how many at once.
#[derive(Debug, Clone)]
pub struct Targets {
    /// By name; empty: every cluster with `access`.
    pub clusters: Vec<String>,
    /// Clusters read at once.
    pub parallel: usize,
}

impl Targets {
    fn resolve(args: TargetArgs) -> Self {
        Self { clusters: args.clusters, parallel: usize::from(args.parallel) }
    }
}

/// `render`, resolved (it writes objects, YAML or JSON).
#[derive(Debug, Clone)]
pub struct RenderSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// The cluster whose objects are written.
    pub cluster: String,
    /// YAML or JSON.
    pub output: ExtractOutput,
}

impl RenderSettings {
    /// Resolves the flags.
    pub fn resolve(args: RenderArgs) -> Self {
        Self { fleet: args.fleet.fleet, cluster: args.cluster, output: args.output }
    }
}

/// `plan`, resolved.
#[derive(Debug, Clone)]
pub struct PlanSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// The clusters planned.
    pub targets: Targets,
    /// Where the plan is saved for `apply`, if anywhere.
    pub out: Option<PathBuf>,
    /// Output format.
    pub output: OutputFormat,
}

impl PlanSettings {
    /// Resolves the flags.
    pub fn resolve(args: PlanArgs) -> Self {
        Self {
            fleet: args.fleet.fleet,
            targets: Targets::resolve(args.targets),
            out: args.out,
            output: args.output.format(),
        }
    }
}

/// `apply`, resolved.
#[derive(Debug, Clone)]
pub struct ApplySettings {
    /// A fleet, or a plan `plan --out` saved.
    pub target: PathBuf,
    /// The clusters applied to.
    pub targets: Targets,
    /// Approve every wave without asking.
    pub yes: bool,
    /// Clusters of one wave applied at once.
    pub max_parallel: usize,
    /// How long a wave's workloads may take to roll out.
    pub health_timeout: Duration,
    /// Refuse a plan deleting more than this percentage of the objects
    /// Bulkhead manages on a cluster.
    pub max_delete: u8,
    /// Apply even past `max_delete`.
    pub allow_mass_delete: bool,
    /// Output format.
    pub output: OutputFormat,
}

impl ApplySettings {
    /// Resolves the flags.
    pub fn resolve(args: ApplyArgs) -> Self {
        Self {
            target: args.target,
            targets: Targets::resolve(args.targets),
            yes: args.yes,
            max_parallel: usize::from(args.max_parallel),
            health_timeout: args.health_timeout,
            max_delete: args.max_delete,
            allow_mass_delete: args.allow_mass_delete,
            output: args.output.format(),
        }
    }
}

/// `drift`, resolved.
#[derive(Debug, Clone)]
pub struct DriftSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// The clusters compared.
    pub targets: Targets,
    /// Output format.
    pub output: OutputFormat,
}

impl DriftSettings {
    /// Resolves the flags.
    pub fn resolve(args: DriftArgs) -> Self {
        Self { fleet: args.fleet.fleet, targets: Targets::resolve(args.targets), output: args.output.format() }
    }
}
