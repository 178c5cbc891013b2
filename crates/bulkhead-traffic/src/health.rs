//! Hysteresis: a site is marked down after K failed probes in a row and up
//! again after M passed ones, so one lost packet or a flapping site does not
//! move traffic back and forth.

/// One site's state as this instance's probes see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteHealth {
    up: bool,
    /// Results in a row that disagree with `up`.
    streak: u32,
    /// Why the last probe passed or failed.
    last: String,
}

/// A change of state, with the reason of the probe that tipped it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The new state.
    pub up: bool,
    /// What the last probe saw.
    pub reason: String,
    /// How many results in a row it took.
    pub after: u32,
}

impl Default for SiteHealth {
    /// A site starts up: a freshly started server answers with every site
    /// until probes have proved one down, rather than with none.
    fn default() -> Self {
        Self { up: true, streak: 0, last: String::new() }
    }
}

impl SiteHealth {
    /// Whether the site is up.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// What the last probe saw.
    pub fn last_reason(&self) -> &str {
        &self.last
    }

    /// Records one probe result; returns the transition it caused, if any.
    pub fn observe(&mut self, ok: bool, reason: &str, fail_after: u32, recover_after: u32) -> Option<Transition> {
        reason.clone_into(&mut self.last);
        if ok == self.up {
            self.streak = 0;
            return None;
        }
        self.streak += 1;
        let needed = if self.up { fail_after } else { recover_after };
        if self.streak < needed.max(1) {
            return None;
        }
        self.up = ok;
        let after = self.streak;
        self.streak = 0;
        Some(Transition { up: ok, reason: reason.to_string(), after })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn down_after_k_failures_up_after_m_successes() {
        let mut h = SiteHealth::default();
        assert!(h.observe(false, "timeout", 3, 2).is_none());
        assert!(h.observe(false, "timeout", 3, 2).is_none());
        let t = h.observe(false, "connection refused", 3, 2).unwrap();
        assert_eq!(t, Transition { up: false, reason: "connection refused".into(), after: 3 });
        assert!(!h.is_up());
        assert!(h.observe(true, "200", 3, 2).is_none());
        assert!(h.observe(false, "503", 3, 2).is_none(), "a failure resets the streak");
        assert!(h.observe(true, "200", 3, 2).is_none());
        assert!(h.observe(true, "200", 3, 2).unwrap().up);
    }

    proptest! {
        /// Whatever the results, the state changes only after the required
        /// run of results disagreeing with it, and always after one.
        #[test]
        fn changes_exactly_after_a_run(results in prop::collection::vec(any::<bool>(), 0..200), k in 1u32..5, m in 1u32..5) {
            let mut h = SiteHealth::default();
            let mut up = true;
            let mut run = 0;
            for ok in results {
                let t = h.observe(ok, "", k, m);
                if ok == up { run = 0; prop_assert!(t.is_none()); continue; }
                run += 1;
                let needed = if up { k } else { m };
                if run == needed {
                    prop_assert_eq!(t.map(|t| t.up), Some(ok));
                    up = ok;
                    run = 0;
                } else {
                    prop_assert!(t.is_none());
                }
                prop_assert_eq!(h.is_up(), up);
            }
        }
    }
}
