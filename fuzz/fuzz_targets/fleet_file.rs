//! The whole fleet loader on an arbitrary fleet.yaml, read from memory (no
//! file per input): any input ends in a fleet or diagnostics, never a panic,
//! and every diagnostic's span lies inside the file it names.
#![no_main]

use std::path::Path;

use bulkhead_model::{LoadOptions, MemoryFiles, load_from};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut files = MemoryFiles::new();
    files.insert("fleet.yaml", data);
    let loaded = load_from(&files, Path::new("fleet.yaml"), LoadOptions { manifests: false })
        .expect("embedded schemas compile");
    for d in &loaded.diagnostics {
        if let Some(span) = d.span {
            assert!(span.start <= span.end && span.end <= data.len(), "{d:?}");
        }
    }
});
