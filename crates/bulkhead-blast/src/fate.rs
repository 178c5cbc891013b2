//! What becomes of the replicas a failure takes, as the real controllers
//! and scheduler decide it: evicted or not (the node lifecycle controller),
//! recreated or not (the workload's controller), placed or left Pending
//! (the scheduler's filters: node affinity and taints, topology spread and
//! anti-affinity per zone, rack and node, requests against what the
//! surviving nodes have free, preemption of lower-priority pods).

use std::collections::BTreeMap;

use bulkhead_model::spec::VolumeTopology;
use bulkhead_workload::resources::Resources;
use bulkhead_workload::scheduling::{Replacement, ReplacementRule, SpreadLevel, place_replacements};
use serde::Serialize;

use crate::domains::Domain;
use crate::exposure::{Controller, Exposure, Halt, Loss, NODE_EVICTION_RATE};

/// The fate of one workload's lost replicas under one failure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fate {
    /// Replicas lost.
    pub lost: u32,
    /// Lost replicas replaced elsewhere in the cluster.
    pub replaced: u32,
    /// Lost replicas whose replacements are created but stay Pending until
    /// the failed domain returns.
    pub pending: u32,
    /// Lost replicas nothing replaces while the failure lasts: not evicted,
    /// or evicted but not recreated (their pods wait for their nodes).
    pub stranded: u32,
    /// When the replaced ones run again, in seconds after the failure:
    /// (earliest, latest).
    #[serde(skip)]
    pub window: Option<(u64, u64)>,
    /// Why some are Pending or stranded, in words a person acts on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// The rules that decided the outcome.
    pub decided_by: Vec<String>,
}

impl Fate {
    /// Whether every lost replica is replaced.
    pub fn recovers(&self) -> bool {
        self.pending == 0 && self.stranded == 0
    }
}

impl Exposure {
    /// What becomes of the replicas that the failure of `failed` takes.
    pub fn fate(&self, failed: &[&Domain]) -> Fate {
        let lost = self.lost(failed);
        let mut fate = Fate { lost, ..Fate::default() };
        if lost == 0 {
            return fate;
        }
        let strand = |mut fate: Fate, why: String, rule: &str| {
            fate.stranded = fate.lost;
            fate.why = Some(why);
            fate.decided_by.push(rule.to_string());
            fate
        };
        let window = match self.eviction_window(failed) {
            Ok(w) => w,
            Err(halt) => {
                let rule = match halt {
                    Halt::ClusterDown => "the failure takes the cluster",
                    Halt::FullDisruption => "node lifecycle: full disruption",
                    Halt::PartialDisruption => "node lifecycle: unhealthy zone threshold",
                };
                return strand(fate, halt.describe().to_string(), rule);
            }
        };
        fate.decided_by.push(format!(
            "eviction: node-monitor grace {} s + unreachable toleration {} s",
            self.reschedule_seconds - self.toleration_seconds,
            self.toleration_seconds
        ));
        if window.1 > window.0 {
            fate.decided_by.push(format!("node eviction rate {NODE_EVICTION_RATE} nodes/s per zone"));
        }
        match self.controller {
            Controller::Replaces => {}
            Controller::DaemonSet => {
                let why = "DaemonSet pods belong to their nodes (they tolerate an unreachable node for good): \
                           they come back with them";
                return strand(fate, why.into(), "DaemonSet");
            }
            Controller::StatefulSet => {
                let mut why = "a StatefulSet recreates a pod only once the old one is gone, and a node that is \
                               down cannot confirm that: its pods stay Terminating until the node returns \
                               (or is tainted node.kubernetes.io/out-of-service, or the pod force-deleted)"
                    .to_string();
                if matches!(self.volumes, Some(VolumeTopology::Zone | VolumeTopology::Node)) {
                    why.push_str("; its volumes stay in the failed domain too");
                }
                return strand(fate, why, "StatefulSet pod identity");
            }
            Controller::None => return strand(fate, "a bare Pod: nothing recreates it".into(), "no controller"),
        }
        let placed = self.place(failed, lost, &mut fate.decided_by);
        fate.replaced = placed.placed;
        fate.pending = placed.pending;
        fate.why = placed.why;
        if fate.replaced > 0 {
            fate.window = Some(window);
        }
        fate
    }

    /// Places `lost` replacements: the most restrictive of the surviving
    /// nodes it may use, its spreads per level, and the room left on them.
    fn place(&self, failed: &[&Domain], lost: u32, decided_by: &mut Vec<String>) -> Replacement {
        let stuck = |placed: u32, why: String| Replacement { placed, pending: lost - placed, why: Some(why) };
        let alive = self.alive_nodes(failed);
        if alive.is_empty() {
            let why = if self.restricted() {
                decided_by.push("node selector, node affinity and taints".into());
                "no node it may run on survives: its node selector, node affinity or tolerations keep it to \
                 the failed ones"
            } else {
                "no node of the cluster survives"
            };
            return stuck(0, why.to_string());
        }
        let mut best = Replacement { placed: lost, pending: 0, why: None };
        for (level, rule) in self.rules {
            if rule == ReplacementRule::Free {
                continue;
            }
            let Some((surviving, dark)) = self.domain_counts(failed, level, &alive) else { continue };
            decided_by.extend(rule.describe(level));
            let r = place_replacements(rule, &surviving, dark, lost);
            if r.placed < best.placed {
                best = r;
            }
        }
        if let Loss::Live { capacity: Some(capacity), .. } = &self.loss {
            // Pods of `each` that fit on the surviving nodes it may use.
            let room = |each: Resources, with_preemption: bool| -> u64 {
                alive
                    .iter()
                    .filter_map(|n| capacity.nodes.get(*n))
                    .map(|(free, lower)| {
                        let have = if with_preemption { free.plus(*lower) } else { *free };
                        have.fits(each).unwrap_or(u64::MAX)
                    })
                    .fold(0u64, u64::saturating_add)
            };
            let (free, preempting) = (room(capacity.request, false), room(capacity.request, true));
            decided_by.push(format!("requests: {} per pod", capacity.request.describe()));
            if u64::from(best.placed) > free && preempting > free {
                decided_by.push("preemption of lower-priority pods".into());
            }
            if u64::from(best.placed) > preempting {
                // Name the resource that runs out, as the scheduler does.
                let cpu_only = Resources { memory: 0, ..capacity.request };
                let memory_only = Resources { cpu_milli: 0, ..capacity.request };
                let short: Vec<&str> = [("cpu", room(cpu_only, true)), ("memory", room(memory_only, true))]
                    .into_iter()
                    .filter(|(_, room)| *room < u64::from(best.placed))
                    .map(|(name, _)| name)
                    .collect();
                let why = format!(
                    "Insufficient {}: the surviving nodes it may run on have room for {preempting} more of its \
                     pods (each requests {}){}",
                    short.join(" and "),
                    capacity.request.describe(),
                    if preempting > free { ", even after preempting every lower-priority pod" } else { "" }
                );
                return stuck(preempting as u32, why);
            }
        }
        best
    }

    /// Whether its selectors, affinity or tolerations keep it off some nodes.
    fn restricted(&self) -> bool {
        match &self.loss {
            Loss::Live { eligible, sites, .. } => eligible.len() < sites.len(),
            Loss::Static { groups, .. } => groups.len() < self.sites.len(),
        }
    }

    /// The surviving nodes (live: names; static: pools) it may run on.
    fn alive_nodes(&self, failed: &[&Domain]) -> Vec<&str> {
        match &self.loss {
            Loss::Live { sites, eligible, .. } => eligible
                .iter()
                .filter(|n| {
                    sites.get(*n).is_some_and(|(zone, rack)| !self.site_failed(failed, zone, rack.as_deref(), Some(n)))
                })
                .map(String::as_str)
                .collect(),
            Loss::Static { groups, .. } => groups
                .iter()
                .filter(|(_, zone, rack)| !self.site_failed(failed, zone, rack.as_deref(), None))
                .map(|(pool, _, _)| pool.as_str())
                .collect(),
        }
    }

    /// Its pods left in each surviving domain of `level` it may use, and how
    /// many of those domains are dark; `None` when it spans none of the level.
    fn domain_counts(&self, failed: &[&Domain], level: SpreadLevel, alive: &[&str]) -> Option<(Vec<u32>, u32)> {
        match &self.loss {
            Loss::Live { per_node, sites, eligible, .. } => {
                // Per domain: its pods on surviving nodes, and whether any node survives.
                let mut domains: BTreeMap<&str, (u32, bool)> = BTreeMap::new();
                for node in eligible {
                    let Some((zone, rack)) = sites.get(node) else { continue };
                    let key = match level {
                        SpreadLevel::Zone => zone.as_str(),
                        SpreadLevel::Rack => match rack {
                            Some(r) => r.as_str(),
                            None => continue,
                        },
                        SpreadLevel::Node => node.as_str(),
                    };
                    let up = alive.contains(&node.as_str());
                    let entry = domains.entry(key).or_default();
                    entry.1 |= up;
                    if up {
                        entry.0 += per_node.get(node).copied().unwrap_or(0);
                    }
                }
                if domains.is_empty() {
                    return None;
                }
                let surviving = domains.values().filter(|(_, up)| *up).map(|(n, _)| *n).collect();
                let dark = domains.values().filter(|(_, up)| !up).count() as u32;
                Some((surviving, dark))
            }
            Loss::Static { zones, racks, .. } => {
                // Statically the survivors share the rest as evenly as the spread keeps them.
                let up: Vec<bool> = match level {
                    SpreadLevel::Zone => zones.iter().map(|z| !self.site_failed(failed, z, None, None)).collect(),
                    SpreadLevel::Rack => {
                        racks.iter().map(|(z, r)| !self.site_failed(failed, z, Some(r.as_str()), None)).collect()
                    }
                    SpreadLevel::Node => return None,
                };
                if up.is_empty() {
                    return None;
                }
                let k = up.iter().filter(|u| **u).count() as u32;
                let rest = self.replicas - self.lost(failed);
                let surviving = (0..k).map(|i| rest / k + u32::from(i < rest % k)).collect();
                Some((surviving, up.len() as u32 - k))
            }
        }
    }
}
