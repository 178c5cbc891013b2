//! A delta segment from the repository, on arbitrary bytes: a segment or an
//! error, never a panic; a segment read back from its own encoding is the
//! same segment.
#![no_main]

use bulkhead_etcd::delta::Segment;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(segment) = Segment::decode(data) {
        assert_eq!(Segment::decode(&segment.encode()), Ok(segment));
    }
});
