//! The peers' channel: each instance sends its view to every other one
//! every probe round, over UDP, signed (see [`crate::wire`]). UDP because a
//! view lost is replaced by the next one within a round, and a partitioned
//! peer must cost nothing but its silence.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::net::UdpSocket;
use tracing::{debug, warn};

use crate::state::Live;
use crate::votes::Votes;
use crate::wire::{self, PeerKey, View};

/// Sends this instance's view to every peer.
pub async fn broadcast(socket: &UdpSocket, peers: &[SocketAddr], view: &View, key: &PeerKey) {
    let bytes = wire::encode(view, key);
    for peer in peers {
        if let Err(error) = socket.send_to(&bytes, peer).await {
            // Unreachable peers are expected under a partition.
            debug!(%peer, %error, "could not send the view");
        }
    }
}

/// Milliseconds since the epoch, the views' clock.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Takes one datagram: verifies it and, when it is a fresh view of a peer
/// in this zone, counts it. Returns whether the votes changed.
pub fn receive(bytes: &[u8], from: SocketAddr, key: &PeerKey, zone: &str, votes: &mut Votes, live: &Live) -> bool {
    match wire::decode(bytes, key) {
        Err(error) => {
            warn!(%from, %error, "refused a peer message");
            live.metrics.peer("unknown", "refused");
            false
        }
        Ok(view) if view.zone != zone => {
            warn!(%from, zone = %view.zone, "refused a view of another zone");
            live.metrics.peer(&view.from, "refused");
            false
        }
        Ok(view) => {
            // A sender far ahead of our clock would pin its view; skew
            // beyond the staleness window is refused.
            let skew = Duration::from_millis(view.sent_ms.saturating_sub(now_ms()));
            if skew > Duration::from_secs(30) {
                warn!(%from, peer = %view.from, "refused a view from the future (clocks apart)");
                live.metrics.peer(&view.from, "refused");
                return false;
            }
            match votes.accept(&view.from, view.sent_ms, view.down, Instant::now()) {
                Ok(()) => {
                    live.metrics.peer(&view.from, "accepted");
                    true
                }
                Err(error) => {
                    debug!(%from, %error, "refused a view");
                    live.metrics.peer(&view.from, "refused");
                    false
                }
            }
        }
    }
}
