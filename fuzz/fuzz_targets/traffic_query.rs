//! Whatever hickory's parser makes of arbitrary bytes, the traffic DNS's
//! handling of it: the answer to each query it holds (never a panic; REFUSED
//! exactly for names outside the zone; records only for the name asked or
//! the apex), a peer view (refused unless signed), and a key file.
#![no_main]

use std::net::IpAddr;
use std::time::Duration;

use bulkhead_model::spec::{ProbeKind, TrafficPolicy};
use bulkhead_traffic::answer::{SiteState, answer};
use bulkhead_traffic::zone::{NameserverEntry, ProbeTarget, ProbeTiming, Service, Site, Zone};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{LowerName, Name};
use libfuzzer_sys::fuzz_target;

struct State(u8);

impl SiteState for State {
    fn is_up(&self, service: usize, site: usize) -> bool {
        self.0 >> ((service * 3 + site) % 8) & 1 == 1
    }
    fn serial(&self) -> u32 {
        7
    }
}

fn zone() -> Zone {
    let origin = Name::from_ascii("gslb.test.").unwrap();
    let site = |c: &str, ip: &str, w| Site { cluster: c.into(), weight: w, addresses: vec![ip.parse::<IpAddr>().unwrap()] };
    let service = |app: &str, policy| Service {
        app: app.into(),
        namespace: app.into(),
        hostname: Name::from_ascii(format!("{app}.deep.gslb.test.")).unwrap(),
        policy,
        ttl: 5,
        probe: ProbeTarget { kind: ProbeKind::Http, port: 80, path: "/".into() },
        sites: vec![site("a", "10.0.0.1", 3), site("b", "2001:db8::2", 0), site("c", "10.0.0.3", 1)],
    };
    Zone::new(
        origin.clone(),
        30,
        Name::from_ascii("hostmaster.gslb.test.").unwrap(),
        vec![NameserverEntry {
            name: "ns1".into(),
            fqdn: Name::from_ascii("ns1.gslb.test.").unwrap(),
            cluster: "a".into(),
            ip: "10.0.0.53".parse().unwrap(),
            dns_port: 53,
            peer_port: 8053,
        }],
        vec![
            service("web", TrafficPolicy::RoundRobin),
            service("api", TrafficPolicy::Failover),
            service("shop", TrafficPolicy::Weighted),
        ],
        ProbeTiming { interval: Duration::from_secs(1), timeout: Duration::from_secs(1), fail_after: 1, recover_after: 1 },
    )
}

fuzz_target!(|data: &[u8]| {
    let zone = zone();
    let origin = LowerName::new(&zone.origin);
    let state = State(data.first().copied().unwrap_or(0));
    if let Ok(message) = Message::from_vec(data) {
        for (i, query) in message.queries.iter().enumerate() {
            let name = LowerName::new(query.name());
            let out = answer(&zone, &state, &name, query.query_type(), query.query_class(), i as u64);
            if !origin.zone_of(&name) {
                assert_eq!(out.code, ResponseCode::Refused);
            }
            for record in &out.answers {
                let owner = LowerName::new(&record.name);
                assert!(owner == name || owner == origin);
            }
        }
    }
    let key = bulkhead_traffic::wire::PeerKey::new(b"fuzzing key, 32 bytes long.....");
    assert!(bulkhead_traffic::wire::decode(data, &key).is_err() || data.starts_with(b"BHV1"));
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = bulkhead_traffic::tsig::parse_key(text);
    }
});
