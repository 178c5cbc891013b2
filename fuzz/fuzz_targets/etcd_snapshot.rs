//! An etcd snapshot (a bbolt file) on arbitrary bytes: opened, its `key`
//! bucket walked, its objects at the newest revision gathered; an error or
//! a state, never a panic, an endless walk or a read outside the input.
#![no_main]

use bulkhead_etcd::file::Snapshot;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(snapshot) = Snapshot::from_vec(data.to_vec(), true) else { return };
    if let Ok(state) = snapshot.state(None) {
        assert!(state.objects.len() as u64 <= state.entries);
        for object in state.objects.values() {
            let _ = bulkhead_etcd::registry::ObjectPath::parse(object.kv.key);
            let _ = bulkhead_etcd::value::Stored::of(object.kv.value);
        }
    }
    let _ = snapshot.db().bucket_names();
});
