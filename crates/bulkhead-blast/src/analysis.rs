//! For every failure (one domain, or with depth 2 every pair): which apps
//! lose availability, quorum or data, whether each control plane keeps
//! quorum, and how each app recovers and how long that takes.

use std::collections::{BTreeMap, HashMap};

use bulkhead_model::Topology;
use bulkhead_model::spec::{DomainLevel, FleetSpec, VolumeTopology};
use bulkhead_workload::quorum_tolerates as tolerable;
use serde::Serialize;

use crate::domains::Domain;
use crate::exposure::Exposure;

/// Seconds for DNS to move users to another site when the fleet has no
/// traffic zone of its own (an outside DNS, such as Route 53: three failed
/// health checks ten seconds apart, then a 30 s TTL).
pub const DNS_FAILOVER_SECONDS: u64 = 60;

/// Seconds for Bulkhead's traffic DNS to move an app's users: `failAfter`
/// failed probes `interval` apart, the last one's timeout, then the TTL
/// resolvers may still hold (bench/traffic.py measures the first part).
fn failover_seconds(spec: &bulkhead_model::spec::FleetSpec, app: &bulkhead_model::spec::App) -> u64 {
    let Some(zone) = &spec.traffic else { return DNS_FAILOVER_SECONDS };
    let parse = |text: &str| humantime::parse_duration(text).ok();
    let interval = parse(&zone.probes.interval).map_or(2, |d| d.as_secs().max(1));
    let timeout = parse(&zone.probes.timeout).map_or(1, |d| d.as_secs().max(1));
    let ttl =
        app.traffic.as_ref().and_then(|t| t.ttl.as_deref()).and_then(parse).map_or(zone.ttl_seconds(), |d| d.as_secs());
    interval * u64::from(zone.probes.fail_after) + timeout + ttl
}

/// What a failure does to an app, from harmless to worst.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Impact {
    /// Enough replicas stay up where they are.
    #[default]
    Ok,
    /// Another cluster serves it; DNS moves the users.
    Failover,
    /// Fewer replicas than its budget keeps, or other sites run it but
    /// nothing moves the traffic there.
    Degraded,
    /// A quorum system lost more members than it survives: some run, none
    /// can decide.
    QuorumLost,
    /// No replica left.
    Outage,
    /// Its data lived only inside the failed domain, with no copy outside.
    DataLoss,
}

impl Impact {
    /// Whether the app stops serving: quorum lost, outage or data loss.
    pub fn is_down(self) -> bool {
        self >= Self::QuorumLost
    }

    /// The name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failover => "failover",
            Self::Degraded => "degraded",
            Self::Outage => "outage",
            Self::QuorumLost => "quorum lost",
            Self::DataLoss => "data loss",
        }
    }
}

/// How an app comes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "path")]
pub enum Recovery {
    /// Nothing to do.
    None,
    /// The cluster replaces the lost pods on surviving nodes.
    Reschedule {
        /// Expected seconds.
        seconds: u64,
    },
    /// DNS sends users to another cluster.
    Failover {
        /// Expected seconds.
        seconds: u64,
    },
    /// Restore from the newest backup outside the failed domain.
    Restore {
        /// Data lost, at most: the backup schedule's longest gap.
        rpo_seconds: u64,
        /// How long it takes, as the newest passing drill measured; unknown
        /// (so unbounded) without one.
        #[serde(skip_serializing_if = "Option::is_none")]
        seconds: Option<u64>,
        /// That drill.
        #[serde(skip_serializing_if = "Option::is_none")]
        drill: Option<String>,
    },
    /// Nothing can move it: it returns when the failed domain does.
    WaitForDomain,
    /// No copy of the data survives: rebuild by hand.
    Manual,
}

impl Recovery {
    /// Expected seconds, when Bulkhead can bound it.
    pub fn seconds(&self) -> Option<u64> {
        match self {
            Self::None => Some(0),
            Self::Reschedule { seconds } | Self::Failover { seconds } => Some(*seconds),
            Self::Restore { seconds, .. } => *seconds,
            Self::WaitForDomain | Self::Manual => None,
        }
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            Self::None => "none needed".into(),
            Self::Reschedule { seconds } => format!("rescheduled in place in ~{}", human(*seconds)),
            Self::Failover { seconds } => format!("DNS fails over in ~{}", human(*seconds)),
            Self::Restore { rpo_seconds, seconds: Some(seconds), drill } => format!(
                "restore from backup in ~{} (as drill `{}` measured), losing up to {}",
                human(*seconds),
                drill.as_deref().unwrap_or("?"),
                human(*rpo_seconds)
            ),
            Self::Restore { rpo_seconds, seconds: None, .. } => {
                format!("restore from backup, losing up to {}", human(*rpo_seconds))
            }
            Self::WaitForDomain => "waits until the failed domain returns".into(),
            Self::Manual => "no copy survives: rebuild by hand".into(),
        }
    }
}

/// Seconds as people write durations.
pub fn human(seconds: u64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(seconds)).to_string()
}

/// An app as the analysis sees it.
#[derive(Debug, Clone, Serialize)]
pub struct AppInfo {
    /// Its name.
    pub name: String,
    /// SLA tier (1 most critical).
    pub tier: u8,
    /// The clusters it runs on.
    pub clusters: Vec<String>,
    /// Its RTO target, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rto_seconds: Option<u64>,
    /// Whether DNS can move its users between clusters.
    pub traffic: bool,
    /// How long DNS takes to move them, in seconds (apps with traffic).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failover_seconds: Option<u64>,
    /// Its backups: the schedule's longest gap, and where the repository lives.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<Backup>,
}

/// Where an app's backups are.
#[derive(Debug, Clone, Serialize)]
pub struct Backup {
    /// The longest gap between two backups, in seconds.
    pub interval_seconds: u64,
    /// The repository.
    pub repository: String,
    /// Its `provider/region`, or none when off-site.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<(String, String)>,
    /// The zones of that region: losing them all loses the repository too.
    #[serde(skip)]
    pub location_zones: Vec<String>,
    /// How long a restore took when last rehearsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured: Option<MeasuredRestore>,
}

/// A restore's duration as a passing drill measured it (`bulkhead drill`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeasuredRestore {
    /// The drill's RTO, in seconds.
    pub seconds: u64,
    /// The drill.
    pub drill: String,
    /// When it ran (seconds since the epoch).
    pub at: i64,
}

/// Each app's newest passing drill, by app name.
pub type MeasuredRestores = BTreeMap<String, MeasuredRestore>;

/// The newest etcd backup of each cluster in the repositories (a full
/// snapshot or a delta segment of `bulkhead etcd`), by cluster name, in
/// seconds since the epoch, and when the repositories were read.
#[derive(Debug, Clone, Default)]
pub struct EtcdBackups {
    /// Newest backup per cluster.
    pub newest: BTreeMap<String, i64>,
    /// When the repositories were read.
    pub read_at: i64,
}

/// What the repositories say about recovery: drills' restore times and
/// etcd backups' ages (empty without `--repos`).
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// Each app's newest passing drill.
    pub restores: MeasuredRestores,
    /// Each cluster's newest etcd backup.
    pub etcd: EtcdBackups,
}

/// How a control plane's state comes back if it is lost for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum EtcdRecovery {
    /// The provider runs and backs up etcd.
    Provider,
    /// Nothing backs etcd up: the cluster's state would be lost.
    Unprotected,
    /// Restored from etcd backups of a policy.
    #[serde(rename_all = "camelCase")]
    Backup {
        /// The policy (`controlPlane.etcd.backup`, or one with `etcd: true`).
        policy: String,
        /// The newest backup's age when the repositories were read: the
        /// changes a restore would lose (its RPO). `None`: not read, or none yet.
        rpo_seconds: Option<u64>,
        /// The repositories were read and hold no etcd backup of the cluster.
        none_stored: bool,
    },
}

impl EtcdRecovery {
    /// How a cluster's etcd comes back, from the fleet and what the repositories hold.
    pub fn of(spec: &FleetSpec, cluster: &bulkhead_model::spec::Cluster, etcd: &EtcdBackups) -> Self {
        if cluster.control_plane.managed {
            return Self::Provider;
        }
        let policy = cluster
            .control_plane
            .etcd
            .backup
            .as_ref()
            .map(|b| b.policy.clone())
            .or_else(|| spec.dr.policies.iter().find(|p| p.etcd).map(|p| p.name.clone()));
        let Some(policy) = policy else { return Self::Unprotected };
        let read = etcd.read_at > 0;
        let newest = etcd.newest.get(&cluster.name);
        Self::Backup {
            policy,
            rpo_seconds: newest.map(|&t| u64::try_from(etcd.read_at - t).unwrap_or(0)),
            none_stored: read && newest.is_none(),
        }
    }

    /// In words, for reports.
    pub fn describe(&self) -> String {
        match self {
            Self::Provider => "the provider restores it".into(),
            Self::Unprotected => "nothing backs up its etcd: its state would be lost".into(),
            Self::Backup { policy, rpo_seconds: Some(s), .. } => format!(
                "restore etcd from policy `{policy}`'s backups, losing up to {} of changes (the newest backup's age)",
                humantime::format_duration(std::time::Duration::from_secs(*s))
            ),
            Self::Backup { policy, none_stored: true, .. } => {
                format!("policy `{policy}` should back up its etcd, but the repository holds no etcd backup of it")
            }
            Self::Backup { policy, .. } => format!("restore etcd from policy `{policy}`'s backups"),
        }
    }
}

/// What one failure does to one app.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// The failed domains, by index.
    pub failed: Vec<usize>,
    /// The app, by index.
    pub app: usize,
    /// What happens to it.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// What a failure does to an app: how bad, how much, how it comes back.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// How bad.
    pub impact: Impact,
    /// Replicas lost and run, over all its clusters.
    pub lost: u32,
    /// See `lost`.
    pub of: u32,
    /// How it comes back.
    pub recovery: Recovery,
    /// Whether recovery takes longer than its RTO (or cannot be bounded).
    pub rto_exceeded: bool,
    /// Why, in one sentence.
    pub why: String,
}

/// A control plane that loses quorum.
#[derive(Debug, Clone, Serialize)]
pub struct ControlPlaneLoss {
    /// The failed domains, by index.
    pub failed: Vec<usize>,
    /// The cluster.
    pub cluster: String,
    /// etcd members lost, of how many.
    pub lost: u32,
    /// See `lost`.
    pub members: u32,
    /// Whether the provider runs it.
    pub managed: bool,
    /// How its state comes back if it is lost for good.
    pub recovery: EtcdRecovery,
}

/// Apps as fleet.yaml declares them, with the restore times drills measured.
pub fn app_infos(spec: &FleetSpec, measured: &MeasuredRestores) -> Vec<AppInfo> {
    let duration =
        |s: &Option<String>| s.as_deref().and_then(|t| humantime::parse_duration(t).ok()).map(|d| d.as_secs());
    let index = bulkhead_model::spec::ClusterIndex::new(&spec.clusters);
    spec.apps
        .iter()
        .map(|a| {
            let backup = a.backup.as_ref().and_then(|b| {
                let policy = spec.dr.policies.iter().find(|p| p.name == b.policy)?;
                let repo = spec.dr.repositories.iter().find(|r| r.name == policy.repository)?;
                let location = repo.location.as_deref().and_then(|l| l.split_once('/'));
                let location_zones = location
                    .and_then(|(p, r)| {
                        spec.providers.iter().find(|x| x.name == p)?.regions.iter().find(|x| x.name == r)
                    })
                    .map(|r| r.zones.clone())
                    .unwrap_or_default();
                Some(Backup {
                    interval_seconds: longest_gap(spec, &policy.schedule).unwrap_or(u64::MAX),
                    repository: repo.name.clone(),
                    location: location.map(|(p, r)| (p.to_string(), r.to_string())),
                    location_zones,
                    measured: measured.get(&a.name).cloned(),
                })
            });
            AppInfo {
                name: a.name.clone(),
                tier: a.sla.tier,
                clusters: index
                    .select(&spec.clusters, &a.placement.clusters)
                    .into_iter()
                    .map(|i| spec.clusters[i].name.clone())
                    .collect(),
                rto_seconds: duration(&a.sla.rto),
                traffic: a.traffic.is_some(),
                failover_seconds: a.traffic.as_ref().map(|_| failover_seconds(spec, a)),
                backup,
            }
        })
        .collect()
}

/// The longest gap between two runs of a policy's schedule over a week, in
/// the fleet's time zone (validation reports a bad zone; UTC stands in).
fn longest_gap(spec: &bulkhead_model::spec::FleetSpec, schedule: &str) -> Option<u64> {
    use bulkhead_model::schedule::{CronSchedule, Tz, reference_year, time_zone};
    let zone = time_zone(spec.dr.time_zone.as_deref()).unwrap_or(Tz::UTC);
    let gap = CronSchedule::parse(schedule, zone).ok()?.longest_gap(reference_year(), chrono::Duration::days(8))?;
    Some(gap.as_secs())
}

/// Everything the analysis needs.
pub struct Inputs<'a> {
    /// The domains.
    pub domains: &'a [Domain],
    /// The apps.
    pub apps: &'a [AppInfo],
    /// The fleet, for control planes.
    pub spec: &'a FleetSpec,
    /// The failure-domain tree, for where etcd members run.
    pub topology: &'a Topology,
    /// Each app's size over the whole fleet.
    pub totals: &'a HashMap<usize, AppTotals>,
    /// Each cluster's newest etcd backup.
    pub etcd: &'a EtcdBackups,
}

/// An app over the whole fleet: what a failure that touches only some of
/// its clusters needs to know of the others, without visiting them.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppTotals {
    /// Replicas of all its workloads on all its clusters.
    pub replicas: u32,
    /// Clusters it runs on.
    pub clusters: usize,
}

/// What a failure can reach: the workloads in its regions, by app, and the
/// clusters there (by index in `spec.clusters`). Everything else is untouched.
#[derive(Debug, Default)]
pub struct Touched<'e> {
    /// Workloads in the failed domains' regions, by app.
    pub by_app: BTreeMap<usize, Vec<&'e Exposure>>,
    /// Clusters in the failed domains' regions.
    pub clusters: Vec<usize>,
}

/// What one set of failed domains does.
pub fn fail(inputs: &Inputs<'_>, failed: &[usize], touched: &Touched<'_>) -> (Vec<Cell>, Vec<ControlPlaneLoss>) {
    let domains: Vec<&Domain> = failed.iter().map(|&i| &inputs.domains[i]).collect();
    let mut cells = Vec::new();
    for (&app, exposures) in &touched.by_app {
        let info = &inputs.apps[app];
        let totals = inputs.totals.get(&app).copied().unwrap_or_default();
        if let Some(cell) = app_cell(info, app, failed, &domains, exposures, totals) {
            cells.push(cell);
        }
    }
    (cells, control_planes(inputs, failed, &domains, &touched.clusters))
}

/// What one failure does to an app's instance on one cluster.
#[derive(Default)]
struct ClusterState {
    /// The worst of its workloads.
    impact: Impact,
    /// Some workload's data stays inside the failed domain.
    pinned: bool,
    /// Some workload's data is destroyed with it.
    destroyed: bool,
    /// Some lost replica cannot be replaced in the cluster.
    stuck: bool,
    /// The slowest replacement, in seconds.
    seconds: u64,
}

/// One app's cell: `exposures` are its workloads the failure can reach;
/// `totals` stands for the rest of the fleet (clusters out of reach keep all
/// their replicas and stay Ok).
fn app_cell(
    info: &AppInfo,
    app: usize,
    failed: &[usize],
    domains: &[&Domain],
    exposures: &[&Exposure],
    totals: AppTotals,
) -> Option<Cell> {
    // Each cluster's state: the worst of its workloads.
    let mut per_cluster: BTreeMap<&str, ClusterState> = BTreeMap::new();
    let mut lost_total = 0;
    let mut why = String::new();
    for e in exposures {
        let lost = e.lost(domains);
        lost_total += lost;
        let remaining = e.replicas - lost;
        let impact = if e.replicas == 0 || lost == 0 {
            Impact::Ok
        } else if remaining == 0 {
            Impact::Outage
        } else if e.quorum && lost > tolerable(e.replicas) {
            Impact::QuorumLost
        } else if remaining < e.needed {
            Impact::Degraded
        } else {
            Impact::Ok
        };
        // When every replica (and so every volume) was in the failed domain
        // and the volumes cannot follow the pods, the data is out of reach:
        // lost for good when the disks were the failed machines' own (a node
        // or rack failure with local volumes), unavailable until the domain
        // returns otherwise.
        let all_inside = lost == e.replicas && e.replicas > 0;
        let hardware = domains.iter().all(|d| matches!(d.level, DomainLevel::Node | DomainLevel::Rack));
        // Zonal volumes follow their pods to another node of the zone.
        let pinned = all_inside
            && match e.volumes {
                Some(VolumeTopology::Node) => true,
                Some(VolumeTopology::Zone) => !hardware,
                _ => false,
            };
        let destroyed = all_inside && e.volumes == Some(VolumeTopology::Node) && hardware;
        let entry = per_cluster.entry(e.cluster.as_str()).or_default();
        if impact > entry.impact {
            entry.impact = impact;
            if impact > Impact::Ok && why.is_empty() {
                why = format!("{} loses {lost} of {} replicas on `{}`", e.workload, e.replicas, e.cluster);
            }
        }
        entry.pinned |= pinned;
        entry.destroyed |= destroyed;
        let fate = e.fate(domains);
        entry.stuck |= !fate.recovers() || pinned;
        entry.seconds = entry.seconds.max(fate.window.map_or(e.reschedule_seconds, |(_, latest)| latest));
    }
    let of_total = totals.replicas;
    let untouched_clusters = totals.clusters > per_cluster.len();
    let any_ok = untouched_clusters || per_cluster.values().any(|s| s.impact == Impact::Ok);
    let worst = per_cluster.values().map(|s| s.impact).max().unwrap_or(Impact::Ok);
    if worst == Impact::Ok {
        return None;
    }
    let pinned = per_cluster.values().any(|s| s.pinned);
    let destroyed = per_cluster.values().any(|s| s.destroyed);
    let backup_survives = info.backup.as_ref().is_some_and(|b| match &b.location {
        None => true,
        Some((p, r)) => {
            let region_down = domains.iter().any(|d| match d.level {
                DomainLevel::Provider => d.path[0] == *p,
                DomainLevel::Region => d.path[0] == *p && d.path[1] == *r,
                _ => false,
            });
            let zone_down = |z: &String| {
                domains
                    .iter()
                    .any(|d| d.level == DomainLevel::Zone && d.path[0] == *p && d.path[1] == *r && d.path[2] == *z)
            };
            let site_down = !b.location_zones.is_empty() && b.location_zones.iter().all(zone_down);
            !region_down && !site_down
        }
    });
    // Clusters still serving, though below budget, keep the app in place.
    let only_degraded = per_cluster.values().all(|s| s.impact <= Impact::Degraded);
    let hit = || per_cluster.values().filter(|s| s.impact > Impact::Ok);
    let secs = hit().map(|s| s.seconds).max().unwrap_or(0);
    let in_place = hit().all(|s| !s.stuck);
    let (impact, recovery) = if only_degraded {
        (Impact::Degraded, if in_place { Recovery::Reschedule { seconds: secs } } else { Recovery::WaitForDomain })
    } else if any_ok {
        if info.traffic {
            (Impact::Failover, Recovery::Failover { seconds: info.failover_seconds.unwrap_or(DNS_FAILOVER_SECONDS) })
        } else {
            why.push_str("; other clusters run it, but no traffic policy moves users there");
            (Impact::Degraded, Recovery::WaitForDomain)
        }
    } else if destroyed && !backup_survives {
        why.push_str(if info.backup.is_some() {
            "; its data was on the failed machines' own disks, and its backups are gone too"
        } else {
            "; its data was on the failed machines' own disks and it has no backup"
        });
        (Impact::DataLoss, Recovery::Manual)
    } else if pinned && backup_survives {
        let rpo = info.backup.as_ref().map_or(0, |b| b.interval_seconds);
        why.push_str("; its volumes cannot leave the failed domain");
        let measured = info.backup.as_ref().and_then(|b| b.measured.as_ref());
        let (seconds, drill) = (measured.map(|m| m.seconds), measured.map(|m| m.drill.clone()));
        (worst, Recovery::Restore { rpo_seconds: rpo, seconds, drill })
    } else if pinned {
        why.push_str("; its volumes cannot leave the failed domain and no backup outside it exists");
        (worst, Recovery::WaitForDomain)
    } else if in_place {
        (worst, Recovery::Reschedule { seconds: secs })
    } else {
        (worst, Recovery::WaitForDomain)
    };
    let rto_exceeded = match (info.rto_seconds, recovery.seconds()) {
        (Some(rto), Some(s)) => s > rto,
        (Some(_), None) => impact > Impact::Failover,
        (None, _) => false,
    };
    let outcome = Outcome { impact, lost: lost_total, of: of_total, recovery, rto_exceeded, why };
    Some(Cell { failed: failed.to_vec(), app, outcome })
}

fn control_planes(
    inputs: &Inputs<'_>,
    failed: &[usize],
    domains: &[&Domain],
    clusters: &[usize],
) -> Vec<ControlPlaneLoss> {
    let mut out = Vec::new();
    for c in clusters.iter().map(|&i| &inputs.spec.clusters[i]) {
        let Some((provider, region)) = c.provider_and_region() else { continue };
        let covered = domains.iter().any(|d| d.covers_cluster(&c.name, provider, region));
        let cp = &c.control_plane;
        let members = if cp.managed { 1 } else { cp.etcd.members };
        let lost = if covered {
            members
        } else if cp.managed {
            0 // a managed control plane is regional: it outlives a zone
        } else {
            let Some(slots) =
                inputs.topology.id(DomainLevel::Cluster, &c.name).and_then(|id| inputs.topology.control_plane(id))
            else {
                continue;
            };
            slots
                .etcd_zones
                .iter()
                .filter(|&&z| {
                    let zone = inputs.topology.get(z);
                    domains.iter().any(|d| d.level == DomainLevel::Zone && d.name == zone.name)
                })
                .count() as u32
        };
        if members > 0 && lost > tolerable(members) {
            out.push(ControlPlaneLoss {
                failed: failed.to_vec(),
                cluster: c.name.clone(),
                lost,
                members,
                managed: cp.managed,
                recovery: EtcdRecovery::of(inputs.spec, c, inputs.etcd),
            });
        }
    }
    out
}

#[cfg(test)]
mod failover_tests {
    use bulkhead_model::spec::{App, FleetSpec};
    use serde_json::json;

    use super::{DNS_FAILOVER_SECONDS, failover_seconds};

    fn app(ttl: Option<&str>) -> App {
        let mut traffic = json!({"hostname": "web.gslb.test", "policy": "failover"});
        if let Some(ttl) = ttl {
            traffic["ttl"] = json!(ttl);
        }
        serde_json::from_value(
            json!({"name": "web", "manifests": "apps/web", "placement": {"clusters": {}}, "traffic": traffic}),
        )
        .unwrap()
    }

    fn spec(traffic: Option<serde_json::Value>) -> FleetSpec {
        let mut spec = json!({"providers": [], "clusters": []});
        if let Some(t) = traffic {
            spec["traffic"] = t;
        }
        serde_json::from_value(spec).unwrap()
    }

    #[test]
    fn the_fleets_own_dns_fails_over_after_its_probes_and_ttl() {
        let own = spec(Some(json!({"zone": "gslb.test", "nameservers": []})));
        assert_eq!(failover_seconds(&own, &app(None)), 3 * 2 + 1 + 30, "the defaults");
        assert_eq!(failover_seconds(&own, &app(Some("5s"))), 3 * 2 + 1 + 5);
        let tuned = spec(Some(json!({"zone": "gslb.test", "nameservers": [], "ttl": "10s",
            "probes": {"interval": "5s", "timeout": "2s", "failAfter": 2}})));
        assert_eq!(failover_seconds(&tuned, &app(None)), 2 * 5 + 2 + 10);
        assert_eq!(failover_seconds(&spec(None), &app(None)), DNS_FAILOVER_SECONDS, "an outside DNS");
    }
}
