//! Kubernetes objects from an app's manifest files, checked against the
//! pinned Kubernetes API schema.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::Error;
use crate::diagnostic::{Code, Diagnostic};
use crate::kubernetes::{KUBERNETES_VERSION, KubernetesSchema};
use crate::source::Span;
use crate::yaml::{Node, Value};

/// One Kubernetes object from a manifest file.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// The file, relative to the fleet directory.
    pub file: PathBuf,
    /// Which document of the file (0-based).
    pub document: usize,
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name` (or `generateName`).
    pub name: String,
    /// `metadata.namespace`, if set.
    pub namespace: Option<String>,
    /// Where the object starts.
    pub span: Span,
    /// The object with positions, for analyses that report into manifests.
    #[serde(skip)]
    pub node: Node,
}

impl Manifest {
    /// The identity two manifests must not share: group, kind, namespace
    /// (`default_namespace` when the object sets none) and name.
    pub fn key(&self, default_namespace: Option<&str>) -> ObjectKey {
        ObjectKey::new(&self.api_version, &self.kind, self.namespace.as_deref().or(default_namespace), &self.name)
    }
}

/// An object's identity across versions: the API group (not the version:
/// `apps/v1` and `apps/v1beta1` name the same object), kind, namespace and
/// name. Every command that matches objects (overlays, plans, drift, the
/// inventory of what Bulkhead applied) keys them by this.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
pub struct ObjectKey {
    /// The API group, empty for the core group.
    pub group: String,
    /// The kind.
    pub kind: String,
    /// The namespace; `None` for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl ObjectKey {
    /// The key of an object of `api_version` (`group/version` or `v1`).
    pub fn new(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Self {
        Self {
            group: group_of(api_version).to_string(),
            kind: kind.to_string(),
            namespace: namespace.filter(|n| !n.is_empty()).map(str::to_string),
            name: name.to_string(),
        }
    }

    /// The key of an object given as JSON, when it has an `apiVersion`, a
    /// `kind` and a `metadata.name`.
    pub fn of_json(object: &serde_json::Value) -> Option<Self> {
        let text = |p: &str| object.pointer(p).and_then(serde_json::Value::as_str);
        Some(Self::new(text("/apiVersion")?, text("/kind")?, text("/metadata/namespace"), text("/metadata/name")?))
    }
}

/// The group of an `apiVersion`: `apps` of `apps/v1`, empty for `v1`.
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

impl std::fmt::Display for ObjectKey {
    /// `Deployment.apps shop/web`, `ConfigMap shop/settings`,
    /// `ClusterRole.rbac.authorization.k8s.io viewer`: kubectl's way.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.kind)?;
        if !self.group.is_empty() {
            write!(f, ".{}", self.group)?;
        }
        match &self.namespace {
            Some(ns) => write!(f, " {ns}/{}", self.name),
            None => write!(f, " {}", self.name),
        }
    }
}

/// The manifests of one app (or of one baseline, with no overlays).
#[derive(Debug, Clone, Default, Serialize)]
pub struct AppManifests {
    /// The app's (or baseline's) name.
    pub app: String,
    /// Objects of the app's base directory.
    pub base: Vec<Manifest>,
    /// Objects of each overlay, in the order of `overlays`.
    pub overlays: Vec<Vec<Manifest>>,
}

/// Reads a document's identity and checks it against the schema of its kind.
/// Returns the object when its identity is readable, even if its fields are
/// wrong, so later analyses still see it.
pub(crate) fn check_document(
    file: &Path,
    document: usize,
    node: Node,
    schema: &mut KubernetesSchema,
    out: &mut Vec<Diagnostic>,
) -> Result<Option<Manifest>, Error> {
    if matches!(node.value, Value::Null) {
        return Ok(None);
    }
    if !matches!(node.value, Value::Map(_)) {
        out.push(
            Diagnostic::error(Code::ManifestIdentity, file, Some(node.span), "a manifest document must be a mapping")
                .with_hint("each document holds one Kubernetes object: `apiVersion`, `kind`, `metadata`, …"),
        );
        return Ok(None);
    }
    let text = |n: &Node, key: &str| n.get(key).and_then(Node::as_str).map(str::to_string);
    let api_version = text(&node, "apiVersion");
    let kind = text(&node, "kind");
    let metadata = node.get("metadata");
    let name = metadata.and_then(|m| text(m, "name").or_else(|| text(m, "generateName")));
    let namespace = metadata.and_then(|m| text(m, "namespace"));
    let (Some(api_version), Some(kind)) = (api_version, kind) else {
        out.push(
            Diagnostic::error(Code::ManifestIdentity, file, Some(node.span), "object has no `apiVersion` or no `kind`")
                .with_hint("every Kubernetes object starts with `apiVersion:` and `kind:`"),
        );
        return Ok(None);
    };
    if kind == "Kustomization"
        || kind.ends_with("List") && node.get("items").is_some() && !schema.knows(&api_version, &kind)
    {
        return Ok(None);
    }
    let json = node.to_json();
    match schema.check(file, &node, &json, &api_version, &kind, out)? {
        Some(true) => crate::api_rules::check(file, &api_version, &kind, &node, out),
        Some(false) => {} // the schema's findings come first; rules on a malformed object would only repeat them
        None => {
            let versions = schema.versions_of(&kind);
            let d = if versions.is_empty() {
                Diagnostic::new(
                    crate::diagnostic::Severity::Info,
                    Code::UnknownKind,
                    file,
                    node.get("kind").map(|k| k.span),
                    format!("`{api_version}` `{kind}` is not a Kubernetes {KUBERNETES_VERSION} kind; its fields are not checked"),
                )
                .with_hint("custom resources are checked by their own CRD's schema when applied")
            } else {
                Diagnostic::error(
                    Code::UnknownKind,
                    file,
                    node.get("apiVersion").map(|k| k.span),
                    format!("`{kind}` is not served as `{api_version}` in Kubernetes {KUBERNETES_VERSION}"),
                )
                .with_hint(format!("use `apiVersion: {}`", versions.join("` or `")))
            };
            out.push(d);
        }
    }
    let Some(name) = name else {
        out.push(
            Diagnostic::error(
                Code::ManifestIdentity,
                file,
                Some(metadata.map_or(node.span, |m| m.span)),
                format!("{kind} has no `metadata.name`"),
            )
            .with_hint("name every object; Bulkhead tracks objects by kind, namespace and name"),
        );
        return Ok(None);
    };
    Ok(Some(Manifest { file: file.to_path_buf(), document, api_version, kind, name, namespace, span: node.span, node }))
}
