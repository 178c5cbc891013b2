//! What of an object belongs to one cluster only, taken out so the object
//! can be applied to another: the server's bookkeeping (`status`, `uid`,
//! `resourceVersion`, `managedFields`, …), values the server allocated (a
//! Service's cluster IP and node ports, unless someone set them), and
//! objects the cluster makes for itself (service-account token Secrets, the
//! `kube-root-ca.crt` ConfigMap). Pure: the same object always cleans the same.

use serde_json::{Map, Value};

/// Metadata fields the server keeps for itself.
const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// Annotations that record one cluster's history.
const CLUSTER_ANNOTATIONS: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "pv.kubernetes.io/provisioned-by",
    "volume.kubernetes.io/selected-node",
];

/// Resources whose objects are one cluster's own machinery or runtime
/// state (its machines, heartbeats, allocations, events): never exported.
pub const CLUSTER_STATE: &[(&str, &str)] = &[
    ("", "nodes"),
    ("", "componentstatuses"),
    ("", "events"),
    ("events.k8s.io", "events"),
    ("coordination.k8s.io", "leases"),
    ("networking.k8s.io", "ipaddresses"),
    ("storage.k8s.io", "csinodes"),
    ("storage.k8s.io", "volumeattachments"),
];

/// Whether a resource (group, plural) is left out of exports as a whole.
pub fn is_cluster_state(group: &str, plural: &str) -> bool {
    CLUSTER_STATE.contains(&(group, plural))
}

/// Why an object is left out of an export, when it is: every cluster makes
/// its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LeftOut {
    /// A token Secret the cluster makes for a service account.
    ServiceAccountToken,
    /// The CA bundle the cluster publishes into every namespace.
    RootCa,
    /// Roles, APIServices, flow control and priority classes the API
    /// server creates at start.
    Bootstrap,
    /// The API server's own `kubernetes` Service, its endpoints and range.
    ApiServerService,
    /// A namespace's `default` ServiceAccount, as the cluster made it.
    DefaultServiceAccount,
    /// Bulkhead's inventory of what it applied to this cluster: restored
    /// into another cluster it would make a plan there delete objects the
    /// other cluster's apply made.
    Inventory,
}

/// The name every inventory of `bulkhead apply` starts with (a ConfigMap
/// per fleet in `kube-system`).
pub const INVENTORY_PREFIX: &str = "bulkhead-inventory-";

impl LeftOut {
    /// The reason, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Self::ServiceAccountToken => "service-account token Secrets",
            Self::RootCa => "kube-root-ca.crt ConfigMaps",
            Self::Bootstrap => "objects the API server creates at start (bootstrap RBAC, APIServices, flow control)",
            Self::ApiServerService => "the API server's own `kubernetes` Service, endpoints and range",
            Self::DefaultServiceAccount => "`default` ServiceAccounts nobody changed",
            Self::Inventory => "Bulkhead's inventories of what `bulkhead apply` applied to this cluster",
        }
    }
}

/// Whether the cluster made the object for itself (and so makes it again).
fn made_by_the_cluster(object: &Value, group: &str, kind: &str, name: &str) -> Option<LeftOut> {
    let label = |k: &str| object.pointer("/metadata/labels").and_then(|l| l.get(k)).and_then(Value::as_str);
    let annotation = |k: &str| object.pointer("/metadata/annotations").and_then(|a| a.get(k)).and_then(Value::as_str);
    let namespace = object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default();
    match (group, kind) {
        ("", "Secret") if object["type"] == "kubernetes.io/service-account-token" => {
            return Some(LeftOut::ServiceAccountToken);
        }
        ("", "ConfigMap") if name == "kube-root-ca.crt" => return Some(LeftOut::RootCa),
        ("", "ConfigMap")
            if namespace == "kube-system"
                && name.starts_with(INVENTORY_PREFIX)
                && label("app.kubernetes.io/managed-by") == Some("bulkhead") =>
        {
            return Some(LeftOut::Inventory);
        }
        ("", "Service" | "Endpoints") | ("discovery.k8s.io", "EndpointSlice")
            if namespace == "default" && name == "kubernetes" =>
        {
            return Some(LeftOut::ApiServerService);
        }
        ("networking.k8s.io", "ServiceCIDR") if name == "kubernetes" => return Some(LeftOut::ApiServerService),
        ("scheduling.k8s.io", "PriorityClass") if name.starts_with("system-") => return Some(LeftOut::Bootstrap),
        // Kept when someone gave it pull secrets, labels or other settings.
        ("", "ServiceAccount") if name == "default" => {
            let untouched = object
                .as_object()
                .is_some_and(|o| o.keys().all(|k| matches!(k.as_str(), "apiVersion" | "kind" | "metadata")))
                && object["metadata"].as_object().is_some_and(|m| {
                    m.keys().all(|k| {
                        matches!(
                            k.as_str(),
                            "name" | "namespace" | "uid" | "resourceVersion" | "creationTimestamp" | "managedFields"
                        )
                    })
                });
            if untouched {
                return Some(LeftOut::DefaultServiceAccount);
            }
        }
        _ => {}
    }
    let bootstrap = label("kubernetes.io/bootstrapping") == Some("rbac-defaults")
        || label("kube-aggregator.kubernetes.io/automanaged").is_some()
        || annotation("apf.kubernetes.io/autoupdate-spec") == Some("true");
    bootstrap.then_some(LeftOut::Bootstrap)
}

/// `object` as another cluster should receive it, or why it is left out.
/// `kind` and `group` are the resource's (list items may lack them).
///
/// # Errors
/// The reason an object is left out.
pub fn clean(mut object: Value, group: &str, kind: &str) -> Result<Value, LeftOut> {
    let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    if let Some(why) = made_by_the_cluster(&object, group, kind, name) {
        return Err(why);
    }
    // Which fields someone set (and so are not the server's to allocate).
    let owned = owned_service_fields(&object);
    let Some(root) = object.as_object_mut() else { return Ok(object) };
    root.remove("status");
    if let Some(meta) = root.get_mut("metadata").and_then(Value::as_object_mut) {
        for f in SERVER_METADATA {
            meta.remove(*f);
        }
        strip_annotations(meta);
        if let Some(owners) = meta.get_mut("ownerReferences").and_then(Value::as_array_mut) {
            for o in owners.iter_mut().filter_map(Value::as_object_mut) {
                o.remove("uid");
            }
        }
    }
    let spec = root.get_mut("spec").and_then(Value::as_object_mut);
    match (group, kind, spec) {
        ("", "Service", Some(spec)) => clean_service(spec, &owned),
        ("", "PersistentVolume", Some(spec)) => {
            if let Some(claim) = spec.get_mut("claimRef").and_then(Value::as_object_mut) {
                claim.remove("uid");
                claim.remove("resourceVersion");
            }
        }
        ("", "Pod", Some(spec)) => {
            spec.remove("nodeName");
        }
        _ => {}
    }
    Ok(object)
}

fn strip_annotations(meta: &mut Map<String, Value>) {
    let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) else { return };
    for a in CLUSTER_ANNOTATIONS {
        annotations.remove(*a);
    }
    if annotations.is_empty() {
        meta.remove("annotations");
    }
}

/// The Service fields some manager (a person, a tool) set, read from
/// `managedFields`: values the server allocated are owned by nobody.
#[derive(Debug, Default)]
struct OwnedServiceFields {
    cluster_ip: bool,
    health_check_node_port: bool,
    /// Ports (by port number and protocol) whose nodePort someone set.
    node_ports: Vec<(i64, String)>,
}

fn owned_service_fields(object: &Value) -> OwnedServiceFields {
    let mut owned = OwnedServiceFields::default();
    let Some(entries) = object.pointer("/metadata/managedFields").and_then(Value::as_array) else { return owned };
    for entry in entries {
        let Some(spec) = entry.pointer("/fieldsV1/f:spec").and_then(Value::as_object) else { continue };
        owned.cluster_ip |= spec.contains_key("f:clusterIP") || spec.contains_key("f:clusterIPs");
        owned.health_check_node_port |= spec.contains_key("f:healthCheckNodePort");
        let Some(ports) = spec.get("f:ports").and_then(Value::as_object) else { continue };
        for (key, fields) in ports {
            // Keys name list items: k:{"port":80,"protocol":"TCP"}.
            let Some(item) = key.strip_prefix("k:") else { continue };
            let Ok(item) = serde_json::from_str::<Value>(item) else { continue };
            if fields.get("f:nodePort").is_some()
                && let Some(port) = item["port"].as_i64()
            {
                owned.node_ports.push((port, item["protocol"].as_str().unwrap_or("TCP").to_string()));
            }
        }
    }
    owned
}

fn clean_service(spec: &mut Map<String, Value>, owned: &OwnedServiceFields) {
    // A headless Service says so with "None": that is intent, not allocation.
    let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None");
    if !owned.cluster_ip && !headless {
        spec.remove("clusterIP");
        spec.remove("clusterIPs");
    }
    if !owned.health_check_node_port {
        spec.remove("healthCheckNodePort");
    }
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            let port = p.get("port").and_then(Value::as_i64).unwrap_or_default();
            let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP").to_string();
            if !owned.node_ports.contains(&(port, protocol)) {
                p.remove("nodePort");
            }
        }
    }
}

/// Where an object goes in an export tree:
/// `cluster/KIND.GROUP/NAME.yaml` or `namespaces/NS/KIND.GROUP/NAME.yaml`,
/// the kind in lower case and the group left out for the core API.
pub fn tree_path(object: &Value, group: &str, kind: &str) -> String {
    let kind = kind.to_ascii_lowercase();
    let folder = if group.is_empty() { kind } else { format!("{kind}.{group}") };
    let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("unnamed");
    match object.pointer("/metadata/namespace").and_then(Value::as_str) {
        Some(ns) if !ns.is_empty() => format!("namespaces/{ns}/{folder}/{name}.yaml"),
        _ => format!("cluster/{folder}/{name}.yaml"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn server_bookkeeping_goes_and_intent_stays() {
        let cm = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "n", "uid": "u", "resourceVersion": "9", "creationTimestamp": "t",
                         "managedFields": [{}], "labels": {"a": "b"},
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
                         "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "x", "uid": "u2"}]},
            "data": {"k": "v"}
        });
        let out = clean(cm, "", "ConfigMap").unwrap();
        assert_eq!(
            out,
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "c", "namespace": "n", "labels": {"a": "b"},
                                "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "x"}]},
                   "data": {"k": "v"}})
        );
    }

    #[test]
    fn a_services_allocated_addresses_go_unless_someone_set_them() {
        let svc = |managed: Value| {
            json!({"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "s", "namespace": "n", "managedFields": managed},
                   "spec": {"clusterIP": "10.0.0.7", "clusterIPs": ["10.0.0.7"], "type": "NodePort",
                            "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080},
                                      {"port": 81, "protocol": "TCP", "nodePort": 30081}]}})
        };
        let allocated = clean(svc(json!([])), "", "Service").unwrap();
        assert_eq!(allocated["spec"].get("clusterIP"), None);
        assert_eq!(allocated["spec"]["ports"][0].get("nodePort"), None);
        let fixed = json!([{"manager": "kubectl", "fieldsV1": {"f:spec": {"f:clusterIP": {},
            "f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {"f:nodePort": {}}}}}}]);
        let kept = clean(svc(fixed), "", "Service").unwrap();
        assert_eq!(kept["spec"]["clusterIP"], "10.0.0.7");
        assert_eq!(kept["spec"]["ports"][0]["nodePort"], 30080);
        assert_eq!(kept["spec"]["ports"][1].get("nodePort"), None);
        let headless = json!({"metadata": {"name": "h"}, "spec": {"clusterIP": "None"}});
        assert_eq!(clean(headless, "", "Service").unwrap()["spec"]["clusterIP"], "None");
    }

    #[test]
    fn objects_the_cluster_makes_for_itself_are_left_out() {
        let token = json!({"metadata": {"name": "t"}, "type": "kubernetes.io/service-account-token"});
        assert_eq!(clean(token, "", "Secret"), Err(LeftOut::ServiceAccountToken));
        assert_eq!(clean(json!({"metadata": {"name": "kube-root-ca.crt"}}), "", "ConfigMap"), Err(LeftOut::RootCa));
        let inventory = json!({"metadata": {"name": "bulkhead-inventory-prod", "namespace": "kube-system",
            "labels": {"app.kubernetes.io/managed-by": "bulkhead"}}});
        assert_eq!(clean(inventory, "", "ConfigMap"), Err(LeftOut::Inventory));
        let lookalike = json!({"metadata": {"name": "bulkhead-inventory-prod", "namespace": "shop"}});
        assert!(clean(lookalike, "", "ConfigMap").is_ok());
        let admin = json!({"metadata": {"name": "admin", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}}});
        assert_eq!(clean(admin, "rbac.authorization.k8s.io", "ClusterRole"), Err(LeftOut::Bootstrap));
        let api = json!({"metadata": {"name": "kubernetes", "namespace": "default"}, "spec": {}});
        assert_eq!(clean(api, "", "Service"), Err(LeftOut::ApiServerService));
        assert!(is_cluster_state("", "nodes") && !is_cluster_state("apps", "deployments"));
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "n", "uid": "u"}});
        assert_eq!(clean(sa, "", "ServiceAccount"), Err(LeftOut::DefaultServiceAccount));
        let pulls = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "n"},
                           "imagePullSecrets": [{"name": "registry"}]});
        assert!(clean(pulls, "", "ServiceAccount").is_ok());
        let pod = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1", "containers": []}});
        assert_eq!(clean(pod, "", "Pod").unwrap()["spec"].get("nodeName"), None);
    }

    #[test]
    fn tree_paths() {
        let ns = json!({"metadata": {"name": "web", "namespace": "shop"}});
        assert_eq!(tree_path(&ns, "apps", "Deployment"), "namespaces/shop/deployment.apps/web.yaml");
        assert_eq!(tree_path(&json!({"metadata": {"name": "shop"}}), "", "Namespace"), "cluster/namespace/shop.yaml");
    }
}
