//! Cross-site traffic DNS (`bulkhead traffic serve`).
//!
//! An authoritative server for the fleet's traffic zone: each app's hostname
//! answers with the addresses of its healthy sites, by its policy. The pure
//! parts decide: [`zone`] (what the fleet declares), [`policy`] (which sites
//! an answer names), [`answer`] (the records of one answer), [`health`]
//! (hysteresis), [`votes`] (no failover without a majority of instances),
//! [`wire`] (the peers' signed messages), [`rrl`] (response-rate limiting).
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
    #[error("key `{path}`: {reason}")]
    Key {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A socket could not be opened.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address.
        address: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
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
