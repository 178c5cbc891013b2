//! The vocabulary of Bulkhead's snapshot tags, in one place: which keys a
//! snapshot carries and what kind of snapshot it is. Tags are restic's
//! `key=value` strings, so stock `restic snapshots --tag cluster=prod`
//! finds the same snapshots Bulkhead does.

use std::fmt;

/// A tag's key. Every tag Bulkhead writes or reads has one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TagKey {
    /// The kind of a snapshot that is not a resource backup (see [`SnapshotKind`]).
    Kind,
    /// The fleet's name.
    Fleet,
    /// The cluster the snapshot is of.
    Cluster,
    /// The app a resource backup holds.
    App,
    /// The backup policy that took it.
    Policy,
    /// An etcd full snapshot's revision.
    EtcdRevision,
    /// The first revision a delta segment holds.
    EtcdFrom,
    /// The last revision a delta segment holds.
    EtcdTo,
    /// A drill record's drill.
    Drill,
    /// A drill record's app.
    DrillApp,
    /// A drill record's verdict: `passed` or `failed`.
    Verdict,
    /// A drill record's measured RTO in whole seconds (rounded up).
    RtoSeconds,
    /// The stamp of a resource backup's CSI volume snapshots: they carry
    /// it as a label, so removing the backup removes them.
    VolumeSnapshots,
}

impl TagKey {
    /// The key as written in the tag.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Kind => "bulkhead",
            Self::Fleet => "fleet",
            Self::Cluster => "cluster",
            Self::App => "app",
            Self::Policy => "policy",
            Self::EtcdRevision => "etcd-revision",
            Self::EtcdFrom => "etcd-from",
            Self::EtcdTo => "etcd-to",
            Self::Drill => "drill",
            Self::DrillApp => "drill-app",
            Self::Verdict => "verdict",
            Self::RtoSeconds => "rto-seconds",
            Self::VolumeSnapshots => "volume-snapshots",
        }
    }

    /// The tag `key=value`.
    pub fn with(self, value: impl fmt::Display) -> String {
        format!("{}={value}", self.as_str())
    }

    /// The value of this key in `tag`, when `tag` has this key.
    pub fn value_in(self, tag: &str) -> Option<&str> {
        tag.strip_prefix(self.as_str())?.strip_prefix('=')
    }
}

impl fmt::Display for TagKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a snapshot holds. A resource backup carries no kind tag (stock
/// restic users see plain backups); every other kind carries
/// `bulkhead=KIND`, so `backup list`, `restore --from latest` and `backup
/// forget` pass them by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SnapshotKind {
    /// A cluster's (or an app's) objects.
    ResourceBackup,
    /// A full etcd snapshot (`bulkhead=etcd`).
    EtcdFull,
    /// Changes from etcd's watch between two revisions (`bulkhead=etcd-delta`).
    EtcdDelta,
    /// The record of a drill (`bulkhead=drill`).
    DrillRecord,
    /// A kind this version does not know (written by a newer Bulkhead).
    Other,
}

impl SnapshotKind {
    /// The value of the kind tag, none for a resource backup.
    pub const fn tag_value(self) -> Option<&'static str> {
        match self {
            Self::ResourceBackup => None,
            Self::EtcdFull => Some("etcd"),
            Self::EtcdDelta => Some("etcd-delta"),
            Self::DrillRecord => Some("drill"),
            Self::Other => Some("other"),
        }
    }

    /// The kind tag to write (`bulkhead=etcd`), none for a resource backup.
    pub fn tag(self) -> Option<String> {
        self.tag_value().map(|v| TagKey::Kind.with(v))
    }

    /// The kind of a snapshot with these tags.
    pub fn of<'a>(tags: impl IntoIterator<Item = &'a String>) -> Self {
        match tags.into_iter().find_map(|t| TagKey::Kind.value_in(t)) {
            None => Self::ResourceBackup,
            Some("etcd") => Self::EtcdFull,
            Some("etcd-delta") => Self::EtcdDelta,
            Some("drill") => Self::DrillRecord,
            Some(_) => Self::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn kinds_read_back_from_the_tags_they_write() {
        for kind in
            [SnapshotKind::ResourceBackup, SnapshotKind::EtcdFull, SnapshotKind::EtcdDelta, SnapshotKind::DrillRecord]
        {
            let tags: Vec<String> = kind.tag().into_iter().chain([TagKey::Cluster.with("prod")]).collect();
            assert_eq!(SnapshotKind::of(&tags), kind);
        }
        assert_eq!(SnapshotKind::of(&["bulkhead=future".to_string()]), SnapshotKind::Other);
    }

    proptest! {
        #[test]
        fn a_value_reads_back_from_its_tag(value in "[a-z0-9=.-]{0,20}") {
            for key in [TagKey::Cluster, TagKey::App, TagKey::EtcdFrom, TagKey::Kind] {
                let tag = key.with(&value);
                prop_assert_eq!(key.value_in(&tag), Some(value.as_str()));
            }
            // `app` is not a prefix match of `app-x=…`.
            let other = format!("app-x={value}");
            prop_assert_eq!(TagKey::App.value_in(&other), None);
        }
    }
}
