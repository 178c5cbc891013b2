//! The traffic zone as the fleet declares it: its apex, nameservers, and each
//! app's hostname with the sites that can take its traffic.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

use bulkhead_model::spec::{ClusterIndex, FleetFile, ProbeKind, TrafficPolicy};
use hickory_proto::rr::{LowerName, Name};

use crate::Error;

/// The zone one `bulkhead traffic serve` answers for.
#[derive(Debug, Clone)]
pub struct Zone {
    /// The apex, such as `gslb.example.com.`.
    pub origin: Name,
    /// The TTL of the apex's records and of negative answers.
    pub ttl: u32,
    /// The SOA's mailbox, as a name (`hostmaster.gslb.example.com.`).
    pub admin: Name,
    /// Every instance of the server, in the fleet's order.
    pub nameservers: Vec<NameserverEntry>,
    /// Each app with public traffic, in the fleet's order.
    pub services: Vec<Service>,
    /// Probe timing and hysteresis.
    pub probes: ProbeTiming,
    by_name: HashMap<LowerName, usize>,
    /// The apex and the nameservers' names, lowercased once.
    origin_lower: LowerName,
    nameservers_lower: Vec<LowerName>,
    /// Names between the apex and a hostname: they exist, with no records.
    empty_non_terminals: HashSet<LowerName>,
}

/// One instance of the server.
#[derive(Debug, Clone)]
pub struct NameserverEntry {
    /// The label, such as `ns1`.
    pub name: String,
    /// `ns1.<zone>`.
    pub fqdn: Name,
    /// The cluster whose site it runs in.
    pub cluster: String,
    /// The address it serves DNS on.
    pub ip: IpAddr,
    /// The port it serves DNS on (53 but in tests and behind port mappings).
    pub dns_port: u16,
    /// The UDP port of its peer channel.
    pub peer_port: u16,
}

/// An app's hostname and the sites behind it.
#[derive(Debug, Clone)]
pub struct Service {
    /// The app's name.
    pub app: String,
    /// The app's namespace (`default` when the fleet names none): where its
    /// workloads and load balancers are read.
    pub namespace: String,
    /// Its hostname, fully qualified.
    pub hostname: Name,
    /// How healthy sites share the traffic.
    pub policy: TrafficPolicy,
    /// The TTL of its answers.
    pub ttl: u32,
    /// How each site is probed.
    pub probe: ProbeTarget,
    /// The sites, in placement (and so failover) order.
    pub sites: Vec<Site>,
}

/// What a probe of a site asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    /// HTTP or TCP.
    pub kind: ProbeKind,
    /// The port.
    pub port: u16,
    /// The HTTP path.
    pub path: String,
}

/// One cluster running the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The cluster's name.
    pub cluster: String,
    /// Its share under the weighted policy.
    pub weight: u32,
    /// Where the app's traffic enters it.
    pub addresses: Vec<IpAddr>,
}

/// How often sites are probed and how many results in a row move them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeTiming {
    /// Between two probes of one site.
    pub interval: Duration,
    /// For one probe.
    pub timeout: Duration,
    /// Failures in a row before a site is down.
    pub fail_after: u32,
    /// Successes in a row before a down site is up.
    pub recover_after: u32,
}

impl Zone {
    /// The zone of a fleet that validated. Errors name what is missing, for
    /// fleets that skipped validation.
    pub fn from_fleet(fleet: &FleetFile) -> Result<Self, Error> {
        let spec = &fleet.spec;
        let traffic = spec.traffic.as_ref().ok_or(Error::NoTrafficZone)?;
        let origin = fqdn(&traffic.zone)?;
        let ttl = secs(traffic.ttl_seconds());
        let admin = match &traffic.admin {
            Some(mailbox) => {
                let (user, domain) =
                    mailbox.split_once('@').ok_or_else(|| Error::Invalid(format!("`{mailbox}` is not a mailbox")))?;
                // RFC 1035's RNAME: the mailbox's `@` becomes a dot; dots in
                // the user part are escaped.
                fqdn(&format!("{}.{domain}", user.replace('.', "\\.")))?
            }
            None => Name::from_ascii("hostmaster")
                .map_err(|e| Error::Invalid(e.to_string()))?
                .append_domain(&origin)
                .map_err(|e| Error::Invalid(e.to_string()))?,
        };
        let mut nameservers = Vec::new();
        for ns in &traffic.nameservers {
            let ip = ns.ip().ok_or_else(|| {
                Error::Invalid(format!("nameserver `{}`: `{}` is not an IP address", ns.name, ns.address))
            })?;
            nameservers.push(NameserverEntry {
                name: ns.name.clone(),
                fqdn: fqdn(&format!("{}.{}", ns.name, traffic.zone.trim_end_matches('.')))?,
                cluster: ns.cluster.clone(),
                ip,
                dns_port: ns.dns_port(),
                peer_port: ns.peer_port(),
            });
        }
        let parse = |text: &str, what: &str| {
            humantime::parse_duration(text)
                .map_err(|_| Error::Invalid(format!("probe {what} `{text}` is not a duration")))
        };
        let probes = ProbeTiming {
            interval: parse(&traffic.probes.interval, "interval")?,
            timeout: parse(&traffic.probes.timeout, "timeout")?,
            fail_after: traffic.probes.fail_after.max(1),
            recover_after: traffic.probes.recover_after.max(1),
        };

        let index = ClusterIndex::new(&spec.clusters);
        let mut services = Vec::new();
        for app in &spec.apps {
            let Some(t) = &app.traffic else { continue };
            let hostname = fqdn(&t.hostname)?;
            if !origin.zone_of(&hostname) || hostname == origin {
                return Err(Error::Invalid(format!(
                    "app `{}`'s hostname `{}` is not inside the zone `{}`",
                    app.name, t.hostname, traffic.zone
                )));
            }
            let mut sites = Vec::new();
            for i in index.select(&spec.clusters, &app.placement.clusters) {
                let cluster = &spec.clusters[i];
                let texts = t
                    .addresses
                    .get(&cluster.name)
                    .filter(|a| !a.is_empty())
                    .or(cluster.ingress.as_ref().map(|i| &i.addresses))
                    .cloned()
                    .unwrap_or_default();
                let mut addresses = Vec::new();
                for text in texts {
                    addresses.push(text.parse::<IpAddr>().map_err(|_| {
                        Error::Invalid(format!("cluster `{}`: `{text}` is not an IP address", cluster.name))
                    })?);
                }
                sites.push(Site {
                    cluster: cluster.name.clone(),
                    weight: t.weights.get(&cluster.name).copied().unwrap_or(1),
                    addresses,
                });
            }
            let ttl = t
                .ttl
                .as_deref()
                .and_then(|text| humantime::parse_duration(text).ok())
                .map_or(ttl, |d| secs(d.as_secs()));
            let port = t.port.unwrap_or(match t.probe {
                ProbeKind::Http => 80,
                ProbeKind::Tcp => 443,
            });
            services.push(Service {
                app: app.name.clone(),
                namespace: app.namespace.clone().unwrap_or_else(|| "default".to_string()),
                hostname,
                policy: t.policy,
                ttl,
                probe: ProbeTarget { kind: t.probe, port, path: t.health_path.clone() },
                sites,
            });
        }
        Ok(Self::new(origin, ttl, admin, nameservers, services, probes))
    }

    /// A zone from its parts (tests and fuzzing build them directly).
    pub fn new(
        origin: Name,
        ttl: u32,
        admin: Name,
        nameservers: Vec<NameserverEntry>,
        services: Vec<Service>,
        probes: ProbeTiming,
    ) -> Self {
        let mut by_name = HashMap::new();
        let mut empty_non_terminals = HashSet::new();
        for (i, s) in services.iter().enumerate() {
            by_name.insert(LowerName::new(&s.hostname), i);
            let mut parent = s.hostname.base_name();
            while origin.zone_of(&parent) && parent != origin {
                empty_non_terminals.insert(LowerName::new(&parent));
                parent = parent.base_name();
            }
        }
        let origin_lower = LowerName::new(&origin);
        let nameservers_lower = nameservers.iter().map(|ns| LowerName::new(&ns.fqdn)).collect();
        Self {
            origin,
            ttl,
            admin,
            nameservers,
            services,
            probes,
            by_name,
            empty_non_terminals,
            origin_lower,
            nameservers_lower,
        }
    }

    /// The service answering at a name.
    pub fn service_at(&self, name: &LowerName) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The nameserver whose own name this is.
    pub fn nameserver_at(&self, name: &LowerName) -> Option<&NameserverEntry> {
        self.nameservers_lower.iter().position(|n| n == name).map(|i| &self.nameservers[i])
    }

    /// The apex, lowercased.
    pub fn origin_lower(&self) -> &LowerName {
        &self.origin_lower
    }

    /// Whether a name exists only as a parent of a hostname.
    pub fn is_empty_non_terminal(&self, name: &LowerName) -> bool {
        self.empty_non_terminals.contains(name)
    }

    /// The nameserver called `name`.
    pub fn nameserver(&self, name: &str) -> Option<&NameserverEntry> {
        self.nameservers.iter().find(|ns| ns.name == name)
    }
}

/// A name made fully qualified and lowercase.
pub(crate) fn fqdn(text: &str) -> Result<Name, Error> {
    let mut name = Name::from_ascii(text.trim_end_matches('.'))
        .map_err(|e| Error::Invalid(format!("`{text}` is not a DNS name: {e}")))?
        .to_lowercase();
    name.set_fqdn(true);
    Ok(name)
}

fn secs(s: u64) -> u32 {
    u32::try_from(s).unwrap_or(u32::MAX)
}
