//! Where an object sits in a backup snapshot, and back:
//! `RESOURCE[.GROUP]/NAMESPACE/NAME.yaml` for namespaced objects and
//! `RESOURCE[.GROUP]/NAME.yaml` for cluster-scoped ones, under
//! `/<cluster>`. Resource first, so a resource's objects, listed in the API
//! server's (namespace, name) order, are already in path order. Pure.

use bulkhead_model::SourceFile;
use bulkhead_model::yaml::{Limits, ScalarSchema, parse_with};
use serde_json::Value;

/// The path of `object` of resource `folder` (`deployments.apps`), as components.
pub fn path_of(folder: &str, object: &Value) -> Vec<String> {
    let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("unnamed");
    let mut path = vec![folder.to_string()];
    if let Some(ns) = object.pointer("/metadata/namespace").and_then(Value::as_str).filter(|n| !n.is_empty()) {
        path.push(ns.to_string());
    }
    path.push(format!("{name}.yaml"));
    path
}

/// Where a file of a snapshot sits: its resource, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Place {
    /// `deployments.apps`.
    pub resource: String,
    /// Its namespace; none for cluster-scoped objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
}

/// The place of a snapshot's file from its path (`/<cluster>/RESOURCE/NS/NAME.yaml`,
/// with or without the leading slash); `None` when the path is not one
/// Bulkhead writes.
pub fn place_of(path: &str) -> Option<Place> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (resource, namespace, file) = match parts.as_slice() {
        [_cluster, resource, file] => (*resource, None, *file),
        [_cluster, resource, ns, file] => (*resource, Some((*ns).to_string()), *file),
        _ => return None,
    };
    let name = file.strip_suffix(".yaml").filter(|n| !n.is_empty())?;
    Some(Place { resource: resource.to_string(), namespace, name: name.to_string() })
}

/// An object as the YAML stored in a snapshot (strings YAML 1.1 would
/// misread are quoted, so `restic dump` output applies with kubectl as is).
///
/// # Errors
/// When the object cannot be written (it always can: it came from JSON).
pub fn to_yaml(object: &Value) -> Result<String, serde_saphyr::ser::Error> {
    serde_saphyr::to_string(object)
}

/// A file of a snapshot that is not one Kubernetes object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {why}")]
pub struct BadObject {
    /// The file's path in the snapshot.
    pub path: String,
    /// What is wrong with it.
    pub why: String,
}

/// Reads a file of a snapshot back into an object.
///
/// # Errors
/// When the file is not one YAML document holding an object with
/// `apiVersion`, `kind` and `metadata.name`.
pub fn from_yaml(path: &str, bytes: &[u8]) -> Result<Value, BadObject> {
    let bad = |why: String| BadObject { path: path.to_string(), why };
    let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8".into()))?;
    let file = SourceFile::new(path, text);
    let docs = parse_with(&file, Limits::default(), ScalarSchema::Kubernetes).map_err(|d| bad(d.message))?;
    let [doc] = docs.docs.as_slice() else {
        return Err(bad(format!("{} documents, not one", docs.docs.len())));
    };
    let object = doc.to_json();
    let ok = object["apiVersion"].is_string()
        && object["kind"].is_string()
        && object.pointer("/metadata/name").is_some_and(Value::is_string);
    if ok { Ok(object) } else { Err(bad("not a Kubernetes object".into())) }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn paths_put_the_resource_first() {
        let cm = json!({"metadata": {"name": "c", "namespace": "shop"}});
        assert_eq!(path_of("configmaps", &cm), ["configmaps", "shop", "c.yaml"]);
        assert_eq!(path_of("namespaces", &json!({"metadata": {"name": "shop"}})), ["namespaces", "shop.yaml"]);
    }

    #[test]
    fn places_are_read_back_from_paths() {
        let cm = json!({"metadata": {"name": "c", "namespace": "shop"}});
        let path = format!("/aws/{}", path_of("configmaps", &cm).join("/"));
        let place = place_of(&path).unwrap();
        assert_eq!(
            (place.resource.as_str(), place.namespace.as_deref(), place.name.as_str()),
            ("configmaps", Some("shop"), "c")
        );
        let ns = place_of("aws/namespaces/shop.yaml").unwrap();
        assert_eq!((ns.namespace, ns.name.as_str()), (None, "shop"));
        for odd in ["", "/", "aws/configmaps", "aws/configmaps/shop/c.txt", "a/b/c/d/e.yaml", "aws/configmaps/.yaml"] {
            assert_eq!(place_of(odd), None, "{odd}");
        }
    }

    #[test]
    fn objects_round_trip_through_yaml() {
        let o = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                       "data": {"a": "yes", "b": "0644", "c": "1_000", "d": "~", "e": "multi\nline"}});
        assert_eq!(from_yaml("x.yaml", to_yaml(&o).unwrap().as_bytes()).unwrap(), o);
        assert!(from_yaml("x.yaml", b"a: 1\n").is_err());
        assert!(from_yaml("x.yaml", b"--- {}\n--- {}\n").is_err());
    }

    proptest! {
        #[test]
        fn any_string_data_round_trips(values in proptest::collection::btree_map("[a-z]{1,8}", "\\PC{0,20}", 0..6)) {
            let o = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": values});
            prop_assert_eq!(from_yaml("x.yaml", to_yaml(&o).unwrap().as_bytes()).unwrap(), o);
        }

        #[test]
        fn any_bytes_read_or_say_why(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = from_yaml("x.yaml", &bytes);
        }
    }
}
