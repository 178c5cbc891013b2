//! `bulkhead etcd forget`: a cluster's etcd backups kept to their rules.

use std::io::Write;

use bulkhead_report::{OutputFormat, Verdict};
use bulkhead_vault::Retention;

use super::super::recovery::{load_fleet, repository, with_vault};
use super::super::retention::{keep_flags, policy_keep};
use crate::args::EtcdForgetArgs;
use crate::error::Failure;
use crate::settings::output;

/// Runs `etcd forget`.
///
/// # Errors
/// Bad flags or fleet, no keep rules (exit 2); the repository unreachable (exit 3).
pub fn run(args: &EtcdForgetArgs, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&args.fleet.fleet)?;
    let spec = &fleet.file.spec;
    let cluster = spec
        .clusters
        .iter()
        .find(|c| c.name == args.cluster)
        .ok_or_else(|| Failure::Usage(format!("the fleet has no cluster `{}`", args.cluster)))?;
    // The cluster's etcd policy, as the blast radius finds it.
    let policy = cluster
        .control_plane
        .etcd
        .backup
        .as_ref()
        .and_then(|b| spec.dr.policies.iter().find(|p| p.name == b.policy))
        .or_else(|| spec.dr.policies.iter().find(|p| p.etcd));
    let flags = keep_flags(&args.keep);
    let keep = if flags.is_empty() { policy.map(policy_keep).unwrap_or_default() } else { flags };
    if keep.is_empty() {
        return Err(Failure::Usage(format!(
            "no keep rules for the etcd backups of `{}`: give --keep-*, or `controlPlane.etcd.backup: {{policy: NAME}}` with a policy that has `keep`",
            cluster.name
        )));
    }
    let wanted_repo = args.repo.repo.clone().or_else(|| policy.map(|p| p.repository.clone()));
    let repo = repository(&fleet, wanted_repo.as_deref(), None)?;
    let cluster_tag = format!("cluster={}", cluster.name);
    let snapshots = with_vault(&repo, |v| v.snapshots())?;
    let of_kind = |kind: &str| {
        snapshots
            .iter()
            .filter(|s| s.tags.contains(&cluster_tag) && s.tags.iter().any(|t| t == kind))
            .cloned()
            .collect::<Vec<_>>()
    };
    let fulls = of_kind(bulkhead_etcd::SNAPSHOT_TAG);
    let deltas = of_kind(bulkhead_etcd::DELTA_TAG);
    let group = Retention { snapshots: fulls.iter().map(|s| s.id.clone()).collect(), keep };
    // Decided first without removing anything: the segments to drop depend on what stays.
    let decisions = with_vault(&repo, move |v| v.forget(&[group], true))?;
    let revision =
        |s: &bulkhead_vault::Snapshot, tag: &str| s.tag(tag).and_then(|r| r.parse::<i64>().ok()).unwrap_or(0);
    let kept: Vec<i64> = decisions.iter().filter(|d| d.keep).map(|d| revision(&d.snapshot, "etcd-revision")).collect();
    let segments: Vec<(String, i64)> = deltas.iter().map(|s| (s.id.clone(), revision(s, "etcd-to"))).collect();
    let obsolete: Vec<String> =
        bulkhead_etcd::retention::obsolete_segments(&kept, &segments).into_iter().map(str::to_string).collect();
    let mut remove: Vec<String> = decisions.iter().filter(|d| !d.keep).map(|d| d.snapshot.id.clone()).collect();
    remove.extend(obsolete.iter().cloned());
    if !args.dry_run && !remove.is_empty() {
        let ids = remove.clone();
        with_vault(&repo, move |v| v.remove(&ids))?;
    }
    let removed_fulls = decisions.iter().filter(|d| !d.keep).count();
    match output(args.output) {
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "repository": repo.name,
                "cluster": cluster.name,
                "dryRun": args.dry_run,
                "fullSnapshots": decisions,
                "segmentsRemoved": obsolete,
                "segmentsKept": deltas.len() - obsolete.len(),
            });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        _ => {
            for d in &decisions {
                let s = &d.snapshot;
                writeln!(
                    out,
                    "{}  {}  revision {:>10}  {}",
                    &s.id[..8.min(s.id.len())],
                    s.time,
                    revision(s, "etcd-revision"),
                    if d.keep { format!("keep ({})", d.reasons.join(", ")) } else { "remove".into() }
                )?;
            }
            let verb = if args.dry_run { "would be removed (dry run: nothing removed)" } else { "removed" };
            writeln!(
                out,
                "etcd of `{}` in {}: {} full snapshots kept, {removed_fulls} {verb}; {} delta segments kept, {} {verb} (older than the oldest full snapshot kept){}",
                cluster.name,
                repo.name,
                decisions.len() - removed_fulls,
                deltas.len() - obsolete.len(),
                obsolete.len(),
                if !remove.is_empty() && !args.dry_run { "; `bulkhead backup prune` frees their data" } else { "" }
            )?;
        }
    }
    Ok(Verdict::Pass)
}
