//! `bulkhead_kube::review` against a real API server: a service account's
//! token is authenticated by TokenReview (and a made-up one refused), and
//! SubjectAccessReview lets the cluster's RBAC decide which of Bulkhead's
//! verbs each account may use, in which namespace. The base of the API's
//! access control (issue 31).

use bulkhead_kube::review::{Authentication, Authorization, Identity, Request, authenticate, authorize};
use bulkhead_test::{TestEnv, TestNamespace};
use serde_json::json;

use crate::support::service_account_with_token;

fn request(verb: &str, resource: &str, namespace: &str) -> Request {
    Request { verb: verb.into(), resource: resource.into(), name: None, namespace: Some(namespace.into()) }
}

async fn identity(cluster: &bulkhead_kube::Cluster, token: &str) -> Identity {
    match authenticate(cluster, token, &[]).await.unwrap() {
        Authentication::Authenticated(who) => who,
        Authentication::Refused(why) => panic!("a token the server issued was refused: {why}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_are_reviewed_and_rbac_decides_bulkheads_verbs() {
    let Some(env) = TestEnv::require(1) else { return };
    let ns = TestNamespace::create(&env, 0, "review").await;
    let client = env.client(0).await;
    let read = json!([{"apiGroups": ["bulkhead.dev"], "resources": ["apps", "jobs"], "verbs": ["get", "list"]}]);
    let act = json!([
        {"apiGroups": ["bulkhead.dev"], "resources": ["apps", "jobs"], "verbs": ["get", "list"]},
        {"apiGroups": ["bulkhead.dev"], "resources": ["backups"], "verbs": ["create"]}
    ]);
    let reader = service_account_with_token(&client, ns.name(), "reader", read).await;
    let operator = service_account_with_token(&client, ns.name(), "operator", act).await;
    let c = env.cluster(0);
    let cluster = bulkhead_kube::connect_kubeconfig(&c.name, &c.kubeconfig, Some(&c.context)).await.unwrap();

    let who = identity(&cluster, &reader).await;
    assert_eq!(who.username, format!("system:serviceaccount:{}:reader", ns.name()));
    assert!(who.groups.contains(&format!("system:serviceaccounts:{}", ns.name())), "{:?}", who.groups);
    match authenticate(&cluster, "not-a-token", &[]).await.unwrap() {
        Authentication::Refused(why) => assert!(!why.is_empty()),
        Authentication::Authenticated(who) => panic!("a made-up token passed as {}", who.username),
    }
    // A token for another audience is refused too.
    let other = authenticate(&cluster, &reader, &["someone-else".into()]).await.unwrap();
    assert!(matches!(other, Authentication::Refused(_)), "{other:?}");

    assert_eq!(authorize(&cluster, &who, &request("list", "apps", ns.name())).await.unwrap(), Authorization::Allowed);
    let denied = authorize(&cluster, &who, &request("create", "backups", ns.name())).await.unwrap();
    assert!(matches!(denied, Authorization::Denied(_)), "the reader may not back up: {denied:?}");
    // Its Role holds in its namespace alone.
    let elsewhere = authorize(&cluster, &who, &request("list", "apps", "kube-system")).await.unwrap();
    assert!(matches!(elsewhere, Authorization::Denied(_)), "{elsewhere:?}");

    let op = identity(&cluster, &operator).await;
    assert_eq!(
        authorize(&cluster, &op, &request("create", "backups", ns.name())).await.unwrap(),
        Authorization::Allowed
    );
    let delete = authorize(&cluster, &op, &request("delete", "backups", ns.name())).await.unwrap();
    assert!(matches!(delete, Authorization::Denied(_)), "{delete:?}");
}
