use std::path::PathBuf;

/// What can go wrong talking to etcd or reading what it sent.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The fleet's access settings cannot be used.
    #[error("{0}")]
    Access(String),
    /// A certificate or key file cannot be read.
    #[error("cannot read {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// etcd could not be reached, or refused the call.
    #[error("etcd at {endpoints}: {action} failed: {source}")]
    Etcd {
        /// The endpoints tried.
        endpoints: String,
        /// What was being done.
        action: &'static str,
        /// etcd's client's error.
        source: etcd_client::Error,
    },
    /// What etcd sent is not a whole, intact snapshot.
    #[error("the snapshot is damaged: {0}")]
    Damaged(String),
    /// Writing the snapshot file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A snapshot file (taken, or fetched from a repository) that cannot be read.
    #[error("{what}: {source}")]
    Read {
        /// Which snapshot.
        what: String,
        /// Why.
        source: crate::file::ReadError,
    },
    /// A delta segment that cannot be read.
    #[error("{what}: {source}")]
    Segment {
        /// Which segment.
        what: String,
        /// Why.
        source: crate::delta::SegmentError,
    },
    /// A point-in-time replay that cannot be made.
    #[error(transparent)]
    Replay(#[from] crate::replay::ReplayError),
    /// A stored value that does not decode.
    #[error(transparent)]
    Decode(#[from] crate::value::DecodeError),
    /// An encryption configuration that cannot be used, or a value it does not decrypt.
    #[error(transparent)]
    Encryption(#[from] crate::encryption::EncryptionError),
}

impl Error {
    /// Whether etcd itself could not be reached (exit 3 at the CLI), as
    /// opposed to bad settings or a damaged stream.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Etcd { .. })
    }

    /// Whose move it is: etcd that cannot be reached (or a file that cannot
    /// be written) is the outside world's; settings, certificates and a
    /// damaged stream are the input's.
    pub fn fault(&self) -> bulkhead_model::Fault {
        match self {
            Self::Etcd { .. } | Self::Write { .. } | Self::Replay(crate::replay::ReplayError::Write { .. }) => {
                bulkhead_model::Fault::Outside
            }
            Self::Access(_)
            | Self::ReadFile { .. }
            | Self::Damaged(_)
            | Self::Read { .. }
            | Self::Segment { .. }
            | Self::Replay(_)
            | Self::Decode(_)
            | Self::Encryption(_) => bulkhead_model::Fault::Input,
        }
    }
}
