//! An app's manifest file on arbitrary bytes, loaded with a valid fleet from
//! memory: YAML, the Kubernetes schema, the API server's own rules and the
//! duplicate checks must end in objects or diagnostics, never a panic, and
//! every span must lie inside the file it names.
#![no_main]

use std::path::Path;

use bulkhead_model::{LoadOptions, MemoryFiles, load_from};
use libfuzzer_sys::fuzz_target;

const FLEET: &str = "apiVersion: bulkhead.dev/v1alpha1
kind: Fleet
metadata: {name: fuzz}
spec:
  providers: [{name: aws, kind: aws, regions: [{name: r, zones: [a, b, c]}]}]
  clusters: [{name: c, location: aws/r, controlPlane: {managed: true}, nodePools: [{name: p, count: 3}]}]
  apps: [{name: app, namespace: app, manifests: m, placement: {clusters: {names: [c]}}}]
";

fuzz_target!(|data: &[u8]| {
    let mut files = MemoryFiles::new();
    files.insert("fleet.yaml", FLEET).insert("m/object.yaml", data);
    let loaded = load_from(&files, Path::new("fleet.yaml"), LoadOptions::default()).expect("embedded schemas compile");
    assert!(loaded.fleet.is_some(), "the fleet file itself is valid: {:?}", loaded.diagnostics);
    for d in &loaded.diagnostics {
        if let Some(span) = d.span {
            let len = if d.file == Path::new("m/object.yaml") { data.len() } else { FLEET.len() };
            assert!(span.start <= span.end && span.end <= len, "{d:?}");
        }
    }
});
