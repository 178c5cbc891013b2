//! A resource quantity (a pod's requests, a node's allocatable) on
//! arbitrary text: a value or `None`, never a panic or an overflow; a value
//! read twice reads the same, and whole numbers scale by a thousand.
#![no_main]

use bulkhead_workload::resources::parse_milli;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let value = parse_milli(text);
    assert_eq!(value, parse_milli(text));
    if let Ok(n) = text.parse::<u32>() {
        assert_eq!(value, Some(u64::from(n) * 1000), "{text}");
    }
});
