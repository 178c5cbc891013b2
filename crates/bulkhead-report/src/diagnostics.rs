//! Diagnostics as source snippets (like rustc's) and as JSON.

use std::io::{self, Write};
use std::path::Path;

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};
use bulkhead_model::{Diagnostic, Severity, SeverityCounts, Sources};
use serde::Serialize;

use crate::Style;

/// Writes each diagnostic with the line it points at, the position as
/// `file:line:column`, and its hint.
///
/// # Errors
/// When the writer fails.
pub fn write_diagnostics_human(
    w: &mut dyn Write,
    diagnostics: &[Diagnostic],
    sources: &Sources,
    root: &Path,
    style: Style,
) -> io::Result<()> {
    let renderer = if style.color { Renderer::styled() } else { Renderer::plain() };
    for d in diagnostics {
        let level = match d.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
            Severity::Info => Level::NOTE,
        };
        let path = root.join(&d.file).display().to_string();
        let title = level.primary_title(d.message.as_str()).id(d.code.as_str());
        let source = sources.get(&d.file);
        let mut group = match (d.span, source) {
            (Some(span), Some(src)) if span.start <= src.text.len() => title.element(
                Snippet::source(src.text.as_str())
                    .path(path)
                    .fold(true)
                    .annotation(AnnotationKind::Primary.span(marked_range(&src.text, span.start, span.end))),
            ),
            (Some(span), None) => title.element(Origin::path(path).line(span.line).char_column(span.column)),
            _ => title.element(Origin::path(path)),
        };
        if let Some(hint) = &d.hint {
            group = group.element(Level::HELP.message(hint.as_str()));
        }
        let report: &[Group<'_>] = &[group];
        writeln!(w, "{}\n", renderer.render(report))?;
    }
    Ok(())
}

/// The bytes to underline for a span: on its first line only (a mapping's
/// span would otherwise print the whole block), on character boundaries, and
/// an empty span widened to the one whole character it stands before, so a
/// multi-byte character is never cut.
fn marked_range(text: &str, start: usize, end: usize) -> std::ops::Range<usize> {
    let floor = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = floor(start);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let end = floor(end.clamp(start, line_end));
    if end > start {
        return start..end;
    }
    let next = text[start..line_end].chars().next().map_or(start, |c| start + c.len_utf8());
    start..next
}

/// A list of diagnostics with what every format needs to print it: what a
/// command prints when it stops on bad input, in whichever format was asked
/// for, so `--output json` stays JSON on every path.
#[derive(Debug, Clone, Copy)]
pub struct DiagnosticsReport<'a> {
    /// The diagnostics.
    pub diagnostics: &'a [Diagnostic],
    /// The text of the files they point into.
    pub sources: &'a Sources,
    /// The directory their paths are relative to, as the user wrote it.
    pub root: &'a Path,
    /// The command, as JUnit's suite name.
    pub suite: &'a str,
    /// Every file read, for JUnit's one test case per file.
    pub files: &'a [std::path::PathBuf],
}

impl DiagnosticsReport<'_> {
    /// Writes the diagnostics in `format`.
    ///
    /// # Errors
    /// When the writer fails.
    pub fn write(&self, w: &mut dyn Write, format: crate::OutputFormat, style: Style) -> io::Result<()> {
        match format {
            crate::OutputFormat::Human => write_diagnostics_human(w, self.diagnostics, self.sources, self.root, style),
            crate::OutputFormat::Json => DiagnosticsJson::new(self.root, self.diagnostics).write(w),
            crate::OutputFormat::Sarif => crate::write_sarif(w, self.diagnostics, env!("CARGO_PKG_VERSION")),
            crate::OutputFormat::Junit => crate::write_junit(w, self.suite, self.files, self.diagnostics),
        }
    }
}

/// Diagnostics as data: the same list as the human output, with counts.
#[derive(Debug, Serialize)]
pub struct DiagnosticsJson<'a> {
    /// The fleet directory.
    pub root: &'a Path,
    /// Every diagnostic, sorted by file and position.
    pub diagnostics: &'a [Diagnostic],
    /// How many of each severity.
    pub summary: SeverityCounts,
}

impl<'a> DiagnosticsJson<'a> {
    /// Wraps a list.
    pub fn new(root: &'a Path, diagnostics: &'a [Diagnostic]) -> Self {
        Self { root, diagnostics, summary: SeverityCounts::of(diagnostics) }
    }

    /// Writes the JSON document and a newline.
    ///
    /// # Errors
    /// When the writer fails.
    pub fn write(&self, w: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *w, self)?;
        writeln!(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_span_marks_one_whole_character() {
        let text = "a: é\n";
        assert_eq!(marked_range(text, 3, 3), 3..5);
        assert_eq!(marked_range(text, 5, 5), 5..5); // at the line end: nothing to widen into
        assert_eq!(marked_range(text, 4, 4), 3..5); // inside a character: moved to its start
    }

    proptest::proptest! {
        /// Any span, on any text, gives a range the snippet printer can slice
        /// (the printer panics on a range that cuts a character).
        #[test]
        fn marked_ranges_fall_on_character_boundaries(text in "(?s)[a-zé€😀\n :]{0,40}", start in 0usize..200, end in 0usize..200) {
            let r = marked_range(&text, start, end);
            proptest::prop_assert!(r.start <= r.end && r.end <= text.len());
            proptest::prop_assert!(text.is_char_boundary(r.start) && text.is_char_boundary(r.end));
            proptest::prop_assert!(!text[r.clone()].contains('\n'));
        }

        /// The whole printer, on multi-byte input with spans anywhere.
        #[test]
        fn printing_never_panics(text in "(?s)[a-zé€😀\n :]{0,40}", start in 0usize..60, end in 0usize..60) {
            let file = std::path::PathBuf::from("f.yaml");
            let mut sources = Sources::new();
            sources.insert(file.clone(), std::sync::Arc::new(bulkhead_model::SourceFile::new("f.yaml", text)));
            let span = bulkhead_model::Span { start, end, line: 1, column: 1 };
            let d = Diagnostic::error(bulkhead_model::Code::InvalidValue, &file, Some(span), "x");
            let mut out = Vec::new();
            write_diagnostics_human(&mut out, &[d], &sources, Path::new("."), Style { color: false }).unwrap();
        }
    }
}
