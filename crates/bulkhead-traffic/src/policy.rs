//! Which of an app's sites an answer names, from the sites that are up.

use bulkhead_model::spec::TrafficPolicy;

use crate::zone::{Service, Site};

/// The sites one answer names, and whether it had to fall back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice<'a> {
    /// The sites, in the order their addresses are listed.
    pub sites: Vec<&'a Site>,
    /// No site was up, so the answer names them all: a resolver that gets
    /// an empty answer sends no user anywhere, while an answer with sites
    /// that might be down leaves clients their own retries (Route 53 does
    /// the same when every health check fails).
    pub all_down: bool,
}

/// Chooses the sites an answer names. `up` says whether site `i` is up;
/// `pick` varies from query to query (a counter), which the weighted and
/// round-robin policies turn into their rotation: over any `sum of weights`
/// queries in a row, each site is chosen exactly its weight's times.
pub fn choose(service: &Service, up: impl Fn(usize) -> bool, pick: u64) -> Choice<'_> {
    let healthy: Vec<usize> = (0..service.sites.len()).filter(|&i| up(i)).collect();
    let (candidates, all_down) =
        if healthy.is_empty() { ((0..service.sites.len()).collect(), true) } else { (healthy, false) };
    if candidates.is_empty() {
        return Choice { sites: Vec::new(), all_down };
    }
    let sites = match service.policy {
        TrafficPolicy::Failover => vec![&service.sites[candidates[0]]],
        TrafficPolicy::RoundRobin => {
            let n = candidates.len();
            let start = (pick % n as u64) as usize;
            (0..n).map(|k| &service.sites[candidates[(start + k) % n]]).collect()
        }
        TrafficPolicy::Weighted => {
            // Sites weighing 0 take traffic only when nothing else is up.
            let weighted: Vec<usize> = candidates.iter().copied().filter(|&i| service.sites[i].weight > 0).collect();
            let pool = if weighted.is_empty() { candidates } else { weighted };
            let weight = |i: usize| u64::from(service.sites[i].weight.max(1));
            let total: u64 = pool.iter().map(|&i| weight(i)).sum();
            let mut slot = pick % total;
            let mut chosen = pool[0];
            for &i in &pool {
                if slot < weight(i) {
                    chosen = i;
                    break;
                }
                slot -= weight(i);
            }
            vec![&service.sites[chosen]]
        }
    };
    Choice { sites, all_down }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::ProbeTarget;
    use bulkhead_model::spec::ProbeKind;
    use hickory_proto::rr::Name;
    use proptest::prelude::*;

    fn service(policy: TrafficPolicy, weights: &[u32]) -> Service {
        Service {
            app: "web".into(),
            namespace: "web".into(),
            hostname: Name::from_ascii("web.gslb.test.").unwrap(),
            policy,
            ttl: 5,
            probe: ProbeTarget { kind: ProbeKind::Http, port: 80, path: "/".into() },
            sites: weights
                .iter()
                .enumerate()
                .map(|(i, &w)| Site {
                    cluster: format!("c{i}"),
                    weight: w,
                    addresses: vec![format!("10.0.0.{}", i + 1).parse().unwrap()],
                })
                .collect(),
        }
    }

    fn names(c: &Choice<'_>) -> Vec<String> {
        c.sites.iter().map(|s| s.cluster.clone()).collect()
    }

    #[test]
    fn failover_takes_the_first_site_that_is_up() {
        let s = service(TrafficPolicy::Failover, &[1, 1, 1]);
        assert_eq!(names(&choose(&s, |_| true, 7)), ["c0"]);
        assert_eq!(names(&choose(&s, |i| i != 0, 7)), ["c1"]);
        assert_eq!(names(&choose(&s, |i| i == 2, 7)), ["c2"]);
        let none = choose(&s, |_| false, 7);
        assert!(none.all_down);
        assert_eq!(names(&none), ["c0"]);
    }

    #[test]
    fn round_robin_names_every_site_that_is_up_rotating() {
        let s = service(TrafficPolicy::RoundRobin, &[1, 1, 1]);
        assert_eq!(names(&choose(&s, |_| true, 0)), ["c0", "c1", "c2"]);
        assert_eq!(names(&choose(&s, |_| true, 1)), ["c1", "c2", "c0"]);
        assert_eq!(names(&choose(&s, |i| i != 1, 1)), ["c2", "c0"]);
    }

    #[test]
    fn weight_zero_is_a_standby() {
        let s = service(TrafficPolicy::Weighted, &[0, 2]);
        for pick in 0..10 {
            assert_eq!(names(&choose(&s, |_| true, pick)), ["c1"]);
            assert_eq!(names(&choose(&s, |i| i == 0, pick)), ["c0"]);
        }
    }

    proptest! {
        /// Over one cycle of picks, each site that is up is chosen exactly its
        /// weight's times, and a site that is down never.
        #[test]
        fn weighted_follows_the_weights(weights in prop::collection::vec(1u32..6, 1..5), down in 0usize..6, start in 0u64..1000) {
            let s = service(TrafficPolicy::Weighted, &weights);
            let up = |i: usize| i != down || weights.len() == 1;
            let total: u64 = (0..weights.len()).filter(|&i| up(i)).map(|i| u64::from(weights[i])).sum();
            let mut counts = vec![0u64; weights.len()];
            for pick in start..start + total {
                let c = choose(&s, up, pick);
                prop_assert_eq!(c.sites.len(), 1);
                let i: usize = c.sites[0].cluster[1..].parse().unwrap();
                counts[i] += 1;
            }
            for (i, &w) in weights.iter().enumerate() {
                prop_assert_eq!(counts[i], if up(i) { u64::from(w) } else { 0 });
            }
        }
    }
}
