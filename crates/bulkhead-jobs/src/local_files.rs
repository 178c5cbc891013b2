//! Files beside the fleet that the pipeline reads: the network lock file and
//! ranges files. They are read here, not in `bulkhead-net`, which stays pure
//! and only parses ([`Lock::parse`], [`bulkhead_net::parse_ranges`]).

use std::path::Path;

use bulkhead_model::{Code, Diagnostic, Fleet};
use bulkhead_net::{LOCK_FILE, LOCK_INVALID, Lock, OwnedRange};

/// Reads `net.lock.json` beside the fleet file, if there is one.
///
/// # Errors
/// A diagnostic (code `lock-invalid`) when it cannot be read or used.
pub fn read_lock(fleet: &Fleet) -> Result<Option<Lock>, Diagnostic> {
    let text = match std::fs::read_to_string(fleet.root.join(LOCK_FILE)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Diagnostic::error(LOCK_INVALID, LOCK_FILE, None, format!("cannot read: {e}"))),
    };
    Lock::parse(&text).map(Some).map_err(|e| {
        Diagnostic::error(LOCK_INVALID, LOCK_FILE, None, e.to_string())
            .with_hint("restore it from git, or delete it and run `bulkhead net plan` (planned ranges may then move)")
    })
}

/// Reads and parses a ranges file (`net check --ranges`).
///
/// # Errors
/// When the file cannot be read, or one diagnostic per bad line.
pub fn read_ranges(path: &Path) -> Result<Vec<OwnedRange>, Vec<Diagnostic>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![Diagnostic::error(Code::UnreadableFile, path, None, format!("cannot read ranges file: {e}"))]
    })?;
    bulkhead_net::parse_ranges(path, &text)
}
