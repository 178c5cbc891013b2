//! Keeping a repository to its retention: `forget` removes the snapshots a
//! group's keep rules do not keep (restic's `--keep-*` rules, applied by
//! rustic_core), `prune` removes the data no snapshot uses any more.

use rustic_core::jiff::Zoned;
use rustic_core::{KeepOptions, PruneOptions};
use serde::Serialize;

use crate::error::rustic;
use crate::{Error, Repository, Snapshot, SnapshotId};

/// How many snapshots of a group to keep: the newest `last`, and the
/// newest of each of the latest `hourly` hours, `daily` days, ….
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Keep {
    /// The newest this many.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<u32>,
    /// One per hour, for this many hours that have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hourly: Option<u32>,
    /// One per day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily: Option<u32>,
    /// One per week.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weekly: Option<u32>,
    /// One per month.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly: Option<u32>,
}

impl Keep {
    /// Whether no rule is set (nothing could be decided).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    fn options(self) -> KeepOptions {
        let n = |v: Option<u32>| v.map(|v| i32::try_from(v).unwrap_or(i32::MAX));
        let mut o = KeepOptions::default();
        o.keep_last = n(self.last);
        o.keep_hourly = n(self.hourly);
        o.keep_daily = n(self.daily);
        o.keep_weekly = n(self.weekly);
        o.keep_monthly = n(self.monthly);
        o
    }
}

/// A group of snapshots and the rules they are kept by.
#[derive(Debug, Clone)]
pub struct Retention {
    /// The snapshots' ids.
    pub snapshots: Vec<SnapshotId>,
    /// The rules.
    pub keep: Keep,
}

/// What `forget` decided for one snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// The snapshot.
    pub snapshot: Snapshot,
    /// Kept, or removed.
    pub keep: bool,
    /// The rules that keep it (`last`, `daily`, …); empty when removed.
    pub reasons: Vec<String>,
}

/// What `prune` did (or, in a dry run, would do).
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pruned {
    /// Pack files deleted whole.
    pub packs_deleted: u64,
    /// Pack files rewritten without their unused blobs.
    pub packs_repacked: u64,
    /// Bytes of pack files deleted.
    pub bytes_deleted: u64,
    /// Bytes still used by snapshots.
    pub bytes_used: u64,
    /// Unused bytes left (pruning every byte would rewrite too much).
    pub bytes_unused_left: u64,
}

impl Repository {
    /// Applies each group's rules; unless `dry_run`, removes the snapshots
    /// they do not keep. Snapshots of no group are not touched.
    ///
    /// # Errors
    /// When the repository cannot be read or written.
    pub fn forget(&self, groups: &[Retention], dry_run: bool) -> Result<Vec<Decision>, Error> {
        let all = self.repo.get_all_snapshots().map_err(self.fail("list snapshots"))?;
        let now = Zoned::now();
        let mut decisions = Vec::new();
        for group in groups.iter().filter(|g| !g.keep.is_empty()) {
            let files: Vec<_> =
                all.iter().filter(|s| group.snapshots.contains(&SnapshotId::of(&s.id))).cloned().collect();
            let fates = group.keep.options().apply(files, &now).map_err(self.fail("apply the keep rules"))?;
            decisions.extend(fates.into_iter().map(|f| Decision {
                snapshot: Snapshot::of(&f.snapshot),
                keep: f.keep,
                reasons: if f.keep { f.reasons } else { Vec::new() },
            }));
        }
        let removed: Vec<_> = all
            .iter()
            .filter(|s| decisions.iter().any(|d| !d.keep && d.snapshot.id == SnapshotId::of(&s.id)))
            .map(|s| s.id)
            .collect();
        if !dry_run && !removed.is_empty() {
            self.repo.delete_snapshots(&removed).map_err(self.fail("remove snapshots"))?;
        }
        Ok(decisions)
    }

    /// Removes these snapshots (by id); their data stays until `prune`.
    ///
    /// # Errors
    /// When the repository cannot be read or written.
    pub fn remove(&self, ids: &[SnapshotId]) -> Result<usize, Error> {
        let all = self.repo.get_all_snapshots().map_err(self.fail("list snapshots"))?;
        let removed: Vec<_> = all.iter().filter(|s| ids.contains(&SnapshotId::of(&s.id))).map(|s| s.id).collect();
        if !removed.is_empty() {
            self.repo.delete_snapshots(&removed).map_err(self.fail("remove snapshots"))?;
        }
        Ok(removed.len())
    }

    /// Removes the data no snapshot uses. Packs are deleted only after
    /// `keep_delete` has passed since they were marked (a backup running
    /// meanwhile may still refer to them), unless `now` is set: then at once,
    /// safe only when nothing else writes the repository.
    ///
    /// # Errors
    /// When the repository cannot be read or written.
    pub fn prune(self, dry_run: bool, now: bool) -> Result<Pruned, Error> {
        let options = PruneOptions::default().instant_delete(now);
        let plan = self.repo.prune_plan(&options).map_err(self.fail("plan the prune"))?;
        let stats = &plan.stats;
        let size = stats.size_sum();
        let pruned = Pruned {
            packs_deleted: stats.packs_to_delete.remove,
            packs_repacked: stats.packs.repack,
            bytes_deleted: stats.size_to_delete.remove,
            bytes_used: size.used,
            bytes_unused_left: size.unused_after_prune(),
        };
        if !dry_run {
            let location = self.location.clone();
            self.repo.prune(&options, plan).map_err(rustic(&location, "prune it"))?;
        }
        Ok(pruned)
    }
}
