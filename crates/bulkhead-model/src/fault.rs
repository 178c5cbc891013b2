//! Whose move a failure is. Every library's error says which of these it
//! is, so the command line picks the exit code (2, 3 or 101) and a server
//! decides what to retry, without reading messages.

/// Whose move a failure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// The input is wrong (a flag, fleet.yaml, a password, a file): retrying
    /// changes nothing until a person fixes it.
    Input,
    /// The outside world failed (a cluster, etcd, storage, the network): a
    /// retry later may succeed.
    Outside,
    /// Bulkhead itself is broken (a panic, an impossible state): a bug to report.
    Bug,
}

impl Fault {
    /// Whether trying again later may help.
    pub fn is_retryable(self) -> bool {
        self == Self::Outside
    }
}
