//! Shared keys in BIND's key-file format (`tsig-keygen NAME` writes one):
//! the same file configures BIND and Bulkhead, for zone transfers, dynamic
//! updates and the peers' channel.
//!
//! ```text
//! key "xfer" {
//!     algorithm hmac-sha256;
//!     secret "base64…";
//! };
//! ```
//!
//! Parsed by hand: no crate reads BIND's configuration grammar, and a key
//! file is three statements.

use base64::Engine;
use hickory_proto::rr::TSigner;
use hickory_proto::rr::rdata::tsig::TsigAlgorithm;

use crate::Error;

/// Why a key file cannot be used, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadKey(String);

impl BadKey {
    fn new(why: impl Into<String>) -> Self {
        Self(why.into())
    }

    /// Whether the reason says `text`.
    pub fn contains(&self, text: &str) -> bool {
        self.0.contains(text)
    }
}

/// A key read from a file.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    /// Its name, such as `xfer`.
    pub name: String,
    /// The algorithm as BIND names it, such as `hmac-sha256`.
    pub algorithm: String,
    /// The secret.
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("name", &self.name).field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

/// Reads the first key of a BIND key file.
pub fn read_key_file(path: &std::path::Path) -> Result<Key, Error> {
    let err = |source: BadKey| Error::Key { path: path.display().to_string(), source };
    let text = std::fs::read_to_string(path).map_err(|e| err(BadKey::new(e.to_string())))?;
    parse_key(&text).map_err(err)
}

/// Parses the first `key "NAME" { algorithm ALG; secret "B64"; };` of a text.
pub fn parse_key(text: &str) -> Result<Key, BadKey> {
    // Comments as BIND writes them: `#`, `//` to the end of the line.
    let text: String = text
        .lines()
        .map(|l| {
            let l = l.split_once('#').map_or(l, |(a, _)| a);
            l.split_once("//").map_or(l, |(a, _)| a)
        })
        .collect::<Vec<_>>()
        .join("\n");
    let rest = text.trim_start().strip_prefix("key").ok_or_else(|| BadKey::new("expected `key \"NAME\" { … };`"))?;
    let (name, rest) =
        quoted(rest.trim_start()).ok_or_else(|| BadKey::new("expected the key's name in quotes after `key`"))?;
    let body = rest.trim_start().strip_prefix('{').ok_or_else(|| BadKey::new("expected `{` after the key's name"))?;
    let body = &body[..body.find('}').ok_or_else(|| BadKey::new("the key's `{` is never closed"))?];
    let mut algorithm = None;
    let mut secret = None;
    for statement in body.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let (word, value) = statement
            .split_once(char::is_whitespace)
            .ok_or_else(|| BadKey::new(format!("`{statement}` has no value")))?;
        let value = value.trim();
        match word {
            "algorithm" => algorithm = Some(value.trim_matches('"').to_ascii_lowercase()),
            "secret" => {
                let (b64, _) = quoted(value).ok_or_else(|| BadKey::new("the secret must be in quotes"))?;
                secret = Some(
                    base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .map_err(|e| BadKey::new(format!("the secret is not base64: {e}")))?,
                );
            }
            other => return Err(BadKey::new(format!("unknown statement `{other}` in the key"))),
        }
    }
    let algorithm = algorithm.ok_or_else(|| BadKey::new("the key has no `algorithm`"))?;
    let secret = secret.ok_or_else(|| BadKey::new("the key has no `secret`"))?;
    if secret.len() < 16 {
        return Err(BadKey::new(format!(
            "the secret is {} bytes; use at least 16 (`tsig-keygen` makes 32)",
            secret.len()
        )));
    }
    if name.is_empty() {
        return Err(BadKey::new("the key's name is empty"));
    }
    let key = Key { name: name.to_string(), algorithm, secret };
    key.tsig_algorithm()?;
    Ok(key)
}

fn quoted(text: &str) -> Option<(&str, &str)> {
    let inner = text.strip_prefix('"')?;
    let end = inner.find('"')?;
    Some((&inner[..end], &inner[end + 1..]))
}

impl Key {
    /// The algorithm as hickory names it; only the SHA-2 HMACs.
    pub fn tsig_algorithm(&self) -> Result<TsigAlgorithm, BadKey> {
        match self.algorithm.as_str() {
            "hmac-sha256" => Ok(TsigAlgorithm::HmacSha256),
            "hmac-sha384" => Ok(TsigAlgorithm::HmacSha384),
            "hmac-sha512" => Ok(TsigAlgorithm::HmacSha512),
            other => Err(BadKey::new(format!(
                "algorithm `{other}` is not supported; use hmac-sha256, hmac-sha384 or hmac-sha512"
            ))),
        }
    }

    /// A TSIG signer for this key. The fudge (allowed clock skew) is
    /// RFC 8945's recommended 300 s.
    pub fn signer(&self) -> Result<TSigner, BadKey> {
        let name = hickory_proto::rr::Name::from_ascii(&self.name).map_err(|e| BadKey::new(e.to_string()))?;
        TSigner::new(self.secret.clone(), self.tsig_algorithm()?, name, 300).map_err(|e| BadKey::new(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: &str =
        "key \"xfer\" {\n\talgorithm hmac-sha256;\n\tsecret \"q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=\";\n};\n";

    #[test]
    fn reads_what_tsig_keygen_writes() {
        let key = parse_key(KEY).unwrap();
        assert_eq!(key.name, "xfer");
        assert_eq!(key.algorithm, "hmac-sha256");
        assert_eq!(key.secret.len(), 32);
        key.signer().unwrap();
    }

    #[test]
    fn says_what_is_wrong() {
        assert!(parse_key("").unwrap_err().contains("expected `key"));
        assert!(parse_key(&KEY.replace("hmac-sha256", "hmac-md5")).unwrap_err().contains("not supported"));
        assert!(parse_key(&KEY.replace("q83v", "!!!!")).unwrap_err().contains("base64"));
        assert!(
            parse_key("key \"x\" { algorithm hmac-sha256; secret \"AAAA\"; };").unwrap_err().contains("at least 16")
        );
    }

    proptest! {
        #[test]
        fn never_panics(text in ".{0,300}") {
            let _ = parse_key(&text);
        }
    }
}
