//! Dividing the fleet's work among replicas: each job belongs to one of
//! `N` shards (by its cluster), and each shard to the live replica that
//! ranks it highest (rendezvous hashing), so a replica that joins or
//! leaves moves only the shards it wins or held.

use crate::Work;

/// A hash that is the same in every process and Rust version (FNV-1a, with
/// the parts separated), unlike `DefaultHasher`'s random keys: replicas
/// must agree on it.
pub(crate) fn stable_hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h = (h ^ 0xff).wrapping_mul(0x0100_0000_01b3);
        }
        for b in part.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    // A final mix: FNV's low bits are weak for short keys.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// The shard `work` belongs to, of `shards` (at least 1): a cluster's jobs
/// all in one shard; work of no one cluster (retention, drills, drift, the
/// live check) in shard 0.
pub fn shard_of(work: &Work, shards: u32) -> u32 {
    match (work.cluster(), shards) {
        (_, 0 | 1) | (None, _) => 0,
        (Some(cluster), n) => u32::try_from(stable_hash(&["cluster", cluster]) % u64::from(n)).unwrap_or(0),
    }
}

/// Which of `candidates` (replica identities) owns `shard`: the one whose
/// hash with the shard is highest. `None` when there are none.
pub fn owner<'a>(shard: u32, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let shard = shard.to_string();
    candidates.into_iter().max_by_key(|c| (stable_hash(&["shard", &shard, c]), *c))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// A replica leaving moves only the shards it owned; one joining
        /// takes shards only for itself.
        #[test]
        fn a_change_of_replicas_moves_only_its_own_shards(
            replicas in proptest::collection::btree_set("[a-z]{1,6}-[0-9]{1,3}", 2..8),
            shards in 1u32..32,
        ) {
            let all: Vec<&str> = replicas.iter().map(String::as_str).collect();
            let gone = all[0];
            let rest: Vec<&str> = all[1..].to_vec();
            for s in 0..shards {
                let before = owner(s, all.iter().copied()).unwrap();
                let after = owner(s, rest.iter().copied()).unwrap();
                if before != gone {
                    prop_assert_eq!(before, after, "shard {} moved though its owner stayed", s);
                }
            }
        }

        #[test]
        fn every_cluster_has_one_shard_in_range(cluster in "[a-z0-9-]{1,30}", shards in 1u32..64) {
            let work = Work::Backup { policy: "p".into(), cluster: cluster.clone(), app: "a".into() };
            let s = shard_of(&work, shards);
            prop_assert!(s < shards);
            prop_assert_eq!(s, shard_of(&Work::EtcdWatch { policy: "q".into(), cluster }, shards));
        }
    }

    #[test]
    fn shards_spread_over_replicas() {
        let replicas = ["a", "b", "c"];
        let mut per = std::collections::BTreeMap::new();
        for s in 0..300 {
            *per.entry(owner(s, replicas).unwrap()).or_insert(0) += 1;
        }
        for r in replicas {
            assert!((60..=140).contains(&per[r]), "{per:?}");
        }
    }
}
