//! Drills as jobs: a drill of the fleet's `dr.drills` (or one made up of an
//! app and two clusters) resolved into a [`DrillRequest`] — the app's
//! namespace, its RTO and RPO, its checks with their Job manifests read,
//! the storage classes to map — then rehearsed and recorded in the
//! repository beside the backups.

use std::path::Path;
use std::time::Duration;

use bulkhead_dr::checks::{AppCheck, How};
use bulkhead_dr::drill::{DrillReport, DrillRequest};
use bulkhead_model::Fleet;
use bulkhead_model::spec::App;
use bulkhead_repository::{Env, Snapshot};
use tokio_util::sync::CancellationToken;

use crate::repository::{ChosenRepository, choose};
use crate::{Error, clusters};

/// Which drill.
#[derive(Debug, Clone)]
pub enum DrillTarget {
    /// A drill of the fleet's `dr.drills`, by name; `from` overrides its source cluster.
    Named {
        /// Its name.
        name: String,
        /// Another cluster whose backup to restore.
        from: Option<String>,
    },
    /// An app's newest backup of `from`, restored into `to`.
    App {
        /// The app.
        app: String,
        /// The cluster whose backup is restored.
        from: String,
        /// The cluster it is restored into.
        to: String,
    },
}

/// A drill job.
#[derive(Debug, Clone)]
pub struct DrillJob {
    /// Which drill.
    pub target: DrillTarget,
    /// How long the restored workloads may take to become available.
    pub timeout: Duration,
    /// Objects applied at once.
    pub parallel: usize,
    /// Leave the scratch namespaces for a person to look at.
    pub keep: bool,
    /// The repository (a name of the fleet's, or a URL); default: the app's policy's.
    pub repository: Option<String>,
}

/// A drill resolved: where its backup and record are, and what to rehearse.
#[derive(Debug, Clone)]
pub struct DrillPlan {
    /// The repository.
    pub repository: ChosenRepository,
    /// The rehearsal.
    pub request: DrillRequest,
}

/// What a drill showed, and where it was recorded.
#[derive(Debug)]
pub struct DrillOutcome {
    /// The repository's name.
    pub repository: String,
    /// The rehearsal's report.
    pub report: DrillReport,
    /// The record written beside the backups, or why it could not be.
    pub recorded: Result<Snapshot, Error>,
}

/// How long a check may take when the fleet does not say.
const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(60);

/// Resolves `job` against the fleet: the drill, its app, targets and checks.
///
/// # Errors
/// When the drill, app or clusters are not the fleet's, the app has no
/// namespace, a target or check cannot be read, or the repository cannot
/// be opened.
pub fn plan(fleet: &Fleet, job: &DrillJob, env: &Env) -> Result<DrillPlan, Error> {
    let spec = &fleet.file.spec;
    let (name, app_name, from, to) = match &job.target {
        DrillTarget::Named { name, from } => {
            let d = spec
                .dr
                .drills
                .iter()
                .find(|d| d.name == *name)
                .ok_or_else(|| Error::unknown("drill", name, spec.dr.drills.iter().map(|d| d.name.as_str())))?;
            (d.name.clone(), d.app.clone(), from.clone().unwrap_or_else(|| d.from.clone()), d.to.clone())
        }
        DrillTarget::App { app, from, to } => (format!("{app}-to-{to}"), app.clone(), from.clone(), to.clone()),
    };
    let app = spec
        .apps
        .iter()
        .find(|a| a.name == app_name)
        .ok_or_else(|| Error::Input(format!("the drill's app `{app_name}` is not an app of the fleet")))?;
    let namespace = app.namespace.clone().ok_or_else(|| {
        Error::Input(format!("app `{app_name}` has no `namespace` in fleet.yaml: a drill restores its namespace"))
    })?;
    let duration = |what: &str, text: &Option<String>| -> Result<Option<Duration>, Error> {
        text.as_deref()
            .map(|t| {
                humantime::parse_duration(t).map_err(|e| Error::Input(format!("app `{app_name}`'s {what} `{t}`: {e}")))
            })
            .transpose()
    };
    let repository = choose(fleet, job.repository.as_deref(), Some(&app_name), env)?;
    let request = DrillRequest {
        name,
        app: app_name.clone(),
        namespaces: vec![namespace],
        from,
        to: to.clone(),
        repository: repository.access.clone(),
        fleet_classes: Some(bulkhead_dr::classes::FleetClasses {
            by_cluster: spec.clusters.iter().map(|c| (c.name.clone(), c.storage_classes.clone())).collect(),
            target: to,
        }),
        rto: duration("sla.rto", &app.sla.rto)?,
        rpo: duration("sla.rpo", &app.sla.rpo)?,
        timeout: job.timeout,
        checks: app_checks(&fleet.root, app)?,
        parallel: job.parallel.max(1),
        keep: job.keep,
    };
    Ok(DrillPlan { repository, request })
}

/// Rehearses the plan on its target cluster and records the result.
/// `cancel` ends the rehearsal early; its scratch namespaces are removed
/// and the report says it was interrupted.
///
/// # Errors
/// When the target cluster or the repository's storage cannot be reached
/// at all; everything else a drill meets is a finding of its report.
pub async fn execute(fleet: &Fleet, plan: DrillPlan, cancel: &CancellationToken) -> Result<DrillOutcome, Error> {
    let cluster = clusters::connect(fleet, &plan.request.to).await?;
    let report = bulkhead_dr::drill::run(&cluster, &plan.request, cancel.cancelled()).await?;
    let recorded = bulkhead_dr::drill::record(&plan.repository.access, &report).await.map_err(Error::from);
    Ok(DrillOutcome { repository: plan.repository.name, report, recorded })
}

/// Every drill record of the repository (of `app` only), oldest first.
///
/// # Errors
/// When the repository cannot be read.
pub async fn history(repository: &ChosenRepository, app: Option<&str>) -> Result<Vec<DrillReport>, Error> {
    Ok(bulkhead_dr::drill::history(&repository.access, app).await?)
}

/// The app's checks with their files read: a Job manifest that cannot be
/// read or is not a Job stops the drill before it starts.
fn app_checks(root: &Path, app: &App) -> Result<Vec<AppCheck>, Error> {
    let mut out = Vec::new();
    for check in &app.checks {
        let what = format!("app `{}`'s check `{}`", app.name, check.name);
        let timeout = match &check.timeout {
            Some(t) => humantime::parse_duration(t).map_err(|e| Error::Input(format!("{what}: timeout `{t}`: {e}")))?,
            None => DEFAULT_CHECK_TIMEOUT,
        };
        let how = match (&check.http, &check.job) {
            (Some(http), None) => {
                How::Http { url: http.url.clone(), status: http.status, body_contains: http.body_contains.clone() }
            }
            (None, Some(path)) => {
                How::Job(job_manifest(&root.join(path)).map_err(|e| Error::Input(format!("{what}: {e}")))?)
            }
            _ => {
                return Err(Error::Input(format!(
                    "{what} must have one of `http` and `job` (bulkhead validate says more)"
                )));
            }
        };
        out.push(AppCheck { name: check.name.clone(), how, timeout });
    }
    Ok(out)
}

/// A check's Job manifest: one `batch/v1` Job.
fn job_manifest(path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let job: serde_json::Value =
        serde_saphyr::from_str(&text).map_err(|e| format!("{} is not YAML: {e}", path.display()))?;
    if job["apiVersion"] != "batch/v1" || job["kind"] != "Job" {
        return Err(format!("{} is not a batch/v1 Job", path.display()));
    }
    if job.pointer("/metadata/name").and_then(serde_json::Value::as_str).is_none() {
        return Err(format!("{}: the Job has no metadata.name", path.display()));
    }
    Ok(job)
}
