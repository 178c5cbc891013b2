//! Who may use the API: each request's bearer token is checked, then the
//! request's verb on one of Bulkhead's resources is authorised.
//!
//! - **kubernetes**: the management cluster's TokenReview says whose the
//!   token is, and SubjectAccessReview whether RBAC lets them (as
//!   kube-rbac-proxy does); verbs are on resources of the `bulkhead.dev`
//!   group in the server's namespace, so a platform grants "see the fleet"
//!   and "back up now" with the Roles it already writes. Answers are kept
//!   for a short while: a dashboard asks many times a minute.
//! - **tokens**: a file of SHA-256 digests, each with its permissions, for
//!   a server outside any cluster ([`tokens`]).
//! - **none**: no check; refused on any address but loopback.

pub mod tokens;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bulkhead_kube::review::{Authentication, Authorization, Identity, Request};
use sha2::{Digest, Sha256};

pub use tokens::{Tokens, TokensError};

/// A verb on one of Bulkhead's resources: what a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Permission {
    /// `get`, `list`, `create`, `update`.
    pub verb: &'static str,
    /// `fleet`, `apps`, `jobs`, `backups` …
    pub resource: &'static str,
}

impl Permission {
    /// A permission.
    pub const fn new(verb: &'static str, resource: &'static str) -> Self {
        Self { verb, resource }
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}.{}", self.verb, self.resource, bulkhead_kube::review::API_GROUP)
    }
}

/// How the API checks its callers, as asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AuthMode {
    /// Kubernetes when the fleet names a management cluster, else none.
    #[default]
    Auto,
    /// No check (loopback only).
    None,
    /// Static tokens from this file.
    Tokens(PathBuf),
    /// The management cluster's TokenReview and SubjectAccessReview.
    Kubernetes,
}

/// Who made a request, as the API knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Their name (a Kubernetes user, a token's name, `anonymous`).
    pub name: String,
}

/// Why a request is not let through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No bearer token, or one nobody issued (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// A known caller, not allowed this (403).
    #[error("{0}")]
    Forbidden(String),
    /// The cluster that decides could not be asked (503).
    #[error("{0}")]
    Unavailable(String),
}

/// How long an answer of the cluster is kept.
const REMEMBER: Duration = Duration::from_secs(10);
/// At most this many answers are kept; past it, all go.
const REMEMBER_AT_MOST: usize = 10_000;

/// The checks, ready to use.
pub enum Access {
    /// No check.
    Open,
    /// Static tokens.
    Tokens(Tokens),
    /// The management cluster decides.
    Kubernetes(Box<Reviews>),
}

/// Answers kept a while, each with when it was given.
type Remembered<K, V> = Mutex<HashMap<K, (Instant, V)>>;

/// A token's digest: tokens are never kept, even in memory.
type Digest32 = [u8; 32];

/// TokenReview and SubjectAccessReview against the management cluster,
/// with their answers kept for [`REMEMBER`].
pub struct Reviews {
    cluster: bulkhead_kube::Cluster,
    namespace: String,
    /// Identities (or refusals) by the token's digest.
    identities: Remembered<Digest32, Result<Identity, String>>,
    /// Decisions by the token's digest and what was asked.
    decisions: Remembered<(Digest32, Permission, Option<String>), Result<(), String>>,
}

impl Reviews {
    /// Reviews against `cluster`, for verbs in `namespace`.
    pub fn new(cluster: bulkhead_kube::Cluster, namespace: String) -> Self {
        Self { cluster, namespace, identities: Mutex::default(), decisions: Mutex::default() }
    }
}

fn remembered<K: std::hash::Hash + Eq, V: Clone>(map: &Remembered<K, V>, key: &K) -> Option<V> {
    let map = map.lock().expect("the reviews' lock");
    map.get(key).filter(|(at, _)| at.elapsed() < REMEMBER).map(|(_, v)| v.clone())
}

fn remember<K: std::hash::Hash + Eq, V>(map: &Remembered<K, V>, key: K, value: V) {
    let mut map = map.lock().expect("the reviews' lock");
    if map.len() >= REMEMBER_AT_MOST {
        map.clear();
    }
    map.insert(key, (Instant::now(), value));
}

impl Access {
    /// What the access is, in words (for the log at the start).
    pub fn describe(&self) -> String {
        match self {
            Self::Open => "none (loopback only)".into(),
            Self::Tokens(tokens) => format!("{} static tokens", tokens.len()),
            Self::Kubernetes(reviews) => format!(
                "TokenReview and SubjectAccessReview on cluster `{}`, namespace `{}`",
                reviews.cluster.name, reviews.namespace
            ),
        }
    }

    /// Lets a request with `token` (from its `Authorization: Bearer`
    /// header) do `permission` on `name`, or says why not.
    ///
    /// # Errors
    /// [`Refusal`]: who is asking is unknown, they may not, or the cluster
    /// that decides cannot be asked.
    pub async fn check(
        &self,
        token: Option<&str>,
        permission: Permission,
        name: Option<&str>,
    ) -> Result<Caller, Refusal> {
        let token = || {
            token.filter(|t| !t.is_empty()).ok_or_else(|| {
                Refusal::Unauthenticated("a bearer token is needed (Authorization: Bearer TOKEN)".into())
            })
        };
        match self {
            Self::Open => Ok(Caller { name: "anonymous".into() }),
            Self::Tokens(tokens) => {
                let Some(found) = tokens.find(token()?) else {
                    return Err(Refusal::Unauthenticated("the token is not known".into()));
                };
                if found.allows(permission) {
                    Ok(Caller { name: found.name.clone() })
                } else {
                    Err(Refusal::Forbidden(format!("`{}` may not {permission}", found.name)))
                }
            }
            Self::Kubernetes(reviews) => reviews.check(token()?, permission, name).await,
        }
    }
}

impl Reviews {
    async fn check(&self, token: &str, permission: Permission, name: Option<&str>) -> Result<Caller, Refusal> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let identity = match remembered(&self.identities, &digest) {
            Some(known) => known,
            None => {
                let answer = match bulkhead_kube::review::authenticate(&self.cluster, token, &[]).await {
                    Ok(Authentication::Authenticated(who)) => Ok(who),
                    Ok(Authentication::Refused(why)) => Err(why),
                    Err(e) => return Err(Refusal::Unavailable(format!("the token could not be reviewed: {e}"))),
                };
                remember(&self.identities, digest, answer.clone());
                answer
            }
        };
        let identity = identity.map_err(|why| {
            Refusal::Unauthenticated(if why.is_empty() { "the token is not valid".into() } else { why })
        })?;
        let key = (digest, permission, name.map(str::to_string));
        let decision = match remembered(&self.decisions, &key) {
            Some(known) => known,
            None => {
                let request = Request {
                    verb: permission.verb.to_string(),
                    resource: permission.resource.to_string(),
                    name: name.map(str::to_string),
                    namespace: Some(self.namespace.clone()),
                };
                let answer = match bulkhead_kube::review::authorize(&self.cluster, &identity, &request).await {
                    Ok(Authorization::Allowed) => Ok(()),
                    Ok(Authorization::Denied(why)) => Err(why),
                    Err(e) => return Err(Refusal::Unavailable(format!("the request could not be authorised: {e}"))),
                };
                remember(&self.decisions, key, answer.clone());
                answer
            }
        };
        match decision {
            Ok(()) => Ok(Caller { name: identity.username }),
            Err(why) => Err(Refusal::Forbidden(format!(
                "`{}` may not {permission} in namespace `{}`{}",
                identity.username,
                self.namespace,
                if why.is_empty() { String::new() } else { format!(": {why}") }
            ))),
        }
    }
}
