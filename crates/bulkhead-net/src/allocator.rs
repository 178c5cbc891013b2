//! A buddy allocator over one supernet.
//!
//! Why by hand: CIDR allocation is a buddy system (every block is an aligned
//! power of two), and no maintained crate offers one that also takes
//! reservations of arbitrary blocks (hand-written and locked ranges) before
//! allocating. Free blocks are kept per prefix length in ordered sets, so an
//! allocation costs O(prefix bits × log n) and 10,000 clusters plan in
//! milliseconds. The lowest free block of the smallest sufficient size is
//! taken, so the outcome depends only on the inputs.

use std::collections::BTreeSet;

use ipnet::IpNet;

use crate::range::{Family, bounds, net_at};

/// Free space of one supernet.
#[derive(Debug, Clone)]
pub struct Pool {
    /// The supernet.
    pub supernet: IpNet,
    family: Family,
    /// Free blocks as (prefix length, first address).
    free: BTreeSet<(u8, u128)>,
}

/// Why a reservation did not take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserve {
    /// The block was free and is now taken.
    Taken,
    /// The block lies outside this pool.
    Outside,
    /// Part of the block is already taken.
    Conflict,
}

fn size(family: Family, prefix: u8) -> u128 {
    let host_bits = u32::from(family.bits() - prefix);
    if host_bits == 128 { u128::MAX } else { 1u128 << host_bits }
}

/// The first address of the `prefix`-long block that holds `addr`.
fn align(family: Family, addr: u128, prefix: u8) -> u128 {
    let host_bits = u32::from(family.bits() - prefix);
    if host_bits >= 128 { 0 } else { addr & !((1u128 << host_bits) - 1) }
}

impl Pool {
    /// A pool whose whole supernet is free.
    pub fn new(supernet: IpNet) -> Self {
        let supernet = supernet.trunc();
        let family = Family::of(&supernet);
        let (start, _) = bounds(&supernet);
        Self { supernet, family, free: BTreeSet::from([(supernet.prefix_len(), start)]) }
    }

    /// The pool's family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Takes a block of `prefix` length, the lowest one of the smallest free
    /// size that fits. `None` when nothing that large is free.
    pub fn allocate(&mut self, prefix: u8) -> Option<IpNet> {
        if prefix < self.supernet.prefix_len() || prefix > self.family.bits() {
            return None;
        }
        let (mut have, start) = (self.supernet.prefix_len()..=prefix)
            .rev()
            .find_map(|q| self.free.range((q, 0)..=(q, u128::MAX)).next().copied())?;
        self.free.remove(&(have, start));
        // Split down to the wanted size; each split frees the upper half.
        while have < prefix {
            have += 1;
            self.free.insert((have, start + size(self.family, have)));
        }
        Some(net_at(self.family, start, prefix))
    }

    /// Marks `net` as taken.
    pub fn reserve(&mut self, net: &IpNet) -> Reserve {
        let net = net.trunc();
        if Family::of(&net) != self.family || !self.supernet.contains(&net) {
            return Reserve::Outside;
        }
        let (start, _) = bounds(&net);
        let want = net.prefix_len();
        // The free block that holds `net`, if any: at most one per size.
        let holder = (self.supernet.prefix_len()..=want).find_map(|q| {
            let aligned = align(self.family, start, q);
            self.free.contains(&(q, aligned)).then_some((q, aligned))
        });
        let Some((mut have, mut block)) = holder else { return Reserve::Conflict };
        self.free.remove(&(have, block));
        while have < want {
            have += 1;
            let half = size(self.family, have);
            // Keep the half holding `net`; free the other.
            if start >= block + half {
                self.free.insert((have, block));
                block += half;
            } else {
                self.free.insert((have, block + half));
            }
        }
        Reserve::Taken
    }

    /// How many addresses are still free.
    pub fn free_addresses(&self) -> u128 {
        self.free.iter().fold(0u128, |sum, &(q, _)| sum.saturating_add(size(self.family, q)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn allocates_lowest_blocks_first() {
        let mut p = Pool::new(net("10.0.0.0/16"));
        assert_eq!(p.allocate(24), Some(net("10.0.0.0/24")));
        assert_eq!(p.allocate(24), Some(net("10.0.1.0/24")));
        assert_eq!(p.allocate(20), Some(net("10.0.16.0/20")));
        assert_eq!(p.allocate(23), Some(net("10.0.2.0/23")));
    }

    #[test]
    fn reservations_are_avoided() {
        let mut p = Pool::new(net("10.0.0.0/16"));
        assert_eq!(p.reserve(&net("10.0.0.0/20")), Reserve::Taken);
        assert_eq!(p.reserve(&net("10.0.4.0/24")), Reserve::Conflict);
        assert_eq!(p.reserve(&net("192.168.0.0/24")), Reserve::Outside);
        assert_eq!(p.allocate(20), Some(net("10.0.16.0/20")));
        assert_eq!(p.reserve(&net("10.0.255.0/24")), Reserve::Taken);
        // Best fit: the /24 left free beside the reservation, not a fresh /20.
        assert_eq!(p.allocate(24), Some(net("10.0.254.0/24")));
        assert_eq!(p.allocate(24), Some(net("10.0.252.0/24")));
    }

    #[test]
    fn exhaustion_is_none() {
        let mut p = Pool::new(net("10.0.0.0/23"));
        assert!(p.allocate(24).is_some());
        assert!(p.allocate(24).is_some());
        assert_eq!(p.allocate(24), None);
        assert_eq!(p.allocate(16), None);
        assert_eq!(p.free_addresses(), 0);
    }

    #[test]
    fn ipv6_and_whole_space() {
        let mut p = Pool::new(net("fd00::/48"));
        assert_eq!(p.allocate(56), Some(net("fd00::/56")));
        assert_eq!(p.allocate(64), Some(net("fd00:0:0:100::/64")));
        let mut all = Pool::new(net("::/0"));
        assert_eq!(all.allocate(1), Some(net("::/1")));
        assert_eq!(all.reserve(&net("8000::/1")), Reserve::Taken);
        assert_eq!(all.free_addresses(), 0);
    }
}
