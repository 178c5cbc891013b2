//! Retention as jobs: `forget` groups a repository's resource backups by
//! (cluster, app), as their tags say, and keeps each group to its keep
//! rules (given, or its app's policy's); `prune` frees the data no snapshot
//! uses any more. Drill records are history and etcd snapshots have rules
//! of their own: no resource backup's rule removes them.

use std::collections::BTreeMap;

use bulkhead_model::Fleet;
use bulkhead_model::spec::BackupPolicy;
use bulkhead_repository::{Decision, Env, Keep, Open, Pruned, Retention, Snapshot, SnapshotId, SnapshotKind, TagKey};
use serde::Serialize;

use crate::Error;
use crate::repository::{ChosenRepository, choose};

/// A forget job.
#[derive(Debug, Clone, Default)]
pub struct ForgetJob {
    /// Only the snapshots of this policy's apps (and its repository).
    pub policy: Option<String>,
    /// Only this cluster's snapshots.
    pub cluster: Option<String>,
    /// Only this app's snapshots.
    pub app: Option<String>,
    /// Rules for every group instead of each app's policy's (empty: the policies').
    pub keep: Keep,
    /// The repository (a name of the fleet's, or a URL).
    pub repository: Option<String>,
}

/// One group of snapshots and the rules it is kept by.
#[derive(Debug, Clone)]
pub struct RetentionGroup {
    /// The cluster its snapshots are of.
    pub cluster: String,
    /// Their app (empty: whole-cluster backups).
    pub app: String,
    /// The snapshots and the rules.
    pub retention: Retention,
}

/// A forget job resolved against what the repository holds.
#[derive(Debug, Clone)]
pub struct ForgetPlan {
    /// The repository.
    pub repository: ChosenRepository,
    /// The groups, each with its rules (empty rules: left alone).
    pub groups: Vec<RetentionGroup>,
}

impl ForgetPlan {
    /// The groups no rule applies to, in words (`prod (app shop): 3 snapshots`).
    pub fn unruled(&self) -> Vec<String> {
        self.groups
            .iter()
            .filter(|g| g.retention.keep.is_empty())
            .map(|g| {
                let app = if g.app.is_empty() { String::new() } else { format!(" (app {})", g.app) };
                format!("{}{app}: {} snapshots", g.cluster, g.retention.snapshots.len())
            })
            .collect()
    }
}

/// What a forget did, or (dry run) would do.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForgetOutcome {
    /// The repository's name.
    pub repository: String,
    /// Nothing was removed.
    pub dry_run: bool,
    /// Each snapshot's fate.
    pub decisions: Vec<Decision>,
    /// Groups left alone, having no rules.
    pub no_rules: Vec<String>,
    /// The CSI volume snapshots removed with the backups they belong to.
    pub volume_snapshots: VolumeSnapshotsRemoved,
}

/// The CSI volume snapshots a forget removed with their backups.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSnapshotsRemoved {
    /// `cluster: namespace/name` of each one deleted.
    pub removed: Vec<String>,
    /// What could not be deleted, and why (it is left on its cluster).
    pub left: Vec<String>,
}

impl ForgetOutcome {
    /// How many snapshots went (or would go).
    pub fn removed(&self) -> usize {
        self.decisions.iter().filter(|d| !d.keep).count()
    }
}

/// A policy's keep rules.
pub fn policy_keep(p: &BackupPolicy) -> Keep {
    Keep {
        last: p.keep.last,
        hourly: p.keep.hourly,
        daily: p.keep.daily,
        weekly: p.keep.weekly,
        monthly: p.keep.monthly,
    }
}

/// Reads the repository's snapshots and groups the ones `job` covers.
///
/// # Errors
/// When the job names what the fleet does not have, or the repository
/// cannot be opened or read.
pub async fn plan_forget(fleet: &Fleet, job: &ForgetJob, env: &Env) -> Result<ForgetPlan, Error> {
    let spec = &fleet.file.spec;
    let policy = match &job.policy {
        Some(name) => Some(
            spec.dr
                .policies
                .iter()
                .find(|p| p.name == *name)
                .ok_or_else(|| Error::unknown("policy", name, spec.dr.policies.iter().map(|p| p.name.as_str())))?,
        ),
        None => None,
    };
    let wanted = job.repository.as_deref().or(policy.map(|p| p.repository.as_str()));
    let repository = choose(fleet, wanted, job.app.as_deref(), env)?;
    let policy_of = |app: &str| {
        let name = &spec.apps.iter().find(|a| a.name == app)?.backup.as_ref()?.policy;
        spec.dr.policies.iter().find(|p| p.name == *name)
    };
    let uses_policy = |s: &Snapshot| {
        policy.is_none_or(|p| {
            s.tag(TagKey::Policy) == Some(p.name.as_str())
                || s.tag(TagKey::App).and_then(policy_of).is_some_and(|x| x.name == p.name)
        })
    };
    let snapshots = repository.access.snapshots().await?;
    let mut groups: BTreeMap<(String, String), Vec<SnapshotId>> = BTreeMap::new();
    for s in &snapshots {
        let in_scope = s.is_resource_backup()
            && job.cluster.as_deref().is_none_or(|c| s.tag(TagKey::Cluster) == Some(c))
            && job.app.as_deref().is_none_or(|a| s.tag(TagKey::App) == Some(a))
            && uses_policy(s);
        if in_scope {
            let key = (
                s.tag(TagKey::Cluster).unwrap_or(&s.hostname).to_string(),
                s.tag(TagKey::App).unwrap_or("").to_string(),
            );
            groups.entry(key).or_default().push(s.id.clone());
        }
    }
    let groups = groups
        .into_iter()
        .map(|((cluster, app), snapshots)| {
            let keep = if job.keep.is_empty() {
                Some(app.as_str()).filter(|a| !a.is_empty()).and_then(policy_of).map_or_else(Keep::default, policy_keep)
            } else {
                job.keep
            };
            RetentionGroup { cluster, app, retention: Retention { snapshots, keep } }
        })
        .collect();
    Ok(ForgetPlan { repository, groups })
}

/// Applies the plan's rules; unless `dry_run`, removes what they do not keep.
///
/// # Errors
/// When the repository cannot be read or written.
pub async fn execute_forget(fleet: &Fleet, plan: ForgetPlan, dry_run: bool) -> Result<ForgetOutcome, Error> {
    let no_rules = plan.unruled();
    let groups: Vec<Retention> = plan.groups.into_iter().map(|g| g.retention).collect();
    let decisions = plan.repository.access.run(Open::Existing, move |r| r.forget(&groups, dry_run)).await?;
    let volume_snapshots =
        if dry_run { VolumeSnapshotsRemoved::default() } else { remove_volume_snapshots(fleet, &decisions).await };
    Ok(ForgetOutcome { repository: plan.repository.name, dry_run, decisions, no_rules, volume_snapshots })
}

/// The CSI volume snapshots of the backups a forget removed, deleted on
/// their clusters (found by the stamp both carry). A cluster that cannot
/// be reached is reported, not an error: the backups are gone already,
/// and the message names what is left to delete by hand.
async fn remove_volume_snapshots(fleet: &Fleet, decisions: &[Decision]) -> VolumeSnapshotsRemoved {
    let mut out = VolumeSnapshotsRemoved::default();
    for d in decisions.iter().filter(|d| !d.keep) {
        let Some(stamp) = d.snapshot.tag(TagKey::VolumeSnapshots) else { continue };
        let cluster_name = d.snapshot.tag(TagKey::Cluster).unwrap_or(&d.snapshot.hostname);
        let labels = format!("{}={stamp}", bulkhead_dr::volumes::RUN_LABEL);
        let removed = async {
            let cluster = crate::clusters::connect(fleet, cluster_name).await?;
            let found = bulkhead_kube::volume_snapshots::list_labelled(&cluster, &labels).await?;
            for (ns, name) in &found {
                bulkhead_kube::volume_snapshots::delete(&cluster, ns, name).await?;
            }
            Ok::<_, Error>(found)
        };
        match removed.await {
            Ok(found) => out.removed.extend(found.into_iter().map(|(ns, name)| format!("{cluster_name}: {ns}/{name}"))),
            Err(e) => out.left.push(format!(
                "{cluster_name}: the VolumeSnapshots labelled {labels} (of snapshot {}): {e}",
                d.snapshot.id.short()
            )),
        }
    }
    out
}

/// What a prune did, or (dry run) would do.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneOutcome {
    /// The repository's name.
    pub repository: String,
    /// Nothing was deleted.
    pub dry_run: bool,
    /// The figures.
    pub pruned: Pruned,
}

/// Frees the data no snapshot uses. Packs are deleted a day after they
/// were marked unless `now` (safe only while nothing else writes).
///
/// # Errors
/// When the repository cannot be read or written.
pub async fn prune(repository: ChosenRepository, dry_run: bool, now: bool) -> Result<PruneOutcome, Error> {
    let pruned = repository.access.run(Open::Existing, move |r| r.prune(dry_run, now)).await?;
    Ok(PruneOutcome { repository: repository.name, dry_run, pruned })
}

/// An etcd forget job: a control plane's full snapshots kept to its
/// policy's rules (or `keep`), and the delta segments only the removed ones
/// could use.
#[derive(Debug, Clone, Default)]
pub struct EtcdForgetJob {
    /// The cluster whose etcd backups are kept.
    pub cluster: String,
    /// Rules instead of the etcd policy's (empty: the policy's).
    pub keep: Keep,
    /// Decide only.
    pub dry_run: bool,
    /// The repository (a name of the fleet's, or a URL); default: the policy's.
    pub repository: Option<String>,
}

/// What an etcd forget did, or (dry run) would do.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EtcdForgetOutcome {
    /// The repository's name.
    pub repository: String,
    /// The cluster.
    pub cluster: String,
    /// Nothing was removed.
    pub dry_run: bool,
    /// Each full snapshot's fate.
    pub full_snapshots: Vec<Decision>,
    /// The delta segments removed (ids).
    pub segments_removed: Vec<String>,
    /// How many delta segments stay.
    pub segments_kept: usize,
}

impl EtcdForgetOutcome {
    /// Full snapshots removed (or that would be).
    pub fn removed_fulls(&self) -> usize {
        self.full_snapshots.iter().filter(|d| !d.keep).count()
    }
}

/// Keeps a control plane's etcd backups to their rules.
///
/// # Errors
/// When the cluster is not the fleet's, no rules apply, or the repository
/// cannot be opened, read or written.
pub async fn etcd_forget(fleet: &Fleet, job: &EtcdForgetJob, env: &Env) -> Result<EtcdForgetOutcome, Error> {
    let spec = &fleet.file.spec;
    let cluster = spec
        .clusters
        .iter()
        .find(|c| c.name == job.cluster)
        .ok_or_else(|| Error::unknown("cluster", &job.cluster, spec.clusters.iter().map(|c| c.name.as_str())))?;
    // The cluster's etcd policy, as the blast radius finds it.
    let policy = cluster
        .control_plane
        .etcd
        .backup
        .as_ref()
        .and_then(|b| spec.dr.policies.iter().find(|p| p.name == b.policy))
        .or_else(|| spec.dr.policies.iter().find(|p| p.etcd));
    let keep = if job.keep.is_empty() { policy.map(policy_keep).unwrap_or_default() } else { job.keep };
    if keep.is_empty() {
        return Err(Error::Usage(format!(
            "no keep rules for the etcd backups of `{}`: give --keep-*, or `controlPlane.etcd.backup: {{policy: NAME}}` with a policy that has `keep`",
            cluster.name
        )));
    }
    let wanted = job.repository.as_deref().or(policy.map(|p| p.repository.as_str()));
    let repository = choose(fleet, wanted, None, env)?;
    let snapshots = repository.access.snapshots().await?;
    let of_kind = |kind: SnapshotKind| -> Vec<Snapshot> {
        snapshots
            .iter()
            .filter(|s| s.kind() == kind && s.tag(TagKey::Cluster) == Some(&cluster.name))
            .cloned()
            .collect()
    };
    let (fulls, deltas) = (of_kind(SnapshotKind::EtcdFull), of_kind(SnapshotKind::EtcdDelta));
    let group = Retention { snapshots: fulls.iter().map(|s| s.id.clone()).collect(), keep };
    // Decided first without removing anything: the segments to drop depend on what stays.
    let decisions = repository.access.run(Open::Existing, move |r| r.forget(&[group], true)).await?;
    let revision = |s: &Snapshot, key: TagKey| s.number(key).unwrap_or(0);
    let kept: Vec<i64> =
        decisions.iter().filter(|d| d.keep).map(|d| revision(&d.snapshot, TagKey::EtcdRevision)).collect();
    let segments: Vec<(String, i64)> = deltas.iter().map(|s| (s.id.to_string(), revision(s, TagKey::EtcdTo))).collect();
    let obsolete: Vec<String> =
        bulkhead_etcd::retention::obsolete_segments(&kept, &segments).into_iter().map(str::to_string).collect();
    let mut remove: Vec<SnapshotId> = decisions.iter().filter(|d| !d.keep).map(|d| d.snapshot.id.clone()).collect();
    remove.extend(deltas.iter().filter(|s| obsolete.contains(&s.id.to_string())).map(|s| s.id.clone()));
    if !job.dry_run && !remove.is_empty() {
        repository.access.run(Open::Existing, move |r| r.remove(&remove)).await?;
    }
    Ok(EtcdForgetOutcome {
        repository: repository.name,
        cluster: cluster.name.clone(),
        dry_run: job.dry_run,
        full_snapshots: decisions,
        segments_kept: deltas.len() - obsolete.len(),
        segments_removed: obsolete,
    })
}
