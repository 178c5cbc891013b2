/// What went wrong in a backup or a restore.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cluster failed.
    #[error(transparent)]
    Kube(#[from] bulkhead_kube::Error),
    /// The repository failed.
    #[error(transparent)]
    Vault(#[from] bulkhead_vault::Error),
    /// What was asked for cannot be done (a mapping, a selection).
    #[error("{0}")]
    Input(String),
}
