//! `serve`'s API against a real API server: the cluster's RBAC decides
//! who reads and who acts (TokenReview, SubjectAccessReview), a reader is
//! refused an action (403) and no token is 401, an operator backs an app up
//! and pauses its schedule, live events arrive as runs end, the newest
//! check is what `check --live --output json` says, and every answer
//! matches the OpenAPI document, which is checked in and valid. Static
//! tokens and TLS for a server outside any cluster; no listener beyond
//! loopback without checks.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use bulkhead_test::TestEnv;
use serde_json::{Value, json};

use crate::backup::{PASSWORD, PASSWORD_ENV, json_of, run};
use crate::serve::{free_port, namespace_with_settings};
use crate::support::{Answer, bulkhead, one_app_fleet, repo_root, scratch, service_account_with_token, sha256_hex};

/// One request to the server on `port`.
fn call(port: u16, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Option<Answer> {
    crate::support::http(port, method, path, token, body, Duration::from_secs(30))
}

fn get(port: u16, path: &str, token: Option<&str>) -> Answer {
    call(port, "GET", path, token, None).unwrap_or_else(|| panic!("GET {path}: no answer"))
}

fn post(port: u16, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
    call(port, "POST", path, token, body.as_ref()).unwrap_or_else(|| panic!("POST {path}: no answer"))
}

fn wait_ready(port: u16, child: &mut Child) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(120) {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
            panic!("serve exited ({status}) before it was ready: {stderr}");
        }
        if call(port, "GET", "/readyz", None, None).is_some_and(|a| a.status == 200) {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("serve was not ready within two minutes");
}

fn until<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(found) = probe() {
            return found;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("{what}: not within {limit:?}");
}

/// The OpenAPI document's schema of `name`, whole (its references resolve
/// within it), compiled.
fn validator(document: &Value, name: &str) -> jsonschema::Validator {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{name}"),
        "components": document["components"],
    });
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("the schema of {name} does not compile: {e}"))
}

pub(crate) fn assert_valid(document: &Value, name: &str, value: &Value) {
    let errors: Vec<String> =
        validator(document, name).iter_errors(value).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "the answer is not a valid {name}: {errors:?}\n{value:#}");
}

fn succeeded_runs(port: u16, token: &str, job: &str) -> Vec<Value> {
    let runs = get(port, &format!("/api/v1/runs?job={job}"), Some(token)).json();
    runs["items"].as_array().unwrap().iter().filter(|r| r["outcome"] == "succeeded").cloned().collect()
}

const READ: &[&str] = &["fleet", "apps", "jobs", "runs", "checks", "blast", "traffic"];

fn rules(act: bool) -> Value {
    let mut rules = vec![json!({"apiGroups": ["bulkhead.dev"], "resources": READ, "verbs": ["get", "list", "watch"]})];
    if act {
        rules.push(json!({"apiGroups": ["bulkhead.dev"], "resources": ["backups", "drills"], "verbs": ["create"]}));
        rules.push(json!({"apiGroups": ["bulkhead.dev"], "resources": ["schedules"], "verbs": ["update"]}));
    }
    Value::Array(rules)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_clusters_rbac_decides_who_reads_and_who_acts() {
    let Some(env) = TestEnv::require(1) else { return };
    let ns = namespace_with_settings(&env, "api").await;
    let client = env.client(0).await;
    let reader = service_account_with_token(&client, ns.name(), "reader", rules(false)).await;
    let operator = service_account_with_token(&client, ns.name(), "operator", rules(true)).await;
    let dir = scratch("api-rbac");
    // A yearly schedule: the only backups are the first and those asked for.
    one_app_fleet(&env, &dir, ns.name(), "yearly", "0 0 1 1 *", 10);
    let c0 = env.cluster(0).name.clone();
    let mut fleet = std::fs::read_to_string(dir.join("fleet.yaml")).unwrap();
    fleet.push_str(&format!("  serve: {{managementCluster: {c0}, leaseNamespace: {}}}\n", ns.name()));
    std::fs::write(dir.join("fleet.yaml"), fleet).unwrap();
    let (port, state) = (free_port(), dir.join("state"));
    let mut server = bulkhead()
        .args([
            "serve",
            "--standalone",
            "--state",
            &state.display().to_string(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["--jitter", "0s", "--drift-every", "0", "--check-every", "10s", "--evidence-every", "2s", "--for", "5m"])
        .arg(&dir)
        .env(PASSWORD_ENV, PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_ready(port, &mut server);
    let document = get(port, "/openapi.json", None).json();
    let job = format!("backup/yearly/{c0}/shop");

    // No token, a made-up one: 401, and the server says how to authenticate.
    let none = get(port, "/api/v1/apps", None);
    assert_eq!(none.status, 401, "{}", none.body);
    assert!(none.headers.contains("www-authenticate: bearer"), "{}", none.headers);
    assert_valid(&document, "Problem", &none.json());
    assert_eq!(get(port, "/api/v1/apps", Some("not-a-token")).status, 401);

    // The reader sees.
    let apps = get(port, "/api/v1/apps", Some(&reader));
    assert_eq!(apps.status, 200, "{}", apps.body);
    assert_valid(&document, "AppsPage", &apps.json());
    let shop = &apps.json()["items"][0];
    assert_eq!(shop["name"], "shop");
    assert_eq!(shop["clusters"], json!([c0]));
    assert_eq!(shop["backups"][0]["job"], job.as_str());
    let fleet = get(port, "/api/v1/fleet", Some(&reader));
    assert_eq!(fleet.status, 200, "{}", fleet.body);
    assert_valid(&document, "FleetView", &fleet.json());
    assert_eq!(fleet.json()["clusters"][0]["apps"], json!(["shop"]));
    let blast = get(port, "/api/v1/blast", Some(&reader));
    assert_valid(&document, "BlastView", &blast.json());
    assert!(blast.json()["domains"].as_array().unwrap().iter().any(|d| d["name"] == c0.as_str()), "{}", blast.body);
    let traffic = get(port, "/api/v1/traffic", Some(&reader));
    assert_eq!(traffic.status, 200, "{}", traffic.body);
    assert_valid(&document, "TrafficView", &traffic.json());
    assert!(traffic.json().get("zone").is_none(), "this fleet routes no traffic: {}", traffic.body);

    // The reader may not act; RBAC's words say who was refused.
    let refused = post(port, "/api/v1/apps/shop/backup", Some(&reader), None);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains(&format!("system:serviceaccount:{}:reader", ns.name())), "{}", refused.body);
    assert_eq!(post(port, "/api/v1/schedules/pause", Some(&reader), Some(json!({"job": job}))).status, 403);

    // The first backup (the schedule never ran), then one asked for by the
    // operator, seen live on the event stream.
    let first = until("the first backup", Duration::from_secs(60), || succeeded_runs(port, &reader, &job).pop());
    let first_ended = first["ended"].as_str().unwrap().to_string();
    let mut events = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    events.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(events, "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {reader}\r\n\r\n").unwrap();
    let asked = post(port, "/api/v1/apps/shop/backup", Some(&operator), None);
    assert_eq!(asked.status, 202, "{}", asked.body);
    assert_valid(&document, "Accepted", &asked.json());
    assert_eq!(asked.json()["jobs"], json!([job]));
    let mut seen = String::new();
    let mut buffer = [0u8; 4096];
    let start = Instant::now();
    while !(seen.contains("event: run") && seen.contains("\"outcome\":\"succeeded\"")) {
        assert!(start.elapsed() < Duration::from_secs(60), "no event of the run's end: {seen}");
        let n = events.read(&mut buffer).expect("the event stream stays open");
        assert!(n > 0, "the event stream closed: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    assert!(seen.to_ascii_lowercase().contains("content-type: text/event-stream"), "{seen}");
    let runs = until("the backup asked for", Duration::from_secs(60), || {
        let runs = succeeded_runs(port, &reader, &job);
        (runs.len() >= 2).then_some(runs)
    });
    // Asked for by hand: no slot of the schedule.
    assert!(runs[0].get("slot").is_none(), "{:#}", runs[0]);
    let page = get(port, &format!("/api/v1/runs?job={job}&limit=1"), Some(&reader)).json();
    assert_valid(&document, "RunsPage", &page);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let older =
        get(port, &format!("/api/v1/runs?job={job}&limit=1&before={}", page["nextBefore"]), Some(&reader)).json();
    assert!(older["items"][0]["id"].as_u64() < page["items"][0]["id"].as_u64(), "{older:#}");
    let one = get(port, &format!("/api/v1/runs/{}", page["items"][0]["id"]), Some(&reader));
    assert_valid(&document, "Run", &one.json());

    // The operator pauses the schedule: who and when are kept, and shown.
    let paused = post(port, "/api/v1/schedules/pause", Some(&operator), Some(json!({"job": job})));
    assert_eq!(paused.status, 200, "{}", paused.body);
    let jobs = get(port, "/api/v1/jobs?kind=backup", Some(&reader)).json();
    assert_valid(&document, "JobsPage", &jobs);
    assert_eq!(jobs["items"][0]["paused"]["by"], format!("system:serviceaccount:{}:operator", ns.name()).as_str());
    assert_eq!(post(port, "/api/v1/schedules/pause", Some(&operator), Some(json!({"job": "backup/none"}))).status, 404);
    assert_eq!(post(port, "/api/v1/schedules/resume", Some(&operator), Some(json!({"job": job}))).status, 200);
    let jobs = get(port, "/api/v1/jobs?kind=backup", Some(&reader)).json();
    assert!(jobs["items"][0].get("paused").is_none(), "{jobs:#}");
    assert_eq!(post(port, "/api/v1/apps/nothing/backup", Some(&operator), None).status, 404);

    // The newest check is what `check --live --output json` says (one
    // that started after the first backup made the repository: checks run
    // every 10 s and take a second or two, so one ending 15 s after it did).
    let check = until("a live check after the first backup", Duration::from_secs(120), || {
        let answer = get(port, "/api/v1/check", Some(&reader));
        let after = |c: &Value| {
            let at = chrono::DateTime::parse_from_rfc3339(c["at"].as_str()?).ok()?;
            let backed_up = chrono::DateTime::parse_from_rfc3339(&first_ended).ok()?;
            Some(at > backed_up + chrono::TimeDelta::seconds(15))
        };
        (answer.status == 200).then(|| answer.json()).filter(|c| after(c) == Some(true))
    });
    assert_valid(&document, "CheckView", &check);
    let out =
        run(vec!["check".into(), "--live".into(), "--output".into(), "json".into(), dir.display().to_string()]).await;
    let cli = json_of(&out);
    let codes = |v: &Value| -> Vec<String> {
        v["diagnostics"].as_array().unwrap().iter().map(|d| format!("{} {}", d["severity"], d["code"])).collect()
    };
    assert_eq!(check["fleet"], cli["fleet"]);
    assert_eq!(check["verdict"], cli["verdict"]);
    assert_eq!(check["stages"], cli["stages"], "the API's check and the CLI's differ");
    assert_eq!(codes(&check), codes(&cli));

    server.kill().unwrap();
    let out = server.wait_with_output().unwrap();
    crate::support::assert_secret_unseen(&out, PASSWORD);
    for token in [&reader, &operator] {
        crate::support::assert_secret_unseen(&out, token);
    }
}

/// A self-signed certificate for 127.0.0.1 and its key, by openssl.
fn self_signed(dir: &Path) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let openssl = bulkhead_test::program::OPENSSL.require()?;
    let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    let out = std::process::Command::new(openssl)
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=bulkhead-test", "-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Some((cert, key))
}

/// A fleet with no cluster access: the API serves it all the same.
fn offline_fleet(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    crate::support::copy_dir(&repo_root().join("examples/multicloud"), dir);
}

#[test]
fn static_tokens_over_tls_and_no_open_listener_beyond_loopback() {
    let dir = scratch("api-tokens");
    offline_fleet(&dir.join("fleet"));
    let Some((cert, key)) = self_signed(&dir) else { return };
    let first_cert = std::fs::read(&cert).unwrap();
    let Some(curl) = bulkhead_test::program::CURL.require() else { return };
    let tokens = dir.join("tokens.yaml");
    std::fs::write(
        &tokens,
        format!(
            "tokens:\n  - name: dashboard\n    sha256: {}\n    allow: [viewer]\n  - name: on-call\n    sha256: {}\n    allow: [viewer, \"update schedules\"]\n",
            sha256_hex("viewer-secret"),
            sha256_hex("on-call-secret")
        ),
    )
    .unwrap();
    let port = free_port();
    let mut server = bulkhead()
        .args(["serve", "--state", &dir.join("state").display().to_string(), "--listen", &format!("127.0.0.1:{port}")])
        .args(["--drift-every", "0", "--check-every", "0", "--for", "2m"])
        .arg("--api-tokens")
        .arg(&tokens)
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg(dir.join("fleet"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let https = |method: &str, path: &str, token: Option<&str>, body: Option<&str>| -> (u16, String) {
        let mut command = std::process::Command::new(&curl);
        command.args(["-s", "-o", "-", "-w", "\n%{http_code}", "--cacert"]).arg(&cert).args(["-X", method]);
        if let Some(token) = token {
            command.args(["-H", &format!("Authorization: Bearer {token}")]);
        }
        if let Some(body) = body {
            command.args(["-H", "Content-Type: application/json", "--data", body]);
        }
        let out = command.arg(format!("https://127.0.0.1:{port}{path}")).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (status.trim().parse().unwrap_or(0), body.to_string())
    };
    until("serve answering over TLS", Duration::from_secs(60), || {
        if let Some(status) = server.try_wait().unwrap() {
            let mut stderr = String::new();
            server.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
            panic!("serve exited ({status}): {stderr}");
        }
        (https("GET", "/readyz", None, None).0 == 200).then_some(())
    });
    // Plain HTTP on the TLS port is not served.
    assert!(call(port, "GET", "/readyz", None, None).is_none_or(|a| a.status != 200));
    assert_eq!(https("GET", "/api/v1/fleet", None, None).0, 401);
    assert_eq!(https("GET", "/api/v1/fleet", Some("wrong"), None).0, 401);
    let (status, body) = https("GET", "/api/v1/fleet", Some("viewer-secret"), None);
    assert_eq!(status, 200, "{body}");
    let fleet: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(fleet["name"], "multicloud");
    assert!(fleet["providers"].as_array().unwrap().len() >= 2, "{fleet:#}");
    let apps: Value = serde_json::from_str(&https("GET", "/api/v1/apps", Some("viewer-secret"), None).1).unwrap();
    assert!(apps["total"].as_u64().unwrap() > 0, "{apps:#}");
    let job = {
        let jobs: Value = serde_json::from_str(&https("GET", "/api/v1/jobs", Some("viewer-secret"), None).1).unwrap();
        jobs["items"][0]["job"].as_str().expect("the example fleet schedules jobs").to_string()
    };
    let pause = json!({"job": job}).to_string();
    let (status, body) = https("POST", "/api/v1/schedules/pause", Some("viewer-secret"), Some(&pause));
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("`dashboard` may not update schedules"), "{body}");
    assert_eq!(https("POST", "/api/v1/schedules/pause", Some("on-call-secret"), Some(&pause)).0, 200);
    let (status, _) = https("POST", "/api/v1/apps/checkout/backup", Some("on-call-secret"), None);
    assert_eq!(status, 403, "on-call may pause, not back up");

    // A renewed certificate (as cert-manager writes one) is taken without a
    // restart: a client that trusts only the new one gets in, within seconds.
    let renewed = dir.join("renewed");
    std::fs::create_dir_all(&renewed).unwrap();
    let (new_cert, new_key) = self_signed(&renewed).expect("openssl is there");
    std::fs::copy(&new_key, &key).unwrap();
    std::fs::copy(&new_cert, &cert).unwrap();
    let trusts = |ca: &Path| {
        std::process::Command::new(&curl)
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
            .arg(ca)
            .arg(format!("https://127.0.0.1:{port}/readyz"))
            .output()
            .is_ok_and(|o| o.stdout == b"200")
    };
    until("the renewed certificate in use", Duration::from_secs(30), || trusts(&new_cert).then_some(()));
    // And the old one is served no more.
    let old_ca = dir.join("old-ca.crt");
    std::fs::write(&old_ca, &first_cert).unwrap();
    assert!(!trusts(&old_ca), "the old certificate is still served");
    server.kill().unwrap();
    let out = server.wait_with_output().unwrap();
    crate::support::assert_secret_unseen(&out, "viewer-secret");
    crate::support::assert_secret_unseen(&out, "on-call-secret");

    // Without checks, only loopback is served; `kubernetes` needs a cluster to ask.
    let state = dir.join("state2").display().to_string();
    for (args, expected) in [
        (["--listen", "0.0.0.0:0"], "open to anyone on 0.0.0.0:0"),
        (["--api-auth", "kubernetes"], "needs a management cluster"),
    ] {
        let out = bulkhead()
            .args(["serve", "--state", &state, "--for", "5s"])
            .args(args)
            .arg(dir.join("fleet"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn the_openapi_document_is_checked_in_and_valid() {
    let out = bulkhead().args(["schema", "--openapi"]).output().unwrap();
    assert!(out.status.success());
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let checked_in = std::fs::read_to_string(repo_root().join("docs/openapi.json")).expect("docs/openapi.json exists");
    let checked_in: Value = serde_json::from_str(&checked_in).unwrap();
    assert!(
        printed == checked_in,
        "docs/openapi.json is stale: run `cargo run -- schema --openapi > docs/openapi.json`"
    );
    for route in bulkhead_serve::api::ROUTES {
        assert!(printed["paths"][route.path][route.method.to_ascii_lowercase()].is_object(), "{}", route.path);
    }
    // A real validator of OpenAPI 3.1 (openapi-spec-validator, from PyPI).
    let available = std::process::Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        bulkhead_test::skip(
            "the Python package openapi-spec-validator is not installed (pip install openapi-spec-validator)",
        );
        return;
    }
    let out = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(repo_root().join("docs/openapi.json"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

fn paused_by(port: u16, job: &str) -> Option<String> {
    let jobs = get(port, "/api/v1/jobs", None).json();
    let found = jobs["items"].as_array()?.iter().find(|j| j["job"] == job)?.clone();
    found["paused"]["by"].as_str().map(str::to_string)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pause_taken_through_one_replica_holds_on_the_other() {
    let Some(env) = TestEnv::require(1) else { return };
    let ns = namespace_with_settings(&env, "api-pause").await;
    let dir = scratch("api-pause");
    one_app_fleet(&env, &dir, ns.name(), "yearly", "0 0 1 1 *", 10);
    let c0 = env.cluster(0).name.clone();
    let replica = |identity: &str, port: u16| {
        bulkhead()
            .args([
                "serve",
                "--state",
                &dir.join(identity).display().to_string(),
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .args(["--api-auth", "none", "--drift-every", "0", "--check-every", "0"])
            .args(["--lease-cluster", &c0, "--lease-namespace", ns.name(), "--lease-duration", "6s"])
            .args(["--identity", identity, "--for", "3m"])
            .arg(&dir)
            .env(PASSWORD_ENV, PASSWORD)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (port_a, port_b) = (free_port(), free_port());
    let (mut a, mut b) = (replica("a", port_a), replica("b", port_b));
    wait_ready(port_a, &mut a);
    wait_ready(port_b, &mut b);
    let job = format!("backup/yearly/{c0}/shop");

    // Paused through B, it holds on A (whichever of them leads) ...
    assert_eq!(post(port_b, "/api/v1/schedules/pause", None, Some(json!({"job": job}))).status, 200);
    until("the pause on the other replica", Duration::from_secs(15), || {
        (paused_by(port_a, &job).as_deref() == Some("anonymous")).then_some(())
    });
    // ... because it is kept beside the Leases.
    let leases: kube::Api<k8s_openapi::api::coordination::v1::Lease> =
        kube::Api::namespaced(env.client(0).await, ns.name());
    let kept = leases.get("bulkhead-serve-pauses").await.expect("the pauses' Lease");
    let annotations = kept.metadata.annotations.unwrap_or_default();
    assert!(annotations.values().any(|v| v.contains(&job)), "{annotations:?}");
    // Resumed through A, it runs on B's schedule again.
    assert_eq!(post(port_a, "/api/v1/schedules/resume", None, Some(json!({"job": job}))).status, 200);
    until("the resume on the other replica", Duration::from_secs(15), || {
        paused_by(port_b, &job).is_none().then_some(())
    });

    // "Back up now" through either replica: the one holding the job's shard
    // starts it; the other hands it over through the same Lease.
    let by_hand = |port: u16| -> usize {
        let runs = get(port, &format!("/api/v1/runs?job={job}"), None).json();
        runs["items"].as_array().unwrap().iter().filter(|r| r.get("slot").is_none() && r.get("ended").is_some()).count()
    };
    let asked: Vec<(u16, Answer)> =
        [port_a, port_b].into_iter().map(|p| (p, post(p, "/api/v1/apps/shop/backup", None, None))).collect();
    for (_, answer) in &asked {
        assert_eq!(answer.status, 202, "{}", answer.body);
    }
    let handed_by: Vec<u16> = asked
        .iter()
        .filter(|(_, a)| a.json()["message"].as_str().unwrap().contains("on the replica holding its shard"))
        .map(|(p, _)| *p)
        .collect();
    assert_eq!(
        handed_by.len(),
        1,
        "one replica holds the shard, the other hands over: {:?}",
        asked.iter().map(|(_, a)| &a.body).collect::<Vec<_>>()
    );
    let (other, holder) = if handed_by[0] == port_a { (port_a, port_b) } else { (port_b, port_a) };
    let first = until("a backup asked for by hand ran", Duration::from_secs(90), || {
        let n = by_hand(holder);
        (n >= 1
            && paused_by(holder, &job).is_none()
            && get(holder, "/api/v1/jobs", None).json()["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|j| j["running"] != true))
        .then_some(n)
    });
    // Asked through the other replica alone, it runs on the holder.
    assert_eq!(post(other, "/api/v1/apps/shop/backup", None, None).status, 202);
    until("the handed-over backup ran on the holder", Duration::from_secs(90), || {
        (by_hand(holder) > first).then_some(())
    });
    assert_eq!(by_hand(other), 0, "nothing ran on the replica that handed over");
    let kept = leases.get("bulkhead-serve-pauses").await.expect("the pauses' Lease");
    let left: Vec<String> = kept
        .metadata
        .annotations
        .unwrap_or_default()
        .into_keys()
        .filter(|k| k.starts_with("run.bulkhead.dev/"))
        .collect();
    assert!(left.is_empty(), "requests taken are taken off the Lease: {left:?}");
    for mut replica in [a, b] {
        replica.kill().unwrap();
        let _ = replica.wait();
    }
}
