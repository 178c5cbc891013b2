//! Whether each app's backups keep up with its RPO: the age of its newest
//! snapshot against `sla.rpo`, and apps whose policy never produced one;
//! and whether each tier-1 app's recovery was rehearsed lately: its newest
//! drill record, its age and verdict. Pure: the snapshots are read by the
//! caller.

use bulkhead_model::{Code, Diagnostic, Fleet};
use bulkhead_repository::{Snapshot, SnapshotKind, TagKey};

/// An app's newest backup is older than its RPO.
pub const BACKUP_STALE: Code = Code::new("backup-stale");
/// An app with a backup policy has no backup at all.
pub const BACKUP_MISSING: Code = Code::new("backup-missing");
/// A repository could not be read, so its apps' backups are unknown.
pub const BACKUP_UNKNOWN: Code = Code::new("backup-unknown");

/// A tier-1 app has no passing drill within `dr.drillMaxAge`.
pub const DRILL_OVERDUE: Code = Code::new("drill-overdue");
/// A tier-1 app's newest drill failed.
pub const DRILL_FAILED: Code = Code::new("drill-failed");
/// A tier-1 app's newest drill passed (a note: when, so it shows in the report).
pub const DRILL_PASSED: Code = Code::new("drill-passed");

/// What was read of one repository: its snapshots, or why not.
#[derive(Debug, Clone)]
pub struct RepositorySnapshots {
    /// The repository's name in `dr.repositories`.
    pub name: String,
    /// Its snapshots, or why they could not be read.
    pub snapshots: Result<Vec<Snapshot>, bulkhead_repository::Error>,
}

/// A finding per app with a backup policy whose newest snapshot (tagged
/// `app=NAME`) is missing or older than its RPO, at `now` (seconds since
/// the epoch).
pub fn backup_findings(fleet: &Fleet, repositories: &[RepositorySnapshots], now: i64) -> Vec<Diagnostic> {
    let spec = &fleet.file.spec;
    let mut out = Vec::new();
    for (i, app) in spec.apps.iter().enumerate() {
        let Some(backup) = &app.backup else { continue };
        let Some(policy) = spec.dr.policies.iter().find(|p| p.name == backup.policy) else { continue };
        let Some(read) = repositories.iter().find(|r| r.name == policy.repository) else { continue };
        let span = Some(fleet.span(&format!("spec/apps/{i}/backup")));
        let snapshots = match &read.snapshots {
            Ok(s) => s,
            Err(why) => {
                out.push(
                    Diagnostic::warning(
                        BACKUP_UNKNOWN,
                        &fleet.path,
                        span,
                        format!("the backups of app `{}` are unknown: repository `{}`: {why}", app.name, read.name),
                    )
                    .with_hint("make the repository reachable, and its password available, where `check --live` runs"),
                );
                continue;
            }
        };
        let newest = snapshots.iter().filter(|s| s.tag(TagKey::App) == Some(app.name.as_str())).map(|s| s.epoch).max();
        let rpo = app.sla.rpo.as_deref().and_then(|r| humantime::parse_duration(r).ok()).map(|d| d.as_secs() as i64);
        match (newest, rpo) {
            (None, _) => out.push(
                Diagnostic::error(
                    BACKUP_MISSING,
                    &fleet.path,
                    span,
                    format!(
                        "app `{}` has no backup in repository `{}` (policy `{}`)",
                        app.name, read.name, policy.name
                    ),
                )
                .with_hint(format!("run `bulkhead backup create --policy {}` on its schedule", policy.name)),
            ),
            (Some(t), Some(rpo)) if now - t > rpo => out.push(
                Diagnostic::error(
                    BACKUP_STALE,
                    &fleet.path,
                    span,
                    format!(
                        "the newest backup of app `{}` is {} old, beyond its RPO of {}",
                        app.name,
                        humantime::format_duration(std::time::Duration::from_secs((now - t).max(0) as u64)),
                        app.sla.rpo.as_deref().unwrap_or_default()
                    ),
                )
                .with_hint(format!(
                    "is the job that runs `bulkhead backup create --policy {}` ({}) running?",
                    policy.name, policy.schedule
                )),
            ),
            _ => {}
        }
    }
    out
}

/// Per tier-1 app with a backup policy: a note with its newest drill's age
/// and verdict, a warning when that drill failed, and a warning when no
/// drill passed within `dr.drillMaxAge` (default 7 days), at `now`.
pub fn drill_findings(fleet: &Fleet, repositories: &[RepositorySnapshots], now: i64) -> Vec<Diagnostic> {
    let spec = &fleet.file.spec;
    let max_age = spec
        .dr
        .drill_max_age
        .as_deref()
        .and_then(|a| humantime::parse_duration(a).ok())
        .unwrap_or(std::time::Duration::from_secs(7 * 24 * 3600));
    let age = |t: i64| humantime::format_duration(std::time::Duration::from_secs((now - t).max(0) as u64)).to_string();
    let mut out = Vec::new();
    for (i, app) in spec.apps.iter().enumerate().filter(|(_, a)| a.sla.tier == 1) {
        let Some(backup) = &app.backup else { continue };
        let Some(policy) = spec.dr.policies.iter().find(|p| p.name == backup.policy) else { continue };
        let Some(Ok(snapshots)) = repositories.iter().find(|r| r.name == policy.repository).map(|r| &r.snapshots)
        else {
            continue;
        };
        let span = Some(fleet.span(&format!("spec/apps/{i}")));
        let records: Vec<&Snapshot> = snapshots
            .iter()
            .filter(|s| s.kind() == SnapshotKind::DrillRecord && s.tag(TagKey::DrillApp) == Some(&app.name))
            .collect();
        let newest = records.iter().max_by_key(|s| s.nanos);
        let passed = records.iter().filter(|s| s.tag(TagKey::Verdict) == Some("passed")).map(|s| s.epoch).max();
        if let Some(last) = newest {
            let verdict = last.tag(TagKey::Verdict).unwrap_or("unknown");
            let drill = last.tag(TagKey::Drill).unwrap_or("?");
            if verdict == "passed" {
                out.push(Diagnostic::new(
                    bulkhead_model::Severity::Info,
                    DRILL_PASSED,
                    &fleet.path,
                    span,
                    format!("app `{}`: drill `{drill}` passed {} ago", app.name, age(last.epoch)),
                ));
            } else {
                out.push(
                    Diagnostic::warning(
                        DRILL_FAILED,
                        &fleet.path,
                        span,
                        format!("app `{}`: the newest drill, `{drill}`, {verdict} {} ago", app.name, age(last.epoch)),
                    )
                    .with_hint(format!("`bulkhead drill history --app {}` says why", app.name)),
                );
            }
        }
        if passed.is_none_or(|t| now - t > max_age.as_secs() as i64) {
            let since = passed.map_or_else(|| "never".to_string(), |t| format!("last {} ago", age(t)));
            out.push(
                Diagnostic::warning(
                    DRILL_OVERDUE,
                    &fleet.path,
                    span,
                    format!(
                        "tier-1 app `{}` has no passing drill within {} ({since})",
                        app.name,
                        humantime::format_duration(max_age)
                    ),
                )
                .with_hint(format!(
                    "run `bulkhead drill run --app {} --from CLUSTER --to CLUSTER`, or a drill of `dr.drills`",
                    app.name
                )),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use bulkhead_model::{LoadOptions, MemoryFiles, load_from};

    use super::*;

    const FLEET: &str = "apiVersion: bulkhead.dev/v1alpha1\nkind: Fleet\nmetadata: {name: t}\nspec:\n  providers:\n    - {name: aws, kind: aws, regions: [{name: r, zones: [a, b, c]}]}\n  clusters:\n    - {name: prod, location: aws/r}\n  apps:\n    - {name: shop, manifests: apps/shop, namespace: shop, placement: {clusters: {names: [prod]}}, sla: {tier: 1, rto: 1h, rpo: 1h}, backup: {policy: hourly}}\n  dr:\n    repositories:\n      - {name: r1, url: /srv/r1, passwordEnv: P}\n    policies:\n      - {name: hourly, schedule: \"0 * * * *\", repository: r1, keep: {hourly: 24}}\n";

    fn snapshot(app: &str, epoch: i64) -> Snapshot {
        Snapshot {
            id: bulkhead_repository::SnapshotId::parse(&"ab".repeat(32)).unwrap(),
            time: String::new(),
            epoch,
            nanos: i128::from(epoch) * 1_000_000_000,
            hostname: "prod".into(),
            label: String::new(),
            tags: vec![format!("app={app}")],
            paths: Vec::new(),
            description: String::new(),
            files: 1,
            bytes: 1,
            added: 1,
        }
    }

    fn codes(snapshots: Result<Vec<Snapshot>, bulkhead_repository::Error>, now: i64) -> Vec<String> {
        let mut files = MemoryFiles::new();
        files.insert("fleet.yaml", FLEET);
        files.insert("apps/shop/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n");
        let loaded = load_from(&files, Path::new("fleet.yaml"), LoadOptions { manifests: false }).unwrap();
        let fleet = loaded.fleet.unwrap();
        let repos = [RepositorySnapshots { name: "r1".into(), snapshots }];
        backup_findings(&fleet, &repos, now).into_iter().map(|d| d.code.as_str().to_string()).collect()
    }

    fn drill_codes(records: Vec<(i64, &str)>, now: i64) -> Vec<String> {
        let mut files = MemoryFiles::new();
        files.insert("fleet.yaml", FLEET);
        files.insert("apps/shop/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n");
        let loaded = load_from(&files, Path::new("fleet.yaml"), LoadOptions { manifests: false }).unwrap();
        let fleet = loaded.fleet.unwrap();
        let snapshots = records
            .into_iter()
            .map(|(epoch, verdict)| {
                let mut s = snapshot("x", epoch);
                s.tags = vec![
                    SnapshotKind::DrillRecord.tag().unwrap(),
                    "drill-app=shop".into(),
                    "drill=d".into(),
                    format!("verdict={verdict}"),
                ];
                s
            })
            .collect();
        let repos = [RepositorySnapshots { name: "r1".into(), snapshots: Ok(snapshots) }];
        drill_findings(&fleet, &repos, now).into_iter().map(|d| d.code.as_str().to_string()).collect()
    }

    #[test]
    fn tier_one_apps_are_judged_by_their_newest_drills() {
        let day = 24 * 3600;
        assert_eq!(drill_codes(vec![], 30 * day), ["drill-overdue"]);
        assert_eq!(drill_codes(vec![(29 * day, "passed")], 30 * day), ["drill-passed"]);
        assert_eq!(drill_codes(vec![(20 * day, "passed")], 30 * day), ["drill-passed", "drill-overdue"]);
        assert_eq!(drill_codes(vec![(28 * day, "passed"), (29 * day, "failed")], 30 * day), ["drill-failed"]);
        assert_eq!(drill_codes(vec![(29 * day, "failed")], 30 * day), ["drill-failed", "drill-overdue"]);
    }

    #[test]
    fn backups_are_judged_against_the_rpo() {
        assert_eq!(codes(Ok(vec![]), 10_000), ["backup-missing"]);
        assert_eq!(codes(Ok(vec![snapshot("other", 9_000)]), 10_000), ["backup-missing"]);
        assert!(codes(Ok(vec![snapshot("shop", 9_000)]), 10_000).is_empty(), "17 minutes old, RPO 1 h");
        assert_eq!(codes(Ok(vec![snapshot("shop", 1_000)]), 10_000), ["backup-stale"]);
        assert_eq!(codes(Err(bulkhead_repository::Error::Source("unreachable".into())), 10_000), ["backup-unknown"]);
    }
}
