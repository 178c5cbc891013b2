//! JUnit XML: one test case per checked file, failed by its errors, so CI
//! systems list broken files in their test tab.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;

use bulkhead_model::{Diagnostic, Severity};

/// Writes one test suite named `suite`, a test case per file in `files`
/// (files without diagnostics pass) plus any file a diagnostic names.
///
/// # Errors
/// When the writer fails.
pub fn write_junit(w: &mut dyn Write, suite: &str, files: &[PathBuf], diagnostics: &[Diagnostic]) -> io::Result<()> {
    let mut cases: BTreeMap<PathBuf, Vec<&Diagnostic>> = files.iter().map(|f| (f.clone(), Vec::new())).collect();
    for d in diagnostics.iter().filter(|d| d.severity == Severity::Error) {
        cases.entry(d.file.clone()).or_default().push(d);
    }
    let failures = cases.values().filter(|v| !v.is_empty()).count();
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(w, r#"<testsuites name="bulkhead" tests="{}" failures="{failures}">"#, cases.len())?;
    writeln!(w, r#"  <testsuite name="{}" tests="{}" failures="{failures}">"#, escape(suite), cases.len())?;
    for (file, errors) in &cases {
        let name = escape(&file.to_string_lossy());
        if errors.is_empty() {
            writeln!(w, r#"    <testcase classname="{}" name="{name}"/>"#, escape(suite))?;
            continue;
        }
        writeln!(w, r#"    <testcase classname="{}" name="{name}">"#, escape(suite))?;
        let mut text = String::new();
        for d in errors {
            let at = d.span.map_or(String::new(), |s| format!(":{}:{}", s.line, s.column));
            text.push_str(&format!("{}{at}: {} [{}]\n", file.display(), d.message, d.code));
            if let Some(h) = &d.hint {
                text.push_str(&format!("  hint: {h}\n"));
            }
        }
        writeln!(
            w,
            r#"      <failure message="{}" type="{}">{}</failure>"#,
            escape(&format!("{} error(s)", errors.len())),
            errors[0].code,
            escape(&text)
        )?;
        writeln!(w, "    </testcase>")?;
    }
    writeln!(w, "  </testsuite>\n</testsuites>")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulkhead_model::Code;

    #[test]
    fn failing_files_carry_their_errors() {
        let d = Diagnostic::error(Code::UnknownField, "fleet.yaml", None, "unknown field `a<b`");
        let mut out = Vec::new();
        write_junit(&mut out, "validate", &[PathBuf::from("apps/x.yaml")], &[d]).unwrap();
        let xml = String::from_utf8(out).unwrap();
        assert!(xml.contains(r#"tests="2" failures="1""#), "{xml}");
        assert!(xml.contains("unknown field `a&lt;b`"));
        assert!(xml.contains(r#"<testcase classname="validate" name="apps/x.yaml"/>"#));
    }
}
