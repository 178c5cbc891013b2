//! `bulkhead backup show | diff | forget | prune` on a real repository of
//! a real cluster's backups: an app is backed up three times while its
//! objects change; the snapshots show those changes, the policy's keep
//! rules forget the oldest, prune frees its data and stock restic still
//! checks the repository whole.

use bulkhead_test::{TestEnv, TestNamespace};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use crate::backup::{PASSWORD_ENV, json_of, run};
use crate::support::{create_object, one_app_fleet, scratch, testenv_fleet_with};

fn args(words: &[&str], fleet: &str) -> Vec<String> {
    words.iter().map(|w| w.to_string()).chain([fleet.to_string()]).collect()
}

async fn json(words: &[&str], fleet: &str) -> Value {
    let out = run(args(words, fleet)).await;
    assert!(
        out.status.success(),
        "{words:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    json_of(&out)
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshots_show_their_changes_and_the_policy_keeps_the_newest() {
    let Some(env) = TestEnv::require(1) else { return };
    let ns = TestNamespace::create(&env, 0, "retention").await;
    let client = env.client(0).await;
    let cm = |name: &str, value: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": value}});
    create_object(&client, Some(ns.name()), cm("a", "1")).await;
    create_object(&client, Some(ns.name()), cm("b", "1")).await;
    let dir = scratch("backup-retention");
    let c0 = env.cluster(0).name.clone();
    one_app_fleet(&env, &dir, ns.name(), "nightly", "0 2 * * *", 2);
    let fleet = dir.display().to_string();
    let backup = || json(&["backup", "create", "--app", "shop", "--output", "json"], &fleet);
    let id = |doc: &Value| doc["backups"][0]["snapshot"]["id"].as_str().unwrap().to_string();

    // Three backups: a changes and c comes, then b goes. a's new value has
    // the old one's length: regression, rustic's parent detection took a
    // file of the same size (and no times) as unchanged and kept the old content.
    let first = id(&backup().await);
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
    cms.patch("a", &PatchParams::default(), &Patch::Merge(json!({"data": {"k": "2"}}))).await.unwrap();
    create_object(&client, Some(ns.name()), cm("c", "1")).await;
    let second = id(&backup().await);
    cms.delete("b", &Default::default()).await.unwrap();
    let third = id(&backup().await);

    let shown = json(&["backup", "show", "latest", "--app", "shop", "--objects", "--output", "json"], &fleet).await;
    assert_eq!(shown["snapshot"]["id"], third.as_str(), "{shown}");
    assert_eq!(shown["resources"]["configmaps"], 2, "a and c: {shown}");
    let names: Vec<&str> = shown["objects"].as_array().unwrap().iter().filter_map(|o| o["name"].as_str()).collect();
    assert!(names.contains(&"a") && names.contains(&"c") && !names.contains(&"b"), "{shown}");

    // What people read, snapshotted (ids, times, sizes and the test's
    // namespace filtered out).
    let printed = |words: &'static [&'static str], extra: Vec<String>| {
        let fleet = fleet.clone();
        async move {
            let all: Vec<String> = words.iter().map(|w| w.to_string()).chain(extra).chain([fleet]).collect();
            let out = run(all).await;
            assert!(out.status.success(), "{words:?}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
    };
    let list = printed(&["backup", "list"], vec![]).await;
    let show = printed(&["backup", "show", "latest", "--app", "shop", "--objects"], vec![]).await;
    let diff_human = printed(&["backup", "diff"], vec![first.clone(), second.clone()]).await;
    let forget_plan = printed(&["backup", "forget", "--policy", "nightly", "--dry-run"], vec![]).await;
    let restore_plan =
        printed(&["restore", "--from", "latest", "--app", "shop", "--dry-run", "--to"], vec![c0.clone()]).await;
    let filters = crate::support::recovery_filters(ns.name());
    let filters = || filters.iter().map(|(regex, with)| (regex.as_str(), with.as_str()));
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!("backup_list", list);
        insta::assert_snapshot!("backup_show_objects", show);
        insta::assert_snapshot!("backup_diff", diff_human);
        insta::assert_snapshot!("backup_forget_dry_run", forget_plan);
        insta::assert_snapshot!("restore_dry_run", restore_plan);
    });

    let diff = json(&["backup", "diff", &first, &second, "--output", "json"], &fleet).await;
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!("backup_diff_json", serde_json::to_string_pretty(&diff).unwrap());
    });
    let changes: Vec<(String, String, Value)> = diff["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (c["name"].as_str().unwrap().to_string(), c["change"].as_str().unwrap().to_string(), c["fields"].clone())
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("a".to_string(), "changed".to_string(), json!(["data.k"])),
            ("c".to_string(), "added".to_string(), Value::Null)
        ],
        "{diff}"
    );
    let diff = json(&["backup", "diff", &second, "latest", "--app", "shop", "--output", "json"], &fleet).await;
    assert_eq!(diff["changes"].as_array().unwrap().len(), 1, "{diff}");
    assert_eq!(
        (diff["changes"][0]["name"].as_str(), diff["changes"][0]["change"].as_str()),
        (Some("b"), Some("removed"))
    );

    // The policy keeps the last 2: a dry run names the first, then it goes.
    let plan = json(&["backup", "forget", "--policy", "nightly", "--dry-run", "--output", "json"], &fleet).await;
    let removed = |doc: &Value| -> Vec<String> {
        doc["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["keep"] == false)
            .map(|d| d["snapshot"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(removed(&plan), std::slice::from_ref(&first), "{plan}");
    let listed = json(&["backup", "list", "--output", "json"], &fleet).await;
    assert_eq!(listed["snapshots"].as_array().unwrap().len(), 3, "a dry run removes nothing");
    let done = json(&["backup", "forget", "--policy", "nightly", "--output", "json"], &fleet).await;
    assert_eq!(removed(&done), std::slice::from_ref(&first), "{done}");
    let kept = done["decisions"].as_array().unwrap().iter().find(|d| d["keep"] == true).unwrap().clone();
    assert!(kept["reasons"].to_string().contains("last"), "{kept}");
    let listed = json(&["backup", "list", "--output", "json"], &fleet).await;
    let ids: Vec<&str> = listed["snapshots"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [second.as_str(), third.as_str()]);

    // Prune frees what only the first held (a's old value, b's last copy is still in the second).
    let pruned = json(&["backup", "prune", "--now", "--output", "json"], &fleet).await;
    assert!(pruned["pruned"]["bytesUsed"].as_u64() > Some(0), "{pruned}");
    let check = run(args(&["backup", "check", "--read-data"], &fleet)).await;
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    if bulkhead_test::program::RESTIC.require().is_some() {
        let out = crate::support::restic(&dir.join("repo"), &dir, &["check", "--read-data"]);
        assert!(
            out.status.success(),
            "restic check after prune: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Flags override the policy; what is left restores the newest state.
    let done = json(&["backup", "forget", "--app", "shop", "--keep-last", "1", "--output", "json"], &fleet).await;
    assert_eq!(removed(&done), [second], "{done}");
    // A name that is no id is refused before the repository is read; an id
    // the repository does not hold is looked for and not found.
    let out = run(args(&["backup", "diff", "nope", "latest"], &fleet)).await;
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`nope` is not a snapshot: give `latest` or hex digits"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(args(&["backup", "diff", "0000abcd", "latest"], &fleet)).await;
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no snapshot 0000abcd"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What to take and what to put back: namespaces, labels, resources and the
/// noise on the way in; kinds and the conflict policy on the way out.
#[tokio::test(flavor = "multi_thread")]
async fn selections_narrow_backups_and_restores() {
    let Some(env) = TestEnv::require(1) else { return };
    let ns = TestNamespace::create(&env, 0, "select").await;
    let target = TestNamespace::create(&env, 0, "select-to").await;
    let client = env.client(0).await;
    let n = Some(ns.name());
    let labelled = |kind: &str, name: &str, tier: &str| json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "labels": {"tier": tier}}, "data": {}});
    create_object(&client, n, labelled("ConfigMap", "web-settings", "web")).await;
    create_object(&client, n, labelled("ConfigMap", "db-settings", "db")).await;
    create_object(&client, n, labelled("Secret", "web-token", "web")).await;
    create_object(&client, n, json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"tier": "web"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web", "tier": "web"}}, "spec": {"containers": [{"name": "web", "image": "registry.example.com/web:1"}]}}}})).await;
    // The Deployment's ReplicaSet, which the noise rules leave out.
    let replicasets: Api<k8s_openapi::api::apps::v1::ReplicaSet> = Api::namespaced(client.clone(), ns.name());
    bulkhead_test::eventually("the ReplicaSet", std::time::Duration::from_secs(30), || async {
        let n = replicasets.list(&Default::default()).await.map_err(|e| e.to_string())?.items.len();
        if n > 0 { Ok(()) } else { Err("none yet".to_string()) }
    })
    .await;
    let dir = scratch("backup-select");
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {PASSWORD_ENV}}}\n",
        dir.join("repo").display()
    );
    testenv_fleet_with(&env, &dir, "", &dr);
    let fleet = dir.display().to_string();
    let c0 = env.cluster(0).name.clone();
    let resources = |doc: &Value| doc["backups"][0]["resources"].clone();

    let web =
        json(&["backup", "create", "--cluster", &c0, "-n", ns.name(), "-l", "tier=web", "--output", "json"], &fleet)
            .await;
    assert_eq!(
        resources(&web),
        json!({"configmaps": 1, "secrets": 1, "deployments.apps": 1, "namespaces": 1}),
        "labels narrow; the Namespace comes along; the owned ReplicaSet is noise"
    );
    // Set-based selectors, selected by the API server: the same objects.
    let set = json(
        &["backup", "create", "--cluster", &c0, "-n", ns.name(), "-l", "tier notin (db),!nope", "--output", "json"],
        &fleet,
    )
    .await;
    assert_eq!(resources(&set), resources(&web), "{set}");
    let bad =
        run(args(&["backup", "create", "--cluster", &c0, "-l", "tier in (web", "--output", "json"], &fleet)).await;
    assert_eq!(bad.status.code(), Some(2), "{}", String::from_utf8_lossy(&bad.stderr));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("label selector `tier in (web`"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let noisy = json(
        &[
            "backup",
            "create",
            "--cluster",
            &c0,
            "-n",
            ns.name(),
            "--exclude-resource",
            "secrets",
            "--include-noise",
            "--output",
            "json",
        ],
        &fleet,
    )
    .await;
    let r = resources(&noisy);
    assert!(r.get("secrets").is_none() && r["configmaps"] == 2 && r["replicasets.apps"] == 1, "{r}");
    let only = json(
        &["backup", "create", "--cluster", &c0, "-n", ns.name(), "--resource", "configmaps", "--output", "json"],
        &fleet,
    )
    .await;
    assert_eq!(resources(&only), json!({"configmaps": 2}));

    // Restore only the ConfigMaps, into another namespace; then again under each conflict policy.
    let id = only["backups"][0]["snapshot"]["id"].as_str().unwrap().to_string();
    let restore = |existing: &str| {
        vec![
            "restore".to_string(),
            "--from".into(),
            id.clone(),
            "--to".into(),
            c0.clone(),
            "--kind".into(),
            "ConfigMap".into(),
            "--namespace-map".into(),
            format!("{}={}", ns.name(), target.name()),
            "--existing".into(),
            existing.into(),
            "--output".into(),
            "json".into(),
            fleet.clone(),
        ]
    };
    let actions = |out: &std::process::Output| -> Vec<String> {
        json_of(out)["results"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap().to_string()).collect()
    };
    let out = run(restore("fail")).await;
    assert_eq!((out.status.code(), actions(&out)), (Some(0), vec!["created".to_string(); 2]));
    let out = run(restore("fail")).await;
    assert_eq!(
        (out.status.code(), actions(&out)),
        (Some(1), vec!["failed".to_string(); 2]),
        "exists, and --existing fail"
    );
    let out = run(restore("skip")).await;
    assert_eq!((out.status.code(), actions(&out)), (Some(0), vec!["skipped".to_string(); 2]));
}
