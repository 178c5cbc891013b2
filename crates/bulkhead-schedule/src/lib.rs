//! The robot's calendar: every job the fleet declares ([`plan`]), and when
//! each is due ([`due`]) given the last time it succeeded, which is read
//! from the repository ([`Evidence`]), never from a server's memory.
//!
//! A server that was down for a day finds each overdue job due once, not
//! once per missed slot; a new leader reads the same repository and comes
//! to the same answer. Jitter is a function of the job's key, so every
//! replica, and every restart, agrees on it.

mod due;
mod evidence;
mod jobs;
mod shards;

pub use due::{Due, due, jitter};
pub use evidence::Evidence;
pub use jobs::{Intervals, JobKey, Scheduled, When, Work, plan};
pub use shards::{owner, shard_of};

/// Why the fleet's schedules cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A schedule or time zone that cannot be used (`validate` reports it too).
    #[error("{what}: {source}")]
    BadSchedule {
        /// Whose schedule (`policy nightly`, `drill shop-dr`, `dr.timeZone`).
        what: String,
        /// Why.
        source: bulkhead_model::ScheduleError,
    },
    /// A name that points nowhere (a policy a cluster's etcd names).
    #[error("{0}")]
    Unknown(String),
}
