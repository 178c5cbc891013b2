//! Who is asking, and may they: a bearer token checked with the API
//! server's TokenReview, and a request authorised with SubjectAccessReview
//! against a verb on a resource of Bulkhead's own API group, as
//! kube-rbac-proxy does. The cluster's RBAC decides, so a platform grants
//! "see the fleet" and "back up now" with the Roles it already writes:
//!
//! ```yaml
//! rules:
//!   - apiGroups: [bulkhead.dev]
//!     resources: [apps, jobs]
//!     verbs: [get, list]
//! ```
//!
//! The resources need not exist as API types: RBAC rules name any resource,
//! and SubjectAccessReview judges them the same way.

use std::collections::BTreeMap;

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec};
use kube::api::PostParams;

use crate::{Cluster, Error};

/// The API group Bulkhead's verbs and resources are named in.
pub const API_GROUP: &str = "bulkhead.dev";

/// A token's owner, as the API server knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Such as `system:serviceaccount:ops:reader`.
    pub username: String,
    /// Its UID, when the authenticator gives one.
    pub uid: Option<String>,
    /// Its groups.
    pub groups: Vec<String>,
    /// What else the authenticator says of it (a pod's name, for one).
    pub extra: BTreeMap<String, Vec<String>>,
}

/// What a TokenReview says of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    /// The token is valid: whose it is.
    Authenticated(Identity),
    /// It is not (unknown, expired, for another audience); the server's reason.
    Refused(String),
}

/// What a request would do: a verb on one of Bulkhead's resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `get`, `list`, `create`, `update` …
    pub verb: String,
    /// Such as `apps`, `backups`, `schedules`.
    pub resource: String,
    /// One object's name, when the request is about one.
    pub name: Option<String>,
    /// The namespace rules are looked up in (`None`: cluster-wide, ClusterRoles only).
    pub namespace: Option<String>,
}

/// What a SubjectAccessReview says of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// Allowed.
    Allowed,
    /// Not allowed; the authoriser's reason, when it gives one.
    Denied(String),
}

/// Asks `cluster` whose `token` is. `audiences` are those the token must
/// be for (empty: the API server's own).
///
/// # Errors
/// The server refuses the review itself (the caller may not create
/// TokenReviews) or does not answer.
pub async fn authenticate(cluster: &Cluster, token: &str, audiences: &[String]) -> Result<Authentication, Error> {
    let review = TokenReview {
        spec: TokenReviewSpec {
            token: token.to_string(),
            audiences: (!audiences.is_empty()).then(|| audiences.to_vec()),
        },
        ..Default::default()
    };
    let api: kube::Api<TokenReview> = kube::Api::all(cluster.client.clone());
    let done = cluster.call("review a token", api.create(&PostParams::default(), &review)).await?;
    let status = done.status.unwrap_or_default();
    if status.authenticated != Some(true) {
        let why = status.error.filter(|e| !e.is_empty()).unwrap_or_else(|| "the token is not valid".into());
        return Ok(Authentication::Refused(why));
    }
    let user = status.user.unwrap_or_default();
    Ok(Authentication::Authenticated(Identity {
        username: user.username.unwrap_or_default(),
        uid: user.uid,
        groups: user.groups.unwrap_or_default(),
        extra: user.extra.unwrap_or_default(),
    }))
}

/// Asks `cluster` whether `who` may do `request`.
///
/// # Errors
/// The server refuses the review itself or does not answer.
pub async fn authorize(cluster: &Cluster, who: &Identity, request: &Request) -> Result<Authorization, Error> {
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(who.username.clone()),
            uid: who.uid.clone(),
            groups: Some(who.groups.clone()),
            extra: (!who.extra.is_empty()).then(|| who.extra.clone()),
            resource_attributes: Some(ResourceAttributes {
                group: Some(API_GROUP.to_string()),
                resource: Some(request.resource.clone()),
                verb: Some(request.verb.clone()),
                name: request.name.clone(),
                namespace: request.namespace.clone(),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let api: kube::Api<SubjectAccessReview> = kube::Api::all(cluster.client.clone());
    let done = cluster.call("review access", api.create(&PostParams::default(), &review)).await?;
    let status = done.status.unwrap_or_default();
    if status.allowed && status.denied != Some(true) {
        return Ok(Authorization::Allowed);
    }
    let why =
        [status.reason, status.evaluation_error].into_iter().flatten().filter(|s| !s.is_empty()).collect::<Vec<_>>();
    Ok(Authorization::Denied(if why.is_empty() {
        format!("{} may not {} {}.{API_GROUP}", who.username, request.verb, request.resource)
    } else {
        why.join("; ")
    }))
}
