//! Synthetic probes of a site's ingress: what a user's request would meet.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bulkhead_model::spec::ProbeKind;

use crate::zone::{ProbeTarget, Site};

/// One probe's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Whether the site passed.
    pub ok: bool,
    /// What was seen, such as `HTTP 200 from 10.0.0.1:8080` or
    /// `10.0.0.1:8080: timed out after 1s`.
    pub reason: String,
}

/// Probes a site: it passes when every one of its addresses does, since an
/// answer hands users all of them.
pub async fn probe_site(
    client: &reqwest::Client,
    target: &ProbeTarget,
    hostname: &str,
    site: &Site,
    timeout: Duration,
) -> Outcome {
    if site.addresses.is_empty() {
        return Outcome { ok: false, reason: "no address".to_string() };
    }
    let mut seen = Vec::new();
    for &ip in &site.addresses {
        let outcome = probe_address(client, target, hostname, ip, timeout).await;
        if !outcome.ok {
            return outcome;
        }
        seen.push(outcome.reason);
    }
    Outcome { ok: true, reason: seen.join(", ") }
}

async fn probe_address(
    client: &reqwest::Client,
    target: &ProbeTarget,
    hostname: &str,
    ip: IpAddr,
    timeout: Duration,
) -> Outcome {
    let address = SocketAddr::new(ip, target.port);
    let fail = |what: String| Outcome { ok: false, reason: format!("{address}: {what}") };
    match target.kind {
        ProbeKind::Tcp => match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(address)).await {
            Ok(Ok(_)) => Outcome { ok: true, reason: format!("TCP connect to {address}") },
            Ok(Err(e)) => fail(e.to_string()),
            Err(_) => fail(format!("timed out after {}", humantime::format_duration(timeout))),
        },
        ProbeKind::Http => {
            let url = format!("http://{address}{}", target.path);
            // The Host header names the app, as a user's request would.
            let request = client.get(&url).header(reqwest::header::HOST, hostname).timeout(timeout);
            match request.send().await {
                Ok(r) if r.status().is_success() => {
                    Outcome { ok: true, reason: format!("HTTP {} from {address}", r.status().as_u16()) }
                }
                Ok(r) => fail(format!("HTTP {}", r.status())),
                Err(e) if e.is_timeout() => fail(format!("timed out after {}", humantime::format_duration(timeout))),
                Err(e) if e.is_connect() => fail("connection failed".to_string()),
                Err(e) => fail(e.to_string()),
            }
        }
    }
}

/// The HTTP client probes share: no proxy (a probe must reach the site
/// itself), no redirects (a redirect is not health), no pooled connections
/// (a dead site must not look alive on a kept-alive socket).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .expect("an HTTP client with these settings always builds")
}
