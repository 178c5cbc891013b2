//! The test environment itself, end to end: the real scheduler spreads a
//! Deployment over three zones of fake nodes, and a client survives its API
//! server being killed and started again.
//!
//! This file is a test binary of its own because it kills an API server:
//! cargo runs test binaries one after another, so no other test sees the
//! outage.

use std::collections::BTreeSet;
use std::time::Duration;

use bulkhead_test::{TestEnv, TestNamespace, eventually};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::json;

fn spread_deployment() -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "topologySpreadConstraints": [{
                        "maxSkew": 1,
                        "topologyKey": "topology.kubernetes.io/zone",
                        "whenUnsatisfiable": "DoNotSchedule",
                        "labelSelector": {"matchLabels": {"app": "web"}}
                    }],
                    "containers": [{"name": "web", "image": "nginx:1.27"}]
                }
            }
        }
    }))
    .expect("a valid Deployment")
}

/// The zones of the running pods, once all `want` pods run.
async fn running_zones(pods: &Api<Pod>, nodes: &Api<Node>, want: usize) -> Result<BTreeSet<String>, String> {
    let list = pods.list(&ListParams::default().labels("app=web")).await.map_err(|e| e.to_string())?;
    let running: Vec<&Pod> =
        list.items.iter().filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")).collect();
    if running.len() != want {
        return Err(format!("{} of {want} pods running", running.len()));
    }
    let mut zones = BTreeSet::new();
    for pod in running {
        let node_name = pod.spec.as_ref().and_then(|s| s.node_name.clone()).ok_or("a running pod without a node")?;
        let node = nodes.get(&node_name).await.map_err(|e| e.to_string())?;
        let zone = node.metadata.labels.unwrap_or_default().get("topology.kubernetes.io/zone").cloned();
        zones.insert(zone.ok_or(format!("node {node_name} has no zone label"))?);
    }
    Ok(zones)
}

#[tokio::test]
async fn pods_spread_over_zones_and_a_client_survives_an_apiserver_restart() {
    let Some(env) = TestEnv::require(1) else { return };
    let cluster = env.cluster(0);
    assert_eq!(cluster.zones.len(), 3, "cluster 0 is the three-zone cloud region");
    let client = env.client(0).await;
    let ns = TestNamespace::create(&env, 0, "smoke").await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns.name());
    let nodes: Api<Node> = Api::all(client.clone());

    deployments.create(&PostParams::default(), &spread_deployment()).await.expect("create the Deployment");
    let zones = eventually("3 pods Running", Duration::from_secs(60), || running_zones(&pods, &nodes, 3)).await;
    let expected: BTreeSet<String> = cluster.zones.iter().cloned().collect();
    assert_eq!(zones, expected, "one pod per zone");

    env.kill(0, "kube-apiserver");
    assert!(pods.list(&ListParams::default()).await.is_err(), "the API server is down");
    env.start(0);

    // The same client, not a new one, reads the same pods again.
    let zones = eventually("the client to recover", Duration::from_secs(60), || running_zones(&pods, &nodes, 3)).await;
    assert_eq!(zones, expected);
}
