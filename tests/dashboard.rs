//! The dashboard in a real browser (Debian's Chromium, driven by WebDriver):
//! the offline report of examples/multicloud renders its compliance table,
//! fleet map and blast heat map, and a click on a zone lists the apps that
//! zone's loss takes down (the same as `bulkhead blast` says); served by
//! `bulkhead serve`, behind a token typed into the page, an app whose
//! repository is taken away turns red once its backup is older than the
//! RPO and back when the repository returns. Neither page asks any other
//! server. Screenshots are kept beside the test binary (`screenshots/`).

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use bulkhead_test::TestEnv;
use serde_json::Value;

use crate::backup::{PASSWORD, PASSWORD_ENV};
use crate::serve::{free_port, namespace_with_settings};
use crate::support::{bulkhead, repo_root, scratch, sha256_hex, testenv_fleet_with};
use crate::webdriver::Browser;

/// The page loaded only from `origin`: every resource it fetched, by the
/// browser's own account (Resource Timing; it lists none for `file:`
/// pages), and every address its elements name.
fn assert_only_from(browser: &Browser, origin: &str) {
    let fetched = browser.run(
        "return performance.getEntriesByType('resource').map(e => e.name)
           .concat([...document.querySelectorAll('[src], link[href]')].map(e => e.src || e.href));",
    );
    let fetched: Vec<String> = serde_json::from_value(fetched).unwrap();
    assert!(fetched.len() >= 3, "the page's own files are not among what it loaded: {fetched:?}");
    let elsewhere: Vec<&String> = fetched.iter().filter(|u| !u.starts_with(origin)).collect();
    assert!(elsewhere.is_empty(), "the page asked other servers: {elsewhere:?}");
}

fn assert_png(path: &std::path::Path) {
    let size = std::fs::metadata(path).unwrap().len();
    assert!(size > 2_000, "{} is nearly empty ({size} bytes)", path.display());
}

#[test]
fn the_offline_report_of_multicloud_renders_and_a_zone_click_lists_what_it_takes_down() {
    let dir = scratch("dashboard-report");
    let out =
        bulkhead().args(["report", "--html"]).arg(&dir).arg(repo_root().join("examples/multicloud")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let Some(browser) = Browser::start(1280, 1400) else { return };
    let origin = format!("file://{}", dir.display());
    browser.open(&format!("{origin}/index.html"));
    browser.wait_for("document.querySelectorAll('#compliance tbody tr').length > 0", Duration::from_secs(20));
    assert!(browser.run("return document.getElementById('login').hidden;") == true, "no login offline");

    // The tier-1 apps of the example, in the table; every tier at a click.
    let tier1 = browser.run("return [...document.querySelectorAll('#compliance tbody tr')].map(r => r.dataset.app);");
    assert_eq!(tier1, serde_json::json!(["bidder", "orders-db"]));
    browser.click(&browser.find("#all-tiers"));
    let all = browser.run("return document.querySelectorAll('#compliance tbody tr').length;");
    assert_eq!(all, 5, "every app of the example");
    for (section, name) in
        [("#compliance-section", "report-compliance.png"), ("#fleet-section", "report-fleet-map.png")]
    {
        assert_png(&browser.screenshot(&browser.find(section), name));
    }
    let clusters =
        browser.run("return [...document.querySelectorAll('#fleet-map .cluster')].map(c => c.dataset.cluster);");
    assert_eq!(clusters, serde_json::json!(["aws-use1-prod", "metal-ams1-prod", "gcp-euw4-dr"]));

    // What `bulkhead blast` says each zone's loss takes down.
    let out =
        bulkhead().args(["blast", "--output", "json"]).arg(repo_root().join("examples/multicloud")).output().unwrap();
    let printed: Value = serde_json::from_slice(&out.stdout).expect("blast prints JSON");
    let blast = &printed["blast"];
    let down = |zone: &str| -> BTreeSet<String> {
        let index = blast["domains"].as_array().unwrap().iter().position(|d| d["name"] == zone).unwrap();
        blast["cells"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["failed"] == serde_json::json!([index]))
            .filter(|c| ["quorum-lost", "outage", "data-loss"].contains(&c["impact"].as_str().unwrap_or_default()))
            .map(|c| blast["apps"][c["app"].as_u64().unwrap() as usize]["name"].as_str().unwrap().to_string())
            .collect()
    };
    let zone = blast["domains"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["level"] == "zone")
        .map(|d| d["name"].as_str().unwrap().to_string())
        .find(|z| !down(z).is_empty())
        .expect("a zone of the example takes an app down");
    browser.click(&browser.find(&format!("button[data-domain='{zone}']")));
    browser.wait_for("!document.getElementById('blast-detail').hidden", Duration::from_secs(5));
    let listed = browser.run("return [...document.querySelectorAll('#takes-down li')].map(li => li.dataset.app);");
    let listed: BTreeSet<String> = serde_json::from_value(listed).unwrap();
    assert_eq!(listed, down(&zone), "the page and `bulkhead blast` disagree on zone {zone}");
    assert!(browser.text(&browser.find("#blast-detail")).contains(&zone));
    assert_png(&browser.screenshot(&browser.find("#blast-section"), "report-blast-clicked.png"));
    assert_only_from(&browser, &origin);
    drop(browser);

    // On a phone's screen the page fits its width: wide tables scroll in
    // their own section, the page does not.
    let Some(phone) = Browser::start(390, 844) else { return };
    phone.open(&format!("{origin}/index.html"));
    phone.wait_for("document.querySelectorAll('#compliance tbody tr').length > 0", Duration::from_secs(20));
    let (page, screen) =
        (phone.run("return document.documentElement.scrollWidth;"), phone.run("return window.innerWidth;"));
    assert!(page.as_u64() <= screen.as_u64(), "the page is {page} px wide on a {screen} px screen");
    assert_png(&phone.screenshot(&phone.find("#compliance-section"), "report-phone-compliance.png"));
}

/// A token file with one viewer, `secret`.
fn viewer_tokens(path: &std::path::Path, secret: &str) {
    std::fs::write(
        path,
        format!("tokens:\n  - {{name: wallboard, sha256: {}, allow: [viewer]}}\n", sha256_hex(secret)),
    )
    .unwrap();
}

/// Logs `browser` into the dashboard at `origin` with `token`, and waits
/// until it has shown the API's answers.
fn log_in(browser: &Browser, origin: &str, token: &str) {
    browser.open(&format!("{origin}/"));
    browser.wait_for("!document.getElementById('login').hidden", Duration::from_secs(20));
    browser.type_into(&browser.find("#token"), token);
    browser.click(&browser.find("#login button"));
    browser.wait_for("document.body.dataset.loaded === 'true'", Duration::from_secs(20));
}

#[test]
fn served_for_the_multicloud_example_it_shows_its_map_table_and_timeline() {
    let Some(browser) = Browser::start(1280, 1400) else { return };
    let dir = scratch("dashboard-multicloud");
    crate::support::copy_dir(&repo_root().join("examples/multicloud"), &dir.join("fleet"));
    let tokens = dir.join("tokens.yaml");
    viewer_tokens(&tokens, "multicloud-secret");
    let port = free_port();
    // The example's clusters are not there: its jobs run and fail, with
    // their reasons, which is what the timeline is for.
    let mut serve = bulkhead()
        .args(["serve", "--state", &dir.join("state").display().to_string(), "--listen", &format!("127.0.0.1:{port}")])
        .args(["--jitter", "0s", "--drift-every", "0", "--check-every", "0", "--attempts", "1", "--for", "120s"])
        .arg("--api-tokens")
        .arg(&tokens)
        .arg(dir.join("fleet"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_answering(port, &mut serve);
    let origin = format!("http://127.0.0.1:{port}");
    log_in(&browser, &origin, "multicloud-secret");
    let clusters =
        browser.run("return [...document.querySelectorAll('#fleet-map .cluster')].map(c => c.dataset.cluster);");
    assert_eq!(clusters, serde_json::json!(["aws-use1-prod", "metal-ams1-prod", "gcp-euw4-dr"]));
    // Its tier-1 apps have never been backed up here: out of their RPO.
    browser.wait_for("document.querySelectorAll('#compliance tbody tr.failing').length === 2", Duration::from_secs(30));
    browser.wait_for("document.querySelector('#timeline li.failed .reason')", Duration::from_secs(60));
    for (section, name) in [
        ("#fleet-section", "multicloud-fleet-map.png"),
        ("#compliance-section", "multicloud-compliance.png"),
        ("#timeline-section", "multicloud-timeline.png"),
    ] {
        assert_png(&browser.screenshot(&browser.find(section), name));
    }
    assert_only_from(&browser, &origin);
    drop(browser);
    serve.kill().unwrap();
    let out = serve.wait_with_output().unwrap();
    crate::support::assert_secret_unseen(&out, "multicloud-secret");
}

/// `GET /` on the server: its headers, lowercase.
fn headers_of_the_page(port: u16) -> String {
    crate::support::http(port, "GET", "/", None, None, Duration::from_secs(30)).expect("serve answers").headers
}

const SHOP_FAILING: &str = "document.querySelector('tr[data-app=\"shop\"]')?.classList.contains('failing')";

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_shows_a_stale_backup_in_red_and_its_recovery() {
    let Some(env) = TestEnv::own("dashboard", 1, true) else { return };
    let Some(browser) = Browser::start(1280, 1400) else { return };
    let s3 = env.s3.clone().expect("started with S3");
    let ns = namespace_with_settings(&env, "dashboard").await;
    let dir = scratch("dashboard-serve");
    let c0 = env.cluster(0).name.clone();
    let url = format!("s3:{}/{}/dashboard", s3.endpoint, s3.bucket);
    let app = format!(
        "    - name: shop\n      manifests: apps/shop\n      namespace: {}\n      placement: {{clusters: {{names: [{c0}]}}}}\n      sla: {{tier: 1, rpo: 1m}}\n      backup: {{policy: minutely}}\n",
        ns.name()
    );
    let dr = format!(
        "  dr:\n    repositories:\n      - {{name: s3, url: \"{url}\", passwordEnv: {PASSWORD_ENV}}}\n    policies:\n      - {{name: minutely, schedule: \"* * * * *\", repository: s3, keep: {{last: 5}}}}\n"
    );
    testenv_fleet_with(&env, &dir, &app, &dr);
    let tokens = dir.join("tokens.yaml");
    viewer_tokens(&tokens, "wallboard-secret");
    let port = free_port();
    let mut serve = bulkhead()
        .args(["serve", "--state", &dir.join("state").display().to_string(), "--listen", &format!("127.0.0.1:{port}")])
        .args(["--jitter", "0s", "--drift-every", "0", "--check-every", "0", "--evidence-every", "2s"])
        .args(["--backoff", "2s", "--attempts", "2", "--timeout", "backup=40s", "--for", "420s"])
        .arg("--api-tokens")
        .arg(&tokens)
        .arg(&dir)
        .env(PASSWORD_ENV, PASSWORD)
        .env("AWS_ACCESS_KEY_ID", &s3.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &s3.secret_key)
        .env("AWS_DEFAULT_REGION", &s3.region)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let origin = format!("http://127.0.0.1:{port}");
    wait_answering(port, &mut serve);
    let headers = headers_of_the_page(port);
    assert!(headers.contains("content-security-policy: default-src 'self'"), "{headers}");

    // Behind a token: the page asks for one, and takes it.
    log_in(&browser, &origin, "wallboard-secret");
    browser.wait_for("document.getElementById('live').classList.contains('on')", Duration::from_secs(20));
    // The first backup, seen live in the timeline; the app within its RPO.
    browser.wait_for("document.querySelector('#timeline li.succeeded')", Duration::from_secs(90));
    browser.wait_for(&format!("!{SHOP_FAILING}"), Duration::from_secs(30));
    for (section, name) in [
        ("#compliance-section", "serve-compliance.png"),
        ("#fleet-section", "serve-fleet-map.png"),
        ("#timeline-section", "serve-timeline.png"),
    ] {
        assert_png(&browser.screenshot(&browser.find(section), name));
    }

    // The repository goes: backups fail, and once the newest is older than
    // the RPO the row is red.
    env.s3_down();
    browser.wait_for(SHOP_FAILING, Duration::from_secs(180));
    let colour =
        browser.run("return getComputedStyle(document.querySelector('tr[data-app=\"shop\"] td')).backgroundColor;");
    assert_eq!(colour, "rgb(253, 236, 234)", "the stale row is red");
    browser.wait_for("document.querySelector('#timeline li.failed, #timeline li.timed-out')", Duration::from_secs(120));
    assert_png(&browser.screenshot(&browser.find("#compliance-section"), "serve-compliance-stale.png"));
    assert_png(&browser.screenshot(&browser.find("#timeline-section"), "serve-timeline-failures.png"));

    // It returns: the next backup goes through and the row is not red.
    env.s3_up();
    browser.wait_for(&format!("!{SHOP_FAILING}"), Duration::from_secs(180));
    assert_png(&browser.screenshot(&browser.find("#compliance-section"), "serve-compliance-recovered.png"));
    assert_only_from(&browser, &origin);

    drop(browser);
    serve.kill().unwrap();
    let out = serve.wait_with_output().unwrap();
    crate::support::assert_secret_unseen(&out, PASSWORD);
    crate::support::assert_secret_unseen(&out, "wallboard-secret");
}

/// Waits until `serve` takes connections on `port` (its API answers before
/// the repositories are read, as the page needs).
fn wait_answering(port: u16, serve: &mut std::process::Child) {
    let start = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(60), "serve did not answer");
        assert!(serve.try_wait().unwrap().is_none(), "serve exited");
        std::thread::sleep(Duration::from_millis(200));
    }
}
