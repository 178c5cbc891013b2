//! The answer to one query, from the zone and which sites are up: pure, so
//! every case (and fuzzed input) is tested without a socket.

use std::net::IpAddr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, AAAA, NS, SOA};
use hickory_proto::rr::{DNSClass, LowerName, Name, RData, Record, RecordType};

use crate::policy::choose;
use crate::zone::Zone;

/// Which sites are up, and the serial of the zone's current state.
pub trait SiteState {
    /// Whether site `site` of service `service` is up.
    fn is_up(&self, service: usize, site: usize) -> bool;
    /// The zone's serial: it grows whenever an answer changes.
    fn serial(&self) -> u32;
}

/// What the server sends back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// NOERROR, NXDOMAIN, REFUSED, NOTIMP.
    pub code: ResponseCode,
    /// Whether the answer is from the zone (the AA bit).
    pub authoritative: bool,
    /// The answer section.
    pub answers: Vec<Record>,
    /// The authority section: the SOA of negative answers, or the NS set.
    pub authorities: Vec<Record>,
    /// The additional section: glue for the nameservers.
    pub additionals: Vec<Record>,
    /// The service answered for and whether it fell back to every site.
    pub service: Option<(usize, bool)>,
}

impl Answer {
    fn empty(code: ResponseCode, authoritative: bool) -> Self {
        Self { code, authoritative, answers: vec![], authorities: vec![], additionals: vec![], service: None }
    }
}

/// Answers `qtype` at `qname`. `pick` varies from query to query (the
/// policies' rotation).
pub fn answer(
    zone: &Zone,
    state: &impl SiteState,
    qname: &LowerName,
    qtype: RecordType,
    qclass: DNSClass,
    pick: u64,
) -> Answer {
    if !matches!(qclass, DNSClass::IN | DNSClass::ANY) {
        return Answer::empty(ResponseCode::Refused, false);
    }
    let origin = zone.origin_lower();
    if !origin.zone_of(qname) {
        // Not an open resolver: nothing outside the zone, no referral upward.
        return Answer::empty(ResponseCode::Refused, false);
    }
    if matches!(qtype, RecordType::AXFR | RecordType::IXFR) {
        // Zone transfers are answered over TCP by the server, never here.
        return Answer::empty(ResponseCode::Refused, false);
    }
    let name: Name = qname.into();
    let mut out = Answer::empty(ResponseCode::NoError, true);
    if qname == origin {
        let want_soa = matches!(qtype, RecordType::SOA | RecordType::ANY);
        let want_ns = matches!(qtype, RecordType::NS | RecordType::ANY);
        if want_soa {
            out.answers.push(soa(zone, state.serial()));
        }
        if want_ns {
            out.answers.extend(ns_records(zone));
            out.additionals.extend(glue(zone));
        }
        if !want_soa && !want_ns {
            out.authorities.push(soa(zone, state.serial()));
        }
        return out;
    }
    if let Some(ns) = zone.nameserver_at(qname) {
        out.answers.extend(address_records(&name, zone.ttl, [ns.ip], qtype));
        if out.answers.is_empty() {
            out.authorities.push(soa(zone, state.serial()));
        }
        return out;
    }
    if let Some(si) = zone.service_at(qname) {
        let service = &zone.services[si];
        let choice = choose(service, |site| state.is_up(si, site), pick);
        out.service = Some((si, choice.all_down));
        let ips = choice.sites.iter().flat_map(|s| s.addresses.iter().copied());
        out.answers.extend(address_records(&name, service.ttl, ips, qtype));
        if out.answers.is_empty() {
            out.authorities.push(soa(zone, state.serial()));
        }
        return out;
    }
    if zone.is_empty_non_terminal(qname) {
        out.authorities.push(soa(zone, state.serial()));
        return out;
    }
    out.code = ResponseCode::NXDomain;
    out.authorities.push(soa(zone, state.serial()));
    out
}

/// The A records (for A), AAAA records (for AAAA) or both (for ANY) of the
/// addresses.
fn address_records(name: &Name, ttl: u32, ips: impl IntoIterator<Item = IpAddr>, qtype: RecordType) -> Vec<Record> {
    ips.into_iter()
        .filter_map(|ip| {
            let data = match (ip, qtype) {
                (IpAddr::V4(v4), RecordType::A | RecordType::ANY) => RData::A(A(v4)),
                (IpAddr::V6(v6), RecordType::AAAA | RecordType::ANY) => RData::AAAA(AAAA(v6)),
                _ => return None,
            };
            Some(Record::from_rdata(name.clone(), ttl, data))
        })
        .collect()
}

/// The zone's SOA record, also the one negative answers carry: RFC 2308
/// caches a negative answer for the smaller of the SOA's TTL and MINIMUM,
/// both the zone's TTL here.
pub fn soa(zone: &Zone, serial: u32) -> Record {
    let primary = zone.nameservers.first().map_or_else(|| zone.origin.clone(), |ns| ns.fqdn.clone());
    // Refresh, retry and expire matter to secondaries that transfer the zone
    // (BIND in front of it): refresh often, since answers follow health.
    let refresh = i32::try_from(zone.ttl.max(30)).unwrap_or(i32::MAX);
    let data = SOA::new(primary, zone.admin.clone(), serial, refresh, refresh / 2 + 1, 604_800, zone.ttl);
    Record::from_rdata(zone.origin.clone(), zone.ttl, RData::SOA(data))
}

/// The zone's NS records.
pub fn ns_records(zone: &Zone) -> Vec<Record> {
    zone.nameservers
        .iter()
        .map(|ns| Record::from_rdata(zone.origin.clone(), zone.ttl, RData::NS(NS(ns.fqdn.clone()))))
        .collect()
}

/// The nameservers' own A and AAAA records.
pub fn glue(zone: &Zone) -> Vec<Record> {
    zone.nameservers.iter().flat_map(|ns| address_records(&ns.fqdn, zone.ttl, [ns.ip], RecordType::ANY)).collect()
}

/// Every record the zone holds now, SOA first, as a zone transfer sends
/// them (the closing SOA is the transfer's to add). A secondary cannot apply
/// weights or rotate, so each hostname lists the addresses of every site
/// its policy would use: the first site up for failover, every site up for
/// the others.
pub fn zone_records(zone: &Zone, state: &impl SiteState) -> Vec<Record> {
    let mut records = vec![soa(zone, state.serial())];
    records.extend(ns_records(zone));
    records.extend(glue(zone));
    for (si, service) in zone.services.iter().enumerate() {
        records.extend(address_records(&service.hostname, service.ttl, published(zone, state, si), RecordType::ANY));
    }
    records
}

/// The addresses a hostname publishes to a secondary (see [`zone_records`]).
pub fn published(zone: &Zone, state: &impl SiteState, service: usize) -> Vec<IpAddr> {
    let s = &zone.services[service];
    let up: Vec<usize> = (0..s.sites.len()).filter(|&i| state.is_up(service, i)).collect();
    let sites: Vec<usize> = match (s.policy, up.as_slice()) {
        (_, []) => (0..s.sites.len()).collect(),
        (bulkhead_model::spec::TrafficPolicy::Failover, [first, ..]) => vec![*first],
        (_, _) => up,
    };
    sites.iter().flat_map(|&i| s.sites[i].addresses.iter().copied()).collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bulkhead_model::spec::{ProbeKind, TrafficPolicy};
    use hickory_proto::rr::RecordData;
    use proptest::prelude::*;

    use super::*;
    use crate::zone::{NameserverEntry, ProbeTarget, ProbeTiming, Service, Site};

    struct Up(Vec<bool>);

    impl SiteState for Up {
        fn is_up(&self, _: usize, site: usize) -> bool {
            self.0[site]
        }
        fn serial(&self) -> u32 {
            42
        }
    }

    fn zone() -> Zone {
        let name = |s: &str| Name::from_ascii(s).unwrap();
        let site = |c: &str, ips: &[&str]| Site {
            cluster: c.into(),
            weight: 1,
            addresses: ips.iter().map(|i| i.parse().unwrap()).collect(),
        };
        Zone::new(
            name("gslb.test."),
            30,
            name("hostmaster.gslb.test."),
            vec![NameserverEntry {
                name: "ns1".into(),
                fqdn: name("ns1.gslb.test."),
                cluster: "a".into(),
                ip: "192.0.2.53".parse().unwrap(),
                dns_port: 53,
                peer_port: 8053,
            }],
            vec![Service {
                app: "web".into(),
                namespace: "web".into(),
                hostname: name("web.apps.gslb.test."),
                policy: TrafficPolicy::Failover,
                ttl: 5,
                probe: ProbeTarget { kind: ProbeKind::Http, port: 80, path: "/".into() },
                sites: vec![site("a", &["192.0.2.1", "2001:db8::1"]), site("b", &["192.0.2.2"])],
            }],
            ProbeTiming {
                interval: Duration::from_secs(2),
                timeout: Duration::from_secs(1),
                fail_after: 3,
                recover_after: 3,
            },
        )
    }

    fn ask(zone: &Zone, up: &[bool], name: &str, qtype: RecordType) -> Answer {
        let name = LowerName::new(&Name::from_ascii(name).unwrap());
        answer(zone, &Up(up.to_vec()), &name, qtype, DNSClass::IN, 0)
    }

    fn ips(a: &Answer) -> Vec<String> {
        a.answers.iter().map(|r| r.data.clone().into_rdata().to_string()).collect()
    }

    #[test]
    fn a_hostname_answers_with_the_sites_up_by_family() {
        let z = zone();
        let a = ask(&z, &[true, true], "web.apps.gslb.test.", RecordType::A);
        assert_eq!((a.code, a.authoritative, ips(&a)), (ResponseCode::NoError, true, vec!["192.0.2.1".into()]));
        assert_eq!(a.answers[0].ttl, 5);
        let aaaa = ask(&z, &[true, true], "WEB.apps.gslb.test.", RecordType::AAAA);
        assert_eq!(ips(&aaaa), ["2001:db8::1"]);
        let moved = ask(&z, &[false, true], "web.apps.gslb.test.", RecordType::A);
        assert_eq!(ips(&moved), ["192.0.2.2"]);
        let nodata = ask(&z, &[false, true], "web.apps.gslb.test.", RecordType::AAAA);
        assert!(nodata.answers.is_empty() && nodata.code == ResponseCode::NoError);
        assert_eq!(nodata.authorities[0].record_type(), RecordType::SOA);
    }

    #[test]
    fn the_apex_the_nameservers_and_what_is_not_there() {
        let z = zone();
        let soa = ask(&z, &[true, true], "gslb.test.", RecordType::SOA);
        assert_eq!(soa.answers[0].data.record_type(), RecordType::SOA);
        assert!(soa.answers[0].data.clone().into_rdata().to_string().contains(" 42 "), "the serial");
        let ns = ask(&z, &[true, true], "gslb.test.", RecordType::NS);
        assert_eq!(ns.answers.len(), 1);
        assert_eq!(ns.additionals.len(), 1, "glue");
        assert_eq!(ips(&ask(&z, &[true, true], "ns1.gslb.test.", RecordType::A)), ["192.0.2.53"]);
        let ent = ask(&z, &[true, true], "apps.gslb.test.", RecordType::A);
        assert_eq!((ent.code, ent.answers.len()), (ResponseCode::NoError, 0), "an empty non-terminal exists");
        let nx = ask(&z, &[true, true], "nope.gslb.test.", RecordType::A);
        assert_eq!(nx.code, ResponseCode::NXDomain);
        assert_eq!(nx.authorities.len(), 1);
        let out = ask(&z, &[true, true], "example.com.", RecordType::A);
        assert_eq!((out.code, out.authoritative), (ResponseCode::Refused, false));
        let parent = ask(&z, &[true, true], "test.", RecordType::NS);
        assert_eq!(parent.code, ResponseCode::Refused, "no referral upward");
        let chaos = answer(&z, &Up(vec![true, true]), &LowerName::new(&z.origin), RecordType::TXT, DNSClass::CH, 0);
        assert_eq!(chaos.code, ResponseCode::Refused);
    }

    #[test]
    fn a_transfer_lists_what_each_policy_would_use() {
        let z = zone();
        let records = zone_records(&z, &Up(vec![false, true]));
        assert_eq!(records[0].record_type(), RecordType::SOA);
        let web: Vec<String> = records
            .iter()
            .filter(|r| r.name.to_string() == "web.apps.gslb.test.")
            .map(|r| r.data.clone().into_rdata().to_string())
            .collect();
        assert_eq!(web, ["192.0.2.2"]);
    }

    proptest! {
        /// Any name and type: REFUSED exactly outside the zone (or for
        /// transfers), and every record answers the name asked or the apex.
        #[test]
        fn any_query_is_answered_within_the_zone(labels in prop::collection::vec("[a-z0-9-]{1,12}", 0..5), inside in any::<bool>(), qtype in any::<u16>(), up in any::<(bool, bool)>()) {
            let z = zone();
            let mut text = labels.join(".");
            if inside { text = if text.is_empty() { "gslb.test.".into() } else { format!("{text}.gslb.test.") } } else { text.push('.') }
            let Ok(name) = Name::from_ascii(&text) else { return Ok(()) };
            let qtype = RecordType::from(qtype);
            let lower = LowerName::new(&name);
            let a = answer(&z, &Up(vec![up.0, up.1]), &lower, qtype, DNSClass::IN, 0);
            let origin = LowerName::new(&z.origin);
            if !origin.zone_of(&lower) || matches!(qtype, RecordType::AXFR | RecordType::IXFR) {
                prop_assert_eq!(a.code, ResponseCode::Refused);
            } else {
                prop_assert_ne!(a.code, ResponseCode::Refused);
                prop_assert!(a.answers.iter().all(|r| LowerName::new(&r.name) == lower || LowerName::new(&r.name) == origin));
                prop_assert!(!a.answers.is_empty() || !a.authorities.is_empty(), "a negative answer carries the SOA");
            }
        }
    }
}
