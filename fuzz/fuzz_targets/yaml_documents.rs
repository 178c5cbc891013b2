//! The spanned YAML reader on arbitrary bytes, under both scalar schemas: it
//! must end in documents or a diagnostic, within its node and depth limits,
//! and every span it reports must lie inside the text, on character
//! boundaries (printers slice the text with them).
#![no_main]

use bulkhead_model::SourceFile;
use bulkhead_model::yaml::{Limits, Node, ScalarSchema, Value, parse_with};
use libfuzzer_sys::fuzz_target;

fn check_span(span: bulkhead_model::Span, text: &str) {
    assert!(span.start <= span.end, "span {span:?} runs backwards");
    assert!(span.end <= text.len(), "span {span:?} ends past the text ({})", text.len());
    assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end), "span {span:?} cuts a character");
    assert!(span.line >= 1 && span.column >= 1);
}

fn check_spans(node: &Node, text: &str) {
    check_span(node.span, text);
    match &node.value {
        Value::Seq(items) => items.iter().for_each(|n| check_spans(n, text)),
        Value::Map(entries) => entries.iter().for_each(|e| {
            check_span(e.key_span, text);
            check_spans(&e.value, text);
        }),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(source) = SourceFile::from_bytes(std::path::Path::new("fuzz.yaml"), data.to_vec()) else { return };
    let limits = Limits { max_depth: 64, max_nodes: 100_000 };
    for schema in [ScalarSchema::Core, ScalarSchema::Kubernetes] {
        match parse_with(&source, limits, schema) {
            Ok(docs) => {
                for doc in &docs.docs {
                    check_spans(doc, &source.text);
                    let _ = doc.to_json();
                }
                for d in &docs.diagnostics {
                    if let Some(span) = d.span {
                        check_span(span, &source.text);
                    }
                }
            }
            Err(d) => {
                if let Some(span) = d.span {
                    check_span(span, &source.text);
                }
            }
        }
    }
});
