//! `net plan`: a range for every `auto` of every cluster, from the fleet's
//! supernets, that never moves once it is in the lock file.
//!
//! Plan, in order: free space is every supernet; external ranges and every
//! range written in fleet.yaml are taken out first (hand-written ranges
//! always win); then every locked range is taken out, so an allocation made
//! earlier keeps its place whatever was added or removed since; only then do
//! new clusters (and locked ranges that now collide with a hand-written one)
//! get space, in fleet order. The same fleet and lock always give the same plan.

use std::collections::BTreeMap;

use bulkhead_model::Topology;
use bulkhead_model::spec::{FleetSpec, ProviderKind};
use ipnet::IpNet;
use serde::Serialize;

use crate::allocator::{Pool, Reserve};
use crate::lock::{Lock, LockedCluster};
use crate::range::{Family, RangeKind, Source, bounds, net_at};
use crate::sizing::Needs;

/// The kinds a cluster plans, in allocation order (largest first packs best).
pub const PLANNED_KINDS: [RangeKind; 4] =
    [RangeKind::Pods, RangeKind::Nodes, RangeKind::Services, RangeKind::LoadBalancer];

/// The outcome of planning.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Every cluster, in fleet order.
    pub clusters: Vec<ClusterPlan>,
    /// Clusters the old lock had and the fleet no longer has; their space is free again.
    pub released: Vec<String>,
    /// The lock file to write.
    #[serde(skip)]
    pub lock: Lock,
}

/// One cluster's ranges.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterPlan {
    /// The cluster.
    pub name: String,
    /// Its ranges, by kind and family.
    pub ranges: Vec<Planned>,
    /// Its zones' subnets, cut from the node ranges.
    pub zones: Vec<ZoneSubnets>,
    /// Its multi-cluster networking ID, if declared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<u32>,
}

impl ClusterPlan {
    /// The ranges of one kind.
    pub fn of(&self, kind: RangeKind) -> impl Iterator<Item = &Planned> {
        self.ranges.iter().filter(move |r| r.kind == kind)
    }
}

/// One range of a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Planned {
    /// What it is for.
    pub kind: RangeKind,
    /// The range.
    pub net: IpNet,
    /// Written by hand, kept from the lock, or allocated now.
    pub source: Source,
    /// Whether this plan changes it.
    pub change: Change,
}

/// What a plan does to a range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "change")]
pub enum Change {
    /// As before.
    Unchanged,
    /// New.
    Added,
    /// Moved from where the lock had it, and why.
    Moved {
        /// The old range.
        from: IpNet,
        /// Why it could not stay.
        why: String,
    },
}

/// A zone's subnets in one family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZoneSubnets {
    /// The zone, as nodes carry it.
    pub zone: String,
    /// The slot's index in the node range.
    pub slot: u32,
    /// Where nodes go.
    pub private: IpNet,
    /// Where public load balancers and NAT gateways go.
    pub public: IpNet,
    /// Kept free for later (a second node subnet, endpoints).
    pub spare: IpNet,
}

/// What did not fit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unfit {
    /// The cluster.
    pub cluster: String,
    /// The range it needed.
    pub kind: RangeKind,
    /// Its family.
    pub family: Family,
    /// Its prefix length.
    pub prefix: u8,
}

/// Why no plan could be made.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PlanError {
    /// Clusters have `auto` ranges and the fleet has no supernet to take them from.
    #[error("{} have `auto` ranges but `spec.network.supernets` is empty", names(.0))]
    NoSupernet(Vec<String>),
    /// The supernets are full.
    #[error("the supernets have no room for {}", describe_unfit(.unfit))]
    Exhausted {
        /// Everything that did not fit.
        unfit: Vec<Unfit>,
        /// The supernets, for the message.
        supernets: Vec<IpNet>,
    },
    /// A zone was added and the node range has no free slot for it.
    #[error("cluster `{cluster}`'s node range {nodes} has {slots} zone slots, all taken; zone `{zone}` has none")]
    NoZoneSlot {
        /// The cluster.
        cluster: String,
        /// Its node range.
        nodes: IpNet,
        /// How many slots it has.
        slots: u32,
        /// The zone without one.
        zone: String,
    },
}

/// The first five items joined, and how many more there are.
fn first_five(items: impl ExactSizeIterator<Item = String>) -> String {
    let more = items.len().saturating_sub(5);
    let mut s = items.take(5).collect::<Vec<_>>().join(", ");
    if more > 0 {
        s.push_str(&format!(" and {more} more"));
    }
    s
}

fn names(list: &[String]) -> String {
    format!("cluster{} {}", if list.len() == 1 { "" } else { "s" }, first_five(list.iter().map(|n| format!("`{n}`"))))
}

fn describe_unfit(unfit: &[Unfit]) -> String {
    first_five(unfit.iter().map(|u| format!("`{}`'s {} {} /{}", u.cluster, u.family, u.kind, u.prefix)))
}

/// The supernets of a fleet, parsed (validation reports the malformed ones).
pub fn supernets(spec: &FleetSpec) -> Vec<IpNet> {
    spec.network.supernets.iter().filter_map(|s| s.parse::<IpNet>().ok()).map(|n| n.trunc()).collect()
}

/// Plans every cluster's ranges.
///
/// # Errors
/// When a range does not fit; every range that did not fit is named.
pub fn plan(spec: &FleetSpec, topology: &Topology, old: &Lock) -> Result<Plan, PlanError> {
    let supernets = supernets(spec);
    let mut pools: Vec<Pool> = supernets.iter().map(|&s| Pool::new(s)).collect();
    let families: Vec<Family> = {
        let mut f: Vec<Family> = pools.iter().map(Pool::family).collect();
        f.sort();
        f.dedup();
        f
    };
    let reserve = |pools: &mut [Pool], net: &IpNet| -> Reserve {
        let mut result = Reserve::Outside;
        for p in pools.iter_mut() {
            match p.reserve(net) {
                Reserve::Outside => {}
                r => {
                    result = r;
                    break;
                }
            }
        }
        result
    };

    // 1. What is taken before anything is planned.
    for ext in &spec.network.external {
        if let Ok(net) = ext.cidr.parse::<IpNet>() {
            reserve(&mut pools, &net);
        }
    }
    for c in &spec.clusters {
        for kind in PLANNED_KINDS {
            for net in declared(c, kind) {
                reserve(&mut pools, &net);
            }
        }
    }

    // 2. Every cluster's needs, and its locked ranges taken out in place.
    let provider_kind = |location: &str| -> Option<ProviderKind> {
        let provider = location.split('/').next()?;
        spec.providers.iter().find(|p| p.name == provider).map(|p| p.kind)
    };
    /// A range still to allocate, with the locked range that had to move.
    type Todo = (RangeKind, Family, Option<(IpNet, String)>);
    struct Work {
        needs: Needs,
        ranges: Vec<Planned>,
        todo: Vec<Todo>,
    }
    let mut work: Vec<Work> = Vec::with_capacity(spec.clusters.len());
    let mut without_supernet = Vec::new();
    for c in &spec.clusters {
        let needs = Needs::of(c, topology, provider_kind(&c.location));
        let locked = old.clusters.get(&c.name);
        let mut w = Work { needs, ranges: Vec::new(), todo: Vec::new() };
        for kind in PLANNED_KINDS {
            if kind == RangeKind::LoadBalancer && !w.needs.load_balancer {
                continue;
            }
            let written = declared(c, kind);
            if !is_auto(c, kind) {
                w.ranges.extend(written.into_iter().map(|net| Planned {
                    kind,
                    net,
                    source: Source::Declared,
                    change: Change::Unchanged,
                }));
                continue;
            }
            if families.is_empty() {
                if !without_supernet.contains(&c.name) {
                    without_supernet.push(c.name.clone());
                }
                continue;
            }
            for &family in &families {
                let was = locked.and_then(|l| lock_field(l, kind).iter().find(|n| Family::of(n) == family).copied());
                match was {
                    Some(net) => match reserve(&mut pools, &net) {
                        Reserve::Taken => {
                            w.ranges.push(Planned { kind, net, source: Source::Locked, change: Change::Unchanged })
                        }
                        Reserve::Outside => {
                            w.todo.push((kind, family, Some((net, "it is outside every supernet".into()))))
                        }
                        Reserve::Conflict => w.todo.push((
                            kind,
                            family,
                            Some((
                                net,
                                "it overlaps a range written in fleet.yaml, an external range or another lock entry"
                                    .into(),
                            )),
                        )),
                    },
                    None => w.todo.push((kind, family, None)),
                }
            }
        }
        work.push(w);
    }
    if !without_supernet.is_empty() {
        return Err(PlanError::NoSupernet(without_supernet));
    }

    // 3. New space, in fleet order.
    let mut unfit = Vec::new();
    for (c, w) in spec.clusters.iter().zip(&mut work) {
        for (kind, family, moved) in std::mem::take(&mut w.todo) {
            let prefix = w.needs.prefix(kind, family);
            let got = pools.iter_mut().filter(|p| p.family() == family).find_map(|p| p.allocate(prefix));
            match got {
                Some(net) => w.ranges.push(Planned {
                    kind,
                    net,
                    source: Source::Planned,
                    change: match moved {
                        Some((from, why)) => Change::Moved { from, why },
                        None => Change::Added,
                    },
                }),
                None => unfit.push(Unfit { cluster: c.name.clone(), kind, family, prefix }),
            }
        }
        w.ranges.sort_by_key(|r| (r.kind, Family::of(&r.net)));
    }
    if !unfit.is_empty() {
        return Err(PlanError::Exhausted { unfit, supernets });
    }

    // 4. Zones, and the lock.
    let mut lock = Lock::new();
    let mut clusters = Vec::with_capacity(work.len());
    for (c, w) in spec.clusters.iter().zip(work) {
        let mut entry = LockedCluster::default();
        for r in w.ranges.iter().filter(|r| r.source != Source::Declared) {
            lock_field_mut(&mut entry, r.kind).push(r.net);
        }
        let old_entry = old.clusters.get(&c.name);
        let slots = old_entry.and_then(|l| l.zone_slots).unwrap_or_else(|| w.needs.zone_slots());
        let mut index: BTreeMap<String, u32> = old_entry
            .map(|l| l.zones.iter().filter(|(z, _)| w.needs.zones.contains(z)).map(|(z, i)| (z.clone(), *i)).collect())
            .unwrap_or_default();
        let nodes: Vec<IpNet> = w.ranges.iter().filter(|r| r.kind == RangeKind::Nodes).map(|r| r.net).collect();
        for zone in &w.needs.zones {
            if index.contains_key(zone) {
                continue;
            }
            match (0..slots).find(|i| !index.values().any(|v| v == i)) {
                Some(i) => {
                    index.insert(zone.clone(), i);
                }
                None => {
                    return Err(PlanError::NoZoneSlot {
                        cluster: c.name.clone(),
                        nodes: nodes.first().copied().unwrap_or_else(|| "0.0.0.0/0".parse().expect("valid")),
                        slots,
                        zone: zone.clone(),
                    });
                }
            }
        }
        let mut zones = Vec::new();
        for net in &nodes {
            for zone in &w.needs.zones {
                if let Some(z) = zone_subnets(net, slots, index[zone], zone) {
                    zones.push(z);
                }
            }
        }
        entry.zone_slots = Some(slots);
        entry.zones = index;
        lock.clusters.insert(c.name.clone(), entry);
        clusters.push(ClusterPlan { name: c.name.clone(), ranges: w.ranges, zones, cluster_id: c.network.cluster_id });
    }
    let released = old.clusters.keys().filter(|n| !lock.clusters.contains_key(*n)).cloned().collect();
    Ok(Plan { clusters, released, lock })
}

/// A zone's slot of a node range: private is the first half, public the
/// third quarter, spare the last.
pub fn zone_subnets(nodes: &IpNet, slots: u32, slot: u32, zone: &str) -> Option<ZoneSubnets> {
    let family = Family::of(nodes);
    let slot_bits = slots.max(1).next_power_of_two().trailing_zeros() as u8;
    let slot_prefix = nodes.prefix_len() + slot_bits;
    if slot_prefix + 2 > family.bits() || slot >= slots {
        return None;
    }
    let (start, _) = bounds(nodes);
    let slot_size = 1u128 << (family.bits() - slot_prefix);
    let slot_start = start + u128::from(slot) * slot_size;
    Some(ZoneSubnets {
        zone: zone.to_string(),
        slot,
        private: net_at(family, slot_start, slot_prefix + 1),
        public: net_at(family, slot_start + slot_size / 2, slot_prefix + 2),
        spare: net_at(family, slot_start + slot_size / 4 * 3, slot_prefix + 2),
    })
}

/// Whether a cluster leaves `kind` to the planner.
pub fn is_auto(c: &bulkhead_model::spec::Cluster, kind: RangeKind) -> bool {
    let n = &c.network;
    match kind {
        RangeKind::Nodes => n.nodes.is_auto(),
        RangeKind::Pods => n.pods.is_auto(),
        RangeKind::Services => n.services.is_auto(),
        RangeKind::LoadBalancer => n.load_balancer.as_ref().is_none_or(|r| r.is_auto()),
        _ => false,
    }
}

/// The ranges written in fleet.yaml for `kind` (none when `auto`).
pub fn declared(c: &bulkhead_model::spec::Cluster, kind: RangeKind) -> Vec<IpNet> {
    let n = &c.network;
    let spec = match kind {
        RangeKind::Nodes => Some(&n.nodes),
        RangeKind::Pods => Some(&n.pods),
        RangeKind::Services => Some(&n.services),
        RangeKind::LoadBalancer => n.load_balancer.as_ref(),
        _ => None,
    };
    spec.map(|s| s.cidrs().into_iter().filter_map(|t| t.parse::<IpNet>().ok()).collect()).unwrap_or_default()
}

fn lock_field(l: &LockedCluster, kind: RangeKind) -> &[IpNet] {
    match kind {
        RangeKind::Nodes => &l.nodes,
        RangeKind::Pods => &l.pods,
        RangeKind::Services => &l.services,
        RangeKind::LoadBalancer => &l.load_balancer,
        _ => &[],
    }
}

fn lock_field_mut(l: &mut LockedCluster, kind: RangeKind) -> &mut Vec<IpNet> {
    match kind {
        RangeKind::Nodes => &mut l.nodes,
        RangeKind::Pods => &mut l.pods,
        RangeKind::Services => &mut l.services,
        _ => &mut l.load_balancer,
    }
}
