//! What Bulkhead applied to a cluster, kept in the cluster itself (a
//! ConfigMap), so that any machine running `bulkhead plan` knows what it
//! may delete: an object that leaves the fleet is deleted only if the
//! inventory holds it, and objects Bulkhead never applied are never touched.
//!
//! Exports and backups leave it out (`bulkhead_kube::clean`): restored into
//! another cluster it would make a plan there delete that cluster's objects.
//!
//! Each entry is `[apiVersion, kind, namespace, name, digest]` (the digest
//! of the object as applied): about 100 bytes, so a ConfigMap's 1 MiB holds
//! some 10,000 objects per cluster.

use std::collections::BTreeMap;

use bulkhead_kube::Cluster;
use bulkhead_model::manifest::ObjectKey;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{ObjectMeta, PostParams};
use serde::{Deserialize, Serialize};

use crate::Error;

/// The namespace of the inventory: one every cluster has.
pub const NAMESPACE: &str = "kube-system";

/// The inventory ConfigMap's name for `fleet`: one per fleet, so two fleets
/// sharing a cluster (or a test fleet beside production) never plan to
/// delete each other's objects.
pub fn name(fleet: &str) -> String {
    format!("{}{fleet}", bulkhead_kube::clean::INVENTORY_PREFIX)
}
/// Its data key.
const KEY: &str = "objects";

/// One object Bulkhead applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// The `apiVersion` it was applied as (deletes use it).
    pub api_version: String,
    /// Its identity.
    pub key: ObjectKey,
    /// The digest of the object as applied.
    pub digest: String,
}

/// A cluster's inventory as read, with the version to write it back over.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    /// The ConfigMap's resourceVersion; none when there is no inventory yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// The entries, by key (a list in JSON: keys are not strings).
    #[serde(with = "as_list")]
    pub entries: BTreeMap<ObjectKey, Entry>,
}

mod as_list {
    use std::collections::BTreeMap;

    use bulkhead_model::manifest::ObjectKey;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Entry;

    pub fn serialize<S: Serializer>(map: &BTreeMap<ObjectKey, Entry>, s: S) -> Result<S::Ok, S::Error> {
        map.values().collect::<Vec<_>>().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<ObjectKey, Entry>, D::Error> {
        Ok(Vec::<Entry>::deserialize(d)?.into_iter().map(|e| (e.key.clone(), e)).collect())
    }
}

type Row = (String, String, String, String, String);

impl Inventory {
    fn encode(&self) -> String {
        let rows: Vec<Row> = self
            .entries
            .values()
            .map(|e| {
                let ns = e.key.namespace.clone().unwrap_or_default();
                (e.api_version.clone(), e.key.kind.clone(), ns, e.key.name.clone(), e.digest.clone())
            })
            .collect();
        serde_json::to_string(&rows).unwrap_or_default()
    }

    fn decode(text: &str) -> Result<BTreeMap<ObjectKey, Entry>, serde_json::Error> {
        let rows: Vec<Row> = serde_json::from_str(text)?;
        Ok(rows
            .into_iter()
            .map(|(api_version, kind, ns, name, digest)| {
                let key = ObjectKey::new(&api_version, &kind, Some(&ns), &name);
                (key.clone(), Entry { api_version, key, digest })
            })
            .collect())
    }
}

fn location(fleet: &str) -> String {
    format!("ConfigMap {NAMESPACE}/{}", name(fleet))
}

/// Reads a cluster's inventory; an empty one when Bulkhead never applied there.
///
/// # Errors
/// When the cluster cannot be read or the inventory is not Bulkhead's format.
pub async fn read(cluster: &Cluster, fleet: &str) -> Result<Inventory, Error> {
    let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), NAMESPACE);
    let Some(map) = cluster.call("read the inventory", api.get_opt(&name(fleet))).await? else {
        return Ok(Inventory::default());
    };
    let text = map.data.as_ref().and_then(|d| d.get(KEY)).map_or("[]", String::as_str);
    let entries = Inventory::decode(text).map_err(|e| Error::Inventory {
        cluster: cluster.name.clone(),
        location: location(fleet),
        why: format!("is not readable ({e}); delete it only if nothing in the cluster was applied by Bulkhead"),
    })?;
    Ok(Inventory { resource_version: map.metadata.resource_version, entries })
}

/// Writes `inventory` over the version it was read at: when someone else
/// wrote it in between (another apply), this fails rather than losing
/// their entries. Returns the inventory with its new version.
///
/// # Errors
/// When the cluster refuses, or the inventory changed since it was read.
pub async fn write(cluster: &Cluster, fleet: &str, inventory: &Inventory) -> Result<Inventory, Error> {
    let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), NAMESPACE);
    let map = ConfigMap {
        metadata: ObjectMeta {
            name: Some(name(fleet)),
            namespace: Some(NAMESPACE.into()),
            resource_version: inventory.resource_version.clone(),
            labels: Some([("app.kubernetes.io/managed-by".to_string(), "bulkhead".to_string())].into()),
            ..Default::default()
        },
        data: Some([(KEY.to_string(), inventory.encode())].into()),
        ..Default::default()
    };
    let params = PostParams::default();
    let written = match &inventory.resource_version {
        None => cluster.call("create the inventory", api.create(&params, &map)).await,
        Some(_) => cluster.call("write the inventory", api.replace(&name(fleet), &params, &map)).await,
    };
    let written = written.map_err(|e| match &e {
        bulkhead_kube::Error::Api { source: kube::Error::Api(status), .. } if status.code == 409 => Error::Changed {
            cluster: cluster.name.clone(),
            why: format!("another apply wrote the inventory ({}) meanwhile; plan again", location(fleet)),
        },
        _ => Error::Kube(e),
    })?;
    Ok(Inventory { resource_version: written.metadata.resource_version, entries: inventory.entries.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_through_their_text() {
        let mut inventory = Inventory::default();
        for (v, kind, ns, name) in [("apps/v1", "Deployment", Some("shop"), "web"), ("v1", "Namespace", None, "shop")] {
            let key = ObjectKey::new(v, kind, ns, name);
            inventory.entries.insert(key.clone(), Entry { api_version: v.into(), key, digest: "ab".into() });
        }
        let text = inventory.encode();
        assert_eq!(Inventory::decode(&text).unwrap(), inventory.entries);
        assert!(Inventory::decode("{not json").is_err());
        let json = serde_json::to_string(&inventory).unwrap();
        assert_eq!(serde_json::from_str::<Inventory>(&json).unwrap(), inventory);
    }
}
