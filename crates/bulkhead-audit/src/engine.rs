//! Runs the checks over every app: once per set of objects a group of
//! clusters shares, and the fleet-aware checks once per shape of cluster
//! (zones, pools, storage), so a fleet of many alike clusters costs little
//! more than one. Findings that several clusters share are merged.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bulkhead_model::Severity;
use bulkhead_model::spec::App;
use bulkhead_workload::{AppObjects, ClusterNodes, Kind, Object, Origin, Workload};

use crate::registry::{CheckInfo, IGNORE_ANNOTATION, Settings};

/// One finding of one check.
#[derive(Debug, Clone)]
pub struct Finding<'f> {
    /// The check.
    pub check: &'static CheckInfo,
    /// How bad it is here.
    pub severity: Severity,
    /// The app.
    pub app: String,
    /// The object's `Kind/namespace/name`.
    pub object: String,
    /// Where the object came from.
    pub origin: Origin<'f>,
    /// The field the finding is about, as a `/` path inside the object.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// The clusters it applies to, sorted; shared between the findings of
    /// one pass (a fleet places an app on many clusters).
    pub clusters: Arc<[String]>,
}

/// Live state a manifest does not have: where pods run now.
#[derive(Debug, Clone, Default)]
pub struct LivePods {
    /// Running pods: namespace, labels, node.
    pub pods: Vec<(String, BTreeMap<String, String>, String)>,
    /// Each node's zone.
    pub node_zones: BTreeMap<String, String>,
}

/// What every check gets.
pub(crate) struct Ctx<'c, 'a> {
    pub settings: &'c Settings,
    pub app: &'a App,
    /// The objects of the variant being checked.
    pub objects: Vec<&'a Object<'a>>,
    /// The clusters the findings apply to, sorted.
    pub clusters: Arc<[String]>,
    /// PriorityClasses the fleet defines, and the built-in ones.
    pub priority_classes: &'c BTreeSet<String>,
    pub out: &'c mut Vec<Finding<'a>>,
}

impl<'a> Ctx<'_, 'a> {
    /// Reports a finding at `path` of `object`, unless the check is off or
    /// the object opts out of it.
    pub fn report(&mut self, check: &'static CheckInfo, object: &Object<'a>, path: &str, message: String) {
        self.report_as(check, check.severity, object, path, message);
    }

    /// Like [`Ctx::report`], with a severity the check chose for this case
    /// (the fleet's setting still wins).
    pub fn report_as(
        &mut self,
        check: &'static CheckInfo,
        severity: Severity,
        object: &Object<'a>,
        path: &str,
        message: String,
    ) {
        let resolved = self.settings.get(check);
        if !resolved.enabled || ignored(object, check.id) {
            return;
        }
        self.out.push(Finding {
            check,
            severity: resolved.severity.unwrap_or(severity),
            app: self.app.name.clone(),
            object: object.id(),
            origin: object.origin.clone(),
            path: path.to_string(),
            message,
            clusters: Arc::clone(&self.clusters),
        });
    }

    /// Whether a check runs at all (to skip work).
    pub fn on(&self, check: &CheckInfo) -> bool {
        self.settings.enabled(check)
    }

    /// The variant's workloads.
    pub fn workloads(&self) -> Vec<Workload<'a>> {
        self.objects.iter().filter_map(|&o| o.workload()).collect()
    }

    /// The HPA that scales `object`, if any.
    pub fn hpa_of(
        &self,
        object: &Object<'_>,
    ) -> Option<&'a k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler> {
        bulkhead_workload::hpa_for(&self.objects, object)
    }

    /// The replicas a workload runs with at least: the HPA's minimum when
    /// an HPA owns it, else its own count.
    pub fn min_replicas(&self, w: &Workload<'_>) -> u32 {
        match self.hpa_of(w.object) {
            Some(h) => h.spec.min_replicas.unwrap_or(1).max(0) as u32,
            None => w.replicas,
        }
    }
}

fn ignored(object: &Object<'_>, id: &str) -> bool {
    object.annotation(IGNORE_ANNOTATION).is_some_and(|v| v.split(',').map(str::trim).any(|x| x == id || x == "*"))
}

/// Built-in PriorityClasses every cluster has.
pub const BUILT_IN_PRIORITY_CLASSES: [&str; 2] = ["system-cluster-critical", "system-node-critical"];

/// The audit of a set of apps.
pub fn run<'a>(
    apps: &'a [AppObjects<'a>],
    nodes: &BTreeMap<String, ClusterNodes>,
    live: &BTreeMap<String, LivePods>,
    settings: &Settings,
) -> Vec<Finding<'a>> {
    let mut priority_classes: BTreeSet<String> = BUILT_IN_PRIORITY_CLASSES.iter().map(|s| s.to_string()).collect();
    for a in apps {
        for o in &a.objects {
            if let Kind::PriorityClass(_) = o.kind {
                priority_classes.insert(o.name.clone());
            }
        }
    }
    let mut out = Vec::new();
    for a in apps {
        for v in &a.variants {
            let objects: Vec<&Object<'a>> = a.objects_of(v).collect();
            pass(settings, a.app, &objects, &v.clusters, &priority_classes, &mut out, crate::checks::run);
            // Fleet-aware checks, once per shape of cluster.
            let mut shapes: BTreeMap<&str, (Vec<String>, &ClusterNodes)> = BTreeMap::new();
            for c in &v.clusters {
                if let Some(n) = nodes.get(c) {
                    shapes.entry(n.shape_key()).or_insert_with(|| (Vec::new(), n)).0.push(c.clone());
                }
            }
            for (clusters, n) in shapes.into_values() {
                pass(settings, a.app, &objects, &clusters, &priority_classes, &mut out, |ctx| {
                    crate::checks::run_on(ctx, n);
                });
            }
            for c in &v.clusters {
                if let Some(pods) = live.get(c) {
                    pass(settings, a.app, &objects, std::slice::from_ref(c), &priority_classes, &mut out, |ctx| {
                        crate::checks::live::run(ctx, pods, nodes.get(c));
                    });
                }
            }
        }
    }
    merge(out)
}

/// One pass of checks over a variant's objects, for some clusters.
fn pass<'a>(
    settings: &Settings,
    app: &'a App,
    objects: &[&'a Object<'a>],
    clusters: &[String],
    priority_classes: &BTreeSet<String>,
    out: &mut Vec<Finding<'a>>,
    checks: impl FnOnce(&mut Ctx<'_, 'a>),
) {
    let mut ctx = Ctx { settings, app, objects: objects.to_vec(), clusters: sorted(clusters), priority_classes, out };
    checks(&mut ctx);
}

fn sorted(clusters: &[String]) -> Arc<[String]> {
    let mut v = clusters.to_vec();
    v.sort();
    v.dedup();
    v.into()
}

/// Merges findings that differ only in their clusters.
fn merge(findings: Vec<Finding<'_>>) -> Vec<Finding<'_>> {
    let mut index: BTreeMap<(String, String, &'static str, String, String), usize> = BTreeMap::new();
    let mut out: Vec<Finding<'_>> = Vec::new();
    // The other passes' cluster lists of each kept finding, united once at
    // the end: uniting as they come was quadratic for an app on thousands
    // of clusters of as many shapes.
    let mut more: BTreeMap<usize, Vec<Arc<[String]>>> = BTreeMap::new();
    for f in findings {
        let file = match &f.origin {
            Origin::Manifest { file, .. } => file.display().to_string(),
            Origin::Live { cluster } => format!("live:{cluster}"),
        };
        let key = (file, f.object.clone(), f.check.id, f.path.clone(), f.message.clone());
        match index.get(&key) {
            Some(&i) => more.entry(i).or_default().push(f.clusters),
            None => {
                index.insert(key, out.len());
                out.push(f);
            }
        }
    }
    for (i, lists) in more {
        let mut union: BTreeSet<&String> = out[i].clusters.iter().collect();
        union.extend(lists.iter().flat_map(|l| l.iter()));
        let united: Arc<[String]> = union.into_iter().cloned().collect();
        out[i].clusters = united;
    }
    out
}
