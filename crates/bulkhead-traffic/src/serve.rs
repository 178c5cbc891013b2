//! One instance of the traffic DNS, with its probes, its peers and its
//! updates to an external primary, until shut down.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bulkhead_kube::readiness::Readiness;
use hickory_proto::rr::TSigner;
use hickory_server::Server;
use tokio::net::{TcpListener, UdpSocket};
use tracing::{debug, info, warn};

use crate::Error;
use crate::answer::published;
use crate::health::SiteHealth;
use crate::peers;
use crate::probe::{Outcome, client, probe_site};
use crate::rrl::Limits;
use crate::secondary::{Published, notify, push};
use crate::server::Handler;
use crate::state::Live;
use crate::tsig::Key;
use crate::votes::{SiteKey, Votes};
use crate::wire::{PeerKey, View};
use crate::workloads::{ApiHealth, site_readiness};
use crate::zone::{ProbeTiming, Zone};

/// How one instance runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Which of the zone's nameservers this is.
    pub instance: String,
    /// Where to answer DNS (UDP and TCP); the nameserver's address and DNS
    /// port (53 unless `dnsPort` says otherwise) when absent.
    pub listen: Option<SocketAddr>,
    /// Where to receive peers' views; the nameserver's address and peer port
    /// when absent.
    pub peer_listen: Option<SocketAddr>,
    /// The key peers sign their views with; required with more than one
    /// nameserver.
    pub peer_key: Option<Key>,
    /// Keys that may transfer the zone (and sign queries).
    pub transfer_keys: Vec<Key>,
    /// An external primary to keep updated (RFC 2136), and the key to sign with.
    pub primary: Option<(SocketAddr, Key)>,
    /// Secondaries told (NOTIFY) when the zone changes.
    pub notify: Vec<SocketAddr>,
    /// Response-rate limits.
    pub limits: Limits,
    /// The clusters' own view of each app's workloads, beside the probes.
    pub api: ApiHealth,
}

/// Runs until `shutdown` resolves.
pub async fn serve(zone: Zone, options: ServeOptions, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let me = zone
        .nameserver(&options.instance)
        .ok_or_else(|| Error::UnknownInstance {
            name: options.instance.clone(),
            known: zone.nameservers.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(", "),
        })?
        .clone();
    let peers: Vec<_> = zone.nameservers.iter().filter(|n| n.name != me.name).cloned().collect();
    let peer_secret = match (&options.peer_key, peers.is_empty()) {
        (Some(key), _) => Some(key.secret.clone()),
        (None, true) => None,
        (None, false) => {
            return Err(Error::Invalid(
                "the zone has more than one nameserver: give the peers' shared key with --peer-key".into(),
            ));
        }
    };
    let signers = options
        .transfer_keys
        .iter()
        .map(|k| k.signer().map_err(|source| Error::Key { path: k.name.clone(), source }))
        .collect::<Result<Vec<_>, _>>()?;
    let primary = match &options.primary {
        Some((address, key)) => {
            Some((*address, key.signer().map_err(|source| Error::Key { path: key.name.clone(), source })?))
        }
        None => None,
    };

    let serial = u32::try_from(SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_secs())).unwrap_or(1);
    let timing = zone.probes;
    let live = Arc::new(Live::new(zone, serial));
    let listen = options.listen.unwrap_or(SocketAddr::new(me.ip, me.dns_port));
    let udp = UdpSocket::bind(listen).await.map_err(|source| Error::Listen { address: listen, source })?;
    let tcp = TcpListener::bind(listen).await.map_err(|source| Error::Listen { address: listen, source })?;
    let mut server = Server::new(Handler::new(live.clone(), signers, options.limits));
    server.register_socket(udp);
    server.register_listener(tcp, Duration::from_secs(5), 64);
    info!(instance = %me.name, %listen, zone = %live.zone.origin, "answering");

    let peer_listen = options.peer_listen.unwrap_or(SocketAddr::new(me.ip, me.peer_port));
    let peer_socket =
        Arc::new(UdpSocket::bind(peer_listen).await.map_err(|source| Error::Listen { address: peer_listen, source })?);
    let peer_addresses: Vec<SocketAddr> = peers.iter().map(|p| SocketAddr::new(p.ip, p.peer_port)).collect();
    // A view is current for three rounds: two lost datagrams in a row do not
    // silence a peer.
    let stale_after = timing.interval * 3 + timing.timeout;
    let votes = Arc::new(Mutex::new(Votes::new(&me.name, peers.iter().map(|p| p.name.clone()), stale_after)));
    let publish = Arc::new(tokio::sync::Notify::new());

    let receiver = {
        let (live, votes, socket, publish) = (live.clone(), votes.clone(), peer_socket.clone(), publish.clone());
        let key = peer_secret.as_deref().map(PeerKey::new);
        let zone_name = live.zone.origin.to_string();
        tokio::spawn(async move {
            let Some(key) = key else { return };
            let mut buffer = vec![0u8; crate::wire::MAX_MESSAGE];
            loop {
                let Ok((n, from)) = socket.recv_from(&mut buffer).await else { continue };
                let mut votes = votes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if peers::receive(&buffer[..n], from, &key, &zone_name, &mut votes, &live) && recount(&live, &votes) {
                    publish.notify_one();
                }
            }
        })
    };

    let prober = {
        let (live, votes, socket, publish) = (live.clone(), votes.clone(), peer_socket.clone(), publish.clone());
        let key = peer_secret.as_deref().map(PeerKey::new);
        let me = me.name.clone();
        let api = options.api.clone();
        tokio::spawn(async move {
            let http = client();
            let mut health: Vec<Vec<SiteHealth>> =
                live.zone.services.iter().map(|s| vec![SiteHealth::default(); s.sites.len()]).collect();
            let mut ticker = tokio::time::interval(timing.interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let zone = &live.zone;
                let results = probe_round(zone, &http, &api, timing).await;
                for (si, i, outcome) in results {
                    let (app, cluster) = (&zone.services[si].app, &zone.services[si].sites[i].cluster);
                    let transition =
                        health[si][i].observe(outcome.ok, &outcome.reason, timing.fail_after, timing.recover_after);
                    live.see(si, i, |seen| {
                        seen.probes_up = health[si][i].is_up();
                        seen.reason.clone_from(&outcome.reason);
                    });
                    if let Some(t) = transition {
                        live.metrics.changed(app, cluster, "probe", t.up);
                        if t.up {
                            info!(%app, %cluster, after = t.after, reason = %t.reason, "probes: site up");
                        } else {
                            warn!(%app, %cluster, after = t.after, reason = %t.reason, "probes: site down");
                        }
                    }
                }
                let down = own_view(zone, &health);
                let view = View {
                    from: me.clone(),
                    zone: zone.origin.to_string(),
                    sent_ms: peers::now_ms(),
                    down: down.clone(),
                };
                let changed = {
                    let mut votes = votes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    votes.set_own(down);
                    recount(&live, &votes)
                };
                if changed {
                    publish.notify_one();
                }
                if let Some(key) = &key {
                    peers::broadcast(&socket, &peer_addresses, &view, key).await;
                }
            }
        })
    };

    let updater = (primary.is_some() || !options.notify.is_empty())
        .then(|| tokio::spawn(publish_changes(live.clone(), primary, options.notify.clone(), publish.clone(), timing)));

    shutdown.await;
    info!("shutting down");
    prober.abort();
    receiver.abort();
    if let Some(u) = updater {
        u.abort();
    }
    let _ = server.shutdown_gracefully().await;
    Ok(())
}

/// One round: every site of every app probed, and its cluster's API asked
/// (where it is) at the same time. A site whose workloads have no pod
/// available fails the round even when its ingress answers.
async fn probe_round(
    zone: &Zone,
    http: &reqwest::Client,
    api: &ApiHealth,
    timing: ProbeTiming,
) -> Vec<(usize, usize, Outcome)> {
    // The API may answer slower than an ingress; a second at least.
    let api_timeout = timing.timeout.max(Duration::from_secs(1));
    let probes = zone.services.iter().enumerate().flat_map(|(si, s)| {
        s.sites.iter().enumerate().map(move |(i, site)| async move {
            let host = s.hostname.to_string();
            let workloads = api.workloads.get(si).map_or(&[][..], Vec::as_slice);
            let (mut outcome, ready) = tokio::join!(
                probe_site(http, &s.probe, host.trim_end_matches('.'), site, timing.timeout),
                site_readiness(&api.clients, &site.cluster, workloads, api_timeout),
            );
            match ready {
                Some(Readiness::NotReady(why)) if outcome.ok => {
                    outcome = Outcome { ok: false, reason: format!("API: {why}") };
                }
                Some(Readiness::Unknown(why)) => {
                    debug!(cluster = %site.cluster, %why, "cluster view unknown; probes decide")
                }
                _ => {}
            }
            (si, i, outcome)
        })
    });
    futures::future::join_all(probes).await
}

/// The sites this instance's own probes have down: its view, for the vote.
fn own_view(zone: &Zone, health: &[Vec<SiteHealth>]) -> BTreeSet<SiteKey> {
    zone.services
        .iter()
        .zip(health)
        .flat_map(|(s, row)| {
            s.sites
                .iter()
                .zip(row)
                .filter(|(_, h)| !h.is_up())
                .map(move |(site, _)| SiteKey { app: s.app.clone(), cluster: site.cluster.clone() })
        })
        .collect()
}

/// Keeps the outside DNS in step: on every change of the answers, the
/// primary's records replaced (RFC 2136, retried each interval until it
/// takes them) and each secondary notified.
async fn publish_changes(
    live: Arc<Live>,
    primary: Option<(SocketAddr, TSigner)>,
    secondaries: Vec<SocketAddr>,
    publish: Arc<tokio::sync::Notify>,
    timing: ProbeTiming,
) {
    let timeout = timing.timeout.max(Duration::from_secs(2));
    let mut last: Option<Vec<Published>> = None;
    let mut notified = None;
    loop {
        if let Some((address, signer)) = &primary {
            let records: Vec<Published> = {
                let snapshot = live.snapshot();
                (0..live.zone.services.len())
                    .map(|si| Published {
                        name: live.zone.services[si].hostname.clone(),
                        ttl: live.zone.services[si].ttl,
                        addresses: published(&live.zone, &snapshot, si),
                    })
                    .collect()
            };
            if last.as_ref() != Some(&records) {
                match push(*address, signer, &live.zone.origin, &records, timeout).await {
                    Ok(()) => {
                        info!(primary = %address, names = records.len(), "updated the primary");
                        live.metrics.update("ok");
                        last = Some(records);
                    }
                    Err(error) => {
                        warn!(%error, "will retry the update");
                        live.metrics.update("failed");
                        tokio::time::sleep(timing.interval).await;
                        continue;
                    }
                }
            }
        }
        let serial = live.serial();
        if notified != Some(serial) {
            for secondary in &secondaries {
                // A secondary that misses one still refreshes at the SOA's refresh.
                match notify(*secondary, &live.zone.origin, timeout).await {
                    Ok(()) => info!(%secondary, serial, "notified"),
                    Err(error) => warn!(%error, "NOTIFY failed"),
                }
            }
            notified = Some(serial);
        }
        publish.notified().await;
    }
}

/// Applies the votes to the answers; logs and counts each site that moves.
/// Returns whether any did.
fn recount(live: &Live, votes: &Votes) -> bool {
    let now = Instant::now();
    let mut changed = false;
    for (si, service) in live.zone.services.iter().enumerate() {
        for (i, site) in service.sites.iter().enumerate() {
            let key = SiteKey { app: service.app.clone(), cluster: site.cluster.clone() };
            let tally = votes.tally(&key, now);
            let up = !tally.is_down();
            let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
            live.see(si, i, |seen| {
                (seen.down_votes, seen.seen, seen.of) =
                    (count(tally.down), count(tally.visible), count(tally.instances));
            });
            if live.set_up(si, i, up) {
                changed = true;
                live.metrics.changed(&service.app, &site.cluster, "answers", up);
                let (down, of, seen) = (tally.down, tally.instances, tally.visible);
                if up {
                    info!(app = %service.app, cluster = %site.cluster, down, of, seen, "answers: site back in");
                } else {
                    warn!(app = %service.app, cluster = %site.cluster, down, of, seen, "answers: site taken out");
                }
            }
        }
    }
    changed
}
