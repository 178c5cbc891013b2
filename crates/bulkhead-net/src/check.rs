//! `net check`: every range of the fleet (written, locked, live, imported and
//! external), checked for overlaps, for room, and for drift from what was
//! declared; and multi-cluster networking IDs that collide.
//!
//! Overlaps are found by sorting and one sweep, not by comparing all pairs:
//! two CIDR blocks are either disjoint or one holds the other, so after
//! sorting by first address (widest first) the ranges that hold the next one
//! are exactly those still open on a stack. A million ranges take well under
//! a second.

use std::collections::BTreeMap;

use bulkhead_model::{Code, Diagnostic, Fleet, Severity};
use ipnet::IpNet;

use crate::lock::{LOCK_FILE, Lock};
use crate::plan::{PLANNED_KINDS, declared, is_auto};
use crate::range::{Family, OwnedRange, RangeKind, Source, bounds};
use crate::sizing::{CLOUD_RESERVED, HEADROOM, Needs};

/// Two ranges that share addresses.
pub const RANGE_OVERLAP: Code = Code::new("range-overlap");
/// A range too small for what the cluster declares.
pub const RANGE_TOO_SMALL: Code = Code::new("range-too-small");
/// A live range outside what the fleet declares for it.
pub const RANGE_DRIFT: Code = Code::new("range-drift");
/// An `auto` range the planner has not allocated yet.
pub const RANGE_NOT_PLANNED: Code = Code::new("range-not-planned");
/// Two clusters with one multi-cluster networking ID.
pub const CLUSTER_ID_COLLISION: Code = Code::new("cluster-id-collision");
/// A lock file that cannot be read.
pub const LOCK_INVALID: Code = Code::new("lock-invalid");

/// Every code `net check` reports, for documentation.
pub const CODES: &[Code] =
    &[RANGE_OVERLAP, RANGE_TOO_SMALL, RANGE_DRIFT, RANGE_NOT_PLANNED, CLUSTER_ID_COLLISION, LOCK_INVALID];

/// A pair of overlapping ranges: indexes of the inner (narrower or equal) and
/// the outer range. The overlap is exactly the inner range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overlap {
    /// The range inside the other.
    pub inner: usize,
    /// The range that holds it.
    pub outer: usize,
}

/// Whether two overlapping ranges are one thing seen twice (a live range
/// inside the same cluster's declared one), not a conflict.
fn same_thing(a: &OwnedRange, b: &OwnedRange) -> bool {
    a.owner == b.owner && a.kind.declared() == b.kind.declared() && (a.source != b.source || a.kind != b.kind)
}

/// Every overlap among `ranges`, by sort and sweep: O(n log n + overlaps).
pub fn overlaps(ranges: &[OwnedRange]) -> Vec<Overlap> {
    let mut order: Vec<(Family, u128, u8, usize)> =
        ranges.iter().enumerate().map(|(i, r)| (Family::of(&r.net), bounds(&r.net).0, r.net.prefix_len(), i)).collect();
    order.sort_unstable();
    let mut found = Vec::new();
    // Ranges that may still hold later ones: each holds the next.
    let mut open: Vec<(Family, u128, usize)> = Vec::new();
    for (family, start, _, i) in order {
        while let Some(&(f, end, _)) = open.last() {
            if f != family || end < start {
                open.pop();
            } else {
                break;
            }
        }
        for &(_, _, o) in &open {
            if !same_thing(&ranges[i], &ranges[o]) {
                found.push(Overlap { inner: i, outer: o });
            }
        }
        open.push((family, bounds(&ranges[i].net).1, i));
    }
    found
}

/// Everything `net check` looks at.
#[derive(Debug, Default)]
pub struct Inputs {
    /// The lock file, if there is one.
    pub lock: Option<Lock>,
    /// Ranges read from the clusters (`--live`).
    pub live: Vec<OwnedRange>,
    /// Ranges from a file (an IPAM export).
    pub imported: Vec<OwnedRange>,
}

/// The ranges each cluster has: written in fleet.yaml, else locked.
pub fn effective_ranges(fleet: &Fleet, lock: Option<&Lock>) -> Vec<OwnedRange> {
    let mut out = Vec::new();
    for c in &fleet.file.spec.clusters {
        let locked = lock.and_then(|l| l.clusters.get(&c.name));
        for kind in PLANNED_KINDS {
            if is_auto(c, kind) {
                if let Some(l) = locked {
                    let nets = match kind {
                        RangeKind::Nodes => &l.nodes,
                        RangeKind::Pods => &l.pods,
                        RangeKind::Services => &l.services,
                        _ => &l.load_balancer,
                    };
                    out.extend(nets.iter().map(|&n| OwnedRange::new(&c.name, kind, n, Source::Locked)));
                }
            } else {
                out.extend(declared(c, kind).into_iter().map(|n| OwnedRange::new(&c.name, kind, n, Source::Declared)));
            }
        }
    }
    for e in &fleet.file.spec.network.external {
        if let Ok(net) = e.cidr.parse::<IpNet>() {
            out.push(OwnedRange::new(&e.name, RangeKind::External, net, Source::External));
        }
    }
    out
}

/// Runs every check; findings point into fleet.yaml where the range was
/// written or where its cluster is.
pub fn check(fleet: &Fleet, inputs: &Inputs) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let here = Here { fleet };
    let ranges: Vec<OwnedRange> = effective_ranges(fleet, inputs.lock.as_ref())
        .into_iter()
        .chain(inputs.live.iter().cloned())
        .chain(inputs.imported.iter().cloned())
        .collect();

    for o in overlaps(&ranges) {
        let (inner, outer) = (&ranges[o.inner], &ranges[o.outer]);
        let message = if inner.net == outer.net {
            format!("{} and {} are the same range", inner.describe(), outer.describe())
        } else {
            format!("{} lies inside {}", inner.describe(), outer.describe())
        };
        let hint = match (inner.source, outer.source) {
            (Source::Locked | Source::Planned, _) | (_, Source::Locked | Source::Planned) => {
                "remove the planned range from net.lock.json and run `bulkhead net plan` to move it"
            }
            _ if inner.kind == RangeKind::External || outer.kind == RangeKind::External => {
                "move the cluster's range out of the external one, or set it to `auto` and run `bulkhead net plan`"
            }
            _ => "give each cluster ranges of its own; `auto` and `bulkhead net plan` keep them apart",
        };
        out.push(here.diagnostic(Severity::Error, RANGE_OVERLAP, inner, message).with_hint(hint));
    }

    drift(&here, &ranges, &mut out);
    room(&here, fleet, &ranges, &mut out);
    not_planned(&here, fleet, inputs.lock.as_ref(), &mut out);
    cluster_ids(&here, fleet, &mut out);
    Diagnostic::sort(&mut out);
    out
}

/// Live ranges must lie inside what is declared or locked for them.
fn drift(here: &Here<'_>, ranges: &[OwnedRange], out: &mut Vec<Diagnostic>) {
    let mut declared: BTreeMap<(&str, RangeKind), Vec<IpNet>> = BTreeMap::new();
    for r in ranges.iter().filter(|r| matches!(r.source, Source::Declared | Source::Locked)) {
        declared.entry((r.owner.as_str(), r.kind)).or_default().push(r.net);
    }
    for r in ranges.iter().filter(|r| r.source == Source::Live) {
        let Some(nets) = declared.get(&(r.owner.as_str(), r.kind.declared())) else { continue };
        let same_family: Vec<&IpNet> = nets.iter().filter(|n| Family::of(n) == Family::of(&r.net)).collect();
        if same_family.is_empty() || same_family.iter().any(|n| n.contains(&r.net)) {
            continue;
        }
        let listed: Vec<String> = same_family.iter().map(ToString::to_string).collect();
        out.push(
            here.diagnostic(
                Severity::Warning,
                RANGE_DRIFT,
                r,
                format!(
                    "{} is outside the {} range declared for the cluster ({})",
                    r.describe(),
                    r.kind.declared(),
                    listed.join(", ")
                ),
            )
            .with_hint(
                "the cluster uses addresses the fleet does not know of: fix the cluster, or declare what it uses",
            ),
        );
    }
}

/// Ranges must hold the nodes and pods the cluster declares.
fn room(here: &Here<'_>, fleet: &Fleet, ranges: &[OwnedRange], out: &mut Vec<Diagnostic>) {
    let spec = &fleet.file.spec;
    for c in &spec.clusters {
        let kind =
            c.location.split('/').next().and_then(|p| spec.providers.iter().find(|x| x.name == p)).map(|p| p.kind);
        let needs = Needs::of(c, &fleet.topology, kind);
        for r in ranges.iter().filter(|r| r.owner == c.name && matches!(r.source, Source::Declared | Source::Locked)) {
            let family = Family::of(&r.net);
            match r.kind {
                RangeKind::Pods => {
                    let fits = needs.nodes_fitting(r.net.prefix_len(), family);
                    let block = needs.node_pod_prefix(family);
                    if fits < needs.nodes {
                        out.push(
                            here.diagnostic(
                                Severity::Error,
                                RANGE_TOO_SMALL,
                                r,
                                format!(
                                    "{} has room for {fits} nodes at /{block} each; the cluster declares {} nodes",
                                    r.describe(),
                                    needs.nodes
                                ),
                            )
                            .with_hint(format!("use at least a /{}", needs.prefix(RangeKind::Pods, family) + 1)),
                        );
                    } else if fits < needs.nodes * HEADROOM {
                        out.push(
                            here.diagnostic(
                                Severity::Warning,
                                RANGE_TOO_SMALL,
                                r,
                                format!(
                                    "{} has room for {fits} nodes at /{block} each: the cluster's {} nodes cannot double",
                                    r.describe(),
                                    needs.nodes
                                ),
                            )
                            .with_hint(format!("a /{} leaves room to grow", needs.prefix(RangeKind::Pods, family))),
                        );
                    }
                }
                RangeKind::Nodes if family == Family::V4 => {
                    let size = 1u64 << (32 - r.net.prefix_len());
                    let usable = size.saturating_sub(CLOUD_RESERVED * needs.zones.len().max(1) as u64);
                    if usable < needs.nodes {
                        out.push(
                            here.diagnostic(
                                Severity::Error,
                                RANGE_TOO_SMALL,
                                r,
                                format!(
                                    "{} has {usable} usable addresses; the cluster declares {} nodes",
                                    r.describe(),
                                    needs.nodes
                                ),
                            )
                            .with_hint(format!("use at least a /{}", needs.prefix(RangeKind::Nodes, family))),
                        );
                    }
                }
                _ => {}
            }
        }
    }
}

/// `auto` ranges without a lock entry: fine before the first plan, worth a note.
fn not_planned(here: &Here<'_>, fleet: &Fleet, lock: Option<&Lock>, out: &mut Vec<Diagnostic>) {
    let unplanned: Vec<(usize, &str)> = fleet
        .file
        .spec
        .clusters
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            PLANNED_KINDS.iter().any(|&k| is_auto(c, k) && k != RangeKind::LoadBalancer)
                && lock.is_none_or(|l| !l.clusters.contains_key(&c.name))
        })
        .map(|(i, c)| (i, c.name.as_str()))
        .collect();
    for (i, name) in unplanned {
        out.push(
            Diagnostic::new(
                Severity::Info,
                RANGE_NOT_PLANNED,
                &here.fleet.path,
                Some(here.fleet.span(&format!("spec/clusters/{i}/name"))),
                format!("cluster `{name}` has `auto` ranges that are not planned yet, so they are not checked"),
            )
            .with_hint(format!("run `bulkhead net plan` to allocate them and record them in {LOCK_FILE}")),
        );
    }
}

fn cluster_ids(here: &Here<'_>, fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let mut first: BTreeMap<u32, &str> = BTreeMap::new();
    for (i, c) in fleet.file.spec.clusters.iter().enumerate() {
        let Some(id) = c.network.cluster_id else { continue };
        match first.get(&id) {
            Some(other) => out.push(
                Diagnostic::error(
                    CLUSTER_ID_COLLISION,
                    &here.fleet.path,
                    Some(here.fleet.span(&format!("spec/clusters/{i}/network/clusterId"))),
                    format!("clusters `{other}` and `{}` share cluster ID {id}", c.name),
                )
                .with_hint("ClusterMesh and Submariner need a unique ID per cluster"),
            ),
            None => {
                first.insert(id, &c.name);
            }
        }
    }
}

/// Where findings point.
struct Here<'a> {
    fleet: &'a Fleet,
}

impl Here<'_> {
    /// A finding about `range`: at the field that declares it when it was
    /// written by hand, else at its cluster (or the external list).
    fn diagnostic(&self, severity: Severity, code: Code, range: &OwnedRange, message: String) -> Diagnostic {
        let spec = &self.fleet.file.spec;
        let path = if range.kind == RangeKind::External {
            match spec.network.external.iter().position(|e| e.name == range.owner) {
                Some(i) => format!("spec/network/external/{i}/cidr"),
                None => "spec/network".to_string(),
            }
        } else {
            match (self.fleet.cluster_index(&range.owner), range.source, range.kind.field()) {
                (Some(i), Source::Declared, Some(field)) => format!("spec/clusters/{i}/network/{field}"),
                (Some(i), _, _) => format!("spec/clusters/{i}/name"),
                (None, _, _) => "spec/network".to_string(),
            }
        };
        Diagnostic::new(severity, code, &self.fleet.path, Some(self.fleet.span(&path)), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(owner: &str, kind: RangeKind, net: &str, source: Source) -> OwnedRange {
        OwnedRange::new(owner, kind, net.parse().unwrap(), source)
    }

    #[test]
    fn sweep_finds_nested_and_equal_ranges_only() {
        let ranges = vec![
            r("a", RangeKind::Pods, "10.0.0.0/16", Source::Declared),
            r("b", RangeKind::Pods, "10.1.0.0/16", Source::Declared),
            r("c", RangeKind::Services, "10.0.4.0/24", Source::Declared),
            r("d", RangeKind::Pods, "10.1.0.0/16", Source::Declared),
            r("e", RangeKind::Pods, "fd00::/48", Source::Declared),
            r("f", RangeKind::Pods, "0.0.0.0/0", Source::Imported),
        ];
        let mut pairs: Vec<(&str, &str)> = overlaps(&ranges)
            .iter()
            .map(|o| (ranges[o.inner].owner.as_str(), ranges[o.outer].owner.as_str()))
            .collect();
        pairs.sort_unstable();
        assert_eq!(pairs, [("a", "f"), ("b", "f"), ("c", "a"), ("c", "f"), ("d", "b"), ("d", "f")]);
    }

    #[test]
    fn a_live_range_inside_its_own_declared_range_is_no_conflict() {
        let ranges = vec![
            r("a", RangeKind::Pods, "10.0.0.0/16", Source::Declared),
            r("a", RangeKind::NodePods, "10.0.1.0/24", Source::Live),
            r("a", RangeKind::NodePods, "10.0.1.0/24", Source::Live).with_detail("node n2"),
            r("b", RangeKind::NodePods, "10.0.2.0/24", Source::Live),
        ];
        let pairs: Vec<(usize, usize)> = overlaps(&ranges).iter().map(|o| (o.inner, o.outer)).collect();
        // Two of a's nodes share a pod range; b's node sits in a's pods.
        assert!(pairs.contains(&(2, 1)) || pairs.contains(&(1, 2)));
        assert!(pairs.contains(&(3, 0)));
        assert_eq!(pairs.len(), 2);
    }
}
