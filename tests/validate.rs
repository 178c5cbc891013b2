use std::collections::BTreeSet;

use insta_cmd::assert_cmd_snapshot;

use crate::support::{broken_fleets, bulkhead, scratch};

/// Every broken fleet gives its diagnostics and exit code 2.
#[test]
fn broken_fleets_give_expected_diagnostics() {
    let names = broken_fleets();
    assert!(names.len() >= 20, "the corpus holds one fleet per mistake class: {names:?}");
    for name in names {
        let mut cmd = bulkhead();
        cmd.args(["validate", &format!("tests/fleets/broken/{name}")]);
        assert_cmd_snapshot!(format!("broken_{name}"), cmd);
        let code = cmd.output().expect("runs").status.code();
        assert_eq!(code, Some(2), "{name} must exit 2 (bad input)");
    }
}

/// `--output json` holds exactly the diagnostics the human output shows.
#[test]
fn json_output_matches_human_output() {
    for name in broken_fleets() {
        let dir = format!("tests/fleets/broken/{name}");
        let human = bulkhead().args(["validate", &dir]).output().expect("runs");
        let json = bulkhead().args(["validate", &dir, "--output", "json"]).output().expect("runs");
        assert_eq!(human.status.code(), json.status.code(), "{name}");

        let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("valid JSON");
        let from_json: BTreeSet<(String, String, u64)> = doc["diagnostics"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|d| {
                let line = d["span"]["line"].as_u64().unwrap_or(0);
                (d["code"].as_str().unwrap().to_string(), d["message"].as_str().unwrap().to_string(), line)
            })
            .collect();
        let from_human = parse_human(&String::from_utf8_lossy(&human.stdout));
        assert_eq!(from_json, from_human, "{name}");
        assert!(doc["summary"]["errors"].as_u64().unwrap() > 0, "{name} has errors");
    }
}

/// Reads `error[code]: message` headers and their `--> file:line:col` lines.
fn parse_human(text: &str) -> BTreeSet<(String, String, u64)> {
    let mut out = BTreeSet::new();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = ["error[", "warning[", "note["].iter().find_map(|p| line.strip_prefix(p)) else { continue };
        let (code, message) = rest.split_once("]: ").expect("header");
        let line_no = lines
            .get(i + 1)
            .and_then(|l| l.trim_start().strip_prefix("--> "))
            .and_then(|loc| loc.split(':').nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        out.insert((code.to_string(), message.to_string(), line_no));
    }
    out
}

/// A 100 MB file is refused by its size, before anything reads it.
#[test]
fn huge_file_is_refused_without_reading_it() {
    let dir = scratch("huge");
    let file = std::fs::File::create(dir.join("fleet.yaml")).unwrap();
    file.set_len(100 * 1024 * 1024).unwrap();
    let out = bulkhead().arg("validate").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("error[file-too-large]: file is 104857600 bytes; the limit is 16 MiB"), "{stdout}");
}

/// A binary fleet file is named as such.
#[test]
fn binary_fleet_file_is_refused() {
    let dir = scratch("binary");
    std::fs::write(dir.join("fleet.yaml"), [0x7f, b'E', b'L', b'F', 0, 1, 2]).unwrap();
    let out = bulkhead().arg("validate").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("error[binary-file]"));
}

/// No fleet at the given path: a clear error and a hint, exit 2.
#[test]
fn missing_fleet_directory() {
    let mut cmd = bulkhead();
    cmd.args(["validate", "tests/fleets/does-not-exist"]);
    assert_cmd_snapshot!(cmd);
}

/// SARIF and JUnit carry the same findings for CI tools.
#[test]
fn sarif_and_junit_outputs() {
    let mut sarif = bulkhead();
    sarif.args(["validate", "tests/fleets/broken/many-mistakes", "--output", "sarif"]);
    assert_cmd_snapshot!(sarif);
    let mut junit = bulkhead();
    junit.args(["validate", "tests/fleets/broken/manifest-unknown-field", "--output", "junit"]);
    assert_cmd_snapshot!(junit);
}

/// Fleets with warnings only are usable: exit 0, warnings shown.
#[test]
fn warnings_do_not_fail_validation() {
    let dir = crate::support::repo_root().join("tests/fleets/warnings");
    let mut names: Vec<_> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    for name in names {
        let mut cmd = bulkhead();
        cmd.args(["validate", &format!("tests/fleets/warnings/{name}")]);
        assert_cmd_snapshot!(format!("warnings_{name}"), cmd);
        assert_eq!(cmd.output().unwrap().status.code(), Some(0), "{name}");
    }
}
