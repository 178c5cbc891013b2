//! What the server exposes at `/metrics` (the OpenMetrics text format):
//! per job its last success and last attempt, durations, outcomes and
//! figures; per app the age of its newest backup against its RPO; per
//! drill its last RTO against its target; leadership, schedule lag, the
//! fleet's validity. The shipped alert rules (`deploy/alerts.yaml`) read
//! these names.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use std::sync::atomic::AtomicU64;

/// A float gauge (timestamps, ages, seconds).
type FloatGauge = Gauge<f64, AtomicU64>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    kind: String,
    /// The job's key (`backup/POLICY/CLUSTER/APP`). Not `job`: Prometheus
    /// gives that label to the scrape job, and would rename ours.
    key: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    kind: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShardLabels {
    shard: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabels {
    app: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DrillLabels {
    drill: String,
    app: String,
}

/// Every metric the server keeps.
#[derive(Debug)]
pub struct Metrics {
    last_success: Family<JobLabels, FloatGauge>,
    last_attempt: Family<JobLabels, FloatGauge>,
    running: Family<JobLabels, Gauge>,
    duration: Family<KindLabels, Histogram>,
    runs: Family<OutcomeLabels, Counter>,
    objects: Family<KindLabels, Counter>,
    bytes: Family<KindLabels, Counter>,
    lag: Family<KindLabels, FloatGauge>,
    backup_age: Family<AppLabels, FloatGauge>,
    backup_rpo: Family<AppLabels, FloatGauge>,
    drill_rto: Family<DrillLabels, FloatGauge>,
    drill_rto_target: Family<DrillLabels, FloatGauge>,
    drifted: Gauge,
    findings: Gauge,
    leader: Gauge,
    shard_held: Family<ShardLabels, Gauge>,
    fleet_valid: Gauge,
    fleet_loaded: FloatGauge,
    tick: Histogram,
}

fn durations() -> Histogram {
    // From a second to a few hours: a backup of a small app to a drill of a large one.
    Histogram::new([1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 10800.0])
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            last_success: Family::default(),
            last_attempt: Family::default(),
            running: Family::default(),
            duration: Family::new_with_constructor(durations),
            runs: Family::default(),
            objects: Family::default(),
            bytes: Family::default(),
            lag: Family::default(),
            backup_age: Family::default(),
            backup_rpo: Family::default(),
            drill_rto: Family::default(),
            drill_rto_target: Family::default(),
            drifted: Gauge::default(),
            findings: Gauge::default(),
            leader: Gauge::default(),
            shard_held: Family::default(),
            fleet_valid: Gauge::default(),
            fleet_loaded: FloatGauge::default(),
            // A tick judges every job once a second: past 0.1 s it eats a core.
            tick: Histogram::new([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0]),
        }
    }
}

fn job(kind: &str, job: &str) -> JobLabels {
    JobLabels { kind: kind.to_string(), key: job.to_string() }
}

fn kind(kind: &str) -> KindLabels {
    KindLabels { kind: kind.to_string() }
}

impl Metrics {
    /// Registers every metric in `registry`, under `bulkhead_`.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("bulkhead");
        r.register("job_last_success_timestamp_seconds", "When the job last succeeded", self.last_success.clone());
        r.register("job_last_attempt_timestamp_seconds", "When the job last started", self.last_attempt.clone());
        r.register("job_running", "Whether the job runs now", self.running.clone());
        r.register("job_duration_seconds", "How long runs took, by job kind", self.duration.clone());
        r.register("job_runs", "Runs ended, by kind and outcome", self.runs.clone());
        r.register("job_objects", "Objects backed up, restored or compared", self.objects.clone());
        r.register("job_bytes", "Bytes written (backups) or freed (retention)", self.bytes.clone());
        r.register("schedule_lag_seconds", "How late the last run of a kind started after its slot", self.lag.clone());
        r.register("backup_age_seconds", "Age of the app's newest backup", self.backup_age.clone());
        r.register("backup_rpo_seconds", "The app's RPO: how old its newest backup may be", self.backup_rpo.clone());
        r.register("drill_rto_seconds", "The drill's last measured RTO", self.drill_rto.clone());
        r.register("drill_rto_target_seconds", "The drilled app's RTO target", self.drill_rto_target.clone());
        r.register(
            "drift_objects",
            "Objects Bulkhead applied that drifted, at the last drift run",
            self.drifted.clone(),
        );
        r.register("check_findings", "Findings of the last live check", self.findings.clone());
        r.register("leader", "Whether this replica runs jobs (holds a shard: 1) or stands by (0)", self.leader.clone());
        r.register("shard_held", "Whether this replica holds the shard and runs its jobs", self.shard_held.clone());
        r.register(
            "fleet_valid",
            "Whether the fleet directory as it is now is valid (1) or refused (0)",
            self.fleet_valid.clone(),
        );
        r.register("fleet_loaded_timestamp_seconds", "When the fleet in use was loaded", self.fleet_loaded.clone());
        r.register(
            "schedule_tick_seconds",
            "How long one pass judging every job (and starting the due ones) took",
            self.tick.clone(),
        );
    }

    /// One pass of the scheduler took `seconds`.
    pub fn ticked(&self, seconds: f64) {
        self.tick.observe(seconds);
    }

    /// A run of `key` (of `kind`) started `lag` seconds after its slot.
    pub fn started(&self, kind_: &str, key: &str, at: f64, lag: f64) {
        self.last_attempt.get_or_create(&job(kind_, key)).set(at);
        self.running.get_or_create(&job(kind_, key)).set(1);
        self.lag.get_or_create(&kind(kind_)).set(lag.max(0.0));
    }

    /// A run ended.
    pub fn ended(
        &self,
        kind_: &str,
        key: &str,
        outcome: &str,
        seconds: f64,
        at: f64,
        figures: &crate::history::Figures,
    ) {
        self.running.get_or_create(&job(kind_, key)).set(0);
        self.duration.get_or_create(&kind(kind_)).observe(seconds);
        self.runs.get_or_create(&OutcomeLabels { kind: kind_.to_string(), outcome: outcome.to_string() }).inc();
        if outcome == "succeeded" {
            self.last_success.get_or_create(&job(kind_, key)).set(at);
        }
        if let Some(n) = figures.objects {
            self.objects.get_or_create(&kind(kind_)).inc_by(n);
        }
        if let Some(n) = figures.bytes {
            self.bytes.get_or_create(&kind(kind_)).inc_by(n);
        }
        match kind_ {
            "drift" => {
                self.drifted.set(figures.findings.map_or(0, |n| i64::try_from(n).unwrap_or(i64::MAX)));
            }
            "check" => {
                self.findings.set(figures.findings.map_or(0, |n| i64::try_from(n).unwrap_or(i64::MAX)));
            }
            _ => {}
        }
    }

    /// A job known to have last succeeded at `at` (read from the repository or the history).
    pub fn succeeded_at(&self, kind_: &str, key: &str, at: f64) {
        self.last_success.get_or_create(&job(kind_, key)).set(at);
    }

    /// The age of `app`'s newest backup, and its RPO.
    pub fn backup_age(&self, app: &str, age: Option<f64>, rpo: Option<f64>) {
        let labels = AppLabels { app: app.to_string() };
        // No backup at all is older than any RPO.
        self.backup_age.get_or_create(&labels).set(age.unwrap_or(f64::INFINITY));
        if let Some(rpo) = rpo {
            self.backup_rpo.get_or_create(&labels).set(rpo);
        }
    }

    /// A drill's measured RTO, and its app's target.
    pub fn drill(&self, drill: &str, app: &str, rto: f64, target: Option<f64>) {
        let labels = DrillLabels { drill: drill.to_string(), app: app.to_string() };
        self.drill_rto.get_or_create(&labels).set(rto);
        if let Some(t) = target {
            self.drill_rto_target.get_or_create(&labels).set(t);
        }
    }

    /// The shards (of `shards`) this replica holds.
    pub fn set_held(&self, shards: u32, held: &std::collections::BTreeSet<u32>) {
        self.leader.set(i64::from(!held.is_empty()));
        for s in 0..shards {
            self.shard_held.get_or_create(&ShardLabels { shard: s.to_string() }).set(i64::from(held.contains(&s)));
        }
    }

    /// Whether the fleet directory is valid now; `loaded_at` when a fleet was taken.
    pub fn fleet(&self, valid: bool, loaded_at: Option<f64>) {
        self.fleet_valid.set(i64::from(valid));
        if let Some(t) = loaded_at {
            self.fleet_loaded.set(t);
        }
    }
}
