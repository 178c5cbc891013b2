//! Every check: its stable ID, what failure it prevents, how to fix it, and
//! its defaults. Settings in `spec.audit.checks` change severity, turn
//! checks on or off and set parameters; an object opts out of checks with
//! the annotation `bulkhead.dev/audit-ignore: "id,id"`.

use std::collections::BTreeMap;

use bulkhead_model::spec::{AuditSpec, CheckSeverity};
use bulkhead_model::{Code, Severity};

/// The annotation that suppresses checks on one object (comma-separated IDs, or `*`).
pub const IGNORE_ANNOTATION: &str = "bulkhead.dev/audit-ignore";
/// The annotation that marks a StatefulSet as a quorum system (`"true"`/`"false"`),
/// overriding detection by image.
pub use bulkhead_workload::QUORUM_ANNOTATION;

/// A group of checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Health probes.
    Probes,
    /// Controllers and replicas.
    Controllers,
    /// Requests, limits, priority.
    Resources,
    /// Disruption budgets.
    Disruption,
    /// Spreading over nodes and zones.
    Spread,
    /// Horizontal autoscaling.
    Autoscaling,
    /// Volumes and storage classes.
    Storage,
    /// Rollouts and images.
    Rollout,
    /// References between objects.
    References,
    /// What only running clusters show.
    Live,
}

/// One check.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckInfo {
    /// The stable ID.
    pub id: &'static str,
    /// Its group.
    pub category: Category,
    /// Severity unless configured.
    pub severity: Severity,
    /// On unless configured.
    pub enabled: bool,
    /// Whether it needs the fleet (zones, pools, storage) — no other tool can.
    pub fleet_aware: bool,
    /// The failure it prevents.
    pub why: &'static str,
    /// How to fix it.
    pub fix: &'static str,
    /// Parameters and their defaults.
    pub params: &'static [(&'static str, i64, &'static str)],
}

impl CheckInfo {
    /// The check's code in diagnostics.
    pub fn code(&self) -> Code {
        Code::new(self.id)
    }
}

macro_rules! checks {
    ($($const:ident = $id:literal, $cat:ident, $sev:ident, $on:literal, $fleet:literal,
       why: $why:literal, fix: $fix:literal $(, params: [$(($p:literal, $d:literal, $pd:literal)),*])?;)*) => {
        $(
            #[doc = $why]
            pub const $const: &CheckInfo = &CheckInfo {
                id: $id,
                category: Category::$cat,
                severity: Severity::$sev,
                enabled: $on,
                fleet_aware: $fleet,
                why: $why,
                fix: $fix,
                params: &[$($(($p, $d, $pd)),*)?],
            };
        )*
        /// Every check, in documentation order.
        pub const ALL: &[&CheckInfo] = &[$($const),*];
    };
}

checks! {
    PROBE_READINESS_MISSING = "probe-readiness-missing", Probes, Warning, true, false,
        why: "Without a readiness probe a pod gets traffic as soon as its process starts, and keeps getting it while it is overloaded or its dependencies are down.",
        fix: "Add a readinessProbe that answers only when the container can serve.";
    PROBE_LIVENESS_MISSING = "probe-liveness-missing", Probes, Warning, true, false,
        why: "Without a liveness probe a deadlocked container is never restarted and holds its share of the traffic until someone notices.",
        fix: "Add a livenessProbe that checks the process itself, not its dependencies.";
    PROBE_LIVENESS_EQUALS_READINESS = "probe-liveness-equals-readiness", Probes, Warning, true, false,
        why: "A liveness probe identical to the readiness probe restarts pods that are merely busy or cut off from a dependency, turning an overload into a crash loop.",
        fix: "Make liveness cheaper and more tolerant than readiness (another endpoint, a higher failureThreshold).";
    PROBE_STARTUP_MISSING = "probe-startup-missing", Probes, Info, true, false,
        why: "A slow starter protected only by a long initialDelaySeconds is also slow to be restarted when it hangs later; too short a delay kills it while it starts.",
        fix: "Add a startupProbe and drop the liveness probe's long initialDelaySeconds.",
        params: [("slowStartSeconds", 30, "a liveness initialDelaySeconds at or above this marks a slow starter")];
    PROBE_PORT_UNKNOWN = "probe-port-unknown", Probes, Error, true, false,
        why: "A probe on a port name the container does not declare always fails: readiness never passes, liveness restarts forever.",
        fix: "Name the port in the container's `ports`, or probe a declared one.";
    BARE_POD = "bare-pod", Controllers, Warning, true, false,
        why: "A Pod or ReplicaSet without a controller above it is not replaced when its node dies and cannot be rolled out safely.",
        fix: "Run it as a Deployment, StatefulSet, DaemonSet or Job.";
    REPLICAS_MINIMUM = "replicas-minimum", Controllers, Error, true, false,
        why: "A single replica of a critical app is an outage on every node failure, drain and rollout.",
        fix: "Run at least `min` replicas (error for tier-1 apps, warning for tier 2), or let an HPA with minReplicas >= min own the count.",
        params: [("min", 2, "the fewest replicas for tier-1 and tier-2 apps")];
    STATEFULSET_QUORUM_EVEN = "statefulset-quorum-even", Controllers, Warning, true, false,
        why: "A quorum system (etcd, ZooKeeper, Consul, Kafka KRaft controllers …) with an even member count tolerates no more failures than one member fewer, at more cost.",
        fix: "Use an odd replica count (3 or 5); mark non-quorum StatefulSets with `bulkhead.dev/quorum: \"false\"`.";
    DAEMONSET_UPDATE_STRATEGY = "daemonset-update-strategy", Controllers, Warning, true, false,
        why: "OnDelete never rolls a DaemonSet out; a large maxUnavailable takes the agent off many nodes at once.",
        fix: "Use RollingUpdate with maxUnavailable 1 (or a small percentage).";
    RESOURCES_REQUESTS_MISSING = "resources-requests-missing", Resources, Warning, true, false,
        why: "Without CPU and memory requests the scheduler packs pods blindly and they are the first evicted under pressure (BestEffort).",
        fix: "Set resources.requests.cpu and .memory from observed usage.";
    RESOURCES_MEMORY_LIMIT_MISSING = "resources-memory-limit-missing", Resources, Warning, true, false,
        why: "A container without a memory limit can take the node's memory and get its neighbours OOM-killed.",
        fix: "Set resources.limits.memory (usually equal to the request).";
    RESOURCES_CPU_LIMIT_MISSING = "resources-cpu-limit-missing", Resources, Info, false, false,
        why: "Some teams cap CPU so one pod cannot starve others; CPU limits also throttle, so this check is off by default.",
        fix: "Set resources.limits.cpu, or leave the check off.";
    RESOURCES_EPHEMERAL_STORAGE_MISSING = "resources-ephemeral-storage-missing", Resources, Info, true, false,
        why: "A container writing logs or temp files without an ephemeral-storage request can fill the node's disk and get every pod on it evicted.",
        fix: "Set resources.requests and limits for ephemeral-storage.";
    PRIORITY_CLASS_MISSING = "priority-class-missing", Resources, Warning, true, false,
        why: "Under node pressure or preemption, a tier-1 app without a priority class is evicted like a batch job.",
        fix: "Give tier-1 workloads a priorityClassName above the default.";
    PRIORITY_CLASS_UNKNOWN = "priority-class-unknown", Resources, Warning, true, false,
        why: "A pod naming a PriorityClass that does not exist is refused by the API server: the rollout stalls.",
        fix: "Define the PriorityClass in the fleet's manifests, or fix the name.";
    PDB_MISSING = "pdb-missing", Disruption, Warning, true, false,
        why: "Without a PodDisruptionBudget a node drain or cluster upgrade may evict every replica at once.",
        fix: "Add a PodDisruptionBudget selecting the pods, with maxUnavailable: 1.";
    PDB_BLOCKS_DRAIN = "pdb-blocks-drain", Disruption, Error, true, false,
        why: "A PodDisruptionBudget that allows no disruption blocks every node drain, so upgrades and repairs stall.",
        fix: "Allow at least one disruption: maxUnavailable >= 1, or minAvailable below the replica count.";
    PDB_BREAKS_QUORUM = "pdb-breaks-quorum", Disruption, Error, true, false,
        why: "A budget that lets a quorum system lose more than ⌊(n−1)/2⌋ members lets a drain take its quorum down.",
        fix: "Set maxUnavailable: 1 (or minAvailable: ⌊n/2⌋+1).";
    PDB_HPA_MISMATCH = "pdb-hpa-mismatch", Disruption, Warning, true, false,
        why: "When the HPA scales down to minReplicas, a minAvailable at or above it blocks every drain.",
        fix: "Use maxUnavailable, or keep minAvailable below the HPA's minReplicas.";
    PDB_POLICY_MISSING = "pdb-policy-missing", Disruption, Warning, true, false,
        why: "A PodDisruptionBudget with neither minAvailable nor maxUnavailable protects nothing.",
        fix: "Set maxUnavailable or minAvailable.";
    PDB_ZONE_DRAIN = "pdb-zone-drain", Disruption, Warning, true, true,
        why: "Draining or losing the zone that holds the most replicas takes more pods than the budget allows: zone maintenance stalls, and a zone outage leaves the app below its minimum.",
        fix: "Spread over more zones, add replicas, or loosen the budget so one zone's share fits in it.";
    SPREAD_ZONE_MISSING = "spread-zone-missing", Spread, Warning, true, true,
        why: "Without a zone spread the scheduler may put every replica in one zone, and that zone's outage is the app's.",
        fix: "Add a topologySpreadConstraint on topology.kubernetes.io/zone (or zone podAntiAffinity).";
    SPREAD_NODE_MISSING = "spread-node-missing", Spread, Warning, true, false,
        why: "Without node anti-affinity or a hostname spread, several replicas may share a node and die together.",
        fix: "Add a topologySpreadConstraint on kubernetes.io/hostname, or preferred podAntiAffinity on it.";
    SPREAD_UNSATISFIABLE = "spread-unsatisfiable", Spread, Error, true, true,
        why: "A required spread the target cluster cannot give (more replicas than zones under required zone anti-affinity, minDomains above the zones) leaves pods Pending.",
        fix: "Use whenUnsatisfiable: ScheduleAnyway or preferred anti-affinity, or add zones or nodes.";
    SPREAD_ZONE_OUTAGE_STUCK = "spread-zone-outage-stuck", Spread, Warning, true, true,
        why: "After a zone outage the lost replicas must fit the surviving zones under the pod's required zone rules. A spread that counts tainted nodes (nodeTaintsPolicy: Ignore, the default) keeps the failed zone in its count with zero pods, so every replacement would break maxSkew; required zone anti-affinity with one replica per zone has no zone left. Either way the replacements stay Pending until the zone returns.",
        fix: "Set nodeTaintsPolicy: Honor on the zone spread (the failed zone's tainted nodes then leave the count) or make it ScheduleAnyway; use preferred zone anti-affinity, or more zones than replicas.";
    NODE_SELECTOR_UNMATCHED = "node-selector-unmatched", Spread, Error, true, true,
        why: "A nodeSelector or required node affinity that no node pool of the target cluster carries leaves every pod Pending there.",
        fix: "Add the labels to a node pool in fleet.yaml (and the cluster), or fix the selector.";
    NODE_AFFINITY_SINGLE_ZONE = "node-affinity-single-zone", Spread, Warning, true, false,
        why: "A workload pinned to one zone by nodeSelector or required node affinity goes down with that zone whatever its replica count.",
        fix: "Allow several zones, or run a second copy pinned elsewhere.";
    HPA_MIN_REPLICAS = "hpa-min-replicas", Autoscaling, Warning, true, false,
        why: "An HPA that may scale down to one replica brings back the single point of failure at night.",
        fix: "Set minReplicas to 2 or more.";
    HPA_MAX_NOT_ABOVE_MIN = "hpa-max-not-above-min", Autoscaling, Warning, true, false,
        why: "An HPA whose maxReplicas is not above minReplicas cannot scale: it only hides a fixed count.",
        fix: "Raise maxReplicas, or drop the HPA and set replicas.";
    HPA_TARGET_MISSING = "hpa-target-missing", Autoscaling, Error, true, false,
        why: "An HPA whose target does not exist scales nothing.",
        fix: "Point scaleTargetRef at a workload of the app.";
    HPA_FIXED_REPLICAS = "hpa-fixed-replicas", Autoscaling, Warning, true, false,
        why: "A workload with `replicas` set and an HPA is reset to that count on every apply, scaling it down under load.",
        fix: "Remove `replicas` from workloads an HPA owns.";
    STORAGE_RWO_SHARED = "storage-rwo-shared", Storage, Error, true, false,
        why: "Replicas of a Deployment sharing a ReadWriteOnce claim cannot start on a second node: scale-out and rollouts hang.",
        fix: "Use a StatefulSet with volumeClaimTemplates, or a ReadWriteMany class.";
    STORAGE_STATEFULSET_ONE_ZONE = "storage-statefulset-one-zone", Storage, Error, true, true,
        why: "A StatefulSet on zonal volumes that is pinned to one zone keeps all its replicas and data there: one zone outage takes the data offline.",
        fix: "Allow several zones and spread the replicas over them, or use a regional storage class.";
    STORAGE_CLASS_MISSING = "storage-class-missing", Storage, Error, true, true,
        why: "A claim for a storage class the target cluster does not offer (or for the default class where it has none) stays Pending.",
        fix: "Declare the class on the cluster in fleet.yaml and create it, or use a class it offers.";
    STORAGE_SNAPSHOT_CLASS_MISSING = "storage-snapshot-class-missing", Storage, Error, true, true,
        why: "A tier-1 app's claim on a storage class with no VolumeSnapshotClass is backed up as an empty claim: its objects come back after a restore, its data does not, so the app's RPO cannot be met for its data.",
        fix: "Name the class's VolumeSnapshotClass in fleet.yaml (`snapshotClass`) and install its CSI driver's snapshot support, or keep the data on a class that has one.";
    STORAGE_ACCESS_MODE_UNSUPPORTED = "storage-access-mode-unsupported", Storage, Error, true, true,
        why: "A claim asking for an access mode its class cannot give never binds.",
        fix: "Ask for a mode the class offers, or use another class.";
    STATEFULSET_QUORUM_ZONE = "statefulset-quorum-zone", Storage, Error, true, true,
        why: "A quorum system with more than ⌊(n−1)/2⌋ members in one zone loses quorum when that zone goes down.",
        fix: "Require one member per zone (zone anti-affinity) in a cluster with at least three zones, or add members.";
    ROLLOUT_RECREATE = "rollout-recreate", Rollout, Warning, true, false,
        why: "The Recreate strategy stops every pod before starting new ones: every rollout is an outage.",
        fix: "Use RollingUpdate with maxUnavailable 0 or 1.";
    ROLLOUT_MAX_UNAVAILABLE_ALL = "rollout-max-unavailable-all", Rollout, Warning, true, false,
        why: "A maxUnavailable as large as the replica count lets a rollout take every pod down at once.",
        fix: "Use maxUnavailable 0 or 1 (or 25%).";
    IMAGE_TAG_MUTABLE = "image-tag-mutable", Rollout, Error, true, false,
        why: "An image without a tag or with `latest` changes under you: nodes run different code and a rollback restores nothing.",
        fix: "Pin a version tag or a digest.";
    IMAGE_PULL_POLICY_NEVER = "image-pull-policy-never", Rollout, Warning, true, false,
        why: "imagePullPolicy Never starts only on nodes that already have the image: rescheduling after a node failure fails.",
        fix: "Use IfNotPresent with pinned tags.";
    IMAGE_PULL_POLICY_ALWAYS = "image-pull-policy-always", Rollout, Info, false, false,
        why: "Some teams pull on every start so registry credentials are always checked; it also makes every restart depend on the registry.",
        fix: "Set imagePullPolicy: Always, or leave the check off.";
    SERVICE_SELECTS_NOTHING = "service-selects-nothing", References, Warning, true, false,
        why: "A Service whose selector matches none of the app's pods has no endpoints: every request fails.",
        fix: "Make the selector match the pod template's labels.";
    INGRESS_BACKEND_MISSING = "ingress-backend-missing", References, Error, true, false,
        why: "An Ingress routing to a Service the app does not have answers 503.",
        fix: "Point the backend at a Service of the app.";
    STATEFULSET_SERVICE_MISSING = "statefulset-service-missing", References, Warning, true, false,
        why: "A StatefulSet's serviceName must be a headless Service, or its pods get no stable DNS names and peers cannot find each other.",
        fix: "Add a Service with clusterIP: None named as serviceName.";
    SELECTOR_TEMPLATE_MISMATCH = "selector-template-mismatch", References, Error, true, false,
        why: "A selector that does not match the pod template's labels is refused by the API server.",
        fix: "Make spec.selector match spec.template.metadata.labels.";
    CRONJOB_DEADLINE_MISSING = "cronjob-deadline-missing", References, Info, true, false,
        why: "A CronJob without startingDeadlineSeconds that misses too many runs (controller down, clock skew) stops being scheduled.",
        fix: "Set startingDeadlineSeconds.";
    ENV_DUPLICATE = "env-duplicate", References, Warning, true, false,
        why: "A duplicated environment variable keeps only the last value, silently.",
        fix: "Remove the duplicate.";
    LIVE_PODS_ONE_NODE = "live-pods-one-node", Live, Warning, true, false,
        why: "Every running replica is on one node right now: that node's failure is a full outage.",
        fix: "Add node anti-affinity or a hostname spread, and let the scheduler rebalance (roll the workload).";
    LIVE_PODS_ONE_ZONE = "live-pods-one-zone", Live, Warning, true, true,
        why: "Every running replica is in one zone right now, though the cluster has several.",
        fix: "Add a zone spread constraint and roll the workload.";
    LIVE_PDB_BLOCKING = "live-pdb-blocking", Live, Warning, true, false,
        why: "This PodDisruptionBudget allows no eviction right now: a drain started now would hang.",
        fix: "Find the unhealthy pods behind it, or loosen the budget.";
}

/// A check as configured for this fleet.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The check.
    pub info: &'static CheckInfo,
    /// Whether it runs.
    pub enabled: bool,
    /// The configured severity, when set (else the check's own, which may
    /// depend on the finding).
    pub severity: Option<Severity>,
    /// Parameters.
    pub params: BTreeMap<&'static str, i64>,
}

/// A setting that names no check or parameter: the `/` path in fleet.yaml,
/// the message, and the closest existing name.
pub type SettingProblem = (String, String, Option<&'static str>);

/// Every check's settings for one fleet.
#[derive(Debug, Clone)]
pub struct Settings {
    by_id: BTreeMap<&'static str, Resolved>,
}

impl Settings {
    /// Resolves `spec.audit` against the checks' defaults. Unknown IDs and
    /// parameters come back as `(path, message, suggestion)` for diagnostics.
    pub fn resolve(spec: &AuditSpec) -> (Self, Vec<SettingProblem>) {
        let mut by_id = BTreeMap::new();
        for info in ALL {
            let params = info.params.iter().map(|(n, d, _)| (*n, *d)).collect();
            by_id.insert(info.id, Resolved { info, enabled: info.enabled, severity: None, params });
        }
        let mut problems = Vec::new();
        for (id, setting) in &spec.checks {
            let Some(r) = by_id.get_mut(id.as_str()) else {
                let near = bulkhead_model::diagnostic::did_you_mean(id, ALL.iter().map(|c| c.id));
                problems.push((format!("spec/audit/checks/{id}"), format!("unknown check `{id}`"), near));
                continue;
            };
            if let Some(e) = setting.enabled {
                r.enabled = e;
            }
            r.severity = setting.severity.map(|s| match s {
                CheckSeverity::Error => Severity::Error,
                CheckSeverity::Warning => Severity::Warning,
                CheckSeverity::Info => Severity::Info,
            });
            for (name, value) in &setting.params {
                match r.info.params.iter().find(|(n, _, _)| n == name) {
                    Some((n, _, _)) => {
                        r.params.insert(n, *value);
                    }
                    None => {
                        let near = bulkhead_model::diagnostic::did_you_mean(name, r.info.params.iter().map(|p| p.0));
                        problems.push((
                            format!("spec/audit/checks/{id}/params/{name}"),
                            format!("check `{id}` has no parameter `{name}`"),
                            near,
                        ));
                    }
                }
            }
        }
        (Self { by_id }, problems)
    }

    /// A check's settings.
    pub fn get(&self, info: &CheckInfo) -> &Resolved {
        &self.by_id[info.id]
    }

    /// Whether a check runs.
    pub fn enabled(&self, info: &CheckInfo) -> bool {
        self.by_id[info.id].enabled
    }

    /// A check's parameter.
    pub fn param(&self, info: &CheckInfo, name: &str) -> i64 {
        self.by_id[info.id].params.get(name).copied().unwrap_or_default()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self::resolve(&AuditSpec::default()).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_kebab_case() {
        let mut ids: Vec<_> = ALL.iter().map(|c| c.id).collect();
        assert!(ids.iter().all(|id| id.chars().all(|c| c.is_ascii_lowercase() || c == '-')));
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len());
    }

    #[test]
    fn settings_override_defaults_and_report_typos() {
        let spec: AuditSpec = serde_json::from_value(serde_json::json!({"checks": {
            "resources-cpu-limit-missing": {"enabled": true, "severity": "error"},
            "replicas-minimum": {"params": {"min": 3, "mins": 1}},
            "probe-readines-missing": {"enabled": false},
        }}))
        .unwrap();
        let (s, problems) = Settings::resolve(&spec);
        assert!(s.enabled(RESOURCES_CPU_LIMIT_MISSING));
        assert_eq!(s.get(RESOURCES_CPU_LIMIT_MISSING).severity, Some(Severity::Error));
        assert_eq!(s.param(REPLICAS_MINIMUM, "min"), 3);
        assert_eq!(problems.len(), 2);
        assert!(problems.iter().any(|p| p.2 == Some("probe-readiness-missing")));
        assert!(problems.iter().any(|p| p.2 == Some("min")));
    }
}

/// The reference table of every check, as docs/checks.md holds it between
/// its `<!-- checks -->` markers.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| check | category | severity | default | fleet-aware | prevents | fix |\n|---|---|---|---|---|---|---|\n",
    );
    for c in ALL {
        let params: Vec<String> = c.params.iter().map(|(n, d, what)| format!("`{n}` = {d}: {what}")).collect();
        let fix =
            if params.is_empty() { c.fix.to_string() } else { format!("{} Parameters: {}.", c.fix, params.join("; ")) };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} |\n",
            c.id,
            format!("{:?}", c.category).to_lowercase(),
            c.severity,
            if c.enabled { "on" } else { "off" },
            if c.fleet_aware { "yes" } else { "" },
            c.why,
            fix
        ));
    }
    out
}

#[cfg(test)]
mod docs_tests {
    /// docs/checks.md's reference table is generated from the checks; run
    /// `BULKHEAD_BLESS=1 cargo test -p bulkhead-audit` to regenerate it.
    #[test]
    fn checks_doc_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/checks.md");
        let doc = std::fs::read_to_string(&path).expect("docs/checks.md exists");
        let (begin, end) = ("<!-- checks -->\n", "<!-- /checks -->");
        let start = doc.find(begin).expect("docs/checks.md has a <!-- checks --> marker") + begin.len();
        let stop = doc.find(end).expect("docs/checks.md has a <!-- /checks --> marker");
        let table = super::markdown_table();
        if doc[start..stop] != table {
            if std::env::var_os("BULKHEAD_BLESS").is_some() {
                std::fs::write(&path, format!("{}{}{}", &doc[..start], table, &doc[stop..])).unwrap();
            } else {
                panic!("docs/checks.md is out of date: run `BULKHEAD_BLESS=1 cargo test -p bulkhead-audit`");
            }
        }
    }
}
