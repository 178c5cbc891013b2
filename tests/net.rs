use insta_cmd::assert_cmd_snapshot;
use serde_json::Value;

use crate::support::{bulkhead, copy_dir, repo_root, scratch};

/// Every kind of network mistake, with both owners and the shared range.
#[test]
fn net_check_reports_conflicts() {
    let mut cmd = bulkhead();
    cmd.args(["net", "check", "tests/fleets/net/conflicts"]);
    assert_cmd_snapshot!(cmd);
}

/// The example's lock is current: planning again changes nothing.
#[test]
fn net_plan_example_is_locked() {
    let mut cmd = bulkhead();
    cmd.args(["net", "plan", "examples/multicloud", "--locked"]);
    assert_cmd_snapshot!(cmd);
}

fn plan_json(dir: &std::path::Path, extra: &[&str]) -> (Option<i32>, Value) {
    let out = bulkhead().args(["net", "plan"]).arg(dir).args(["--output", "json"]).args(extra).output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), json)
}

fn ranges_of(plan: &Value, cluster: &str) -> Vec<String> {
    plan["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == cluster)
        .map(|c| c["ranges"].as_array().unwrap().iter().map(|r| r["net"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// Adding a cluster moves nobody, `--locked` catches the stale lock, and
/// removing a cluster releases its ranges without moving the rest.
#[test]
fn net_plan_keeps_ranges_as_clusters_come_and_go() {
    let dir = scratch("net-plan-lifecycle");
    copy_dir(&repo_root().join("examples/multicloud"), &dir);
    std::fs::remove_file(dir.join("net.lock.json")).unwrap();

    let (code, first) = plan_json(&dir, &[]);
    assert_eq!(code, Some(0));
    assert!(dir.join("net.lock.json").exists());
    let (code, _) = plan_json(&dir, &["--locked"]);
    assert_eq!(code, Some(0), "a fresh lock is current");

    // A new DR cluster in the same GCP region.
    let fleet = std::fs::read_to_string(dir.join("fleet.yaml")).unwrap();
    let added = fleet.replace(
        "  apps:\n",
        "    - name: gcp-euw4-dr2\n      location: gcp/europe-west4\n      nodePools: [{name: standby, count: 3}]\n  apps:\n",
    );
    std::fs::write(dir.join("fleet.yaml"), &added).unwrap();
    let (code, _) = plan_json(&dir, &["--locked"]);
    assert_eq!(code, Some(1), "--locked refuses a lock that must change");
    let (code, second) = plan_json(&dir, &[]);
    assert_eq!(code, Some(0));
    for c in ["aws-use1-prod", "metal-ams1-prod", "gcp-euw4-dr"] {
        assert_eq!(ranges_of(&first, c), ranges_of(&second, c), "{c} kept its ranges");
    }
    assert_eq!(ranges_of(&second, "gcp-euw4-dr2").len(), 6, "IPv4 and IPv6 nodes, pods, services");

    // The new cluster goes again: its space is released, nobody else moves.
    std::fs::write(dir.join("fleet.yaml"), &fleet).unwrap();
    let (code, third) = plan_json(&dir, &[]);
    assert_eq!(code, Some(0), "{third}");
    assert_eq!(third["released"], serde_json::json!(["gcp-euw4-dr2"]));
    for c in ["aws-use1-prod", "metal-ams1-prod", "gcp-euw4-dr"] {
        assert_eq!(ranges_of(&first, c), ranges_of(&third, c), "{c} kept its ranges");
    }
    assert!(!std::fs::read_to_string(dir.join("net.lock.json")).unwrap().contains("gcp-euw4-dr2"));
}

/// One Terraform variables file per cluster, with the community VPC module's names.
#[test]
fn net_plan_writes_terraform_variables() {
    let out_dir = scratch("net-tfvars");
    let out = bulkhead()
        .args(["net", "plan", "examples/multicloud", "--dry-run", "--tfvars"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let vars: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("aws-use1-prod.auto.tfvars.json")).unwrap())
            .unwrap();
    assert_eq!(vars["vpc_cidr"], "10.10.0.0/16");
    assert_eq!(vars["azs"], serde_json::json!(["us-east-1a", "us-east-1b", "us-east-1c"]));
    assert_eq!(vars["private_subnets"][0], "10.10.0.0/19");
    assert_eq!(vars["pod_cidrs"], serde_json::json!(["10.11.0.0/16"]));
    assert_eq!(vars["cluster_id"], 1);
    let metal: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("metal-ams1-prod.auto.tfvars.json")).unwrap())
            .unwrap();
    assert_eq!(metal["load_balancer_cidrs"].as_array().unwrap().len(), 2, "a MetalLB pool per family");
    // Regression: a dual-stack cluster listed each zone once per family.
    for file in std::fs::read_dir(&out_dir).unwrap() {
        let vars: Value = serde_json::from_str(&std::fs::read_to_string(file.unwrap().path()).unwrap()).unwrap();
        let azs: Vec<&str> = vars["azs"].as_array().unwrap().iter().map(|z| z.as_str().unwrap()).collect();
        let unique: std::collections::BTreeSet<&str> = azs.iter().copied().collect();
        assert_eq!(azs.len(), unique.len(), "{}: azs repeat a zone: {azs:?}", vars["cluster_name"]);
    }
}

/// A supernet that is too small names every range that did not fit; exit 2.
#[test]
fn net_plan_full_supernet_is_bad_input() {
    let dir = scratch("net-full");
    copy_dir(&repo_root().join("examples/multicloud"), &dir);
    std::fs::remove_file(dir.join("net.lock.json")).unwrap();
    let fleet = std::fs::read_to_string(dir.join("fleet.yaml")).unwrap();
    std::fs::write(
        dir.join("fleet.yaml"),
        fleet.replace("supernets: [10.0.0.0/8, fd00:b01c::/48]", "supernets: [10.0.0.0/20]"),
    )
    .unwrap();
    let out = bulkhead().args(["net", "plan"]).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("error[net-plan-failed]: the supernets have no room for `metal-ams1-prod`'s IPv4"), "{text}");
    assert!(text.contains("fleet.yaml:14:"), "points at the supernets: {text}");
    assert!(!dir.join("net.lock.json").exists(), "nothing written on failure");
}

/// Ranges from an IPAM export are checked too; a malformed line is bad input.
#[test]
fn net_check_imported_ranges() {
    let dir = scratch("net-ranges");
    let file = dir.join("prefixes.csv");
    std::fs::write(&file, "prefix,owner\n10.11.128.0/17,legacy-datacenter\n172.31.0.0/16,partner\n").unwrap();
    let out = bulkhead().args(["net", "check", "examples/multicloud", "--ranges"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("external range `legacy-datacenter` 10.11.128.0/17 (imported) lies inside cluster `aws-use1-prod`'s pods range 10.11.0.0/16"),
        "{text}"
    );

    // Regression: a line reading `cidr,…` was skipped as a header anywhere in the file.
    std::fs::write(&file, "10.11.128.0/17,legacy\ncidr,owner\n").unwrap();
    let out = bulkhead().args(["net", "check", "examples/multicloud", "--ranges"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("`cidr` is not a CIDR"));

    std::fs::write(&file, "10.11.128.0/17,legacy\n10.300.0.0/16,typo\n").unwrap();
    let out = bulkhead().args(["net", "check", "examples/multicloud", "--ranges"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("`10.300.0.0/16` is not a CIDR"));
}

/// `--live` reads what the real clusters use: clean at first; then a node of
/// the bare-metal cluster is given a pod range inside the AWS cluster's, and
/// the check names both clusters and the shared range.
#[tokio::test(flavor = "multi_thread")]
async fn net_check_live_finds_a_pod_range_used_twice() {
    use k8s_openapi::api::core::v1::Node;
    use kube::api::{DeleteParams, PostParams};

    let Some(env) = bulkhead_test::TestEnv::require(3) else { return };
    let dir = scratch("net-live");
    crate::support::testenv_fleet(&env, &dir);
    let run = |dir: std::path::PathBuf| async move {
        tokio::task::spawn_blocking(move || {
            bulkhead().args(["net", "check", "--live", "--fail-on", "warning"]).arg(&dir).output().unwrap()
        })
        .await
        .unwrap()
    };
    let clean = run(dir.clone()).await;
    let text = String::from_utf8_lossy(&clean.stdout).into_owned();
    assert_eq!(clean.status.code(), Some(0), "{text}");
    assert!(text.contains("(with live state)"), "{text}");

    // Inside aws-use1-prod's pods (10.11.0.0/16), outside metal's own (10.21.0.0/16).
    let (aws, metal) = (env.cluster(0), env.cluster(1));
    let stolen = format!("{}.250.0/24", aws.pod_cidr.trim_end_matches(".0.0/16"));
    let node: Node = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "misconfigured-0", "labels": {"topology.kubernetes.io/zone": metal.zones[0]}},
        "spec": {"podCIDR": stolen, "podCIDRs": [stolen], "taints": [{"key": "bulkhead.dev/test", "effect": "NoSchedule"}]},
    }))
    .unwrap();
    let nodes: kube::Api<Node> = kube::Api::all(env.client(1).await);
    let _ = nodes.delete("misconfigured-0", &DeleteParams::default()).await;
    nodes.create(&PostParams::default(), &node).await.expect("create the node");

    let found = run(dir.clone()).await;
    nodes.delete("misconfigured-0", &DeleteParams::default()).await.expect("delete the node");
    let text = String::from_utf8_lossy(&found.stdout).into_owned();
    assert_eq!(found.status.code(), Some(1), "{text}");
    let overlap = format!(
        "error[range-overlap]: cluster `{}`'s node pods range {stolen} (live, node misconfigured-0) lies inside cluster `{}`'s pods range {}",
        metal.name, aws.name, aws.pod_cidr
    );
    assert!(text.contains(&overlap), "{text}");
    assert!(text.contains("warning[range-drift]"), "{text}");
}
