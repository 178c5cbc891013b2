//! A replica added outside a failed domain never makes that failure worse,
//! whatever the placement, the budget or the quorum.

use std::collections::BTreeMap;

use bulkhead_blast::{Impact, Site, analyze, app_infos, fleet_domains, live_exposure};
use bulkhead_model::Topology;
use bulkhead_model::spec::FleetFile;
use bulkhead_workload::{ClusterNodes, LiveNode, LivePod, Object, Origin, Resources, Source};
use proptest::prelude::*;
use serde_json::json;

const ZONES: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];
const NODES: usize = 6; // two per zone

fn fleet() -> FleetFile {
    serde_json::from_value(json!({
        "apiVersion": "bulkhead.dev/v1alpha1",
        "kind": "Fleet",
        "metadata": {"name": "t"},
        "spec": {
            "providers": [{"name": "aws", "kind": "aws", "regions": [{"name": "us-east-1", "zones": ZONES}]}],
            "clusters": [{"name": "prod", "location": "aws/us-east-1", "controlPlane": {"managed": true},
                          "nodePools": [{"name": "general", "count": NODES}]}],
            "apps": [{"name": "api", "manifests": "apps/api", "placement": {"clusters": {"names": ["prod"]}}, "sla": {"tier": 1}}],
        }
    }))
    .unwrap()
}

fn node(i: usize) -> (String, String) {
    (format!("n{i}"), ZONES[i % 3].to_string())
}

/// The impact of every single failure, by domain name.
fn impacts(pods: &[usize], budget: &Option<serde_json::Value>, quorum: bool) -> BTreeMap<String, Impact> {
    let file = fleet();
    let topology = Topology::build(&file.spec);
    let cluster = &file.spec.clusters[0];
    let kind = if quorum { "StatefulSet" } else { "Deployment" };
    let image = if quorum { "quay.io/coreos/etcd:v3.6.16" } else { "registry.example.com/api:1.0.0" };
    let workload = json!({
        "apiVersion": "apps/v1", "kind": kind,
        "metadata": {"name": "api", "namespace": "api"},
        "spec": {"replicas": pods.len(), "serviceName": "api", "selector": {"matchLabels": {"app": "api"}},
                 "template": {"metadata": {"labels": {"app": "api"}}, "spec": {"containers": [{"name": "api", "image": image}]}}}
    });
    let mut objects = vec![Object::new(Source::Json(&workload), None, Origin::Live { cluster: "prod".into() })];
    let pdb = budget.as_ref().map(|spec| {
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "api", "namespace": "api"},
               "spec": spec.as_object().unwrap().clone().into_iter().chain([("selector".to_string(), json!({"matchLabels": {"app": "api"}}))]).collect::<serde_json::Map<_, _>>()})
    });
    if let Some(p) = &pdb {
        objects.push(Object::new(Source::Json(p), None, Origin::Live { cluster: "prod".into() }));
    }
    let live_nodes: Vec<LiveNode> = (0..NODES)
        .map(|i| {
            let (name, zone) = node(i);
            let labels = BTreeMap::from([("topology.kubernetes.io/zone".to_string(), zone)]);
            LiveNode { name, labels, taints: Vec::new(), ready: true, allocatable: Resources::default() }
        })
        .collect();
    let nodes = ClusterNodes::from_live(cluster, &live_nodes);
    let running: Vec<LivePod> = pods
        .iter()
        .map(|&i| LivePod {
            namespace: "api".to_string(),
            labels: BTreeMap::from([("app".to_string(), "api".to_string())]),
            node: node(i).0,
            requests: Resources::default(),
            priority: 0,
        })
        .collect();
    let refs: Vec<&Object<'_>> = objects.iter().collect();
    let w = objects[0].workload().unwrap();
    let e = live_exposure(0, ("aws".into(), "us-east-1".into()), &refs, &w, &nodes, &running).unwrap();
    let sites: Vec<(String, String, Site, u32)> =
        (0..NODES).map(|i| ("prod".into(), node(i).0, Site { zone: node(i).1, rack: None }, 1)).collect();
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
    let mut out: BTreeMap<String, Impact> = blast.domains.iter().map(|d| (d.name.clone(), Impact::Ok)).collect();
    for c in blast.singles() {
        out.insert(blast.domains[c.failed[0]].name.clone(), c.outcome.impact);
    }
    out
}

fn budget() -> impl Strategy<Value = Option<serde_json::Value>> {
    prop_oneof![
        Just(None),
        (0i32..3).prop_map(|k| Some(json!({"maxUnavailable": k}))),
        (1i32..4).prop_map(|k| Some(json!({"minAvailable": k}))),
        (1u32..100).prop_map(|p| Some(json!({"minAvailable": format!("{p}%")}))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_replica_outside_the_failed_domain_never_hurts(
        pods in prop::collection::vec(0..NODES, 1..7),
        extra in 0..NODES,
        budget in budget(),
        quorum in any::<bool>(),
    ) {
        let before = impacts(&pods, &budget, quorum);
        let mut more = pods.clone();
        more.push(extra);
        let after = impacts(&more, &budget, quorum);
        let (extra_node, extra_zone) = node(extra);
        for (domain, impact) in &after {
            // Domains that hold the new replica are another question.
            let holds_it = domain == "aws" || domain == "aws/us-east-1" || domain == "prod"
                || domain.ends_with(&format!("/{extra_zone}")) || domain == &format!("prod/{extra_node}");
            if holds_it {
                continue;
            }
            prop_assert!(impact <= &before[domain], "{domain}: {:?} became {impact:?} with a replica on {extra_node}", before[domain]);
        }
    }
}
