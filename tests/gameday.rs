//! A game day: `bulkhead blast --live --simulate zone=…` predicts what a
//! zone outage does to a running app; then the zone really goes dark (its
//! nodes stop heartbeating), the real controllers evict and reschedule, and
//! what happened is checked against the prediction.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use bulkhead_test::{TestEnv, TestNamespace, eventually};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::{Value, json};

const APP: &str = "web";

fn deployment() -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": APP},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": APP}},
            "template": {
                "metadata": {"labels": {"app": APP}},
                "spec": {
                    // One per zone to start with; nodes the pod cannot stay on
                    // (NotReady, tainted) drop out of the count, so the
                    // replacement may go to a surviving zone.
                    "topologySpreadConstraints": [{
                        "maxSkew": 1,
                        "topologyKey": "topology.kubernetes.io/zone",
                        "whenUnsatisfiable": "DoNotSchedule",
                        "nodeTaintsPolicy": "Honor",
                        "labelSelector": {"matchLabels": {"app": APP}}
                    }],
                    // Evicted 5 s after its node goes NotReady, not 300.
                    "tolerations": [
                        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5},
                        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}
                    ],
                    "containers": [{"name": APP, "image": "registry.example.com/web:1.0.0"}]
                }
            }
        }
    }))
    .expect("a valid Deployment")
}

/// Game days fail zones of cluster 0: one at a time.
static ZONES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Running, not terminating, pods of the app, by zone.
async fn running_by_zone(pods: &Api<Pod>, zones: &BTreeMap<String, String>) -> Result<BTreeMap<String, u32>, String> {
    running_by_zone_of(pods, zones, APP).await
}

/// Running, not terminating, pods labelled `app=<app>`, by zone.
async fn running_by_zone_of(
    pods: &Api<Pod>,
    zones: &BTreeMap<String, String>,
    app: &str,
) -> Result<BTreeMap<String, u32>, String> {
    let list = pods.list(&ListParams::default().labels(&format!("app={app}"))).await.map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for p in list.items {
        let running = p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
        if !running || p.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let node = p.spec.and_then(|s| s.node_name).ok_or("a running pod without a node")?;
        *out.entry(zones.get(&node).cloned().unwrap_or_default()).or_default() += 1;
    }
    Ok(out)
}

/// Whether a node of `zone` reports Ready false or unknown.
async fn zone_not_ready(nodes: &Api<Node>, node_zones: &BTreeMap<String, String>, zone: &str) -> bool {
    let Ok(list) = nodes.list(&ListParams::default()).await else { return false };
    list.items.iter().any(|n| {
        let name = n.metadata.name.as_deref().unwrap_or_default();
        node_zones.get(name).map(String::as_str) == Some(zone)
            && n.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status != "True"))
    })
}

/// Whether a pod of the app is being deleted (evicted).
async fn any_terminating(pods: &Api<Pod>) -> bool {
    let Ok(list) = pods.list(&ListParams::default().labels(&format!("app={APP}"))).await else { return false };
    list.items.iter().any(|p| p.metadata.deletion_timestamp.is_some())
}

/// Each node of cluster 0 and its zone.
async fn node_zones(client: &kube::Client) -> BTreeMap<String, String> {
    Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| {
            Some((n.metadata.name.clone()?, n.metadata.labels?.get("topology.kubernetes.io/zone")?.clone()))
        })
        .collect()
}

/// What `bulkhead blast --live --simulate zone=<zone>` predicts for `app`
/// (in namespace `ns`) on cluster 0: the whole prediction, and the entry of
/// the app's Deployment.
async fn predict(env: &TestEnv, ns: &str, app: &str, zone: &str) -> (Value, Value) {
    let cluster = env.cluster(0).clone();
    let dir = std::env::temp_dir().join(format!("bulkhead-gameday-{app}-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("apps").join(app)).unwrap();
    let fleet = format!(
        "apiVersion: bulkhead.dev/v1alpha1\nkind: Fleet\nmetadata: {{name: gameday}}\nspec:\n  providers:\n    - {{name: {p}, kind: {k}, regions: [{{name: {r}, zones: [{z}]}}]}}\n  clusters:\n    - name: {c}\n      location: {p}/{r}\n      access: {{kubeconfig: {kc}, context: {ctx}}}\n      controlPlane: {{nodeMonitorGracePeriod: {grace}}}\n      nodePools: [{{name: kwok, count: {n}}}]\n  apps:\n    - name: {app}\n      manifests: apps/{app}\n      namespace: {ns}\n      placement: {{clusters: {{names: [{c}]}}}}\n      sla: {{tier: 1, rto: 5m}}\n",
        p = cluster.provider,
        k = cluster.provider_kind,
        r = cluster.region,
        z = cluster.zones.join(", "),
        c = cluster.name,
        kc = cluster.kubeconfig.display(),
        ctx = cluster.context,
        n = cluster.nodes.len(),
        grace = cluster.node_monitor_grace_period,
    );
    std::fs::write(dir.join("fleet.yaml"), fleet).unwrap();
    let zone_arg = format!("zone={zone}");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_bulkhead"))
            .args(["blast", "--live", "--simulate", &zone_arg, "--output", "json"])
            .arg(&dir)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let prediction: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    let workload = prediction["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["workload"] == format!("Deployment/{ns}/{app}"))
        .unwrap_or_else(|| panic!("the prediction names the Deployment: {prediction}"))
        .clone();
    (prediction, workload)
}

#[tokio::test(flavor = "multi_thread")]
#[allow(clippy::print_stderr)] // the report of the run's phases, shown with --nocapture
async fn a_zone_outage_goes_as_predicted() {
    let Some(env) = TestEnv::require(1) else { return };
    let _one_at_a_time = ZONES.lock().await;
    let cluster = env.cluster(0).clone();
    let failed_zone = cluster.zones[0].clone();
    let client = env.client(0).await;
    let ns = TestNamespace::create(&env, 0, "gameday").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns.name());
    let node_zones = node_zones(&client).await;
    Api::<Deployment>::namespaced(client.clone(), ns.name())
        .create(&PostParams::default(), &deployment())
        .await
        .unwrap();
    let before = eventually("3 pods running, one per zone", Duration::from_secs(60), || async {
        let z = running_by_zone(&pods, &node_zones).await?;
        if z.values().sum::<u32>() == 3 && z.len() == 3 { Ok(z) } else { Err(format!("{z:?}")) }
    })
    .await;

    // The prediction, from the pods as they run.
    let (prediction, web) = predict(&env, ns.name(), APP, &failed_zone).await;
    let predicted_lost = web["lost"].as_u64().unwrap() as u32;
    assert_eq!(predicted_lost, before[&failed_zone], "the prediction counts the pods in the zone");
    assert_eq!(web["rescheduled"], true, "two zones survive: the pods are replaced there");
    let predicted_seconds = web["seconds"].as_u64().unwrap();
    let predicted_earliest = web["earliestSeconds"].as_u64().unwrap_or(predicted_seconds);
    assert!(
        prediction["apps"].as_array().unwrap().iter().all(|a| a["impact"] != "outage"),
        "two of three replicas survive: no outage predicted: {prediction}"
    );

    // The zone goes dark for real.
    let started = Instant::now();
    env.zone_down(0, &failed_zone);
    let nodes: Api<Node> = Api::all(client.clone());
    // When each phase was first seen (node NotReady, pods evicted), for the report of the run.
    let phases: std::sync::Mutex<(Option<Duration>, Option<Duration>)> = std::sync::Mutex::new((None, None));
    let after = eventually("the lost pods to be replaced in other zones", Duration::from_secs(120), || {
        let (nodes, pods, node_zones, failed_zone, phases) = (&nodes, &pods, &node_zones, &failed_zone, &phases);
        async move {
            if phases.lock().unwrap().0.is_none() && zone_not_ready(nodes, node_zones, failed_zone).await {
                phases.lock().unwrap().0 = Some(started.elapsed());
            }
            if phases.lock().unwrap().1.is_none() && any_terminating(pods).await {
                phases.lock().unwrap().1 = Some(started.elapsed());
            }
            let z = running_by_zone(pods, node_zones).await?;
            let elsewhere: u32 = z.iter().filter(|(zone, _)| *zone != failed_zone).map(|(_, n)| n).sum();
            if elsewhere == 3 { Ok(z) } else { Err(format!("{z:?}")) }
        }
    })
    .await;
    let took = started.elapsed();
    let (not_ready, evicted) = *phases.lock().unwrap();
    eprintln!("game day: node NotReady at {not_ready:?}, pods evicted at {evicted:?}, replaced at {took:?}");
    env.zone_up(0, &failed_zone);

    // What happened is what was predicted.
    let replaced = 3 - before.iter().filter(|(z, _)| **z != failed_zone).map(|(_, n)| n).sum::<u32>();
    assert_eq!(replaced, predicted_lost, "as many pods were replaced as were predicted lost");
    assert!(!after.contains_key(&failed_zone), "nothing runs in the dark zone: {after:?}");
    // Both ways, within a stated tolerance: a prediction four times too
    // slow once passed a one-sided check. The tolerance covers the kwok
    // lease's renewal interval, the controller's 2 s monitor period, and the
    // scheduler and kwok starting the replacement.
    // The prediction is a window: the controller taints a failed zone's
    // nodes one at a time (0.1 nodes/s), and which node holds the pod decides.
    let tolerance = GAMEDAY_TOLERANCE_SECONDS;
    let window = predicted_earliest.saturating_sub(tolerance)..=predicted_seconds + tolerance;
    assert!(
        window.contains(&took.as_secs()),
        "recovered in {took:?}; predicted {predicted_earliest}–{predicted_seconds} s (tolerance ±{tolerance} s)"
    );
}

/// How far an observed recovery may be from the predicted one.
const GAMEDAY_TOLERANCE_SECONDS: u64 = 8;

/// The case a game day found (issue 18): 6 replicas over 3 zones under a
/// required zone spread with the default nodeTaintsPolicy (Ignore), and a
/// budget of 4. The failed zone keeps counting as a domain with no pods, so
/// the 2 lost replicas' replacements stay Pending while it is down; the app
/// keeps 4 of 6, which its budget allows. Predicted first, then observed.
#[tokio::test(flavor = "multi_thread")]
async fn a_spread_that_counts_the_dark_zone_leaves_replacements_pending() {
    const SHOP: &str = "shop";
    let Some(env) = TestEnv::require(1) else { return };
    let _one_at_a_time = ZONES.lock().await;
    let cluster = env.cluster(0).clone();
    let failed_zone = cluster.zones[1].clone();
    let client = env.client(0).await;
    let ns = TestNamespace::create(&env, 0, "gameday-spread").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns.name());
    let node_zones = node_zones(&client).await;
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": SHOP},
        "spec": {
            "replicas": 6,
            "selector": {"matchLabels": {"app": SHOP}},
            "template": {
                "metadata": {"labels": {"app": SHOP}},
                "spec": {
                    "topologySpreadConstraints": [{
                        "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                        "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": SHOP}}
                    }],
                    "tolerations": [
                        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5},
                        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}
                    ],
                    "containers": [{"name": SHOP, "image": "registry.example.com/shop:1.0.0"}]
                }
            }
        }
    }))
    .unwrap();
    Api::<Deployment>::namespaced(client.clone(), ns.name()).create(&PostParams::default(), &deployment).await.unwrap();
    let pdb: k8s_openapi::api::policy::v1::PodDisruptionBudget = serde_json::from_value(json!({
        "metadata": {"name": SHOP},
        "spec": {"minAvailable": 4, "selector": {"matchLabels": {"app": SHOP}}}
    }))
    .unwrap();
    Api::namespaced(client.clone(), ns.name()).create(&PostParams::default(), &pdb).await.unwrap();
    eventually("6 pods running, 2 per zone", Duration::from_secs(60), || async {
        let z = running_by_zone_of(&pods, &node_zones, SHOP).await?;
        if z.len() == 3 && z.values().all(|n| *n == 2) { Ok(()) } else { Err(format!("{z:?}")) }
    })
    .await;

    // The prediction.
    let (prediction, shop) = predict(&env, ns.name(), SHOP, &failed_zone).await;
    assert_eq!(shop["lost"], 2, "{shop}");
    assert_eq!(shop["pending"], 2, "predicted: both replacements Pending: {shop}");
    assert_eq!(shop["rescheduled"], false, "{shop}");
    assert!(shop["pendingWhy"].as_str().unwrap().contains("nodeTaintsPolicy: Ignore"), "{shop}");
    assert!(
        prediction["apps"].as_array().unwrap().iter().all(|a| a["app"] != "shop"),
        "4 of 6 keep the budget: the app itself loses nothing it needs: {prediction}"
    );

    // The zone goes dark: the lost pods are evicted, their replacements are
    // created and stay Pending for as long as the zone is down.
    env.zone_down(0, &failed_zone);
    let pending = eventually("the replacements to be created", Duration::from_secs(90), || async {
        let list = pods.list(&ListParams::default().labels(&format!("app={SHOP}"))).await.map_err(|e| e.to_string())?;
        let pending: Vec<Pod> = list
            .items
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending"))
            .collect();
        if pending.len() == 2 { Ok(pending) } else { Err(format!("{} pending", pending.len())) }
    })
    .await;
    // Well past any reschedule the scheduler would do: still Pending, for
    // the reason predicted, and the other 4 keep running.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let list = pods.list(&ListParams::default().labels(&format!("app={SHOP}"))).await.unwrap();
    let still: Vec<&Pod> = list
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending"))
        .collect();
    let message: String = still
        .iter()
        .flat_map(|p| p.status.iter().flat_map(|s| s.conditions.iter().flatten()))
        .filter_map(|c| c.message.clone())
        .collect::<Vec<_>>()
        .join("; ");
    let running = running_by_zone_of(&pods, &node_zones, SHOP).await.unwrap();
    env.zone_up(0, &failed_zone);
    assert_eq!(still.len(), pending.len(), "the replacements stayed Pending while the zone was down");
    assert!(message.contains("topology spread"), "the scheduler's reason is the spread: {message}");
    assert_eq!(running.values().sum::<u32>(), 4, "4 of 6 keep running, as the budget allows: {running:?}");
    assert!(!running.contains_key(&failed_zone), "{running:?}");
}
