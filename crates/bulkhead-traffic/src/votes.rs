//! Majority before failover: every instance probes every site, tells its
//! peers which sites it sees down, and takes a site out of its answers only
//! when more than half of all instances see it down. An instance cut off
//! from a site (or from its peers) therefore never fails that site over on
//! its own: the partition the anchors fail under (k8gb's split-brain).

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::Error;

/// One site of one app, as instances name it to each other.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SiteKey {
    /// The app.
    pub app: String,
    /// The cluster.
    pub cluster: String,
}

impl std::fmt::Display for SiteKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at {}", self.app, self.cluster)
    }
}

/// What one peer last said.
#[derive(Debug, Clone)]
struct PeerView {
    down: BTreeSet<SiteKey>,
    sent_ms: u64,
    received: Instant,
}

/// The views of every instance, this one's included.
#[derive(Debug, Clone)]
pub struct Votes {
    me: String,
    peers: BTreeSet<String>,
    own: BTreeSet<SiteKey>,
    views: HashMap<String, PeerView>,
    /// A view older than this no longer counts: its sender is unreachable.
    stale_after: Duration,
}

/// How the vote on one site stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Instances (this one included) whose fresh view has the site down.
    pub down: usize,
    /// Instances whose view is fresh, this one included.
    pub visible: usize,
    /// Every instance.
    pub instances: usize,
}

impl Tally {
    /// More than half of all instances see the site down.
    pub fn is_down(&self) -> bool {
        self.down * 2 > self.instances
    }
}

impl Votes {
    /// Votes among `me` and `peers` (the other instances' names).
    pub fn new(me: &str, peers: impl IntoIterator<Item = String>, stale_after: Duration) -> Self {
        Self {
            me: me.to_string(),
            peers: peers.into_iter().filter(|p| p != me).collect(),
            own: BTreeSet::new(),
            views: HashMap::new(),
            stale_after,
        }
    }

    /// This instance's own view: the sites its probes have down.
    pub fn set_own(&mut self, down: BTreeSet<SiteKey>) {
        self.own = down;
    }

    /// This instance's own view.
    pub fn own(&self) -> &BTreeSet<SiteKey> {
        &self.own
    }

    /// Takes a peer's view, unless it is not a peer's or not newer than the
    /// last one taken.
    pub fn accept(&mut self, from: &str, sent_ms: u64, down: BTreeSet<SiteKey>, now: Instant) -> Result<(), Error> {
        if !self.peers.contains(from) {
            return Err(Error::UnknownPeer(from.to_string()));
        }
        if let Some(last) = self.views.get(from)
            && sent_ms <= last.sent_ms
        {
            return Err(Error::OldView { peer: from.to_string(), sent_ms, last_ms: last.sent_ms });
        }
        self.views.insert(from.to_string(), PeerView { down, sent_ms, received: now });
        Ok(())
    }

    /// The peers whose views are fresh.
    pub fn fresh_peers(&self, now: Instant) -> Vec<&str> {
        self.peers
            .iter()
            .filter(|p| self.views.get(*p).is_some_and(|v| now.duration_since(v.received) <= self.stale_after))
            .map(String::as_str)
            .collect()
    }

    /// How the vote on `site` stands now.
    pub fn tally(&self, site: &SiteKey, now: Instant) -> Tally {
        let fresh = self.fresh_peers(now);
        let peers_down = fresh.iter().filter(|p| self.views[**p].down.contains(site)).count();
        Tally {
            down: peers_down + usize::from(self.own.contains(site)),
            visible: fresh.len() + 1,
            instances: self.peers.len() + 1,
        }
    }

    /// This instance's name.
    pub fn me(&self) -> &str {
        &self.me
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: &str) -> SiteKey {
        SiteKey { app: "web".into(), cluster: c.into() }
    }

    fn set(cs: &[&str]) -> BTreeSet<SiteKey> {
        cs.iter().map(|c| key(c)).collect()
    }

    fn votes() -> Votes {
        Votes::new("ns1", ["ns1", "ns2", "ns3"].map(String::from), Duration::from_secs(3))
    }

    #[test]
    fn one_instance_alone_fails_nothing_over() {
        let now = Instant::now();
        let mut v = votes();
        v.set_own(set(&["b"]));
        v.accept("ns2", 1, set(&[]), now).unwrap();
        v.accept("ns3", 1, set(&[]), now).unwrap();
        assert!(!v.tally(&key("b"), now).is_down(), "a partition between ns1 and b only");
        // Cut off from both peers: its own view is 1 of 3.
        let later = now + Duration::from_secs(10);
        let t = v.tally(&key("b"), later);
        assert_eq!((t.down, t.visible, t.instances), (1, 1, 3));
        assert!(!t.is_down());
    }

    #[test]
    fn a_majority_fails_a_site_over_even_with_one_instance_gone() {
        let now = Instant::now();
        let mut v = votes();
        v.set_own(set(&["b"]));
        v.accept("ns3", 5, set(&["b"]), now).unwrap();
        assert!(v.tally(&key("b"), now).is_down(), "ns2 died with site b; ns1 and ns3 agree");
        assert!(!v.tally(&key("a"), now).is_down());
    }

    #[test]
    fn old_views_and_strangers_are_rejected() {
        let now = Instant::now();
        let mut v = votes();
        v.accept("ns2", 10, set(&["b"]), now).unwrap();
        assert!(matches!(v.accept("ns2", 10, set(&[]), now), Err(Error::OldView { .. })));
        assert!(matches!(v.accept("ns9", 11, set(&[]), now), Err(Error::UnknownPeer(_))));
        assert!(matches!(v.accept("ns1", 11, set(&[]), now), Err(Error::UnknownPeer(_))), "itself");
    }
}
