//! Backups as jobs: which (cluster, app) pairs a request means, resolved
//! from the fleet into a [`BackupPlan`] (the repository, one
//! [`BackupRequest`] per pair, with its namespaces and tags), then run one
//! after another by [`execute`]. A policy's backup is every app of the
//! policy where its placement puts it.

use bulkhead_dr::hooks::{Call, Hook};
use bulkhead_dr::select::Selection;
use bulkhead_dr::volumes::VolumeOptions;
use bulkhead_dr::{BackupReport, BackupRequest};
use bulkhead_model::Fleet;
use bulkhead_model::spec::App;
use bulkhead_repository::{Env, NewSnapshot, TagKey};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::progress::{OnProgress, Progress};
use crate::repository::{ChosenRepository, choose};
use crate::{Error, clusters};

/// A backup job, as a person or a schedule asks for it. What it covers:
/// `app` (on each cluster its placement puts it, or on `cluster` alone),
/// else every app of `policy` (likewise), else the whole of `cluster`.
#[derive(Debug, Clone, Default)]
pub struct BackupJob {
    /// A cluster: the whole of it, or where the apps are backed up.
    pub cluster: Option<String>,
    /// One app.
    pub app: Option<String>,
    /// Every app of this policy; the snapshots are tagged with it too.
    pub policy: Option<String>,
    /// Only these namespaces (instead of each app's own).
    pub namespaces: Vec<String>,
    /// Only these resources (`deployments.apps`, `configmaps`); empty: all.
    pub resources: Vec<String>,
    /// Never these resources.
    pub exclude_resources: Vec<String>,
    /// Only objects whose labels match, in the API server's syntax
    /// (`app=web,tier!=cache,env in (prod,staging),!legacy`).
    pub selector: Option<String>,
    /// Take what every cluster makes for itself too.
    pub include_noise: bool,
    /// Resources listed at once.
    pub parallel: usize,
    /// The repository (a name of the fleet's, or a URL); default: the policy's.
    pub repository: Option<String>,
    /// Take no volume snapshots: the claims are backed up as objects only.
    pub skip_volume_snapshots: bool,
    /// How long a backup waits for its volume snapshots; default 10 minutes.
    pub volume_snapshot_timeout: Option<std::time::Duration>,
}

/// One backup of a plan.
#[derive(Debug, Clone)]
pub struct PlannedBackup {
    /// The cluster read.
    pub cluster: String,
    /// The app, when it is an app's backup.
    pub app: Option<String>,
    /// What the recovery library is asked to do.
    pub request: BackupRequest,
}

/// A backup job resolved: where the snapshots go, and each backup.
#[derive(Debug, Clone)]
pub struct BackupPlan {
    /// The repository.
    pub repository: ChosenRepository,
    /// The backups, in the order they run.
    pub backups: Vec<PlannedBackup>,
}

/// What a backup job did.
#[derive(Debug, Clone, Serialize)]
pub struct BackupOutcome {
    /// The repository's name in the fleet, or its URL.
    pub repository: String,
    /// One report per backup, in the order they ran.
    pub backups: Vec<BackupReport>,
}

impl BackupOutcome {
    /// Whether any backup could not list a resource (it holds the rest).
    pub fn is_partial(&self) -> bool {
        self.backups.iter().any(|r| !r.skipped.is_empty())
    }

    /// Objects in all.
    pub fn objects(&self) -> usize {
        self.backups.iter().map(|r| r.objects).sum()
    }
}

/// Resolves `job` against the fleet.
///
/// # Errors
/// When it names what the fleet does not have, says too little, or its
/// repository cannot be opened (its password is missing).
pub fn plan(fleet: &Fleet, job: &BackupJob, env: &Env) -> Result<BackupPlan, Error> {
    let spec = &fleet.file.spec;
    let apps: Vec<&App> = match (&job.app, &job.policy) {
        (Some(name), _) => vec![
            spec.apps
                .iter()
                .find(|a| a.name == *name)
                .ok_or_else(|| Error::unknown("app", name, spec.apps.iter().map(|a| a.name.as_str())))?,
        ],
        (None, Some(policy)) => {
            if !spec.dr.policies.iter().any(|p| p.name == *policy) {
                return Err(Error::unknown("policy", policy, spec.dr.policies.iter().map(|p| p.name.as_str())));
            }
            spec.apps.iter().filter(|a| a.backup.as_ref().is_some_and(|b| b.policy == *policy)).collect()
        }
        (None, None) => Vec::new(),
    };
    let targets: Vec<(String, Option<&App>)> = match (&job.cluster, apps.is_empty()) {
        (Some(c), true) => vec![(c.clone(), None)],
        (Some(c), false) => apps.iter().map(|a| (c.clone(), Some(*a))).collect(),
        (None, false) => apps
            .iter()
            .flat_map(|a| {
                spec.clusters.iter().filter(|c| a.placement.clusters.matches(c)).map(|c| (c.name.clone(), Some(*a)))
            })
            .collect(),
        // A policy no app uses: nothing to do, which is no mistake.
        (None, true) if job.policy.is_some() => Vec::new(),
        (None, true) => return Err(Error::Usage("say what to back up: --cluster, --app or --policy".into())),
    };
    let policy_repository =
        job.policy.as_ref().and_then(|p| spec.dr.policies.iter().find(|x| x.name == *p)).map(|p| &p.repository);
    let wanted = job.repository.as_ref().or(policy_repository);
    let repository = choose(fleet, wanted.map(String::as_str), apps.first().map(|a| a.name.as_str()), env)?;
    let labels = job.selector.as_deref().map(bulkhead_kube::selector::parse).transpose()?;
    let fleet_name = &fleet.file.metadata.name;
    let mut backups = Vec::with_capacity(targets.len());
    for (cluster, app) in targets {
        let mut namespaces = job.namespaces.clone();
        if let Some(app) = app
            && namespaces.is_empty()
        {
            namespaces.extend(app.namespace.iter().cloned());
            if namespaces.is_empty() {
                return Err(Error::Input(format!(
                    "app `{}` has no `namespace` in fleet.yaml: give --namespace for its objects",
                    app.name
                )));
            }
        }
        let mut tags = vec![TagKey::Fleet.with(fleet_name), TagKey::Cluster.with(&cluster)];
        tags.extend(app.map(|a| TagKey::App.with(&a.name)));
        tags.extend(job.policy.as_ref().map(|p| TagKey::Policy.with(p)));
        let request = BackupRequest {
            selection: Selection {
                namespaces,
                resources: job.resources.clone(),
                exclude_resources: job.exclude_resources.clone(),
                labels: labels.clone(),
                include_noise: job.include_noise,
            },
            snapshot: NewSnapshot {
                base: format!("/{cluster}"),
                hostname: cluster.clone(),
                label: app.map_or_else(|| cluster.clone(), |a| a.name.clone()),
                tags,
                description: format!("bulkhead backup of {cluster}"),
            },
            repository: repository.access.clone(),
            parallel: job.parallel.max(1),
            volumes: volume_options(fleet, &cluster, app, job)?,
        };
        backups.push(PlannedBackup { cluster, app: app.map(|a| a.name.clone()), request });
    }
    Ok(BackupPlan { repository, backups })
}

/// How a backup of `cluster` treats volumes: the snapshot classes the
/// fleet names for the cluster's storage classes, the app's hooks, the
/// job's timeout.
///
/// # Errors
/// A hook's timeout that does not read.
fn volume_options(fleet: &Fleet, cluster: &str, app: Option<&App>, job: &BackupJob) -> Result<VolumeOptions, Error> {
    let declared = fleet.file.spec.clusters.iter().find(|c| c.name == cluster);
    let classes = declared
        .into_iter()
        .flat_map(|c| &c.storage_classes)
        .filter_map(|sc| Some((sc.name.clone(), sc.snapshot_class.clone()?)))
        .collect();
    let mut hooks = Vec::new();
    for (app, hook) in app.iter().flat_map(|a| a.backup.iter().flat_map(move |b| b.hooks.iter().map(move |h| (a, h)))) {
        let timeout = match &hook.timeout {
            Some(t) => humantime::parse_duration(t).map_err(|e| {
                Error::Input(format!("app `{}`'s snapshot hook `{}`: timeout `{t}`: {e}", app.name, hook.name))
            })?,
            None => bulkhead_dr::hooks::DEFAULT_TIMEOUT,
        };
        let call = |c: &bulkhead_model::spec::HookCall| Call { method: c.method.clone(), url: c.url.clone() };
        hooks.push(Hook { name: hook.name.clone(), pre: call(&hook.pre), post: hook.post.as_ref().map(call), timeout });
    }
    let defaults = VolumeOptions::default();
    Ok(VolumeOptions {
        snapshots: !job.skip_volume_snapshots,
        classes,
        timeout: job.volume_snapshot_timeout.unwrap_or(defaults.timeout),
        hooks,
    })
}

/// Runs the plan's backups one after another (each already lists its
/// cluster's resources several at once). `cancel` stops the job between
/// resources: the backup under way keeps no snapshot.
///
/// # Errors
/// The first backup that fails (the ones before it are kept), or
/// [`Error::Cancelled`].
pub async fn execute(
    fleet: &Fleet,
    plan: BackupPlan,
    progress: OnProgress<'_>,
    cancel: &CancellationToken,
) -> Result<BackupOutcome, Error> {
    let mut reports = Vec::with_capacity(plan.backups.len());
    for planned in plan.backups {
        let what = format!("backing up {}", planned.cluster);
        let one = async {
            let cluster = clusters::connect(fleet, &planned.cluster).await?;
            progress(Progress::Began { what: &what });
            let report = bulkhead_dr::backup(&cluster, planned.request, &|p| progress(Progress::Work(p))).await;
            progress(Progress::Ended);
            Ok::<_, Error>(report?)
        };
        let report = tokio::select! {
            report = one => report?,
            () = cancel.cancelled() => return Err(Error::Cancelled),
        };
        reports.push(report);
    }
    Ok(BackupOutcome { repository: plan.repository.name, backups: reports })
}
