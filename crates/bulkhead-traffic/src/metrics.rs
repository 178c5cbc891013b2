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

/// The response codes counted without a lookup, in this order.
const COMMON_CODES: [ResponseCode; 7] = [
    ResponseCode::NoError,
    ResponseCode::NXDomain,
    ResponseCode::Refused,
    ResponseCode::FormErr,
    ResponseCode::NotImp,
    ResponseCode::NotAuth,
    ResponseCode::ServFail,
];
const PROTOCOLS: [&str; 3] = ["udp", "tcp", "other"];

/// The labels of an answer: the code as one lowercase word (`noerror`,
/// `nxdomain`, `refused`), as DNS tools spell it.
fn answer_labels(code: ResponseCode, protocol: &str) -> AnswerLabels {
    AnswerLabels { rcode: format!("{code:?}").to_ascii_lowercase(), protocol: protocol.to_string() }
}

/// Every counter one instance keeps.
///
/// The counters every answer touches are made once, up front: looking a
/// labelled counter up builds its label strings and takes the family's
/// lock, which on one core cost more than the answer itself.
#[derive(Debug, Default)]
pub struct Metrics {
    /// `answers` for each common code and protocol, `COMMON_CODES` × `PROTOCOLS`.
    common_answers: Vec<Counter>,
    /// `app_answers` and `all_sites_down_answers` by service index.
    per_app: Vec<(Counter, Counter)>,
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
    /// Counters for a zone whose services are these apps, in order.
    pub fn new<'a>(apps: impl IntoIterator<Item = &'a str>) -> Self {
        let metrics = Self::default();
        let common_answers = COMMON_CODES
            .iter()
            .flat_map(|code| PROTOCOLS.iter().map(move |p| (*code, *p)))
            .map(|(code, protocol)| metrics.answers.get_or_create(&answer_labels(code, protocol)).clone())
            .collect();
        let per_app = apps
            .into_iter()
            .map(|app| {
                let labels = AppLabels { app: app.to_string() };
                (metrics.app_answers.get_or_create(&labels).clone(), metrics.all_down.get_or_create(&labels).clone())
            })
            .collect();
        Self { common_answers, per_app, ..metrics }
    }

    /// One response sent.
    pub fn answered(&self, code: ResponseCode, protocol: Protocol) {
        let p = match protocol {
            Protocol::Udp => 0,
            Protocol::Tcp => 1,
            _ => 2,
        };
        match COMMON_CODES
            .iter()
            .position(|c| *c == code)
            .and_then(|c| self.common_answers.get(c * PROTOCOLS.len() + p))
        {
            Some(counter) => {
                counter.inc();
            }
            None => {
                self.answers.get_or_create(&answer_labels(code, PROTOCOLS[p])).inc();
            }
        }
    }

    /// One answer for service `service`'s hostname; `all_down` when no site was up.
    pub fn served(&self, service: usize, all_down: bool) {
        if let Some((answers, down)) = self.per_app.get(service) {
            answers.inc();
            if all_down {
                down.inc();
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_counted_by_code_protocol_and_app() {
        let m = Metrics::new(["web", "api"]);
        m.answered(ResponseCode::NoError, Protocol::Udp);
        m.answered(ResponseCode::NoError, Protocol::Udp);
        m.answered(ResponseCode::BADVERS, Protocol::Tcp);
        m.served(1, true);
        let text = m.render();
        assert!(text.contains("bulkhead_traffic_answers_total{rcode=\"noerror\",protocol=\"udp\"} 2"), "{text}");
        assert!(text.contains("protocol=\"tcp\"} 1"), "an uncommon code is counted too: {text}");
        assert!(text.contains("bulkhead_traffic_app_answers_total{app=\"api\"} 1"), "{text}");
        assert!(text.contains("bulkhead_traffic_all_sites_down_answers_total{app=\"api\"} 1"), "{text}");
        assert!(text.contains("bulkhead_traffic_app_answers_total{app=\"web\"} 0"), "{text}");
    }
}
