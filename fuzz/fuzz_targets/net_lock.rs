//! The network lock file on arbitrary bytes: any input is a lock or an
//! error, never a panic; a lock that parses writes out and reads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(lock) = bulkhead_net::Lock::parse(text) {
        let again = bulkhead_net::Lock::parse(&lock.to_text()).expect("a written lock reads back");
        assert_eq!(again, lock);
    }
});
