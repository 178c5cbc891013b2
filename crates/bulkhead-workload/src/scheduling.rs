//! Where the scheduler may put a workload's pods, in the worst case it may
//! legally choose: which node groups its selectors, affinities and
//! tolerations allow, and at most how many replicas can end up in one
//! failure domain (zone, rack or node) given its spread rules.
//!
//! Why by hand: this mirrors the scheduler's NodeAffinity, TaintToleration,
//! InterPodAffinity and PodTopologySpread filters for the shapes manifests
//! use; no Rust crate implements them, and running the real scheduler would
//! make offline analysis need a cluster.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{NodeSelectorRequirement, PodSpec, Toleration};

use crate::nodes::{ClusterNodes, HOSTNAME_LABEL, NodeGroup, RACK_LABEL, Taint, ZONE_LABEL};
use crate::objects::selects;

/// A failure-domain level a pod spread can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SpreadLevel {
    /// `topology.kubernetes.io/zone`.
    Zone,
    /// `topology.bulkhead.dev/rack`.
    Rack,
    /// `kubernetes.io/hostname`.
    Node,
}

impl SpreadLevel {
    /// The node label of the level.
    pub fn key(self) -> &'static str {
        match self {
            Self::Zone => ZONE_LABEL,
            Self::Rack => RACK_LABEL,
            Self::Node => HOSTNAME_LABEL,
        }
    }

    /// The level a label key names, if any.
    pub fn of_key(key: &str) -> Option<Self> {
        match key {
            ZONE_LABEL | "failure-domain.beta.kubernetes.io/zone" => Some(Self::Zone),
            RACK_LABEL => Some(Self::Rack),
            HOSTNAME_LABEL => Some(Self::Node),
            _ => None,
        }
    }
}

fn tolerates(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| {
        let key_ok = match t.key.as_deref() {
            None | Some("") => t.operator.as_deref() == Some("Exists"),
            Some(k) => k == taint.key,
        };
        let value_ok = t.operator.as_deref() == Some("Exists") || t.value.as_deref().unwrap_or("") == taint.value;
        let effect_ok = t.effect.as_deref().is_none_or(|e| e.is_empty() || e == taint.effect);
        key_ok && value_ok && effect_ok
    })
}

fn requirement_holds(r: &NodeSelectorRequirement, labels: &BTreeMap<String, String>) -> bool {
    let have = labels.get(&r.key);
    let values = r.values.as_deref().unwrap_or_default();
    match r.operator.as_str() {
        "In" => have.is_some_and(|v| values.contains(v)),
        "NotIn" => have.is_none_or(|v| !values.contains(v)),
        "Exists" => have.is_some(),
        "DoesNotExist" => have.is_none(),
        "Gt" | "Lt" => {
            let (Some(h), Some(v)) =
                (have.and_then(|h| h.parse::<i64>().ok()), values.first().and_then(|v| v.parse::<i64>().ok()))
            else {
                return false;
            };
            if r.operator == "Gt" { h > v } else { h < v }
        }
        _ => false,
    }
}

/// Whether a pod may run on a node group: nodeSelector, required node
/// affinity, and NoSchedule/NoExecute taints.
pub fn allows(pod: &PodSpec, group: &NodeGroup) -> bool {
    // The hostname is unique per node; a group stands for any of its nodes.
    let labels_ok = pod
        .node_selector
        .as_ref()
        .is_none_or(|sel| sel.iter().all(|(k, v)| k == HOSTNAME_LABEL || group.labels.get(k) == Some(v)));
    if !labels_ok {
        return false;
    }
    let terms = pod
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| n.required_during_scheduling_ignored_during_execution.as_ref())
        .map(|r| &r.node_selector_terms);
    if let Some(terms) = terms
        && !terms.is_empty()
    {
        let any = terms.iter().any(|t| {
            t.match_expressions
                .as_deref()
                .unwrap_or_default()
                .iter()
                .all(|r| r.key == HOSTNAME_LABEL || requirement_holds(r, &group.labels))
        });
        if !any {
            return false;
        }
    }
    let tolerations = pod.tolerations.as_deref().unwrap_or_default();
    group.taints.iter().filter(|t| t.effect != "PreferNoSchedule").all(|t| tolerates(tolerations, t))
}

/// The node groups a pod may run on, by index.
pub fn eligible<'n>(pod: &PodSpec, nodes: &'n ClusterNodes) -> Vec<&'n NodeGroup> {
    nodes.groups.iter().filter(|g| allows(pod, g)).collect()
}

/// How many distinct domains of `level` the groups span.
pub fn domains(groups: &[&NodeGroup], level: SpreadLevel) -> u32 {
    match level {
        SpreadLevel::Node => groups.iter().map(|g| g.count).sum(),
        SpreadLevel::Zone => {
            let mut z: Vec<&str> = groups.iter().map(|g| g.zone.as_str()).collect();
            z.sort_unstable();
            z.dedup();
            z.len() as u32
        }
        SpreadLevel::Rack => {
            let mut r: Vec<&str> = groups.iter().filter_map(|g| g.rack.as_deref()).collect();
            r.sort_unstable();
            r.dedup();
            r.len() as u32
        }
    }
}

/// What a pod's rules say about spreading over one level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Required anti-affinity against its own pods: one per domain.
    OnePerDomain,
    /// A DoNotSchedule spread constraint.
    Skew {
        /// maxSkew.
        max_skew: u32,
        /// minDomains, if set.
        min_domains: Option<u32>,
    },
    /// Only preferences (ScheduleAnyway, preferred anti-affinity): the
    /// scheduler may still stack pods.
    Preferred,
    /// Nothing.
    None,
}

/// The strongest spread rule a pod has over `level` against its own pods.
pub fn rule(pod: &PodSpec, labels: Option<&BTreeMap<String, String>>, level: SpreadLevel) -> Rule {
    let mut best = Rule::None;
    let self_selecting = |sel: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>| {
        sel.is_some_and(|s| selects(s, labels))
    };
    let anti = pod.affinity.as_ref().and_then(|a| a.pod_anti_affinity.as_ref());
    if let Some(anti) = anti {
        let required = anti.required_during_scheduling_ignored_during_execution.as_deref().unwrap_or_default();
        if required
            .iter()
            .any(|t| SpreadLevel::of_key(&t.topology_key) == Some(level) && self_selecting(t.label_selector.as_ref()))
        {
            return Rule::OnePerDomain;
        }
        let preferred = anti.preferred_during_scheduling_ignored_during_execution.as_deref().unwrap_or_default();
        if preferred.iter().any(|w| {
            SpreadLevel::of_key(&w.pod_affinity_term.topology_key) == Some(level)
                && self_selecting(w.pod_affinity_term.label_selector.as_ref())
        }) {
            best = Rule::Preferred;
        }
    }
    for c in pod.topology_spread_constraints.as_deref().unwrap_or_default() {
        if SpreadLevel::of_key(&c.topology_key) != Some(level) || !self_selecting(c.label_selector.as_ref()) {
            continue;
        }
        if c.when_unsatisfiable == "DoNotSchedule" {
            let skew =
                Rule::Skew { max_skew: c.max_skew.max(1) as u32, min_domains: c.min_domains.map(|m| m.max(1) as u32) };
            best = match best {
                Rule::Skew { max_skew, .. } if max_skew <= c.max_skew.max(1) as u32 => best,
                _ => skew,
            };
        } else if best == Rule::None {
            best = Rule::Preferred;
        }
    }
    best
}

/// The worst case of `replicas` pods over `domains` domains under `rule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Worst {
    /// The most replicas that can share one domain.
    pub max_per_domain: u32,
    /// Replicas that cannot be placed at all.
    pub pending: u32,
}

/// The worst placement the scheduler may legally choose.
pub fn worst_case(rule: Rule, replicas: u32, domains: u32) -> Worst {
    if domains == 0 {
        return Worst { max_per_domain: 0, pending: replicas };
    }
    match rule {
        Rule::OnePerDomain => Worst { max_per_domain: replicas.min(1), pending: replicas.saturating_sub(domains) },
        Rule::Skew { max_skew, min_domains } => {
            if min_domains.is_some_and(|m| m > domains) {
                // Fewer domains than minDomains: the global minimum counts as
                // zero, so no domain may hold more than maxSkew.
                let room = max_skew.saturating_mul(domains);
                Worst { max_per_domain: max_skew.min(replicas), pending: replicas.saturating_sub(room) }
            } else {
                // Counts differ by at most maxSkew: the fullest domain holds at
                // most (n + (d − 1)·skew) / d.
                let max = (u64::from(replicas) + u64::from(domains - 1) * u64::from(max_skew)) / u64::from(domains);
                Worst { max_per_domain: (max as u32).min(replicas), pending: 0 }
            }
        }
        Rule::Preferred | Rule::None => Worst { max_per_domain: replicas, pending: 0 },
    }
}

/// Where one workload may run on one cluster, worked out once for every
/// question the analyses ask of it.
#[derive(Debug, Clone)]
pub struct Placement<'n> {
    /// The node groups it may run on.
    pub groups: Vec<&'n NodeGroup>,
    /// Distinct zones, racks and nodes among them.
    pub zones: u32,
    /// See `zones`.
    pub racks: u32,
    /// See `zones`.
    pub nodes: u32,
}

impl<'n> Placement<'n> {
    /// The placement of `pod` on `cluster`.
    pub fn of(pod: &PodSpec, cluster: &'n ClusterNodes) -> Self {
        let groups = eligible(pod, cluster);
        let zones = domains(&groups, SpreadLevel::Zone);
        let racks = domains(&groups, SpreadLevel::Rack);
        let nodes = domains(&groups, SpreadLevel::Node);
        Self { groups, zones, racks, nodes }
    }

    /// How many domains of `level` it may use.
    pub fn domains(&self, level: SpreadLevel) -> u32 {
        match level {
            SpreadLevel::Zone => self.zones,
            SpreadLevel::Rack => self.racks,
            SpreadLevel::Node => self.nodes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_cases() {
        assert_eq!(worst_case(Rule::None, 3, 3), Worst { max_per_domain: 3, pending: 0 });
        assert_eq!(worst_case(Rule::OnePerDomain, 5, 3), Worst { max_per_domain: 1, pending: 2 });
        let skew1 = Rule::Skew { max_skew: 1, min_domains: None };
        assert_eq!(worst_case(skew1, 3, 3).max_per_domain, 1);
        assert_eq!(worst_case(skew1, 4, 3).max_per_domain, 2);
        assert_eq!(worst_case(skew1, 6, 3).max_per_domain, 2);
        assert_eq!(worst_case(skew1, 3, 1).max_per_domain, 3);
        let min3 = Rule::Skew { max_skew: 1, min_domains: Some(3) };
        assert_eq!(worst_case(min3, 3, 2), Worst { max_per_domain: 1, pending: 1 });
        assert_eq!(worst_case(Rule::None, 2, 0).pending, 2);
    }
}

/// How the scheduler treats a workload's replacements once some domains of
/// a level went dark: what its strongest required spread over the level says,
/// read as kube-scheduler v1.36's PodTopologySpread and InterPodAffinity
/// filters read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplacementRule {
    /// Nothing required: replacements go anywhere that is left.
    Free,
    /// Required anti-affinity against its own pods: a domain that runs one
    /// takes no other.
    OnePerDomain,
    /// A `DoNotSchedule` spread.
    Skew {
        /// `maxSkew`.
        max_skew: u32,
        /// `minDomains`, if set.
        min_domains: Option<u32>,
        /// `nodeTaintsPolicy: Honor`: tainted (failed) nodes leave the
        /// domain count. The default, Ignore, keeps a failed domain in it,
        /// with zero pods.
        honor_taints: bool,
    },
}

impl ReplacementRule {
    /// The rule of `pod` (labelled `labels`) over `level`.
    pub fn of(pod: &PodSpec, labels: Option<&BTreeMap<String, String>>, level: SpreadLevel) -> Self {
        match rule(pod, labels, level) {
            Rule::OnePerDomain => Self::OnePerDomain,
            Rule::Skew { max_skew, min_domains } => {
                // The constraint that gave the rule (the tightest skew) says how taints count.
                let honor_taints = pod
                    .topology_spread_constraints
                    .iter()
                    .flatten()
                    .filter(|c| SpreadLevel::of_key(&c.topology_key) == Some(level))
                    .filter(|c| c.when_unsatisfiable == "DoNotSchedule")
                    .filter(|c| c.max_skew.max(1) as u32 == max_skew)
                    .any(|c| c.node_taints_policy.as_deref() == Some("Honor"));
                Self::Skew { max_skew, min_domains, honor_taints }
            }
            Rule::Preferred | Rule::None => Self::Free,
        }
    }
}

impl ReplacementRule {
    /// The rule as a person names it, for "what decided the outcome".
    pub fn describe(self, level: SpreadLevel) -> Option<String> {
        let on = match level {
            SpreadLevel::Zone => "zone",
            SpreadLevel::Rack => "rack",
            SpreadLevel::Node => "node",
        };
        match self {
            Self::Free => None,
            Self::OnePerDomain => Some(format!("required pod anti-affinity per {on}")),
            Self::Skew { max_skew, min_domains, honor_taints } => Some(format!(
                "topology spread per {on} (DoNotSchedule, maxSkew {max_skew}{}, nodeTaintsPolicy {})",
                min_domains.map(|m| format!(", minDomains {m}")).unwrap_or_default(),
                if honor_taints { "Honor" } else { "Ignore" }
            )),
        }
    }
}

/// Where replacements of lost pods can go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    /// Lost pods the scheduler can place in the surviving domains.
    pub placed: u32,
    /// Lost pods that stay Pending until a failed domain returns.
    pub pending: u32,
    /// Why they stay Pending, in words a person acts on.
    pub why: Option<String>,
}

/// Places `lost` replacement pods one at a time, as the scheduler would,
/// into surviving domains that hold `surviving` of the workload's pods each,
/// while `failed` domains of the level are dark (their pods gone).
pub fn place_replacements(rule: ReplacementRule, surviving: &[u32], failed: u32, lost: u32) -> Replacement {
    let mut counts = surviving.to_vec();
    let stuck = |placed: u32, why: String| Replacement { placed, pending: lost - placed, why: Some(why) };
    match rule {
        ReplacementRule::Free => {
            if counts.is_empty() && lost > 0 {
                return stuck(0, "no domain of the workload's survives".into());
            }
            Replacement { placed: lost, pending: 0, why: None }
        }
        ReplacementRule::OnePerDomain => {
            let free = counts.iter().filter(|&&c| c == 0).count() as u32;
            if free >= lost {
                return Replacement { placed: lost, pending: 0, why: None };
            }
            stuck(free, "required pod anti-affinity: every surviving domain already runs one of its pods".into())
        }
        ReplacementRule::Skew { max_skew, min_domains, honor_taints } => {
            // Domains the skew is computed over: the survivors, and the dark
            // ones too unless their taints take them out.
            let eligible = counts.len() as u32 + if honor_taints { 0 } else { failed };
            let below_min = min_domains.is_some_and(|m| eligible < m);
            let dark_counts = !honor_taints && failed > 0;
            for placed in 0..lost {
                let global_min = if below_min || dark_counts { 0 } else { counts.iter().copied().min().unwrap_or(0) };
                let Some(target) =
                    (0..counts.len()).filter(|&i| counts[i] + 1 - global_min <= max_skew).min_by_key(|&i| counts[i])
                else {
                    let why = if counts.is_empty() {
                        "no domain of the workload's survives".to_string()
                    } else if dark_counts {
                        format!(
                            "the failed domain still counts for its topology spread, with 0 pods \
                             (nodeTaintsPolicy: Ignore, the default), so another pod in any surviving one \
                             would exceed maxSkew {max_skew}"
                        )
                    } else {
                        format!(
                            "fewer domains are left than its minDomains {}, so each may hold only maxSkew {max_skew}",
                            min_domains.unwrap_or_default()
                        )
                    };
                    return stuck(placed, why);
                };
                counts[target] += 1;
            }
            Replacement { placed: lost, pending: 0, why: None }
        }
    }
}

#[cfg(test)]
mod replacement_tests {
    use super::*;

    const IGNORE: ReplacementRule = ReplacementRule::Skew { max_skew: 1, min_domains: None, honor_taints: false };
    const HONOR: ReplacementRule = ReplacementRule::Skew { max_skew: 1, min_domains: None, honor_taints: true };

    #[test]
    fn a_dark_zone_counted_with_zero_pods_blocks_every_replacement() {
        // The case a game day found: 6 replicas in 3 zones, zone b down.
        let r = place_replacements(IGNORE, &[2, 2], 1, 2);
        assert_eq!((r.placed, r.pending), (0, 2));
        assert!(r.why.unwrap().contains("nodeTaintsPolicy: Ignore"));
        // Honoring taints, the dark zone leaves the count: both are placed.
        assert_eq!(place_replacements(HONOR, &[2, 2], 1, 2), Replacement { placed: 2, pending: 0, why: None });
        // One pod per zone: any survivor taking a second is a skew of 2.
        assert_eq!(place_replacements(IGNORE, &[1, 1], 1, 1).pending, 1);
        // A looser skew leaves room: maxSkew 2 lets each survivor take one more.
        let loose = ReplacementRule::Skew { max_skew: 2, min_domains: None, honor_taints: false };
        assert_eq!(place_replacements(loose, &[1, 1], 1, 2).pending, 0);
    }

    #[test]
    fn min_domains_and_anti_affinity() {
        let min3 = ReplacementRule::Skew { max_skew: 1, min_domains: Some(3), honor_taints: true };
        assert_eq!(place_replacements(min3, &[1, 1], 1, 1).pending, 1);
        assert_eq!(place_replacements(ReplacementRule::OnePerDomain, &[1, 1], 1, 1).pending, 1);
        assert_eq!(place_replacements(ReplacementRule::OnePerDomain, &[1, 1, 0], 1, 1).pending, 0);
        assert_eq!(place_replacements(ReplacementRule::Free, &[3, 3], 1, 3).pending, 0);
    }
}
