//! Restores as jobs: a snapshot of the repository put into one of the
//! fleet's clusters, its storage classes mapped from the fleet's
//! `storageClasses` when no map is given.

use bulkhead_dr::classes::FleetClasses;
use bulkhead_dr::mapping::Mapping;
use bulkhead_dr::{Existing, RestoreReport, RestoreRequest};
use bulkhead_model::Fleet;
use bulkhead_repository::{Env, SnapshotRef};

use crate::progress::{OnProgress, Progress};
use crate::repository::{ChosenRepository, choose};
use crate::{Error, clusters};

/// A restore job.
#[derive(Debug, Clone)]
pub struct RestoreJob {
    /// The snapshot: an id (or its start), or `latest`.
    pub snapshot: SnapshotRef,
    /// With `latest`: the newest backup of this cluster.
    pub source_cluster: Option<String>,
    /// With `latest`: the newest backup of this app (and its policy's repository).
    pub app: Option<String>,
    /// The cluster restored into.
    pub to: String,
    /// Only objects of these source namespaces; empty: all.
    pub namespaces: Vec<String>,
    /// Only these kinds; empty: all.
    pub kinds: Vec<String>,
    /// Renames on the way; with no storage-class renames, the fleet's classes decide.
    pub mapping: Mapping,
    /// What to do with an object that exists already.
    pub existing: Existing,
    /// Restore claims empty where the target cannot use their snapshots.
    pub allow_empty_volumes: bool,
    /// Plan only.
    pub dry_run: bool,
    /// Objects applied at once.
    pub parallel: usize,
    /// The repository (a name of the fleet's, or a URL).
    pub repository: Option<String>,
}

/// A restore resolved.
#[derive(Debug, Clone)]
pub struct RestorePlan {
    /// The repository.
    pub repository: ChosenRepository,
    /// The cluster restored into.
    pub to: String,
    /// What the recovery library is asked to do.
    pub request: RestoreRequest,
}

/// Resolves `job` against the fleet.
///
/// # Errors
/// When the repository cannot be chosen or opened.
pub fn plan(fleet: &Fleet, job: RestoreJob, env: &Env) -> Result<RestorePlan, Error> {
    let repository = choose(fleet, job.repository.as_deref(), job.app.as_deref(), env)?;
    let latest_tags = crate::tags::latest(job.source_cluster.as_deref(), job.app.as_deref());
    let fleet_classes = job.mapping.storage_classes.is_empty().then(|| FleetClasses {
        by_cluster: fleet.file.spec.clusters.iter().map(|c| (c.name.clone(), c.storage_classes.clone())).collect(),
        target: job.to.clone(),
    });
    let request = RestoreRequest {
        repository: repository.access.clone(),
        snapshot: job.snapshot,
        latest_tags,
        namespaces: job.namespaces,
        kinds: job.kinds,
        mapping: job.mapping,
        fleet_classes,
        existing: job.existing,
        allow_empty_volumes: job.allow_empty_volumes,
        dry_run: job.dry_run,
        parallel: job.parallel.max(1),
    };
    Ok(RestorePlan { repository, to: job.to, request })
}

/// Puts the snapshot into the cluster (or, in a dry run, says what would change).
///
/// # Errors
/// When the cluster or the repository cannot be reached, or the snapshot
/// cannot be read; objects that fail are results of the report.
pub async fn execute(fleet: &Fleet, plan: RestorePlan, progress: OnProgress<'_>) -> Result<RestoreReport, Error> {
    let cluster = clusters::connect(fleet, &plan.to).await?;
    progress(Progress::Began { what: &format!("restoring into {}", plan.to) });
    let report = bulkhead_dr::restore(&cluster, plan.request, &|p| progress(Progress::Work(p))).await;
    progress(Progress::Ended);
    Ok(report?)
}
