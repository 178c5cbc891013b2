//! Findings as diagnostics: at the field of the manifest when the object
//! came from one, at the cluster in fleet.yaml when it came from a cluster.

use std::collections::BTreeMap;

use bulkhead_model::{About, Code, Diagnostic, Fleet};
use bulkhead_workload::{AppObjects, ClusterNodes, LiveFleet, Origin};

use crate::engine::{self, Finding, LivePods};
use crate::registry::Settings;

/// What the audit covered.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Stats {
    /// Apps audited.
    pub apps: usize,
    /// Objects read.
    pub objects: usize,
    /// Clusters the apps are placed on.
    pub clusters: usize,
}

/// A check ID in fleet.yaml that does not exist.
pub const UNKNOWN_CHECK: Code = Code::new("unknown-check");

/// The fleet's audit settings, and diagnostics for IDs and parameters that
/// do not exist.
pub fn resolve_settings(fleet: &Fleet) -> (Settings, Vec<Diagnostic>) {
    let (settings, problems) = Settings::resolve(&fleet.file.spec.audit);
    let diagnostics = problems
        .into_iter()
        .map(|(path, message, near)| {
            let hint = match near {
                Some(n) => format!("did you mean `{n}`?"),
                None => "`bulkhead audit --list-checks` lists every check and its parameters".to_string(),
            };
            let span = fleet.tree.key_span(
                &path.rsplit_once('/').map_or(vec![], |(p, _)| p.split('/').collect::<Vec<_>>()),
                path.rsplit('/').next().unwrap_or(""),
            );
            Diagnostic::warning(UNKNOWN_CHECK, &fleet.path, span.or(Some(fleet.span(&path))), message).with_hint(hint)
        })
        .collect();
    (settings, diagnostics)
}

/// Audits a loaded fleet's manifests against its clusters.
pub fn audit_fleet(fleet: &Fleet, settings: &Settings) -> (Vec<Diagnostic>, Stats) {
    let apps = AppObjects::of_fleet(fleet);
    let nodes: BTreeMap<String, ClusterNodes> = fleet
        .file
        .spec
        .clusters
        .iter()
        .map(|c| (c.name.clone(), ClusterNodes::from_fleet(&fleet.file.spec, &fleet.topology, c)))
        .collect();
    let findings = engine::run(&apps, &nodes, &BTreeMap::new(), settings);
    let stats = Stats {
        apps: apps.len(),
        objects: apps.iter().map(|a| a.objects.len()).sum(),
        clusters: {
            let mut c: Vec<&str> = apps.iter().flat_map(|a| a.clusters.iter().map(|c| c.name.as_str())).collect();
            c.sort_unstable();
            c.dedup();
            c.len()
        },
    };
    (to_diagnostics(&findings, fleet), stats)
}

/// Audits the objects the clusters run, app by app: the same checks as
/// [`audit_fleet`], plus those only running state shows.
pub fn audit_live(fleet: &Fleet, live: &LiveFleet, settings: &Settings) -> (Vec<Diagnostic>, Stats) {
    let mut nodes = BTreeMap::new();
    let mut pods = BTreeMap::new();
    for c in &live.clusters {
        nodes.insert(c.name.clone(), c.nodes(fleet));
        let node_zones = c
            .state
            .nodes
            .iter()
            .filter_map(|n| n.labels.get(bulkhead_workload::nodes::ZONE_LABEL).map(|z| (n.name.clone(), z.clone())))
            .collect();
        pods.insert(c.name.clone(), LivePods { pods: c.pod_sites(), node_zones });
    }
    let apps: Vec<AppObjects<'_>> = live.apps(fleet).into_iter().map(|(_, a)| a).collect();
    let findings = engine::run(&apps, &nodes, &pods, settings);
    let stats = Stats {
        apps: fleet.file.spec.apps.len(),
        objects: apps.iter().map(|a| a.objects.len()).sum(),
        clusters: live.clusters.len(),
    };
    (to_diagnostics(&findings, fleet), stats)
}

/// Turns findings into diagnostics, sorted.
pub fn to_diagnostics(findings: &[Finding<'_>], fleet: &Fleet) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = findings
        .iter()
        .map(|f| {
            let (file, span) = match &f.origin {
                Origin::Manifest { file, node } => (file.clone(), Some(node.span_at(&f.path))),
                Origin::Live { cluster } => {
                    let i = fleet.cluster_index(cluster).unwrap_or(0);
                    (fleet.path.clone(), Some(fleet.span(&format!("spec/clusters/{i}/name"))))
                }
            };
            Diagnostic::new(f.severity, f.check.code(), file, span, f.message.clone())
                .with_hint(f.check.fix)
                .with_about(About {
                    app: Some(f.app.clone()),
                    object: Some(f.object.clone()),
                    clusters: std::sync::Arc::clone(&f.clusters),
                })
        })
        .collect();
    Diagnostic::sort(&mut out);
    out
}
