//! Values as the API server stores them, decoded offline: built-in kinds as
//! `k8s\0` followed by a protobuf `runtime.Unknown` (type, then the object's
//! own protobuf bytes), custom resources as JSON, values encrypted at rest
//! as `k8s:enc:PROVIDER:v1:KEY:…`.
//!
//! Protobuf objects become the JSON the API server would serve, by the
//! schemas of Kubernetes' own `.proto` files (compiled into
//! `kubernetes/kubernetes.pb` by `kubernetes/generate`), with the few types
//! whose JSON is not protobuf's mapping written out: times, quantities,
//! int-or-string, raw JSON.

use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, DynamicMessage, MapKey, MessageDescriptor, ReflectMessage, Value as Field};
use serde_json::{Map, Value};

use crate::wire::{self, Fields, WireError};

/// The envelope's magic: what the API server writes before protobuf.
const PROTOBUF_MAGIC: &[u8] = b"k8s\0";
const ENCRYPTED: &[u8] = b"k8s:enc:";
/// CBOR's self-describing tag, which the API server writes before CBOR.
const CBOR_MAGIC: &[u8] = &[0xd9, 0xd9, 0xf7];

/// How a value is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored<'a> {
    /// Protobuf, with the type the envelope names.
    Protobuf {
        /// `apps/v1`.
        api_version: &'a str,
        /// `Deployment`.
        kind: &'a str,
        /// The object's protobuf bytes.
        raw: &'a [u8],
    },
    /// JSON (custom resources).
    Json,
    /// CBOR (custom resources with the `CBORServingAndStorage` gate).
    Cbor,
    /// Encrypted at rest.
    Encrypted {
        /// `aescbc`, `aesgcm`, `secretbox`, `kms`.
        provider: String,
        /// The key's name in the EncryptionConfiguration (the plugin's for KMS).
        key: String,
    },
    /// Something else.
    Unknown,
}

/// Why a value cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The envelope or the object's protobuf is malformed.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The envelope names a type this Bulkhead has no schema for.
    #[error("no schema for {0} (Kubernetes {1} built in): an aggregated API's kind, or a newer Kubernetes")]
    NoSchema(String, &'static str),
    /// The object's bytes do not decode as its type.
    #[error("a {0} that does not decode: {1}")]
    Protobuf(String, String),
    /// JSON that does not parse.
    #[error("JSON that does not parse: {0}")]
    Json(String),
    /// Encrypted at rest.
    #[error("encrypted at rest with {provider} key `{key}`: give the API server's EncryptionConfiguration to read it")]
    Encrypted {
        /// The provider.
        provider: String,
        /// The key's name.
        key: String,
    },
    /// Neither protobuf, JSON nor encrypted.
    #[error("{0}")]
    Unreadable(&'static str),
}

/// The Kubernetes release whose schemas are built in.
pub const SCHEMA_VERSION: &str = "1.36";

impl<'a> Stored<'a> {
    /// Reads the envelope (cheap: the object itself is not decoded).
    ///
    /// # Errors
    /// A protobuf envelope that is malformed.
    pub fn of(value: &'a [u8]) -> Result<Self, WireError> {
        if let Some(unknown) = value.strip_prefix(PROTOBUF_MAGIC) {
            let (mut api_version, mut kind, mut raw) = ("", "", &[][..]);
            for field in Fields::new(unknown) {
                match field? {
                    (1, v) => {
                        for f in Fields::new(wire::bytes(v)?) {
                            match f? {
                                (1, v) => api_version = utf8(wire::bytes(v)?)?,
                                (2, v) => kind = utf8(wire::bytes(v)?)?,
                                _ => {}
                            }
                        }
                    }
                    (2, v) => raw = wire::bytes(v)?,
                    _ => {}
                }
            }
            return Ok(Self::Protobuf { api_version, kind, raw });
        }
        if let Some(rest) = value.strip_prefix(ENCRYPTED) {
            let text = String::from_utf8_lossy(&rest[..rest.len().min(300)]);
            let mut parts = text.splitn(4, ':');
            let provider = parts.next().unwrap_or_default().to_string();
            let _version = parts.next();
            let key = parts.next().unwrap_or_default().to_string();
            return Ok(Self::Encrypted { provider, key });
        }
        if value.starts_with(CBOR_MAGIC) {
            return Ok(Self::Cbor);
        }
        if value.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            return Ok(Self::Json);
        }
        Ok(Self::Unknown)
    }
}

fn utf8(b: &[u8]) -> Result<&str, WireError> {
    std::str::from_utf8(b).map_err(|_| WireError("a type name that is not UTF-8"))
}

/// The schemas, decoded once.
fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        // Built from Kubernetes' own files by kubernetes/generate; a test
        // decodes it, so a bad file fails the build's tests, not a user.
        DescriptorPool::decode(&include_bytes!("../kubernetes/kubernetes.pb")[..]).unwrap_or_default()
    })
}

/// The protobuf package of an API group's types, as Kubernetes names them.
fn package(api_version: &str) -> String {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    match group {
        "" => format!("k8s.io.api.core.{version}"),
        "apiextensions.k8s.io" => format!("k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.{version}"),
        "apiregistration.k8s.io" => format!("k8s.io.kube_aggregator.pkg.apis.apiregistration.{version}"),
        "internal.apiserver.k8s.io" => format!("k8s.io.api.apiserverinternal.{version}"),
        "meta.k8s.io" => format!("k8s.io.apimachinery.pkg.apis.meta.{version}"),
        g => format!("k8s.io.api.{}.{version}", g.split('.').next().unwrap_or(g)),
    }
}

/// The object a value holds, as the JSON the API server would serve.
///
/// # Errors
/// The value is malformed, encrypted, or of a type without a schema here.
pub fn to_json(value: &[u8]) -> Result<Value, DecodeError> {
    match Stored::of(value)? {
        Stored::Protobuf { api_version, kind, raw } => {
            let name = format!("{}.{kind}", package(api_version));
            let descriptor = pool()
                .get_message_by_name(&name)
                .ok_or_else(|| DecodeError::NoSchema(format!("{api_version} {kind}"), SCHEMA_VERSION))?;
            let message = DynamicMessage::decode(descriptor, raw)
                .map_err(|e| DecodeError::Protobuf(format!("{api_version} {kind}"), e.to_string()))?;
            let mut object = Map::new();
            object.insert("apiVersion".into(), api_version.into());
            object.insert("kind".into(), kind.into());
            if let Value::Object(fields) = message_json(&message) {
                object.extend(fields);
            }
            Ok(Value::Object(object))
        }
        Stored::Json => serde_json::from_slice(value).map_err(|e| DecodeError::Json(e.to_string())),
        Stored::Cbor => Err(DecodeError::Unreadable("stored as CBOR, which this Bulkhead does not read yet")),
        Stored::Encrypted { provider, key } => Err(DecodeError::Encrypted { provider, key }),
        Stored::Unknown => Err(DecodeError::Unreadable("neither Kubernetes protobuf, JSON nor an encrypted value")),
    }
}

/// A message as Kubernetes' JSON.
fn message_json(message: &DynamicMessage) -> Value {
    let descriptor = message.descriptor();
    if let Some(special) = special_json(&descriptor, message) {
        return special;
    }
    let mut object = Map::new();
    for (field, value) in message.fields() {
        if is_unset(field.name(), value) {
            continue;
        }
        let json = field_json(value);
        if !json.is_null() {
            object.insert(json_name(&descriptor, field.name()), json);
        }
    }
    Value::Object(object)
}

/// Numbers whose zero means something (Go pointers, or fields without
/// `omitempty`): kept when zero.
const ZERO_MEANS_SOMETHING: &[&str] = &[
    "replicas",
    "terminationGracePeriodSeconds",
    "revisionHistoryLimit",
    "progressDeadlineSeconds",
    "backoffLimit",
    "backoffLimitPerIndex",
    "maxFailedIndexes",
    "parallelism",
    "completions",
    "activeDeadlineSeconds",
    "ttlSecondsAfterFinished",
    "startingDeadlineSeconds",
    "successfulJobsHistoryLimit",
    "failedJobsHistoryLimit",
    "runAsUser",
    "runAsGroup",
    "fsGroup",
    "defaultMode",
    "mode",
    "priority",
    "value",
    "expirationSeconds",
    "minReplicas",
    "weight",
    "gracePeriodSeconds",
];

/// Booleans whose `false` means something (Go pointers, most defaulting
/// to true when absent).
const FALSE_MEANS_SOMETHING: &[&str] = &[
    "automountServiceAccountToken",
    "enableServiceLinks",
    "allowPrivilegeEscalation",
    "readOnlyRootFilesystem",
    "privileged",
    "runAsNonRoot",
    "hostUsers",
    "setHostnameAsFQDN",
    "shareProcessNamespace",
    "optional",
    "immutable",
    "suspend",
    "manualSelector",
    "allowVolumeExpansion",
    "allocateLoadBalancerNodePorts",
    "served",
    "storage",
    "preserveUnknownFields",
];

/// Whether a field Go's protobuf code wrote only because it always writes
/// plain (non-pointer) fields: its zero value, which Kubernetes' JSON
/// leaves out (`omitempty`). The wire cannot tell a pointer's zero from
/// such a field, so the pointers whose zero matters are listed above.
fn is_unset(name: &str, value: &Field) -> bool {
    match value {
        Field::String(s) => s.is_empty() && name != "storageClassName",
        Field::Bool(b) => !b && !FALSE_MEANS_SOMETHING.contains(&name),
        Field::I32(0) | Field::I64(0) | Field::U32(0) | Field::U64(0) => !ZERO_MEANS_SOMETHING.contains(&name),
        Field::Bytes(b) => b.is_empty(),
        Field::List(l) => l.is_empty(),
        Field::Map(m) => m.is_empty(),
        _ => false,
    }
}

/// Field names are the JSON names, except where Go's JSON tags differ.
fn json_name(message: &MessageDescriptor, field: &str) -> String {
    if message.name() == "JSONSchemaProps" {
        let renamed = match field {
            "ref" => Some("$ref"),
            "schema" => Some("$schema"),
            "xKubernetesPreserveUnknownFields" => Some("x-kubernetes-preserve-unknown-fields"),
            "xKubernetesEmbeddedResource" => Some("x-kubernetes-embedded-resource"),
            "xKubernetesIntOrString" => Some("x-kubernetes-int-or-string"),
            "xKubernetesListMapKeys" => Some("x-kubernetes-list-map-keys"),
            "xKubernetesListType" => Some("x-kubernetes-list-type"),
            "xKubernetesMapType" => Some("x-kubernetes-map-type"),
            "xKubernetesValidations" => Some("x-kubernetes-validations"),
            _ => None,
        };
        if let Some(r) = renamed {
            return r.to_string();
        }
    }
    field.to_string()
}

fn field_json(value: &Field) -> Value {
    use base64::Engine as _;
    match value {
        Field::Bool(b) => Value::Bool(*b),
        Field::I32(n) => (*n).into(),
        Field::I64(n) => (*n).into(),
        Field::U32(n) => (*n).into(),
        Field::U64(n) => (*n).into(),
        Field::F32(n) => f64::from(*n).into(),
        Field::F64(n) => (*n).into(),
        Field::String(s) => Value::String(s.clone()),
        Field::Bytes(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Field::EnumNumber(n) => (*n).into(),
        Field::Message(m) => message_json(m),
        Field::List(items) => Value::Array(items.iter().map(field_json).collect()),
        Field::Map(entries) => {
            let mut sorted: Vec<(&MapKey, &Field)> = entries.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(sorted.into_iter().map(|(k, v)| (map_key(k), field_json(v))).collect())
        }
    }
}

fn map_key(key: &MapKey) -> String {
    match key {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

/// Types whose JSON is not the protobuf message's shape.
fn special_json(descriptor: &MessageDescriptor, message: &DynamicMessage) -> Option<Value> {
    let get = |name: &str| message.get_field_by_name(name).map(std::borrow::Cow::into_owned);
    let has = |name: &str| message.has_field_by_name(name);
    let string = |name: &str| get(name).and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    let raw_json = |name: &str| {
        let bytes = get(name).and_then(|v| v.as_bytes().cloned()).unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    match descriptor.full_name() {
        "k8s.io.apimachinery.pkg.apis.meta.v1.Time" => Some(time(message, false)),
        "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime" => Some(time(message, true)),
        "k8s.io.apimachinery.pkg.api.resource.Quantity" => Some(Value::String(string("string"))),
        "k8s.io.apimachinery.pkg.util.intstr.IntOrString" => {
            let is_string = get("type").and_then(|v| v.as_i64()).unwrap_or(0) == 1;
            Some(if is_string {
                Value::String(string("strVal"))
            } else {
                get("intVal").and_then(|v| v.as_i32()).unwrap_or(0).into()
            })
        }
        "k8s.io.apimachinery.pkg.apis.meta.v1.Duration" => {
            Some(Value::String(go_duration(get("duration").and_then(|v| v.as_i64()).unwrap_or(0))))
        }
        "k8s.io.apimachinery.pkg.runtime.RawExtension" => Some(raw_json("raw")),
        "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1" => Some(raw_json("Raw")),
        "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSON" => Some(raw_json("raw")),
        "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool" => Some(if has("schema") {
            field_json(&get("schema")?)
        } else {
            Value::Bool(get("allows").and_then(|v| v.as_bool()).unwrap_or(false))
        }),
        "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray" => {
            Some(if has("schema") { field_json(&get("schema")?) } else { field_json(&get("jSONSchemas")?) })
        }
        "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray" => {
            Some(if has("schema") { field_json(&get("schema")?) } else { field_json(&get("property")?) })
        }
        _ => None,
    }
}

/// `metav1.Time` (seconds) and `MicroTime` (microseconds) as RFC 3339;
/// the zero time (Go's JSON: `null`) as nothing.
fn time(message: &DynamicMessage, micro: bool) -> Value {
    let seconds = message.get_field_by_name("seconds").and_then(|v| v.as_i64()).unwrap_or(0);
    let nanos = message.get_field_by_name("nanos").and_then(|v| v.as_i32()).unwrap_or(0);
    if seconds == 0 && nanos == 0 {
        return Value::Null;
    }
    let at = chrono::DateTime::from_timestamp(seconds, u32::try_from(nanos).unwrap_or(0)).unwrap_or_default();
    let format = if micro { "%Y-%m-%dT%H:%M:%S%.6fZ" } else { "%Y-%m-%dT%H:%M:%SZ" };
    Value::String(at.format(format).to_string())
}

/// Go's `time.Duration.String()` for whole parts (`1h0m0s`, `30s`, `1.5s`).
fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    let (h, m) = (n / 3_600_000_000_000, n / 60_000_000_000 % 60);
    let s = n % 60_000_000_000;
    let seconds = if s.is_multiple_of(1_000_000_000) {
        format!("{}s", s / 1_000_000_000)
    } else {
        let text = format!("{}.{:09}", s / 1_000_000_000, s % 1_000_000_000);
        format!("{}s", text.trim_end_matches('0'))
    };
    match (h, m) {
        (0, 0) => format!("{sign}{seconds}"),
        (0, m) => format!("{sign}{m}m{seconds}"),
        (h, m) => format!("{sign}{h}h{m}m{seconds}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_schemas_decode() {
        assert!(pool().get_message_by_name("k8s.io.api.apps.v1.Deployment").is_some());
        assert!(pool().get_message_by_name("k8s.io.api.core.v1.ConfigMap").is_some());
        assert!(
            pool()
                .get_message_by_name(
                    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"
                )
                .is_some()
        );
        assert!(pool().get_message_by_name("k8s.io.kube_aggregator.pkg.apis.apiregistration.v1.APIService").is_some());
    }

    #[test]
    fn packages_follow_the_groups() {
        assert_eq!(package("v1"), "k8s.io.api.core.v1");
        assert_eq!(package("apps/v1"), "k8s.io.api.apps.v1");
        assert_eq!(package("rbac.authorization.k8s.io/v1"), "k8s.io.api.rbac.v1");
        assert_eq!(package("networking.k8s.io/v1"), "k8s.io.api.networking.v1");
    }

    #[test]
    fn durations_read_as_go_writes_them() {
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(30_000_000_000), "30s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
    }

    #[test]
    fn encrypted_values_say_their_provider_and_key() {
        assert_eq!(
            Stored::of(b"k8s:enc:aescbc:v1:key1:\x01\x02").unwrap(),
            Stored::Encrypted { provider: "aescbc".into(), key: "key1".into() }
        );
        assert!(matches!(to_json(b"k8s:enc:kms:v2:\x01"), Err(DecodeError::Encrypted { .. })));
        assert_eq!(Stored::of(b" {\"a\":1}").unwrap(), Stored::Json);
        assert_eq!(Stored::of(b"\x00\x01").unwrap(), Stored::Unknown);
    }
}
