//! What an apply changes: the fields that differ between an object as it is
//! and as a server-side dry-run apply would leave it. Both sides come from
//! the API server (defaults filled, webhooks run), so what differs is what
//! the apply itself changes: the fields Bulkhead's field manager sets or
//! stops setting, and nothing another manager owns. Pure.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One field an apply changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    /// The field, as `spec.template.spec.containers[name=web].image`.
    pub path: String,
    /// Its value now; none when the apply adds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// Its value after; none when the apply removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// What the API server keeps for itself: bookkeeping a dry run moves on
/// its own, and status, which no apply sets.
const IGNORED: &[&str] = &[
    "status",
    "metadata.resourceVersion",
    "metadata.generation",
    "metadata.managedFields",
    "metadata.creationTimestamp",
    "metadata.uid",
    "metadata.selfLink",
];

/// The value Secrets' contents show as in plans, drift and logs.
pub const HIDDEN: &str = "(hidden)";

/// The fields that differ between `before` and `after`, in document order.
/// A Secret's `data` and `stringData` values are shown as [`HIDDEN`].
pub fn changes(before: &Value, after: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk("", Some(before), Some(after), &mut out);
    out.retain(|c| !IGNORED.iter().any(|i| c.path == *i || c.path.starts_with(&format!("{i}."))));
    if after["kind"] == "Secret" || before["kind"] == "Secret" {
        for c in &mut out {
            if c.path.starts_with("data") || c.path.starts_with("stringData") {
                let hide = |v: &mut Option<Value>| {
                    if v.is_some() {
                        *v = Some(Value::String(HIDDEN.into()));
                    }
                };
                hide(&mut c.before);
                hide(&mut c.after);
            }
        }
    }
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn walk(path: &str, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<FieldChange>) {
    match (before, after) {
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            for (k, av) in a {
                walk(&join(path, k), b.get(k), Some(av), out);
            }
            for (k, bv) in b {
                if !a.contains_key(k) {
                    walk(&join(path, k), Some(bv), None, out);
                }
            }
        }
        (Some(Value::Array(b)), Some(Value::Array(a))) => {
            if let (Some(bn), Some(an)) = (names(b), names(a)) {
                // Lists of named things (containers, ports, env, volumes):
                // matched by name, so one new entry is one change.
                for (name, av) in &an {
                    let bv = bn.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
                    walk(&format!("{path}[name={name}]"), bv, Some(av), out);
                }
                for (name, bv) in &bn {
                    if !an.iter().any(|(n, _)| n == name) {
                        walk(&format!("{path}[name={name}]"), Some(bv), None, out);
                    }
                }
            } else if a.len() == b.len() {
                for (i, (bv, av)) in b.iter().zip(a).enumerate() {
                    walk(&format!("{path}[{i}]"), Some(bv), Some(av), out);
                }
            } else {
                out.push(FieldChange { path: path.to_string(), before: before.cloned(), after: after.cloned() });
            }
        }
        (b, a) if b != a => {
            out.push(FieldChange { path: path.to_string(), before: b.cloned(), after: a.cloned() });
        }
        _ => {}
    }
}

/// A list's entries by their `name`, when every entry has a distinct one.
fn names(list: &[Value]) -> Option<Vec<(&str, &Value)>> {
    let named: Vec<(&str, &Value)> =
        list.iter().map(|v| v.get("name").and_then(Value::as_str).map(|n| (n, v))).collect::<Option<_>>()?;
    let mut seen: Vec<&str> = named.iter().map(|(n, _)| *n).collect();
    seen.sort_unstable();
    seen.dedup();
    (seen.len() == named.len() && !named.is_empty()).then_some(named)
}

/// Whether every field `desired` sets has the same value in `live`: lists
/// of equal length, entry by entry. Defaults the server filled in on `live`
/// do not matter; a value written differently from how the server stores it
/// (`cpu: 0.5` for `500m`) does, so `false` means "ask the server", never
/// "it changed".
pub fn holds(live: &Value, desired: &Value) -> bool {
    match (live, desired) {
        (Value::Object(l), Value::Object(d)) => d.iter().all(|(k, dv)| l.get(k).is_some_and(|lv| holds(lv, dv))),
        (Value::Array(l), Value::Array(d)) => l.len() == d.len() && l.iter().zip(d).all(|(lv, dv)| holds(lv, dv)),
        (l, d) => l == d,
    }
}

/// A value as the plan shows it: compact JSON, long ones cut.
pub fn show(value: Option<&Value>) -> String {
    let Some(value) = value else { return "(none)".into() };
    let text = match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    if text.chars().count() > 72 { format!("{}…", text.chars().take(71).collect::<String>()) } else { text }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn paths(changes: &[FieldChange]) -> Vec<&str> {
        changes.iter().map(|c| c.path.as_str()).collect()
    }

    #[test]
    fn named_lists_match_by_name_and_bookkeeping_is_ignored() {
        let before = json!({
            "metadata": {"resourceVersion": "1", "generation": 1, "labels": {"a": "1"}},
            "spec": {"containers": [{"name": "web", "image": "web:1"}, {"name": "log", "image": "log:1"}]},
            "status": {"ready": 1}
        });
        let after = json!({
            "metadata": {"resourceVersion": "2", "generation": 2, "labels": {"a": "1", "b": "2"}},
            "spec": {"containers": [{"name": "log", "image": "log:1"}, {"name": "web", "image": "web:2"}]},
            "status": {"ready": 0}
        });
        let c = changes(&before, &after);
        assert_eq!(paths(&c), ["metadata.labels.b", "spec.containers[name=web].image"]);
        assert_eq!(c[1].before, Some(json!("web:1")));
        assert_eq!(c[1].after, Some(json!("web:2")));
        assert!(changes(&before, &before).is_empty());
    }

    #[test]
    fn removed_fields_and_resized_lists_are_changes() {
        let before = json!({"data": {"a": "1", "b": "2"}, "args": ["x"]});
        let after = json!({"data": {"a": "1"}, "args": ["x", "y"]});
        let c = changes(&before, &after);
        assert_eq!(paths(&c), ["data.b", "args"]);
        assert_eq!(c[0].after, None);
    }

    #[test]
    fn secret_values_never_show() {
        let before = json!({"kind": "Secret", "data": {"password": "c2VjcmV0"}});
        let after = json!({"kind": "Secret", "data": {"password": "bmV3"}});
        let c = changes(&before, &after);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].before, Some(json!(HIDDEN)));
        assert_eq!(c[0].after, Some(json!(HIDDEN)));
    }

    #[test]
    fn holds_ignores_defaults_but_not_values() {
        let live = json!({"spec": {"replicas": 2, "strategy": {"type": "RollingUpdate"}, "ports": [{"port": 80, "protocol": "TCP"}]}});
        assert!(holds(&live, &json!({"spec": {"replicas": 2, "ports": [{"port": 80}]}})));
        assert!(!holds(&live, &json!({"spec": {"replicas": 3}})));
        assert!(!holds(&live, &json!({"spec": {"ports": [{"port": 80}, {"port": 81}]}})));
        assert!(!holds(&live, &json!({"spec": {"paused": true}})));
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (0i64..4).prop_map(Value::from),
            "[ab]{0,2}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[abc]", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// No change between equal values; some change between different
        /// ones (named lists, matched by name whatever their order, are
        /// tested above); an object always holds itself.
        #[test]
        fn changes_are_empty_exactly_for_equal_values(a in json_value(), b in json_value()) {
            prop_assert!(changes(&a, &a).is_empty());
            prop_assert!(holds(&a, &a));
            if a != b {
                prop_assert!(!changes(&a, &b).is_empty());
            }
        }
    }
}
