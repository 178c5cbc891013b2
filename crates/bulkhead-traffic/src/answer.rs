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
    let origin = LowerName::new(&zone.origin);
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
    if *qname == origin {
        let want_soa = matches!(qtype, RecordType::SOA | RecordType::ANY);
        let want_ns = matches!(qtype, RecordType::NS | RecordType::ANY);
        if want_soa {
            out.answers.push(soa(zone, state.serial()));
        }
        if want_ns {
            out.answers.extend(ns_records(zone));
            out.additionals.extend(glue(zone, None));
        }
        if !want_soa && !want_ns {
            out.authorities.push(negative_soa(zone, state.serial()));
        }
        return out;
    }
    if let Some(ns) = zone.nameserver_at(qname) {
        out.answers.extend(address_records(&name, zone.ttl, [ns.ip], qtype));
        if out.answers.is_empty() {
            out.authorities.push(negative_soa(zone, state.serial()));
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
            out.authorities.push(negative_soa(zone, state.serial()));
        }
        return out;
    }
    if zone.is_empty_non_terminal(qname) {
        out.authorities.push(negative_soa(zone, state.serial()));
        return out;
    }
    out.code = ResponseCode::NXDomain;
    out.authorities.push(negative_soa(zone, state.serial()));
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

/// The zone's SOA record.
pub fn soa(zone: &Zone, serial: u32) -> Record {
    let primary = zone.nameservers.first().map_or_else(|| zone.origin.clone(), |ns| ns.fqdn.clone());
    // Refresh, retry and expire matter to secondaries that transfer the zone
    // (BIND in front of it): refresh often, since answers follow health.
    let refresh = i32::try_from(zone.ttl.max(30)).unwrap_or(i32::MAX);
    let data = SOA::new(primary, zone.admin.clone(), serial, refresh, refresh / 2 + 1, 604_800, zone.ttl);
    Record::from_rdata(zone.origin.clone(), zone.ttl, RData::SOA(data))
}

/// The SOA of a negative answer: RFC 2308 caches the negative answer for
/// the smaller of its TTL and its MINIMUM, both the zone's TTL here.
fn negative_soa(zone: &Zone, serial: u32) -> Record {
    soa(zone, serial)
}

/// The zone's NS records.
pub fn ns_records(zone: &Zone) -> Vec<Record> {
    zone.nameservers
        .iter()
        .map(|ns| Record::from_rdata(zone.origin.clone(), zone.ttl, RData::NS(NS(ns.fqdn.clone()))))
        .collect()
}

/// The nameservers' own A and AAAA records.
pub fn glue(zone: &Zone, qtype: Option<RecordType>) -> Vec<Record> {
    zone.nameservers
        .iter()
        .flat_map(|ns| address_records(&ns.fqdn, zone.ttl, [ns.ip], qtype.unwrap_or(RecordType::ANY)))
        .collect()
}

/// Every record the zone holds now, SOA first, as a zone transfer sends
/// them (the closing SOA is the transfer's to add). A secondary cannot apply
/// weights or rotate, so each hostname lists the addresses of every site
/// its policy would use: the first site up for failover, every site up for
/// the others.
pub fn zone_records(zone: &Zone, state: &impl SiteState) -> Vec<Record> {
    let mut records = vec![soa(zone, state.serial())];
    records.extend(ns_records(zone));
    records.extend(glue(zone, None));
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
