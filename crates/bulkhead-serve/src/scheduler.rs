//! The loop that runs the fleet's jobs: once a second it asks each job
//! whether it is due (its schedule against its last success, read from the
//! repository or, for work the repository does not record, the history),
//! and starts the due ones within the limits: a job never overlaps itself,
//! at most so many run per cluster and per repository, each kind has a
//! timeout, failures of the outside world are retried with backoff, and
//! the etcd watch is restarted when it stops.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bulkhead_jobs::{CancellationToken, Error as JobError};
use bulkhead_model::{Fault, Loaded};
use bulkhead_schedule::{Due, Evidence, JobKey, Scheduled, When, Work};
use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::Settings;
use crate::api::views::CheckView;
use crate::history::{Figures, History, Outcome, Pause, Run};
use crate::leader::Held;
use crate::metrics::Metrics;

/// A fleet in use and the jobs it declares.
pub(crate) struct Plan {
    pub loaded: Arc<Loaded>,
    pub jobs: Vec<Scheduled>,
}

/// One job's place in the schedule, as `serve --dry-run` shows it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgendaEntry {
    /// The job's key.
    pub job: String,
    /// Its kind.
    pub kind: &'static str,
    /// Its schedule in words (`*/15 * * * * (UTC)`, `every 10m`, `continuous`).
    pub schedule: String,
    /// Its shard (0 without shards).
    pub shard: u32,
    /// When it last succeeded (RFC 3339), by the repository or the history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_success: Option<String>,
    /// Due now: it would start at once (after its jitter).
    pub due: bool,
    /// The slots it would make up for when due (after downtime: more than one).
    pub missed: u32,
    /// When it runs next (RFC 3339), when not due now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Where a job stands between runs.
#[derive(Debug, Clone, Default)]
struct Attempts {
    /// The slot the last attempts were for.
    slot: Option<DateTime<Utc>>,
    /// How many attempts that slot had.
    count: u32,
    /// Not before this (a retry's backoff, a watch's restart).
    not_before: Option<Instant>,
    /// The slot is given up: wait for the next one.
    given_up: bool,
}

/// What the loop and its runs share.
pub(crate) struct Shared {
    pub settings: Settings,
    pub env: bulkhead_repository::Env,
    pub history: History,
    pub metrics: Arc<Metrics>,
    pub plan: Mutex<Arc<Plan>>,
    pub evidence: Mutex<Evidence>,
    /// Last successes of the work the repository does not record.
    own: Mutex<HashMap<JobKey, DateTime<Utc>>>,
    /// Each running job's shard and token.
    running: Mutex<HashMap<JobKey, (u32, CancellationToken)>>,
    attempts: Mutex<HashMap<JobKey, Attempts>>,
    limits: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Each cron job's next slot, by the last success it was worked out
    /// from: a tick asks croner again only when that success changed, so
    /// judging twenty thousand jobs that are not due is a map lookup each.
    next_slot: Mutex<HashMap<JobKey, NextSlot>>,
    /// Jobs asked for by hand (the API's "back up now"): each starts at
    /// the next tick, whatever its schedule, pause or retries say.
    requested: Mutex<HashSet<JobKey>>,
    /// Paused schedules (kept in the history, so they outlive a restart).
    paused: Mutex<HashMap<JobKey, Pause>>,
    /// The shards this replica holds, and how many there are.
    held: Mutex<(Held, u32)>,
    /// Each run as it starts and as it ends, for the API's live events.
    pub events: tokio::sync::broadcast::Sender<Run>,
    /// The newest live check, as `check --live --output json` prints it.
    pub latest_check: Mutex<Option<Arc<CheckView>>>,
    /// Each job's newest run, and each job's newest successful one.
    last_runs: Mutex<(HashMap<JobKey, Run>, HashMap<JobKey, Run>)>,
    /// The blast radius of the fleet in use, worked out when first asked.
    blast: Mutex<Option<Arc<crate::api::views::BlastView>>>,
    /// When the loop started judging.
    started: std::sync::OnceLock<DateTime<Utc>>,
    /// Where pauses are shared with the other replicas (local when unset).
    pause_store: std::sync::OnceLock<crate::pauses::Pauses>,
}

/// Why a job cannot be asked for by hand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refused {
    /// The fleet declares no such job.
    #[error("the fleet declares no job `{0}`")]
    Unknown(String),
    /// Another replica holds its shard, and there is no Lease to hand the
    /// request over through.
    #[error(
        "job `{job}` is in shard {shard}, which another replica holds: ask again (the Service may route you there)"
    )]
    Elsewhere { job: String, shard: u32 },
    /// The request could not be handed to the replica holding the shard.
    #[error("the run could not be handed to the replica holding its shard: {0}")]
    Handoff(String),
}

/// Where runs asked for by hand start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Handed {
    /// Started here, at the next tick.
    pub here: usize,
    /// Handed to the replicas holding their shards (through the Lease).
    pub elsewhere: usize,
}

/// A run request on the Lease for a job the fleet no longer declares is
/// dropped after this long (a replica on an older fleet may still take it
/// until then). One whose shard nobody holds waits for the shard's holder.
const STALE_RUN_REQUEST: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// A job's next slot, and the last success it was worked out from.
type NextSlot = (Option<DateTime<Utc>>, DateTime<Utc>);

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn epoch(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

impl Shared {
    pub(crate) fn new(
        settings: Settings,
        env: bulkhead_repository::Env,
        history: History,
        metrics: Arc<Metrics>,
        plan: Plan,
    ) -> Self {
        let paused = history
            .paused()
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot read the paused schedules: none is paused");
                std::collections::BTreeMap::new()
            })
            .into_iter()
            .map(|(k, p)| (JobKey(k), p))
            .collect();
        // Work the repository does not record: its last success is the history's.
        let mut own = HashMap::new();
        let mut last_runs = (HashMap::new(), HashMap::new());
        if let Ok(runs) = history.list(None, usize::MAX) {
            // Newest first: the first seen of each job is its newest.
            for run in runs {
                let key = JobKey(run.job.clone());
                if run.outcome == Outcome::Succeeded {
                    if let Ok(t) = DateTime::parse_from_rfc3339(run.ended.as_deref().unwrap_or(&run.started)) {
                        own.entry(key.clone()).or_insert(t.with_timezone(&Utc));
                    }
                    last_runs.1.entry(key.clone()).or_insert_with(|| run.clone());
                }
                last_runs.0.entry(key).or_insert(run);
            }
        }
        Self {
            settings,
            env,
            history,
            metrics,
            plan: Mutex::new(Arc::new(plan)),
            evidence: Mutex::new(Evidence::default()),
            own: Mutex::new(own),
            running: Mutex::new(HashMap::new()),
            attempts: Mutex::new(HashMap::new()),
            limits: Mutex::new(HashMap::new()),
            next_slot: Mutex::new(HashMap::new()),
            requested: Mutex::new(HashSet::new()),
            paused: Mutex::new(paused),
            held: Mutex::new((Held::from([0]), 1)),
            events: tokio::sync::broadcast::channel(256).0,
            latest_check: Mutex::new(None),
            last_runs: Mutex::new(last_runs),
            blast: Mutex::new(None),
            started: std::sync::OnceLock::new(),
            pause_store: std::sync::OnceLock::new(),
        }
    }

    /// Shares pauses through `store` (once, at the start).
    pub(crate) fn share_pauses(&self, store: crate::pauses::Pauses) {
        let _ = self.pause_store.set(store);
    }

    /// Reads the shared pauses again: the other replicas' pauses and
    /// resumes take effect here. Local pauses need no reading.
    ///
    /// Runs other replicas were asked for, of jobs whose shards this one
    /// holds, start here at the next tick, and their requests are taken off.
    pub(crate) async fn refresh_pauses(&self) {
        let Some(store) = self.pause_store.get() else { return };
        let shared = match store.read().await {
            Ok(shared) => shared,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the shared pauses: the last read stand");
                return;
            }
        };
        *self.paused.lock().expect("the pauses' lock") =
            shared.pauses.into_iter().map(|(k, p)| (JobKey(k), p)).collect();
        let plan = self.current();
        for request in shared.runs {
            let job = plan.jobs.iter().find(|j| j.work.key().0 == request.job);
            let take = match job {
                Some(job) => self.runs_here(job).is_ok(),
                None => chrono::DateTime::parse_from_rfc3339(&request.asked)
                    .map_or(true, |asked| now() - asked.with_timezone(&Utc) > STALE_RUN_REQUEST),
            };
            if !take {
                continue;
            }
            // Off the Lease first: a request is started once, not once per
            // replica that read it before it went.
            if let Err(e) = store.run_taken(&request.job).await {
                tracing::warn!(error = %e, job = request.job, "cannot take a run request off the Lease: next read");
                continue;
            }
            match job {
                Some(job) => {
                    tracing::info!(job = request.job, by = request.by, "a run asked for on another replica");
                    self.requested.lock().expect("the requests' lock").insert(job.work.key());
                }
                None => tracing::warn!(job = request.job, asked = request.asked, "a run request of no job dropped"),
            }
        }
    }

    /// Marks the loop's start (once).
    pub(crate) fn set_started(&self, at: DateTime<Utc>) {
        let _ = self.started.set(at);
    }

    /// When the loop started judging (now, before it did).
    pub(crate) fn started(&self) -> DateTime<Utc> {
        self.started.get().copied().unwrap_or_else(now)
    }

    /// The shards this replica holds, and how many there are.
    pub(crate) fn held(&self) -> (Held, u32) {
        self.held.lock().expect("the shards' lock").clone()
    }

    /// Each job's newest run, and each job's newest successful one.
    pub(crate) fn last_runs(&self) -> (HashMap<JobKey, Run>, HashMap<JobKey, Run>) {
        self.last_runs.lock().expect("the last runs' lock").clone()
    }

    fn record_last(&self, run: &Run) {
        let mut last = self.last_runs.lock().expect("the last runs' lock");
        last.0.insert(JobKey(run.job.clone()), run.clone());
        if run.outcome == Outcome::Succeeded {
            last.1.insert(JobKey(run.job.clone()), run.clone());
        }
    }

    /// The blast radius of the fleet in use (worked out once per fleet).
    pub(crate) fn blast(&self, fleet: &bulkhead_model::Fleet) -> crate::api::views::BlastView {
        let mut cached = self.blast.lock().expect("the blast's lock");
        let view = cached.get_or_insert_with(|| Arc::new(crate::api::views::blast(fleet)));
        (**view).clone()
    }

    /// The shards this replica holds now, of how many (and so say the metrics).
    pub(crate) fn set_held(&self, held: &Held, shards: u32) {
        self.metrics.set_held(shards, held);
        *self.held.lock().expect("the shards' lock") = (held.clone(), shards);
    }

    /// Whether `job` runs here or elsewhere: refused unless its shard is held here.
    fn runs_here(&self, job: &Scheduled) -> Result<(), Refused> {
        let (held, shards) = self.held.lock().expect("the shards' lock").clone();
        let shard = bulkhead_schedule::shard_of(&job.work, shards);
        if held.contains(&shard) { Ok(()) } else { Err(Refused::Elsewhere { job: job.work.key().0, shard }) }
    }

    /// Asks for `jobs` now, for `by`: each starts at the next tick here,
    /// or, when another replica holds its shard, is handed to it through
    /// the Lease (it starts there within seconds). Nothing is asked for
    /// unless every one is known.
    pub(crate) async fn request_now(&self, jobs: &[String], by: &str) -> Result<Handed, Refused> {
        let plan = self.current();
        let (mut here, mut elsewhere) = (Vec::new(), Vec::new());
        for key in jobs {
            let job = plan.jobs.iter().find(|j| j.work.key().0 == *key).ok_or_else(|| Refused::Unknown(key.clone()))?;
            match (self.runs_here(job), self.pause_store.get()) {
                (Ok(()), _) => here.push(job.work.key()),
                (Err(_), Some(_)) => elsewhere.push(key.clone()),
                (Err(refused), None) => return Err(refused),
            }
        }
        if let Some(store) = self.pause_store.get() {
            let asked = now().to_rfc3339();
            for job in &elsewhere {
                let request = crate::pauses::RunRequest { job: job.clone(), by: by.to_string(), asked: asked.clone() };
                store.ask_run(&request).await.map_err(|e| Refused::Handoff(e.to_string()))?;
            }
        }
        let handed = Handed { here: here.len(), elsewhere: elsewhere.len() };
        self.requested.lock().expect("the requests' lock").extend(here);
        Ok(handed)
    }

    /// Pauses (`Some`) or resumes (`None`) `job`'s schedule, where every
    /// replica sees it first, then in the history. Whether it was paused.
    pub(crate) async fn set_paused(&self, job: &str, pause: Option<Pause>) -> Result<bool, crate::pauses::PauseError> {
        if let Some(store) = self.pause_store.get() {
            store.write(job, pause.as_ref()).await?;
        }
        match &pause {
            Some(p) => self.history.pause(job, p)?,
            None => {
                self.history.resume(job)?;
            }
        }
        let key = JobKey(job.to_string());
        let mut paused = self.paused.lock().expect("the pauses' lock");
        let was = paused.contains_key(&key);
        match pause {
            Some(p) => {
                paused.insert(key, p);
            }
            None => {
                paused.remove(&key);
            }
        }
        Ok(was)
    }

    /// The paused schedules.
    pub(crate) fn paused(&self) -> HashMap<JobKey, Pause> {
        self.paused.lock().expect("the pauses' lock").clone()
    }

    /// The jobs that run now.
    pub(crate) fn running_keys(&self) -> HashSet<JobKey> {
        self.running.lock().expect("the running jobs' lock").keys().cloned().collect()
    }

    /// Takes a new plan: the next slots worked out for the old one go (a
    /// job's schedule may have changed under the same key).
    pub(crate) fn replace_plan(&self, plan: Plan) {
        *self.plan.lock().expect("the plan's lock") = Arc::new(plan);
        self.next_slot.lock().expect("the next slots' lock").clear();
        *self.blast.lock().expect("the blast's lock") = None;
    }

    pub(crate) fn current(&self) -> Arc<Plan> {
        Arc::clone(&self.plan.lock().expect("the plan's lock"))
    }

    /// Reads every policy's repository again; a repository that cannot be
    /// read leaves what was known of it. Returns the repositories that
    /// could not be read, with why.
    pub(crate) async fn refresh_evidence(&self) -> Vec<String> {
        let plan = self.current();
        let Some(fleet) = plan.loaded.fleet.as_ref() else { return Vec::new() };
        let mut unreadable = Vec::new();
        let backups = bulkhead_jobs::read_backups(fleet, &self.env).await;
        let mut read = Evidence::default();
        for repository in &backups.repositories {
            match &repository.snapshots {
                Ok(snapshots) => read.merge(Evidence::from_snapshots(snapshots)),
                Err(e) => {
                    tracing::warn!(repository = %repository.name, error = %e, "cannot read the repository; its jobs' last successes are as last read");
                    unreadable.push(format!("{}: {e}", repository.name));
                }
            }
        }
        let mut evidence = self.evidence.lock().expect("the evidence's lock");
        evidence.merge(read);
        self.publish_ages(fleet, &evidence);
        unreadable
    }

    /// Each app's backup age against its RPO, and each job's last success, as metrics.
    fn publish_ages(&self, fleet: &bulkhead_model::Fleet, evidence: &Evidence) {
        let now = now();
        for app in fleet.file.spec.apps.iter().filter(|a| a.backup.is_some()) {
            let age = evidence.newest_backup_of(&app.name).map(|t| (now - t).num_milliseconds() as f64 / 1000.0);
            let rpo = app.sla.rpo.as_deref().and_then(|r| humantime::parse_duration(r).ok()).map(|d| d.as_secs_f64());
            self.metrics.backup_age(&app.name, age, rpo);
        }
        let own = self.own.lock().expect("the history's lock");
        for job in &self.current().jobs {
            let key = job.work.key();
            if let Some(t) = evidence.last_success(&job.work).or_else(|| own.get(&key).copied()) {
                self.metrics.succeeded_at(job.work.kind(), &key.0, epoch(t));
            }
        }
    }

    fn last_success(&self, work: &Work) -> Option<DateTime<Utc>> {
        let evidence = self.evidence.lock().expect("the evidence's lock").last_success(work);
        evidence.or_else(|| self.own.lock().expect("the history's lock").get(&work.key()).copied())
    }

    /// The slot `job` is due for now (and how many it makes up for), if any.
    fn due_slot(&self, job: &Scheduled, now: DateTime<Utc>, started: DateTime<Utc>) -> Option<(DateTime<Utc>, u32)> {
        let last = self.last_success(&job.work);
        match &job.when {
            When::Cron(cron) => {
                let key = job.work.key();
                let known = self.next_slot.lock().expect("the next slots' lock").get(&key).copied();
                if let Some((from, next)) = known
                    && from == last
                    && now < next
                {
                    return None;
                }
                match bulkhead_schedule::due(cron, last, now) {
                    Due::Now { slot: Some(slot), missed } => Some((slot, missed)),
                    // Never succeeded: the newest slot that passed, or the server's start.
                    Due::Now { slot: None, .. } => {
                        Some((cron.previous_at_or_before(now).unwrap_or(started).max(started.min(now)), 1))
                    }
                    Due::At(next) => {
                        self.next_slot.lock().expect("the next slots' lock").insert(key, (last, next));
                        None
                    }
                }
            }
            When::Every(every) => {
                let every = chrono::TimeDelta::from_std(*every).unwrap_or(chrono::TimeDelta::MAX);
                let first = last.map_or(started, |l| l + every);
                if first > now || every <= chrono::TimeDelta::zero() {
                    return None;
                }
                // The newest interval's start: a run that failed tries again in the next one.
                let passed = (now - first).num_milliseconds() / every.num_milliseconds().max(1);
                Some((
                    first + every * i32::try_from(passed).unwrap_or(i32::MAX),
                    u32::try_from(passed + 1).unwrap_or(u32::MAX),
                ))
            }
            When::Continuous => Some((started, 0)),
        }
    }

    /// Every job and when it runs, judged as a tick judges them.
    pub(crate) fn agenda(&self, now: DateTime<Utc>, started: DateTime<Utc>, shards: u32) -> Vec<AgendaEntry> {
        let plan = self.current();
        plan.jobs
            .iter()
            .map(|job| {
                let last_success = self.last_success(&job.work);
                let due = self.due_slot(job, now, started);
                let (schedule, next) = match &job.when {
                    When::Cron(cron) => (cron.to_string(), cron.next_after(now)),
                    When::Every(every) => (
                        format!("every {}", humantime::format_duration(*every)),
                        Some(
                            last_success
                                .map_or(started, |l| l + chrono::TimeDelta::from_std(*every).unwrap_or_default()),
                        ),
                    ),
                    When::Continuous => ("continuous".to_string(), None),
                };
                AgendaEntry {
                    job: job.work.key().0,
                    kind: job.work.kind(),
                    schedule,
                    shard: bulkhead_schedule::shard_of(&job.work, shards),
                    last_success: last_success.map(|t| t.to_rfc3339()),
                    due: due.is_some(),
                    missed: due.map_or(0, |(_, m)| m),
                    next: if due.is_some() { None } else { next.map(|t| t.to_rfc3339()) },
                }
            })
            .collect()
    }

    /// A permit of `name`'s limit of `size`, if one is free.
    fn permit(&self, name: String, size: usize) -> Option<OwnedSemaphorePermit> {
        let semaphore = Arc::clone(
            self.limits.lock().expect("the limits' lock").entry(name).or_insert_with(|| Arc::new(Semaphore::new(size))),
        );
        semaphore.try_acquire_owned().ok()
    }

    /// The repository a job writes to, for the per-repository limit.
    fn repository_of(plan: &Plan, work: &Work) -> Option<String> {
        let spec = &plan.loaded.fleet.as_ref()?.file.spec;
        let policy = match work {
            Work::Backup { policy, .. }
            | Work::Retention { policy }
            | Work::EtcdSnapshot { policy, .. }
            | Work::EtcdWatch { policy, .. } => policy,
            Work::Drill { drill } => {
                let app = &spec.dr.drills.iter().find(|d| d.name == *drill)?.app;
                &spec.apps.iter().find(|a| a.name == *app)?.backup.as_ref()?.policy
            }
            Work::Drift | Work::LiveCheck => return None,
        };
        spec.dr.policies.iter().find(|p| p.name == *policy).map(|p| p.repository.clone())
    }

    /// One pass: starts every job that is due and may start.
    pub(crate) fn tick(
        self: &Arc<Self>,
        started: DateTime<Utc>,
        stop: &CancellationToken,
        held: &crate::leader::Held,
        shards: u32,
    ) {
        let plan = self.current();
        let now = now();
        // One look, for the whole pass, at what runs and what gave up.
        let running: HashSet<JobKey> = self.running.lock().expect("the running jobs' lock").keys().cloned().collect();
        let given_up: HashSet<JobKey> = self
            .attempts
            .lock()
            .expect("the attempts' lock")
            .iter()
            .filter(|(_, a)| a.given_up)
            .map(|(k, _)| k.clone())
            .collect();
        let requested: HashSet<JobKey> = self.requested.lock().expect("the requests' lock").clone();
        let paused: HashSet<JobKey> = self.paused.lock().expect("the pauses' lock").keys().cloned().collect();
        // Each job of the shards held, judged once. A policy's retention
        // waits for its backups of the slot (those this replica runs): it
        // forgets by what they wrote, and a first backup creates the
        // repository.
        let mut busy: HashSet<&str> = HashSet::new();
        let mut due = Vec::new();
        for job in &plan.jobs {
            let shard = bulkhead_schedule::shard_of(&job.work, shards);
            if !held.contains(&shard) {
                continue;
            }
            let key = job.work.key();
            let is_running = running.contains(&key);
            // Asked for by hand: now. Paused: only so.
            let forced = requested.contains(&key);
            let slot = if is_running {
                None
            } else if forced {
                Some((now, 0))
            } else if paused.contains(&key) {
                None
            } else {
                self.due_slot(job, now, started)
            };
            if let Work::Backup { policy, .. } = &job.work
                && (is_running || (slot.is_some() && !given_up.contains(&key)))
            {
                busy.insert(policy.as_str());
            }
            if let Some(slot) = slot {
                due.push((job, key, shard, slot, forced));
            }
        }
        for (job, key, shard, (slot, missed), forced) in due {
            if matches!(&job.work, Work::Retention { policy } if busy.contains(policy.as_str())) {
                continue;
            }
            // Spread: a job starts its jitter after its slot (a missed slot has long passed).
            let jitter = if forced { Duration::ZERO } else { bulkhead_schedule::jitter(&key.0, self.settings.jitter) };
            if !matches!(job.when, When::Continuous)
                && now < slot + chrono::TimeDelta::from_std(jitter).unwrap_or_default()
            {
                continue;
            }
            let attempt = if forced {
                1
            } else {
                let mut attempts = self.attempts.lock().expect("the attempts' lock");
                let a = attempts.entry(key.clone()).or_default();
                if !matches!(job.when, When::Continuous) && a.slot != Some(slot) {
                    *a = Attempts { slot: Some(slot), ..Attempts::default() };
                }
                if a.given_up || a.not_before.is_some_and(|t| Instant::now() < t) {
                    continue;
                }
                a.count + 1
            };
            // The limits: per cluster, per repository.
            let cluster = job.work.cluster().map(|c| self.permit(format!("cluster/{c}"), self.settings.per_cluster));
            if matches!(cluster, Some(None)) {
                continue;
            }
            let repository = Self::repository_of(&plan, &job.work)
                .map(|r| self.permit(format!("repository/{r}"), self.settings.per_repository));
            if matches!(repository, Some(None)) {
                continue;
            }
            let permits = (cluster.flatten(), repository.flatten());
            let cancel = stop.child_token();
            self.running.lock().expect("the running jobs' lock").insert(key.clone(), (shard, cancel.clone()));
            if forced {
                self.requested.lock().expect("the requests' lock").remove(&key);
            }
            let lag = (now - slot - chrono::TimeDelta::from_std(jitter).unwrap_or_default()).num_milliseconds() as f64
                / 1000.0;
            let shared = Arc::clone(self);
            let (work, when, plan) = (job.work.clone(), job.when.clone(), Arc::clone(&plan));
            let slot_shown = (!matches!(when, When::Continuous) && !forced).then_some(slot);
            // Each run drives its future on a thread of its own, on this
            // runtime: the jobs' futures are not `Send` to rustc (borrows
            // held across `await` inside stream combinators trip its
            // "Send is not general enough"), and a run is long and rare
            // enough (a few at once) for a thread each to cost nothing.
            let handle = tokio::runtime::Handle::current();
            tokio::task::spawn_blocking(move || {
                let _permits = permits;
                let how = How { slot: slot_shown, missed, attempt, lag, forced };
                handle.block_on(shared.run_one(&plan, &work, &when, how, cancel));
                shared.running.lock().expect("the running jobs' lock").remove(&work.key());
            });
        }
    }

    async fn run_one(&self, plan: &Plan, work: &Work, when: &When, how: How, cancel: CancellationToken) {
        let How { slot, missed, attempt, lag, forced } = how;
        let (kind, key) = (work.kind(), work.key());
        let began = now();
        let clock = Instant::now();
        let mut record = Run {
            id: 0,
            job: key.0.clone(),
            kind: kind.to_string(),
            slot: slot.map(|s| s.to_rfc3339()),
            missed,
            attempt,
            started: began.to_rfc3339(),
            ended: None,
            outcome: Outcome::Running,
            reason: None,
            figures: Figures::default(),
        };
        match self.history.begin(record.clone()) {
            Ok(id) => record.id = id,
            Err(e) => tracing::warn!(error = %e, "cannot record the run's start"),
        }
        self.record_last(&record);
        // Nobody listening is no error.
        let _ = self.events.send(record.clone());
        self.metrics.started(kind, &key.0, epoch(began), if slot.is_some() { lag } else { 0.0 });
        tracing::info!(job = %key, attempt, missed, "started");
        let scratch = self.settings.scratch.clone();
        let checked = |result: bulkhead_jobs::CheckResult| {
            let view = CheckView::of(result, now());
            *self.latest_check.lock().expect("the check's lock") = Some(Arc::new(view));
        };
        let cx = crate::runner::Context {
            loaded: &plan.loaded,
            env: &self.env,
            cancel: &cancel,
            scratch: &scratch,
            checked: &checked,
        };
        let timeout = self.settings.timeout(kind);
        let result = match timeout {
            Some(limit) => match tokio::time::timeout(limit, crate::runner::run(work, &cx)).await {
                Ok(result) => result.map_err(Ended::Job),
                Err(_) => {
                    cancel.cancel();
                    Err(Ended::TimedOut(limit))
                }
            },
            None => crate::runner::run(work, &cx).await.map_err(Ended::Job),
        };
        let ended = now();
        let seconds = clock.elapsed().as_secs_f64();
        let (outcome, retry) = match &result {
            Ok(figures) => {
                record.figures = figures.clone();
                (Outcome::Succeeded, None)
            }
            Err(Ended::Job(JobError::Cancelled)) => (Outcome::Cancelled, None),
            Err(Ended::TimedOut(_)) => (Outcome::TimedOut, Some(true)),
            Err(Ended::Job(e)) => (Outcome::Failed, Some(e.fault() == Fault::Outside)),
        };
        if let Err(e) = &result {
            record.reason = Some(e.to_string());
        }
        record.outcome = outcome;
        record.ended = Some(ended.to_rfc3339());
        if let Err(e) = self.history.end(&record) {
            tracing::warn!(error = %e, "cannot record the run's end");
        }
        self.record_last(&record);
        let _ = self.events.send(record.clone());
        self.metrics.ended(kind, &key.0, outcome.as_str(), seconds, epoch(ended), &record.figures);
        match outcome {
            Outcome::Succeeded => tracing::info!(job = %key, seconds, "succeeded"),
            Outcome::Cancelled => tracing::info!(job = %key, "cancelled"),
            _ => tracing::warn!(job = %key, reason = record.reason.as_deref().unwrap_or(""), "did not succeed"),
        }
        if outcome == Outcome::Succeeded {
            self.evidence.lock().expect("the evidence's lock").record(work, began);
            self.own.lock().expect("the history's lock").insert(key.clone(), began);
            if let (Work::Drill { drill }, Some(rto)) = (work, record.figures.rto_seconds) {
                self.publish_drill(plan, drill, rto);
            }
        }
        // A run asked for by hand is no attempt at a slot: the schedule's
        // own retries are left as they were.
        if forced {
            return;
        }
        let mut attempts = self.attempts.lock().expect("the attempts' lock");
        let a = attempts.entry(key).or_default();
        a.count = attempt;
        match (when, retry) {
            // The watch runs all the time: it is started again, later the more it failed.
            (When::Continuous, _) => {
                let ran_long = seconds > 60.0;
                let failures = if ran_long { 1 } else { attempt };
                a.count = if ran_long { 0 } else { attempt };
                a.not_before = Some(Instant::now() + self.settings.backoff(failures));
            }
            (_, Some(true)) if attempt < self.settings.attempts => {
                a.not_before = Some(Instant::now() + self.settings.backoff(attempt));
            }
            // The input is wrong, or retries are spent: the next slot tries again.
            (_, Some(_)) => a.given_up = true,
            (_, None) => {}
        }
    }

    fn publish_drill(&self, plan: &Plan, drill: &str, rto: f64) {
        let Some(fleet) = plan.loaded.fleet.as_ref() else { return };
        let Some(d) = fleet.file.spec.dr.drills.iter().find(|d| d.name == drill) else { return };
        let target = fleet
            .file
            .spec
            .apps
            .iter()
            .find(|a| a.name == d.app)
            .and_then(|a| a.sla.rto.as_deref())
            .and_then(|r| humantime::parse_duration(r).ok())
            .map(|t| t.as_secs_f64());
        self.metrics.drill(drill, &d.app, rto, target);
    }

    /// How many jobs run now.
    pub(crate) fn running_count(&self) -> usize {
        self.running.lock().expect("the running jobs' lock").len()
    }

    /// Cancels every running job.
    pub(crate) fn cancel_all(&self) {
        for (_, token) in self.running.lock().expect("the running jobs' lock").values() {
            token.cancel();
        }
    }

    /// Cancels the running jobs of shards `lost`.
    pub(crate) fn cancel_shards(&self, lost: &[u32]) {
        for (shard, token) in self.running.lock().expect("the running jobs' lock").values() {
            if lost.contains(shard) {
                token.cancel();
            }
        }
    }
}

/// Why a run starts: its slot (none when asked for by hand), the slots it
/// makes up for, which attempt, how late it is.
#[derive(Debug, Clone, Copy)]
struct How {
    slot: Option<DateTime<Utc>>,
    missed: u32,
    attempt: u32,
    lag: f64,
    forced: bool,
}

/// How a run ended without success.
#[derive(Debug, thiserror::Error)]
enum Ended {
    #[error(transparent)]
    Job(JobError),
    #[error("ran out of its {} s", .0.as_secs())]
    TimedOut(Duration),
}
