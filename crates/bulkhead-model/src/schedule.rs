//! The fleet's cron schedules, read once, in the fleet's time zone.
//!
//! Every part of Bulkhead that asks "when does this run" — validation (is
//! the RPO reachable), the blast radius (how old can a backup be), `serve`
//! (is it due) — reads a schedule through [`CronSchedule`], so they all
//! agree on the same slots, daylight-saving changes included.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
pub use chrono_tz::Tz;
use croner::Cron;

/// The time zone schedules are read in when the fleet names none.
pub const DEFAULT_TIME_ZONE: &str = "UTC";

/// Why a schedule or a time zone cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Not five cron fields (or an `@` shorthand).
    #[error("`{0}` is not a five-field cron schedule")]
    Fields(String),
    /// Five fields croner does not accept.
    #[error("`{text}` is not a valid cron schedule: {why}")]
    Cron {
        /// The schedule.
        text: String,
        /// croner's reason.
        why: String,
    },
    /// A valid schedule with no slot in the next four years, such as
    /// `0 0 30 2 *` (February has no 30th).
    #[error("`{0}` never fires: no date matches it")]
    Never(String),
    /// Not a name of the IANA time zone database.
    #[error("`{0}` is not a time zone of the IANA database, such as `Europe/Berlin` or `UTC`")]
    Zone(String),
}

/// Reads an IANA time zone name; `None` is UTC.
///
/// # Errors
/// A name the time zone database does not have.
pub fn time_zone(name: Option<&str>) -> Result<Tz, ScheduleError> {
    let name = name.unwrap_or(DEFAULT_TIME_ZONE);
    Tz::from_str(name).map_err(|_| ScheduleError::Zone(name.to_string()))
}

/// A five-field cron schedule in a time zone: `0 2 * * *` in
/// `Europe/Berlin` is 02:00 Berlin time, winter and summer.
#[derive(Clone)]
pub struct CronSchedule {
    text: String,
    cron: Cron,
    zone: Tz,
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronSchedule({:?} in {})", self.text, self.zone)
    }
}

impl fmt::Display for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.zone == Tz::UTC { write!(f, "{} (UTC)", self.text) } else { write!(f, "{} ({})", self.text, self.zone) }
    }
}

/// How far ahead a schedule is looked at for its first slot: leap days come
/// every four years, so `0 0 29 2 *` is valid and this finds it.
const HORIZON_DAYS: i64 = 4 * 366 + 1;

/// Where that look starts: a fixed instant (2000-01-01, a leap year), not
/// the clock, so whether a fleet is valid never depends on the day it is
/// read. Five cron fields repeat within four years from any start (the
/// day of month and the weekday are either-or), so nothing is lost.
const HORIZON_START: i64 = 946_684_800;

impl CronSchedule {
    /// Reads `text` in `zone`; refuses a schedule that never fires.
    ///
    /// # Errors
    /// Not five fields, fields croner refuses, or no slot in four years.
    pub fn parse(text: &str, zone: Tz) -> Result<Self, ScheduleError> {
        if text.split_whitespace().count() != 5 && !text.starts_with('@') {
            return Err(ScheduleError::Fields(text.to_string()));
        }
        let cron =
            Cron::from_str(text).map_err(|e| ScheduleError::Cron { text: text.to_string(), why: e.to_string() })?;
        let schedule = Self { text: text.to_string(), cron, zone };
        let start = DateTime::<Utc>::from_timestamp(HORIZON_START, 0).unwrap_or_default();
        match schedule.next_after(start) {
            Some(first) if first - start <= chrono::Duration::days(HORIZON_DAYS) => Ok(schedule),
            _ => Err(ScheduleError::Never(text.to_string())),
        }
    }

    /// The schedule as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The time zone it is read in.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The first slot strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&t.with_timezone(&self.zone), false).ok().map(|s| s.with_timezone(&Utc))
    }

    /// The newest slot at or before `t`.
    pub fn previous_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_previous_occurrence(&t.with_timezone(&self.zone), true).ok().map(|s| s.with_timezone(&Utc))
    }

    /// The slots strictly after `t`, in order.
    pub fn slots_after(&self, t: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        self.cron.iter_after(t.with_timezone(&self.zone)).map(|s| s.with_timezone(&Utc))
    }

    /// The longest time between two consecutive slots in `over` from
    /// `from` (over a year: leap days, month ends and daylight-saving
    /// changes included): the worst-case data loss of a backup on it.
    pub fn longest_gap(&self, from: DateTime<Utc>, over: chrono::Duration) -> Option<Duration> {
        self.gap(from, over, Ord::max)
    }

    /// The shortest time between two consecutive slots in `over` from
    /// `from`: a job that takes longer than this cannot keep up.
    pub fn shortest_gap(&self, from: DateTime<Utc>, over: chrono::Duration) -> Option<Duration> {
        self.gap(from, over, Ord::min)
    }

    fn gap(
        &self,
        from: DateTime<Utc>,
        over: chrono::Duration,
        pick: fn(chrono::Duration, chrono::Duration) -> chrono::Duration,
    ) -> Option<Duration> {
        let end = from + over;
        let mut previous = None;
        let mut chosen: Option<chrono::Duration> = None;
        // Every minute of a year is 527,040 slots; past that it repeats.
        for (n, time) in self.slots_after(from).enumerate() {
            if time > end || n > 600_000 {
                break;
            }
            if let Some(p) = previous {
                chosen = Some(chosen.map_or(time - p, |c| pick(c, time - p)));
            }
            previous = Some(time);
        }
        chosen?.to_std().ok()
    }
}

/// The start of 2026 in UTC: a fixed year to measure gaps over, so the same
/// fleet always gets the same verdict.
pub fn reference_year() -> DateTime<Utc> {
    Utc.timestamp_opt(1_767_225_600, 0).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A year and a month: every kind of gap a schedule has.
pub fn a_year() -> chrono::Duration {
    chrono::Duration::days(400)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> CronSchedule {
        CronSchedule::parse(s, Tz::UTC).unwrap()
    }

    #[test]
    fn gaps_of_common_schedules() {
        let gap = |s: &str| utc(s).longest_gap(reference_year(), a_year()).unwrap();
        assert_eq!(gap("*/15 * * * *"), Duration::from_secs(900));
        assert_eq!(gap("0 * * * *"), Duration::from_secs(3600));
        assert_eq!(gap("0 2 * * *"), Duration::from_secs(86_400));
        // Weekdays only: Friday 02:00 to Monday 02:00.
        assert_eq!(gap("0 2 * * 1-5"), Duration::from_secs(3 * 86_400));
        assert_eq!(utc("0 2 * * 1-5").shortest_gap(reference_year(), a_year()).unwrap(), Duration::from_secs(86_400));
    }

    #[test]
    fn a_schedule_in_a_zone_fires_at_that_zones_wall_clock() {
        let berlin = time_zone(Some("Europe/Berlin")).unwrap();
        let s = CronSchedule::parse("0 2 * * *", berlin).unwrap();
        // 2026-01-15 is winter (UTC+1), 2026-07-15 summer (UTC+2).
        let winter = Utc.with_ymd_and_hms(2026, 1, 15, 0, 0, 0).unwrap();
        assert_eq!(s.next_after(winter), Some(Utc.with_ymd_and_hms(2026, 1, 15, 1, 0, 0).unwrap()));
        let summer = Utc.with_ymd_and_hms(2026, 7, 14, 12, 0, 0).unwrap();
        assert_eq!(s.next_after(summer), Some(Utc.with_ymd_and_hms(2026, 7, 15, 0, 0, 0).unwrap()));
        // 02:30 does not exist on 2026-03-29 in Berlin: that day has a longer gap.
        let s = CronSchedule::parse("30 2 * * *", berlin).unwrap();
        assert!(s.longest_gap(reference_year(), a_year()).unwrap() > Duration::from_secs(86_400));
    }

    #[test]
    fn schedules_that_never_fire_and_unknown_zones_are_refused() {
        assert_eq!(CronSchedule::parse("0 0 30 2 *", Tz::UTC).unwrap_err(), ScheduleError::Never("0 0 30 2 *".into()));
        assert!(CronSchedule::parse("0 0 29 2 *", Tz::UTC).is_ok(), "leap days come");
        // The day of month or the weekday (cron's either-or): every Monday
        // too, so the four-year look cannot miss it.
        let either = CronSchedule::parse("0 0 29 2 1", Tz::UTC).unwrap();
        let monday = DateTime::<Utc>::from_timestamp(1_771_804_800, 0).unwrap(); // 2026-02-23, a Monday
        assert_eq!(either.next_after(monday - chrono::Duration::hours(1)), Some(monday));
        assert!(matches!(CronSchedule::parse("* * *", Tz::UTC), Err(ScheduleError::Fields(_))));
        assert!(matches!(CronSchedule::parse("61 * * * *", Tz::UTC), Err(ScheduleError::Cron { .. })));
        assert_eq!(time_zone(Some("Mars/Olympus")).unwrap_err(), ScheduleError::Zone("Mars/Olympus".into()));
        assert_eq!(time_zone(None).unwrap(), Tz::UTC);
    }
}
