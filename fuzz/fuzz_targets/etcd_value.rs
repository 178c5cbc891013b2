//! A value as the API server stores it in etcd, on arbitrary bytes (with
//! and without the `k8s\0` envelope): JSON or an error, never a panic; a
//! key of arbitrary bytes maps to an object's place or to nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bulkhead_etcd::value::to_json(data);
    let _ = bulkhead_etcd::registry::ObjectPath::parse(data);
    let _ = bulkhead_etcd::mvcc::KeyValue::decode(data);
    if let Ok(bulkhead_etcd::value::Stored::Protobuf { .. }) = bulkhead_etcd::value::Stored::of(data) {
        // Decoded twice, the same.
        assert_eq!(bulkhead_etcd::value::to_json(data).ok(), bulkhead_etcd::value::to_json(data).ok());
    }
});
