//! `bulkhead audit`: every check has a failing fixture that it reports and
//! a passing one (its own `pass.yaml`, or the hardened baseline) that it
//! does not; the fixtures run in `tests/audit/fleet.yaml`.

use std::collections::BTreeSet;
use std::path::Path;

use insta_cmd::assert_cmd_snapshot;
use serde_json::Value;

use crate::support::{bulkhead, repo_root, scratch};

/// Builds a fleet around one fixture: the first lines may say
/// `# placement: cluster,cluster tier: N`.
fn fleet_for(fixture: &Path, name: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(fixture).unwrap();
    let dir = scratch(&format!("audit-{name}"));
    let mut fleet = std::fs::read_to_string(repo_root().join("tests/audit/fleet.yaml")).unwrap();
    if let Some(header) = text.lines().next().and_then(|l| l.strip_prefix("# placement: ")) {
        let (clusters, tier) = header.split_once(" tier: ").unwrap_or((header, "1"));
        fleet = fleet
            .replace(
                "placement: {clusters: {names: [aws-prod]}}",
                &format!("placement: {{clusters: {{names: [{clusters}]}}}}"),
            )
            .replace("sla: {tier: 1, rto: 5m, rpo: 1h}", &format!("sla: {{tier: {}, rto: 5m, rpo: 1h}}", tier.trim()));
    }
    std::fs::write(dir.join("fleet.yaml"), fleet).unwrap();
    std::fs::create_dir_all(dir.join("apps/app")).unwrap();
    std::fs::write(dir.join("apps/app/manifests.yaml"), text).unwrap();
    dir
}

/// (code, message) of every finding of the audit of `fixture`.
fn findings(fixture: &Path, name: &str) -> Vec<(String, String)> {
    let dir = fleet_for(fixture, name);
    let out = bulkhead().arg("audit").arg(&dir).args(["--output", "json"]).output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["code"].as_str().unwrap().to_string(), d["message"].as_str().unwrap().to_string()))
        .collect()
}

fn check_ids() -> Vec<String> {
    let out = bulkhead().args(["audit", "--list-checks", "--output", "json"]).output().unwrap();
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn the_hardened_baseline_passes_every_check() {
    let found = findings(&repo_root().join("tests/audit/hardened.yaml"), "hardened");
    assert_eq!(found, vec![], "the baseline that stands in as every check's passing fixture must be clean");
}

#[test]
fn every_check_fires_on_its_failing_fixture_and_not_on_its_passing_one() {
    let dir = repo_root().join("tests/audit/checks");
    let mut report = String::new();
    for id in check_ids() {
        if id.starts_with("live-") {
            continue; // only running clusters show these: tests/audit_live.rs
        }
        let fail = dir.join(&id).join("fail.yaml");
        assert!(fail.exists(), "check `{id}` has no failing fixture at {}", fail.display());
        let found = findings(&fail, &format!("{id}-fail"));
        let hits: Vec<&String> = found.iter().filter(|(c, _)| *c == id).map(|(_, m)| m).collect();
        assert!(!hits.is_empty(), "check `{id}` did not fire on its failing fixture; found {found:?}");
        for m in hits {
            report.push_str(&format!("{id}: {m}\n"));
        }
        let pass = dir.join(&id).join("pass.yaml");
        let pass = if pass.exists() { pass } else { repo_root().join("tests/audit/hardened.yaml") };
        let found = findings(&pass, &format!("{id}-pass"));
        assert!(
            found.iter().all(|(c, _)| *c != id),
            "check `{id}` fired on its passing fixture {}: {found:?}",
            pass.display()
        );
    }
    // Every fixture directory is a check (a renamed check leaves none behind).
    let ids: BTreeSet<String> = check_ids().into_iter().collect();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(ids.contains(&name), "tests/audit/checks/{name} names no check");
    }
    insta::assert_snapshot!("failing_fixtures", report);
}

/// The example fleet's findings, as people read them.
#[test]
fn audit_example_fleet() {
    let mut cmd = bulkhead();
    cmd.args(["audit", "examples/multicloud"]);
    assert_cmd_snapshot!(cmd);
}

/// Settings in fleet.yaml: a typo is a warning with a suggestion; a check
/// turned off stays silent; an object can opt out by annotation.
#[test]
fn audit_settings_and_suppressions() {
    let fixture = repo_root().join("tests/audit/checks/image-tag-mutable/fail.yaml");
    let dir = fleet_for(&fixture, "settings");
    let fleet = std::fs::read_to_string(dir.join("fleet.yaml")).unwrap();
    std::fs::write(
        dir.join("fleet.yaml"),
        fleet.replace(
            "      image-pull-policy-always: {enabled: true}\n",
            "      image-pull-policy-always: {enabled: true}\n      image-tag-mutable: {severity: info}\n      probe-readines-missing: {enabled: false}\n",
        ),
    )
    .unwrap();
    let out = bulkhead().arg("audit").arg(&dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("note[image-tag-mutable]"), "{text}");
    assert!(text.contains("warning[unknown-check]: unknown check `probe-readines-missing`"), "{text}");
    assert!(text.contains("did you mean `probe-readiness-missing`?"), "{text}");
    assert_eq!(out.status.code(), Some(0), "a note does not fail the audit");

    let manifests = std::fs::read_to_string(dir.join("apps/app/manifests.yaml")).unwrap();
    std::fs::write(
        dir.join("apps/app/manifests.yaml"),
        manifests.replacen(
            "  name: api\n  labels:",
            "  name: api\n  annotations: {bulkhead.dev/audit-ignore: \"image-tag-mutable, image-pull-policy-always\"}\n  labels:",
            1,
        ),
    )
    .unwrap();
    let out = bulkhead().arg("audit").arg(&dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("image-tag-mutable"), "{text}");
}
