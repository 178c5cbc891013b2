//! Checks of meaning, run once the fleet file has the right shape: names that
//! must be unique, references that must resolve, ranges, schedules and
//! recovery targets that must make sense together.
//!
//! Each submodule checks one concern and appends to the same list; none stops
//! at the first problem.

mod access;
mod control_plane;
mod dr;
mod names;
mod network;
mod placement;
mod sizes;
mod traffic;

pub use sizes::{MAX_CLUSTER_NODES, MAX_FLEET_NODES};

use std::path::Path;

use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::source::Span;
use crate::spec::FleetFile;
use crate::topology::Topology;
use crate::yaml::Node;

/// Runs every check of meaning over a fleet file that passed the schema.
pub(crate) fn check_fleet(file: &Path, root: &Node, fleet: &FleetFile, topology: &Topology, out: &mut Vec<Diagnostic>) {
    let mut ctx = Ctx { file, root, out };
    names::check(&mut ctx, fleet);
    access::check(&mut ctx, fleet);
    network::check(&mut ctx, fleet);
    control_plane::check(&mut ctx, fleet, topology);
    placement::check(&mut ctx, fleet, topology);
    dr::check(&mut ctx, fleet);
    traffic::check(&mut ctx, fleet);
}

/// Checks the sizes the topology would materialise; returns whether it is
/// safe to build. Runs before [`check_fleet`].
pub(crate) fn check_sizes(file: &Path, root: &Node, fleet: &FleetFile, out: &mut Vec<Diagnostic>) -> bool {
    sizes::check(&mut Ctx { file, root, out }, fleet)
}

/// What every check needs: where it is, and where findings go.
pub(crate) struct Ctx<'a> {
    file: &'a Path,
    root: &'a Node,
    out: &'a mut Vec<Diagnostic>,
}

impl Ctx<'_> {
    /// The span of the value at a `/`-separated path such as
    /// `spec/clusters/0/location` (or of its nearest existing parent).
    fn span(&self, path: &str) -> Option<Span> {
        Some(self.root.span_at(path))
    }

    fn push(&mut self, d: Diagnostic) {
        self.out.push(d);
    }

    fn error(&mut self, code: Code, path: &str, message: impl Into<String>, hint: impl Into<String>) {
        let d = Diagnostic::error(code, self.file, self.span(path), message).with_hint(hint);
        self.push(d);
    }

    fn warning(&mut self, code: Code, path: &str, message: impl Into<String>, hint: impl Into<String>) {
        let d = Diagnostic::warning(code, self.file, self.span(path), message).with_hint(hint);
        self.push(d);
    }

    /// Reports a name that does not resolve, suggesting the closest one.
    fn unknown(&mut self, path: &str, what: &str, name: &str, known: &[&str]) {
        self.unknown_in(path, None, what, name, known);
    }

    /// Like [`Ctx::unknown`], for names that only mean something inside a
    /// scope ("provider `aws` has no region `us-east-2`").
    fn unknown_in(&mut self, path: &str, scope: Option<&str>, what: &str, name: &str, known: &[&str]) {
        let mut known = known.to_vec();
        known.sort_unstable();
        known.dedup();
        let message = match scope {
            Some(scope) => format!("{scope} has no {what} `{name}`"),
            None => format!("unknown {what} `{name}`"),
        };
        let hint = match did_you_mean(name, known.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if known.is_empty() => format!("no {what} is defined yet"),
            None => format!("known: {}", known.join(", ")),
        };
        self.error(Code::UnknownReference, path, message, hint);
    }
}

/// A duration as people write it: `30s`, `5m`, `1h30m`, `2d`.
pub(crate) fn parse_duration(text: &str) -> Option<std::time::Duration> {
    humantime::parse_duration(text).ok()
}
