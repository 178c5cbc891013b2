//! `access: {inCluster: true}`: a cluster reached as a pod reaches it, with
//! the service account's token and CA at the fixed paths kube reads and the
//! API server from `KUBERNETES_SERVICE_HOST`/`_PORT`. The test gives a
//! process those paths in a mount namespace of its own (a tmpfs over /run),
//! holding a token the real API server issued for a real service account,
//! and no kubeconfig at all.

use std::path::Path;
use std::process::Output;

use bulkhead_test::{TestEnv, TestNamespace};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Api;
use serde_json::json;

use crate::backup::{PASSWORD, PASSWORD_ENV};
use crate::support::{create_object, one_app_fleet, scratch};

const ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Runs bulkhead with `account` (token, ca.crt, namespace) where a pod has
/// its service account, in a mount namespace nothing else sees.
fn run_in_pod(account: &Path, server: &str, args: &[&str]) -> Option<Output> {
    // `https://127.0.0.1:PORT`, as the test environment writes it.
    let (host, port) = server.trim_start_matches("https://").trim_end_matches('/').rsplit_once(':').unwrap();
    let script = format!(
        "mount -t tmpfs bulkhead-test \"$(readlink -f /var/run)\" && mkdir -p {ACCOUNT_DIR} && cp \"$0\"/* {ACCOUNT_DIR}/ && exec \"$@\""
    );
    let out = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .arg(account)
        .arg(insta_cmd::get_cargo_bin("bulkhead"))
        .args(args)
        .env("KUBERNETES_SERVICE_HOST", host)
        .env("KUBERNETES_SERVICE_PORT", port)
        .env(PASSWORD_ENV, PASSWORD)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    if !out.status.success() && text(&out).contains("unshare failed") {
        bulkhead_test::skip(&format!("cannot make a mount namespace (needs root): {}", text(&out)));
        return None;
    }
    Some(out)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_in_a_pod_uses_its_service_account() {
    let Some(env) = TestEnv::require(1) else { return };
    let ns = TestNamespace::create(&env, 0, "in-cluster").await;
    let client = env.client(0).await;
    create_object(
        &client,
        Some(ns.name()),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"k": "v"}}),
    )
    .await;

    // A service account allowed to read (and so back up) its namespace alone.
    create_object(
        &client,
        Some(ns.name()),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bulkhead"}}),
    )
    .await;
    create_object(
        &client,
        Some(ns.name()),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "bulkhead-admin"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "bulkhead", "namespace": ns.name()}]}),
    )
    .await;
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), ns.name());
    let request = TokenRequest {
        spec: Some(TokenRequestSpec { expiration_seconds: Some(600), ..Default::default() }),
        ..Default::default()
    };
    let issued = accounts.create_token_request("bulkhead", &Default::default(), &request).await.unwrap();
    let token = issued.status.unwrap().token.unwrap();

    let dir = scratch("in-cluster");
    let account = dir.join("account");
    std::fs::create_dir_all(&account).unwrap();
    std::fs::write(account.join("token"), &token).unwrap();
    std::fs::write(account.join("namespace"), ns.name()).unwrap();
    std::fs::write(account.join("ca.crt"), cluster_ca(&env.cluster(0).kubeconfig)).unwrap();

    let c0 = env.cluster(0).name.clone();
    one_app_fleet(&env, &dir, ns.name(), "hourly", "0 * * * *", 2);
    // Cluster 0 reached in-cluster: its kubeconfig line is gone from the fleet.
    let fleet_file = dir.join("fleet.yaml");
    let kubeconfig = env.cluster(0).kubeconfig.display().to_string();
    let fleet: String = std::fs::read_to_string(&fleet_file)
        .unwrap()
        .lines()
        .map(|l| if l.contains(&kubeconfig) { "      access: {inCluster: true}".to_string() } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&fleet_file, fleet + "\n").unwrap();
    let fleet = dir.display().to_string();

    let server = env.cluster(0).server.clone();
    let Some(out) = run_in_pod(&account, &server, &["backup", "create", "--app", "shop", "--output", "json", &fleet])
    else {
        return;
    };
    assert_eq!(out.status.code(), Some(1), "partial: the account may not list everything: {}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let backup = &doc["backups"][0];
    assert_eq!(backup["snapshot"]["hostname"], c0.as_str(), "{doc}");
    assert_eq!(backup["resources"]["configmaps"], 1, "the app's ConfigMap is in the backup: {doc}");
    // What the account may not list is left out and said, under its own name:
    // the process spoke as the service account, not as anyone else.
    let user = format!("system:serviceaccount:{}:bulkhead", ns.name());
    let skipped = backup["skipped"].to_string();
    assert!(skipped.contains(&user) && skipped.contains("namespaces"), "{doc}");

    // The account is what the process has: a namespace it may not read is refused.
    let other = TestNamespace::create(&env, 0, "in-cluster-other").await;
    let fleet_text = std::fs::read_to_string(&fleet_file).unwrap().replace(ns.name(), other.name());
    std::fs::write(&fleet_file, fleet_text).unwrap();
    let out =
        run_in_pod(&account, &server, &["backup", "create", "--app", "shop", "--output", "json", &fleet]).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)));
    let backup = &doc["backups"][0];
    assert!(backup["resources"].get("configmaps").is_none(), "{doc}");
    let configmaps = backup["skipped"].as_array().unwrap().iter().find(|s| s["resource"] == "configmaps");
    assert!(configmaps.is_some_and(|s| s["why"].as_str().unwrap().contains(&user)), "{doc}");

    // Outside a pod: said, with what is missing, exit 2.
    let out = crate::support::bulkhead()
        .args(["backup", "create", "--app", "shop", &fleet])
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env(PASSWORD_ENV, PASSWORD)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not in a pod with a service account"), "{}", text(&out));
}

/// The CA the test cluster's kubeconfig trusts, as PEM.
fn cluster_ca(kubeconfig: &Path) -> Vec<u8> {
    let config = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
    let cluster = config.clusters[0].cluster.as_ref().unwrap();
    if let Some(data) = &cluster.certificate_authority_data {
        use base64::Engine;
        return base64::engine::general_purpose::STANDARD.decode(data).unwrap();
    }
    std::fs::read(cluster.certificate_authority.as_ref().unwrap()).unwrap()
}
