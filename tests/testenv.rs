//! `testenv/testenv` itself: it removes only what it created and kills only
//! what is still its own (no servers needed).

use std::process::Command;

use crate::support::{repo_root, scratch};

fn testenv(state: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(repo_root().join("testenv/testenv")).arg("--state").arg(state).args(args).output().expect("runs")
}

/// Regression: `testenv down --state .` would have deleted the checkout.
#[test]
fn down_refuses_a_folder_that_holds_no_test_environment() {
    let dir = scratch("testenv-foreign");
    std::fs::write(dir.join("precious.txt"), "keep me").unwrap();
    let out = testenv(&dir, &["down"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to remove"));
    assert!(dir.join("precious.txt").exists(), "nothing was removed");
    // `up` refuses it too, before building anything.
    let out = testenv(&dir, &["up", "--clusters", "0", "--no-s3"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no test environment"));
    assert!(dir.join("precious.txt").exists());
}

/// Regression: a PID recorded before a reboot may be anyone's by now; `down`
/// kills only processes that still run a test server.
#[test]
fn down_leaves_a_recorded_pid_that_is_no_longer_its_own() {
    let dir = scratch("testenv-stale-pid");
    let mut stranger = Command::new("sleep").arg("60").spawn().unwrap();
    std::fs::write(dir.join(".bulkhead-testenv"), "").unwrap();
    let env = serde_json::json!({
        "state": dir, "bin": dir.join("no-servers-here"), "clusters": [
            {"name": "gone", "pids": {}, "zoneKwok": {"z": {"pid": stranger.id()}}}
        ], "s3": null
    });
    std::fs::write(dir.join("env.json"), env.to_string()).unwrap();
    let out = testenv(&dir, &["down"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("left alone"), "{stderr}");
    assert!(stranger.try_wait().unwrap().is_none(), "the stranger still runs");
    assert!(!dir.exists(), "its own folder is removed");
    stranger.kill().unwrap();
    let _ = stranger.wait();
}

/// `testenv fleet DIR` writes a fleet Bulkhead accepts, for whatever runs
/// (here a recorded environment of one cluster and S3; no server needed).
#[test]
fn fleet_writes_a_valid_fleet_for_the_environment() {
    let state = scratch("testenv-fleet-state");
    std::fs::write(state.join(".bulkhead-testenv"), "").unwrap();
    let env = serde_json::json!({
        "state": state, "bin": state.join("bin"), "kubeconfig": state.join("kubeconfig"),
        "clusters": [{
            "name": "aws-use1-prod", "provider": "aws", "providerKind": "aws", "region": "us-east-1",
            "zones": ["us-east-1a", "us-east-1b"], "racks": [], "podCidr": "10.11.0.0/16",
            "serviceCidr": "10.12.0.0/20", "kubeconfig": state.join("aws.kubeconfig"), "context": "aws-use1-prod",
            "nodeMonitorGracePeriod": "10s", "nodes": ["n1", "n2"], "pids": {}
        }],
        "s3": {"endpoint": "http://127.0.0.1:9", "bucket": "bulkhead", "region": "us-east-1",
               "accessKey": "k", "secretKey": "s", "pid": 0, "ports": {}}
    });
    std::fs::write(state.join("env.json"), env.to_string()).unwrap();
    let out_dir = scratch("testenv-fleet-out");
    let out = testenv(&state, &["fleet", out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("AWS_ACCESS_KEY_ID=k"), "S3 keys to export");
    let fleet = std::fs::read_to_string(out_dir.join("fleet.yaml")).unwrap();
    assert!(fleet.contains("storageClasses:") && fleet.contains("passwordFile: repo-password"), "{fleet}");
    assert!(std::fs::read_to_string(out_dir.join("repo-password")).unwrap().trim().len() >= 32);
    let validate = crate::support::bulkhead().args(["validate", out_dir.to_str().unwrap()]).output().unwrap();
    assert!(
        validate.status.success(),
        "{}{}",
        String::from_utf8_lossy(&validate.stdout),
        String::from_utf8_lossy(&validate.stderr)
    );
}
