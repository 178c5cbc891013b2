//! A value as the API server stores it in etcd, on arbitrary bytes (with
//! and without the `k8s\0` envelope, and as if encrypted at rest): JSON,
//! plaintext or an error, never a panic; a key of arbitrary bytes maps to
//! an object's place or to nothing.
#![no_main]

use std::sync::OnceLock;

use bulkhead_etcd::encryption::Keys;
use libfuzzer_sys::fuzz_target;

const CONFIG: &str = "kind: EncryptionConfiguration\nresources:\n  - providers:\n      - aescbc: {keys: [{name: k, secret: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=}]}\n      - aesgcm: {keys: [{name: k, secret: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=}]}\n      - secretbox: {keys: [{name: k, secret: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=}]}\n";

fuzz_target!(|data: &[u8]| {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    let keys = KEYS.get_or_init(|| Keys::from_config(CONFIG).expect("the fuzz keys"));
    let _ = bulkhead_etcd::value::to_json(data);
    let _ = bulkhead_etcd::registry::ObjectPath::parse(data);
    let _ = bulkhead_etcd::mvcc::KeyValue::decode(data);
    for provider in ["aescbc", "aesgcm", "secretbox"] {
        let mut value = format!("k8s:enc:{provider}:v1:k:").into_bytes();
        value.extend_from_slice(data);
        let _ = keys.decrypt(b"/registry/secrets/ns/name", &value);
    }
    if let Ok(bulkhead_etcd::value::Stored::Protobuf { .. }) = bulkhead_etcd::value::Stored::of(data) {
        // Decoded twice, the same.
        assert_eq!(bulkhead_etcd::value::to_json(data).ok(), bulkhead_etcd::value::to_json(data).ok());
    }
});
