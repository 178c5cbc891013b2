//! One output contract: with `--output json|sarif|junit` every command
//! prints one document of that format on every path (bad input, failures of
//! the outside world and usage mistakes included), and the exit code says
//! whose move it is: 0 pass, 1 findings, 2 input or usage, 3 outside world.

use std::process::Output;

use serde_json::Value;

use crate::support::{bulkhead, scratch};

const FORMATS: [&str; 3] = ["json", "sarif", "junit"];

/// Parses stdout as `format`, or says why it does not.
fn parses(format: &str, out: &Output) -> Result<(), String> {
    let text = String::from_utf8_lossy(&out.stdout);
    match format {
        "json" => serde_json::from_str::<Value>(&text).map(drop).map_err(|e| format!("not JSON ({e}): {text}")),
        "sarif" => {
            let doc: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON ({e}): {text}"))?;
            if doc["version"] == "2.1.0" && doc["runs"].is_array() { Ok(()) } else { Err(format!("not SARIF: {text}")) }
        }
        "junit" => {
            let doc = roxmltree::Document::parse(&text).map_err(|e| format!("not XML ({e}): {text}"))?;
            let root = doc.root_element().tag_name().name();
            if root == "testsuites" || root == "testsuite" { Ok(()) } else { Err(format!("not JUnit: {text}")) }
        }
        _ => unreachable!(),
    }
}

fn run(args: &[&str]) -> Output {
    bulkhead().args(args).output().expect("runs")
}

/// Every reporting command, every machine format, on a broken fleet (exit 2)
/// and on the example fleet (exit 0 or 1).
#[test]
fn every_command_prints_its_format_on_every_path() {
    let commands: [&[&str]; 5] = [&["validate"], &["check"], &["audit"], &["blast"], &["net", "check"]];
    let mut failures = Vec::new();
    for command in commands {
        for (fleet, codes) in [("tests/fleets/broken/many-mistakes", &[2][..]), ("examples/multicloud", &[0, 1][..])] {
            for format in FORMATS {
                let mut args = command.to_vec();
                args.extend([fleet, "--output", format]);
                let out = run(&args);
                let code = out.status.code().unwrap_or(-1);
                if !codes.contains(&code) {
                    failures.push(format!("{args:?}: exit {code}, expected {codes:?}"));
                }
                if let Err(why) = parses(format, &out) {
                    failures.push(format!("{args:?}: {why}"));
                }
            }
        }
    }
    for (fleet, code) in [("tests/fleets/broken/many-mistakes", 2), ("examples/multicloud", 0)] {
        let out = run(&["net", "plan", fleet, "--dry-run", "--output", "json"]);
        if out.status.code() != Some(code) {
            failures.push(format!("net plan {fleet}: exit {:?}, expected {code}", out.status.code()));
        }
        if let Err(why) = parses("json", &out) {
            failures.push(format!("net plan {fleet}: {why}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Usage and input mistakes found after parsing are exit 2, and still a
/// document of the requested format.
#[test]
fn failures_keep_the_format_and_exit_by_kind() {
    let dir = scratch("output-failures");
    let html = dir.join("no-such-folder/report.html");
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (
            vec!["blast".into(), "examples/multicloud".into(), "--simulate".into(), "zone=nowhere".into()],
            2,
            "no zone named `nowhere`",
        ),
        (
            vec!["blast".into(), "examples/multicloud".into(), "--html".into(), html.display().to_string()],
            2,
            "cannot write",
        ),
        (vec!["audit".into(), "--manifests".into(), "no/such/path".into()], 2, "no such file or folder"),
    ];
    for (args, code, message) in cases {
        for format in FORMATS {
            let mut full = args.clone();
            full.extend(["--output".into(), format.into()]);
            let out = bulkhead().args(&full).output().unwrap();
            assert_eq!(out.status.code(), Some(code), "{full:?}: {}", String::from_utf8_lossy(&out.stderr));
            parses(format, &out).unwrap_or_else(|why| panic!("{full:?}: {why}"));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains(message), "{full:?}: stderr says why: {stderr}");
        }
    }
}

/// Regression: `--simulate zone=a` took the first of several zones named
/// `a`; it must refuse and list every candidate by its full path.
#[test]
fn simulate_refuses_an_ambiguous_name() {
    let dir = scratch("output-ambiguous");
    std::fs::write(
        dir.join("fleet.yaml"),
        "apiVersion: bulkhead.dev/v1alpha1\nkind: Fleet\nmetadata: {name: twin}\nspec:\n  providers:\n    - {name: aws, kind: aws, regions: [{name: east, zones: [a, b]}, {name: west, zones: [a, b]}]}\n  clusters:\n    - {name: e, location: aws/east, controlPlane: {managed: true}, nodePools: [{name: p, count: 2}]}\n    - {name: w, location: aws/west, controlPlane: {managed: true}, nodePools: [{name: p, count: 2}]}\n",
    )
    .unwrap();
    let out = bulkhead().arg("blast").arg(&dir).args(["--simulate", "zone=a"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("aws/east/a") && stderr.contains("aws/west/a"), "{stderr}");
    let out = bulkhead().arg("blast").arg(&dir).args(["--simulate", "zone=aws/west/a"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Regression: `BULKHEAD_OUTPUT=sarif` made `net plan` (human or JSON only)
/// refuse to run; the variable applies only where its value is accepted.
#[test]
fn output_variable_applies_only_where_accepted() {
    let out = bulkhead()
        .env("BULKHEAD_OUTPUT", "sarif")
        .args(["net", "plan", "examples/multicloud", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = bulkhead()
        .env("BULKHEAD_OUTPUT", "json")
        .args(["net", "plan", "examples/multicloud", "--dry-run"])
        .output()
        .unwrap();
    parses("json", &out).unwrap();
}

/// A cluster that refuses connections: exit 3 quickly, the address and the
/// cause in words, and no log lines of the Kubernetes client (nor colour
/// codes) on a pipe.
#[test]
fn unreachable_cluster_says_where_and_why() {
    let dir = scratch("output-unreachable");
    std::fs::write(
        dir.join("kubeconfig"),
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: not-a-secret}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("fleet.yaml"),
        "apiVersion: bulkhead.dev/v1alpha1\nkind: Fleet\nmetadata: {name: gone}\nspec:\n  providers: [{name: aws, kind: aws, regions: [{name: r, zones: [a, b, c]}]}]\n  clusters:\n    - {name: gone, location: aws/r, access: {kubeconfig: kubeconfig}, controlPlane: {managed: true}, nodePools: [{name: p, count: 3}]}\n",
    )
    .unwrap();
    for command in [&["audit", "--live"][..], &["check", "--live"], &["net", "check", "--live"], &["blast", "--live"]] {
        let out = bulkhead().args(command).arg(&dir).output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(3), "{command:?}: {stdout}{stderr}");
        assert!(
            stdout.contains("https://127.0.0.1:1") && stdout.contains("connection refused"),
            "{command:?}: {stdout}"
        );
        assert!(
            !stderr.contains("ERROR") && !stderr.contains('\u{1b}'),
            "{command:?}: library logs on stderr: {stderr}"
        );
    }
}

/// The commands that report what they did print a table or JSON (a drill
/// JUnit too), and accept no other format: `--output sarif` is a usage
/// mistake, while `BULKHEAD_OUTPUT=sarif`, a default meant for the
/// analyses, leaves them at human.
#[test]
fn each_command_accepts_only_the_formats_it_prints() {
    let refused: [&[&str]; 9] = [
        &["backup", "create", "--cluster", "x"],
        &["backup", "list"],
        &["backup", "show", "latest"],
        &["backup", "forget"],
        &["restore", "--from", "latest", "--to", "x"],
        &["etcd", "snapshot", "--cluster", "x"],
        &["etcd", "forget", "--cluster", "x"],
        &["drill", "history"],
        &["drill", "run", "d"],
    ];
    for command in refused {
        let out = run(&[command, &["--output", "sarif"]].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(stderr.contains("invalid value 'sarif'"), "{command:?}: {stderr}");
    }
    let junit = run(&["drill", "history", "tests/fleets/broken/many-mistakes", "--output", "junit"]);
    assert!(!String::from_utf8_lossy(&junit.stderr).contains("invalid value"), "a drill writes JUnit");
    let out = bulkhead()
        .args(["backup", "list", "tests/fleets/broken/many-mistakes"])
        .env("BULKHEAD_OUTPUT", "sarif")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "the fleet is broken: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "human: the failure goes to stderr only: {}", String::from_utf8_lossy(&out.stdout));
    let out = bulkhead()
        .args(["backup", "list", "tests/fleets/broken/many-mistakes"])
        .env("BULKHEAD_OUTPUT", "json")
        .output()
        .unwrap();
    assert!(
        serde_json::from_slice::<Value>(&out.stdout).is_ok(),
        "json from the variable: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
