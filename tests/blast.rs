//! `bulkhead blast`: fixture fleets with hand-checked answers, the HTML
//! report in a real browser, pairs of failures and a game day on paper.

use insta_cmd::assert_cmd_snapshot;
use serde_json::Value;

use crate::support::{bulkhead, repo_root, scratch};

fn blast(fleet: &str, extra: &[&str]) -> (Option<i32>, String) {
    let out = bulkhead().args(["blast", &format!("tests/fleets/blast/{fleet}")]).args(extra).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn fixtures_snapshot() {
    for fleet in ["zone-spof", "quorum", "data-loss", "control-plane", "failover"] {
        let mut cmd = bulkhead();
        cmd.args(["blast", &format!("tests/fleets/blast/{fleet}")]);
        assert_cmd_snapshot!(format!("blast_{fleet}"), cmd);
    }
}

/// Two replicas without a zone spread may share a zone: a tier-1 outage the
/// default policy refuses. Three spread over three zones survive any zone.
#[test]
fn a_zone_that_may_hold_every_replica_fails_the_policy() {
    let (code, text) = blast("zone-spof", &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("error[blast-outage]: losing zone `aws/us-east-1/us-east-1a` takes down tier-1 app `checkout`"),
        "{text}"
    );
    assert!(!text.contains("zone `aws/us-east-1/us-east-1a` takes down tier-1 app `catalog`"), "{text}");
    // A policy on regions instead: the zone outage is still reported, as a
    // warning, and the region (one cluster holds both apps) fails the run.
    let (code, text) = blast("zone-spof", &["--fail-on", "region:1"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("warning[blast-outage]: losing zone `aws/us-east-1/us-east-1a` takes down tier-1 app `checkout`")
    );
    assert!(text.contains("error[blast-outage]: losing region `aws/us-east-1` takes down tier-1 app `catalog`"));
}

/// Three etcd members that may share a zone lose quorum with it; one per
/// zone keeps two of three.
#[test]
fn quorum_survives_a_zone_only_with_one_member_per_zone() {
    let (_, text) = blast("quorum", &["--output", "json"]);
    let doc: Value = serde_json::from_str(&text).unwrap();
    let blast = &doc["blast"];
    let name = |i: &Value| blast["domains"][i.as_u64().unwrap() as usize]["name"].as_str().unwrap().to_string();
    let app = |c: &Value| blast["apps"][c["app"].as_u64().unwrap() as usize]["name"].as_str().unwrap().to_string();
    let zone_cells: Vec<(String, String, String)> = blast["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["failed"].as_array().unwrap().len() == 1 && name(&c["failed"][0]).starts_with("aws/us-east-1/"))
        .map(|c| (name(&c["failed"][0]), app(c), c["impact"].as_str().unwrap().to_string()))
        .collect();
    assert!(
        zone_cells.contains(&("aws/us-east-1/us-east-1a".into(), "locks".into(), "outage".into())),
        "{zone_cells:?}"
    );
    assert!(zone_cells.iter().all(|(_, a, _)| a != "config"), "one member per zone survives any zone: {zone_cells:?}");
}

/// Local disks: a node failure loses the data without a backup; an off-site
/// backup restores it; an on-site one survives a node but not the site.
#[test]
fn data_on_local_disks_is_lost_only_without_a_backup_outside() {
    let (code, text) = blast("data-loss", &[]);
    assert_eq!(code, Some(1), "losing the one zone of the site takes down tier-1 apps");
    assert!(text.contains(
        "warning[blast-data-loss]: losing node `metal-prod/c3 in ams1/r1` loses the data of tier-1 app `ledger`"
    ));
    assert!(text.contains("losing node `metal-prod/c3 in ams1/r1` takes down tier-1 app `audit-log`"));
    assert!(text.contains("recovery: restore from backup, losing up to 1h"));
    let site = "losing zone `metal/ams1/ams1` takes down tier-2 app `history`: StatefulSet/history/history loses 1 of 1 replicas on `metal-prod`; its volumes cannot leave the failed domain and no backup outside it exists";
    assert!(text.contains(site), "{text}");
}

#[test]
fn control_plane_with_two_members_in_one_zone() {
    let (_, text) = blast("control-plane", &[]);
    assert!(text.contains(
        "warning[blast-control-plane]: losing zone `aws/us-east-1/us-east-1a` takes 2 of cluster `self-run`'s 3 etcd members"
    ));
    assert!(!text.contains("losing zone `aws/us-east-1/us-east-1b` takes"), "one member of three is survivable");
}

/// With a traffic policy the other cluster takes over; without one, the app
/// runs there but nobody is sent to it.
#[test]
fn dns_failover_needs_a_traffic_policy() {
    let (_, text) = blast("failover", &["--simulate", "cluster=aws-prod"]);
    assert!(text.contains("search   failover"), "{text}");
    assert!(text.contains("reports  degraded"), "{text}");
}

/// The report of the example fleet, opened in headless Chromium: the matrix
/// has a row per failure domain and a column per app.
#[test]
fn html_report_renders_in_chromium() {
    let dir = scratch("blast-html");
    let html = dir.join("blast.html");
    let out = bulkhead().args(["blast", "examples/multicloud", "--html"]).arg(&html).output().unwrap();
    assert!(html.exists(), "{}", String::from_utf8_lossy(&out.stdout));
    let json = bulkhead().args(["blast", "examples/multicloud", "--output", "json"]).output().unwrap();
    let doc: Value = serde_json::from_slice(&json.stdout).unwrap();
    let (domains, apps) =
        (doc["blast"]["domains"].as_array().unwrap().len(), doc["blast"]["apps"].as_array().unwrap().len());

    let Some(chromium) = bulkhead_test::program::CHROMIUM.require() else { return };
    let profile = dir.join("profile");
    let dom = std::process::Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
        .args(["--disable-component-update", "--disable-sync", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&dom.stdout);
    let matrix = &dom[dom.find("<table id=\"matrix\">").expect("the rendered page has the matrix")..];
    let matrix = &matrix[..matrix.find("</table>").unwrap()];
    assert_eq!(matrix.matches("<tr>").count(), domains + 1, "a header row and a row per domain");
    let header = &matrix[..matrix.find("</tr>").unwrap()];
    assert_eq!(header.matches("<th").count(), apps + 2, "the domain column, an app each, the control planes");
    assert!(dom.contains("<svg id=\"tree\""), "the tree picture is there");
}

/// Pairs of failures: a zone of AWS with the bare-metal site takes the
/// bidder (spread over both) down, though neither alone does.
#[test]
fn depth_two_finds_what_pairs_take_down() {
    let out = bulkhead().args(["blast", "examples/multicloud", "--depth", "2", "--output", "json"]).output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let blast = &doc["blast"];
    let pairs: Vec<&Value> =
        blast["cells"].as_array().unwrap().iter().filter(|c| c["failed"].as_array().unwrap().len() == 2).collect();
    assert!(!pairs.is_empty());
    let names = |c: &Value| -> Vec<String> {
        c["failed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| blast["domains"][i.as_u64().unwrap() as usize]["name"].as_str().unwrap().to_string())
            .collect()
    };
    let bidder = blast["apps"].as_array().unwrap().iter().position(|a| a["name"] == "bidder").unwrap() as u64;
    let both = pairs.iter().find(|c| c["app"] == bidder && names(c) == ["aws".to_string(), "metal".to_string()]);
    assert_eq!(
        both.map(|c| c["impact"].as_str().unwrap()),
        Some("outage"),
        "losing both providers takes the bidder down"
    );
    let _ = repo_root();
}

/// The seed's ECMP caveat: workers uneven over racks take uneven traffic.
#[test]
fn uneven_announcers_on_bare_metal() {
    let (_, text) = blast("announcers", &[]);
    assert!(
        text.contains("warning[blast-uneven-announcers]: cluster `metal-prod`'s workers are uneven over racks (r1: 3, r2: 2, r3: 2): with per-node ECMP, rack `r1` carries 42% of the load-balanced traffic"),
        "{text}"
    );
    let (_, even) = blast("data-loss", &[]);
    assert!(!even.contains("blast-uneven-announcers"), "six workers over three racks are even");
}
