//! The desired state of each cluster, rendered once and shared by `render`,
//! `plan`, `apply` and `drift`: each app's base manifests on the clusters
//! its placement selects, an overlay's object replacing the base object of
//! the same [`ObjectKey`] on the clusters the overlay selects (as
//! `bulkhead-workload` types them for the audit), the app's namespace, and
//! the fleet's baselines. Pure.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bulkhead_kube::order::Phase;
use bulkhead_model::manifest::{Manifest, ObjectKey};
use bulkhead_model::spec::{Cluster, ClusterIndex, ClusterSelector};
use bulkhead_model::{Code, Diagnostic, Fleet};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::scope::Scopes;

/// Two sources render the same object for one cluster.
pub const DESIRED_CONFLICT: Code = Code::new("desired-conflict");

/// Where a desired object comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type", content = "name")]
pub enum Origin {
    /// An app's manifests (base or overlay).
    App(String),
    /// The namespace an app declares, made for it.
    AppNamespace(String),
    /// A baseline.
    Baseline(String),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::App(a) => write!(f, "app {a}"),
            Self::AppNamespace(a) => write!(f, "app {a}'s namespace"),
            Self::Baseline(b) => write!(f, "baseline {b}"),
        }
    }
}

/// One object a cluster should have.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredObject {
    /// Its identity.
    pub key: ObjectKey,
    /// Where it comes from.
    pub origin: Origin,
    /// The manifest file, relative to the fleet directory (none for made objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// The object as it is applied.
    pub object: Value,
}

impl DesiredObject {
    /// `apiVersion`.
    pub fn api_version(&self) -> &str {
        self.object["apiVersion"].as_str().unwrap_or_default()
    }

    /// The phase it is applied in.
    pub fn phase(&self) -> Phase {
        Phase::of(&self.key.group, &self.key.kind)
    }

    /// A digest of the object as applied: the inventory records it, so a
    /// later plan knows an unchanged object without asking the API server.
    pub fn digest(&self) -> String {
        digest(&self.object)
    }
}

/// The first 16 bytes of the SHA-256 of an object's JSON, in hex.
pub fn digest(object: &Value) -> String {
    let bytes = serde_json::to_vec(object).unwrap_or_default();
    Sha256::digest(&bytes)[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Everything one cluster should have, in apply order (phase, then key).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DesiredCluster {
    /// The fleet's name (each fleet keeps its own inventory).
    pub fleet: String,
    /// The cluster's name.
    pub cluster: String,
    /// Its objects.
    pub objects: Vec<DesiredObject>,
}

/// Renders every cluster of the fleet, in fleet order, with the problems
/// found: two sources giving one cluster the same object are an error each.
pub fn render(fleet: &Fleet) -> (Vec<DesiredCluster>, Vec<Diagnostic>) {
    let spec = &fleet.file.spec;
    let all = &spec.clusters;
    let index = ClusterIndex::new(all);
    let chosen = |selector: &ClusterSelector| index.select(all, selector);
    let scopes = Scopes::with_definitions(
        fleet
            .apps
            .iter()
            .chain(&fleet.baselines)
            .flat_map(|a| a.base.iter().chain(a.overlays.iter().flatten()))
            .filter(|m| m.kind == "CustomResourceDefinition")
            .map(|m| m.node.to_json())
            .collect::<Vec<_>>()
            .iter(),
    );
    let mut per_cluster: Vec<BTreeMap<ObjectKey, DesiredObject>> = vec![BTreeMap::new(); all.len()];
    let mut problems = Vec::new();
    // `made` objects (an app's namespace) give way to any written one.
    let mut add = |ci: usize, object: DesiredObject, manifest: Option<&Manifest>, made: bool| {
        let cluster: &Cluster = &all[ci];
        match per_cluster[ci].get(&object.key) {
            Some(_) if made => {}
            Some(first) if matches!(first.origin, Origin::AppNamespace(_)) => {
                per_cluster[ci].insert(object.key.clone(), object);
            }
            Some(first) if first.origin != object.origin || first.file != object.file => {
                let at = manifest.map(|m| (m.file.clone(), Some(m.span)));
                let (file, span) = at.unwrap_or_else(|| (fleet.path.clone(), None));
                problems.push(
                    Diagnostic::error(
                        DESIRED_CONFLICT,
                        &file,
                        span,
                        format!(
                            "{} is given to cluster `{}` by {} and by {}",
                            object.key, cluster.name, first.origin, object.origin
                        ),
                    )
                    .with_hint("an object belongs to one app or baseline; remove one of them"),
                );
            }
            _ => {
                per_cluster[ci].insert(object.key.clone(), object);
            }
        }
    };
    for (baseline, manifests) in spec.baselines.iter().zip(&fleet.baselines) {
        for ci in chosen(&baseline.clusters) {
            for m in &manifests.base {
                let origin = Origin::Baseline(baseline.name.clone());
                add(ci, object_of(m, None, &scopes, origin), Some(m), false);
            }
        }
    }
    for (app, manifests) in spec.apps.iter().zip(&fleet.apps) {
        let ns = app.namespace.as_deref();
        for ci in chosen(&app.placement.clusters) {
            // The base, then each overlay that selects the cluster replacing
            // or adding objects by key.
            let mut objects: BTreeMap<ObjectKey, &Manifest> = BTreeMap::new();
            for m in &manifests.base {
                objects.insert(object_key(m, ns, &scopes), m);
            }
            for (overlay, overlay_objects) in app.overlays.iter().zip(&manifests.overlays) {
                if overlay.clusters.matches(&all[ci]) {
                    for m in overlay_objects {
                        objects.insert(object_key(m, ns, &scopes), m);
                    }
                }
            }
            for m in objects.into_values() {
                add(ci, object_of(m, ns, &scopes, Origin::App(app.name.clone())), Some(m), false);
            }
            if let Some(ns) = ns {
                let key = ObjectKey::new("v1", "Namespace", None, ns);
                let object = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
                let made = DesiredObject { key, origin: Origin::AppNamespace(app.name.clone()), file: None, object };
                add(ci, made, None, true);
            }
        }
    }
    let rendered = all
        .iter()
        .zip(per_cluster)
        .map(|(c, objects)| {
            let mut objects: Vec<DesiredObject> = objects.into_values().collect();
            objects.sort_by(|a, b| (a.phase(), &a.key).cmp(&(b.phase(), &b.key)));
            DesiredCluster { fleet: fleet.file.metadata.name.clone(), cluster: c.name.clone(), objects }
        })
        .collect();
    (rendered, problems)
}

/// The namespace an object lands in: its own, else the app's, else
/// `default` as kubectl does; none for cluster-scoped kinds.
fn namespace_of<'a>(m: &'a Manifest, app_namespace: Option<&'a str>, scopes: &Scopes) -> Option<&'a str> {
    let group = bulkhead_model::manifest::group_of(&m.api_version);
    if scopes.is_cluster_scoped(group, &m.kind) {
        None
    } else {
        Some(m.namespace.as_deref().or(app_namespace).unwrap_or("default"))
    }
}

fn object_key(m: &Manifest, app_namespace: Option<&str>, scopes: &Scopes) -> ObjectKey {
    ObjectKey::new(&m.api_version, &m.kind, namespace_of(m, app_namespace, scopes), &m.name)
}

fn object_of(m: &Manifest, app_namespace: Option<&str>, scopes: &Scopes, origin: Origin) -> DesiredObject {
    let mut object = m.node.to_json();
    let namespace = namespace_of(m, app_namespace, scopes);
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        match namespace {
            Some(ns) => {
                meta.insert("namespace".into(), Value::String(ns.to_string()));
            }
            None => {
                meta.remove("namespace");
            }
        }
    }
    DesiredObject { key: object_key(m, app_namespace, scopes), origin, file: Some(m.file.clone()), object }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use bulkhead_model::{LoadOptions, MemoryFiles};

    use super::*;

    const FLEET: &str = r#"
apiVersion: bulkhead.dev/v1alpha1
kind: Fleet
metadata: {name: t}
spec:
  providers:
    - name: aws
      kind: aws
      regions: [{name: us-east-1, zones: [a, b, c]}]
  clusters:
    - {name: one, location: aws/us-east-1, labels: {env: prod}, controlPlane: {managed: true}}
    - {name: two, location: aws/us-east-1, controlPlane: {managed: true}}
  baselines:
    - {name: rbac, manifests: baseline}
  apps:
    - name: web
      manifests: web
      namespace: shop
      placement: {clusters: {labels: {env: prod}}}
      overlays:
        - {clusters: {names: [one]}, manifests: web-one}
"#;

    fn fleet(files: &[(&str, &str)]) -> Fleet {
        let mut source = MemoryFiles::new();
        source.insert("fleet.yaml", FLEET);
        for (path, text) in files {
            source.insert(*path, *text);
        }
        let loaded = bulkhead_model::load_from(&source, Path::new("fleet.yaml"), LoadOptions::default()).unwrap();
        assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
        loaded.fleet.unwrap()
    }

    const CONFIG: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: base}\n";
    const ROLE: &str =
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: viewer}\nrules: []\n";

    #[test]
    fn apps_overlays_namespaces_and_baselines_render_per_cluster() {
        let fleet = fleet(&[
            ("web/config.yaml", CONFIG),
            ("web-one/config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: one}\n"),
            ("baseline/role.yaml", ROLE),
        ]);
        let (rendered, problems) = render(&fleet);
        assert!(problems.is_empty(), "{problems:#?}");
        let one = &rendered[0];
        let keys: Vec<String> = one.objects.iter().map(|o| o.key.to_string()).collect();
        // Namespaces first, identities, configuration: the apply order.
        assert_eq!(keys, ["Namespace shop", "ClusterRole.rbac.authorization.k8s.io viewer", "ConfigMap shop/settings"]);
        let config = &one.objects[2];
        assert_eq!(config.object["data"]["mode"], "one", "the overlay replaced the base");
        assert_eq!(config.object["metadata"]["namespace"], "shop");
        assert_eq!(config.origin, Origin::App("web".into()));
        // `two` is not `env: prod`: the baseline only.
        let two: Vec<String> = rendered[1].objects.iter().map(|o| o.key.to_string()).collect();
        assert_eq!(two, ["ClusterRole.rbac.authorization.k8s.io viewer"]);
    }

    #[test]
    fn one_object_from_two_sources_is_a_conflict() {
        let fleet = fleet(&[
            ("web/config.yaml", CONFIG),
            ("web-one/config.yaml", CONFIG),
            ("baseline/config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\n"),
        ]);
        let (_, problems) = render(&fleet);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(problems[0].message.contains("ConfigMap shop/settings"), "{}", problems[0].message);
        assert!(problems[0].message.contains("baseline rbac and by app web"), "{}", problems[0].message);
    }

    #[test]
    fn digests_follow_content() {
        let a = serde_json::json!({"data": {"x": "1"}});
        let b = serde_json::json!({"data": {"x": "2"}});
        assert_eq!(digest(&a), digest(&a.clone()));
        assert_ne!(digest(&a), digest(&b));
        assert_eq!(digest(&a).len(), 32);
    }
}
