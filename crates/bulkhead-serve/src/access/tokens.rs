//! Static tokens for a `serve` outside any cluster: a YAML file of SHA-256
//! digests, never the tokens themselves, each with what it may do.
//!
//! ```yaml
//! tokens:
//!   - name: dashboard            # who, in logs and in the history's pauses
//!     sha256: 5e88489…           # printf %s "$TOKEN" | sha256sum
//!     allow: [viewer]            # every get, list and watch
//!   - name: on-call
//!     sha256: 6b86b27…
//!     allow: [viewer, "create backups", "create drills", "update schedules"]
//!   - name: admin
//!     sha256: d4735e3…
//!     allow: [operator]          # everything
//! ```

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::Permission;

/// Why a token file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    /// It cannot be read.
    #[error("the token file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It does not parse, or says something that cannot be.
    #[error("the token file {path}: {why}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tokens: Vec<Entry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    sha256: String,
    allow: Vec<String>,
}

/// One token: whose, and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Who holds it.
    pub name: String,
    digest: [u8; 32],
    /// `(verb, resource)` pairs; `*` matches any.
    allow: Vec<(String, String)>,
}

impl Token {
    /// Whether it may do `permission`.
    pub fn allows(&self, permission: Permission) -> bool {
        self.allow.iter().any(|(verb, resource)| {
            (verb == "*" || verb == permission.verb) && (resource == "*" || resource == permission.resource)
        })
    }
}

/// The tokens of a file.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    tokens: Vec<Token>,
}

impl Tokens {
    /// Reads the file at `path`.
    ///
    /// # Errors
    /// It cannot be read, does not parse, holds a digest that is not 64 hex
    /// digits, a digest or name twice, or a permission that is not a role
    /// nor `VERB RESOURCE`.
    pub fn read(path: &Path) -> Result<Self, TokensError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| TokensError::Read { path: path.to_path_buf(), source })?;
        Self::parse(&text).map_err(|why| TokensError::Invalid { path: path.to_path_buf(), why })
    }

    fn parse(text: &str) -> Result<Self, String> {
        let file: File = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        let mut tokens: Vec<Token> = Vec::new();
        for entry in file.tokens {
            let at = |why: String| format!("token `{}`: {why}", entry.name);
            let digest = digest_of_hex(&entry.sha256).ok_or_else(|| {
                at("`sha256` must be the 64 hex digits of the token's SHA-256 (printf %s \"$TOKEN\" | sha256sum)"
                    .into())
            })?;
            if tokens.iter().any(|t| t.name == entry.name) {
                return Err(at("the name is given twice".into()));
            }
            if tokens.iter().any(|t| t.digest == digest) {
                return Err(at("its digest is another token's too".into()));
            }
            let mut allow = Vec::new();
            for permission in &entry.allow {
                match permission.as_str() {
                    "viewer" => allow.extend(["get", "list", "watch"].map(|verb| (verb.to_string(), "*".to_string()))),
                    "operator" => allow.push(("*".into(), "*".into())),
                    pair => match pair.split_whitespace().collect::<Vec<_>>()[..] {
                        [verb, resource] => allow.push((verb.to_string(), resource.to_string())),
                        _ => {
                            return Err(at(format!(
                                "`{pair}` is neither a role (viewer, operator) nor `VERB RESOURCE` (such as `create backups`)"
                            )));
                        }
                    },
                }
            }
            tokens.push(Token { name: entry.name, digest, allow });
        }
        Ok(Self { tokens })
    }

    /// The token `presented` is, if any. Digests are compared, so the time
    /// taken says nothing of how much of a token was right.
    pub fn find(&self, presented: &str) -> Option<&Token> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        self.tokens.iter().find(|t| t.digest == digest)
    }

    /// How many tokens there are.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

fn digest_of_hex(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(token: &str) -> String {
        Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn a_token_is_known_by_its_digest_and_does_what_it_is_allowed() {
        let text = format!(
            "tokens:\n  - name: viewer\n    sha256: {}\n    allow: [viewer]\n  - name: on-call\n    sha256: {}\n    allow: [viewer, \"create backups\"]\n",
            sha("secret-1"),
            sha("secret-2").to_uppercase()
        );
        let tokens = Tokens::parse(&text).unwrap();
        let viewer = tokens.find("secret-1").unwrap();
        assert_eq!(viewer.name, "viewer");
        assert!(viewer.allows(Permission::new("list", "apps")));
        assert!(viewer.allows(Permission::new("watch", "runs")), "the dashboard follows the runs");
        assert!(!viewer.allows(Permission::new("create", "backups")));
        let on_call = tokens.find("secret-2").unwrap();
        assert!(on_call.allows(Permission::new("create", "backups")));
        assert!(!on_call.allows(Permission::new("create", "drills")));
        assert!(tokens.find("secret-3").is_none());
        assert!(tokens.find("").is_none());
    }

    #[test]
    fn a_bad_file_says_what_is_wrong() {
        let cases = [
            ("tokens:\n  - name: a\n    sha256: abc\n    allow: [viewer]\n", "64 hex digits"),
            (&format!("tokens:\n  - name: a\n    sha256: {}\n    allow: [boss]\n", sha("x")), "neither a role"),
            (
                &format!(
                    "tokens:\n  - name: a\n    sha256: {0}\n    allow: [viewer]\n  - name: b\n    sha256: {0}\n    allow: [viewer]\n",
                    sha("x")
                ),
                "another token's",
            ),
            (&format!("tokens:\n  - name: a\n    sha256: {}\n    allow: [viewer]\n    token: x\n", sha("x")), "token"),
        ];
        for (text, expected) in cases {
            let why = Tokens::parse(text).unwrap_err();
            assert!(why.contains(expected), "{why}");
        }
    }
}
