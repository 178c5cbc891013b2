//! Every job the fleet declares, resolved into what runs and when.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use bulkhead_model::Fleet;
use bulkhead_model::schedule::{CronSchedule, Tz, time_zone};

use crate::Error;

/// A unit of work the fleet asks for, named by what it works on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Work {
    /// A policy's backup of one app on one cluster it runs on.
    Backup {
        /// The policy.
        policy: String,
        /// The cluster.
        cluster: String,
        /// The app.
        app: String,
    },
    /// A policy's retention: its snapshots forgotten by its `keep`, then pruned.
    Retention {
        /// The policy.
        policy: String,
    },
    /// A full etcd snapshot of a cluster the policy's apps run on (the
    /// policy's `etcd: true`).
    EtcdSnapshot {
        /// The policy.
        policy: String,
        /// The cluster.
        cluster: String,
    },
    /// The etcd watch of a self-managed control plane whose
    /// `controlPlane.etcd.backup` names a policy: long-running.
    EtcdWatch {
        /// The policy it stores into.
        policy: String,
        /// The cluster.
        cluster: String,
    },
    /// A drill on its schedule.
    Drill {
        /// The drill's name.
        drill: String,
    },
    /// Drift of every cluster with `access` from the fleet's code.
    Drift,
    /// `check --live`: every analysis against the clusters as they run.
    LiveCheck,
}

impl Work {
    /// The job kind, as metrics and the history label it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Backup { .. } => "backup",
            Self::Retention { .. } => "retention",
            Self::EtcdSnapshot { .. } => "etcd-snapshot",
            Self::EtcdWatch { .. } => "etcd-watch",
            Self::Drill { .. } => "drill",
            Self::Drift => "drift",
            Self::LiveCheck => "check",
        }
    }

    /// The cluster the job works on, when it is one (limits per cluster
    /// and shards count by it).
    pub fn cluster(&self) -> Option<&str> {
        match self {
            Self::Backup { cluster, .. } | Self::EtcdSnapshot { cluster, .. } | Self::EtcdWatch { cluster, .. } => {
                Some(cluster)
            }
            _ => None,
        }
    }

    /// The job's key: unique in the fleet, stable across restarts.
    pub fn key(&self) -> JobKey {
        JobKey(match self {
            Self::Backup { policy, cluster, app } => format!("backup/{policy}/{cluster}/{app}"),
            Self::Retention { policy } => format!("retention/{policy}"),
            Self::EtcdSnapshot { policy, cluster } => format!("etcd-snapshot/{policy}/{cluster}"),
            Self::EtcdWatch { policy, cluster } => format!("etcd-watch/{policy}/{cluster}"),
            Self::Drill { drill } => format!("drill/{drill}"),
            Self::Drift => "drift".into(),
            Self::LiveCheck => "check".into(),
        })
    }
}

/// A job's key, such as `backup/nightly/aws-use1-prod/shop`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct JobKey(pub String);

impl fmt::Display for JobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// When a job runs.
#[derive(Debug, Clone)]
pub enum When {
    /// On a cron schedule, in the fleet's time zone.
    Cron(Box<CronSchedule>),
    /// Every so often.
    Every(Duration),
    /// All the time: started, supervised, restarted when it stops.
    Continuous,
}

/// A job and when it runs.
#[derive(Debug, Clone)]
pub struct Scheduled {
    /// What it does.
    pub work: Work,
    /// When.
    pub when: When,
}

/// How often the jobs without a schedule in the fleet run; `None`: never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intervals {
    /// Drift of every cluster with access.
    pub drift: Option<Duration>,
    /// `check --live`.
    pub check: Option<Duration>,
}

impl Default for Intervals {
    fn default() -> Self {
        Self { drift: Some(Duration::from_secs(10 * 60)), check: Some(Duration::from_secs(10 * 60)) }
    }
}

fn cron(what: String, text: &str, zone: Tz) -> Result<When, Error> {
    let schedule = CronSchedule::parse(text, zone).map_err(|source| Error::BadSchedule { what, source })?;
    Ok(When::Cron(Box::new(schedule)))
}

/// Every job `fleet` declares, in a stable order: each policy's backups
/// (each app of the policy on each cluster its placement picks), its etcd
/// snapshots (`etcd: true`: the clusters its apps run on, when their etcd is
/// the fleet's to reach) and its retention, on the policy's schedule; an etcd
/// watch per control plane whose `etcd.backup` names a policy; the drills
/// with schedules; drift and the live check at `intervals`.
///
/// # Errors
/// A schedule that is not cron, an etcd backup naming no policy.
pub fn plan(fleet: &Fleet, intervals: Intervals) -> Result<Vec<Scheduled>, Error> {
    let spec = &fleet.file.spec;
    let zone = time_zone(spec.dr.time_zone.as_deref())
        .map_err(|source| Error::BadSchedule { what: "`dr.timeZone`".into(), source })?;
    let mut out = Vec::new();
    // The policies an etcd watch stores into.
    let watched: BTreeSet<&str> = spec
        .clusters
        .iter()
        .filter(|c| !c.control_plane.managed && c.control_plane.etcd.access.is_some())
        .filter_map(|c| c.control_plane.etcd.backup.as_ref().map(|b| b.policy.as_str()))
        .collect();
    for policy in &spec.dr.policies {
        let before = out.len();
        let when = cron(format!("policy `{}`", policy.name), &policy.schedule, zone)?;
        let mut clusters_used = BTreeSet::new();
        for app in spec.apps.iter().filter(|a| a.backup.as_ref().is_some_and(|b| b.policy == policy.name)) {
            for cluster in spec.clusters.iter().filter(|c| app.placement.clusters.matches(c)) {
                clusters_used.insert(cluster.name.clone());
                out.push(Scheduled {
                    work: Work::Backup {
                        policy: policy.name.clone(),
                        cluster: cluster.name.clone(),
                        app: app.name.clone(),
                    },
                    when: when.clone(),
                });
            }
        }
        if policy.etcd {
            for cluster in spec.clusters.iter().filter(|c| clusters_used.contains(&c.name)) {
                let etcd = &cluster.control_plane.etcd;
                if cluster.control_plane.managed || etcd.access.is_none() {
                    continue;
                }
                out.push(Scheduled {
                    work: Work::EtcdSnapshot { policy: policy.name.clone(), cluster: cluster.name.clone() },
                    when: when.clone(),
                });
            }
        }
        // Retention only where something writes: a policy no app, etcd
        // snapshot or watch uses has an empty repository, maybe none at all.
        if out.len() > before || watched.contains(policy.name.as_str()) {
            out.push(Scheduled { work: Work::Retention { policy: policy.name.clone() }, when });
        }
    }
    for cluster in &spec.clusters {
        let Some(backup) = &cluster.control_plane.etcd.backup else { continue };
        if cluster.control_plane.managed || cluster.control_plane.etcd.access.is_none() {
            continue;
        }
        if !spec.dr.policies.iter().any(|p| p.name == backup.policy) {
            return Err(Error::Unknown(format!(
                "cluster `{}`: `controlPlane.etcd.backup.policy` names `{}`, which is not one of `dr.policies`",
                cluster.name, backup.policy
            )));
        }
        out.push(Scheduled {
            work: Work::EtcdWatch { policy: backup.policy.clone(), cluster: cluster.name.clone() },
            when: When::Continuous,
        });
    }
    for drill in &spec.dr.drills {
        if let Some(schedule) = &drill.schedule {
            out.push(Scheduled {
                work: Work::Drill { drill: drill.name.clone() },
                when: cron(format!("drill `{}`", drill.name), schedule, zone)?,
            });
        }
    }
    let reachable = spec.clusters.iter().any(|c| c.access.is_some());
    if let Some(every) = intervals.drift.filter(|_| reachable) {
        out.push(Scheduled { work: Work::Drift, when: When::Every(every) });
    }
    if let Some(every) = intervals.check.filter(|_| reachable) {
        out.push(Scheduled { work: Work::LiveCheck, when: When::Every(every) });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Fleet {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/multicloud");
        bulkhead_model::load(&root, bulkhead_model::LoadOptions::default()).unwrap().fleet.unwrap()
    }

    #[test]
    fn the_example_fleet_declares_its_backups_drills_and_checks() {
        let fleet = example();
        let jobs = plan(&fleet, Intervals::default()).unwrap();
        let keys: Vec<String> = jobs.iter().map(|j| j.work.key().0).collect();
        // Every app of a policy, on every cluster it runs on.
        for app in fleet.file.spec.apps.iter().filter(|a| a.backup.is_some()) {
            let policy = &app.backup.as_ref().unwrap().policy;
            for c in fleet.file.spec.clusters.iter().filter(|c| app.placement.clusters.matches(c)) {
                let key = format!("backup/{policy}/{}/{}", c.name, app.name);
                assert!(keys.contains(&key), "{key} in {keys:?}");
            }
        }
        assert!(keys.contains(&"retention/tier1".to_string()) && keys.contains(&"retention/hourly".to_string()));
        assert!(keys.contains(&"drill/orders-to-gcp".to_string()), "{keys:?}");
        let unique: BTreeSet<&String> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len(), "keys are unique: {keys:?}");
        // No access in the example: nothing live to check.
        let reachable = fleet.file.spec.clusters.iter().any(|c| c.access.is_some());
        assert_eq!(keys.contains(&"drift".to_string()), reachable);
        let none = plan(&fleet, Intervals { drift: None, check: None }).unwrap();
        // A policy nothing writes to has no retention to run.
        let mut unused = fleet.clone();
        unused.file.spec.apps.iter_mut().for_each(|a| a.backup = None);
        unused.file.spec.dr.policies.iter_mut().for_each(|p| p.etcd = false);
        let jobs = plan(&unused, Intervals { drift: None, check: None }).unwrap();
        assert!(
            jobs.iter().all(|j| !matches!(j.work, Work::Retention { .. } | Work::Backup { .. })),
            "{:?}",
            jobs.iter().map(|j| j.work.key()).collect::<Vec<_>>()
        );
        assert!(none.iter().all(|j| !matches!(j.work, Work::Drift | Work::LiveCheck)));
    }

    #[test]
    fn a_bad_schedule_says_whose_it_is() {
        let mut fleet = example();
        fleet.file.spec.dr.policies[0].schedule = "every day".into();
        let e = plan(&fleet, Intervals::default()).unwrap_err().to_string();
        assert!(e.contains("policy `tier1`") && e.contains("`every day`"), "{e}");
    }
}
