//! `bulkhead serve` against a real cluster and a real repository: what the
//! fleet schedules runs once when it never succeeded, a restart reads the
//! repository and the history and runs nothing that is not due, a valid
//! change to the fleet is taken while serving (a new app is backed up) and
//! an invalid one is refused with the last good fleet kept; `/metrics`,
//! `/healthz`, `/readyz` and `bulkhead jobs` say so.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use bulkhead_test::{TestEnv, TestNamespace};
use serde_json::{Value, json};

use crate::backup::{PASSWORD, PASSWORD_ENV, json_of, run};
use crate::support::{bulkhead, create_object, one_app_fleet, scratch, testenv_fleet_with};

/// A free loopback port.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `GET path` on the server: its status and body; `None` while it does not answer.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    crate::support::http(port, "GET", path, None, None, Duration::from_secs(5)).map(|a| (a.status, a.body))
}

/// Whether `/metrics` text has a sample line `sample` (`name{labels} value`)
/// whole: a HELP line that happens to start the same does not count.
pub(crate) fn has(metrics: &str, sample: &str) -> bool {
    metrics.lines().any(|l| l == sample)
}

/// Whether it has a sample of `series` (`name{labels}`), whatever its value.
pub(crate) fn has_series(metrics: &str, series: &str) -> bool {
    metrics.lines().any(|l| l.strip_prefix(series).is_some_and(|v| v.starts_with(' ')))
}

/// Waits for `until` to hold of `/metrics`, up to `limit`.
pub(crate) fn metrics_until(port: u16, limit: Duration, until: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < limit {
        if let Some((200, body)) = get(port, "/metrics") {
            if until(&body) {
                return body;
            }
            last = body;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("/metrics never showed what was awaited within {limit:?}:\n{last}");
}

pub(crate) fn start(dir: &Path, state: &Path, port: u16, run_for: &str) -> Child {
    bulkhead()
        .args(["serve", "--state", &state.display().to_string(), "--listen", &format!("127.0.0.1:{port}")])
        .args(["--jitter", "0s", "--drift-every", "0", "--check-every", "0", "--evidence-every", "2s"])
        .args(["--for", run_for, &dir.display().to_string()])
        .env(PASSWORD_ENV, PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

pub(crate) fn finish(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "serve failed: {stderr}");
    crate::support::assert_secret_unseen(&out, PASSWORD);
    stderr
}

pub(crate) async fn jobs(state: &Path) -> Vec<Value> {
    let out = run(vec![
        "jobs".into(),
        "list".into(),
        "--state".into(),
        state.display().to_string(),
        "--output".into(),
        "json".into(),
    ])
    .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    json_of(&out)["runs"].as_array().unwrap().clone()
}

pub(crate) fn runs_of<'a>(runs: &'a [Value], job: &str) -> Vec<&'a Value> {
    runs.iter().filter(|r| r["job"] == job).collect()
}

/// A namespace of cluster 0 holding one ConfigMap: an app with something to back up.
pub(crate) async fn namespace_with_settings(env: &TestEnv, prefix: &str) -> TestNamespace {
    let ns = TestNamespace::create(env, 0, prefix).await;
    let settings =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"k": "v"}});
    create_object(&env.client(0).await, Some(ns.name()), settings).await;
    ns
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_runs_what_is_due_once_remembers_across_restarts_and_takes_fleet_changes() {
    let Some(env) = TestEnv::require(1) else { return };
    let ns = TestNamespace::create(&env, 0, "serve").await;
    let client = env.client(0).await;
    let cm =
        |name: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}});
    create_object(&client, Some(ns.name()), cm("settings")).await;
    let dir = scratch("serve");
    let state = dir.join("state");
    let c0 = env.cluster(0).name.clone();
    let app = |name: &str| {
        format!(
            "    - name: {name}\n      manifests: apps/{name}\n      namespace: {}\n      placement: {{clusters: {{names: [{c0}]}}}}\n      backup: {{policy: yearly}}\n",
            ns.name()
        )
    };
    // Once a year: due now only because it never ran.
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {PASSWORD_ENV}}}\n    policies:\n      - {{name: yearly, schedule: \"0 0 1 1 *\", repository: local, keep: {{last: 3}}}}\n",
        dir.join("repo").display()
    );
    testenv_fleet_with(&env, &dir, &app("shop"), &dr);
    let fleet = dir.display().to_string();
    let backup_job = format!("backup/yearly/{c0}/shop");

    // 1. Never succeeded: backed up once, retention once; health and metrics answer.
    let port = free_port();
    let child = start(&dir, &state, port, "25s");
    let body = metrics_until(port, Duration::from_secs(20), |m| {
        has_series(m, &format!("bulkhead_job_last_success_timestamp_seconds{{kind=\"backup\",key=\"{backup_job}\"}}"))
            && has(m, "bulkhead_job_runs_total{kind=\"retention\",outcome=\"succeeded\"} 1")
    });
    assert!(has_series(&body, "bulkhead_backup_age_seconds{app=\"shop\"}"), "{body}");
    assert!(has(&body, "bulkhead_leader 1") && has(&body, "bulkhead_fleet_valid 1"), "{body}");
    assert_eq!(get(port, "/healthz").map(|r| r.0), Some(200));
    assert_eq!(get(port, "/readyz").map(|r| r.0), Some(200));

    // 2. A valid change, taken while serving: a second app, backed up at once.
    std::fs::create_dir_all(dir.join("apps/web")).unwrap();
    let fleet_file = dir.join("fleet.yaml");
    let text = std::fs::read_to_string(&fleet_file).unwrap();
    let shop = app("shop");
    std::fs::write(&fleet_file, text.replacen(&shop, &format!("{shop}{}", app("web")), 1)).unwrap();
    let web_job = format!("backup/yearly/{c0}/web");
    metrics_until(port, Duration::from_secs(20), |m| {
        has_series(m, &format!("bulkhead_job_last_success_timestamp_seconds{{kind=\"backup\",key=\"{web_job}\"}}"))
    });
    // 3. An invalid change is refused; the last good fleet stays and says so.
    let good = std::fs::read_to_string(&fleet_file).unwrap();
    std::fs::write(&fleet_file, good.replace("schedule: \"0 0 1 1 *\"", "schedule: \"whenever\"")).unwrap();
    metrics_until(port, Duration::from_secs(10), |m| has(m, "bulkhead_fleet_valid 0"));
    assert_eq!(get(port, "/healthz").map(|r| r.0), Some(200));
    std::fs::write(&fleet_file, &good).unwrap();
    let stderr = finish(child);
    assert!(stderr.contains("not valid: the last good fleet stays in use"), "{stderr}");

    let runs = jobs(&state).await;
    assert_eq!(runs_of(&runs, &backup_job).len(), 1, "{runs:#?}");
    assert_eq!(runs_of(&runs, &backup_job)[0]["outcome"], "succeeded");
    assert_eq!(runs_of(&runs, &web_job).len(), 1, "{runs:#?}");
    assert_eq!(runs_of(&runs, "retention/yearly").len(), 1, "{runs:#?}");
    let listed = run(vec!["backup".into(), "list".into(), "--output".into(), "json".into(), fleet.clone()]).await;
    let listed = json_of(&listed);
    let apps: Vec<&str> = listed["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["tags"].as_array()?.iter().filter_map(Value::as_str).find_map(|t| t.strip_prefix("app=")))
        .collect();
    assert_eq!(apps.len(), 2, "one backup of each app: {apps:?}");

    // 4. A restart, with a fresh history: the repository says the backups
    //    are recent, so none is due; retention has no evidence in the
    //    repository and runs once more.
    std::fs::remove_dir_all(&state).unwrap();
    let port = free_port();
    let child = start(&dir, &state, port, "8s");
    metrics_until(port, Duration::from_secs(8), |m| {
        m.lines().any(|l| l.starts_with("bulkhead_job_runs_total{kind=\"retention\""))
    });
    finish(child);
    let runs = jobs(&state).await;
    assert!(runs_of(&runs, &backup_job).is_empty() && runs_of(&runs, &web_job).is_empty(), "{runs:#?}");
    // 5. And with the history kept, not even retention runs again.
    let port = free_port();
    let child = start(&dir, &state, port, "6s");
    metrics_until(port, Duration::from_secs(6), |m| has(m, "bulkhead_leader 1"));
    finish(child);
    let again = jobs(&state).await;
    assert_eq!(again.len(), runs.len(), "nothing was due: {again:#?}");

    // `jobs show` tells one run whole.
    let id = runs[0]["id"].as_u64().unwrap().to_string();
    let shown = run(vec!["jobs".into(), "show".into(), id, "--state".into(), state.display().to_string()]).await;
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("retention/yearly") && text.contains("succeeded"), "{text}");
}

fn start_replica(dir: &Path, state: &Path, port: u16, identity: &str, cluster: &str, namespace: &str) -> Child {
    start_sharded(dir, state, port, identity, cluster, namespace, 1)
}

fn start_sharded(
    dir: &Path,
    state: &Path,
    port: u16,
    identity: &str,
    cluster: &str,
    namespace: &str,
    shards: u32,
) -> Child {
    bulkhead()
        .args(["serve", "--state", &state.display().to_string(), "--listen", &format!("127.0.0.1:{port}")])
        .args(["--jitter", "0s", "--drift-every", "0", "--check-every", "0", "--evidence-every", "2s"])
        .args(["--lease-cluster", cluster, "--lease-namespace", namespace, "--lease-duration", "6s"])
        .args(["--identity", identity, "--shards", &shards.to_string(), "--for", "90s", &dir.display().to_string()])
        .env(PASSWORD_ENV, PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_replica_leads_and_a_standby_takes_over_within_the_lease_when_it_is_killed() {
    let Some(env) = TestEnv::require(1) else { return };
    let ns = namespace_with_settings(&env, "serve-lease").await;
    let client = env.client(0).await;
    let dir = scratch("serve-lease");
    let c0 = env.cluster(0).name.clone();
    one_app_fleet(&env, &dir, ns.name(), "yearly", "0 0 1 1 *", 3);
    let backup_job = format!("backup/yearly/{c0}/shop");
    let (state_a, state_b) = (dir.join("state-a"), dir.join("state-b"));
    let (port_a, port_b) = (free_port(), free_port());

    // A takes the lease and runs the schedule.
    let mut a = start_replica(&dir, &state_a, port_a, "replica-a", &c0, ns.name());
    metrics_until(port_a, Duration::from_secs(30), |m| {
        has(m, "bulkhead_leader 1")
            && has_series(
                m,
                &format!("bulkhead_job_last_success_timestamp_seconds{{kind=\"backup\",key=\"{backup_job}\"}}"),
            )
    });
    // B stands by: it serves, leads nothing, runs nothing.
    let b = start_replica(&dir, &state_b, port_b, "replica-b", &c0, ns.name());
    metrics_until(port_b, Duration::from_secs(20), |m| has(m, "bulkhead_leader 0"));
    std::thread::sleep(Duration::from_secs(4));
    let standing_by = get(port_b, "/metrics").unwrap().1;
    assert!(has(&standing_by, "bulkhead_leader 0") && !standing_by.contains("job_runs_total{"), "{standing_by}");

    // A dies without a word; B leads within the lease's duration (6 s) and
    // a look's slack, and does not back up again what A backed up.
    a.kill().unwrap();
    let _ = a.wait();
    let killed = Instant::now();
    metrics_until(port_b, Duration::from_secs(15), |m| has(m, "bulkhead_leader 1"));
    let took = killed.elapsed();
    // The lease's 6 s, two looks of 2 s, the library's retry: within 14 s.
    assert!(took < Duration::from_secs(6 + 8), "the standby took {took:?}");
    std::thread::sleep(Duration::from_secs(3));

    // SIGTERM: B stops and gives the lease back.
    let pid = b.id().to_string();
    std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    finish(b);
    let runs_a = jobs(&state_a).await;
    let runs_b = jobs(&state_b).await;
    assert_eq!(runs_of(&runs_a, &backup_job).len(), 1, "{runs_a:#?}");
    assert!(runs_of(&runs_b, &backup_job).is_empty(), "the repository says it is done: {runs_b:#?}");
    let leases: kube::Api<k8s_openapi::api::coordination::v1::Lease> = kube::Api::namespaced(client, ns.name());
    let lease = leases.get("bulkhead-serve").await.unwrap();
    let holder = lease.spec.and_then(|s| s.holder_identity);
    assert_ne!(holder.as_deref(), Some("replica-b"), "released on SIGTERM");
    #[allow(clippy::print_stderr)] // the measured takeover, for the test log
    {
        eprintln!("standby took over {took:?} after the leader was killed (lease 6 s)");
    }
}

/// The shards `/metrics` says are held.
fn held(metrics: &str, shards: u32) -> Vec<u32> {
    (0..shards).filter(|s| has(metrics, &format!("bulkhead_shard_held{{shard=\"{s}\"}} 1"))).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn shards_spread_over_replicas_and_a_dead_replicas_shards_move() {
    let Some(env) = TestEnv::require(3) else { return };
    let ns = TestNamespace::create(&env, 0, "serve-shards").await;
    let dir = scratch("serve-shards");
    let names: Vec<String> = (0..3).map(|i| env.cluster(i).name.clone()).collect();
    // An app on every cluster, in a namespace none of them has: each backup holds nothing, fast.
    let apps = format!(
        "    - name: spread\n      manifests: apps/spread\n      namespace: {}-none\n      placement: {{clusters: {{}}}}\n      backup: {{policy: yearly}}\n",
        ns.name()
    );
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {PASSWORD_ENV}}}\n    policies:\n      - {{name: yearly, schedule: \"0 0 1 1 *\", repository: local, keep: {{last: 3}}}}\n",
        dir.join("repo").display()
    );
    testenv_fleet_with(&env, &dir, &apps, &dr);
    let shards = 4;
    let (state_a, state_b) = (dir.join("state-a"), dir.join("state-b"));
    let (port_a, port_b) = (free_port(), free_port());

    // Alone, A holds every shard and backs up the app on every cluster.
    let mut a = start_sharded(&dir, &state_a, port_a, "replica-a", &names[0], ns.name(), shards);
    metrics_until(port_a, Duration::from_secs(40), |m| {
        held(m, shards).len() == shards as usize && names.iter().all(|c| {
            has_series(
                m,
                &format!(
                    "bulkhead_job_last_success_timestamp_seconds{{kind=\"backup\",key=\"backup/yearly/{c}/spread\"}}"
                ),
            )
        })
    });
    // B joins: each shard goes to whichever of the two ranks it highest.
    let b = start_sharded(&dir, &state_b, port_b, "replica-b", &names[0], ns.name(), shards);
    let want_b: Vec<u32> =
        (0..shards).filter(|s| bulkhead_schedule::owner(*s, ["replica-a", "replica-b"]) == Some("replica-b")).collect();
    let want_a: Vec<u32> = (0..shards).filter(|s| !want_b.contains(s)).collect();
    metrics_until(port_b, Duration::from_secs(30), |m| held(m, shards) == want_b);
    metrics_until(port_a, Duration::from_secs(10), |m| held(m, shards) == want_a);

    // A dies: its shards move to B once its member Lease and shard Leases expire.
    a.kill().unwrap();
    let _ = a.wait();
    let killed = Instant::now();
    metrics_until(port_b, Duration::from_secs(20), |m| held(m, shards).len() == shards as usize);
    let took = killed.elapsed();
    assert!(took < Duration::from_secs(6 + 8), "the shards moved after {took:?}");
    std::thread::sleep(Duration::from_secs(2));
    let pid = b.id().to_string();
    std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    finish(b);
    // What A backed up is not backed up again by B.
    let runs_b = jobs(&state_b).await;
    assert!(runs_b.iter().all(|r| r["kind"] != "backup"), "{runs_b:#?}");
    #[allow(clippy::print_stderr)] // the measured move, for the test log
    {
        eprintln!("a dead replica's shards moved after {took:?} (lease 6 s); B held {want_b:?} while both lived");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_etcd_watch_runs_supervised_and_sigterm_stops_it_within_the_grace() {
    let Some(env) = TestEnv::require(1) else { return };
    let c0 = env.cluster(0).clone();
    let dir = scratch("serve-etcd");
    let state = dir.join("state");
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {PASSWORD_ENV}}}\n    policies:\n      - {{name: etcdp, schedule: \"0 0 1 1 *\", repository: local}}\n",
        dir.join("repo").display()
    );
    testenv_fleet_with(&env, &dir, "", &dr);
    let path = dir.join("fleet.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let grace = &c0.node_monitor_grace_period;
    let plain = format!("controlPlane: {{nodeMonitorGracePeriod: {grace}}}");
    let endpoint = c0.etcd_endpoint();
    let watched = format!(
        "controlPlane: {{nodeMonitorGracePeriod: {grace}, etcd: {{members: 1, access: {{endpoints: [\"{endpoint}\"]}}, backup: {{policy: etcdp}}}}}}"
    );
    assert!(text.contains(&plain), "{text}");
    std::fs::write(&path, text.replacen(&plain, &watched, 1)).unwrap();

    let port = free_port();
    let child = bulkhead()
        .args(["serve", "--state", &state.display().to_string(), "--listen", &format!("127.0.0.1:{port}")])
        .args(["--jitter", "0s", "--drift-every", "0", "--check-every", "0", "--grace", "2s", "--for", "120s"])
        .arg(&dir)
        .env(PASSWORD_ENV, PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let job = format!("etcd-watch/etcdp/{}", c0.name);
    metrics_until(port, Duration::from_secs(20), |m| {
        has(m, &format!("bulkhead_job_running{{kind=\"etcd-watch\",key=\"{job}\"}} 1"))
    });
    // The watch stores a full snapshot first; the repository holds it soon.
    let start = Instant::now();
    let inspected = loop {
        let out = run(vec![
            "etcd".into(),
            "inspect".into(),
            "--cluster".into(),
            c0.name.clone(),
            "latest".into(),
            "--fleet".into(),
            dir.display().to_string(),
        ])
        .await;
        if out.status.success() || start.elapsed() > Duration::from_secs(30) {
            break out;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(inspected.status.success(), "{}", String::from_utf8_lossy(&inspected.stderr));

    // SIGTERM: the watch never finishes by itself, so the grace ends it.
    let stopping = Instant::now();
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let stderr = finish(child);
    let took = stopping.elapsed();
    assert!(took < Duration::from_secs(2 + 10), "stopping took {took:?}: {stderr}");
    assert!(stderr.contains("the grace period is over: cancelling"), "{stderr}");
    let runs = jobs(&state).await;
    let watch = runs_of(&runs, &job);
    assert_eq!(watch.len(), 1, "{runs:#?}");
    assert_eq!(watch[0]["outcome"], "cancelled", "{runs:#?}");
}

/// What Prometheus's query API answers for `query` (no spaces or symbols that need escaping).
fn prometheus_query(port: u16, query: &str) -> Option<Value> {
    let (status, body) = get(port, &format!("/api/v1/query?query={query}"))?;
    (status == 200).then(|| serde_json::from_str(&body).ok()).flatten()
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_serve_and_its_alert_rules_see_an_invalid_fleet() {
    let Some(prometheus) = bulkhead_test::program::PROMETHEUS.require() else { return };
    let Some(env) = TestEnv::require(1) else { return };
    let dir = scratch("serve-prometheus");
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {PASSWORD_ENV}}}\n    policies:\n      - {{name: yearly, schedule: \"0 0 1 1 *\", repository: local}}\n",
        dir.join("repo").display()
    );
    testenv_fleet_with(&env, &dir, "", &dr);
    let (serve_port, prometheus_port) = (free_port(), free_port());
    let serve = start(&dir, &dir.join("state"), serve_port, "60s");
    metrics_until(serve_port, Duration::from_secs(20), |m| has(m, "bulkhead_leader 1"));

    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/alerts.yaml");
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nrule_files: [{}]\nscrape_configs:\n  - job_name: bulkhead\n    static_configs: [{{targets: ['127.0.0.1:{serve_port}']}}]\n",
            rules.display()
        ),
    )
    .unwrap();
    let mut prom = std::process::Command::new(prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let waited = |what: &str, until: &dyn Fn(&Value) -> bool, query: &str| {
        let start = Instant::now();
        loop {
            if let Some(v) = prometheus_query(prometheus_port, query).filter(|v| until(v)) {
                return v;
            }
            assert!(start.elapsed() < Duration::from_secs(40), "Prometheus never showed {what}");
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    let value_of = |v: &Value| v["data"]["result"][0]["value"][1].as_str().map(str::to_string);
    // Scraped: the leader gauge reads 1.
    waited("bulkhead_leader 1", &|v| value_of(v).as_deref() == Some("1"), "bulkhead_leader");
    // The fleet breaks on disk: serve keeps the last good one, and the rule
    // BulkheadFleetInvalid is pending (it fires after its 5 min).
    let fleet_file = dir.join("fleet.yaml");
    let good = std::fs::read_to_string(&fleet_file).unwrap();
    std::fs::write(&fleet_file, good.replace("schedule: \"0 0 1 1 *\"", "schedule: \"whenever\"")).unwrap();
    let alerts = waited(
        "BulkheadFleetInvalid pending",
        &|v| {
            v["data"]["result"].as_array().is_some_and(|r| {
                r.iter().any(|a| {
                    a["metric"]["alertname"] == "BulkheadFleetInvalid" && a["metric"]["alertstate"] == "pending"
                })
            })
        },
        "ALERTS",
    );
    // Nothing else is wrong with this fleet: no other alert is even pending.
    let names: Vec<&str> =
        alerts["data"]["result"].as_array().unwrap().iter().filter_map(|a| a["metric"]["alertname"].as_str()).collect();
    assert_eq!(names, ["BulkheadFleetInvalid"], "{alerts}");
    let _ = prom.kill();
    let _ = prom.wait();
    std::process::Command::new("kill").args(["-TERM", &serve.id().to_string()]).status().unwrap();
    finish(serve);
}

/// `bulkhead serve …` with `--state` in `dir`, waited for: its exit code and stderr.
fn serve_once(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = bulkhead()
        .args(["serve", "--state", &dir.join("state").display().to_string(), "--listen", "127.0.0.1:0"])
        .args(if args.contains(&"--for") { &[][..] } else { &["--for", "20s"][..] })
        .args(args)
        .arg(dir)
        .env(PASSWORD_ENV, PASSWORD)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// What cannot work is refused at the start, exit 2 for the input and 3
/// for the outside world, saying what to fix: a Lease namespace that does
/// not exist (named by a flag, or by the fleet's `serve`), a management
/// cluster that cannot be reached, shards with nowhere to hold their
/// Leases, a schedule that never fires.
#[tokio::test(flavor = "multi_thread")]
async fn serve_refuses_at_the_start_what_cannot_work() {
    let Some(env) = TestEnv::require(1) else { return };
    let c0 = env.cluster(0).name.clone();
    let dir = scratch("serve-refuses");
    let dr = |schedule: &str, serve: &str| {
        format!(
            "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {PASSWORD_ENV}}}\n    policies:\n      - {{name: yearly, schedule: \"{schedule}\", repository: local, keep: {{last: 3}}}}\n{serve}",
            dir.join("repo").display()
        )
    };
    testenv_fleet_with(&env, &dir, "", &dr("0 0 1 1 *", ""));

    let (code, err) = serve_once(&dir, &["--lease-cluster", &c0, "--lease-namespace", "no-such-namespace"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("cluster `{c0}` has no namespace `no-such-namespace`")), "{err}");

    let (code, err) = serve_once(&dir, &["--shards", "2"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--shards needs a management cluster"), "{err}");

    // The fleet names the management cluster: no flag needed, the same check.
    testenv_fleet_with(
        &env,
        &dir,
        "",
        &dr("0 0 1 1 *", &format!("  serve: {{managementCluster: {c0}, leaseNamespace: not-made}}\n")),
    );
    let (code, err) = serve_once(&dir, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("has no namespace `not-made`"), "{err}");
    // … which --standalone sets aside: it serves (until --for ends it).
    let (code, err) = serve_once(&dir, &["--standalone", "--for", "2s"]);
    assert_eq!(code, 0, "{err}");

    // A management cluster nobody answers for: the outside world, exit 3.
    let kubeconfig = std::fs::read_to_string(&env.cluster(0).kubeconfig).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dead = kubeconfig.replace(&env.cluster(0).server, &format!("https://127.0.0.1:{closed}"));
    assert_ne!(dead, kubeconfig, "the kubeconfig names {}", env.cluster(0).server);
    let dead_path = dir.join("dead.kubeconfig");
    std::fs::write(&dead_path, dead).unwrap();
    let fleet = std::fs::read_to_string(dir.join("fleet.yaml")).unwrap();
    std::fs::write(
        dir.join("fleet.yaml"),
        fleet.replacen(&env.cluster(0).kubeconfig.display().to_string(), &dead_path.display().to_string(), 1),
    )
    .unwrap();
    let (code, err) = serve_once(&dir, &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains(&c0), "{err}");

    // A schedule that never fires (there is no 30th of February).
    testenv_fleet_with(&env, &dir, "", &dr("0 0 30 2 *", ""));
    let (code, err) = serve_once(&dir, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("never fires"), "{err}");
}

/// A small fleet with no cluster to reach, its schedules in `zone`.
fn offline_fleet(dir: &Path, zone: &str) {
    std::fs::create_dir_all(dir.join("apps/shop")).unwrap();
    std::fs::write(
        dir.join("fleet.yaml"),
        format!(
            "apiVersion: bulkhead.dev/v1alpha1\nkind: Fleet\nmetadata: {{name: zoned}}\nspec:\n  providers:\n    - {{name: aws, kind: aws, regions: [{{name: eu-central-1, zones: [a, b, c]}}]}}\n  clusters:\n    - {{name: c1, location: aws/eu-central-1, controlPlane: {{managed: true}}, nodePools: [{{name: p, count: 3}}]}}\n  apps:\n    - {{name: shop, manifests: apps/shop, namespace: shop, placement: {{clusters: {{names: [c1]}}}}, sla: {{tier: 2, rpo: 2d}}, backup: {{policy: nightly}}}}\n  dr:\n    timeZone: {zone}\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {PASSWORD_ENV}}}\n    policies:\n      - {{name: nightly, schedule: \"0 2 * * *\", repository: local, keep: {{daily: 7}}}}\n",
            dir.join("repo").display()
        ),
    )
    .unwrap();
}

/// `serve --dry-run` judges every job as the server would and runs
/// nothing: schedules are read in the fleet's time zone, a job that never
/// succeeded is due, and what judging cost is said. A zone that is not one
/// is refused by `validate` and by `serve`.
#[test]
fn serve_dry_run_judges_the_schedule_in_the_fleets_time_zone_and_runs_nothing() {
    let dir = scratch("serve-dry-run");
    offline_fleet(&dir, "Europe/Berlin");
    let out = bulkhead()
        .args(["serve", "--dry-run", "--output", "json", "--state", &dir.join("state").display().to_string()])
        .arg(&dir)
        .env(PASSWORD_ENV, PASSWORD)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let agenda = json_of(&out);
    let jobs = agenda["jobs"].as_array().unwrap();
    let backup = jobs.iter().find(|j| j["job"] == "backup/nightly/c1/shop").expect("the app's backup");
    assert_eq!(backup["schedule"], "0 2 * * * (Europe/Berlin)", "{agenda:#}");
    assert_eq!(backup["due"], true, "never succeeded: due now");
    assert!(agenda["timings"]["judgeSeconds"].as_f64().is_some(), "{agenda:#}");
    assert!(!dir.join("state").exists(), "a dry run writes no state");
    assert!(!dir.join("repo").exists(), "nor a repository");

    let human = bulkhead().args(["serve", "--dry-run", "--state"]).arg(dir.join("state")).arg(&dir).output().unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("backup/nightly/c1/shop") && text.contains("due now") && text.contains("judged in"),
        "{text}"
    );

    offline_fleet(&dir, "Mars/Olympus");
    let validated = bulkhead().args(["validate"]).arg(&dir).output().unwrap();
    let said = String::from_utf8_lossy(&validated.stdout);
    assert_eq!(validated.status.code(), Some(2), "{said}");
    assert!(said.contains("`Mars/Olympus` is not a time zone"), "{said}");
    let refused = bulkhead().args(["serve", "--dry-run", "--state"]).arg(dir.join("state")).arg(&dir).output().unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", String::from_utf8_lossy(&refused.stderr));
}

/// The alert rules of deploy/alerts.yaml with every `for:` shortened to
/// `for_`, so a test sees an alert fire in seconds; the expressions are the
/// shipped ones (their `for:` durations are proved by `promtool test rules`).
fn rules_firing_after(dir: &Path, for_: &str) -> std::path::PathBuf {
    let shipped = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/alerts.yaml")).unwrap();
    let quick: String = shipped
        .lines()
        .map(|l| match l.split_once("for: ") {
            Some((indent, _)) if indent.trim().is_empty() => format!("{indent}for: {for_}\n"),
            _ => format!("{l}\n"),
        })
        .collect();
    let path = dir.join("alerts-quick.yaml");
    std::fs::write(&path, quick).unwrap();
    path
}

/// Starts Prometheus scraping serve at `serve_port` every second with `rules`.
fn start_prometheus(prometheus: &Path, dir: &Path, rules: &Path, serve_port: u16, port: u16) -> Child {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nrule_files: [{}]\nscrape_configs:\n  - job_name: bulkhead\n    static_configs: [{{targets: ['127.0.0.1:{serve_port}']}}]\n",
            rules.display()
        ),
    )
    .unwrap();
    std::process::Command::new(prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The alerts Prometheus has in `state` (`firing`, `pending`) now.
fn alerts_in(port: u16, state: &str) -> Vec<String> {
    prometheus_query(port, "ALERTS")
        .and_then(|v| v["data"]["result"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter(|a| a["metric"]["alertstate"] == state)
        .filter_map(|a| a["metric"]["alertname"].as_str().map(str::to_string))
        .collect()
}

/// The repository taken away under a policy that runs every minute: the
/// backups fail with the reason (recorded, counted), the app's backup age
/// grows past its RPO and `BulkheadBackupOlderThanRPO` fires in a real
/// Prometheus; when the repository returns, the next slot's backup
/// succeeds, the age falls and the alert resolves.
#[tokio::test(flavor = "multi_thread")]
async fn a_repository_taken_away_fails_backups_fires_the_rpo_alert_and_recovers() {
    let Some(prometheus) = bulkhead_test::program::PROMETHEUS.require() else { return };
    let Some(env) = TestEnv::own("serve-s3", 1, true) else { return };
    let s3 = env.s3.clone().expect("started with S3");
    let ns = namespace_with_settings(&env, "serve-s3").await;
    let dir = scratch("serve-s3");
    let c0 = env.cluster(0).name.clone();
    let url = format!("s3:{}/{}/serve", s3.endpoint, s3.bucket);
    let app = format!(
        "    - name: shop\n      manifests: apps/shop\n      namespace: {}\n      placement: {{clusters: {{names: [{c0}]}}}}\n      sla: {{tier: 2, rpo: 1m}}\n      backup: {{policy: minutely}}\n",
        ns.name()
    );
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: s3, url: \"{url}\", passwordEnv: {PASSWORD_ENV}}}\n    policies:\n      - {{name: minutely, schedule: \"* * * * *\", repository: s3, keep: {{last: 5}}}}\n"
    );
    testenv_fleet_with(&env, &dir, &app, &dr);
    let (serve_port, prometheus_port) = (free_port(), free_port());
    let state = dir.join("state");
    let serve = bulkhead()
        .args(["serve", "--state", &state.display().to_string(), "--listen", &format!("127.0.0.1:{serve_port}")])
        .args(["--jitter", "0s", "--drift-every", "0", "--check-every", "0", "--evidence-every", "2s"])
        .args(["--backoff", "2s", "--attempts", "2", "--timeout", "backup=40s", "--for", "300s"])
        .arg(&dir)
        .env(PASSWORD_ENV, PASSWORD)
        .env("AWS_ACCESS_KEY_ID", &s3.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &s3.secret_key)
        .env("AWS_DEFAULT_REGION", &s3.region)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let job = format!("backup/minutely/{c0}/shop");
    let success = format!("bulkhead_job_last_success_timestamp_seconds{{kind=\"backup\",key=\"{job}\"}}");
    metrics_until(serve_port, Duration::from_secs(40), |m| has_series(m, &success));
    let rules = rules_firing_after(&dir, "5s");
    let mut prom = start_prometheus(&prometheus, &dir, &rules, serve_port, prometheus_port);

    // The repository goes away: the next slots' backups fail, and the age passes the RPO.
    env.s3_down();
    let body = metrics_until(serve_port, Duration::from_secs(150), |m| {
        (has_series(m, "bulkhead_job_runs_total{kind=\"backup\",outcome=\"failed\"}")
            || has_series(m, "bulkhead_job_runs_total{kind=\"backup\",outcome=\"timed-out\"}"))
            && m.lines()
                .find_map(|l| l.strip_prefix("bulkhead_backup_age_seconds{app=\"shop\"} "))
                .and_then(|v| v.parse::<f64>().ok())
                .is_some_and(|age| age > 60.0)
    });
    assert!(has(&body, "bulkhead_backup_rpo_seconds{app=\"shop\"} 60.0"), "{body}");
    let start = Instant::now();
    while !alerts_in(prometheus_port, "firing").iter().any(|a| a == "BulkheadBackupOlderThanRPO") {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "BulkheadBackupOlderThanRPO never fired: {:?}",
            alerts_in(prometheus_port, "pending")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Each failed run says why: the backup's S3 client retries until the
    // kind's timeout ends it; the policy's retention names the repository.
    // (On a loaded machine the retention may still be retrying: wait for it.)
    let unsuccessful = |r: &&Value| r["outcome"] == "failed" || r["outcome"] == "timed-out";
    let start = Instant::now();
    let runs = loop {
        let runs = jobs(&state).await;
        let named =
            runs.iter().filter(unsuccessful).filter_map(|r| r["reason"].as_str()).any(|reason| reason.contains(&url));
        if named || start.elapsed() > Duration::from_secs(120) {
            assert!(named, "a reason names the repository {url}: {runs:#?}");
            break runs;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    let backups: Vec<&Value> = runs_of(&runs, &job).into_iter().filter(unsuccessful).collect();
    assert!(!backups.is_empty(), "{runs:#?}");
    assert!(backups.iter().all(|r| r["reason"].as_str().is_some_and(|s| !s.is_empty())), "{runs:#?}");

    // It returns: the next slot's backup goes through, the age falls, the alert resolves.
    env.s3_up();
    let start = Instant::now();
    loop {
        let m = get(serve_port, "/metrics").map(|r| r.1).unwrap_or_default();
        let age = m
            .lines()
            .find_map(|l| l.strip_prefix("bulkhead_backup_age_seconds{app=\"shop\"} "))
            .and_then(|v| v.parse::<f64>().ok());
        if age.is_some_and(|a| a < 60.0)
            && !alerts_in(prometheus_port, "firing").iter().any(|a| a == "BulkheadBackupOlderThanRPO")
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(150),
            "never recovered: age {age:?}, firing {:?}",
            alerts_in(prometheus_port, "firing")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = prom.kill();
    let _ = prom.wait();
    std::process::Command::new("kill").args(["-TERM", &serve.id().to_string()]).status().unwrap();
    finish(serve);
}

/// The snapshot minutes (UTC, `YYYY-MM-DDTHH:MM`) of each app in the fleet's repository.
async fn snapshot_minutes(fleet: &Path) -> std::collections::BTreeMap<String, Vec<String>> {
    let listed =
        run(vec!["backup".into(), "list".into(), "--output".into(), "json".into(), fleet.display().to_string()]).await;
    let listed = json_of(&listed);
    let mut out: std::collections::BTreeMap<String, Vec<String>> = std::collections::BTreeMap::new();
    for s in listed["snapshots"].as_array().unwrap() {
        let Some(app) =
            s["tags"].as_array().unwrap().iter().filter_map(Value::as_str).find_map(|t| t.strip_prefix("app="))
        else {
            continue;
        };
        let time =
            chrono::DateTime::parse_from_rfc3339(s["time"].as_str().unwrap()).unwrap().with_timezone(&chrono::Utc);
        out.entry(app.to_string()).or_default().push(time.format("%Y-%m-%dT%H:%M").to_string());
    }
    for minutes in out.values_mut() {
        minutes.sort();
    }
    out
}

/// Two replicas of `serve`, meeting in the management cluster the fleet
/// names, run a policy scheduled every minute for five minutes: every app
/// has exactly one snapshot per minute, none missing and none doubled, also
/// across the leader's SIGKILL halfway (the standby takes over within the
/// lease and the next slot runs on time).
#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_back_up_every_minute_exactly_once_across_a_killed_leader() {
    let Some(env) = TestEnv::require(1) else { return };
    let ns = namespace_with_settings(&env, "serve-minutely").await;
    let dir = scratch("serve-minutely");
    let c0 = env.cluster(0).name.clone();
    let app = |name: &str| {
        format!(
            "    - name: {name}\n      manifests: apps/{name}\n      namespace: {}\n      placement: {{clusters: {{names: [{c0}]}}}}\n      backup: {{policy: minutely}}\n",
            ns.name()
        )
    };
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {PASSWORD_ENV}}}\n    policies:\n      - {{name: minutely, schedule: \"* * * * *\", repository: local, keep: {{last: 100}}}}\n  serve: {{managementCluster: {c0}, leaseNamespace: {}}}\n",
        dir.join("repo").display(),
        ns.name()
    );
    testenv_fleet_with(&env, &dir, &format!("{}{}", app("shop"), app("web")), &dr);
    let replica = |name: &str, port: u16| {
        bulkhead()
            .args(["serve", "--state", &dir.join(name).display().to_string(), "--listen", &format!("127.0.0.1:{port}")])
            .args(["--jitter", "0s", "--drift-every", "0", "--check-every", "0", "--evidence-every", "2s"])
            .args(["--lease-duration", "6s", "--identity", name, "--for", "400s"])
            .arg(&dir)
            .env(PASSWORD_ENV, PASSWORD)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (port_a, port_b) = (free_port(), free_port());
    // Early in a minute, so the first backups land in the minute they start in.
    while !(5..20).contains(&chrono::Utc::now().format("%S").to_string().parse::<u32>().unwrap()) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let started = chrono::Utc::now();
    let mut a = replica("replica-a", port_a);
    // A makes the repository with its first backups; then B joins (two
    // processes cannot see each other make one: docs/serve.md).
    let first =
        format!("bulkhead_job_last_success_timestamp_seconds{{kind=\"backup\",key=\"backup/minutely/{c0}/shop\"}}");
    metrics_until(port_a, Duration::from_secs(40), |m| has(m, "bulkhead_leader 1") && has_series(m, &first));
    let b = replica("replica-b", port_b);
    metrics_until(port_b, Duration::from_secs(30), |m| has(m, "bulkhead_leader 0"));
    // Halfway, 20 s into a minute (between slots), the leader dies.
    let halfway = Instant::now() + Duration::from_secs(150);
    while Instant::now() < halfway || chrono::Utc::now().format("%S").to_string() != "20" {
        std::thread::sleep(Duration::from_millis(200));
    }
    a.kill().unwrap();
    let _ = a.wait();
    metrics_until(port_b, Duration::from_secs(15), |m| has(m, "bulkhead_leader 1"));
    // Five minutes in all, ended 30 s into a minute (its slot done).
    let end = Instant::now() + Duration::from_secs(150);
    while Instant::now() < end || chrono::Utc::now().format("%S").to_string() != "30" {
        std::thread::sleep(Duration::from_millis(200));
    }
    std::process::Command::new("kill").args(["-TERM", &b.id().to_string()]).status().unwrap();
    finish(b);
    let ended = chrono::Utc::now();

    // Every minute from the start's to the end's, once per app.
    let mut want = Vec::new();
    let mut t = started;
    while t <= ended {
        want.push(t.format("%Y-%m-%dT%H:%M").to_string());
        t += chrono::TimeDelta::minutes(1);
    }
    let minutes = snapshot_minutes(&dir).await;
    for name in ["shop", "web"] {
        assert_eq!(minutes.get(name), Some(&want), "{name}: one snapshot each minute from {started} to {ended}");
    }
}

/// A drill on a schedule runs under serve (after the backup it restores,
/// which serve makes first) and its record is in the repository, where
/// `drill history` and `check` read it; its RTO is a metric.
#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_drill_runs_under_serve_and_records_its_result() {
    let Some(env) = TestEnv::require(2) else { return };
    let (c0, c1) = (env.cluster(0).name.clone(), env.cluster(1).name.clone());
    let ns = namespace_with_settings(&env, "serve-drill").await;
    let dir = scratch("serve-drill");
    let app = format!(
        "    - name: shop\n      manifests: apps/shop\n      namespace: {}\n      placement: {{clusters: {{names: [{c0}]}}}}\n      sla: {{tier: 2, rto: 5m, rpo: 1d}}\n      backup: {{policy: daily}}\n",
        ns.name()
    );
    // The drill every minute: one that finds no backup yet tries again at the next.
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {PASSWORD_ENV}}}\n    policies:\n      - {{name: daily, schedule: \"0 3 * * *\", repository: local, keep: {{last: 3}}}}\n    drills:\n      - {{name: shop-dr, app: shop, from: {c0}, to: {c1}, schedule: \"* * * * *\"}}\n",
        dir.join("repo").display()
    );
    testenv_fleet_with(&env, &dir, &app, &dr);
    let port = free_port();
    let state = dir.join("state");
    let child = start(&dir, &state, port, "200s");
    metrics_until(port, Duration::from_secs(150), |m| {
        has_series(m, "bulkhead_drill_rto_seconds{drill=\"shop-dr\",app=\"shop\"}")
            && has_series(m, "bulkhead_drill_rto_target_seconds{drill=\"shop-dr\",app=\"shop\"}")
    });
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    finish(child);
    let history =
        run(vec!["drill".into(), "history".into(), "--output".into(), "json".into(), dir.display().to_string()]).await;
    let history = json_of(&history);
    let passed: Vec<&Value> =
        history["drills"].as_array().unwrap().iter().filter(|d| d["app"] == "shop" && d["passed"] == true).collect();
    assert!(!passed.is_empty(), "a passing record of the scheduled drill: {history:#}");
    let runs = jobs(&state).await;
    let drills = runs_of(&runs, "drill/shop-dr");
    assert!(
        drills.iter().any(|r| r["outcome"] == "succeeded" && r["figures"]["rtoSeconds"].as_f64().is_some()),
        "{runs:#?}"
    );
}

/// A hand edit of an object Bulkhead applied is found by serve's drift job:
/// the run records one drifted object and `bulkhead_drift_objects` says 1.
#[tokio::test(flavor = "multi_thread")]
async fn the_drift_job_finds_a_hand_edit() {
    use k8s_openapi::api::core::v1::ConfigMap;
    let Some(env) = TestEnv::require(1) else { return };
    let c0 = env.cluster(0).name.clone();
    let ns = format!("serve-drift-{:x}", std::process::id());
    let _cleanup = TestNamespace::adopt(&env, 0, &ns);
    let dir = scratch("serve-drift");
    let app = format!(
        "    - {{name: site, manifests: apps/site, namespace: {ns}, placement: {{clusters: {{names: [{c0}]}}}}}}\n"
    );
    testenv_fleet_with(&env, &dir, &app, "");
    std::fs::create_dir_all(dir.join("apps/site")).unwrap();
    std::fs::write(
        dir.join("apps/site/settings.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: fast}\n",
    )
    .unwrap();
    let applied =
        run(vec!["apply".into(), "--yes".into(), "--health-timeout".into(), "60s".into(), dir.display().to_string()])
            .await;
    assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));

    let maps: kube::Api<ConfigMap> = kube::Api::namespaced(env.client(0).await, &ns);
    maps.patch(
        "settings",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"data": {"mode": "slow"}})),
    )
    .await
    .unwrap();
    let port = free_port();
    let state = dir.join("state");
    let child = bulkhead()
        .args(["serve", "--state", &state.display().to_string(), "--listen", &format!("127.0.0.1:{port}")])
        .args(["--jitter", "0s", "--drift-every", "1m", "--check-every", "0", "--for", "90s"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    metrics_until(port, Duration::from_secs(60), |m| {
        has(m, "bulkhead_job_runs_total{kind=\"drift\",outcome=\"succeeded\"} 1")
    });
    let body = get(port, "/metrics").unwrap().1;
    assert!(has(&body, "bulkhead_drift_objects 1"), "{body}");
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    finish(child);
    let runs = jobs(&state).await;
    assert_eq!(runs_of(&runs, "drift")[0]["figures"]["findings"], 1, "{runs:#?}");
}

/// etcd killed and started again under serve: the supervised watch goes on
/// (resumed in place or restarted), and what was written before and after
/// the restart is in the backup, as a point-in-time restore shows.
#[tokio::test(flavor = "multi_thread")]
async fn the_etcd_watch_under_serve_survives_an_etcd_restart() {
    let Some(env) = TestEnv::own("serve-etcd-restart", 1, false) else { return };
    let c0 = env.cluster(0).clone();
    let dir = scratch("serve-etcd-restart");
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {PASSWORD_ENV}}}\n    policies:\n      - {{name: etcdp, schedule: \"0 0 1 1 *\", repository: local}}\n",
        dir.join("repo").display()
    );
    testenv_fleet_with(&env, &dir, "", &dr);
    let path = dir.join("fleet.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let grace = &c0.node_monitor_grace_period;
    let plain = format!("controlPlane: {{nodeMonitorGracePeriod: {grace}}}");
    let watched = format!(
        "controlPlane: {{nodeMonitorGracePeriod: {grace}, etcd: {{members: 1, access: {{endpoints: [\"{}\"]}}, backup: {{policy: etcdp}}}}}}",
        c0.etcd_endpoint()
    );
    std::fs::write(&path, text.replacen(&plain, &watched, 1)).unwrap();
    let port = free_port();
    let child = bulkhead()
        .args(["serve", "--state", &dir.join("state").display().to_string(), "--listen", &format!("127.0.0.1:{port}")])
        .args(["--jitter", "0s", "--drift-every", "0", "--check-every", "0", "--grace", "10s", "--backoff", "1s"])
        .args(["--for", "150s"])
        .arg(&dir)
        .env(PASSWORD_ENV, PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let job = format!("etcd-watch/etcdp/{}", c0.name);
    let running = format!("bulkhead_job_running{{kind=\"etcd-watch\",key=\"{job}\"}} 1");
    metrics_until(port, Duration::from_secs(20), |m| has(m, &running));
    let ns = TestNamespace::create(&env, 0, "serve-etcd").await;
    let cm =
        |name: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": name}});
    create_object(&env.client(0).await, Some(ns.name()), cm("before-restart")).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    env.kill(0, "etcd");
    tokio::time::sleep(Duration::from_secs(3)).await;
    env.start(0);
    create_object(&env.client(0).await, Some(ns.name()), cm("after-restart")).await;
    // Stored within a few flushes; the watch is running again.
    tokio::time::sleep(Duration::from_secs(10)).await;
    metrics_until(port, Duration::from_secs(30), |m| has(m, &running));
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    finish(child);

    let target = dir.join("restored");
    let bin_path = format!("{}:{}", env.bin.display(), std::env::var("PATH").unwrap_or_default());
    let restored = bulkhead()
        .args(["etcd", "restore", "--cluster", &c0.name, "--to", target.to_str().unwrap(), "--bump-revision", "0"])
        .arg(&dir)
        .env(PASSWORD_ENV, PASSWORD)
        .env("PATH", bin_path)
        .output()
        .unwrap();
    assert!(restored.status.success(), "{}", String::from_utf8_lossy(&restored.stderr));
    let doc = crate::etcd::inspect_objects(&target.join("member").join("snap").join("db")).await;
    let keys: Vec<&str> = doc["list"].as_array().unwrap().iter().filter_map(|o| o["key"].as_str()).collect();
    for name in ["before-restart", "after-restart"] {
        let key = format!("/registry/configmaps/{}/{name}", ns.name());
        assert!(keys.contains(&key.as_str()), "{key} is in the restored database");
    }
}

/// Waits until the clock is `from..to` seconds into a minute.
fn into_a_minute(from: u32, to: u32) {
    while !(from..to).contains(&chrono::Utc::now().format("%S").to_string().parse::<u32>().unwrap()) {
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// serve stopped for ten minutes under a policy that runs every minute:
/// on restart the backup runs once (making up for the ten slots), not ten
/// times, and the run says how many slots it made up for.
#[tokio::test(flavor = "multi_thread")]
async fn after_ten_minutes_down_each_overdue_job_runs_once() {
    let Some(env) = TestEnv::require(1) else { return };
    let ns = namespace_with_settings(&env, "serve-down").await;
    let dir = scratch("serve-down");
    let c0 = env.cluster(0).name.clone();
    one_app_fleet(&env, &dir, ns.name(), "minutely", "* * * * *", 100);
    let state = dir.join("state");
    let job = format!("backup/minutely/{c0}/shop");
    let success = format!("bulkhead_job_last_success_timestamp_seconds{{kind=\"backup\",key=\"{job}\"}}");

    into_a_minute(5, 30);
    let port = free_port();
    let child = start(&dir, &state, port, "60s");
    metrics_until(port, Duration::from_secs(30), |m| has_series(m, &success));
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    finish(child);
    let before = snapshot_minutes(&dir).await.get("shop").map_or(0, Vec::len);
    assert_eq!(before, 1, "one backup before the downtime");

    // Ten minutes down; back early in a minute, for less than one.
    tokio::time::sleep(Duration::from_secs(600)).await;
    into_a_minute(5, 20);
    let port = free_port();
    let child = start(&dir, &state, port, "30s");
    metrics_until(port, Duration::from_secs(25), |m| {
        has(m, "bulkhead_job_runs_total{kind=\"backup\",outcome=\"succeeded\"} 1")
    });
    finish(child);
    let after = snapshot_minutes(&dir).await.get("shop").map_or(0, Vec::len);
    assert_eq!(after, before + 1, "one run after the downtime, not one per missed slot");
    let runs = jobs(&state).await;
    let made_up = runs_of(&runs, &job)[0]["missed"].as_u64().unwrap();
    assert!((10..=11).contains(&made_up), "it made up for the ten slots: {runs:#?}");
}
