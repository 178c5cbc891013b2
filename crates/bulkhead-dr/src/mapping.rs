//! What a restore changes in each object on its way to another cluster:
//! namespaces renamed (`--namespace-map old=new`, binding subjects too) and
//! storage classes swapped (`--storage-class-map gp3=standard-rwo`). Pure.

use std::collections::BTreeMap;

use serde_json::Value;

/// The renames of a restore.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// Old namespace → new.
    pub namespaces: BTreeMap<String, String>,
    /// Old storage class → new.
    pub storage_classes: BTreeMap<String, String>,
}

/// A mapping pair that is not `old=new`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{pair}` is not an `old=new` {what} mapping")]
pub struct BadPair {
    /// The pair as given.
    pub pair: String,
    /// What it maps (`namespace`, `storage class`).
    pub what: &'static str,
}

/// Reads `old=new` pairs.
///
/// # Errors
/// When a pair lacks its `=` or a side is empty.
pub fn parse_pairs(pairs: &[String], what: &'static str) -> Result<BTreeMap<String, String>, BadPair> {
    pairs
        .iter()
        .map(|p| match p.split_once('=') {
            Some((old, new)) if !old.is_empty() && !new.is_empty() => Ok((old.to_string(), new.to_string())),
            _ => Err(BadPair { pair: p.clone(), what }),
        })
        .collect()
}

impl Mapping {
    /// `object` as the target cluster receives it; `None` when it is a
    /// StorageClass the mapping replaces with one of the target's.
    pub fn apply(&self, mut object: Value) -> Option<Value> {
        let kind = object["kind"].as_str().unwrap_or_default().to_string();
        let group = object["apiVersion"].as_str().and_then(|v| v.rsplit_once('/')).map_or("", |(g, _)| g).to_string();
        let rename = |ns: &mut Value, map: &BTreeMap<String, String>| {
            if let Some(new) = ns.as_str().and_then(|n| map.get(n)) {
                *ns = Value::String(new.clone());
            }
        };
        if let Some(ns) = object.pointer_mut("/metadata/namespace") {
            rename(ns, &self.namespaces);
        }
        match (group.as_str(), kind.as_str()) {
            ("", "Namespace") => {
                if let Some(name) = object.pointer_mut("/metadata/name") {
                    rename(name, &self.namespaces);
                }
                // The API server sets this label to the namespace's name; it follows the rename.
                if let Some(label) = object.pointer_mut("/metadata/labels/kubernetes.io~1metadata.name") {
                    rename(label, &self.namespaces);
                }
            }
            ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
                for subject in object["subjects"].as_array_mut().into_iter().flatten() {
                    if let Some(ns) = subject.get_mut("namespace") {
                        rename(ns, &self.namespaces);
                    }
                }
            }
            ("storage.k8s.io", "StorageClass") => {
                let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
                if self.storage_classes.contains_key(name) {
                    return None;
                }
            }
            ("", "PersistentVolumeClaim" | "PersistentVolume") => {
                if let Some(class) = object.pointer_mut("/spec/storageClassName") {
                    rename(class, &self.storage_classes);
                }
            }
            _ => {}
        }
        Some(object)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn namespaces_and_classes_are_renamed_everywhere_they_appear() {
        let m = Mapping {
            namespaces: parse_pairs(&["shop=shop-dr".into()], "namespace").unwrap(),
            storage_classes: parse_pairs(&["gp3=standard".into()], "storage class").unwrap(),
        };
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop"}});
        assert_eq!(m.apply(cm).unwrap()["metadata"]["namespace"], "shop-dr");
        let ns = json!({"apiVersion": "v1", "kind": "Namespace",
                        "metadata": {"name": "shop", "labels": {"kubernetes.io/metadata.name": "shop"}}});
        let ns = m.apply(ns).unwrap();
        assert_eq!(ns["metadata"]["name"], "shop-dr");
        assert_eq!(ns["metadata"]["labels"]["kubernetes.io/metadata.name"], "shop-dr");
        let rb = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                        "metadata": {"name": "r", "namespace": "shop"},
                        "subjects": [{"kind": "ServiceAccount", "name": "a", "namespace": "shop"}]});
        assert_eq!(m.apply(rb).unwrap()["subjects"][0]["namespace"], "shop-dr");
        let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                         "metadata": {"name": "d", "namespace": "shop"}, "spec": {"storageClassName": "gp3"}});
        assert_eq!(m.apply(pvc).unwrap()["spec"]["storageClassName"], "standard");
        let sc = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "gp3"}});
        assert_eq!(m.apply(sc), None);
        assert!(parse_pairs(&["nope".into()], "namespace").is_err());
    }
}
