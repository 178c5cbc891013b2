//! A label selector as `backup create --selector` takes it, on arbitrary
//! text: a selector or an error, never a panic; a selector's own text (what
//! the API server is sent) reads back as the same selector.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(selector) = bulkhead_kube::selector::parse(text) {
        let sent = selector.to_string();
        let again = bulkhead_kube::selector::parse(&sent).unwrap_or_else(|e| panic!("{text:?} -> {sent:?}: {e}"));
        assert_eq!(again, selector, "{text:?} -> {sent:?}");
    }
});
