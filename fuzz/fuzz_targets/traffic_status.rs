//! A site status as an instance answers it (CH TXT) on arbitrary text: read
//! or refused with a reason, never a panic; what reads encodes back to a
//! string that reads the same.
#![no_main]

use bulkhead_traffic::status::{decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(site) = decode(text) {
        let again = decode(&encode(&site)).expect("an encoded status reads");
        // A reason longer than a TXT string holds is cut; the rest is kept.
        assert_eq!(
            (again.cluster.as_str(), again.in_answers, again.probes_up),
            (site.cluster.as_str(), site.in_answers, site.probes_up)
        );
    }
});
