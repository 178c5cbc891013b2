//! The `check` pipeline. [`check`] runs every analysis over a loaded fleet
//! (validate, net, audit, blast; live, backups too) and returns a
//! [`CheckResult`]: stages, findings and one [`Verdict`]. Live state comes
//! in as a [`LiveState`], read by [`read_live`] (or, in a server, built from
//! a watch cache), so offline and live runs share every analysis.
//!
//! New analyses add a stage here and nothing else changes for the CLI, the
//! server or CI.

use bulkhead_model::spec::DomainLevel;
use bulkhead_repository::{SnapshotKind, TagKey};

use crate::local_files::read_lock;
use bulkhead_model::{Diagnostic, Fleet, Loaded, Severity};
use bulkhead_model::{Stage, StageStatus, Verdict};
use bulkhead_net::ClusterNetwork;
use bulkhead_workload::LiveFleet;

/// The policy `check` applies to the blast radius: no single zone may take
/// down a tier-1 app.
pub const DEFAULT_BLAST_POLICY: bulkhead_blast::Policy = bulkhead_blast::Policy { level: DomainLevel::Zone, tier: 1 };

/// What the clusters of a fleet look like now.
#[derive(Debug, Clone, Default)]
pub struct LiveState {
    /// Workloads, pods and nodes of every cluster read.
    pub workloads: LiveFleet,
    /// The ranges each cluster read uses: (index in `spec.clusters`, name, ranges).
    pub networks: Vec<(usize, String, ClusterNetwork)>,
    /// Clusters that could not be read, once each, at their `access`.
    pub unreachable: Vec<Diagnostic>,
    /// Objects Bulkhead applied that drifted from the fleet's code, one
    /// warning each, and how many objects were compared.
    pub drift: (Vec<Diagnostic>, usize),
}

/// An object Bulkhead applied that no longer matches the fleet's code.
pub const DRIFT: bulkhead_model::Code = bulkhead_model::Code::new("drift");

/// What the fleet's backup repositories hold now.
#[derive(Debug, Clone, Default)]
pub struct Backups {
    /// The snapshots of every repository a backup policy uses.
    pub repositories: Vec<bulkhead_dr::freshness::RepositorySnapshots>,
    /// When they were read, in seconds since the epoch.
    pub read_at: i64,
}

/// Reads every cluster with `access`, all at once.
pub async fn read_live(fleet: &Fleet) -> LiveState {
    let (workloads, networks) = tokio::join!(bulkhead_kube::read_workloads(fleet), bulkhead_kube::read_networks(fleet));
    let (networks, mut unreachable) = networks;
    // A cluster that failed both reads is reported once.
    for d in &workloads.unreachable {
        if !unreachable.iter().any(|u| u.span == d.span) {
            unreachable.push(d.clone());
        }
    }
    Diagnostic::sort(&mut unreachable);
    let workloads = LiveFleet { unreachable: Vec::new(), ..workloads };
    let drift = read_drift(fleet).await;
    LiveState { workloads, networks, unreachable, drift }
}

/// The drift of every reachable cluster: the objects Bulkhead applied,
/// planned against the fleet's code (`bulkhead drift` without the pending
/// changes). A fleet that never used `bulkhead apply` has no inventory, and
/// costs one read per cluster. Clusters that cannot be read are left to the
/// other reads, which report them.
async fn read_drift(fleet: &Fleet) -> (Vec<Diagnostic>, usize) {
    let (desired, problems) = bulkhead_apply::desired::render(fleet);
    if !problems.is_empty() {
        return (problems, 0);
    }
    let mut files = std::collections::HashMap::new();
    // Which app each object is of, so a drift is counted against its app.
    let mut apps = std::collections::HashMap::new();
    let mut targets = Vec::new();
    for d in desired {
        let Some(spec) = fleet.file.spec.clusters.iter().find(|c| c.name == d.cluster && c.access.is_some()) else {
            continue;
        };
        for o in &d.objects {
            if let Some(f) = &o.file {
                files.insert((d.cluster.clone(), o.key.clone()), f.clone());
            }
            if let bulkhead_apply::desired::Origin::App(app) | bulkhead_apply::desired::Origin::AppNamespace(app) =
                &o.origin
            {
                apps.insert((d.cluster.clone(), o.key.clone()), app.clone());
            }
        }
        if let Ok(cluster) = bulkhead_kube::connect(&fleet.root, spec).await {
            targets.push((cluster, std::sync::Arc::new(d)));
        }
    }
    let options = bulkhead_apply::plan::PlanOptions { only_applied: true, ..Default::default() };
    let mut out = Vec::new();
    let mut compared = 0;
    for (name, plan) in bulkhead_apply::plan::plan_all(targets, options).await {
        let Ok(plan) = plan else { continue };
        let drift = bulkhead_apply::drift::of_plan(&plan);
        compared += drift.in_sync + drift.drifted.len();
        for o in drift.drifted {
            let file = files.get(&(name.clone(), o.key.clone())).cloned().unwrap_or_else(|| fleet.path.clone());
            let what = match o.fields.first() {
                None => "is gone".to_string(),
                Some(f) => format!(
                    "has `{}` {} where the fleet says {}{}",
                    f.path,
                    bulkhead_apply::diff::show(f.before.as_ref()),
                    bulkhead_apply::diff::show(f.after.as_ref()),
                    if o.fields.len() > 1 {
                        format!(" (and {} more fields)", o.fields.len() - 1)
                    } else {
                        String::new()
                    }
                ),
            };
            let mut found = Diagnostic::warning(DRIFT, &file, None, format!("{} on cluster `{name}` {what}", o.key))
                .with_hint("`bulkhead apply` puts it back; `bulkhead drift` shows every field");
            if let Some(app) = apps.get(&(name.clone(), o.key.clone())) {
                found = found.with_about(bulkhead_model::About {
                    app: Some(app.clone()),
                    object: Some(o.key.to_string()),
                    clusters: std::sync::Arc::from([name.clone()]),
                });
            }
            out.push(found);
        }
    }
    (out, compared)
}

/// Each app's newest passing drill and the RTO it measured, from the drill
/// records among `backups`: what "restore from backup" takes in the blast
/// radius.
pub fn measured_restores(backups: &Backups) -> bulkhead_blast::MeasuredRestores {
    let mut out = bulkhead_blast::MeasuredRestores::new();
    let records = backups
        .repositories
        .iter()
        .filter_map(|r| r.snapshots.as_ref().ok())
        .flatten()
        .filter(|s| s.kind() == SnapshotKind::DrillRecord && s.tag(TagKey::Verdict) == Some("passed"));
    for s in records {
        let (Some(app), Some(seconds)) =
            (s.tag(TagKey::DrillApp), s.tag(TagKey::RtoSeconds).and_then(|t| t.parse::<f64>().ok()))
        else {
            continue;
        };
        if out.get(app).is_some_and(|m: &bulkhead_blast::MeasuredRestore| m.at >= s.epoch) {
            continue;
        }
        let measured = bulkhead_blast::MeasuredRestore {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // whole seconds, from a tag we wrote
            seconds: seconds.max(0.0).ceil() as u64,
            drill: s.tag(TagKey::Drill).unwrap_or("?").to_string(),
            at: s.epoch,
        };
        out.insert(app.to_string(), measured);
    }
    out
}

/// What the repositories measured: drills' restore times, and each
/// cluster's newest etcd backup (a full snapshot or a delta segment).
pub fn measured(backups: &Backups) -> bulkhead_blast::Measured {
    let mut etcd = bulkhead_blast::EtcdBackups { read_at: backups.read_at, ..Default::default() };
    let stored = backups.repositories.iter().filter_map(|r| r.snapshots.as_ref().ok()).flatten();
    for s in stored.filter(|s| matches!(s.kind(), SnapshotKind::EtcdFull | SnapshotKind::EtcdDelta)) {
        if let Some(cluster) = s.tag(TagKey::Cluster) {
            let newest = etcd.newest.entry(cluster.to_string()).or_insert(s.epoch);
            *newest = (*newest).max(s.epoch);
        }
    }
    bulkhead_blast::Measured { restores: measured_restores(backups), etcd }
}

/// Reads the snapshots of every repository a backup policy uses; `env`
/// supplies passwords and S3 keys.
pub async fn read_backups(fleet: &Fleet, env: &bulkhead_repository::Env) -> Backups {
    let repositories = read_repositories(fleet, env).await;
    let read_at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    Backups { repositories, read_at }
}

/// The snapshots of each repository a backup policy uses, all read at once.
async fn read_repositories(
    fleet: &Fleet,
    env: &bulkhead_repository::Env,
) -> Vec<bulkhead_dr::freshness::RepositorySnapshots> {
    let reads = crate::repository::of_policies(fleet).into_iter().map(|name| async move {
        let snapshots = match crate::repository::named(fleet, &name, env) {
            Ok(chosen) => chosen.access.snapshots().await,
            Err(crate::Error::Repository(e)) => Err(e),
            // A repository a valid fleet cannot name wrong; said as it is.
            Err(other) => Err(bulkhead_repository::Error::Credentials { what: other.to_string() }),
        };
        bulkhead_dr::freshness::RepositorySnapshots { name, snapshots }
    });
    futures::future::join_all(reads).await
}

/// How to judge the fleet.
#[derive(Debug, Clone, Copy)]
pub struct CheckOptions {
    /// The lowest severity that fails a stage.
    pub fail_on: Severity,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self { fail_on: Severity::Error }
    }
}

/// Everything `check` found.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// The fleet's name, when it could be read.
    pub fleet: Option<String>,
    /// The analyses, in the order they ran.
    pub stages: Vec<Stage>,
    /// Every finding of every stage, sorted.
    pub diagnostics: Vec<Diagnostic>,
    /// The outcome.
    pub verdict: Verdict,
}

/// Runs every analysis of `loaded`; with `live`, against the clusters as
/// they run; with `backups`, judging each app's newest snapshot too.
pub fn check(
    loaded: &Loaded,
    live: Option<&LiveState>,
    backups: Option<&Backups>,
    options: CheckOptions,
) -> CheckResult {
    let fail_on = options.fail_on;
    let covered = match &loaded.fleet {
        Some(f) => {
            let t = &f.topology;
            format!(
                "{} clusters, {} nodes in {} zones, {} apps, {} objects",
                t.at_level(DomainLevel::Cluster).count(),
                t.at_level(DomainLevel::Node).count(),
                t.at_level(DomainLevel::Zone).count(),
                f.apps.len(),
                loaded.counts.objects
            )
        }
        None => "the fleet could not be read".to_string(),
    };
    let mut stages = vec![Stage::from_findings("validate", &loaded.diagnostics, fail_on, covered)];
    let mut input_ok = !loaded.has_errors();
    let mut diagnostics = loaded.diagnostics.clone();
    let mut unreachable = false;

    match loaded.fleet.as_ref().filter(|_| input_ok) {
        Some(fleet) => {
            if let Some(live) = live {
                let with_access = fleet.file.spec.clusters.iter().filter(|c| c.access.is_some()).count();
                let detail =
                    format!("{} of {with_access} clusters with `access` read", with_access - live.unreachable.len());
                stages.push(Stage::from_findings("clusters", &live.unreachable, fail_on, detail));
                diagnostics.extend(live.unreachable.iter().cloned());
                unreachable = !live.unreachable.is_empty();
            }

            if let Some(live) = live {
                let (findings, compared) = &live.drift;
                let detail = format!("{compared} objects Bulkhead applied compared with the fleet");
                stages.push(Stage::from_findings("drift", findings, fail_on, detail));
                diagnostics.extend(findings.iter().cloned());
            }

            let (findings, detail, lock_ok) = net_stage(fleet, live);
            input_ok &= lock_ok;
            stages.push(Stage::from_findings("net", &findings, fail_on, detail));
            diagnostics.extend(findings);

            let (audit_settings, mut findings) = bulkhead_audit::resolve_settings(fleet);
            let (found, stats) = match live {
                Some(l) => bulkhead_audit::audit_live(fleet, &l.workloads, &audit_settings),
                None => bulkhead_audit::audit_fleet(fleet, &audit_settings),
            };
            findings.extend(found);
            let detail = format!(
                "{} {}objects of {} apps",
                stats.objects,
                if live.is_some() { "live " } else { "" },
                stats.apps
            );
            stages.push(Stage::from_findings("audit", &findings, fail_on, detail));
            diagnostics.extend(findings);

            let measured = backups.map(measured).unwrap_or_default();
            let blast = match live {
                Some(l) => bulkhead_blast::analyze_live(fleet, &l.workloads, 1, &measured),
                None => bulkhead_blast::analyze_static(fleet, 1, &measured),
            };
            let findings = bulkhead_blast::diagnostics(&blast, fleet, &[DEFAULT_BLAST_POLICY]);
            let detail = format!(
                "{} failure domains, {} single points of failure",
                blast.domains.len(),
                bulkhead_blast::spofs(&blast).len()
            );
            stages.push(Stage::from_findings("blast", &findings, fail_on, detail));
            diagnostics.extend(findings);

            if let Some(b) = backups.filter(|b| !b.repositories.is_empty()) {
                let mut findings = bulkhead_dr::freshness::backup_findings(fleet, &b.repositories, b.read_at);
                findings.extend(bulkhead_dr::freshness::drill_findings(fleet, &b.repositories, b.read_at));
                let read = b.repositories.iter().filter(|r| r.snapshots.is_ok()).count();
                let detail = format!("{read} of {} repositories read", b.repositories.len());
                stages.push(Stage::from_findings("backups", &findings, fail_on, detail));
                diagnostics.extend(findings);
            }
        }
        None => {
            for stage in ["net", "audit", "blast"] {
                stages.push(Stage::skipped(stage, "needs a valid fleet"));
            }
        }
    }
    Diagnostic::sort(&mut diagnostics);
    let verdict = if !input_ok {
        Verdict::Invalid
    } else if unreachable {
        Verdict::Unreachable
    } else if stages.iter().any(|s| s.status == StageStatus::Failed) {
        Verdict::Fail
    } else {
        Verdict::Pass
    };
    CheckResult { fleet: loaded.fleet.as_ref().map(|f| f.file.metadata.name.clone()), stages, diagnostics, verdict }
}

/// The network stage: its findings, a line about what it covered, and
/// whether the lock file could be used.
fn net_stage(fleet: &Fleet, live: Option<&LiveState>) -> (Vec<Diagnostic>, String, bool) {
    let lock = match read_lock(fleet) {
        Ok(lock) => lock,
        Err(d) => return (vec![d], "net.lock.json could not be read".to_string(), false),
    };
    let planned = lock.as_ref().map_or(0, |l| l.clusters.len());
    let ranges = bulkhead_net::effective_ranges(fleet, lock.as_ref()).len();
    let mut inputs = bulkhead_net::Inputs { lock, ..Default::default() };
    let mut findings = Vec::new();
    if let Some(live) = live {
        let read = bulkhead_net::live_ranges(fleet, &live.networks);
        inputs.live = read.ranges;
        findings.extend(read.notes);
    }
    let live_note = if live.is_some() { format!(", {} in use", inputs.live.len()) } else { String::new() };
    findings.extend(bulkhead_net::check(fleet, &inputs));
    (findings, format!("{ranges} ranges{live_note}, {planned} clusters planned"), true)
}

#[cfg(test)]
mod tests {
    use bulkhead_dr::freshness::RepositorySnapshots;
    use bulkhead_repository::Snapshot;

    use super::*;

    fn record(app: &str, verdict: &str, rto: &str, epoch: i64) -> Snapshot {
        Snapshot {
            id: bulkhead_repository::SnapshotId::parse(&format!("{:032x}{epoch:032x}", app.len())).unwrap(),
            time: String::new(),
            epoch,
            nanos: i128::from(epoch) * 1_000_000_000,
            hostname: "target".into(),
            label: String::new(),
            tags: vec![
                SnapshotKind::DrillRecord.tag().unwrap(),
                format!("drill={app}-drill-{epoch}"),
                format!("drill-app={app}"),
                format!("verdict={verdict}"),
                format!("rto-seconds={rto}"),
            ],
            paths: Vec::new(),
            description: String::new(),
            files: 1,
            bytes: 1,
            added: 1,
        }
    }

    /// The newest *passing* drill counts; failed ones and backups do not.
    #[test]
    fn measured_etcd_backups_are_each_clusters_newest() {
        let etcd = |kind: &str, cluster: &str, epoch: i64| {
            let mut s = record("x", "passed", "1", epoch);
            s.tags = vec![format!("bulkhead={kind}"), format!("cluster={cluster}")];
            s
        };
        let backups = Backups {
            repositories: vec![RepositorySnapshots {
                name: "a".into(),
                snapshots: Ok(vec![
                    etcd("etcd", "metal", 100),
                    etcd("etcd-delta", "metal", 250),
                    etcd("etcd", "edge", 50),
                    etcd("drill", "metal", 300),
                ]),
            }],
            read_at: 400,
        };
        let m = measured(&backups);
        assert_eq!(m.etcd.newest, std::collections::BTreeMap::from([("edge".into(), 50), ("metal".into(), 250)]));
        assert_eq!(m.etcd.read_at, 400);
    }

    #[test]
    fn measured_restores_take_each_apps_newest_passing_drill() {
        let mut backup = record("shop", "passed", "1", 50);
        backup.tags = vec!["app=shop".into(), "cluster=prod".into()];
        let backups = Backups {
            repositories: vec![
                RepositorySnapshots {
                    name: "a".into(),
                    snapshots: Ok(vec![
                        record("shop", "passed", "120", 100),
                        record("shop", "failed", "9", 300),
                        backup,
                    ]),
                },
                RepositorySnapshots { name: "b".into(), snapshots: Ok(vec![record("shop", "passed", "200", 200)]) },
                RepositorySnapshots {
                    name: "c".into(),
                    snapshots: Err(bulkhead_repository::Error::Source("unreachable".into())),
                },
            ],
            read_at: 400,
        };
        let measured = measured_restores(&backups);
        assert_eq!(measured.len(), 1);
        assert_eq!(
            measured["shop"],
            bulkhead_blast::MeasuredRestore { seconds: 200, drill: "shop-drill-200".into(), at: 200 }
        );
    }
}
