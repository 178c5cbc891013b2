//! The `etcd` commands' flags resolved: snapshots, the watch, retention and
//! restores into the jobs layer's requests, and the snapshot `inspect` and
//! `extract` read (a file, or one of a repository's).

use std::path::PathBuf;

use bulkhead_etcd::watch::Settings as WatchSettings;
use bulkhead_jobs::etcd::{EtcdSnapshotJob, EtcdWatchJob};
use bulkhead_jobs::etcd_restore::EtcdRestoreJob;
use bulkhead_jobs::retention::EtcdForgetJob;
use bulkhead_report::OutputFormat;
use bulkhead_repository::SnapshotRef;

use super::{keep, output, snapshot_ref};
use crate::args::{
    EtcdExtractArgs, EtcdForgetArgs, EtcdInspectArgs, EtcdRestoreArgs, EtcdSnapshotArgs, EtcdSourceArgs, EtcdWatchArgs,
    ExtractOutput,
};
use crate::error::Failure;

/// `etcd snapshot`, resolved.
#[derive(Debug, Clone)]
pub struct EtcdSnapshotSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// Whose etcd, and where the snapshot goes.
    pub job: EtcdSnapshotJob,
    /// Output format.
    pub output: OutputFormat,
}

impl EtcdSnapshotSettings {
    /// Resolves the flags.
    pub fn resolve(args: EtcdSnapshotArgs) -> Self {
        let job = EtcdSnapshotJob { cluster: args.cluster, out: args.out, repository: args.repo.repo };
        Self { fleet: args.fleet.fleet, job, output: output(args.output) }
    }
}

/// `etcd watch`, resolved.
#[derive(Debug, Clone)]
pub struct EtcdWatchSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// Whose etcd, stored how often.
    pub job: EtcdWatchJob,
    /// Output format (one line per report).
    pub output: OutputFormat,
}

impl EtcdWatchSettings {
    /// Resolves the flags.
    pub fn resolve(args: EtcdWatchArgs) -> Self {
        let job = EtcdWatchJob {
            cluster: args.cluster,
            settings: WatchSettings {
                // Below this a flush per change would be a write per change.
                flush_every: args.flush_every.max(std::time::Duration::from_millis(100)),
                full_every: args.full_every,
                full_after_bytes: args.full_after_mib << 20,
                max_pending_bytes: args.max_pending_mib << 20,
                scratch: std::env::temp_dir(),
                run_for: args.run_for,
            },
            repository: args.repo.repo,
        };
        Self { fleet: args.fleet.fleet, job, output: output(args.output) }
    }
}

/// `etcd forget`, resolved.
#[derive(Debug, Clone)]
pub struct EtcdForgetSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// Whose etcd backups, kept by which rules.
    pub job: EtcdForgetJob,
    /// Output format.
    pub output: OutputFormat,
}

impl EtcdForgetSettings {
    /// Resolves the flags.
    pub fn resolve(args: EtcdForgetArgs) -> Self {
        let job = EtcdForgetJob {
            cluster: args.cluster,
            keep: keep(&args.keep),
            dry_run: args.dry_run,
            repository: args.repo.repo,
        };
        Self { fleet: args.fleet.fleet, job, output: output(args.output) }
    }
}

/// `etcd restore`, resolved.
#[derive(Debug, Clone)]
pub struct EtcdRestoreSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// Whose etcd, to which point, into which data directory.
    pub job: EtcdRestoreJob,
    /// Output format.
    pub output: OutputFormat,
}

impl EtcdRestoreSettings {
    /// Resolves the flags, and finds `etcdutl`.
    ///
    /// # Errors
    /// A `--time` that does not read (exit 2); no `etcdutl` on `PATH` (exit 3).
    pub fn resolve(args: EtcdRestoreArgs) -> Result<Self, Failure> {
        let job = EtcdRestoreJob {
            cluster: args.cluster,
            to: args.to,
            revision: args.revision,
            until: args.time.as_deref().map(parse_time).transpose()?,
            name: args.name,
            initial_cluster: args.initial_cluster,
            initial_advertise_peer_urls: args.initial_advertise_peer_urls,
            bump_revision: args.bump_revision,
            etcdutl: bulkhead_jobs::etcd_restore::etcdutl_on_path()?,
            repository: args.repo.repo,
        };
        Ok(Self { fleet: args.fleet.fleet, job, output: output(args.output) })
    }
}

/// Seconds since the epoch of an RFC 3339 time, or of a duration ago (`2h`).
fn parse_time(text: &str) -> Result<i64, Failure> {
    if let Ok(t) = humantime::parse_rfc3339_weak(text) {
        return t
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .map_err(|_| Failure::Usage(format!("--time {text}: before 1970")));
    }
    let ago = humantime::parse_duration(text).map_err(|_| {
        Failure::Usage(format!("--time {text}: give an RFC 3339 time (2026-12-01T03:00:00Z) or a duration ago (2h)"))
    })?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Ok(i64::try_from(now.saturating_sub(ago).as_secs()).unwrap_or(0))
}

/// Where the snapshot `inspect` and `extract` read is.
#[derive(Debug, Clone)]
pub enum EtcdSnapshotSource {
    /// A snapshot file.
    File(PathBuf),
    /// One of a cluster's etcd snapshots in the fleet's repository.
    Repository {
        /// The fleet directory or file.
        fleet: PathBuf,
        /// The repository, by name; `None`: the fleet's default.
        repository: Option<String>,
        /// The cluster whose etcd it is.
        cluster: String,
        /// Which snapshot.
        snapshot: SnapshotRef,
    },
}

/// The snapshot read, at which revision, with which keys.
#[derive(Debug, Clone)]
pub struct EtcdSourceSettings {
    /// Where it is.
    pub source: EtcdSnapshotSource,
    /// The revision read (`None`: the newest it holds).
    pub revision: Option<i64>,
    /// An EncryptionConfiguration whose keys decrypt values encrypted at rest.
    pub encryption_config: Option<PathBuf>,
}

impl EtcdSourceSettings {
    fn resolve(args: EtcdSourceArgs) -> Result<Self, Failure> {
        let source = match args.cluster {
            None => EtcdSnapshotSource::File(PathBuf::from(args.snapshot)),
            Some(cluster) => EtcdSnapshotSource::Repository {
                fleet: args.fleet,
                repository: args.repo.repo,
                cluster,
                snapshot: snapshot_ref(&args.snapshot)?,
            },
        };
        Ok(Self { source, revision: args.revision, encryption_config: args.encryption_config })
    }
}

/// `etcd inspect`, resolved.
#[derive(Debug, Clone)]
pub struct EtcdInspectSettings {
    /// The snapshot.
    pub source: EtcdSourceSettings,
    /// List every object too.
    pub objects: bool,
    /// How many of the largest objects to show.
    pub largest: usize,
    /// Output format.
    pub output: OutputFormat,
}

impl EtcdInspectSettings {
    /// Resolves the flags.
    ///
    /// # Errors
    /// A repository snapshot name that does not read.
    pub fn resolve(args: EtcdInspectArgs) -> Result<Self, Failure> {
        Ok(Self {
            source: EtcdSourceSettings::resolve(args.source)?,
            objects: args.objects,
            largest: args.largest,
            output: output(args.output),
        })
    }
}

/// `etcd extract`, resolved (it writes YAML or JSON objects, for people and
/// machines alike).
#[derive(Debug, Clone)]
pub struct EtcdExtractSettings {
    /// The snapshot.
    pub source: EtcdSourceSettings,
    /// The objects wanted, as written (`KIND/NS/NAME`, NAME may be `*`).
    pub objects: Vec<String>,
    /// Objects as stored: no cleaning (status, uid, resourceVersion kept).
    pub raw: bool,
    /// YAML or JSON.
    pub output: ExtractOutput,
}

impl EtcdExtractSettings {
    /// Resolves the flags.
    ///
    /// # Errors
    /// A repository snapshot name that does not read.
    pub fn resolve(args: EtcdExtractArgs) -> Result<Self, Failure> {
        Ok(Self {
            source: EtcdSourceSettings::resolve(args.source)?,
            objects: args.objects,
            raw: args.raw,
            output: args.output,
        })
    }
}
