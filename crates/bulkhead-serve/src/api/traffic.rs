//! `GET /api/v1/traffic`: each app's sites as every traffic DNS instance
//! sees them, asked of the instances themselves (CH TXT, signed with
//! `--traffic-key`; see `bulkhead_traffic::status`) rather than worked out
//! here: the point is to show when instances disagree, or one is cut off.
//!
//! Every instance is asked at once, over one TCP connection each, and the
//! answer is kept for a few seconds, so a dashboard refreshing on many
//! screens asks the instances once.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bulkhead_traffic::Zone;
use bulkhead_traffic::status::{SiteSeen, ask};
use hickory_proto::rr::TSigner;
use schemars::JsonSchema;
use serde::Serialize;

/// How long one answer is served again.
const KEEP_FOR: Duration = Duration::from_secs(5);
/// How long an instance gets to answer every query.
const ASK_TIMEOUT: Duration = Duration::from_secs(3);

/// The traffic zone's sites as its instances see them.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrafficView {
    /// The zone (absent when the fleet routes no traffic).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// When the instances were asked (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asked_at: Option<String>,
    /// Why the instances were not asked, when they were not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_asked: Option<String>,
    /// Every instance, with whether it answered.
    pub instances: Vec<InstanceView>,
    /// Every app with a hostname in the zone.
    pub apps: Vec<TrafficAppView>,
}

/// One traffic DNS instance.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceView {
    /// Its nameserver name, such as `ns1`.
    pub name: String,
    /// The cluster whose site it runs in.
    pub cluster: String,
    /// Where it answers DNS.
    pub address: String,
    /// Why it could not be asked, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One app's sites.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrafficAppView {
    /// The app.
    pub app: String,
    /// Its hostname.
    pub hostname: String,
    /// `failover`, `round-robin` or `weighted`.
    pub policy: String,
    /// Its sites, in the policy's order.
    pub sites: Vec<TrafficSiteView>,
}

/// One site of one app.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrafficSiteView {
    /// The site's cluster.
    pub cluster: String,
    /// The addresses an answer names for it.
    pub addresses: Vec<String>,
    /// Its weight (for `weighted`).
    pub weight: u32,
    /// How each instance that answered sees it, in `instances`' order of
    /// those that answered.
    pub seen_by: Vec<SeenView>,
    /// Whether every instance that answered has it in its answers, none
    /// does, or they disagree.
    pub agreement: Agreement,
}

/// Whether the instances agree on a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Agreement {
    /// Every instance that answered sends users there.
    In,
    /// None does.
    Out,
    /// Some do and some do not: the vote is turning, or instances cannot
    /// hear each other.
    Split,
    /// No instance answered.
    Unknown,
}

/// One site as one instance sees it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SeenView {
    /// The instance.
    pub instance: String,
    /// What it said.
    #[serde(flatten)]
    pub seen: SiteSeen,
}

/// The key and the last answer.
pub(crate) struct TrafficWatch {
    signer: Option<TSigner>,
    last: tokio::sync::Mutex<Option<(Instant, TrafficView)>>,
}

impl TrafficWatch {
    /// A watcher that signs with `signer` (none: the instances are not asked).
    pub(crate) fn new(signer: Option<TSigner>) -> Self {
        Self { signer, last: tokio::sync::Mutex::new(None) }
    }

    /// The view, asked again when the last is older than a few seconds
    /// (so a changed fleet shows within as long).
    pub(crate) async fn view(&self, fleet: &bulkhead_model::Fleet) -> TrafficView {
        // One asker at a time: the others wait for its answer, not ask too.
        let mut last = self.last.lock().await;
        if let Some((at, view)) = last.as_ref()
            && at.elapsed() < KEEP_FOR
        {
            return view.clone();
        }
        // A fleet that validated has a zone that builds; one without
        // `spec.traffic` routes nothing.
        let zone = Zone::from_fleet(&fleet.file).ok();
        let view = match (&zone, &self.signer) {
            (None, _) => TrafficView { zone: None, asked_at: None, not_asked: None, instances: vec![], apps: vec![] },
            (Some(zone), None) => declared(
                zone,
                Some("give --traffic-key (a key the instances take with --transfer-key) to ask them".into()),
            ),
            (Some(zone), Some(signer)) => asked(zone, signer).await,
        };
        *last = Some((Instant::now(), view.clone()));
        view
    }
}

/// What the fleet declares, with nothing asked.
fn declared(zone: &Zone, not_asked: Option<String>) -> TrafficView {
    TrafficView {
        zone: Some(zone.origin.to_string()),
        asked_at: None,
        not_asked,
        instances: zone
            .nameservers
            .iter()
            .map(|ns| InstanceView {
                name: ns.name.clone(),
                cluster: ns.cluster.clone(),
                address: SocketAddr::new(ns.ip, ns.dns_port).to_string(),
                error: None,
            })
            .collect(),
        apps: zone
            .services
            .iter()
            .map(|s| TrafficAppView {
                app: s.app.clone(),
                hostname: s.hostname.to_string(),
                policy: super::views::word(s.policy),
                sites: s
                    .sites
                    .iter()
                    .map(|site| TrafficSiteView {
                        cluster: site.cluster.clone(),
                        addresses: site.addresses.iter().map(ToString::to_string).collect(),
                        weight: site.weight,
                        seen_by: vec![],
                        agreement: Agreement::Unknown,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Every instance asked at once for every hostname.
async fn asked(zone: &Zone, signer: &TSigner) -> TrafficView {
    let hostnames: Vec<_> = zone.services.iter().map(|s| s.hostname.clone()).collect();
    let answers = futures::future::join_all(
        zone.nameservers.iter().map(|ns| ask(SocketAddr::new(ns.ip, ns.dns_port), signer, &hostnames, ASK_TIMEOUT)),
    )
    .await;
    let mut view = declared(zone, None);
    view.asked_at = Some(chrono::Utc::now().to_rfc3339());
    for (instance, answer) in view.instances.iter_mut().zip(&answers) {
        if let Err(error) = answer {
            tracing::debug!(instance = instance.name, %error, "a traffic instance could not be asked");
            instance.error = Some(error.to_string());
        }
    }
    for (si, app) in view.apps.iter_mut().enumerate() {
        for site in &mut app.sites {
            for (ns, answer) in zone.nameservers.iter().zip(&answers) {
                let Ok(services) = answer else { continue };
                if let Some(seen) = services.get(si).and_then(|sites| sites.iter().find(|s| s.cluster == site.cluster))
                {
                    site.seen_by.push(SeenView { instance: ns.name.clone(), seen: seen.clone() });
                }
            }
            site.agreement = agreement(&site.seen_by);
        }
    }
    view
}

fn agreement(seen: &[SeenView]) -> Agreement {
    match (seen.iter().all(|s| s.seen.in_answers), seen.iter().any(|s| s.seen.in_answers)) {
        _ if seen.is_empty() => Agreement::Unknown,
        (true, _) => Agreement::In,
        (false, false) => Agreement::Out,
        (false, true) => Agreement::Split,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(instance: &str, in_answers: bool) -> SeenView {
        SeenView {
            instance: instance.into(),
            seen: SiteSeen {
                cluster: "a".into(),
                in_answers,
                probes_up: in_answers,
                seen: 2,
                of: 2,
                ..SiteSeen::default()
            },
        }
    }

    #[test]
    fn instances_agree_disagree_or_are_not_heard() {
        assert_eq!(agreement(&[]), Agreement::Unknown);
        assert_eq!(agreement(&[seen("ns1", true), seen("ns2", true)]), Agreement::In);
        assert_eq!(agreement(&[seen("ns1", false), seen("ns2", false)]), Agreement::Out);
        assert_eq!(agreement(&[seen("ns1", true), seen("ns2", false)]), Agreement::Split);
    }
}
