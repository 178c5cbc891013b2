//! CPU and memory as the scheduler's NodeResourcesFit filter counts them:
//! a pod's requests against a node's allocatable.
//!
//! Why by hand: k8s-openapi keeps a quantity as its text, and the only
//! crates that parse one pull in a decimal library for what is a few lines
//! of integer arithmetic; the scheduler itself compares milli-CPUs and bytes.

use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// CPU in millicores and memory in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Resources {
    /// Millicores.
    pub cpu_milli: u64,
    /// Bytes.
    pub memory: u64,
}

impl Resources {
    /// Both amounts added, saturating.
    #[must_use]
    pub fn plus(self, other: Self) -> Self {
        Self {
            cpu_milli: self.cpu_milli.saturating_add(other.cpu_milli),
            memory: self.memory.saturating_add(other.memory),
        }
    }

    /// Both amounts subtracted, stopping at zero.
    #[must_use]
    pub fn minus(self, other: Self) -> Self {
        Self {
            cpu_milli: self.cpu_milli.saturating_sub(other.cpu_milli),
            memory: self.memory.saturating_sub(other.memory),
        }
    }

    /// The larger of each amount.
    #[must_use]
    pub fn max(self, other: Self) -> Self {
        Self { cpu_milli: self.cpu_milli.max(other.cpu_milli), memory: self.memory.max(other.memory) }
    }

    /// Whether nothing is requested: the filter then lets any number fit.
    pub fn is_zero(self) -> bool {
        self.cpu_milli == 0 && self.memory == 0
    }

    /// How many pods requesting `each` fit into `self`; `None` when `each`
    /// requests nothing (no limit from CPU or memory).
    pub fn fits(self, each: Self) -> Option<u64> {
        let by = |have: u64, want: u64| (want > 0).then(|| have / want);
        match (by(self.cpu_milli, each.cpu_milli), by(self.memory, each.memory)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// `2 CPU, 4Gi` and the like, for reasons a person reads.
    pub fn describe(self) -> String {
        let mut parts = Vec::new();
        if self.cpu_milli > 0 {
            parts.push(if self.cpu_milli.is_multiple_of(1000) {
                format!("{} CPU", self.cpu_milli / 1000)
            } else {
                format!("{}m CPU", self.cpu_milli)
            });
        }
        if self.memory > 0 {
            const GI: u64 = 1 << 30;
            const MI: u64 = 1 << 20;
            parts.push(if self.memory.is_multiple_of(GI) {
                format!("{}Gi memory", self.memory / GI)
            } else {
                format!("{}Mi memory", self.memory.div_ceil(MI))
            });
        }
        if parts.is_empty() { "nothing".into() } else { parts.join(", ") }
    }

    /// Reads a map of quantities (`requests`, `allocatable`); what cannot
    /// be read counts as zero, as the API server would have refused it.
    pub fn from_map<'a>(map: impl IntoIterator<Item = (&'a String, &'a Quantity)>) -> Self {
        let mut out = Self::default();
        for (name, q) in map {
            match name.as_str() {
                "cpu" => out.cpu_milli = parse_milli(&q.0).unwrap_or(0),
                "memory" => out.memory = parse_milli(&q.0).map_or(0, |m| m.div_ceil(1000)),
                _ => {}
            }
        }
        out
    }
}

/// A quantity in thousandths of its unit (`500m` → 500, `2` → 2000,
/// `1Ki` → 1,024,000), rounded up as the API server rounds; `None` for
/// text that is no quantity, a negative one, or one past `u64`.
pub fn parse_milli(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+')).unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number = number.strip_prefix('+').unwrap_or(number);
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    // value = digits / 10^frac_len × 10^exp10 × 2^exp2, in thousandths.
    let (exp10, exp2): (i32, u32) = match suffix {
        "" => (0, 0),
        "m" => (-3, 0),
        "u" => (-6, 0),
        "n" => (-9, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        s => {
            let e = s.strip_prefix(['e', 'E'])?;
            (e.parse::<i32>().ok().filter(|e| e.abs() <= 30)?, 0)
        }
    };
    let digits: String = format!("{whole}{frac}");
    let digits = digits.trim_start_matches('0');
    if digits.len() > 30 {
        return None;
    }
    let mantissa: u128 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
    let scale = exp10 + 3 - frac.len() as i32;
    let scaled = if scale >= 0 {
        mantissa.checked_mul(10u128.checked_pow(scale as u32)?)?
    } else {
        let div = 10u128.checked_pow((-scale) as u32)?;
        mantissa.div_ceil(div)
    };
    u64::try_from(scaled.checked_mul(1u128 << exp2)?).ok()
}

fn container_requests(c: &Container) -> Resources {
    c.resources.as_ref().and_then(|r| r.requests.as_ref()).map(Resources::from_map).unwrap_or_default()
}

/// What a pod asks the scheduler for: its containers' requests added up,
/// or the largest init container's if more, plus the pod's overhead.
pub fn pod_requests(pod: &PodSpec) -> Resources {
    let running = pod.containers.iter().map(container_requests).fold(Resources::default(), Resources::plus);
    let init = pod.init_containers.iter().flatten().map(container_requests).fold(Resources::default(), Resources::max);
    let overhead = pod.overhead.as_ref().map(Resources::from_map).unwrap_or_default();
    running.max(init).plus(overhead)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quantities_read_as_the_api_server_reads_them() {
        assert_eq!(parse_milli("500m"), Some(500));
        assert_eq!(parse_milli("2"), Some(2000));
        assert_eq!(parse_milli("0.5"), Some(500));
        assert_eq!(parse_milli("1.5k"), Some(1_500_000));
        assert_eq!(parse_milli("1Ki"), Some(1_024_000));
        assert_eq!(parse_milli("32Gi"), Some(32 * (1 << 30) * 1000));
        assert_eq!(parse_milli("1e3"), Some(1_000_000));
        assert_eq!(parse_milli("1n"), Some(1), "rounded up, never to zero");
        assert_eq!(parse_milli("+3"), Some(3000));
        for bad in ["", "-1", "abc", "1.2.3", "5x", ".", "1Ki5", "9Ei9"] {
            assert_eq!(parse_milli(bad), None, "{bad}");
        }
        assert_eq!(parse_milli("100Ei"), None, "past u64");
    }

    #[test]
    fn fits_counts_the_tighter_resource() {
        let node = Resources { cpu_milli: 8000, memory: 32 << 30 };
        assert_eq!(node.fits(Resources { cpu_milli: 5000, memory: 1 << 30 }), Some(1));
        assert_eq!(node.fits(Resources { cpu_milli: 100, memory: 16 << 30 }), Some(2));
        assert_eq!(node.fits(Resources::default()), None);
        assert_eq!(Resources { cpu_milli: 5000, memory: 3 << 30 }.describe(), "5 CPU, 3Gi memory");
        assert_eq!(Resources { cpu_milli: 250, memory: 0 }.describe(), "250m CPU");
    }

    proptest! {
        #[test]
        fn any_text_parses_or_not_without_panicking(s in "\\PC{0,24}") {
            let _ = parse_milli(&s);
        }

        #[test]
        fn whole_numbers_and_millis_agree(n in 0u64..1_000_000_000) {
            prop_assert_eq!(parse_milli(&n.to_string()), Some(n * 1000));
            prop_assert_eq!(parse_milli(&format!("{n}m")), Some(n));
            prop_assert_eq!(parse_milli(&format!("{n}Ki")), Some(n * 1024 * 1000));
        }
    }
}
