//! Property tests of the offline readers (untrusted input): what the bbolt
//! writer writes, the reader reads back; damaged files and messages are
//! errors, never panics or endless walks.

use std::collections::BTreeMap;
use std::io::Cursor;

use bulkhead_etcd::bbolt::writer::Writer;
use bulkhead_etcd::bbolt::{Db, FormatError};
use bulkhead_etcd::file::Snapshot;
use bulkhead_etcd::mvcc::{KeyValue, Revision, RevisionKey};
use proptest::prelude::*;

type Buckets = BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, Vec<u8>>>;

fn write(buckets: &Buckets, page_size: usize) -> Vec<u8> {
    let mut writer = Writer::new(Cursor::new(Vec::new()), page_size).unwrap();
    let mut roots = Vec::new();
    for (name, entries) in buckets {
        let root = writer.bucket(entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))).unwrap();
        roots.push((name.as_slice(), root));
    }
    writer.finish(&roots).unwrap().into_inner()
}

fn read(db: &Db) -> Result<Buckets, FormatError> {
    let mut out = Buckets::new();
    for name in db.bucket_names()? {
        let mut entries = BTreeMap::new();
        db.bucket(&name)?.unwrap().for_each(|e| {
            entries.insert(e.key.to_vec(), e.value.to_vec());
            Ok(())
        })?;
        out.insert(name, entries);
    }
    Ok(out)
}

fn buckets() -> impl Strategy<Value = Buckets> {
    let value = prop_oneof![
        8 => proptest::collection::vec(any::<u8>(), 0..64),
        1 => proptest::collection::vec(any::<u8>(), 3000..9000),
    ];
    let entries = proptest::collection::btree_map(proptest::collection::vec(any::<u8>(), 1..24), value, 0..300);
    proptest::collection::btree_map(proptest::collection::vec(b'a'..=b'z', 1..8), entries, 1..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn what_is_written_reads_back(buckets in buckets(), big in any::<bool>()) {
        let page_size = if big { 16384 } else { 4096 };
        let db = Db::from_vec(write(&buckets, page_size), 0).unwrap();
        prop_assert_eq!(db.page_size(), page_size);
        prop_assert_eq!(read(&db).unwrap(), buckets.clone());
        for (name, entries) in &buckets {
            let bucket = db.bucket(name).unwrap().unwrap();
            for (k, v) in entries.iter().step_by(7) {
                prop_assert_eq!(bucket.get(k).unwrap(), Some(v.as_slice()));
            }
        }
    }

    #[test]
    fn damage_is_an_error_never_a_panic(buckets in buckets(), flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16), cut in any::<prop::sample::Index>(), truncate in any::<bool>()) {
        let mut bytes = write(&buckets, 4096);
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= byte | 1;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        if let Ok(db) = Db::from_vec(bytes.clone(), 0) {
            let _ = read(&db);
        }
        let _ = Snapshot::from_vec(bytes, true).map(|s| s.state(None).map(|st| st.objects.len()));
    }

    #[test]
    fn key_values_round_trip(key in proptest::collection::vec(any::<u8>(), 0..40), value in proptest::collection::vec(any::<u8>(), 0..200), c in any::<i64>(), m in any::<i64>(), v in any::<i64>(), l in any::<i64>()) {
        let kv = KeyValue { key: &key, create_revision: c, mod_revision: m, version: v, value: &value, lease: l };
        let encoded = kv.encode();
        prop_assert_eq!(KeyValue::decode(&encoded).unwrap(), kv);
    }

    #[test]
    fn any_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = KeyValue::decode(&bytes);
        let _ = RevisionKey::decode(&bytes);
        let _ = bulkhead_etcd::value::to_json(&bytes);
        let mut enveloped = b"k8s\0".to_vec();
        enveloped.extend_from_slice(&bytes);
        let _ = bulkhead_etcd::value::to_json(&enveloped);
    }

    #[test]
    fn revision_keys_round_trip(main in 0i64.., sub in 0i64.., tombstone in any::<bool>()) {
        let key = RevisionKey { revision: Revision { main, sub }, tombstone };
        prop_assert_eq!(RevisionKey::decode(&key.encode()).unwrap(), key);
    }
}

/// A small etcd-like database: the `key` bucket with revisions, `meta`.
fn etcd_like(history: &[(i64, bool, &str, &str)], compacted: Option<i64>) -> Vec<u8> {
    let mut buckets = Buckets::new();
    let mut keys = BTreeMap::new();
    for &(main, tombstone, key, value) in history {
        let rk = RevisionKey { revision: Revision { main, sub: 0 }, tombstone };
        let kv = KeyValue { key: key.as_bytes(), mod_revision: main, value: value.as_bytes(), ..KeyValue::default() };
        keys.insert(rk.encode(), kv.encode());
    }
    buckets.insert(b"key".to_vec(), keys);
    let mut meta = BTreeMap::new();
    if let Some(c) = compacted {
        meta.insert(
            b"finishedCompactRev".to_vec(),
            RevisionKey { revision: Revision { main: c, sub: 0 }, tombstone: false }.encode(),
        );
    }
    buckets.insert(b"meta".to_vec(), meta);
    write(&buckets, 4096)
}

#[test]
fn the_state_at_a_revision_has_what_existed_then() {
    let bytes = etcd_like(
        &[
            (2, false, "/registry/a", "1"),
            (3, false, "/registry/b", "1"),
            (4, true, "/registry/a", ""),
            (5, false, "/registry/c", "1"),
            (6, false, "/registry/b", "2"),
        ],
        None,
    );
    let snapshot = Snapshot::from_vec(bytes, true).unwrap();
    let keys = |at| {
        let state = snapshot.state(at).unwrap();
        let mut k: Vec<(String, i64)> =
            state.objects.values().map(|o| (String::from_utf8_lossy(o.kv.key).into_owned(), o.revision.main)).collect();
        k.sort();
        k
    };
    assert_eq!(keys(Some(3)), [("/registry/a".into(), 2), ("/registry/b".into(), 3)]);
    assert_eq!(keys(Some(4)), [("/registry/b".into(), 3)]);
    assert_eq!(keys(None), [("/registry/b".into(), 6), ("/registry/c".into(), 5)]);
    let err = snapshot.state(Some(9)).unwrap_err().to_string();
    assert!(err.contains("newest revision is 6"), "{err}");
}

#[test]
fn compacted_revisions_are_refused() {
    let snapshot =
        Snapshot::from_vec(etcd_like(&[(5, false, "/registry/a", "1"), (7, false, "/registry/a", "2")], Some(5)), true)
            .unwrap();
    let err = snapshot.state(Some(3)).unwrap_err().to_string();
    assert!(err.contains("compacted away") && err.contains("from revision 5"), "{err}");
}

#[test]
fn a_bbolt_file_without_a_key_bucket_is_not_etcd() {
    let mut buckets = Buckets::new();
    buckets.insert(b"other".to_vec(), BTreeMap::new());
    let err = Snapshot::from_vec(write(&buckets, 4096), true).err().unwrap().to_string();
    assert!(err.contains("not an etcd snapshot"), "{err}");
    let err = Snapshot::from_vec(b"SQLite format 3\0".repeat(300), true).err().unwrap().to_string();
    assert!(err.contains("not a bbolt database"), "{err}");
}

#[test]
fn a_trailer_that_does_not_match_is_refused() {
    use sha2::Digest as _;
    let mut bytes = etcd_like(&[(2, false, "/registry/a", "1")], None);
    let sum = sha2::Sha256::digest(&bytes);
    let mut good = bytes.clone();
    good.extend_from_slice(&sum);
    assert!(Snapshot::from_vec(good, true).unwrap().had_trailer);
    bytes[5000] ^= 1;
    bytes.extend_from_slice(&sum);
    let err = Snapshot::from_vec(bytes, true).err().unwrap().to_string();
    assert!(err.contains("SHA-256"), "{err}");
}

#[test]
fn a_page_beyond_the_file_is_named() {
    let bytes = etcd_like(&[(2, false, "/registry/a", "1")], None);
    // Cut the file after the meta pages: the root points beyond the end.
    let err = Db::from_vec(bytes[..3 * 4096].to_vec(), 0).err().unwrap().to_string();
    assert!(err.contains("truncated"), "{err}");
}

/// A ConfigMap as the API server stores it: `k8s\0`, then runtime.Unknown.
fn stored_configmap(name: &str, data: &str) -> Vec<u8> {
    use bulkhead_etcd::wire::put_bytes;
    let mut meta = Vec::new();
    put_bytes(&mut meta, 1, name.as_bytes());
    put_bytes(&mut meta, 3, b"default");
    let mut entry = Vec::new();
    put_bytes(&mut entry, 1, b"key");
    put_bytes(&mut entry, 2, data.as_bytes());
    let mut cm = Vec::new();
    put_bytes(&mut cm, 1, &meta);
    put_bytes(&mut cm, 2, &entry);
    let mut type_meta = Vec::new();
    put_bytes(&mut type_meta, 1, b"v1");
    put_bytes(&mut type_meta, 2, b"ConfigMap");
    let mut unknown = Vec::new();
    put_bytes(&mut unknown, 1, &type_meta);
    put_bytes(&mut unknown, 2, &cm);
    let mut value = b"k8s\0".to_vec();
    value.extend_from_slice(&unknown);
    value
}

#[test]
fn a_stored_configmap_decodes_as_the_api_server_serves_it() {
    let json = bulkhead_etcd::value::to_json(&stored_configmap("settings", "v")).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "default"}, "data": {"key": "v"}})
    );
}

/// Writes small seeds for the etcd fuzz targets into `$BULKHEAD_FUZZ_SEEDS`
/// (fuzz/seed.sh runs it); does nothing without it.
#[test]
fn fuzz_seeds() {
    use bulkhead_etcd::delta::{Change, Event, Lease, Segment};
    let Some(dir) = std::env::var_os("BULKHEAD_FUZZ_SEEDS") else { return };
    let dir = std::path::PathBuf::from(dir);
    for t in ["etcd_snapshot", "etcd_value", "etcd_delta"] {
        std::fs::create_dir_all(dir.join(t)).unwrap();
    }
    let values: Vec<Vec<u8>> = vec![
        stored_configmap("a", "1"),
        stored_configmap("b", &"x".repeat(700)),
        br#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"}}"#.to_vec(),
        b"k8s:enc:aescbc:v1:key1:\x00\x01\x02".to_vec(),
    ];
    for (i, v) in values.iter().enumerate() {
        std::fs::write(dir.join("etcd_value").join(format!("seed-{i}")), v).unwrap();
    }
    let mut buckets = Buckets::new();
    let mut keys = BTreeMap::new();
    let names = [
        "/registry/configmaps/default/a",
        "/registry/configmaps/default/b",
        "/registry/example.com/widgets/default/w",
        "/registry/secrets/default/s",
    ];
    for (i, (name, value)) in names.iter().zip(&values).enumerate() {
        let main = i as i64 + 2;
        let kv =
            KeyValue { key: name.as_bytes(), create_revision: main, mod_revision: main, version: 1, value, lease: 0 };
        keys.insert(RevisionKey { revision: Revision { main, sub: 0 }, tombstone: false }.encode(), kv.encode());
    }
    let gone = KeyValue { key: names[0].as_bytes(), ..KeyValue::default() };
    keys.insert(RevisionKey { revision: Revision { main: 9, sub: 0 }, tombstone: true }.encode(), gone.encode());
    buckets.insert(b"key".to_vec(), keys);
    buckets.insert(b"meta".to_vec(), BTreeMap::new());
    buckets.insert(b"lease".to_vec(), BTreeMap::new());
    std::fs::write(dir.join("etcd_snapshot").join("seed-512"), write(&buckets, 512)).unwrap();
    let kv = KeyValue {
        key: b"/registry/configmaps/default/a",
        mod_revision: 10,
        value: &values[0],
        lease: 7,
        ..KeyValue::default()
    };
    let segment = Segment {
        from: 10,
        to: 11,
        events: vec![
            Event { change: Change::Put, kv: kv.encode(), prev_kv: None },
            Event {
                change: Change::Delete,
                kv: KeyValue { mod_revision: 11, ..kv }.encode(),
                prev_kv: Some(kv.encode()),
            },
        ],
        leases: vec![Lease { id: 7, ttl: 3600 }],
    };
    std::fs::write(dir.join("etcd_delta").join("seed-0"), segment.encode()).unwrap();
}

fn segments() -> impl Strategy<Value = bulkhead_etcd::delta::Segment> {
    use bulkhead_etcd::delta::{Change, Event, Lease, Segment};
    (
        1i64..1000,
        proptest::collection::vec(
            (0i64..3, any::<bool>(), proptest::collection::vec(any::<u8>(), 0..50), any::<bool>()),
            0..20,
        ),
        proptest::collection::vec((any::<i64>(), 0i64..100_000), 0..3),
    )
        .prop_map(|(from, steps, leases)| {
            let mut revision = from;
            let events = steps
                .into_iter()
                .map(|(step, delete, value, prev)| {
                    revision += step;
                    let kv =
                        KeyValue { key: b"/registry/k", mod_revision: revision, value: &value, ..KeyValue::default() };
                    Event {
                        change: if delete { Change::Delete } else { Change::Put },
                        kv: kv.encode(),
                        prev_kv: prev.then(|| kv.encode()),
                    }
                })
                .collect();
            Segment {
                from,
                to: revision,
                events,
                leases: leases.into_iter().map(|(id, ttl)| Lease { id, ttl }).collect(),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn segments_round_trip(segment in segments()) {
        prop_assert_eq!(bulkhead_etcd::delta::Segment::decode(&segment.encode()), Ok(segment));
    }

    #[test]
    fn a_damaged_segment_is_refused(segment in segments(), at in any::<prop::sample::Index>(), flip in 1u8..) {
        let mut bytes = segment.encode();
        let i = at.index(bytes.len());
        bytes[i] ^= flip;
        prop_assert!(bulkhead_etcd::delta::Segment::decode(&bytes).is_err());
    }
}
