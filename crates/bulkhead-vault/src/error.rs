/// What went wrong with a repository. Messages name the repository by its
/// URL and never carry its password or keys.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL cannot name a repository.
    #[error("repository `{url}`: {why}")]
    Location {
        /// The URL.
        url: String,
        /// Why.
        why: String,
    },
    /// Keys the storage needs are missing.
    #[error("{what}")]
    Credentials {
        /// What is missing.
        what: String,
    },
    /// The password cannot be found.
    #[error("no password for repository `{repository}`: {why}")]
    Password {
        /// The repository, by name or URL.
        repository: String,
        /// Why.
        why: String,
    },
    /// The repository refused or failed an operation.
    #[error("repository {location}: cannot {action}: {message}")]
    Repository {
        /// Where it is.
        location: String,
        /// What Bulkhead was doing.
        action: String,
        /// The repository library's message.
        message: String,
    },
    /// No snapshot matches.
    #[error("repository {location}: no snapshot {wanted}")]
    NoSnapshot {
        /// Where it is.
        location: String,
        /// What was asked for.
        wanted: String,
    },
    /// The data to save could not be produced (the source failed).
    #[error("the backup's source failed: {0}")]
    Source(String),
}
