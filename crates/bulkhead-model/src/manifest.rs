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
    /// `Kind/namespace/name`, the identity two manifests must not share.
    pub fn key(&self, default_namespace: Option<&str>) -> String {
        let ns = self.namespace.as_deref().or(default_namespace).unwrap_or("");
        format!("{}/{}/{ns}/{}", self.api_version.split('/').next().unwrap_or(""), self.kind, self.name)
    }
}

/// The manifests of one app.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AppManifests {
    /// The app's name.
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
