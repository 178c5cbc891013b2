//! Drift: live objects that no longer match what Bulkhead applied. Read
//! from a plan, so it sees what the API server sees: a field another
//! manager owns, a default the server fills in or a value a mutating
//! webhook sets is the same before and after the dry run and never shows;
//! a field Bulkhead set that someone changed does.

use bulkhead_model::manifest::ObjectKey;
use serde::Serialize;

use crate::diff::FieldChange;
use crate::plan::{Action, ClusterPlan};

/// How an object drifted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DriftKind {
    /// Fields Bulkhead set hold other values.
    Modified,
    /// Bulkhead applied it, and it is gone.
    Missing,
}

/// One drifted object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Drifted {
    /// How.
    pub kind: DriftKind,
    /// Which object.
    pub key: ObjectKey,
    /// The fields, live value first (`before`) and desired value (`after`).
    pub fields: Vec<FieldChange>,
}

/// A cluster's drift.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterDrift {
    /// The cluster.
    pub cluster: String,
    /// The drifted objects.
    pub drifted: Vec<Drifted>,
    /// Desired objects Bulkhead has not applied yet (changes of the fleet's
    /// code waiting for `apply`, not drift).
    pub pending: usize,
    /// Objects Bulkhead manages there that match.
    pub in_sync: usize,
}

/// The drift a plan shows: its changes to objects Bulkhead applied before.
pub fn of_plan(plan: &ClusterPlan) -> ClusterDrift {
    let mut drifted = Vec::new();
    let mut pending = 0;
    for c in &plan.changes {
        // An object whose desired state changed since it was applied is a
        // pending change, not drift, even if someone also changed it.
        let same_desired = plan.inventory.entries.contains_key(&c.key) && !c.desired_changed;
        match (c.action, same_desired) {
            (Action::Update, true) => {
                drifted.push(Drifted { kind: DriftKind::Modified, key: c.key.clone(), fields: c.fields.clone() })
            }
            (Action::Create, true) => {
                drifted.push(Drifted { kind: DriftKind::Missing, key: c.key.clone(), fields: Vec::new() })
            }
            (Action::Create | Action::Update, false) | (Action::Delete | Action::Orphan, _) => pending += 1,
        }
    }
    ClusterDrift { cluster: plan.cluster.clone(), drifted, pending, in_sync: plan.unchanged }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Entry, Inventory};
    use crate::plan::Change;

    fn change(action: Action, name: &str, desired_changed: bool) -> Change {
        Change {
            action,
            key: ObjectKey::new("v1", "ConfigMap", Some("shop"), name),
            api_version: "v1".into(),
            origin: None,
            resource_version: None,
            fields: Vec::new(),
            note: None,
            desired_changed,
        }
    }

    #[test]
    fn only_changes_to_what_was_applied_as_it_is_desired_are_drift() {
        let mut inventory = Inventory::default();
        for name in ["edited", "deleted", "recoded"] {
            let key = ObjectKey::new("v1", "ConfigMap", Some("shop"), name);
            inventory.entries.insert(key.clone(), Entry { api_version: "v1".into(), key, digest: "d".into() });
        }
        let plan = ClusterPlan {
            cluster: "c".into(),
            server: "s".into(),
            changes: vec![
                change(Action::Update, "edited", false),
                change(Action::Create, "deleted", false),
                change(Action::Update, "recoded", true),
                change(Action::Create, "new", false),
            ],
            unchanged: 4,
            refused: Vec::new(),
            inventory,
        };
        let drift = of_plan(&plan);
        let kinds: Vec<(DriftKind, &str)> = drift.drifted.iter().map(|d| (d.kind, d.key.name.as_str())).collect();
        assert_eq!(kinds, [(DriftKind::Modified, "edited"), (DriftKind::Missing, "deleted")]);
        assert_eq!(drift.pending, 2);
        assert_eq!(drift.in_sync, 4);
    }
}
