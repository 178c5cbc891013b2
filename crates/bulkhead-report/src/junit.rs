//! JUnit XML, so CI systems list what failed in their test tab: one test
//! case per checked file, failed by its errors ([`write_junit`]), or any
//! cases of one's own (a drill each: [`write_cases`]).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;

use bulkhead_model::{Diagnostic, Severity};

/// One test case.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCase {
    /// The class it is listed under (the suite, an app).
    pub class: String,
    /// Its name.
    pub name: String,
    /// How long it took, when that is known.
    pub seconds: Option<f64>,
    /// Why it failed; `None` when it passed.
    pub failure: Option<Failed>,
}

/// Why a test case failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// The one-line message.
    pub message: String,
    /// The failure's type (a diagnostic's code), when it has one.
    pub kind: Option<String>,
    /// The whole story, when there is more than the message.
    pub text: String,
}

/// Writes `cases` as one test suite named `suite` of test suites `suites`.
///
/// # Errors
/// When the writer fails.
pub fn write_cases(w: &mut dyn Write, suites: &str, suite: &str, cases: &[TestCase]) -> io::Result<()> {
    let failures = cases.iter().filter(|c| c.failure.is_some()).count();
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(w, r#"<testsuites name="{}" tests="{}" failures="{failures}">"#, escape(suites), cases.len())?;
    writeln!(w, r#"  <testsuite name="{}" tests="{}" failures="{failures}">"#, escape(suite), cases.len())?;
    for case in cases {
        let time = case.seconds.map_or(String::new(), |s| format!(r#" time="{s:.1}""#));
        write!(w, r#"    <testcase classname="{}" name="{}"{time}"#, escape(&case.class), escape(&case.name))?;
        let Some(failed) = &case.failure else {
            writeln!(w, "/>")?;
            continue;
        };
        writeln!(w, ">")?;
        let kind = failed.kind.as_ref().map_or(String::new(), |k| format!(r#" type="{}""#, escape(k)));
        if failed.text.is_empty() {
            writeln!(w, r#"      <failure message="{}"{kind}/>"#, escape(&failed.message))?;
        } else {
            writeln!(
                w,
                r#"      <failure message="{}"{kind}>{}</failure>"#,
                escape(&failed.message),
                escape(&failed.text)
            )?;
        }
        writeln!(w, "    </testcase>")?;
    }
    writeln!(w, "  </testsuite>\n</testsuites>")
}

/// Writes one test suite named `suite`, a test case per file in `files`
/// (files without diagnostics pass) plus any file a diagnostic names.
///
/// # Errors
/// When the writer fails.
pub fn write_junit(w: &mut dyn Write, suite: &str, files: &[PathBuf], diagnostics: &[Diagnostic]) -> io::Result<()> {
    let mut by_file: BTreeMap<PathBuf, Vec<&Diagnostic>> = files.iter().map(|f| (f.clone(), Vec::new())).collect();
    for d in diagnostics.iter().filter(|d| d.severity == Severity::Error) {
        by_file.entry(d.file.clone()).or_default().push(d);
    }
    let cases: Vec<TestCase> = by_file
        .iter()
        .map(|(file, errors)| {
            let failure = errors.first().map(|first| {
                let mut text = String::new();
                for d in errors {
                    let at = d.span.map_or(String::new(), |s| format!(":{}:{}", s.line, s.column));
                    text.push_str(&format!("{}{at}: {} [{}]\n", file.display(), d.message, d.code));
                    if let Some(h) = &d.hint {
                        text.push_str(&format!("  hint: {h}\n"));
                    }
                }
                Failed { message: format!("{} error(s)", errors.len()), kind: Some(first.code.to_string()), text }
            });
            TestCase { class: suite.to_string(), name: file.to_string_lossy().into_owned(), seconds: None, failure }
        })
        .collect();
    write_cases(w, "bulkhead", suite, &cases)
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

    #[test]
    fn cases_carry_their_time_and_why_they_failed() {
        let cases = [
            TestCase { class: "shop".into(), name: "ok".into(), seconds: Some(12.34), failure: None },
            TestCase {
                class: "shop".into(),
                name: "restore <b>".into(),
                seconds: None,
                failure: Some(Failed { message: "RTO 90 s > 60 s".into(), kind: None, text: String::new() }),
            },
        ];
        let mut out = Vec::new();
        write_cases(&mut out, "bulkhead drills", "drills", &cases).unwrap();
        let xml = String::from_utf8(out).unwrap();
        assert!(xml.contains(r#"<testsuites name="bulkhead drills" tests="2" failures="1">"#), "{xml}");
        assert!(xml.contains(r#"<testcase classname="shop" name="ok" time="12.3"/>"#), "{xml}");
        assert!(xml.contains(r#"name="restore &lt;b&gt;">"#), "{xml}");
        assert!(xml.contains(r#"<failure message="RTO 90 s &gt; 60 s"/>"#), "{xml}");
    }
}
