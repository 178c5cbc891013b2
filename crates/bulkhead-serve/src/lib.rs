//! `bulkhead serve`: the controller that runs what the fleet declares.
//!
//! The fleet's scheduled jobs come from `bulkhead-schedule`; each runs
//! through the jobs layer, the same library the CLI calls. "When did this
//! last succeed" is read from the repositories (the newest snapshot per app
//! and kind, the newest drill record), so a restart runs each overdue job
//! once. Every run is kept in the history ([`history`]); `/metrics`,
//! `/healthz` and `/readyz` are served over HTTP ([`http`]). The fleet
//! directory is watched: a valid change is taken without a restart and
//! without touching running jobs; an invalid one keeps the last good fleet.
//! Stopping (the token the caller cancels, on SIGTERM) starts nothing new,
//! lets running jobs finish within the grace period, then cancels them.

pub mod access;
pub mod api;
pub mod dashboard;
pub mod history;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod overrun;
mod pauses;
mod reload;
mod runner;
mod scheduler;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bulkhead_jobs::CancellationToken;
use bulkhead_schedule::Intervals;

pub use access::AuthMode;
pub use history::{Figures, History, HistoryError, Outcome, Run};
pub use scheduler::AgendaEntry;
pub use tls::TlsFiles;

/// What `serve --dry-run` found: every job and when it runs, and what
/// judging them cost.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Agenda {
    /// When it was judged (RFC 3339).
    pub at: String,
    /// Every job the fleet declares.
    pub jobs: Vec<AgendaEntry>,
    /// Repositories that could not be read (their jobs' last successes are
    /// then unknown, and they count as due).
    pub unreadable: Vec<String>,
    /// Jobs that could not keep up with their schedules, by the history.
    pub overruns: Vec<String>,
    /// What each step took.
    pub timings: Timings,
}

/// Seconds each step of a dry run took.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timings {
    /// Reading and validating the fleet directory.
    pub load_seconds: f64,
    /// Resolving the fleet into its scheduled jobs.
    pub plan_seconds: f64,
    /// Reading the repositories for the last successes.
    pub evidence_seconds: f64,
    /// Judging every job once, as each tick of the server does.
    pub judge_seconds: f64,
}

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The fleet directory.
    pub fleet: PathBuf,
    /// The history's file.
    pub history: PathBuf,
    /// Runs the history keeps.
    pub keep_runs: usize,
    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    pub listen: SocketAddr,
    /// How often drift and the live check run.
    pub intervals: Intervals,
    /// Jobs start up to this long after their slot (a hash of the job).
    pub jitter: Duration,
    /// Jobs at once on one cluster.
    pub per_cluster: usize,
    /// Jobs at once writing to one repository.
    pub per_repository: usize,
    /// Attempts at one slot of a job that fails from the outside world.
    pub attempts: u32,
    /// The first retry's wait; each next one waits twice as long, up to `max_backoff`.
    pub first_backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
    /// How often the repositories are read again for the last successes.
    pub evidence_every: Duration,
    /// How often the fleet directory is looked at for changes.
    pub reload_every: Duration,
    /// How long running jobs may go on after a stop before they are cancelled.
    pub grace: Duration,
    /// Where etcd snapshots are written before they are stored.
    pub scratch: PathBuf,
    /// Time limits by job kind (`backup`, `drill` …); absent kinds have none.
    pub timeouts: Vec<(String, Duration)>,
    /// How replicas coordinate through Leases (over the fleet's `serve`);
    /// `None`: this one runs everything, whatever the fleet names.
    pub lease: Option<leader::LeaseRequest>,
    /// Start even when the history shows a job that cannot keep up with
    /// its schedule ([`overrun`]).
    pub allow_overrun: bool,
    /// How the API checks its callers.
    pub auth: AuthMode,
    /// HTTPS with this certificate and key; plain HTTP without.
    pub tls: Option<TlsFiles>,
    /// A TSIG key file (BIND's format) the traffic DNS instances take with
    /// `--transfer-key`: the API asks them with it how they see each site.
    pub traffic_key: Option<PathBuf>,
}

impl Settings {
    /// Defaults for a fleet at `fleet`, with the history in `state`.
    pub fn new(fleet: PathBuf, state: &std::path::Path) -> Self {
        Self {
            fleet,
            history: state.join("history.redb"),
            keep_runs: 10_000,
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
            intervals: Intervals::default(),
            jitter: Duration::from_secs(30),
            per_cluster: 2,
            per_repository: 2,
            attempts: 3,
            first_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(300),
            evidence_every: Duration::from_secs(60),
            reload_every: Duration::from_secs(2),
            grace: Duration::from_secs(30),
            scratch: std::env::temp_dir(),
            timeouts: vec![
                ("backup".into(), Duration::from_secs(3600)),
                ("retention".into(), Duration::from_secs(3600)),
                ("etcd-snapshot".into(), Duration::from_secs(1800)),
                ("drill".into(), Duration::from_secs(3600)),
                ("drift".into(), Duration::from_secs(600)),
                ("check".into(), Duration::from_secs(600)),
            ],
            lease: None,
            allow_overrun: false,
            auth: AuthMode::Auto,
            tls: None,
            traffic_key: None,
        }
    }

    fn timeout(&self, kind: &str) -> Option<Duration> {
        self.timeouts.iter().find(|(k, _)| k == kind).map(|(_, d)| *d)
    }

    fn backoff(&self, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1));
        self.first_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// Why the server could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The fleet cannot be used at the start.
    #[error("{0}")]
    Fleet(String),
    /// The history cannot be opened.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// The lease cannot be held.
    #[error(transparent)]
    Lease(#[from] leader::LeaseError),
    /// Jobs that cannot keep up with their schedules, by the history.
    #[error(
        "{} cannot keep up with its schedule (each skips slots, so its RPO is not met):\n{}\nrun it less often, make it faster (--per-cluster, --per-repository), or start with --allow-overrun",
        if .0.len() == 1 { "a job" } else { "jobs" },
        .0.iter().map(|o| format!("  {o}")).collect::<Vec<_>>().join("\n")
    )]
    Overrun(Vec<overrun::Overrun>),
    /// The API would be open to anyone who can reach the address.
    #[error(
        "the API would be open to anyone on {0}: listen on a loopback address, or check callers (--api-auth kubernetes with a management cluster, or --api-tokens FILE)"
    )]
    Unprotected(SocketAddr),
    /// The API's static tokens cannot be used.
    #[error(transparent)]
    Tokens(#[from] access::TokensError),
    /// `--api-auth kubernetes` with no cluster to review tokens.
    #[error(
        "--api-auth kubernetes needs a management cluster to review tokens: the fleet's `serve.managementCluster` or --lease-cluster"
    )]
    NoReviewer,
    /// The management cluster (the Leases', the pauses', the API's
    /// reviewer) cannot be connected to.
    #[error("the management cluster `{cluster}`: {source}")]
    Management {
        /// Its name in the fleet.
        cluster: String,
        /// Why.
        source: bulkhead_jobs::Error,
    },
    /// The certificate or key cannot be used.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// `--traffic-key` cannot be read or used.
    #[error("--traffic-key: {0}")]
    TrafficKey(bulkhead_traffic::Error),
    /// The HTTP address cannot be listened on.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

impl Error {
    /// Whose move it is.
    pub fn fault(&self) -> bulkhead_model::Fault {
        match self {
            Self::Fleet(_)
            | Self::History(_)
            | Self::Overrun(_)
            | Self::Unprotected(_)
            | Self::Tokens(_)
            | Self::NoReviewer
            | Self::Tls(_)
            | Self::TrafficKey(_) => bulkhead_model::Fault::Input,
            Self::Listen { .. } => bulkhead_model::Fault::Outside,
            Self::Management { source, .. } => source.fault(),
            Self::Lease(leader::LeaseError::Cluster(e)) => e.fault(),
            Self::Lease(leader::LeaseError::NoCluster | leader::LeaseError::NoNamespace { .. }) => {
                bulkhead_model::Fault::Input
            }
            Self::Lease(_) => bulkhead_model::Fault::Outside,
        }
    }
}

/// The signer of the API's questions to the traffic instances.
fn traffic_signer(settings: &Settings) -> Result<Option<hickory_proto::rr::TSigner>, Error> {
    let Some(path) = &settings.traffic_key else { return Ok(None) };
    let key = bulkhead_traffic::tsig::read_key_file(path).map_err(Error::TrafficKey)?;
    let signer = key.signer().map_err(|source| {
        Error::TrafficKey(bulkhead_traffic::Error::Key { path: path.display().to_string(), source })
    })?;
    Ok(Some(signer))
}

/// What the server would run, and when, without running anything: the
/// fleet loaded and planned, the repositories read, every job judged once.
/// The history is read when there is one and never written.
///
/// # Errors
/// A fleet that cannot be used, a history that cannot be read.
pub async fn agenda(settings: Settings, env: bulkhead_repository::Env) -> Result<Agenda, Error> {
    let mut timings = Timings::default();
    let clock = std::time::Instant::now();
    let loaded = reload::load_fleet(&settings.fleet).map_err(Error::Fleet)?;
    timings.load_seconds = clock.elapsed().as_secs_f64();
    let clock = std::time::Instant::now();
    let plan = reload::plan(&settings.fleet, loaded, settings.intervals).map_err(Error::Fleet)?;
    timings.plan_seconds = clock.elapsed().as_secs_f64();
    // A history to read: the server's, or an empty one that goes away after.
    let scratch = settings.scratch.join(format!("bulkhead-agenda-{}.redb", std::process::id()));
    // A running server holds its history (redb locks the file): the dry
    // run then goes on without it, judging by the repositories alone.
    let history = match History::open_existing(&settings.history) {
        Ok(history) => history,
        Err(e) => {
            if settings.history.exists() {
                tracing::warn!(error = %e, "the history cannot be read (is a server running?): judging by the repositories alone");
            }
            History::open(&scratch, 1)?
        }
    };
    let overruns: Vec<String> = overrun::overruns(&plan.jobs, &history.list(None, settings.keep_runs)?)
        .iter()
        .map(ToString::to_string)
        .collect();
    // The Leases are not sought, but what a start would refuse is refused.
    if let (Some(request), Some(fleet)) = (&settings.lease, plan.loaded.fleet.as_ref()) {
        request.resolve(&fleet.file.spec)?;
    }
    let shards = settings.lease.as_ref().map_or(1, |l| l.shards.max(1));
    let shared = scheduler::Shared::new(settings.clone(), env, history, Arc::new(metrics::Metrics::default()), plan);
    let clock = std::time::Instant::now();
    let unreadable = shared.refresh_evidence().await;
    timings.evidence_seconds = clock.elapsed().as_secs_f64();
    let at = chrono::Utc::now();
    let clock = std::time::Instant::now();
    let jobs = shared.agenda(at, at, shards);
    timings.judge_seconds = clock.elapsed().as_secs_f64();
    drop(shared);
    let _ = std::fs::remove_file(&scratch);
    Ok(Agenda { at: at.to_rfc3339(), jobs, unreadable, overruns, timings })
}

/// What the dashboard shows of the fleet at `dir` offline: its topology,
/// its apps against their targets (nothing read from the repositories),
/// the blast radius, and the offline check, as the API would answer them.
///
/// # Errors
/// A fleet that cannot be used.
pub fn offline_views(dir: &std::path::Path) -> Result<serde_json::Value, Error> {
    let plan = reload::load(dir, Intervals::default()).map_err(Error::Fleet)?;
    let fleet = plan.loaded.fleet.as_ref().ok_or_else(|| Error::Fleet("no fleet".into()))?;
    let result = bulkhead_jobs::check(&plan.loaded, None, None, bulkhead_jobs::CheckOptions::default());
    let check = api::views::CheckView::of(result, chrono::Utc::now());
    let evidence = bulkhead_schedule::Evidence::default();
    let none = std::collections::HashMap::new();
    let facts = api::views::Facts {
        fleet,
        jobs: &plan.jobs,
        evidence: &evidence,
        last_runs: &none,
        last_passed: &none,
        check: Some(&check),
        now: chrono::Utc::now(),
        backups_read: false,
    };
    let apps = facts.apps();
    let topology = facts.fleet(&apps);
    Ok(serde_json::json!({
        "fleet": topology,
        "apps": apps,
        "blast": api::views::blast(fleet),
        "check": check,
    }))
}

/// The management cluster and its namespace for Bulkhead: the Leases'
/// when there are Leases, else the fleet's `serve` (standalone, it still
/// reviews the API's callers).
fn management_of(fleet: &bulkhead_model::Fleet, lease: Option<&leader::LeaseSettings>) -> Option<(String, String)> {
    lease.map(|l| (l.cluster.clone(), l.namespace.clone())).or_else(|| {
        fleet.file.spec.serve.as_ref().map(|s| {
            let namespace =
                s.lease_namespace.clone().unwrap_or_else(|| bulkhead_model::spec::DEFAULT_LEASE_NAMESPACE.to_string());
            (s.management_cluster.clone(), namespace)
        })
    })
}

/// Whether `auth` has the management cluster review the API's callers.
fn reviews_tokens(auth: &AuthMode, management: Option<&(String, String)>) -> bool {
    matches!(auth, AuthMode::Kubernetes | AuthMode::Auto) && management.is_some()
}

/// How the API checks callers, by `settings.auth`: the management cluster
/// (`cluster`, connected, in `namespace`) reviews tokens when asked or when
/// there is one; without checks, only a loopback address is served.
fn access(settings: &Settings, management: Option<(&bulkhead_kube::Cluster, &str)>) -> Result<access::Access, Error> {
    let checked = match (&settings.auth, management) {
        (AuthMode::None, _) | (AuthMode::Auto, None) => access::Access::Open,
        (AuthMode::Tokens(path), _) => access::Access::Tokens(access::Tokens::read(path)?),
        (AuthMode::Kubernetes | AuthMode::Auto, Some((cluster, namespace))) => {
            access::Access::Kubernetes(Box::new(access::Reviews::new(cluster.clone(), namespace.to_string())))
        }
        (AuthMode::Kubernetes, None) => return Err(Error::NoReviewer),
    };
    if matches!(checked, access::Access::Open) && !settings.listen.ip().is_loopback() {
        return Err(Error::Unprotected(settings.listen));
    }
    Ok(checked)
}

/// How often the replicas' shared pauses are read: a pause taken through
/// one replica holds on all within about this long.
const PAUSES_EVERY: Duration = Duration::from_secs(3);

/// Runs the server until `stop` is cancelled, then winds down.
///
/// # Errors
/// A fleet that cannot be used at the start, a history that cannot be
/// opened, an address that cannot be listened on.
pub async fn serve(settings: Settings, env: bulkhead_repository::Env, stop: CancellationToken) -> Result<(), Error> {
    let plan = reload::load(&settings.fleet, settings.intervals).map_err(Error::Fleet)?;
    let history = History::open(&settings.history, settings.keep_runs)?;
    let abandoned = history.close_abandoned(&chrono::Utc::now().to_rfc3339())?;
    if abandoned > 0 {
        tracing::warn!(abandoned, "runs a stopped server left running are recorded as cancelled");
    }
    let overruns = overrun::overruns(&plan.jobs, &history.list(None, settings.keep_runs)?);
    if !overruns.is_empty() {
        if !settings.allow_overrun {
            return Err(Error::Overrun(overruns));
        }
        for o in &overruns {
            tracing::warn!(job = %o.job, "{o}: started anyway (--allow-overrun)");
        }
    }
    let metrics = Arc::new(metrics::Metrics::default());
    let mut registry = prometheus_client::registry::Registry::default();
    metrics.register(&mut registry);
    metrics.fleet(true, Some(chrono::Utc::now().timestamp() as f64));
    // Without a lease this replica leads; with one, while it holds it.
    let loaded = Arc::clone(&plan.loaded);
    let fleet = loaded.fleet.as_ref().ok_or_else(|| Error::Fleet("no fleet".into()))?;
    let lease = match &settings.lease {
        Some(request) => request.resolve(&fleet.file.spec)?,
        None => None,
    };
    // The management cluster, connected once: it holds the Leases and the
    // pauses, and reviews the API's callers.
    let management = management_of(fleet, lease.as_ref());
    let cluster = match &management {
        Some((name, _)) if lease.is_some() || reviews_tokens(&settings.auth, management.as_ref()) => Some(
            bulkhead_jobs::clusters::connect(fleet, name)
                .await
                .map_err(|source| Error::Management { cluster: name.clone(), source })?,
        ),
        _ => None,
    };
    let (leads, lease_holder) = match (&lease, &cluster) {
        (Some(lease), Some(cluster)) => {
            tracing::info!(cluster = %lease.cluster, namespace = %lease.namespace, shards = lease.shards, "coordinating through Leases");
            let (leads, holder) = leader::hold(cluster, lease, stop.clone()).await?;
            (leads, Some(holder))
        }
        _ => (tokio::sync::watch::channel(leader::Held::from([0])).1, None),
    };
    let shards = lease.as_ref().map_or(1, |l| l.shards.max(1));
    let reviewer = cluster.as_ref().zip(management.as_ref()).map(|(c, (_, namespace))| (c, namespace.as_str()));
    let access = Arc::new(access(&settings, reviewer)?);
    let tls = settings.tls.as_ref().map(tls::acceptor).transpose()?;
    let traffic = Arc::new(api::traffic::TrafficWatch::new(traffic_signer(&settings)?));
    let ready = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|source| Error::Listen { address: settings.listen, source })?;
    let jobs_declared = plan.jobs.len();
    let shared = Arc::new(scheduler::Shared::new(settings.clone(), env, history, metrics, plan));
    shared.set_held(&leads.borrow(), shards);
    // With Leases, pauses live beside them, where every replica reads them.
    if let (Some(lease), Some(cluster)) = (&lease, &cluster) {
        shared.share_pauses(pauses::Pauses {
            leases: kube::Api::namespaced(cluster.client.clone(), &lease.namespace),
            name: format!("{}-pauses", lease.name),
        });
        shared.refresh_pauses().await;
    }
    tracing::info!(
        address = %settings.listen,
        jobs = jobs_declared,
        api = %access.describe(),
        tls = settings.tls.is_some(),
        "serving"
    );
    let api = api::ApiState { shared: Arc::clone(&shared), access, traffic, stop: stop.clone() };
    let routes = http::routes(Arc::new(registry), Arc::clone(&ready), api);
    let http = tokio::spawn(http::serve(listener, routes, tls, stop.clone()));

    // The last successes are read before anything is judged due.
    shared.refresh_evidence().await;
    ready.store(true, Ordering::Release);
    let started = chrono::Utc::now();
    shared.set_started(started);
    // The jobs of this replica's terms: each shard's are cancelled when it is lost.
    let jobs = CancellationToken::new();
    let mut held = leads.borrow().clone();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut evidence = tokio::time::interval(settings.evidence_every);
    evidence.tick().await;
    let mut reload = tokio::time::interval(settings.reload_every);
    let mut pauses = tokio::time::interval(PAUSES_EVERY);
    let mut watcher = reload::Watcher::new(&settings.fleet);
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick() => {
                let now_held = leads.borrow().clone();
                if now_held != held {
                    shared.set_held(&now_held, shards);
                    let lost: Vec<u32> = held.difference(&now_held).copied().collect();
                    if !lost.is_empty() {
                        // Another replica may take them now: nothing of ours in them may go on.
                        tracing::warn!(shards = ?lost, "shards lost: cancelling what runs in them");
                        shared.cancel_shards(&lost);
                    }
                    if now_held.difference(&held).next().is_some() {
                        tracing::info!(shards = ?now_held, "holding: their schedule runs here");
                        // What the last holder did is in the repository now.
                        shared.refresh_evidence().await;
                    }
                    held = now_held;
                }
                if !held.is_empty() {
                    let clock = std::time::Instant::now();
                    shared.tick(started, &jobs, &held, shards);
                    shared.metrics.ticked(clock.elapsed().as_secs_f64());
                }
            }
            _ = evidence.tick() => {
                let shared = Arc::clone(&shared);
                tokio::spawn(async move { shared.refresh_evidence().await });
            }
            _ = reload.tick() => {
                if watcher.changed() {
                    reload::take(&shared, settings.intervals);
                }
            }
            _ = pauses.tick() => {
                let shared = Arc::clone(&shared);
                tokio::spawn(async move { shared.refresh_pauses().await });
            }
        }
    }
    // Stopping: nothing new; running jobs get the grace period, then are cancelled.
    tracing::info!(running = shared.running_count(), grace = ?settings.grace, "stopping");
    let deadline = tokio::time::Instant::now() + settings.grace;
    while shared.running_count() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if shared.running_count() > 0 {
        tracing::warn!(running = shared.running_count(), "the grace period is over: cancelling");
        shared.cancel_all();
        jobs.cancel();
        let cancelled = tokio::time::Instant::now() + Duration::from_secs(10);
        while shared.running_count() > 0 && tokio::time::Instant::now() < cancelled {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // The lease is given back before the process ends: a standby takes
    // over at once instead of after the lease's duration.
    if let Some(holder) = lease_holder {
        let _ = tokio::time::timeout(Duration::from_secs(10), holder).await;
    }
    let _ = http.await;
    Ok(())
}
