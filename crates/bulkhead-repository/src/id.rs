//! Naming snapshots: a snapshot's id ([`SnapshotId`], 64 hex digits, shown
//! by its first 8 as restic does) and what a person types to name one
//! ([`SnapshotRef`]: `latest`, or an id or a prefix of it).

use std::fmt;
use std::str::FromStr;

/// A snapshot's id: the SHA-256 of its file, 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SnapshotId(String);

/// Why a text names no snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a snapshot: {why}")]
pub struct BadSnapshotName {
    /// What was given.
    pub text: String,
    /// Why it is refused.
    pub why: &'static str,
}

const ID_LEN: usize = 64;
const SHORT_LEN: usize = 8;

fn hex(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl SnapshotId {
    /// Reads a whole id.
    ///
    /// # Errors
    /// When `text` is not 64 lowercase hex digits.
    pub fn parse(text: &str) -> Result<Self, BadSnapshotName> {
        let bad = |why| BadSnapshotName { text: text.to_string(), why };
        if text.len() != ID_LEN {
            return Err(bad("a snapshot id has 64 hex digits"));
        }
        if !hex(text) {
            return Err(bad("a snapshot id is lowercase hex digits"));
        }
        Ok(Self(text.to_string()))
    }

    /// The whole id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 8 digits, as restic and Bulkhead show ids.
    pub fn short(&self) -> &str {
        &self.0[..SHORT_LEN.min(self.0.len())]
    }

    pub(crate) fn of(id: &rustic_core::repofile::SnapshotId) -> Self {
        Self(id.to_hex().to_string())
    }
}

impl fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for SnapshotId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// How a person names a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotRef {
    /// The newest resource backup (with the tags the caller adds).
    Latest,
    /// An id, or the start of one (at least 4 digits, as restic asks).
    Prefix(String),
}

impl FromStr for SnapshotRef {
    type Err = BadSnapshotName;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |why| BadSnapshotName { text: text.to_string(), why };
        match text {
            "latest" => Ok(Self::Latest),
            t if t.len() < 4 => Err(bad("give `latest` or at least 4 hex digits of its id")),
            t if t.len() > ID_LEN => Err(bad("a snapshot id has 64 hex digits")),
            t if !hex(&t.to_ascii_lowercase()) => Err(bad("give `latest` or hex digits of its id")),
            t => Ok(Self::Prefix(t.to_ascii_lowercase())),
        }
    }
}

impl fmt::Display for SnapshotRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Latest => f.write_str("latest"),
            Self::Prefix(p) => f.write_str(p),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn ids_and_references_are_read_strictly() {
        let id = "a".repeat(64);
        assert_eq!(SnapshotId::parse(&id).unwrap().short(), "aaaaaaaa");
        assert!(SnapshotId::parse(&"a".repeat(63)).is_err());
        assert!(SnapshotId::parse(&"g".repeat(64)).is_err());
        assert_eq!("latest".parse::<SnapshotRef>(), Ok(SnapshotRef::Latest));
        assert_eq!("ABCD12".parse::<SnapshotRef>(), Ok(SnapshotRef::Prefix("abcd12".into())));
        assert!("abc".parse::<SnapshotRef>().is_err(), "too short to be unique in a real repository");
        assert!("latest~1".parse::<SnapshotRef>().is_err());
        assert!("nope".parse::<SnapshotRef>().is_err());
    }

    proptest! {
        #[test]
        fn any_text_is_a_reference_or_an_error_that_names_it(text in ".{0,80}") {
            match text.parse::<SnapshotRef>() {
                Ok(SnapshotRef::Latest) => prop_assert_eq!(text.as_str(), "latest"),
                Ok(SnapshotRef::Prefix(p)) => {
                    prop_assert!(p.len() >= 4 && p.len() <= 64 && hex(&p));
                    prop_assert_eq!(p, text.to_ascii_lowercase());
                }
                Err(e) => {
                    let named = format!("`{text}`");
                    prop_assert!(e.to_string().contains(&named));
                }
            }
        }

        #[test]
        fn a_whole_id_is_its_own_prefix(digits in "[0-9a-f]{64}") {
            let id = SnapshotId::parse(&digits).unwrap();
            prop_assert_eq!(id.short(), &digits[..8]);
            prop_assert_eq!(digits.parse::<SnapshotRef>(), Ok(SnapshotRef::Prefix(digits.clone())));
        }
    }
}
