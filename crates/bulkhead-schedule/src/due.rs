//! When a job is due, from its schedule and its last success.

use std::time::Duration;

use bulkhead_model::CronSchedule;
use chrono::{DateTime, Utc};

/// When a job runs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Now: a slot passed since the last success (or it never succeeded).
    Now {
        /// The newest slot that passed; `None` when the job never succeeded.
        slot: Option<DateTime<Utc>>,
        /// How many slots passed since the last success (at least 1 when it
        /// succeeded once; capped at [`MISSED_COUNTED`]). One run makes up
        /// for all of them.
        missed: u32,
    },
    /// At this time, the next slot after the last success.
    At(DateTime<Utc>),
}

/// Missed slots are counted up to this many (a report, not a backlog).
pub const MISSED_COUNTED: u32 = 10_000;

/// When a job on `schedule` whose last success was `last` is due, at `now`.
///
/// The next slot after `last` decides: passed (or `last` unknown) means due
/// now, once however many slots passed; otherwise due at that slot.
pub fn due(schedule: &CronSchedule, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Due {
    let Some(last) = last else { return Due::Now { slot: None, missed: 0 } };
    let mut slots = schedule.slots_after(last);
    let Some(next) = slots.next() else {
        // A schedule with no future slot never comes due again.
        return Due::At(DateTime::<Utc>::MAX_UTC);
    };
    if next > now {
        return Due::At(next);
    }
    let (mut newest, mut missed) = (next, 1u32);
    for slot in slots.take_while(|s| *s <= now) {
        newest = slot;
        missed += 1;
        if missed >= MISSED_COUNTED {
            // Past the count, the newest slot still matters: find it directly.
            newest = schedule.previous_at_or_before(now).unwrap_or(newest);
            break;
        }
    }
    Due::Now { slot: Some(newest), missed }
}

/// How long after its slot job `key` starts: spread over `[0, max)`, the
/// same on every replica and after every restart (a hash of the key, not a
/// random draw), so many jobs on one slot do not start at once.
pub fn jitter(key: &str, max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    let h = crate::shards::stable_hash(&[key]);
    let millis = u64::try_from(max.as_millis()).unwrap_or(u64::MAX).max(1);
    Duration::from_millis(h % millis)
}

#[cfg(test)]
mod tests {
    use bulkhead_model::schedule::Tz;
    use proptest::prelude::*;

    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[test]
    fn a_day_of_downtime_is_one_run() {
        let cron = CronSchedule::parse("*/15 * * * *", Tz::UTC).unwrap();
        // Last success at 00:00; now is 24 h 5 min later.
        let (last, now) = (at(0), at(24 * 3600 + 300));
        assert_eq!(due(&cron, Some(last), now), Due::Now { slot: Some(at(24 * 3600)), missed: 96 });
        // Run, succeed: the next slot is ahead.
        assert_eq!(due(&cron, Some(now), now), Due::At(at(24 * 3600 + 900)));
        assert_eq!(due(&cron, None, now), Due::Now { slot: None, missed: 0 });
    }

    #[test]
    fn jitter_is_bounded_and_stable() {
        let max = Duration::from_secs(60);
        let a = jitter("backup/nightly/c1/shop", max);
        assert!(a < max);
        assert_eq!(a, jitter("backup/nightly/c1/shop", max));
        assert_ne!(a, jitter("backup/nightly/c2/shop", max), "different jobs spread (for these two keys)");
        assert_eq!(jitter("x", Duration::ZERO), Duration::ZERO);
    }

    fn schedule() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "*/15 * * * *",
            "0 * * * *",
            "30 2 * * *",
            "0 3 * * 0",
            "5,35 */2 * * *",
            "0 0 1 * *",
        ])
    }

    fn zone() -> impl Strategy<Value = Tz> {
        prop::sample::select(vec![Tz::UTC, Tz::Europe__Berlin, Tz::America__New_York, Tz::Asia__Kolkata])
    }

    proptest! {
        /// However long a job was not run, it is due once, at the newest
        /// passed slot; once it succeeds it is not due again before the
        /// next slot.
        #[test]
        fn an_overdue_job_is_due_once(
            schedule in schedule(),
            zone in zone(),
            last in 0i64..10_000_000,
            down in 0i64..5_000_000,
        ) {
            let cron = CronSchedule::parse(schedule, zone).unwrap();
            let (last, now) = (at(last), at(last + down));
            match due(&cron, Some(last), now) {
                Due::Now { slot: Some(slot), missed } => {
                    prop_assert!(slot > last && slot <= now);
                    prop_assert!(missed >= 1);
                    let counted = cron.slots_after(last).take_while(|s| *s <= now).take(MISSED_COUNTED as usize).count();
                    prop_assert_eq!(missed as usize, counted);
                    // The run at `now` succeeded: nothing is due until the next slot.
                    match due(&cron, Some(now), now) {
                        Due::At(next) => prop_assert!(next > now),
                        other => prop_assert!(false, "due again at once: {other:?}"),
                    }
                }
                Due::At(next) => {
                    prop_assert!(next > now);
                    prop_assert_eq!(Some(next), cron.slots_after(last).next());
                }
                Due::Now { slot: None, .. } => prop_assert!(false, "a job that succeeded has a slot"),
            }
        }

        #[test]
        fn jitter_stays_below_its_bound(key in ".{0,40}", max in 1u64..10_000_000) {
            prop_assert!(jitter(&key, Duration::from_millis(max)) < Duration::from_millis(max));
        }
    }
}
