//! How a long job says where it has got to. The CLI turns reports into
//! progress bars on a terminal; a server into metrics. A report is small and
//! borrowed: a callback that keeps nothing costs nothing.

/// One report.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// Work on one target began (`backing up aws-use1-prod`).
    Began {
        /// What, in words.
        what: &'a str,
    },
    /// The target's work moved on.
    Work(bulkhead_dr::Progress<'a>),
    /// Bytes done of a known total (an etcd snapshot streaming in).
    Bytes {
        /// Done so far.
        done: u64,
        /// In all.
        total: u64,
    },
    /// Work on the target ended, well or not.
    Ended,
}

/// Where reports go.
pub type OnProgress<'a> = &'a (dyn Fn(Progress<'_>) + Sync);

/// A callback that keeps nothing, for callers that show no progress.
pub fn ignore(_: Progress<'_>) {}
