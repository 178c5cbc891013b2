//! Jobs that cannot keep up with their schedule, found at the start from
//! the history: the last three successful runs of a job each took longer
//! than its schedule left between the slot it ran for and the next one.
//! Such a job never overlaps itself, so it skips slots and its RPO is not
//! what the fleet says; starting anyway is a choice (`--allow-overrun`).

use std::collections::BTreeMap;
use std::time::Duration;

use bulkhead_schedule::{Scheduled, When};
use chrono::{DateTime, Utc};

use crate::history::{Outcome, Run};

/// Successful runs that must each have overrun before a job is refused:
/// one slow run is an accident, three in a row are the schedule.
const IN_A_ROW: usize = 3;

/// One job that cannot keep up: its key, its schedule in words, what its
/// schedule leaves between slots, and how long its last runs took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overrun {
    /// The job's key.
    pub job: String,
    /// Its schedule, as written (and in which zone).
    pub schedule: String,
    /// The time between the slots its last runs were for (the shortest).
    pub leaves: Duration,
    /// How long each of its last runs took, newest first.
    pub took: Vec<Duration>,
}

impl std::fmt::Display for Overrun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let took: Vec<String> = self.took.iter().map(|d| human(*d)).collect();
        write!(
            f,
            "job `{}` ({}) took {} in its last {} runs, longer than the {} its schedule leaves between slots",
            self.job,
            self.schedule,
            took.join(", "),
            self.took.len(),
            human(self.leaves)
        )
    }
}

fn human(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs().max(1))).to_string()
}

fn time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// The jobs of `jobs` whose newest successful runs in `runs` (newest first,
/// as the history lists them) all took longer than their slots' gaps.
pub fn overruns(jobs: &[Scheduled], runs: &[Run]) -> Vec<Overrun> {
    let mut by_job: BTreeMap<&str, Vec<&Run>> = BTreeMap::new();
    for run in runs.iter().filter(|r| r.outcome == Outcome::Succeeded) {
        let newest = by_job.entry(run.job.as_str()).or_default();
        if newest.len() < IN_A_ROW {
            newest.push(run);
        }
    }
    let mut out = Vec::new();
    for job in jobs {
        let key = job.work.key().0;
        let Some(last) = by_job.get(key.as_str()).filter(|r| r.len() == IN_A_ROW) else { continue };
        let mut took = Vec::new();
        let mut leaves = Duration::MAX;
        for run in last {
            let (Some(started), Some(ended)) = (time(&run.started), run.ended.as_deref().and_then(time)) else {
                break;
            };
            let gap = match &job.when {
                When::Cron(cron) => {
                    let slot = run.slot.as_deref().and_then(time).unwrap_or(started);
                    cron.next_after(slot).and_then(|next| (next - slot).to_std().ok())
                }
                When::Every(every) => Some(*every),
                When::Continuous => None,
            };
            let (Some(gap), Ok(duration)) = (gap, (ended - started).to_std()) else { break };
            if duration <= gap {
                break;
            }
            leaves = leaves.min(gap);
            took.push(duration);
        }
        if took.len() == IN_A_ROW {
            let schedule = match &job.when {
                When::Cron(cron) => cron.to_string(),
                When::Every(every) => format!("every {}", human(*every)),
                When::Continuous => String::new(),
            };
            out.push(Overrun { job: key, schedule, leaves, took });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use bulkhead_model::CronSchedule;
    use bulkhead_model::schedule::Tz;
    use bulkhead_schedule::Work;

    use super::*;
    use crate::history::Figures;

    fn job() -> Scheduled {
        Scheduled {
            work: Work::Backup { policy: "p".into(), cluster: "c".into(), app: "a".into() },
            when: When::Cron(Box::new(CronSchedule::parse("*/5 * * * *", Tz::UTC).unwrap())),
        }
    }

    /// A successful run for the slot at minute `slot` that took `seconds`.
    fn run(id: u64, slot: u32, seconds: u32, outcome: Outcome) -> Run {
        let at = |m: u32, s: u32| format!("2026-12-01T10:{:02}:{:02}Z", m + s / 60, s % 60);
        Run {
            id,
            job: "backup/p/c/a".into(),
            kind: "backup".into(),
            slot: Some(at(slot, 0)),
            missed: 1,
            attempt: 1,
            started: at(slot, 0),
            ended: Some(at(slot, seconds)),
            outcome,
            reason: None,
            figures: Figures::default(),
        }
    }

    #[test]
    fn three_slow_runs_in_a_row_are_an_overrun_and_one_fast_run_is_not() {
        let slow = [
            run(3, 20, 400, Outcome::Succeeded),
            run(2, 10, 360, Outcome::Succeeded),
            run(1, 0, 320, Outcome::Succeeded),
        ];
        let found = overruns(&[job()], &slow);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].leaves, Duration::from_secs(300));
        let said = found[0].to_string();
        assert!(said.contains("backup/p/c/a") && said.contains("*/5 * * * * (UTC)") && said.contains("5m"), "{said}");

        let mut fast_newest = slow.to_vec();
        fast_newest[0] = run(3, 20, 100, Outcome::Succeeded);
        assert!(overruns(&[job()], &fast_newest).is_empty());
        // Failed runs do not count either way; two slow runs are not three.
        let mut failed = slow.to_vec();
        failed[0] = run(3, 20, 900, Outcome::Failed);
        assert!(overruns(&[job()], &failed).is_empty());
    }
}
