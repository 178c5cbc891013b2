//! Two snapshots compared object by object: which objects were added,
//! removed or changed, and which of a changed object's fields differ. Pure:
//! the repository says which files differ, this says what that means.

use bulkhead_repository::{Change, Difference};
use serde::Serialize;

use crate::layout::{from_yaml, place_of};
use crate::restore::changed_fields;

/// One object that differs between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectChange {
    /// Its kind (from the object; else its resource folder).
    pub kind: String,
    /// Its namespace, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
    /// Added, removed or changed.
    pub change: Change,
    /// For a changed object: the fields that differ, as dotted paths.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// Its path in the snapshots.
    pub path: String,
}

/// The differing files as objects, in the order given (path order).
pub fn object_changes(differences: &[Difference]) -> Vec<ObjectChange> {
    differences
        .iter()
        .map(|d| {
            let read = |bytes: &Option<Vec<u8>>| bytes.as_deref().and_then(|b| from_yaml(&d.path, b).ok());
            let (before, after) = (read(&d.before), read(&d.after));
            let place = place_of(&d.path);
            let object = after.as_ref().or(before.as_ref());
            let text =
                |pointer: &str| object.and_then(|o| o.pointer(pointer)).and_then(|v| v.as_str()).map(str::to_string);
            let fields = match (&before, &after) {
                (Some(b), Some(a)) => {
                    let mut fields = changed_fields(b, b, a);
                    fields.extend(changed_fields(a, b, a));
                    fields.sort();
                    fields.dedup();
                    fields
                }
                // Unreadable on a side: the file changed, the fields cannot be told.
                _ if d.change == Change::Changed => vec!["(not readable as an object)".to_string()],
                _ => Vec::new(),
            };
            ObjectChange {
                kind: text("/kind").or_else(|| place.as_ref().map(|p| p.resource.clone())).unwrap_or_default(),
                namespace: text("/metadata/namespace").or_else(|| place.as_ref().and_then(|p| p.namespace.clone())),
                name: text("/metadata/name")
                    .or_else(|| place.as_ref().map(|p| p.name.clone()))
                    .unwrap_or_else(|| d.path.clone()),
                change: d.change,
                fields,
                path: d.path.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::layout::to_yaml;

    fn yaml(v: serde_json::Value) -> Option<Vec<u8>> {
        Some(to_yaml(&v).unwrap().into_bytes())
    }

    #[test]
    fn a_changed_object_names_the_fields_that_differ_both_ways() {
        let before = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop"},
                            "data": {"a": "1", "gone": "x"}});
        let after = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop"},
                           "data": {"a": "2", "new": "y"}});
        let d = Difference {
            path: "aws/configmaps/shop/c.yaml".into(),
            change: Change::Changed,
            before: yaml(before),
            after: yaml(after),
        };
        let c = &object_changes(&[d])[0];
        assert_eq!((c.kind.as_str(), c.namespace.as_deref(), c.name.as_str()), ("ConfigMap", Some("shop"), "c"));
        assert_eq!(c.fields, ["data.a", "data.gone", "data.new"]);
    }

    #[test]
    fn added_and_removed_objects_carry_no_fields_and_unreadable_ones_their_path() {
        let cm = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "shop"}});
        let added =
            Difference { path: "aws/secrets/shop/s.yaml".into(), change: Change::Added, before: None, after: yaml(cm) };
        let broken = Difference {
            path: "aws/configmaps/shop/x.yaml".into(),
            change: Change::Changed,
            before: Some(b"not: [yaml".to_vec()),
            after: Some(b"{}".to_vec()),
        };
        let changes = object_changes(&[added, broken]);
        assert_eq!((changes[0].kind.as_str(), changes[0].fields.len()), ("Secret", 0));
        assert_eq!((changes[1].kind.as_str(), changes[1].name.as_str()), ("configmaps", "x"));
        assert_eq!(changes[1].fields, ["(not readable as an object)"]);
    }
}
