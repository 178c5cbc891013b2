//! What can stop a job, and whose move it is.

use bulkhead_model::Fault;

/// Why a job could not be planned or run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// What was asked for cannot work: a name the fleet does not have, flags
    /// that contradict each other.
    #[error("{0}")]
    Usage(String),
    /// The fleet or a file it names cannot be used.
    #[error("{0}")]
    Input(String),
    /// The repository failed.
    #[error(transparent)]
    Repository(#[from] bulkhead_repository::Error),
    /// A backup, restore or drill failed.
    #[error(transparent)]
    Recovery(#[from] bulkhead_dr::Error),
    /// A cluster failed.
    #[error(transparent)]
    Cluster(#[from] bulkhead_kube::Error),
    /// etcd failed, or what it sent is damaged.
    #[error(transparent)]
    Etcd(#[from] bulkhead_etcd::Error),
    /// The traffic DNS could not be configured or serve.
    #[error(transparent)]
    Traffic(#[from] bulkhead_traffic::Error),
    /// A program the job runs (etcdutl) is missing or could not be started.
    #[error("{0}")]
    Tool(String),
    /// Clusters or services a job reads could not be reached (what each said).
    #[error("{0}")]
    Unreachable(String),
    /// The job was cancelled (a server stopping, Ctrl-C) before it finished.
    #[error("cancelled before it finished")]
    Cancelled,
}

impl Error {
    /// A name the fleet does not have, with the names it has.
    pub(crate) fn unknown<'a>(what: &str, name: &str, known: impl Iterator<Item = &'a str>) -> Self {
        let known: Vec<&str> = known.collect();
        Self::Usage(format!(
            "the fleet has no {what} `{name}`; it has: {}",
            if known.is_empty() { "none".to_string() } else { known.join(", ") }
        ))
    }

    /// Whose move it is.
    pub fn fault(&self) -> Fault {
        match self {
            Self::Usage(_) | Self::Input(_) => Fault::Input,
            Self::Repository(e) => e.fault(),
            Self::Recovery(e) => e.fault(),
            Self::Cluster(e) => e.fault(),
            Self::Etcd(e) => e.fault(),
            Self::Traffic(e) => e.fault(),
            Self::Tool(_) | Self::Unreachable(_) => Fault::Outside,
            // Stopped from outside; trying again later is the remedy.
            Self::Cancelled => Fault::Outside,
        }
    }

    /// Whether it is a usage mistake (a flag or a name), rather than bad
    /// input in a file: the command line prints them apart.
    pub fn is_usage(&self) -> bool {
        matches!(self, Self::Usage(_))
    }
}
