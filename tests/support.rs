//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `bulkhead` binary, run from the repository root with colour off and
/// no `BULKHEAD_*` settings leaking in from the environment.
pub fn bulkhead() -> Command {
    let mut cmd = Command::new(insta_cmd::get_cargo_bin("bulkhead"));
    cmd.current_dir(repo_root()).env("NO_COLOR", "1");
    for (key, _) in std::env::vars() {
        if key.starts_with("BULKHEAD_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The broken fleets, by name, sorted.
pub fn broken_fleets() -> Vec<String> {
    let dir = repo_root().join("tests/fleets/broken");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/fleets/broken exists")
        .map(|e| e.expect("readable").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Filters for snapshots of the recovery commands' output: what differs
/// from run to run (snapshot ids, times, sizes, durations, the test's own
/// namespace, scratch paths) becomes a placeholder.
pub fn recovery_filters(namespace: &str) -> Vec<(String, String)> {
    vec![
        (regex_escape(namespace), "[namespace]".into()),
        (r"[0-9a-f]{64}".into(), "[id]".into()),
        (r"\b[0-9a-f]{8}\b".into(), "[short-id]".into()),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)".into(), "[time]".into()),
        (r#"/[^\s"]*/backup-[a-z-]+/repo"#.into(), "[repo]".into()),
        (r"\b\d+\.\d+ s\b".into(), "[seconds] s".into()),
        (r"\b\d{3,}\b".into(), "[n]".into()),
        // Column padding follows the widths of what was replaced above.
        (r"(\S) {2,}".into(), "$1  ".into()),
    ]
}

/// `text` as a regular expression that matches it alone (for insta's filters).
pub fn regex_escape(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_string() } else { format!("\\{c}") }).collect()
}

/// Fails when `secret` shows anywhere in what a command printed.
///
/// # Panics
/// When it does, naming the stream and the line.
pub fn assert_secret_unseen(out: &std::process::Output, secret: &str) {
    for (name, stream) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(stream);
        if let Some(line) = text.lines().find(|l| l.contains(secret)) {
            panic!("a secret showed on {name}: {line}");
        }
    }
}

/// Stock restic on the local repository `repo`, run in `cwd` with the
/// test repositories' password.
///
/// # Panics
/// When restic cannot be run: check with [`restic_init`] or
/// `bulkhead_test::program::RESTIC.require()` first.
pub fn restic(repo: &Path, cwd: &Path, args: &[&str]) -> std::process::Output {
    Command::new("restic")
        .args(args)
        .arg("--repo")
        .arg(repo)
        .arg("--no-cache")
        .current_dir(cwd)
        .env("RESTIC_PASSWORD", crate::backup::PASSWORD)
        .output()
        .unwrap_or_else(|e| panic!("restic {args:?}: {e}"))
}

/// Creates the local repository `repo` with stock restic: false (and the
/// test skips, or fails under CI) when restic is not installed.
pub fn restic_init(repo: &Path, cwd: &Path) -> bool {
    if bulkhead_test::program::RESTIC.require().is_none() {
        return false;
    }
    let init = restic(repo, cwd, &["init"]);
    assert!(init.status.success(), "restic init: {}", String::from_utf8_lossy(&init.stderr));
    true
}

/// A scratch directory under the target folder, emptied first.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Copies a directory tree (fixture fleets into scratch space).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create target dir");
    for entry in std::fs::read_dir(from).expect("readable fixture") {
        let entry = entry.expect("readable entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy fixture file");
        }
    }
}

/// A fleet whose clusters are the test environment's, reached through its
/// kubeconfigs, with the ranges the environment gave them, written into `dir`.
pub fn testenv_fleet(env: &bulkhead_test::TestEnv, dir: &Path) {
    testenv_fleet_with_apps(env, dir, "");
}

/// Like [`testenv_fleet`], with an `apps:` section (YAML, indented as
/// items of `spec.apps`); each app's manifest directory is created empty.
pub fn testenv_fleet_with_apps(env: &bulkhead_test::TestEnv, dir: &Path, apps: &str) {
    testenv_fleet_with(env, dir, apps, "");
}

/// [`testenv_fleet_with_apps`], with more of `spec` (such as a `dr:` section, indented two spaces).
pub fn testenv_fleet_with(env: &bulkhead_test::TestEnv, dir: &Path, apps: &str, more: &str) {
    let mut providers = String::new();
    let mut clusters = String::new();
    for (i, c) in env.clusters.iter().enumerate() {
        let racks = if c.racks.is_empty() { String::new() } else { format!(", racks: [{}]", c.racks.join(", ")) };
        providers.push_str(&format!(
            "    - {{name: {}, kind: {}, regions: [{{name: {}, zones: [{}]{racks}}}]}}\n",
            c.provider,
            c.provider_kind,
            c.region,
            c.zones.join(", ")
        ));
        clusters.push_str(&format!(
            "    - name: {name}\n      location: {provider}/{region}\n      access: {{kubeconfig: {kubeconfig}, context: {context}}}\n      controlPlane: {{nodeMonitorGracePeriod: {grace}}}\n      network: {{nodes: 10.{n}.0.0/16, pods: {pods}, services: {services}, clusterId: {id}}}\n      nodePools: [{{name: kwok, count: {count}}}]\n",
            name = c.name,
            provider = c.provider,
            region = c.region,
            kubeconfig = c.kubeconfig.display(),
            context = c.context,
            n = 100 + i,
            pods = c.pod_cidr,
            services = c.service_cidr,
            id = i + 1,
            count = c.nodes.len(),
            grace = c.node_monitor_grace_period,
        ));
    }
    let mut fleet = format!(
        "apiVersion: bulkhead.dev/v1alpha1\nkind: Fleet\nmetadata: {{name: testenv}}\nspec:\n  network:\n    supernets: [10.0.0.0/8]\n  providers:\n{providers}  clusters:\n{clusters}"
    );
    if !apps.is_empty() {
        fleet.push_str("  apps:\n");
        fleet.push_str(apps);
        for line in apps.lines().filter_map(|l| l.trim().strip_prefix("manifests: ")) {
            std::fs::create_dir_all(dir.join(line)).expect("create the app's manifest directory");
        }
    }
    fleet.push_str(more);
    std::fs::write(dir.join("fleet.yaml"), fleet).expect("write fleet.yaml");
}

/// The fleet most recovery tests need: the test clusters, an app `shop` in
/// `namespace` on cluster 0 backed up by `policy` (of `schedule`, keeping
/// the `last` newest) into a local repository at `dir/repo`.
pub fn one_app_fleet(
    env: &bulkhead_test::TestEnv,
    dir: &Path,
    namespace: &str,
    policy: &str,
    schedule: &str,
    last: u32,
) {
    let c0 = &env.cluster(0).name;
    let apps = format!(
        "    - name: shop\n      manifests: apps/shop\n      namespace: {namespace}\n      placement: {{clusters: {{names: [{c0}]}}}}\n      backup: {{policy: {policy}}}\n"
    );
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: local, url: {}, passwordEnv: {}}}\n    policies:\n      - {{name: {policy}, schedule: \"{schedule}\", repository: local, keep: {{last: {last}}}}}\n",
        dir.join("repo").display(),
        crate::backup::PASSWORD_ENV
    );
    testenv_fleet_with(env, dir, &apps, &dr);
}

/// Creates `object` (JSON with apiVersion and kind) in `ns`, or cluster-wide,
/// retrying for a few seconds: a custom resource is served a moment after
/// its definition. The plural is the kind's lower case plus `s`.
pub async fn create_object(client: &kube::Client, ns: Option<&str>, object: serde_json::Value) {
    use kube::api::{DynamicObject, PostParams};
    let (group, version) = object["apiVersion"].as_str().unwrap().rsplit_once('/').unwrap_or(("", "v1"));
    let gvk = kube::api::GroupVersionKind::gvk(group, version, object["kind"].as_str().unwrap());
    let plural = object["kind"].as_str().unwrap().to_ascii_lowercase() + "s";
    let resource = kube::discovery::ApiResource::from_gvk_with_plural(&gvk, &plural);
    let api: kube::Api<DynamicObject> = match ns {
        Some(ns) => kube::Api::namespaced_with(client.clone(), ns, &resource),
        None => kube::Api::all_with(client.clone(), &resource),
    };
    let object: DynamicObject = serde_json::from_value(object).unwrap();
    let mut last = String::new();
    for _ in 0..50 {
        match api.create(&PostParams::default(), &object).await {
            Ok(_) => return,
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("cannot create {object:?}: {last}");
}

/// The documents of a YAML stream as JSON, read with the Kubernetes (YAML
/// 1.1) rules kubectl uses.
pub fn yaml_documents(yaml: &str) -> Vec<serde_json::Value> {
    use bulkhead_model::yaml::{Limits, ScalarSchema, parse_with};
    let file = bulkhead_model::SourceFile::new("stream.yaml", yaml);
    let docs = parse_with(&file, Limits::default(), ScalarSchema::Kubernetes)
        .unwrap_or_else(|e| panic!("not YAML ({e:?}): {yaml}"));
    docs.docs.iter().map(|d| d.to_json()).collect()
}

/// A namespaced `Widget` custom resource definition in API group `group`,
/// with no schema to speak of (tests only need one to exist).
pub fn widget_crd(group: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("widgets.{group}")},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
    })
}

/// Runs `command` with `input` on its standard input, and waits for its output.
pub fn output_with_stdin(mut command: std::process::Command, input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// A ServiceAccount `name` in `namespace`, bound to the Role `rules` (JSON
/// RBAC rules), and a token the API server issued for it (ten minutes).
pub async fn service_account_with_token(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    rules: serde_json::Value,
) -> String {
    use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
    use k8s_openapi::api::core::v1::ServiceAccount;
    let ns = Some(namespace);
    create_object(
        client,
        ns,
        serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}),
    )
    .await;
    if !rules.is_null() {
        create_object(
            client,
            ns,
            serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": name}, "rules": rules}),
        )
        .await;
        create_object(
            client,
            ns,
            serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": name},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]}),
        )
        .await;
    }
    let accounts: kube::Api<ServiceAccount> = kube::Api::namespaced(client.clone(), namespace);
    let request = TokenRequest {
        spec: Some(TokenRequestSpec { expiration_seconds: Some(600), ..Default::default() }),
        ..Default::default()
    };
    let issued = accounts.create_token_request(name, &Default::default(), &request).await.unwrap();
    issued.status.and_then(|s| s.token).expect("the API server issued a token")
}

/// An answer of a server the tests started: status, headers (lowercase), body.
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The head, lowercase.
    pub headers: String,
    /// The body.
    pub body: String,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One plain HTTP/1.1 request to 127.0.0.1:`port`, with a bearer `token`
/// and a JSON `body` when given, read for at most `wait`; `None` while
/// nothing answers.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
    wait: std::time::Duration,
) -> Option<Answer> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(wait)).ok()?;
    let body = body.map(serde_json::Value::to_string).unwrap_or_default();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    } else if method == "POST" {
        head.push_str("Content-Length: 0\r\n");
    }
    write!(stream, "{head}\r\n{body}").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Some(Answer { status, headers: headers.to_ascii_lowercase(), body: body.to_string() })
}

/// The hex SHA-256 of `text`, as a token file holds a token.
pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A loopback HTTP server answering each request with what `answer` gives
/// for its method and path (a status line such as `200 OK`, and a body);
/// its port. It runs until the test ends.
pub async fn serve_http<F>(answer: F) -> u16
where
    F: Fn(&str, &str) -> (&'static str, String) + Send + Sync + 'static,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let answer = std::sync::Arc::new(answer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&request).lines().next().unwrap_or_default().to_string();
                let mut words = line.split_whitespace();
                let (method, path) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
                let (status, body) = answer(method, path);
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    port
}

/// `bulkhead` arguments: `command`, then `more`, then the fleet.
pub fn cli_args(command: &[&str], more: &[&str], fleet: &str) -> Vec<String> {
    command.iter().chain(more).map(|s| (*s).to_string()).chain([fleet.to_string()]).collect()
}
