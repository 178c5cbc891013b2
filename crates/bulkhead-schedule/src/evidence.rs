//! The last success of each job, read from the repositories' snapshots:
//! a resource backup per (cluster, app), a full etcd snapshot per cluster,
//! a drill record per drill. What the repository holds is the truth; a
//! server's memory is only a cache of it.

use std::collections::HashMap;

use bulkhead_repository::{Snapshot, SnapshotKind, TagKey};
use chrono::{DateTime, Utc};

use crate::Work;

/// The newest snapshot of each kind of evidence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    backups: HashMap<(String, String), DateTime<Utc>>,
    etcd: HashMap<String, DateTime<Utc>>,
    drills: HashMap<String, DateTime<Utc>>,
}

impl Evidence {
    /// Reads the snapshots of one or more repositories (in any order).
    pub fn from_snapshots<'a>(snapshots: impl IntoIterator<Item = &'a Snapshot>) -> Self {
        let mut evidence = Self::default();
        for s in snapshots {
            let Some(time) = time_of(s) else { continue };
            let newest = |slot: &mut DateTime<Utc>| *slot = (*slot).max(time);
            match s.kind() {
                SnapshotKind::ResourceBackup => {
                    if let (Some(cluster), Some(app)) = (s.tag(TagKey::Cluster), s.tag(TagKey::App)) {
                        newest(evidence.backups.entry((cluster.to_string(), app.to_string())).or_insert(time));
                    }
                }
                SnapshotKind::EtcdFull => {
                    if let Some(cluster) = s.tag(TagKey::Cluster) {
                        newest(evidence.etcd.entry(cluster.to_string()).or_insert(time));
                    }
                }
                SnapshotKind::DrillRecord => {
                    if let Some(drill) = s.tag(TagKey::Drill) {
                        newest(evidence.drills.entry(drill.to_string()).or_insert(time));
                    }
                }
                SnapshotKind::EtcdDelta | SnapshotKind::Other => {}
            }
        }
        evidence
    }

    /// Takes the newer of each of `other`'s facts (a repository read again;
    /// one that could not be read this time leaves what was known).
    pub fn merge(&mut self, other: Self) {
        fn newer<K: std::hash::Hash + Eq>(into: &mut HashMap<K, DateTime<Utc>>, from: HashMap<K, DateTime<Utc>>) {
            for (k, t) in from {
                let slot = into.entry(k).or_insert(t);
                *slot = (*slot).max(t);
            }
        }
        newer(&mut self.backups, other.backups);
        newer(&mut self.etcd, other.etcd);
        newer(&mut self.drills, other.drills);
    }

    /// Records that `work` succeeded at `at` (before the repository is read
    /// again), for the work the repository records.
    pub fn record(&mut self, work: &Work, at: DateTime<Utc>) {
        let slot = match work {
            Work::Backup { cluster, app, .. } => self.backups.entry((cluster.clone(), app.clone())).or_insert(at),
            Work::EtcdSnapshot { cluster, .. } => self.etcd.entry(cluster.clone()).or_insert(at),
            Work::Drill { drill } => self.drills.entry(drill.clone()).or_insert(at),
            _ => return,
        };
        *slot = (*slot).max(at);
    }

    /// When `work` last succeeded, as far as the repository tells; `None`
    /// for work it does not record (retention, drift, checks: a server's own
    /// history knows those) and for work that never succeeded.
    pub fn last_success(&self, work: &Work) -> Option<DateTime<Utc>> {
        match work {
            Work::Backup { cluster, app, .. } => self.backups.get(&(cluster.clone(), app.clone())).copied(),
            Work::EtcdSnapshot { cluster, .. } => self.etcd.get(cluster).copied(),
            Work::Drill { drill } => self.drills.get(drill).copied(),
            Work::Retention { .. } | Work::EtcdWatch { .. } | Work::Drift | Work::LiveCheck => None,
        }
    }

    /// The newest resource backup of `app` on any cluster (the RPO's age).
    pub fn newest_backup_of(&self, app: &str) -> Option<DateTime<Utc>> {
        self.backups.iter().filter(|((_, a), _)| a == app).map(|(_, t)| *t).max()
    }
}

fn time_of(s: &Snapshot) -> Option<DateTime<Utc>> {
    let nanos = i64::try_from(s.nanos).ok()?;
    Some(DateTime::from_timestamp_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use bulkhead_repository::SnapshotId;

    use super::*;

    fn snapshot(seconds: i64, tags: &[String]) -> Snapshot {
        Snapshot {
            id: SnapshotId::parse(&format!("{seconds:064x}")).unwrap(),
            time: String::new(),
            epoch: seconds,
            nanos: i128::from(seconds) * 1_000_000_000,
            hostname: String::new(),
            label: String::new(),
            tags: tags.to_vec(),
            paths: Vec::new(),
            description: String::new(),
            files: 0,
            bytes: 0,
            added: 0,
        }
    }

    #[test]
    fn the_newest_snapshot_of_each_kind_is_the_last_success() {
        let backup = |s, c: &str, a: &str| snapshot(s, &[TagKey::Cluster.with(c), TagKey::App.with(a)]);
        let kind = |k: SnapshotKind| k.tag().unwrap();
        let snapshots = [
            backup(300, "c1", "shop"),
            backup(100, "c1", "shop"),
            backup(200, "c2", "shop"),
            snapshot(50, &[kind(SnapshotKind::EtcdFull), TagKey::Cluster.with("c1")]),
            snapshot(900, &[kind(SnapshotKind::EtcdDelta), TagKey::Cluster.with("c1")]),
            snapshot(70, &[kind(SnapshotKind::DrillRecord), TagKey::Drill.with("dr"), TagKey::App.with("shop")]),
        ];
        let e = Evidence::from_snapshots(&snapshots);
        let t = |s| DateTime::from_timestamp(s, 0);
        let work = |c: &str| Work::Backup { policy: "p".into(), cluster: c.into(), app: "shop".into() };
        assert_eq!(e.last_success(&work("c1")), t(300));
        assert_eq!(e.last_success(&work("c2")), t(200));
        assert_eq!(e.last_success(&work("c3")), None);
        // A drill record is no backup of its app, and a delta is no full snapshot.
        assert_eq!(e.newest_backup_of("shop"), t(300));
        assert_eq!(e.last_success(&Work::EtcdSnapshot { policy: "p".into(), cluster: "c1".into() }), t(50));
        assert_eq!(e.last_success(&Work::Drill { drill: "dr".into() }), t(70));
        assert_eq!(e.last_success(&Work::Retention { policy: "p".into() }), None);
    }
}
