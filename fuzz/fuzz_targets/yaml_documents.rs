//! The spanned YAML reader on arbitrary bytes: it must end in documents or a
//! diagnostic, within its node and depth limits, and every span it reports
//! must lie inside the text.
#![no_main]

use bulkhead_model::yaml::{parse, Limits, Node, Value};
use bulkhead_model::SourceFile;
use libfuzzer_sys::fuzz_target;

fn check_spans(node: &Node, len: usize) {
    assert!(node.span.start <= node.span.end.max(node.span.start) && node.span.start <= len);
    match &node.value {
        Value::Seq(items) => items.iter().for_each(|n| check_spans(n, len)),
        Value::Map(entries) => entries.iter().for_each(|e| {
            assert!(e.key_span.start <= len);
            check_spans(&e.value, len);
        }),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(source) = SourceFile::from_bytes(std::path::Path::new("fuzz.yaml"), data.to_vec()) else { return };
    let limits = Limits { max_depth: 64, max_nodes: 100_000 };
    if let Ok(docs) = parse(&source, limits) {
        for doc in &docs.docs {
            check_spans(doc, source.text.len());
            let _ = doc.to_json();
        }
    }
});
