//! Findings about the input: what is wrong, where, and how to fix it.
//!
//! Validation never stops at the first problem; every check appends to a list
//! of [`Diagnostic`]s, and the caller decides what to print and how to exit.

use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Serialize;

use crate::source::Span;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never fails a run.
    Info,
    /// Probably a mistake; the input is still usable.
    Warning,
    /// The input cannot be used as written.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        })
    }
}

/// A stable identifier for each kind of finding, printed as `unknown-field`.
/// Scripts and suppressions match on these strings, so a code never changes
/// meaning. Validation's codes are the constants below; each analysis crate
/// declares its own with [`Code::new`] (say `bulkhead-net`'s `range-overlap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Code(&'static str);

impl Code {
    /// A code. By convention lowercase words joined by `-`.
    pub const fn new(id: &'static str) -> Self {
        Self(id)
    }

    /// The identifier as printed, for example `unknown-field`.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $id:literal,)*) => {
        #[allow(non_upper_case_globals)] // read like the enum they once were: `Code::UnknownField`
        impl Code {
            $($(#[$doc])* pub const $variant: Code = Code($id);)*

            /// Validation's codes, in declaration order (for documentation).
            pub const ALL: &'static [Code] = &[$(Self::$variant,)*];
        }
    };
}

codes! {
    /// The file could not be read.
    UnreadableFile = "unreadable-file",
    /// The file is over the size limit.
    FileTooLarge = "file-too-large",
    /// The file holds bytes that are not UTF-8 text.
    BinaryFile = "binary-file",
    /// The file has no document in it.
    EmptyFile = "empty-file",
    /// The YAML does not parse.
    YamlSyntax = "yaml-syntax",
    /// The YAML nests or expands beyond what Bulkhead accepts (alias bombs).
    YamlTooComplex = "yaml-too-complex",
    /// A mapping repeats a key.
    DuplicateKey = "duplicate-key",
    /// A field that the schema does not have.
    UnknownField = "unknown-field",
    /// A required field is missing.
    MissingField = "missing-field",
    /// A value of the wrong type.
    WrongType = "wrong-type",
    /// A value outside what the field allows.
    InvalidValue = "invalid-value",
    /// `apiVersion` or `kind` is not one this version of Bulkhead reads.
    UnsupportedVersion = "unsupported-version",
    /// Two things of one kind share a name.
    DuplicateName = "duplicate-name",
    /// A name refers to something that does not exist.
    UnknownReference = "unknown-reference",
    /// A malformed network range.
    InvalidCidr = "invalid-cidr",
    /// A malformed cron schedule.
    InvalidSchedule = "invalid-schedule",
    /// A malformed duration.
    InvalidDuration = "invalid-duration",
    /// An RPO target that the backup schedule cannot meet.
    RpoUnreachable = "rpo-unreachable",
    /// A control plane that cannot keep quorum as declared.
    ControlPlaneQuorum = "control-plane-quorum",
    /// A self-managed control plane whose etcd nothing backs up.
    EtcdUnprotected = "etcd-unprotected",
    /// A path that does not exist or leaves the fleet directory.
    InvalidPath = "invalid-path",
    /// A manifest lacks `apiVersion`, `kind` or `metadata.name`.
    ManifestIdentity = "manifest-identity",
    /// A manifest of a kind the pinned Kubernetes schema does not know.
    UnknownKind = "unknown-kind",
    /// The same object is defined twice in one app.
    DuplicateObject = "duplicate-object",
    /// Placement asks for more than the selected clusters can give.
    PlacementUnsatisfiable = "placement-unsatisfiable",
    /// A selector that matches nothing.
    EmptySelection = "empty-selection",
    /// Traffic DNS has no address to send an app's users to at one of its
    /// clusters, or a name it cannot serve.
    TrafficUnroutable = "traffic-unroutable",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl JsonSchema for Code {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Code".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "What kind of problem it is, as lowercase words joined by `-`, such as `range-overlap`."
        })
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One problem found in the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Diagnostic {
    /// How bad it is.
    pub severity: Severity,
    /// What kind of problem it is.
    pub code: Code,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The file, relative to the fleet directory.
    pub file: PathBuf,
    /// Where in the file; `None` when the problem is the file as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    /// How to fix it, in one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// What in the fleet the finding is about, for findings of analyses
    /// (an app's object, on some clusters); absent for validation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub about: Option<About>,
}

/// The subject of an analysis finding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct About {
    /// The app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The object, as `Kind/namespace/name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// The clusters it applies to (empty: wherever the object runs), shared
    /// between findings: one app on many clusters gives many findings.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub clusters: std::sync::Arc<[String]>,
}

impl Diagnostic {
    /// A diagnostic of the given severity.
    pub fn new(
        severity: Severity,
        code: Code,
        file: impl AsRef<Path>,
        span: Option<Span>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity,
            code,
            message: message.into(),
            file: file.as_ref().to_path_buf(),
            span,
            hint: None,
            about: None,
        }
    }

    /// An error: the input cannot be used as written.
    pub fn error(code: Code, file: impl AsRef<Path>, span: Option<Span>, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, file, span, message)
    }

    /// A warning: probably a mistake.
    pub fn warning(code: Code, file: impl AsRef<Path>, span: Option<Span>, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, file, span, message)
    }

    /// Adds a one-line hint on how to fix the problem.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Says what the finding is about.
    #[must_use]
    pub fn with_about(mut self, about: About) -> Self {
        self.about = Some(about);
        self
    }

    /// Sorts diagnostics by file and position, so output is stable whatever
    /// order the checks ran in.
    pub fn sort(list: &mut [Diagnostic]) {
        list.sort_by(|a, b| {
            (&a.file, a.span.map(|s| s.start), a.code, &a.message).cmp(&(
                &b.file,
                b.span.map(|s| s.start),
                b.code,
                &b.message,
            ))
        });
    }
}

/// The closest of `candidates` to `word`, if any is close enough to be the
/// likely intent ("did you mean …").
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let fields = ["replicas", "regions", "racks"];
        assert_eq!(did_you_mean("replica", fields), Some("replicas"));
        assert_eq!(did_you_mean("region", fields), Some("regions"));
        assert_eq!(did_you_mean("storage", fields), None);
    }

    #[test]
    fn codes_are_unique() {
        let mut ids: Vec<_> = Code::ALL.iter().map(|c| c.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), Code::ALL.len());
    }
}
