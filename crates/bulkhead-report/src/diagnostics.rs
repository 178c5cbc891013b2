//! Diagnostics as source snippets (like rustc's) and as JSON.

use std::io::{self, Write};
use std::path::Path;

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};
use bulkhead_model::{Diagnostic, Severity, Sources};
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
            (Some(span), Some(src)) if span.start <= src.text.len() => {
                // One line is enough to find the spot; a mapping's span would
                // otherwise print the whole block.
                let line_end = src.text[span.start..].find('\n').map_or(src.text.len(), |i| span.start + i);
                let end = span.end.clamp(span.start, line_end).max(span.start);
                let end = if end == span.start { (span.start + 1).min(line_end.max(span.start)) } else { end };
                title.element(
                    Snippet::source(src.text.as_str())
                        .path(path)
                        .fold(true)
                        .annotation(AnnotationKind::Primary.span(span.start..end)),
                )
            }
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

/// Diagnostics as data: the same list as the human output, with counts.
#[derive(Debug, Serialize)]
pub struct DiagnosticsJson<'a> {
    /// The fleet directory.
    pub root: &'a Path,
    /// Every diagnostic, sorted by file and position.
    pub diagnostics: &'a [Diagnostic],
    /// How many of each severity.
    pub summary: Counts,
}

/// Diagnostics per severity.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Counts {
    /// Errors.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
    /// Notes.
    pub infos: usize,
}

impl Counts {
    /// Counts a list.
    pub fn of(diagnostics: &[Diagnostic]) -> Self {
        let mut c = Self::default();
        for d in diagnostics {
            match d.severity {
                Severity::Error => c.errors += 1,
                Severity::Warning => c.warnings += 1,
                Severity::Info => c.infos += 1,
            }
        }
        c
    }
}

impl<'a> DiagnosticsJson<'a> {
    /// Wraps a list.
    pub fn new(root: &'a Path, diagnostics: &'a [Diagnostic]) -> Self {
        Self { root, diagnostics, summary: Counts::of(diagnostics) }
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
