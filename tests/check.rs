use insta_cmd::assert_cmd_snapshot;

use crate::support::bulkhead;

/// The README's first command.
#[test]
fn check_example_fleet() {
    let mut cmd = bulkhead();
    cmd.args(["check", "examples/multicloud"]);
    assert_cmd_snapshot!(cmd);
}

#[test]
fn check_example_fleet_json() {
    let mut cmd = bulkhead();
    cmd.args(["check", "examples/multicloud", "--output", "json"]);
    assert_cmd_snapshot!(cmd);
}

/// Warnings fail the check only when asked to (exit 1: a policy failed).
#[test]
fn check_fails_on_warnings_when_asked() {
    let out = bulkhead().args(["check", "examples/multicloud", "--fail-on", "warning"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("verdict: FAIL"));
}

/// Bad input is exit 2, not a policy failure.
#[test]
fn check_bad_input_is_exit_2() {
    let out = bulkhead().args(["check", "tests/fleets/broken/wrong-type"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("verdict: INVALID INPUT"));
}

/// The schema printed is the one checked in for editors (regenerate with
/// `cargo run -- schema > docs/fleet.schema.json`).
#[test]
fn schema_matches_checked_in_copy() {
    let out = bulkhead().arg("schema").output().unwrap();
    assert!(out.status.success());
    let checked_in = std::fs::read_to_string(crate::support::repo_root().join("docs/fleet.schema.json"))
        .expect("docs/fleet.schema.json exists");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        checked_in,
        "run `cargo run -- schema > docs/fleet.schema.json`"
    );
}

/// Usage mistakes exit 2, as clap reports them.
#[test]
fn usage_error_is_exit_2() {
    let out = bulkhead().args(["validate", "--output", "yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_teaches() {
    let mut cmd = bulkhead();
    cmd.arg("--help");
    assert_cmd_snapshot!(cmd);
}
