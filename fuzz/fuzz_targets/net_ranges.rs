//! A ranges file (`net check --ranges`, an IPAM export) on arbitrary text:
//! ranges or one diagnostic per bad line, never a panic, every span inside
//! the text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(problems) = bulkhead_net::parse_ranges(std::path::Path::new("ranges.csv"), text) {
        assert!(!problems.is_empty());
        for d in problems {
            let span = d.span.expect("a bad line has a position");
            assert!(span.start <= span.end && span.end <= text.len(), "{d:?}");
        }
    }
});
