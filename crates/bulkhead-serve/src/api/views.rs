//! What the API answers, each a type with its JSON schema (the OpenAPI
//! document is built from them), and how each is worked out from what the
//! server knows: the fleet in use, the last successes read from the
//! repositories, the history of runs, the newest live check.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bulkhead_model::spec::DomainLevel;
use bulkhead_model::{Diagnostic, SeverityCounts, Stage, Topology, Verdict};
use bulkhead_schedule::{Evidence, JobKey, Work};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::history::{Outcome, Pause, Run};
use crate::scheduler::AgendaEntry;

/// The newest live check, as `bulkhead check --live --output json` prints
/// it, and when it ran.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CheckView {
    /// When the check ended (RFC 3339).
    pub at: String,
    /// The fleet's name.
    pub fleet: Option<String>,
    /// The analyses, in the order they ran.
    pub stages: Vec<Stage>,
    /// The outcome.
    pub verdict: Verdict,
    /// Every finding of every analysis (audit, network, blast radius, backups …).
    pub diagnostics: Vec<Diagnostic>,
}

impl CheckView {
    /// The view of `result`, ended `at`.
    pub fn of(result: bulkhead_jobs::CheckResult, at: DateTime<Utc>) -> Self {
        Self {
            at: at.to_rfc3339(),
            fleet: result.fleet,
            stages: result.stages,
            verdict: result.verdict,
            diagnostics: result.diagnostics,
        }
    }
}

/// How an app, a cluster or a domain is doing, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Within its targets.
    Healthy,
    /// Warnings: drift, a warning of the check, a drill not yet run.
    Warning,
    /// Out of its targets: a backup older than the RPO (or none), a failed
    /// drill or one slower than the RTO, an error of the check.
    Failing,
}

/// The fleet as a tree of failure domains.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FleetView {
    /// The fleet's name.
    pub name: String,
    /// Providers, their regions, zones and racks.
    pub providers: Vec<ProviderView>,
    /// Every cluster, with where it runs and how it is doing.
    pub clusters: Vec<ClusterView>,
}

/// A cloud or a bare-metal operator.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderView {
    /// Its name.
    pub name: String,
    /// Its regions (sites).
    pub regions: Vec<RegionView>,
}

/// A region or a site.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegionView {
    /// Its name, as the provider writes it.
    pub name: String,
    /// Its zones.
    pub zones: Vec<ZoneView>,
    /// The clusters located in it.
    pub clusters: Vec<String>,
}

/// A zone.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ZoneView {
    /// Its name, as nodes carry it.
    pub name: String,
    /// Its racks (bare metal).
    pub racks: Vec<String>,
    /// The clusters with nodes in it.
    pub clusters: Vec<String>,
}

/// A cluster.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterView {
    /// Its name.
    pub name: String,
    /// Its provider.
    pub provider: String,
    /// Its region.
    pub region: String,
    /// The zones its nodes are in.
    pub zones: Vec<String>,
    /// Its nodes, by the fleet's pools.
    pub nodes: u32,
    /// The apps placed on it.
    pub apps: Vec<String>,
    /// The worst of its apps.
    pub health: Health,
}

/// An app and how it stands against its targets.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppView {
    /// Its name.
    pub name: String,
    /// Its SLA tier (1 most critical).
    pub tier: u8,
    /// The clusters it runs on.
    pub clusters: Vec<String>,
    /// Its RPO target, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpo_seconds: Option<f64>,
    /// Its RTO target, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rto_seconds: Option<f64>,
    /// Its backups on each cluster (empty: the app declares none).
    pub backups: Vec<BackupView>,
    /// The age of its oldest newest backup, over its clusters: what its
    /// RPO is judged by (absent: none read yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_age_seconds: Option<f64>,
    /// Whether every cluster's newest backup is within the RPO (absent: no
    /// RPO, or nothing read yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within_rpo: Option<bool>,
    /// Its drills.
    pub drills: Vec<DrillView>,
    /// The newest live check's findings about it (drift among them).
    pub findings: SeverityCounts,
    /// Its objects that drifted from the fleet's code, by the newest live check.
    pub drifted: usize,
    /// All of it, in one word.
    pub health: Health,
}

/// An app's newest backup on one cluster.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupView {
    /// The cluster.
    pub cluster: String,
    /// The policy that backs it up.
    pub policy: String,
    /// The job that runs it.
    pub job: String,
    /// When the newest snapshot was taken (RFC 3339), by the repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest: Option<String>,
    /// Its age, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<f64>,
    /// Whether its age is within the app's RPO.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within_rpo: Option<bool>,
}

/// A drill of an app: its newest run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DrillView {
    /// The drill's name.
    pub name: String,
    /// The job that runs it.
    pub job: String,
    /// When it last passed (RFC 3339), by the repository's drill records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_passed: Option<String>,
    /// Its newest run here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<RunSummary>,
    /// The restore time its newest passing run here measured, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rto_seconds: Option<f64>,
    /// Whether that is within the app's RTO.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within_rto: Option<bool>,
}

/// A run in a word: which, how it ended, why.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// Its id in the history.
    pub id: u64,
    /// How it ended (or `running`).
    pub outcome: Outcome,
    /// When it started (RFC 3339).
    pub started: String,
    /// When it ended (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl From<&Run> for RunSummary {
    fn from(run: &Run) -> Self {
        Self {
            id: run.id,
            outcome: run.outcome,
            started: run.started.clone(),
            ended: run.ended.clone(),
            reason: run.reason.clone(),
        }
    }
}

/// A page of apps.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppsPage {
    /// The apps of this page, most critical tier first, then by name.
    pub items: Vec<AppView>,
    /// How many there are in all (after the filter).
    pub total: usize,
    /// The offset of the next page, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<usize>,
}

/// One scheduled job: when it runs, how it last went.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    /// Its key (`backup/nightly/aws-use1-prod/shop`).
    pub job: String,
    /// Its kind.
    pub kind: String,
    /// Its schedule in words.
    pub schedule: String,
    /// Its shard.
    pub shard: u32,
    /// When it last succeeded (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_success: Option<String>,
    /// When it runs next (RFC 3339), when not due now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Due now.
    pub due: bool,
    /// Running now.
    pub running: bool,
    /// Paused: it runs only when asked for by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<Pause>,
    /// Its newest run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<RunSummary>,
}

/// A page of jobs.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobsPage {
    /// The jobs of this page, by key.
    pub items: Vec<JobView>,
    /// How many there are in all (after the filter).
    pub total: usize,
    /// The offset of the next page, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<usize>,
}

/// A page of runs, newest first.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunsPage {
    /// The runs.
    pub items: Vec<Run>,
    /// Ask with `before` set to this for the next page, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<u64>,
}

/// What each failure domain takes down, on paper (the fleet's placement).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlastView {
    /// Every domain above the nodes, widest first.
    pub domains: Vec<DomainView>,
}

/// One failure domain and what its loss does.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DomainView {
    /// Its name (`aws/us-east-1/us-east-1a`, a cluster's name).
    pub name: String,
    /// Its level: provider, region, zone, rack or cluster.
    pub level: String,
    /// The worst its loss does to an app: ok, failover, degraded,
    /// quorum-lost, outage or data-loss.
    pub worst: String,
    /// Its loss weighed by tier (a tier-1 outage 100, tier 2 10, tier 3 1;
    /// data loss three times that).
    pub score: u64,
    /// Whether it is a single point of failure: its loss alone takes an app down.
    pub single_point_of_failure: bool,
    /// What it does to each app it touches, worst first.
    pub apps: Vec<AppImpactView>,
    /// The control planes that lose quorum with it.
    pub control_planes: Vec<String>,
}

/// What one domain's loss does to one app.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppImpactView {
    /// The app.
    pub app: String,
    /// Its tier.
    pub tier: u8,
    /// How bad: failover, degraded, quorum-lost, outage or data-loss.
    pub impact: String,
    /// Whether it is down (quorum lost, outage, data loss).
    pub down: bool,
    /// Why, in one sentence.
    pub why: String,
}

/// What an action did.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    /// The jobs it concerns.
    pub jobs: Vec<String>,
    /// What happens now, in words.
    pub message: String,
}

/// Why a request failed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The HTTP status.
    pub status: u16,
    /// What is wrong, in one sentence.
    pub message: String,
}

fn seconds(text: Option<&str>) -> Option<f64> {
    text.and_then(|t| humantime::parse_duration(t).ok()).map(|d| d.as_secs_f64())
}

fn age(now: DateTime<Utc>, t: DateTime<Utc>) -> f64 {
    (now - t).num_milliseconds() as f64 / 1000.0
}

/// What the views are worked out from.
pub(crate) struct Facts<'a> {
    pub fleet: &'a bulkhead_model::Fleet,
    pub jobs: &'a [bulkhead_schedule::Scheduled],
    pub evidence: &'a Evidence,
    /// Each job's newest run.
    pub last_runs: &'a HashMap<JobKey, Run>,
    /// Each drill job's newest passing run.
    pub last_passed: &'a HashMap<JobKey, Run>,
    pub check: Option<&'a CheckView>,
    pub now: DateTime<Utc>,
    /// Whether the repositories were read (not offline): only then does a
    /// missing backup count against the RPO.
    pub backups_read: bool,
}

impl Facts<'_> {
    /// Every app, as the compliance table shows it.
    pub fn apps(&self) -> Vec<AppView> {
        let spec = &self.fleet.file.spec;
        // The model's index finds each app's clusters without a scan.
        let index = bulkhead_model::spec::ClusterIndex::new(&spec.clusters);
        let mut placed: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for app in &spec.apps {
            let clusters = index
                .select(&spec.clusters, &app.placement.clusters)
                .into_iter()
                .map(|i| spec.clusters[i].name.clone())
                .collect();
            placed.insert(&app.name, clusters);
        }
        let mut findings: HashMap<&str, Vec<&Diagnostic>> = HashMap::new();
        for d in self.check.map_or(&[][..], |c| &c.diagnostics[..]) {
            if let Some(app) = d.about.as_ref().and_then(|a| a.app.as_deref()) {
                findings.entry(app).or_default().push(d);
            }
        }
        // Each app's jobs, found in one pass: a fleet of a thousand apps
        // has twenty thousand jobs, and scanning them per app would be
        // twenty million steps per request.
        let mut jobs_of: HashMap<&str, Vec<&bulkhead_schedule::Scheduled>> = HashMap::new();
        for job in self.jobs {
            let app = match &job.work {
                Work::Backup { app, .. } => Some(app.as_str()),
                Work::Drill { drill } => spec.dr.drills.iter().find(|d| d.name == *drill).map(|d| d.app.as_str()),
                _ => None,
            };
            if let Some(app) = app {
                jobs_of.entry(app).or_default().push(job);
            }
        }
        let mut apps: Vec<AppView> = spec
            .apps
            .iter()
            .map(|app| {
                let rpo = seconds(app.sla.rpo.as_deref());
                let rto = seconds(app.sla.rto.as_deref());
                let own = jobs_of.get(app.name.as_str()).map_or(&[][..], |j| &j[..]);
                let backups: Vec<BackupView> = own
                    .iter()
                    .filter_map(|j| match &j.work {
                        Work::Backup { policy, cluster, .. } => {
                            let newest = self.evidence.last_success(&j.work);
                            let age_seconds = newest.map(|t| age(self.now, t));
                            Some(BackupView {
                                cluster: cluster.clone(),
                                policy: policy.clone(),
                                job: j.work.key().0,
                                newest: newest.map(|t| t.to_rfc3339()),
                                age_seconds,
                                within_rpo: rpo.zip(age_seconds).map(|(rpo, age)| age <= rpo),
                            })
                        }
                        _ => None,
                    })
                    .collect();
                // A cluster with no backup at all misses any RPO.
                let none_yet = backups.iter().any(|b| b.age_seconds.is_none());
                let backup_age_seconds =
                    if none_yet { None } else { backups.iter().filter_map(|b| b.age_seconds).reduce(f64::max) };
                let within_rpo = if !self.backups_read {
                    None
                } else if none_yet {
                    rpo.map(|_| false)
                } else {
                    rpo.zip(backup_age_seconds).map(|(rpo, age)| age <= rpo)
                };
                let drills: Vec<DrillView> = own
                    .iter()
                    .filter_map(|j| match &j.work {
                        Work::Drill { drill } => Some(self.drill(&j.work, drill, rto)),
                        _ => None,
                    })
                    .collect();
                let about_app = findings.get(app.name.as_str()).map_or(&[][..], |f| &f[..]);
                let drifted = about_app.iter().filter(|d| d.code == bulkhead_jobs::DRIFT).count();
                let findings = SeverityCounts::of(about_app.iter().copied());
                let health = app_health(within_rpo, &drills, findings);
                AppView {
                    name: app.name.clone(),
                    tier: app.sla.tier,
                    clusters: placed.remove(app.name.as_str()).unwrap_or_default(),
                    rpo_seconds: rpo,
                    rto_seconds: rto,
                    backups,
                    backup_age_seconds,
                    within_rpo,
                    drills,
                    findings,
                    drifted,
                    health,
                }
            })
            .collect();
        apps.sort_by(|a, b| a.tier.cmp(&b.tier).then_with(|| a.name.cmp(&b.name)));
        apps
    }

    fn drill(&self, work: &Work, name: &str, rto: Option<f64>) -> DrillView {
        let key = work.key();
        let passed = self.last_passed.get(&key);
        let rto_seconds = passed.and_then(|r| r.figures.rto_seconds);
        DrillView {
            name: name.to_string(),
            job: key.0.clone(),
            last_passed: self.evidence.last_success(work).map(|t| t.to_rfc3339()),
            last_run: self.last_runs.get(&key).map(RunSummary::from),
            rto_seconds,
            within_rto: rto.zip(rto_seconds).map(|(target, took)| took <= target),
        }
    }

    /// The fleet's tree, each cluster coloured by its apps.
    pub fn fleet(&self, apps: &[AppView]) -> FleetView {
        let spec = &self.fleet.file.spec;
        let topology = Topology::build(spec);
        let label = |id| topology.get(id).label.clone();
        let mut zone_clusters: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut clusters = Vec::new();
        for cluster in &spec.clusters {
            let Some(id) = topology.id(DomainLevel::Cluster, &cluster.name) else { continue };
            let zones: Vec<_> = topology.cluster_domains(id, DomainLevel::Zone);
            for z in &zones {
                zone_clusters.entry(topology.get(*z).name.clone()).or_default().insert(cluster.name.clone());
            }
            let (provider, region) = cluster.location.split_once('/').unwrap_or((&cluster.location, ""));
            let on: Vec<&AppView> = apps.iter().filter(|a| a.clusters.contains(&cluster.name)).collect();
            let health = on.iter().map(|a| a.health).max().unwrap_or(Health::Healthy);
            clusters.push(ClusterView {
                name: cluster.name.clone(),
                provider: provider.to_string(),
                region: region.to_string(),
                zones: zones.into_iter().map(label).collect(),
                nodes: cluster.node_pools.iter().map(|p| p.count).sum(),
                apps: on.iter().map(|a| a.name.clone()).collect(),
                health,
            });
        }
        let providers = spec
            .providers
            .iter()
            .map(|p| ProviderView {
                name: p.name.clone(),
                regions: p
                    .regions
                    .iter()
                    .map(|r| {
                        let location = format!("{}/{}", p.name, r.name);
                        RegionView {
                            name: r.name.clone(),
                            zones: r
                                .zones
                                .iter()
                                .map(|z| ZoneView {
                                    name: z.clone(),
                                    racks: r
                                        .racks
                                        .iter()
                                        .filter_map(|rack| match rack.split_once('/') {
                                            Some((zone, rack)) => (zone == z).then(|| rack.to_string()),
                                            None => (r.zones.len() == 1).then(|| rack.clone()),
                                        })
                                        .collect(),
                                    clusters: zone_clusters
                                        .get(&format!("{location}/{z}"))
                                        .map(|c| c.iter().cloned().collect())
                                        .unwrap_or_default(),
                                })
                                .collect(),
                            clusters: spec
                                .clusters
                                .iter()
                                .filter(|c| c.location == location)
                                .map(|c| c.name.clone())
                                .collect(),
                        }
                    })
                    .collect(),
            })
            .collect();
        FleetView { name: self.fleet.file.metadata.name.clone(), providers, clusters }
    }

    /// Every job and where it stands.
    pub fn jobs(
        &self,
        agenda: Vec<AgendaEntry>,
        running: &BTreeSet<String>,
        paused: &BTreeMap<String, Pause>,
    ) -> Vec<JobView> {
        let mut jobs: Vec<JobView> = agenda
            .into_iter()
            .map(|entry| {
                let key = JobKey(entry.job.clone());
                JobView {
                    running: running.contains(&entry.job),
                    paused: paused.get(&entry.job).cloned(),
                    last_run: self.last_runs.get(&key).map(RunSummary::from),
                    job: entry.job,
                    kind: entry.kind.to_string(),
                    schedule: entry.schedule,
                    shard: entry.shard,
                    last_success: entry.last_success,
                    next: entry.next,
                    due: entry.due,
                }
            })
            .collect();
        jobs.sort_by(|a, b| a.job.cmp(&b.job));
        jobs
    }
}

/// An app's health: failing out of its targets (a backup older than the
/// RPO or none at all, a drill that failed or was slower than the RTO, an
/// error of the check), a warning for warnings and drills never passed.
fn app_health(within_rpo: Option<bool>, drills: &[DrillView], findings: SeverityCounts) -> Health {
    let drill_failed = drills.iter().any(|d| {
        d.within_rto == Some(false)
            || d.last_run.as_ref().is_some_and(|r| matches!(r.outcome, Outcome::Failed | Outcome::TimedOut))
    });
    if within_rpo == Some(false) || drill_failed || findings.errors > 0 {
        Health::Failing
    } else if findings.warnings > 0 || drills.iter().any(|d| d.last_passed.is_none()) {
        // Drift is a warning of the check, so it lands here.
        Health::Warning
    } else {
        Health::Healthy
    }
}

/// A unit variant as its serde name (`data-loss`, `round-robin`), as the
/// API writes it wherever the enum itself is not in the answer.
pub(crate) fn word(value: impl serde::Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// The blast radius of every domain above the nodes, on paper.
pub fn blast(fleet: &bulkhead_model::Fleet) -> BlastView {
    let blast = bulkhead_blast::analyze_static(fleet, 1, &bulkhead_blast::Measured::default());
    // Each single point of failure's score, by domain.
    let spofs: HashMap<usize, u64> = bulkhead_blast::spofs(&blast).iter().map(|s| (s.domain, s.score)).collect();
    let mut cells: HashMap<usize, Vec<&bulkhead_blast::Cell>> = HashMap::new();
    for cell in blast.cells.iter().filter(|c| c.failed.len() == 1) {
        cells.entry(cell.failed[0]).or_default().push(cell);
    }
    let domains = blast
        .domains
        .iter()
        .enumerate()
        .filter(|(_, d)| d.level != DomainLevel::Node)
        .map(|(i, d)| {
            let mut apps: Vec<AppImpactView> = cells
                .get(&i)
                .map(|cs| {
                    cs.iter()
                        .map(|c| {
                            let info = &blast.apps[c.app];
                            AppImpactView {
                                app: info.name.clone(),
                                tier: info.tier,
                                impact: word(c.outcome.impact),
                                down: c.outcome.impact.is_down(),
                                why: c.outcome.why.clone(),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            apps.sort_by(|a, b| b.down.cmp(&a.down).then(a.tier.cmp(&b.tier)).then_with(|| a.app.cmp(&b.app)));
            let worst = cells.get(&i).and_then(|cs| cs.iter().map(|c| c.outcome.impact).max()).unwrap_or_default();
            let control_planes =
                blast.control_planes.iter().filter(|l| l.failed == [i]).map(|l| l.cluster.clone()).collect();
            DomainView {
                name: d.name.clone(),
                level: word(d.level),
                worst: word(worst),
                score: spofs.get(&i).copied().unwrap_or(0),
                single_point_of_failure: spofs.contains_key(&i),
                apps,
                control_planes,
            }
        })
        .collect();
    BlastView { domains }
}
