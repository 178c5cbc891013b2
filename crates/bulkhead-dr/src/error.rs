/// What went wrong in a backup or a restore.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cluster failed.
    #[error(transparent)]
    Kube(#[from] bulkhead_kube::Error),
    /// The repository failed.
    #[error(transparent)]
    Repository(#[from] bulkhead_repository::Error),
    /// What was asked for cannot be done (a mapping, a selection).
    #[error("{0}")]
    Input(String),
    /// Volume snapshots that could not be taken (the backup took none).
    #[error("cluster `{cluster}`: volume snapshots failed, so the backup took none: {}", failures.join("; "))]
    VolumeSnapshots {
        /// The cluster.
        cluster: String,
        /// Each claim that failed, and why.
        failures: Vec<String>,
    },
    /// Claims whose data the restore's target cannot provision from their
    /// snapshots (nothing was written).
    #[error(
        "the target cannot restore the data of {} from the backup's volume snapshots, so nothing was restored: {}; give --allow-empty-volumes to restore them empty",
        if claims.len() == 1 { "a claim".to_string() } else { format!("{} claims", claims.len()) },
        claims.join("; ")
    )]
    VolumeData {
        /// Each claim, and why.
        claims: Vec<String>,
    },
    /// Storage classes the restore's target has no match for.
    #[error(transparent)]
    Classes(#[from] crate::classes::Unmatched),
}

impl Error {
    /// Whose move it is.
    pub fn fault(&self) -> bulkhead_model::Fault {
        match self {
            Self::Kube(e) => e.fault(),
            Self::Repository(e) => e.fault(),
            Self::VolumeSnapshots { .. } => bulkhead_model::Fault::Outside,
            Self::Input(_) | Self::Classes(_) | Self::VolumeData { .. } => bulkhead_model::Fault::Input,
        }
    }
}
