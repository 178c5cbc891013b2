//! The recovery commands' flags resolved into the jobs layer's requests:
//! backups, snapshots, retention, restores and drills. A flag that does not
//! read (a mapping without `=`, a drill named twice) stops here, before
//! anything is loaded or contacted.

use std::path::PathBuf;

use bulkhead_dr::Existing;
use bulkhead_dr::mapping::{Mapping, parse_pairs};
use bulkhead_jobs::backup::BackupJob;
use bulkhead_jobs::drill::{DrillJob, DrillTarget};
use bulkhead_jobs::restore::RestoreJob;
use bulkhead_jobs::retention::ForgetJob;
use bulkhead_jobs::snapshots::Among;
use bulkhead_report::OutputFormat;
use bulkhead_repository::{Keep, SnapshotRef};

use super::output;
use crate::args::{
    BackupCheckArgs, BackupCreateArgs, BackupDiffArgs, BackupForgetArgs, BackupListArgs, BackupPruneArgs,
    BackupShowArgs, DrillHistoryArgs, DrillRunArgs, ExistingArg, KeepArgs, RestoreArgs,
};
use crate::error::Failure;

/// `backup create`, resolved.
#[derive(Debug, Clone)]
pub struct BackupCreateSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// What to back up, and into which repository.
    pub job: BackupJob,
    /// Output format.
    pub output: OutputFormat,
}

impl BackupCreateSettings {
    /// Resolves the flags.
    pub fn resolve(args: BackupCreateArgs) -> Self {
        let job = BackupJob {
            cluster: args.cluster,
            app: args.app,
            policy: args.policy,
            namespaces: args.namespaces,
            resources: args.resources,
            exclude_resources: args.exclude_resources,
            selector: args.selector,
            include_noise: args.include_noise,
            parallel: usize::from(args.parallel),
            repository: args.repo.repo,
            skip_volume_snapshots: args.no_volume_snapshots,
            volume_snapshot_timeout: Some(args.volume_snapshot_timeout),
        };
        Self { fleet: args.fleet.fleet, job, output: output(args.output) }
    }
}

/// `backup list`, resolved.
#[derive(Debug, Clone)]
pub struct BackupListSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// The snapshots listed.
    pub among: Among,
    /// Output format.
    pub output: OutputFormat,
}

impl BackupListSettings {
    /// Resolves the flags.
    pub fn resolve(args: BackupListArgs) -> Self {
        let among = Among { repository: args.repo.repo, cluster: args.cluster, app: args.app };
        Self { fleet: args.fleet.fleet, among, output: output(args.output) }
    }
}

/// `backup check`, resolved (it prints for people only).
#[derive(Debug, Clone)]
pub struct BackupCheckSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// The repository, by name; `None`: the fleet's default.
    pub repository: Option<String>,
    /// Read every pack's data, not only the structure.
    pub read_data: bool,
}

impl BackupCheckSettings {
    /// Resolves the flags.
    pub fn resolve(args: BackupCheckArgs) -> Self {
        Self { fleet: args.fleet.fleet, repository: args.repo.repo, read_data: args.read_data }
    }
}

/// `backup show`, resolved.
#[derive(Debug, Clone)]
pub struct BackupShowSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// The snapshot shown.
    pub snapshot: SnapshotRef,
    /// Where it is looked for.
    pub among: Among,
    /// List its objects too.
    pub objects: bool,
    /// Output format.
    pub output: OutputFormat,
}

impl BackupShowSettings {
    /// Resolves the flags.
    ///
    /// # Errors
    /// A snapshot name that is neither `latest` nor (the start of) an id.
    pub fn resolve(args: BackupShowArgs) -> Result<Self, Failure> {
        Ok(Self {
            fleet: args.fleet.fleet,
            snapshot: snapshot_ref(&args.snapshot)?,
            among: Among { repository: args.repo.repo, cluster: args.cluster, app: args.app },
            objects: args.objects,
            output: output(args.output),
        })
    }
}

/// `backup diff`, resolved.
#[derive(Debug, Clone)]
pub struct BackupDiffSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// The older snapshot and the newer.
    pub snapshots: (SnapshotRef, SnapshotRef),
    /// Where they are looked for.
    pub among: Among,
    /// Output format.
    pub output: OutputFormat,
}

impl BackupDiffSettings {
    /// Resolves the flags.
    ///
    /// # Errors
    /// A snapshot name that does not read.
    pub fn resolve(args: BackupDiffArgs) -> Result<Self, Failure> {
        Ok(Self {
            fleet: args.fleet.fleet,
            snapshots: (snapshot_ref(&args.first)?, snapshot_ref(&args.second)?),
            among: Among { repository: args.repo.repo, cluster: args.cluster, app: args.app },
            output: output(args.output),
        })
    }
}

/// `backup forget`, resolved.
#[derive(Debug, Clone)]
pub struct BackupForgetSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// Which snapshots, kept by which rules.
    pub job: ForgetJob,
    /// Decide and show, remove nothing.
    pub dry_run: bool,
    /// Output format.
    pub output: OutputFormat,
}

impl BackupForgetSettings {
    /// Resolves the flags.
    pub fn resolve(args: BackupForgetArgs) -> Self {
        let job = ForgetJob {
            policy: args.policy,
            cluster: args.cluster,
            app: args.app,
            keep: keep(&args.keep),
            repository: args.repo.repo,
        };
        Self { fleet: args.fleet.fleet, job, dry_run: args.dry_run, output: output(args.output) }
    }
}

/// `backup prune`, resolved.
#[derive(Debug, Clone)]
pub struct BackupPruneSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// The repository, by name; `None`: the fleet's default.
    pub repository: Option<String>,
    /// Delete packs at once instead of marking them first.
    pub now: bool,
    /// Say what would go, delete nothing.
    pub dry_run: bool,
    /// Output format.
    pub output: OutputFormat,
}

impl BackupPruneSettings {
    /// Resolves the flags.
    pub fn resolve(args: BackupPruneArgs) -> Self {
        Self {
            fleet: args.fleet.fleet,
            repository: args.repo.repo,
            now: args.now,
            dry_run: args.dry_run,
            output: output(args.output),
        }
    }
}

/// `restore`, resolved.
#[derive(Debug, Clone)]
pub struct RestoreSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// What to restore, where, and how.
    pub job: RestoreJob,
    /// Output format.
    pub output: OutputFormat,
}

impl RestoreSettings {
    /// Resolves the flags.
    ///
    /// # Errors
    /// A snapshot name or a `--*-map` pair that does not read.
    pub fn resolve(args: RestoreArgs) -> Result<Self, Failure> {
        let usage = |e: bulkhead_dr::mapping::BadPair| Failure::Usage(e.to_string());
        let job = RestoreJob {
            snapshot: snapshot_ref(&args.from)?,
            source_cluster: args.source_cluster,
            app: args.app,
            to: args.to,
            namespaces: args.namespaces,
            kinds: args.kinds,
            mapping: Mapping {
                namespaces: parse_pairs(&args.namespace_map, "namespace").map_err(usage)?,
                storage_classes: parse_pairs(&args.storage_class_map, "storage class").map_err(usage)?,
            },
            existing: match args.existing {
                ExistingArg::Skip => Existing::Skip,
                ExistingArg::Update => Existing::Update,
                ExistingArg::Fail => Existing::Fail,
            },
            allow_empty_volumes: args.allow_empty_volumes,
            dry_run: args.dry_run,
            parallel: usize::from(args.parallel),
            repository: args.repo.repo,
        };
        Ok(Self { fleet: args.fleet.fleet, job, output: output(args.output) })
    }
}

/// `drill run`, resolved.
#[derive(Debug, Clone)]
pub struct DrillRunSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// The drill: a named one of the fleet, or an app from one cluster to another.
    pub job: DrillJob,
    /// Output format.
    pub output: OutputFormat,
}

impl DrillRunSettings {
    /// Resolves the flags.
    ///
    /// # Errors
    /// Both a drill name and `--app`, or neither with what an app drill needs.
    pub fn resolve(args: DrillRunArgs) -> Result<Self, Failure> {
        // With --app there is no drill name: a lone positional is the fleet.
        let (drill, fleet) = match (&args.app, args.name) {
            (Some(_), Some(first)) if args.fleet.fleet == std::path::Path::new(".") => (None, first.into()),
            (Some(_), Some(_)) => return Err(Failure::Usage("give a drill name or --app, not both".into())),
            (_, name) => (name, args.fleet.fleet),
        };
        let target = match (drill, args.app, args.to) {
            (Some(name), _, _) => DrillTarget::Named { name, from: args.from },
            (None, Some(app), Some(to)) => DrillTarget::App {
                app,
                from: args.from.ok_or_else(|| {
                    Failure::Usage("say which cluster's backup to restore: --from CLUSTER".to_string())
                })?,
                to,
            },
            _ => return Err(Failure::Usage("name a drill of fleet.yaml, or give --app, --from and --to".into())),
        };
        let job = DrillJob {
            target,
            timeout: args.timeout,
            parallel: usize::from(args.parallel),
            keep: args.keep,
            repository: args.repo.repo,
        };
        Ok(Self { fleet, job, output: output(args.output) })
    }
}

/// `drill history`, resolved.
#[derive(Debug, Clone)]
pub struct DrillHistorySettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// The repository, by name; `None`: the app's or the fleet's default.
    pub repository: Option<String>,
    /// One app's drills only.
    pub app: Option<String>,
    /// Output format.
    pub output: OutputFormat,
}

impl DrillHistorySettings {
    /// Resolves the flags.
    pub fn resolve(args: DrillHistoryArgs) -> Self {
        Self { fleet: args.fleet.fleet, repository: args.repo.repo, app: args.app, output: output(args.output) }
    }
}

/// The keep rules the `--keep-*` flags give (empty when none is given).
pub fn keep(flags: &KeepArgs) -> Keep {
    Keep {
        last: flags.keep_last,
        hourly: flags.keep_hourly,
        daily: flags.keep_daily,
        weekly: flags.keep_weekly,
        monthly: flags.keep_monthly,
    }
}

/// A snapshot as the user named it: `latest`, or (the start of) an id.
pub fn snapshot_ref(text: &str) -> Result<SnapshotRef, Failure> {
    text.parse().map_err(|e: bulkhead_repository::BadSnapshotName| Failure::Usage(e.to_string()))
}
