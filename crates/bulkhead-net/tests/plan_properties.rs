//! Properties of the planner over generated fleets: allocations never
//! overlap, stay inside their supernets, survive clusters being added and
//! removed, and a full supernet is a clear error.

use bulkhead_model::Topology;
use bulkhead_model::spec::FleetSpec;
use bulkhead_net::{Change, Lock, OwnedRange, PlanError, RangeKind, Source, overlaps, plan, supernets};
use ipnet::IpNet;
use proptest::prelude::*;
use serde_json::json;

/// A cluster: node count, zones used (1–3), bare metal or not, and whether
/// its pod range is written by hand.
#[derive(Debug, Clone)]
struct Shape {
    nodes: u32,
    zones: usize,
    metal: bool,
    hand_written_pods: bool,
}

fn shape() -> impl Strategy<Value = Shape> {
    (1u32..200, 1usize..=3, any::<bool>(), prop::bool::weighted(0.15))
        .prop_map(|(nodes, zones, metal, hand_written_pods)| Shape { nodes, zones, metal, hand_written_pods })
}

fn spec(supernets: &[&str], shapes: &[(usize, Shape)]) -> FleetSpec {
    let clusters: Vec<_> = shapes
        .iter()
        .map(|(id, s)| {
            let (location, zones): (&str, Vec<&str>) = if s.metal {
                ("metal/ams1", vec!["ams1"])
            } else {
                ("aws/us-east-1", ["a", "b", "c"][..s.zones].to_vec())
            };
            let pods =
                if s.hand_written_pods { format!("172.{}.{}.0/24", 16 + id / 256, id % 256) } else { "auto".into() };
            json!({
                "name": format!("c{id}"),
                "location": location,
                "network": {"pods": pods},
                "nodePools": [{"name": "p", "count": s.nodes, "zones": zones}],
            })
        })
        .collect();
    let file = json!({
        "apiVersion": "bulkhead.dev/v1alpha1",
        "kind": "Fleet",
        "metadata": {"name": "t"},
        "spec": {
            "network": {"supernets": supernets, "external": [{"name": "vpn", "cidr": "10.0.0.0/12"}]},
            "providers": [
                {"name": "aws", "kind": "aws", "regions": [{"name": "us-east-1", "zones": ["a", "b", "c"]}]},
                {"name": "metal", "kind": "bare-metal", "regions": [{"name": "ams1", "zones": ["ams1"], "racks": ["r1", "r2"]}]},
            ],
            "clusters": clusters,
        }
    });
    serde_json::from_value::<bulkhead_model::spec::FleetFile>(file).expect("a valid fleet").spec
}

fn planned_ranges(p: &bulkhead_net::Plan) -> Vec<OwnedRange> {
    p.clusters
        .iter()
        .flat_map(|c| c.ranges.iter().map(move |r| OwnedRange::new(&c.name, r.kind, r.net, r.source)))
        .collect()
}

const SUPERNETS: &[&str] = &["10.0.0.0/8", "fd00:b01c::/40"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn allocations_never_overlap_and_stay_inside_supernets(shapes in prop::collection::vec(shape(), 1..40)) {
        let shapes: Vec<(usize, Shape)> = shapes.into_iter().enumerate().collect();
        let s = spec(SUPERNETS, &shapes);
        let p = plan(&s, &Topology::build(&s), &Lock::new()).expect("fits in a /8");
        let mut ranges = planned_ranges(&p);
        ranges.push(OwnedRange::new("vpn", RangeKind::External, "10.0.0.0/12".parse().unwrap(), Source::External));
        let found: Vec<(String, String)> = overlaps(&ranges).iter()
            .map(|o| (ranges[o.inner].describe(), ranges[o.outer].describe())).collect();
        prop_assert_eq!(found, vec![]);
        let supers = supernets(&s);
        for r in ranges.iter().filter(|r| r.source == Source::Planned) {
            prop_assert!(supers.iter().any(|sn| sn.contains(&r.net)), "{} outside the supernets", r.net);
        }
        // Zone subnets lie inside their node range and apart from each other.
        for c in &p.clusters {
            let nodes: Vec<IpNet> = c.of(RangeKind::Nodes).map(|r| r.net).collect();
            let mut subnets = Vec::new();
            for z in &c.zones {
                for net in [z.private, z.public, z.spare] {
                    prop_assert!(nodes.iter().any(|n| n.contains(&net)));
                    subnets.push(OwnedRange::new(&z.zone, RangeKind::Nodes, net, Source::Planned));
                }
            }
            prop_assert_eq!(overlaps(&subnets), vec![]);
        }
    }

    #[test]
    fn replanning_keeps_every_other_cluster_in_place(
        shapes in prop::collection::vec(shape(), 2..30),
        removed in prop::collection::vec(any::<prop::sample::Index>(), 0..5),
        added in prop::collection::vec(shape(), 0..5),
    ) {
        let before: Vec<(usize, Shape)> = shapes.into_iter().enumerate().collect();
        let s1 = spec(SUPERNETS, &before);
        let p1 = plan(&s1, &Topology::build(&s1), &Lock::new()).expect("fits");

        let gone: Vec<usize> = removed.iter().map(|i| i.index(before.len())).collect();
        let mut after: Vec<(usize, Shape)> = before.iter().filter(|(id, _)| !gone.contains(id)).cloned().collect();
        after.extend(added.into_iter().enumerate().map(|(i, s)| (1000 + i, s)));
        let s2 = spec(SUPERNETS, &after);
        let p2 = plan(&s2, &Topology::build(&s2), &p1.lock).expect("fits");

        for c2 in &p2.clusters {
            let Some(c1) = p1.clusters.iter().find(|c| c.name == c2.name) else {
                prop_assert!(c2.ranges.iter().all(|r| r.change != Change::Unchanged || r.source == Source::Declared));
                continue;
            };
            prop_assert_eq!(&c1.ranges.iter().map(|r| r.net).collect::<Vec<_>>(), &c2.ranges.iter().map(|r| r.net).collect::<Vec<_>>());
            prop_assert_eq!(&c1.zones, &c2.zones);
        }
        let mut released = p2.released.clone();
        released.sort();
        let mut expected: Vec<String> = gone.iter().map(|id| format!("c{id}")).collect();
        expected.sort();
        expected.dedup();
        prop_assert_eq!(released, expected);
        prop_assert_eq!(overlaps(&planned_ranges(&p2)), vec![]);
    }
}

#[test]
fn a_full_supernet_names_what_did_not_fit() {
    let shapes: Vec<(usize, Shape)> =
        (0..6).map(|i| (i, Shape { nodes: 100, zones: 3, metal: false, hand_written_pods: false })).collect();
    let s = spec(&["192.168.0.0/16"], &shapes);
    let err = plan(&s, &Topology::build(&s), &Lock::new()).unwrap_err();
    let PlanError::Exhausted { unfit, .. } = &err else { panic!("{err}") };
    assert!(!unfit.is_empty());
    let text = err.to_string();
    assert!(text.starts_with("the supernets have no room for `c"), "{text}");
    assert!(text.contains("IPv4 pods /"), "{text}");
}

#[test]
fn no_supernet_is_a_clear_error() {
    let s = spec(&[], &[(0, Shape { nodes: 3, zones: 3, metal: false, hand_written_pods: false })]);
    let err = plan(&s, &Topology::build(&s), &Lock::new()).unwrap_err();
    assert_eq!(err.to_string(), "cluster `c0` have `auto` ranges but `spec.network.supernets` is empty");
}

#[test]
fn a_hand_written_range_moves_a_locked_one_that_collides() {
    let one = [(0, Shape { nodes: 3, zones: 3, metal: false, hand_written_pods: false })];
    let s1 = spec(&["10.0.0.0/8"], &one);
    let p1 = plan(&s1, &Topology::build(&s1), &Lock::new()).unwrap();
    let taken = p1.clusters[0].of(RangeKind::Pods).next().unwrap().net;

    // A second cluster now claims that range by hand.
    let mut s2 = spec(&["10.0.0.0/8"], &[one[0].clone(), (1, one[0].1.clone())]);
    s2.clusters[1].network.pods = bulkhead_model::spec::RangeSpec::One(taken.to_string());
    let p2 = plan(&s2, &Topology::build(&s2), &p1.lock).unwrap();
    let moved = p2.clusters[0].of(RangeKind::Pods).next().unwrap();
    assert_ne!(moved.net, taken);
    assert!(matches!(&moved.change, Change::Moved { from, .. } if *from == taken));
    assert_eq!(p2.clusters[1].of(RangeKind::Pods).next().unwrap().net, taken);
}
