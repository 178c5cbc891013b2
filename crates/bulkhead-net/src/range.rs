//! Ranges with owners: what a CIDR is for, whose it is, and where Bulkhead
//! learned of it.

use std::fmt;

use ipnet::IpNet;
use serde::Serialize;

/// IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// The family of a network.
    pub fn of(net: &IpNet) -> Self {
        match net {
            IpNet::V4(_) => Self::V4,
            IpNet::V6(_) => Self::V6,
        }
    }

    /// Address width in bits.
    pub fn bits(self) -> u8 {
        match self {
            Self::V4 => 32,
            Self::V6 => 128,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V4 => "IPv4",
            Self::V6 => "IPv6",
        })
    }
}

/// First and last address of a network as integers, for sorting and sweeps.
pub fn bounds(net: &IpNet) -> (u128, u128) {
    match net {
        IpNet::V4(n) => (u32::from(n.network()) as u128, u32::from(n.broadcast()) as u128),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    }
}

/// The network of `family` that starts at `start` with `prefix`.
pub fn net_at(family: Family, start: u128, prefix: u8) -> IpNet {
    match family {
        Family::V4 => IpNet::V4(
            ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(start as u32), prefix).expect("prefix checked by caller"),
        ),
        Family::V6 => {
            IpNet::V6(ipnet::Ipv6Net::new(std::net::Ipv6Addr::from(start), prefix).expect("prefix checked by caller"))
        }
    }
}

/// What a range is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RangeKind {
    /// The nodes' (VPC) range.
    Nodes,
    /// The pods' range (the cluster CIDR).
    Pods,
    /// The Services' cluster-IP range.
    Services,
    /// Addresses a bare-metal load balancer announces.
    LoadBalancer,
    /// One node's pod range, as the cluster assigned it (live).
    NodePods,
    /// One Service's cluster IP (live, when the cluster does not publish its range).
    ServiceIp,
    /// A range owned by something outside the fleet.
    External,
}

impl RangeKind {
    /// The name as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nodes => "nodes",
            Self::Pods => "pods",
            Self::Services => "services",
            Self::LoadBalancer => "load-balancer",
            Self::NodePods => "node pods",
            Self::ServiceIp => "service IP",
            Self::External => "external",
        }
    }

    /// The field of `spec.clusters[].network` that declares this kind.
    pub fn field(self) -> Option<&'static str> {
        match self {
            Self::Nodes => Some("nodes"),
            Self::Pods | Self::NodePods => Some("pods"),
            Self::Services | Self::ServiceIp => Some("services"),
            Self::LoadBalancer => Some("loadBalancer"),
            Self::External => None,
        }
    }

    /// The declared kind a live kind must stay inside.
    pub fn declared(self) -> Self {
        match self {
            Self::NodePods => Self::Pods,
            Self::ServiceIp => Self::Services,
            other => other,
        }
    }
}

impl fmt::Display for RangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where Bulkhead learned of a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Written by hand in fleet.yaml.
    Declared,
    /// Allocated earlier and recorded in the lock file.
    Locked,
    /// Allocated by this plan.
    Planned,
    /// Read from the running cluster.
    Live,
    /// Declared in `spec.network.external`.
    External,
    /// Read from a ranges file given on the command line.
    Imported,
}

impl Source {
    /// The name as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Declared => "fleet.yaml",
            Self::Locked => "net.lock.json",
            Self::Planned => "planned",
            Self::Live => "live",
            Self::External => "external",
            Self::Imported => "imported",
        }
    }
}

/// A range and whose it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnedRange {
    /// The cluster, or the external owner's name.
    pub owner: String,
    /// What the range is for.
    pub kind: RangeKind,
    /// The range.
    pub net: IpNet,
    /// Where it was learned.
    pub source: Source,
    /// More about it, such as the node whose pod range it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl OwnedRange {
    /// A range without detail.
    pub fn new(owner: impl Into<String>, kind: RangeKind, net: IpNet, source: Source) -> Self {
        Self { owner: owner.into(), kind, net: net.trunc(), source, detail: None }
    }

    /// Adds detail.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// "cluster `x`'s pods range 10.0.0.0/16 (fleet.yaml)".
    pub fn describe(&self) -> String {
        let whose = match self.kind {
            RangeKind::External => format!("external range `{}`", self.owner),
            kind => format!("cluster `{}`'s {kind} range", self.owner),
        };
        match &self.detail {
            Some(d) => format!("{whose} {} ({}, {d})", self.net, self.source.as_str()),
            None => format!("{whose} {} ({})", self.net, self.source.as_str()),
        }
    }
}
