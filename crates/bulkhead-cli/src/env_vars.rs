//! Every environment variable Bulkhead reads, in one place.

/// Default fleet directory when none is given on the command line.
pub const BULKHEAD_FLEET: &str = "BULKHEAD_FLEET";
/// Default output format (`human`, `json`, `sarif`, `junit`).
pub const BULKHEAD_OUTPUT: &str = "BULKHEAD_OUTPUT";
/// When to colour (`auto`, `always`, `never`).
pub const BULKHEAD_COLOR: &str = "BULKHEAD_COLOR";
/// Log filter for stderr, in `tracing` syntax (such as `bulkhead=debug`).
pub const BULKHEAD_LOG: &str = "BULKHEAD_LOG";
/// Set (to anything) to turn colour off, as https://no-color.org asks.
pub const NO_COLOR: &str = "NO_COLOR";
/// Which traffic nameserver `bulkhead traffic serve` runs as.
pub const BULKHEAD_TRAFFIC_INSTANCE: &str = "BULKHEAD_TRAFFIC_INSTANCE";
/// Where `bulkhead serve` keeps its history (and `bulkhead jobs` reads it).
pub const BULKHEAD_STATE: &str = "BULKHEAD_STATE";
/// The base of per-user state directories (the XDG base directory spec).
pub const XDG_STATE_HOME: &str = "XDG_STATE_HOME";
/// The user's home, for the state directory's default.
pub const HOME: &str = "HOME";
/// The host's name (set in every pod), for a `serve` replica's identity.
pub const HOSTNAME: &str = "HOSTNAME";
