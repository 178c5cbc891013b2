//! The shipped alert rules (`deploy/alerts.yaml`): valid and unit-tested
//! by Prometheus's own `promtool`, the PrometheusRule equal to the rule
//! file, and every metric they read one that `bulkhead serve` exports.

use std::path::Path;
use std::process::Command;

use bulkhead_test::program::PROMTOOL;
use serde_json::Value;

fn deploy(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy").join(file)
}

fn yaml(file: &str) -> Value {
    let text = std::fs::read_to_string(deploy(file)).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn promtool_checks_the_rules_and_their_unit_tests_pass() {
    let Some(promtool) = PROMTOOL.require() else { return };
    for args in [vec!["check", "rules", "alerts.yaml"], vec!["test", "rules", "alerts.test.yaml"]] {
        let out = Command::new(&promtool).args(&args).current_dir(deploy("")).output().unwrap();
        assert!(
            out.status.success(),
            "promtool {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_prometheus_rule_holds_the_same_groups_as_the_rule_file() {
    let rules = yaml("alerts.yaml");
    let operator = yaml("prometheusrule.yaml");
    assert_eq!(operator["kind"], "PrometheusRule");
    assert_eq!(operator["spec"]["groups"], rules["groups"], "deploy/prometheusrule.yaml and deploy/alerts.yaml differ");
}

#[test]
fn every_metric_the_rules_read_is_one_serve_exports() {
    let metrics = bulkhead_serve::metrics::Metrics::default();
    let mut registry = prometheus_client::registry::Registry::default();
    metrics.register(&mut registry);
    // A sample of each (families without one are not written out).
    let figures = bulkhead_serve::Figures { objects: Some(3), bytes: Some(100), ..Default::default() };
    metrics.started("backup", "backup/p/c/a", 1.0, 0.5);
    metrics.ended("backup", "backup/p/c/a", "succeeded", 2.0, 3.0, &figures);
    metrics.backup_age("a", Some(60.0), Some(900.0));
    metrics.drill("d", "a", 30.0, Some(60.0));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    let exported: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("# TYPE ")?.split(' ').next()).collect();
    let rules = std::fs::read_to_string(deploy("alerts.yaml")).unwrap();
    let mut unknown = Vec::new();
    for (i, _) in rules.match_indices("bulkhead_") {
        let name: String = rules[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        // Counters are exported as NAME_total of the family NAME.
        let family = name.strip_suffix("_total").unwrap_or(&name);
        if !exported.contains(&family) {
            unknown.push(name);
        }
    }
    assert!(exported.len() > 10, "{text}");
    assert!(unknown.is_empty(), "the rules read metrics serve does not export: {unknown:?}\nexported: {exported:?}");
}
