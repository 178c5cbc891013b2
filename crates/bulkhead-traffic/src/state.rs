//! What the DNS handler reads on every query: the zone and which sites are
//! up now. Writers (the health loop) hold the lock only to swap a row.

use std::sync::RwLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::answer::SiteState;
use crate::metrics::Metrics;
use crate::status::SiteSeen;
use crate::zone::Zone;

/// The state one instance serves from.
#[derive(Debug)]
pub struct Live {
    /// The zone.
    pub zone: Zone,
    /// Per service, per site: in the answers.
    up: RwLock<Vec<Vec<bool>>>,
    /// Per service, per site: how this instance sees it (for status queries).
    seen: RwLock<Vec<Vec<SiteSeen>>>,
    serial: AtomicU32,
    picks: AtomicU64,
    /// Counters of answers and health changes.
    pub metrics: Metrics,
}

/// A consistent view of the state for one answer.
pub struct Snapshot<'a> {
    up: std::sync::RwLockReadGuard<'a, Vec<Vec<bool>>>,
    serial: u32,
}

impl SiteState for Snapshot<'_> {
    fn is_up(&self, service: usize, site: usize) -> bool {
        self.up.get(service).and_then(|s| s.get(site)).copied().unwrap_or(true)
    }

    fn serial(&self) -> u32 {
        self.serial
    }
}

impl Live {
    /// Every site up, serial `serial` (the time the server started, so a
    /// restarted server's serial is never lower than before).
    pub fn new(zone: Zone, serial: u32) -> Self {
        let up = zone.services.iter().map(|s| vec![true; s.sites.len()]).collect();
        let instances = u32::try_from(zone.nameservers.len()).unwrap_or(u32::MAX);
        let seen = zone
            .services
            .iter()
            .map(|s| {
                s.sites
                    .iter()
                    .map(|site| SiteSeen {
                        cluster: site.cluster.clone(),
                        in_answers: true,
                        probes_up: true,
                        of: instances,
                        reason: "not probed yet".into(),
                        ..SiteSeen::default()
                    })
                    .collect()
            })
            .collect();
        Self {
            zone,
            up: RwLock::new(up),
            seen: RwLock::new(seen),
            serial: AtomicU32::new(serial),
            picks: AtomicU64::new(0),
            metrics: Metrics::default(),
        }
    }

    /// The state for one answer.
    pub fn snapshot(&self) -> Snapshot<'_> {
        let up = self.up.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        Snapshot { up, serial: self.serial.load(Ordering::Acquire) }
    }

    /// The next value of the policies' rotation.
    pub fn next_pick(&self) -> u64 {
        self.picks.fetch_add(1, Ordering::Relaxed)
    }

    /// Sets one site in or out of the answers; returns whether it changed.
    /// A change raises the serial, so secondaries transfer the zone again.
    pub fn set_up(&self, service: usize, site: usize, up: bool) -> bool {
        let mut rows = self.up.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(cell) = rows.get_mut(service).and_then(|s| s.get_mut(site)) else { return false };
        if *cell == up {
            return false;
        }
        *cell = up;
        // RFC 1982 arithmetic: serials wrap, and a secondary compares them so.
        self.serial.fetch_add(1, Ordering::AcqRel);
        true
    }

    /// Updates how this instance sees one site: `change` edits its row.
    pub fn see(&self, service: usize, site: usize, change: impl FnOnce(&mut SiteSeen)) {
        let mut rows = self.seen.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(cell) = rows.get_mut(service).and_then(|s| s.get_mut(site)) {
            change(cell);
        }
    }

    /// How this instance sees one service's sites, with whether each is in
    /// the answers now.
    pub fn seen(&self, service: usize) -> Vec<SiteSeen> {
        let up = self.up.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let rows = self.seen.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut sites = rows.get(service).cloned().unwrap_or_default();
        for (i, site) in sites.iter_mut().enumerate() {
            site.in_answers = up.get(service).and_then(|s| s.get(i)).copied().unwrap_or(true);
        }
        sites
    }

    /// The current serial.
    pub fn serial(&self) -> u32 {
        self.serial.load(Ordering::Acquire)
    }
}
