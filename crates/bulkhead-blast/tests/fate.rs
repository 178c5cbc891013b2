//! What becomes of the replicas a zone failure takes, for each controller
//! and for capacity, worked out on a live cluster's shape (the game days in
//! tests/gameday.rs check the same cases against the real controllers).

use std::collections::BTreeMap;

use bulkhead_blast::{Fate, Site, analyze, app_infos, fleet_domains, live_exposure};
use bulkhead_model::Topology;
use bulkhead_model::spec::{DomainLevel, FleetFile};
use bulkhead_workload::{ClusterNodes, LiveNode, LivePod, Object, Origin, Resources, Source};
use serde_json::{Value, json};

const ZONES: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];

fn fleet() -> FleetFile {
    serde_json::from_value(json!({
        "apiVersion": "bulkhead.dev/v1alpha1", "kind": "Fleet", "metadata": {"name": "t"},
        "spec": {
            "providers": [{"name": "aws", "kind": "aws", "regions": [{"name": "us-east-1", "zones": ZONES}]}],
            "clusters": [{"name": "prod", "location": "aws/us-east-1", "controlPlane": {"managed": true},
                          "nodePools": [{"name": "general", "count": 6}]}],
            "apps": [{"name": "api", "manifests": "apps/api", "placement": {"clusters": {"names": ["prod"]}}, "sla": {"tier": 1}}],
        }
    }))
    .unwrap()
}

/// Node i: `n{i}` in zone i % 3, 8 CPUs and 32 GiB.
fn nodes() -> Vec<LiveNode> {
    (0..6)
        .map(|i| LiveNode {
            name: format!("n{i}"),
            labels: BTreeMap::from([("topology.kubernetes.io/zone".to_string(), ZONES[i % 3].to_string())]),
            taints: Vec::new(),
            ready: true,
            allocatable: Resources { cpu_milli: 8000, memory: 32 << 30 },
        })
        .collect()
}

fn pod(app: &str, node: usize, cpu_milli: u64, priority: i32) -> LivePod {
    LivePod {
        namespace: "api".into(),
        labels: BTreeMap::from([("app".to_string(), app.to_string())]),
        node: format!("n{node}"),
        requests: Resources { cpu_milli, memory: 0 },
        priority,
    }
}

/// The fate of `workload` (its pods `pods`, beside `others`) when zone b fails.
fn zone_b(workload: Value, pods: Vec<LivePod>) -> Fate {
    let file = fleet();
    let topology = Topology::build(&file.spec);
    let live = nodes();
    let cluster_nodes = ClusterNodes::from_live(&file.spec.clusters[0], &live);
    let object = Object::new(Source::Json(&workload), None, Origin::Live { cluster: "prod".into() });
    let objects = [&object];
    let w = object.workload().unwrap();
    let e = live_exposure(0, ("aws".into(), "us-east-1".into()), &objects, &w, &cluster_nodes, &pods).unwrap();
    let sites: Vec<(String, String, Site, u32)> = live
        .iter()
        .map(|n| {
            ("prod".into(), n.name.clone(), Site { zone: n.labels.values().next().unwrap().clone(), rack: None }, 1)
        })
        .collect();
    let domains = fleet_domains(&file.spec, &topology, &sites, false);
    let blast = analyze(
        &file.spec,
        &topology,
        domains,
        app_infos(&file.spec, &Default::default()),
        vec![e],
        1,
        true,
        &Default::default(),
    );
    let zone = blast.find(DomainLevel::Zone, "us-east-1b").unwrap();
    blast.workload_losses(zone).into_iter().next().expect("the workload loses pods").fate
}

fn workload(kind: &str, replicas: u32, cpu: &str, extra: Value) -> Value {
    let mut spec = json!({"containers": [{"name": "api", "image": "registry.example.com/api:1", "resources": {"requests": {"cpu": cpu}}}]});
    for (k, v) in extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    let mut w = json!({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "api", "namespace": "api"},
        "spec": {"selector": {"matchLabels": {"app": "api"}}, "template": {"metadata": {"labels": {"app": "api"}}, "spec": spec}}});
    if kind != "DaemonSet" {
        w["spec"]["replicas"] = json!(replicas);
        w["spec"]["serviceName"] = json!("api");
    }
    w
}

#[test]
fn daemon_set_pods_stay_with_their_nodes() {
    let fate = zone_b(workload("DaemonSet", 0, "100m", json!({})), (0..6).map(|n| pod("api", n, 100, 0)).collect());
    assert_eq!((fate.lost, fate.replaced, fate.pending, fate.stranded), (2, 0, 0, 2));
    assert!(fate.decided_by.iter().any(|d| d == "DaemonSet"), "{fate:?}");
}

#[test]
fn a_stateful_sets_pod_waits_for_its_node() {
    let fate = zone_b(workload("StatefulSet", 3, "100m", json!({})), (0..3).map(|n| pod("api", n, 100, 0)).collect());
    assert_eq!((fate.lost, fate.stranded), (1, 1));
    assert!(fate.why.unwrap().contains("Terminating"));
}

#[test]
fn requests_the_survivors_cannot_hold_stay_pending_unless_preemption_makes_room() {
    // One 5-CPU pod per node: the survivors have 3 CPUs free each.
    let pods: Vec<LivePod> = (0..6).map(|n| pod("api", n, 5000, 0)).collect();
    let fate = zone_b(workload("Deployment", 6, "5", json!({})), pods);
    assert_eq!((fate.lost, fate.replaced, fate.pending), (2, 0, 2));
    assert!(fate.why.as_deref().unwrap().starts_with("Insufficient cpu"), "{fate:?}");

    // A workload above a filler of lower priority that holds the room.
    let mut pods: Vec<LivePod> = (0..3).map(|n| pod("api", n, 4000, 1000)).collect();
    pods.extend((0..6).map(|n| pod("filler", n, 4000, 0)));
    pods.extend((3..6).map(|n| pod("filler", n, 4000, 0)));
    let fate = zone_b(workload("Deployment", 3, "4", json!({})), pods);
    assert_eq!((fate.lost, fate.replaced, fate.pending), (1, 1, 0), "{fate:?}");
    assert!(fate.decided_by.iter().any(|d| d.contains("preemption")), "{fate:?}");
}
