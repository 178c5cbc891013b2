//! Response-rate limiting per source network, as BIND's RRL does: a server
//! answering UDP can be made to send its answers to a spoofed victim, so
//! each /24 (IPv4) or /56 (IPv6) gets a budget of responses per second.
//! Over it, every `slip`-th response goes out truncated (a real client
//! retries over TCP, which cannot be spoofed) and the rest are dropped.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

/// What to do with one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the budget.
    Send,
    /// Over it: send an empty, truncated answer.
    Slip,
    /// Over it: send nothing.
    Drop,
}

/// The limiter's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Responses per second per source network; 0 turns limiting off.
    pub per_second: u32,
    /// Every how many limited responses one goes out truncated (0: never).
    pub slip: u32,
}

/// Token buckets by source network.
#[derive(Debug)]
pub struct Limiter {
    limits: Limits,
    buckets: HashMap<IpAddr, Bucket>,
    last_sweep: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
    limited: u32,
}

/// Buckets kept before idle ones are swept, bounding memory under a flood
/// from many sources.
const SWEEP_ABOVE: usize = 100_000;

impl Limiter {
    /// A limiter with these limits.
    pub fn new(limits: Limits) -> Self {
        Self { limits, buckets: HashMap::new(), last_sweep: None }
    }

    /// Decides one response to `source` at `now`.
    pub fn check(&mut self, source: IpAddr, now: Instant) -> Verdict {
        if self.limits.per_second == 0 {
            return Verdict::Send;
        }
        let rate = f64::from(self.limits.per_second);
        if self.buckets.len() > SWEEP_ABOVE && self.last_sweep.is_none_or(|t| now.duration_since(t).as_secs() >= 1) {
            // A bucket idle for a second is full again: forgetting it changes nothing.
            self.buckets.retain(|_, b| now.duration_since(b.at).as_secs_f64() < 1.0);
            self.last_sweep = Some(now);
        }
        let bucket = self.buckets.entry(network(source)).or_insert(Bucket { tokens: rate, at: now, limited: 0 });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(rate);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            bucket.limited = 0;
            return Verdict::Send;
        }
        bucket.limited = bucket.limited.wrapping_add(1);
        if self.limits.slip > 0 && bucket.limited.is_multiple_of(self.limits.slip) {
            Verdict::Slip
        } else {
            Verdict::Drop
        }
    }
}

/// The network a source is counted in.
fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::from([a, b, c, 0])
        }
        IpAddr::V6(v6) => {
            let mut o = v6.octets();
            o[7..].fill(0);
            IpAddr::from(o)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_over_the_budget_is_dropped_with_a_slip_and_refills() {
        let mut l = Limiter::new(Limits { per_second: 10, slip: 2 });
        let t = Instant::now();
        let a: IpAddr = "192.0.2.7".parse().unwrap();
        let b: IpAddr = "192.0.2.200".parse().unwrap();
        let verdicts: Vec<Verdict> = (0..14).map(|i| l.check(if i % 2 == 0 { a } else { b }, t)).collect();
        assert_eq!(verdicts.iter().filter(|v| **v == Verdict::Send).count(), 10, "one /24, one budget");
        assert_eq!(verdicts[10..], [Verdict::Drop, Verdict::Slip, Verdict::Drop, Verdict::Slip]);
        assert_eq!(l.check("198.51.100.1".parse().unwrap(), t), Verdict::Send, "another network");
        assert_eq!(l.check(a, t + Duration::from_millis(500)), Verdict::Send, "half a second refills 5");
    }

    #[test]
    fn zero_is_off() {
        let mut l = Limiter::new(Limits { per_second: 0, slip: 2 });
        let t = Instant::now();
        assert!((0..1000).all(|_| l.check("::1".parse().unwrap(), t) == Verdict::Send));
    }
}
