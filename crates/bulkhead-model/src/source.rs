//! Input files: where each came from, its text, and positions inside it.
//!
//! Every diagnostic points into a [`SourceFile`], so reading is strict about
//! what it accepts: a file that is too large, binary, or not UTF-8 becomes a
//! diagnostic here, before any parser sees it.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic};

/// The largest file Bulkhead reads. Fleet specs and manifests are hand-written
/// text; anything bigger is a mistake (a binary, a dump), and refusing it keeps
/// memory bounded no matter what a repository holds.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// One input file, held in memory with its path as the user should see it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path shown in diagnostics, relative to the fleet directory.
    pub path: PathBuf,
    /// The whole text of the file.
    pub text: String,
}

impl SourceFile {
    /// A source from text already in memory (tests, fuzzing, stdin).
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Self { path: path.into(), text: text.into() }
    }

    /// Checks that bytes are text before they are parsed.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Self, Diagnostic> {
        if let Some(offset) = bytes.iter().position(|&b| b == 0) {
            return Err(Diagnostic::error(
                Code::BinaryFile,
                path,
                None,
                format!("file looks binary (a NUL byte at offset {offset})"),
            )
            .with_hint("only YAML or JSON text files belong here"));
        }
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Self { path: path.to_path_buf(), text }),
            Err(e) => Err(Diagnostic::error(
                Code::BinaryFile,
                path,
                None,
                format!("file is not valid UTF-8 (at byte {})", e.utf8_error().valid_up_to()),
            )
            .with_hint("save the file as UTF-8")),
        }
    }
}

/// A range in a source file: byte offsets for slicing and 1-based line and
/// column (in characters) for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, schemars::JsonSchema)]
pub struct Span {
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset just past the last character.
    pub end: usize,
    /// 1-based line of `start`.
    pub line: usize,
    /// 1-based column of `start`, counted in characters.
    pub column: usize,
}

/// Converts the parser's character indexes into byte offsets.
///
/// The YAML parser counts characters; slicing and snippet rendering need
/// bytes. Pure ASCII text (the common case) maps one to one; otherwise a
/// checkpoint every 256 characters keeps a lookup short without a table
/// entry per character.
pub(crate) struct CharOffsets<'a> {
    text: &'a str,
    checkpoints: Option<Vec<usize>>,
}

const CHECKPOINT_EVERY: usize = 256;

impl<'a> CharOffsets<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let checkpoints =
            (!text.is_ascii()).then(|| text.char_indices().step_by(CHECKPOINT_EVERY).map(|(byte, _)| byte).collect());
        Self { text, checkpoints }
    }

    /// Byte offset of the character at `index` (the text's length past the end).
    pub(crate) fn byte(&self, index: usize) -> usize {
        let Some(checkpoints) = &self.checkpoints else {
            return index.min(self.text.len());
        };
        let slot = index / CHECKPOINT_EVERY;
        let Some(&base) = checkpoints.get(slot) else {
            return self.text.len();
        };
        let rest = index - slot * CHECKPOINT_EVERY;
        self.text[base..].char_indices().nth(rest).map_or(self.text.len(), |(b, _)| base + b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_offsets_map_multibyte_text() {
        let text = "é".repeat(600) + "x";
        let offsets = CharOffsets::new(&text);
        assert_eq!(offsets.byte(0), 0);
        assert_eq!(offsets.byte(1), 2);
        assert_eq!(offsets.byte(600), 1200);
        assert_eq!(&text[offsets.byte(600)..], "x");
        assert_eq!(offsets.byte(10_000), text.len());
    }

    #[test]
    fn binary_and_non_utf8_are_refused() {
        let nul = SourceFile::from_bytes(Path::new("a.yaml"), b"a: \0".to_vec()).unwrap_err();
        assert_eq!(nul.code, Code::BinaryFile);
        let latin1 = SourceFile::from_bytes(Path::new("a.yaml"), vec![b'a', 0xe9]).unwrap_err();
        assert!(latin1.message.contains("UTF-8"));
    }
}
