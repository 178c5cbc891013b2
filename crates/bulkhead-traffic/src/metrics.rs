//! Counters of answers, health changes and the peer channel, in the
//! OpenMetrics text format (`--metrics ADDR` serves them; the coming
//! controller registers the same registry).

use hickory_net::xfer::Protocol;
use hickory_proto::op::ResponseCode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AnswerLabels {
    rcode: String,
    protocol: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabels {
    app: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SiteLabels {
    app: String,
    cluster: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChangeLabels {
    app: String,
    cluster: String,
    /// `probe` (this instance's hysteresis) or `answers` (the vote).
    source: String,
    to: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PeerLabels {
    peer: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    action: String,
}

/// Every counter one instance keeps.
#[derive(Debug, Default)]
pub struct Metrics {
    answers: Family<AnswerLabels, Counter>,
    app_answers: Family<AppLabels, Counter>,
    all_down: Family<AppLabels, Counter>,
    changes: Family<ChangeLabels, Counter>,
    site_up: Family<SiteLabels, Gauge>,
    peers: Family<PeerLabels, Counter>,
    limited: Family<LimitLabels, Counter>,
    transfers: Counter,
    updates: Family<LimitLabels, Counter>,
}

impl Metrics {
    /// One response sent.
    pub fn answered(&self, code: ResponseCode, protocol: Protocol) {
        let protocol = match protocol {
            Protocol::Udp => "udp",
            Protocol::Tcp => "tcp",
            _ => "other",
        };
        self.answers
            .get_or_create(&AnswerLabels { rcode: code.to_str().to_lowercase(), protocol: protocol.into() })
            .inc();
    }

    /// One answer for an app's hostname; `all_down` when no site was up.
    pub fn served(&self, app: &str, all_down: bool) {
        let labels = AppLabels { app: app.to_string() };
        self.app_answers.get_or_create(&labels).inc();
        if all_down {
            self.all_down.get_or_create(&labels).inc();
        }
    }

    /// A site changed state: `source` is `probe` or `answers`.
    pub fn changed(&self, app: &str, cluster: &str, source: &str, up: bool) {
        self.changes
            .get_or_create(&ChangeLabels {
                app: app.into(),
                cluster: cluster.into(),
                source: source.into(),
                to: if up { "up" } else { "down" }.into(),
            })
            .inc();
        if source == "answers" {
            self.site_up.get_or_create(&SiteLabels { app: app.into(), cluster: cluster.into() }).set(i64::from(up));
        }
    }

    /// A peer message taken or refused.
    pub fn peer(&self, peer: &str, result: &str) {
        self.peers.get_or_create(&PeerLabels { peer: peer.into(), result: result.into() }).inc();
    }

    /// A response rate-limited: slipped (sent truncated) or dropped.
    pub fn rate_limited(&self, slipped: bool) {
        self.limited.get_or_create(&LimitLabels { action: if slipped { "slip" } else { "drop" }.into() }).inc();
    }

    /// A zone transfer served.
    pub fn transfer(&self) {
        self.transfers.inc();
    }

    /// An update sent to the external primary: `ok` or `failed`.
    pub fn update(&self, result: &str) {
        self.updates.get_or_create(&LimitLabels { action: result.into() }).inc();
    }

    /// Registers every counter under `bulkhead_traffic_`.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("bulkhead_traffic");
        r.register("answers", "DNS responses sent, by response code and protocol", self.answers.clone());
        r.register("app_answers", "Answers for an app's hostname", self.app_answers.clone());
        r.register("all_sites_down_answers", "Answers given while no site of the app was up", self.all_down.clone());
        r.register(
            "site_changes",
            "Sites going down or up, from this instance's probes or in the answers",
            self.changes.clone(),
        );
        r.register("site_up", "Whether a site is in the answers (1) or not (0)", self.site_up.clone());
        r.register("peer_messages", "Views received from peers, by result", self.peers.clone());
        r.register("rate_limited", "Responses rate-limited, by action", self.limited.clone());
        r.register("zone_transfers", "Zone transfers served", self.transfers.clone());
        r.register("primary_updates", "RFC 2136 updates sent to the external primary, by result", self.updates.clone());
    }

    /// The counters in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut registry = Registry::default();
        self.register(&mut registry);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).expect("writing to a String cannot fail");
        out
    }
}
