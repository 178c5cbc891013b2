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
