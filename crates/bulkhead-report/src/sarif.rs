//! SARIF 2.1.0, the format code-scanning services read, so findings show up
//! as annotations on the lines of a pull request.

use std::collections::BTreeMap;
use std::io::{self, Write};

use bulkhead_model::{Diagnostic, Severity};
use serde_json::json;

/// Writes diagnostics as one SARIF run of the `bulkhead` tool.
///
/// # Errors
/// When the writer fails.
pub fn write_sarif(w: &mut dyn Write, diagnostics: &[Diagnostic], version: &str) -> io::Result<()> {
    let mut rules = BTreeMap::new();
    for d in diagnostics {
        rules.entry(d.code.as_str()).or_insert_with(|| json!({ "id": d.code.as_str(), "name": d.code.as_str() }));
    }
    let results: Vec<_> = diagnostics
        .iter()
        .map(|d| {
            let level = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "note",
            };
            let mut region = serde_json::Map::new();
            if let Some(span) = d.span {
                region.insert("startLine".into(), json!(span.line));
                region.insert("startColumn".into(), json!(span.column));
            }
            let mut message = d.message.clone();
            if let Some(hint) = &d.hint {
                message.push_str("\nhint: ");
                message.push_str(hint);
            }
            json!({
                "ruleId": d.code.as_str(),
                "level": level,
                "message": { "text": message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": d.file.to_string_lossy().replace('\\', "/") },
                        "region": region,
                    }
                }],
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "bulkhead",
                "version": version,
                "informationUri": "https://bulkhead.dev",
                "rules": rules.into_values().collect::<Vec<_>>(),
            }},
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    writeln!(w)
}
