//! Public traffic: the zone Bulkhead's DNS servers answer for, and how each
//! app's hostname is shared among the sites that run it.

use std::collections::BTreeMap;
use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The fleet's traffic DNS (`bulkhead traffic serve`): an authoritative zone
/// whose names answer with the addresses of the healthy sites.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TrafficSpec {
    /// The zone, such as `gslb.example.com`, delegated to the nameservers
    /// below. Every app's `traffic.hostname` lies inside it.
    pub zone: String,
    /// One `bulkhead traffic serve` per site. Each answers from its own view
    /// and fails a site over only when a majority of them agree it is down.
    pub nameservers: Vec<Nameserver>,
    /// How long resolvers may cache an answer, such as `30s` (the default).
    /// A failover takes at least this long to reach every user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// The zone administrator's mailbox in the SOA record, such as
    /// `dns-admin@example.com` (the default: `hostmaster@<zone>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<String>,
    /// How often sites are probed, and how many results in a row move one.
    #[serde(default)]
    pub probes: Probes,
}

/// The default answer TTL.
pub const DEFAULT_TRAFFIC_TTL_SECONDS: u64 = 30;
/// The default port peers exchange their views on.
pub const DEFAULT_PEER_PORT: u16 = 8053;

impl TrafficSpec {
    /// The answer TTL in seconds; a value that does not parse (validation
    /// reports it) counts as the default.
    pub fn ttl_seconds(&self) -> u64 {
        self.ttl
            .as_deref()
            .and_then(|t| humantime::parse_duration(t).ok())
            .map_or(DEFAULT_TRAFFIC_TTL_SECONDS, |d| d.as_secs())
    }
}

/// One instance of Bulkhead's DNS server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Nameserver {
    /// A DNS label, such as `ns1`: the server's name is `<name>.<zone>`.
    pub name: String,
    /// The cluster whose site it runs in.
    pub cluster: String,
    /// The address it answers DNS on, and its glue record's.
    pub address: String,
    /// The port it answers DNS on, where not 53: behind a port mapping, or
    /// several instances on one host. Resolvers always ask port 53 (glue
    /// has no port), so this is for `bulkhead serve`, which asks each
    /// instance how it sees the sites, and for tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_port: Option<u16>,
    /// The UDP port it exchanges health views with its peers on (default 8053).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_port: Option<u16>,
}

impl Nameserver {
    /// The address, when it parses (validation reports it otherwise).
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.parse().ok()
    }

    /// The port it answers DNS on.
    pub fn dns_port(&self) -> u16 {
        self.dns_port.unwrap_or(53)
    }

    /// The port peers send views to.
    pub fn peer_port(&self) -> u16 {
        self.peer_port.unwrap_or(DEFAULT_PEER_PORT)
    }
}

/// Synthetic probes of each site's ingress, with hysteresis so a flapping
/// site does not move traffic back and forth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Probes {
    /// Time between two probes of one site, such as `2s` (the default).
    #[serde(default = "default_probe_interval")]
    pub interval: String,
    /// How long one probe may take, such as `1s` (the default).
    #[serde(default = "default_probe_timeout")]
    pub timeout: String,
    /// Failed probes in a row before a healthy site is marked down (default 3).
    #[serde(default = "three")]
    #[schemars(range(min = 1, max = 100))]
    pub fail_after: u32,
    /// Passed probes in a row before a down site is marked up again (default 3).
    #[serde(default = "three")]
    #[schemars(range(min = 1, max = 100))]
    pub recover_after: u32,
}

impl Default for Probes {
    fn default() -> Self {
        Self { interval: default_probe_interval(), timeout: default_probe_timeout(), fail_after: 3, recover_after: 3 }
    }
}

fn default_probe_interval() -> String {
    "2s".to_string()
}

fn default_probe_timeout() -> String {
    "1s".to_string()
}

fn three() -> u32 {
    3
}

/// Public traffic for an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Traffic {
    /// The DNS name users reach the app at, inside `spec.traffic.zone`.
    pub hostname: String,
    /// How healthy sites share the traffic.
    pub policy: TrafficPolicy,
    /// The HTTP path that answers 2xx when a site is healthy.
    #[serde(default = "default_health_path")]
    pub health_path: String,
    /// The port probes use (default 80 for HTTP probes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// How sites are probed: an HTTP GET of `healthPath` (the default) or a
    /// TCP connection to `port`.
    #[serde(default)]
    pub probe: ProbeKind,
    /// For `weighted`: each cluster's share, such as `{aws-use1-prod: 3,
    /// metal-ams1-prod: 1}`. A cluster left out weighs 1; a weight of 0
    /// gets traffic only when no other site is healthy.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub weights: BTreeMap<String, u32>,
    /// Addresses where this app's traffic enters a cluster, by cluster, when
    /// they differ from the cluster's `ingress.addresses`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub addresses: BTreeMap<String, Vec<String>>,
    /// This app's answer TTL, such as `5s`, when it differs from the zone's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
}

fn default_health_path() -> String {
    "/healthz".to_string()
}

/// How DNS spreads an app's traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TrafficPolicy {
    /// All traffic to the first healthy cluster in placement order.
    Failover,
    /// Each answer names one healthy cluster, chosen in proportion to
    /// `weights`.
    Weighted,
    /// Every healthy cluster in each answer, in an order that rotates.
    RoundRobin,
}

impl std::fmt::Display for TrafficPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Failover => "failover",
            Self::Weighted => "weighted",
            Self::RoundRobin => "round-robin",
        })
    }
}

/// What a probe of a site does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProbeKind {
    /// An HTTP GET of the health path with the app's hostname as `Host`;
    /// any 2xx passes.
    #[default]
    Http,
    /// A TCP connection to the port.
    Tcp,
}

/// Where traffic enters a cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterIngress {
    /// The addresses of its ingress controller or load balancer, IPv4 or IPv6.
    #[serde(default)]
    pub addresses: Vec<String>,
}
