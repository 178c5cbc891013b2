//! `bulkhead traffic serve` with network namespaces as sites and `dig` as
//! the client: failover when a site dies, no failover when one instance
//! alone cannot reach a site, recovery only after M passed probes, weighted
//! answers that follow the weights, and a server that is no resolver.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::netns::Sites;
use crate::support::scratch;

/// A shared key, as `tsig-keygen` writes it.
const KEY: &str =
    "key \"peers\" {\n\talgorithm hmac-sha256;\n\tsecret \"q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=\";\n};\n";
const ZONE: &str = "gslb.test";
/// Probes every 500 ms, down after 3 failures, up after 3 passes.
const INTERVAL_MS: u64 = 500;

/// A fleet of `sites` clusters, one nameserver each, with three apps.
fn fleet(dir: &Path, sites: &Sites, count: usize) -> PathBuf {
    let mut clusters = String::new();
    let mut nameservers = String::new();
    for i in 1..=count {
        clusters.push_str(&format!(
            "    - {{name: site{i}, location: metal/site{i}, nodePools: [{{name: p, count: 1}}], labels: {{web: \"yes\"}}, ingress: {{addresses: [{}]}}}}\n",
            sites.ingress(i)
        ));
        nameservers.push_str(&format!("      - {{name: ns{i}, cluster: site{i}, address: {}}}\n", sites.dns(i)));
    }
    let providers: String =
        (1..=count).map(|i| format!("{{name: site{i}, zones: [site{i}]}}")).collect::<Vec<_>>().join(", ");
    std::fs::create_dir_all(dir.join("apps/empty")).unwrap();
    let yaml = format!(
        "apiVersion: bulkhead.dev/v1alpha1\nkind: Fleet\nmetadata: {{name: traffic}}\nspec:\n  providers:\n    - {{name: metal, kind: bare-metal, regions: [{providers}]}}\n  clusters:\n{clusters}  apps:\n    - name: web\n      manifests: apps/empty\n      placement: {{clusters: {{labels: {{web: \"yes\"}}}}}}\n      traffic: {{hostname: web.{ZONE}, policy: round-robin, port: 8080, ttl: 5s}}\n    - name: api\n      manifests: apps/empty\n      placement: {{clusters: {{labels: {{web: \"yes\"}}}}}}\n      traffic: {{hostname: api.{ZONE}, policy: failover, port: 8080, ttl: 5s}}\n    - name: shop\n      manifests: apps/empty\n      placement: {{clusters: {{names: [site1, site2]}}}}\n      traffic: {{hostname: shop.{ZONE}, policy: weighted, weights: {{site1: 3, site2: 1}}, probe: tcp, port: 8080, ttl: 5s}}\n  traffic:\n    zone: {ZONE}\n    ttl: 5s\n    nameservers:\n{nameservers}    probes: {{interval: {INTERVAL_MS}ms, timeout: 300ms, failAfter: 3, recoverAfter: 3}}\n"
    );
    std::fs::write(dir.join("fleet.yaml"), yaml).unwrap();
    std::fs::write(dir.join("peers.key"), KEY).unwrap();
    dir.to_path_buf()
}

/// Starts every site's health endpoint and DNS instance.
fn start(sites: &mut Sites, dir: &Path, count: usize, extra: &[&str]) {
    let bin = insta_cmd::get_cargo_bin("bulkhead");
    for i in 1..=count {
        sites.health_server(i, 8080, &dir.join(format!("health{i}.log")));
        let mut args: Vec<String> =
            ["traffic", "serve", "--instance", &format!("ns{i}"), "--peer-key"].iter().map(|s| s.to_string()).collect();
        args.push(dir.join("peers.key").display().to_string());
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(dir.display().to_string());
        let ns = sites.site(i);
        sites.spawn(&ns, &bin, &args, &dir.join(format!("ns{i}.log")));
    }
}

/// Waits until `check` holds, up to `limit`; returns how long it took.
fn until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
    start.elapsed()
}

fn logs(dir: &Path, count: usize) -> String {
    (1..=count)
        .map(|i| format!("--- ns{i}\n{}", std::fs::read_to_string(dir.join(format!("ns{i}.log"))).unwrap_or_default()))
        .collect()
}

#[test]
fn sites_fail_over_by_majority_and_come_back_after_m_probes() {
    let Some(mut sites) = Sites::new("tf", 231, 3) else { return };
    let dir = scratch("traffic-failover");
    fleet(&dir, &sites, 3);
    // Rate limiting off: 400 queries from one client in a burst are the point here.
    start(&mut sites, &dir, 3, &["--rate-limit", "0"]);
    let all: Vec<String> = (1..=3).map(|i| sites.ingress(i)).collect();
    let web = format!("web.{ZONE}");
    let api = format!("api.{ZONE}");
    let dns: Vec<String> = (1..=3).map(|i| sites.dns(i)).collect();
    until(Duration::from_secs(20), "every instance answers with every site", || {
        dns.iter().all(|d| sites.addresses(d, &web, "A") == all)
    });

    // The zone itself: SOA and NS at the apex, NXDOMAIN below it, REFUSED
    // outside it, no recursion, and TCP answers like UDP.
    let soa = sites.dig(&[&format!("@{}", dns[0]), ZONE, "SOA"]);
    assert!(
        soa.contains("status: NOERROR")
            && soa.contains(" aa")
            && soa.contains("SOA\tns1.gslb.test. hostmaster.gslb.test."),
        "{soa}"
    );
    assert!(!soa.contains(" ra"), "no recursion offered: {soa}");
    let ns = sites.addresses(&dns[1], ZONE, "NS");
    assert_eq!(ns, ["ns1.gslb.test.", "ns2.gslb.test.", "ns3.gslb.test."]);
    let missing = sites.dig(&[&format!("@{}", dns[0]), &format!("nope.{ZONE}"), "A"]);
    assert!(missing.contains("status: NXDOMAIN") && missing.contains("IN\tSOA"), "{missing}");
    let nodata = sites.dig(&[&format!("@{}", dns[0]), &web, "AAAA"]);
    assert!(
        nodata.contains("status: NOERROR") && nodata.contains("ANSWER: 0") && nodata.contains("IN\tSOA"),
        "{nodata}"
    );
    let outside = sites.dig(&[&format!("@{}", dns[0]), "example.com", "A"]);
    assert!(outside.contains("status: REFUSED"), "{outside}");
    let tcp: Vec<String> = {
        let mut v: Vec<String> =
            sites.dig(&["+short", "+tcp", &format!("@{}", dns[2]), &web, "A"]).lines().map(String::from).collect();
        v.sort();
        v
    };
    assert_eq!(tcp, all, "TCP");
    let transfer = sites.dig(&["+tcp", &format!("@{}", dns[0]), ZONE, "AXFR"]);
    assert!(transfer.contains("Transfer failed") || transfer.contains("REFUSED"), "no key, no transfer: {transfer}");

    // Weighted 3:1 over many queries, through one instance.
    let batch = dir.join("shop.batch");
    std::fs::write(&batch, format!("{}\n", vec![format!("@{} shop.{ZONE} A", dns[0]); 400].join("\n"))).unwrap();
    let answers = sites.dig(&["+short", "-f", &batch.display().to_string()]);
    let first = answers.lines().filter(|l| *l == all[0]).count();
    let second = answers.lines().filter(|l| *l == all[1]).count();
    assert_eq!(first + second, 400, "{answers}");
    assert!((285..=315).contains(&first), "site1 weighs 3 of 4: {first} of 400");

    // ns1 alone cannot reach site2's ingress: nobody fails site2 over.
    sites.block(1, &sites.ingress(2));
    std::thread::sleep(Duration::from_millis(INTERVAL_MS * 8));
    for d in &dns {
        assert_eq!(sites.addresses(d, &web, "A"), all, "partition ns1 ↔ site2: {d}\n{}", logs(&dir, 3));
    }
    sites.unblock(1, &sites.ingress(2));

    // Site 1 dies (its instance with it): the others take it out.
    sites.kill(1);
    let took = until(Duration::from_secs(15), "site1 leaves every answer", || {
        dns[1..].iter().all(|d| sites.addresses(d, &web, "A") == all[1..])
    });
    assert!(took < Duration::from_secs(10), "converged in {took:?}");
    assert_eq!(sites.addresses(&dns[1], &api, "A"), [all[1].clone()], "failover goes to the next site in order");
    assert_eq!(sites.addresses(&dns[2], &api, "A"), [all[1].clone()]);

    // Back: not at once (three passed probes first), then everywhere.
    sites.revive(1);
    assert_eq!(sites.addresses(&dns[1], &web, "A"), all[1..], "back before M passes");
    until(Duration::from_secs(15), "site1 back in every answer", || {
        dns.iter().all(|d| sites.addresses(d, &web, "A") == all)
    });
    assert_eq!(sites.addresses(&dns[2], &api, "A"), [all[0].clone()], "failover returns to the first site");
    let log = logs(&dir, 3);
    assert!(log.contains("answers: site taken out") && log.contains("answers: site back in"), "{log}");
    assert!(
        log.contains("probes: site down") && log.contains("timed out"),
        "changes are logged with the reason: {log}"
    );
}

const SECRET: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";

fn key_file(name: &str) -> String {
    format!("key \"{name}\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{SECRET}\";\n}};\n")
}

/// Writes a BIND configuration for one zone and starts `named` in the hub.
fn named(sites: &mut Sites, dir: &Path, name: &str, address: &str, zone: &str) {
    let home = dir.join(name);
    std::fs::create_dir_all(&home).unwrap();
    let conf = format!(
        "options {{ directory \"{home}\"; pid-file \"{home}/named.pid\"; listen-on {{ {address}; }}; listen-on-v6 {{ none; }}; recursion no; dnssec-validation no; notify no; session-keyfile none; }};\ncontrols {{ }};\n{xfer}{update}{zone}",
        home = home.display(),
        xfer = key_file("xfer"),
        update = key_file("update"),
    );
    let path = home.join("named.conf");
    std::fs::write(&path, conf).unwrap();
    let hub = sites.hub();
    let args: Vec<String> = ["-g", "-c", &path.display().to_string()].iter().map(|s| s.to_string()).collect();
    sites.spawn(&hub, Path::new("named"), &args, &home.join("named.log"));
}

#[test]
fn bind_transfers_the_zone_and_takes_updates() {
    if bulkhead_test::program::NAMED.require().is_none() {
        return;
    }
    let Some(mut sites) = Sites::new("tb", 232, 3) else { return };
    let dir = scratch("traffic-bind");
    fleet(&dir, &sites, 3);
    std::fs::write(dir.join("xfer.key"), key_file("xfer")).unwrap();
    std::fs::write(dir.join("update.key"), key_file("update")).unwrap();
    let secondary = sites.hub_address(2);
    let primary = sites.hub_address(3);

    let transfer_key = dir.join("xfer.key").display().to_string();
    let update_key = dir.join("update.key").display().to_string();
    let primary_at = format!("{primary}:53");
    let secondary_at = format!("{secondary}:53");
    start(
        &mut sites,
        &dir,
        3,
        &[
            "--transfer-key",
            &transfer_key,
            "--primary",
            &primary_at,
            "--primary-key",
            &update_key,
            "--notify",
            &secondary_at,
        ],
    );
    let ns1 = sites.dns(1);
    until(Duration::from_secs(20), "ns1 answers", || sites.addresses(&ns1, &format!("web.{ZONE}"), "A").len() == 3);
    // BIND as a secondary of ns1 (AXFR with TSIG), and BIND as a primary
    // that ns1 keeps updated (RFC 2136 with TSIG).
    named(
        &mut sites,
        &dir,
        "secondary",
        &secondary,
        &format!(
            "zone \"{ZONE}\" {{ type secondary; primaries {{ {ns1} key \"xfer\"; }}; file \"{}\"; }};\n",
            dir.join("secondary/zone.db").display()
        ),
    );
    let zone_file = dir.join("primary/zone.db");
    std::fs::create_dir_all(dir.join("primary")).unwrap();
    std::fs::write(
        &zone_file,
        format!("$TTL 30\n@ SOA ns.{ZONE}. hostmaster.{ZONE}. 1 60 30 600 30\n@ NS ns.{ZONE}.\nns A {primary}\n"),
    )
    .unwrap();
    named(
        &mut sites,
        &dir,
        "primary",
        &primary,
        &format!(
            "zone \"{ZONE}\" {{ type primary; file \"{}\"; allow-update {{ key \"update\"; }}; }};\n",
            zone_file.display()
        ),
    );

    let all: Vec<String> = (1..=3).map(|i| sites.ingress(i)).collect();
    let web = format!("web.{ZONE}");
    let api = format!("api.{ZONE}");
    let bind_log = |name: &str| std::fs::read_to_string(dir.join(name).join("named.log")).unwrap_or_default();

    until(Duration::from_secs(30), "BIND's secondary serves the transferred zone", || {
        sites.addresses(&secondary, &web, "A") == all
    });
    assert_eq!(sites.addresses(&secondary, &api, "A"), [all[0].clone()], "failover publishes the first site");
    let serial = |server: &str| {
        let soa = sites.dig(&["+short", &format!("@{server}"), ZONE, "SOA"]);
        soa.split_whitespace().nth(2).unwrap_or_default().to_string()
    };
    assert_eq!(serial(&secondary), serial(&ns1), "the secondary holds ns1's serial\n{}", bind_log("secondary"));

    until(Duration::from_secs(30), "the primary took the update", || sites.addresses(&primary, &web, "A") == all);
    // Site 3 dies: the update takes it out of the primary's records.
    sites.kill(3);
    until(Duration::from_secs(20), "the primary drops site3", || sites.addresses(&primary, &web, "A") == all[..2]);
    // ns1's NOTIFY makes the secondary transfer the new zone at once (its
    // SOA refresh is 30 s away).
    until(Duration::from_secs(10), "the secondary follows, told by NOTIFY", || {
        sites.addresses(&secondary, &web, "A") == all[..2]
    });
    assert!(bind_log("primary").contains("updating zone"), "{}", bind_log("primary"));

    // Response-rate limiting (these instances keep the default, 200 a second
    // per /24): 400 queries from one client within about a third of a
    // second get about 260 answers (200 plus the refill), then every second
    // one truncated (a real client retries over TCP) and the rest dropped.
    let (got, truncated) = sites.burst(&ns1, &format!("web.{ZONE}"), 400);
    assert!((250..380).contains(&got), "{got} answers to 400 queries ({truncated} truncated)");
    assert!(truncated >= 30, "{truncated} of {got} truncated");

    // The same transfer without the key is refused.
    let unsigned = sites.dig(&["+tcp", &format!("@{ns1}"), ZONE, "AXFR"]);
    assert!(unsigned.contains("Transfer failed") || unsigned.contains("REFUSED"), "{unsigned}");
    let signed = sites.dig(&["+tcp", "-y", &format!("hmac-sha256:xfer:{SECRET}"), &format!("@{ns1}"), ZONE, "AXFR"]);
    assert!(signed.contains(&format!("{web}.\t")) && signed.contains("TSIG"), "{signed}");
}

/// The second source of health: the cluster's API. Two of the test
/// environment's clusters run the app; probes of both sites pass (local
/// health endpoints), and the site whose Deployment is scaled to 0 leaves
/// the answers until it has a pod available again. The second cluster's
/// address is not in the fleet: `--live` reads it from the status of the
/// app's LoadBalancer Service there.
#[tokio::test(flavor = "multi_thread")]
async fn a_site_whose_workloads_are_not_ready_leaves_the_answers() {
    use bulkhead_test::{TestEnv, TestNamespace};
    use kube::api::{Patch, PatchParams};

    let Some(env) = TestEnv::require(2) else { return };
    let Some(dig) = bulkhead_test::program::DIG.require() else { return };
    let (c0, c1) = (env.cluster(0).name.clone(), env.cluster(1).name.clone());
    let ns = TestNamespace::create(&env, 0, "traffic-api").await;
    let (client0, client1) = (env.client(0).await, env.client(1).await);
    crate::support::create_object(
        &client1,
        None,
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns.name()}}),
    )
    .await;
    let _ns1 = TestNamespace::adopt(&env, 1, ns.name());
    let deployment = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "registry.example.com/web:1"}]}}}});
    for client in [&client0, &client1] {
        crate::support::create_object(client, Some(ns.name()), deployment.clone()).await;
    }
    crate::support::create_object(&client1, Some(ns.name()), serde_json::json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web"}, "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]}})).await;
    let services: kube::Api<k8s_openapi::api::core::v1::Service> = kube::Api::namespaced(client1.clone(), ns.name());
    // What a load-balancer controller writes once it has an address.
    services
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"status": {"loadBalancer": {"ingress": [{"ip": "127.0.41.2"}]}}})),
        )
        .await
        .unwrap();

    let dir = scratch("traffic-api");
    std::fs::create_dir_all(dir.join("apps/web")).unwrap();
    std::fs::write(dir.join("apps/web/web.yaml"), serde_json::to_string(&deployment).unwrap()).unwrap();
    let port = 20_000 + (std::process::id() % 10_000) as u16;
    let apps = format!(
        "    - name: web\n      manifests: apps/web\n      namespace: {n}\n      placement: {{clusters: {{names: [{c0}, {c1}]}}}}\n      traffic: {{hostname: web.{ZONE}, policy: round-robin, port: {port}, addresses: {{{c0}: [127.0.41.1]}}}}\n",
        n = ns.name()
    );
    let traffic = format!(
        "  traffic:\n    zone: {ZONE}\n    ttl: 5s\n    nameservers: [{{name: ns1, cluster: {c0}, address: 127.0.41.53, peerPort: {peer}}}]\n    probes: {{interval: 500ms, timeout: 400ms, failAfter: 2, recoverAfter: 2}}\n",
        peer = port + 1
    );
    crate::support::testenv_fleet_with(&env, &dir, &apps, &traffic);

    let mut children: Vec<std::process::Child> = ["127.0.41.1", "127.0.41.2"]
        .iter()
        .map(|ip| {
            std::process::Command::new("python3")
                .args(["-c", crate::netns::HEALTH_SERVER, ip, &port.to_string()])
                .spawn()
                .unwrap()
        })
        .collect();
    let log = std::fs::File::create(dir.join("ns1.log")).unwrap();
    children.push(
        std::process::Command::new(insta_cmd::get_cargo_bin("bulkhead"))
            .args(["traffic", "serve", "--instance", "ns1", "--live", "--listen", &format!("127.0.41.53:{port}")])
            .arg(&dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let ask = || {
        let out = std::process::Command::new(&dig)
            .args([
                "+short",
                "+time=1",
                "+tries=1",
                "-p",
                &port.to_string(),
                "@127.0.41.53",
                &format!("web.{ZONE}"),
                "A",
            ])
            .output()
            .unwrap();
        let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(String::from).collect();
        v.sort();
        v
    };
    let both = vec!["127.0.41.1".to_string(), "127.0.41.2".to_string()];
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        until(Duration::from_secs(60), "both sites answer once their pods are available", || ask() == both);
    }));
    let scale = |client: kube::Client, replicas: i32| {
        let name = ns.name().to_string();
        async move {
            let api: kube::Api<k8s_openapi::api::apps::v1::Deployment> = kube::Api::namespaced(client, &name);
            api.patch(
                "web",
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({"spec": {"replicas": replicas}})),
            )
            .await
            .unwrap();
        }
    };
    let mut outcome = result.map(|_| ());
    if outcome.is_ok() {
        scale(client0.clone(), 0).await;
        outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            until(Duration::from_secs(30), "the scaled-down site leaves", || ask() == ["127.0.41.2"]);
        }));
    }
    if outcome.is_ok() {
        scale(client0.clone(), 1).await;
        outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            until(Duration::from_secs(60), "it comes back with a pod available", || ask() == both);
        }));
    }
    for mut c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
    let log = std::fs::read_to_string(dir.join("ns1.log")).unwrap_or_default();
    assert!(outcome.is_ok(), "{log}");
    assert!(log.contains("is scaled to 0"), "the reason is logged: {log}");
    assert!(log.contains("read from the cluster"), "{log}");
}

/// Mistakes are found before anything listens: exit 2, saying what to fix.
#[test]
fn bad_input_is_refused_before_serving() {
    let run = |args: &[&str]| {
        let out = crate::support::bulkhead().args(args).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = run(&["traffic", "serve", "--instance", "ns9", "examples/multicloud"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("`ns9` is not one of the traffic zone's nameservers (ns1, ns2, ns3)"), "{err}");
    let (code, err) = run(&["traffic", "serve", "--instance", "ns1", "examples/multicloud"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--peer-key"), "{err}");
    let dir = scratch("traffic-bad-input");
    std::fs::write(dir.join("bad.key"), "key \"x\" { algorithm hmac-md5; secret \"q83vEjRWeJCrze8SNFZ4kA==\"; };")
        .unwrap();
    let key = dir.join("bad.key").display().to_string();
    let (code, err) = run(&["traffic", "serve", "--instance", "ns1", "--peer-key", &key, "examples/multicloud"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("hmac-md5") && err.contains("not supported"), "{err}");
    let (code, err) = run(&["traffic", "serve", "--instance", "ns1", "tests/fleets/broken/many-mistakes"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("has errors"), "{err}");
}

/// A CH-class TXT query for `name` over UDP to `server`, unsigned: the
/// response code (`None` without an answer). Written with Python's socket
/// module, so no DNS tool is needed.
fn unsigned_status_query(server: &str, port: u16, name: &str) -> Option<u8> {
    let script = "import socket,struct,sys
q=b''.join(bytes([len(l)])+l.encode() for l in sys.argv[3].split('.') if l)+b'\\0'
m=struct.pack('>HHHHHH',7,0,1,0,0,0)+q+struct.pack('>HH',16,3)
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(2)
s.sendto(m,(sys.argv[1],int(sys.argv[2])))
print(s.recv(512)[3]&15)";
    let out =
        std::process::Command::new("python3").args(["-c", script, server, &port.to_string(), name]).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// `bulkhead serve`'s `/api/v1/traffic` asks the instances themselves, over
/// DNS with the transfer key, how they see each site: both instances have
/// the dead site out of their answers, its probes down with the reason and
/// both votes against it; when one instance dies it is listed as not
/// answering, and the other keeps the site in its answers (one vote of two
/// is no majority) while its probes still have it down. An unsigned status
/// query is refused. Loopback only: no namespaces, no cluster.
#[test]
fn serve_shows_each_site_as_every_instance_sees_it() {
    use std::process::{Command, Stdio};
    let dir = scratch("traffic-seen");
    // The fleet apart from the logs and the state: serve takes a change of
    // its directory as a new fleet.
    let fleet = dir.join("fleet");
    let port = crate::serve::free_port();
    let (dns_port, peer_port, health_port) = (port + 1, port + 2, port + 3);
    std::fs::create_dir_all(fleet.join("apps/empty")).unwrap();
    let yaml = format!(
        "apiVersion: bulkhead.dev/v1alpha1\nkind: Fleet\nmetadata: {{name: seen}}\nspec:\n  providers:\n    - {{name: metal, kind: bare-metal, regions: [{{name: r1, zones: [z1]}}, {{name: r2, zones: [z2]}}]}}\n  clusters:\n    - {{name: site1, location: metal/r1, nodePools: [{{name: p, count: 1}}], ingress: {{addresses: [127.0.43.1]}}}}\n    - {{name: site2, location: metal/r2, nodePools: [{{name: p, count: 1}}], ingress: {{addresses: [127.0.43.2]}}}}\n  apps:\n    - name: web\n      manifests: apps/empty\n      placement: {{clusters: {{names: [site1, site2]}}}}\n      traffic: {{hostname: web.{ZONE}, policy: round-robin, port: {health_port}, ttl: 5s}}\n  traffic:\n    zone: {ZONE}\n    ttl: 5s\n    nameservers:\n      - {{name: ns1, cluster: site1, address: 127.0.43.53, dnsPort: {dns_port}, peerPort: {peer_port}}}\n      - {{name: ns2, cluster: site2, address: 127.0.44.53, dnsPort: {dns_port}, peerPort: {peer_port}}}\n    probes: {{interval: 300ms, timeout: 200ms, failAfter: 2, recoverAfter: 2}}\n"
    );
    std::fs::write(fleet.join("fleet.yaml"), yaml).unwrap();
    std::fs::write(dir.join("peers.key"), KEY).unwrap();
    std::fs::write(dir.join("xfer.key"), key_file("watcher")).unwrap();
    let file = |name: &str| dir.join(name).display().to_string();

    // A key that cannot be read stops serve before it listens.
    let refused = crate::support::bulkhead()
        .args(["serve", "--state", &file("state"), "--api-auth", "none", "--for", "5s"])
        .args(["--traffic-key", &file("missing.key"), &file("fleet")])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{said}");
    assert!(said.contains("--traffic-key: key") && said.contains("missing.key"), "{said}");

    // site1 answers its probes; nothing listens at site2.
    let mut children = vec![
        Command::new("python3")
            .args(["-c", crate::netns::HEALTH_SERVER, "127.0.43.1", &health_port.to_string()])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ];
    for ns in ["ns1", "ns2"] {
        let log = std::fs::File::create(dir.join(format!("{ns}.log"))).unwrap();
        children.push(
            crate::support::bulkhead()
                .args(["traffic", "serve", "--instance", ns, "--peer-key", &file("peers.key")])
                .args(["--transfer-key", &file("xfer.key"), &file("fleet")])
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
    }
    let serve_log = std::fs::File::create(dir.join("serve.log")).unwrap();
    children.push(
        crate::support::bulkhead()
            .args(["serve", "--state", &file("state"), "--listen", &format!("127.0.0.1:{port}")])
            .args(["--api-auth", "none", "--drift-every", "0", "--check-every", "0", "--for", "120s"])
            .args(["--traffic-key", &file("xfer.key"), &file("fleet")])
            .stdout(serve_log.try_clone().unwrap())
            .stderr(serve_log)
            .spawn()
            .unwrap(),
    );
    let traffic = || {
        crate::support::http(port, "GET", "/api/v1/traffic", None, None, Duration::from_secs(10))
            .filter(|a| a.status == 200)
            .map(|a| a.json())
    };
    let site = |view: &serde_json::Value, cluster: &str| -> serde_json::Value {
        view["apps"][0]["sites"].as_array().unwrap().iter().find(|s| s["cluster"] == cluster).unwrap().clone()
    };
    let mut last = serde_json::Value::Null;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        until(Duration::from_secs(30), "both instances have site2 out and site1 in", || {
            let Some(view) = traffic() else { return false };
            last = view.clone();
            view["instances"].as_array().is_some_and(|i| i.len() == 2 && i.iter().all(|i| i.get("error").is_none()))
                && site(&view, "site2")["agreement"] == "out"
                && site(&view, "site1")["agreement"] == "in"
                && site(&view, "site2")["seenBy"].as_array().is_some_and(|s| s.len() == 2)
        });
        assert_eq!(last["zone"], "gslb.test.", "{last}");
        let document = crate::support::http(port, "GET", "/openapi.json", None, None, Duration::from_secs(5)).unwrap();
        crate::api::assert_valid(&document.json(), "TrafficView", &last);
        for seen in site(&last, "site2")["seenBy"].as_array().unwrap() {
            assert_eq!((seen["inAnswers"].as_bool(), seen["probesUp"].as_bool()), (Some(false), Some(false)), "{seen}");
            assert_eq!((seen["downVotes"].as_u64(), seen["of"].as_u64()), (Some(2), Some(2)), "{seen}");
            assert!(!seen["reason"].as_str().unwrap().is_empty(), "the probe's reason: {seen}");
        }
        let up = &site(&last, "site1")["seenBy"][0];
        assert_eq!((up["probesUp"].as_bool(), up["downVotes"].as_u64()), (Some(true), Some(0)), "{up}");
        assert_eq!(site(&last, "site1")["addresses"], serde_json::json!(["127.0.43.1"]));

        // Without the key, an instance says nothing about its probes.
        assert_eq!(unsigned_status_query("127.0.43.53", dns_port, "web.gslb.test"), Some(5), "REFUSED");

        // The dashboard's traffic table says the same, a column per instance.
        if let Some(browser) = crate::webdriver::Browser::start(1280, 1000) {
            browser.open(&format!("http://127.0.0.1:{port}/"));
            browser.wait_for(
                "document.querySelector('#traffic tr[data-site=site2].out') !== null",
                Duration::from_secs(20),
            );
            let cells = browser.run(
                "return [...document.querySelectorAll('#traffic tr[data-site=site2] td[data-instance]')].map(c => c.className + ' ' + c.textContent);",
            );
            assert_eq!(
                cells,
                serde_json::json!(["over out · probes down · 2/2 down", "over out · probes down · 2/2 down"]),
                "{cells}"
            );
            let site1 = browser.run("return document.querySelector('#traffic tr[data-site=site1]').className;");
            assert_eq!(site1, "traffic in");
            let shot = browser.screenshot(&browser.find("#traffic-section"), "traffic-instances.png");
            assert!(std::fs::metadata(shot).unwrap().len() > 2_000);
        }

        // ns2 goes: it is listed as not answering, and ns1 alone is no
        // majority, so site2 is back in its answers though its probes still
        // have it down.
        let ns2 = &mut children[2];
        ns2.kill().unwrap();
        ns2.wait().unwrap();
        until(Duration::from_secs(30), "ns2 not answering, ns1 holding site2 in", || {
            let Some(view) = traffic() else { return false };
            last = view.clone();
            let ns2_error = view["instances"][1]["error"].as_str().is_some();
            let seen = site(&view, "site2")["seenBy"].clone();
            ns2_error
                && seen.as_array().is_some_and(|s| s.len() == 1)
                && seen[0]["inAnswers"] == true
                && seen[0]["probesUp"] == false
                && seen[0]["seen"] == 1
        });
        assert_eq!(site(&last, "site2")["agreement"], "in", "only ns1 answered: {last}");
    }));
    for mut child in children {
        let _ = child.kill();
        let _ = child.wait();
    }
    let serve = std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default();
    assert!(outcome.is_ok(), "last view: {last}\n{}--- serve\n{serve}", logs(&dir, 2));
}
