//! Cross-site traffic DNS (`bulkhead traffic serve`).
//!
//! An authoritative server for the fleet's traffic zone: each app's hostname
//! answers with the addresses of its healthy sites, by its policy. The pure
//! parts decide: [`zone`] (what the fleet declares), [`policy`] (which sites
//! an answer names), [`answer`] (the records of one answer), [`health`]
//! (hysteresis), [`votes`] (no failover without a majority of instances),
//! [`wire`] (the peers' signed messages), [`rrl`] (response-rate limiting),
//! [`status`] (how an instance sees each site, for the watcher).
//! The rest talks to the network: [`probe`], [`workloads`] (the clusters'
//! own view, through their API), [`peers`], [`server`],
//! [`secondary`] (RFC 2136 updates to an external primary), and [`serve`]
//! that runs them together.

pub mod answer;
pub mod health;
pub mod metrics;
pub mod peers;
pub mod policy;
pub mod probe;
pub mod rrl;
pub mod secondary;
pub mod serve;
pub mod server;
pub mod state;
pub mod status;
pub mod tsig;
pub mod votes;
pub mod wire;
pub mod workloads;
pub mod zone;

pub use serve::{ServeOptions, serve};
pub use zone::Zone;

/// What can go wrong serving traffic DNS.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The fleet has no `spec.traffic`.
    #[error("the fleet has no traffic zone: add `spec.traffic` (see docs/traffic.md)")]
    NoTrafficZone,
    /// Something in the fleet or the options does not hold.
    #[error("{0}")]
    Invalid(String),
    /// The instance named is not one of the zone's nameservers.
    #[error("`{name}` is not one of the traffic zone's nameservers ({known})")]
    UnknownInstance {
        /// The name given.
        name: String,
        /// The names known.
        known: String,
    },
    /// A key file could not be read or used.
    #[error("key `{path}`: {source}")]
    Key {
        /// The file.
        path: String,
        /// What is wrong.
        source: tsig::BadKey,
    },
    /// A socket could not be opened.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address.
        address: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// A datagram on the peer port that is not a Bulkhead view.
    #[error("not a Bulkhead view message")]
    NotAView,
    /// A view whose HMAC does not match: another key, or altered on the way.
    #[error("the view's signature does not match")]
    BadSignature,
    /// A signed view that does not parse.
    #[error("the view does not parse: {0}")]
    ViewBody(String),
    /// A view from a name that is not one of the zone's other nameservers.
    #[error("`{0}` is not a peer")]
    UnknownPeer(String),
    /// A view not newer than the last one taken from its peer: a replay or
    /// reordering.
    #[error("view from `{peer}` sent at {sent_ms} ms is not newer than the last one ({last_ms} ms)")]
    OldView {
        /// The peer.
        peer: String,
        /// When this view was sent.
        sent_ms: u64,
        /// When the last view taken was sent.
        last_ms: u64,
    },
    /// A traffic instance could not be asked how it sees the sites: no
    /// connection, or it broke.
    #[error("{server}: {reason}")]
    StatusUnreachable {
        /// The instance's DNS address.
        server: std::net::SocketAddr,
        /// What went wrong.
        reason: String,
    },
    /// An instance answered a status query with an error code.
    #[error("{server} answered {code} for {hostname} (is the key one of its --transfer-key?)")]
    StatusRefused {
        /// The instance's DNS address.
        server: std::net::SocketAddr,
        /// The hostname asked.
        hostname: String,
        /// Its response code.
        code: hickory_proto::op::ResponseCode,
    },
    /// An instance's status string does not read.
    #[error("{server}: {source}")]
    StatusUnreadable {
        /// The instance's DNS address.
        server: std::net::SocketAddr,
        /// The string and what is wrong with it.
        source: status::BadStatus,
    },
    /// An update to the external primary, or a NOTIFY to a secondary, failed.
    #[error("{primary}: {reason}")]
    Update {
        /// The server's address.
        primary: std::net::SocketAddr,
        /// What it said, or what went wrong.
        reason: String,
    },
}

impl Error {
    /// Whose move it is: an address that cannot be listened on, a primary
    /// that refuses updates and an instance that cannot be asked or answers
    /// nonsense are the outside world's; the rest (a status query refused:
    /// the wrong key) is the fleet's, the flags' or a peer's input.
    pub fn fault(&self) -> bulkhead_model::Fault {
        match self {
            Self::Listen { .. }
            | Self::Update { .. }
            | Self::StatusUnreachable { .. }
            | Self::StatusUnreadable { .. } => bulkhead_model::Fault::Outside,
            _ => bulkhead_model::Fault::Input,
        }
    }
}
