//! The whole fleet loader on an arbitrary fleet.yaml: any input ends in a
//! fleet or diagnostics, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    thread_local! {
        static DIR: std::path::PathBuf = {
            let dir = std::env::temp_dir().join(format!("bulkhead-fuzz-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            dir
        };
    }
    DIR.with(|dir| {
        std::fs::write(dir.join("fleet.yaml"), data).unwrap();
        let options = bulkhead_model::LoadOptions { manifests: false };
        let loaded = bulkhead_model::load(dir, options).expect("embedded schemas compile");
        for d in &loaded.diagnostics {
            if let Some(span) = d.span {
                assert!(span.start <= data.len());
            }
        }
    });
});
