/// What went wrong with a repository. Messages name the repository by its
/// URL and never carry its password or keys.
#[derive(Debug, Clone, thiserror::Error)]
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
    /// The storage under the repository cannot be reached or refused a
    /// read or write (S3 down, a full disk): the outside world's fault.
    #[error("repository {location}: cannot {action}: its storage failed: {message}")]
    Storage {
        /// Where it is.
        location: String,
        /// What Bulkhead was doing.
        action: String,
        /// The storage library's message.
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
    /// A snapshot's name that names none.
    #[error(transparent)]
    BadName(#[from] crate::BadSnapshotName),
    /// The repository's thread panicked (rustic_core panics on some damaged
    /// data, or Bulkhead has a bug).
    #[error("the repository's work panicked: {0}")]
    Panicked(String),
}

impl Error {
    /// Whose move it is: storage that fails is the outside world's; a
    /// panic is a bug; the rest (a wrong password, a missing repository or
    /// snapshot, a bad URL) is the input's.
    pub fn fault(&self) -> bulkhead_model::Fault {
        use bulkhead_model::Fault;
        match self {
            Self::Storage { .. } => Fault::Outside,
            Self::Panicked(_) => Fault::Bug,
            Self::Source(_)
            | Self::Location { .. }
            | Self::Credentials { .. }
            | Self::Password { .. }
            | Self::Repository { .. }
            | Self::NoSnapshot { .. }
            | Self::BadName(_) => Fault::Input,
        }
    }
}

/// A rustic error as ours: the storage's failures apart from the
/// repository's own (a wrong password, damaged data).
pub(crate) fn from_rustic(location: &str, action: &str, e: &rustic_core::RusticError) -> Error {
    let message = describe(e);
    // rustic_core keeps an error's kind private; its Debug form shows it.
    let storage = format!("{e:?}").contains("kind: Backend");
    let (location, action) = (location.to_string(), action.to_string());
    if storage { Error::Storage { location, action, message } } else { Error::Repository { location, action, message } }
}

/// `from_rustic` as a closure for `map_err`.
pub(crate) fn rustic(location: &str, action: &str) -> impl Fn(Box<rustic_core::RusticError>) -> Error + use<> {
    let (location, action) = (location.to_string(), action.to_string());
    move |e| from_rustic(&location, &action, &e)
}

/// A rustic error in one line, without its internal guidance noise.
fn describe(e: &rustic_core::RusticError) -> String {
    e.to_string().lines().map(str::trim).filter(|l| !l.is_empty()).take(3).collect::<Vec<_>>().join(" ")
}
