//! YAML with positions: a small document tree whose every node knows where it
//! came from, built from `saphyr-parser`'s event stream.
//!
//! Why not a ready-made loader: diagnostics need the position of every key and
//! value, and input is untrusted. The loaders we looked at either drop
//! positions (serde-based ones keep the position of the first error only) or
//! copy anchored nodes on every alias with no bound, so a "billion laughs"
//! document of a few hundred bytes exhausts memory. Building the tree here
//! lets us count every node, aliases included, against a budget and cap the
//! nesting depth, so any input ends in a tree or a clear diagnostic.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span as YamlSpan};
use serde_json::Value as Json;

use crate::diagnostic::{Code, Diagnostic};
use crate::source::{CharOffsets, SourceFile, Span};

/// Bounds on what one file may expand to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting of sequences and mappings.
    pub max_depth: usize,
    /// Most nodes in one file, counting every node an alias copies.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // Real manifests nest about 15 deep; the node budget allows a file of
        // several megabytes of ordinary YAML.
        Self { max_depth: 100, max_nodes: 2_000_000 }
    }
}

/// How plain (unquoted) scalars become values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ScalarSchema {
    /// YAML 1.2's core schema: only `true`/`false` are booleans and `0644` is
    /// the decimal 644. The fleet file is read this way.
    #[default]
    Core,
    /// What `kubectl` and the API server's clients do: sigs.k8s.io/yaml reads
    /// YAML 1.1 through its go-yaml v2 fork, so `yes`, `no`, `on`, `off`, `y`
    /// and `n` are booleans, `0644` is octal (420), and `_` may group digits.
    /// Manifests are read this way, so `validate` agrees with `kubectl apply`
    /// (kubernetes#34146).
    Kubernetes,
}

/// A YAML node and where it stands in its file.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where the value is written.
    pub span: Span,
}

/// A YAML value, resolved with the YAML 1.2 core schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits 64 bits.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string.
    String(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in the order written. Keys are strings (other keys are
    /// reported and dropped: neither JSON nor Kubernetes has them).
    Map(Vec<Entry>),
}

/// One key and value of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// Where the key is written.
    pub key_span: Span,
    /// The value.
    pub value: Node,
}

/// The documents of one file and the non-fatal problems met on the way.
#[derive(Debug, Default)]
pub struct Documents {
    /// Each document of the file, in order (`---` separated).
    pub docs: Vec<Node>,
    /// Problems that did not stop parsing, such as duplicate keys.
    pub diagnostics: Vec<Diagnostic>,
}

impl Node {
    /// The mapping's entry under `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// The mapping's entry (key and value) under `key`.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// The string value, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Follows a JSON pointer's segments. Returns the deepest node reached and
    /// whether the whole path was found; a missing tail points at its parent,
    /// which is where a diagnostic about it belongs.
    pub fn locate<'a, S: AsRef<str>>(&'a self, path: &[S]) -> (&'a Node, bool) {
        let mut node = self;
        for segment in path {
            let segment = segment.as_ref();
            let next = match &node.value {
                Value::Map(entries) => entries.iter().find(|e| e.key == segment).map(|e| &e.value),
                Value::Seq(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => return (node, false),
            }
        }
        (node, true)
    }

    /// The span of `key` in the mapping at `path`, for diagnostics about the
    /// key itself (an unknown field).
    pub fn key_span<S: AsRef<str>>(&self, path: &[S], key: &str) -> Option<Span> {
        let (node, found) = self.locate(path);
        if !found {
            return None;
        }
        node.entry(key).map(|e| e.key_span)
    }

    /// The span to show for the value at a `/`-separated path such as
    /// `spec/clusters/0/location`, or for its nearest existing parent. A whole
    /// mapping or list is shown by the key that introduces it.
    pub fn span_at(&self, path: &str) -> Span {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let (node, found) = self.locate(&segments);
        if found
            && matches!(node.value, Value::Map(_) | Value::Seq(_))
            && let Some((last, parent)) = segments.split_last()
            && let Some(span) = self.key_span(parent, last)
        {
            return span;
        }
        node.span
    }

    /// Converts to JSON for schema validation and typed deserialization.
    pub fn to_json(&self) -> Json {
        match &self.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            // JSON has no NaN or infinity; keep the text so a schema reports a
            // wrong type rather than silently reading null.
            Value::Float(f) => {
                serde_json::Number::from_f64(*f).map_or_else(|| Json::String(f.to_string()), Json::Number)
            }
            Value::String(s) => Json::String(s.clone()),
            Value::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => Json::Object(entries.iter().map(|e| (e.key.clone(), e.value.to_json())).collect()),
        }
    }
}

/// Parses every document of `file`. A syntax error or a blown limit is fatal
/// (there is no tree to check); duplicate keys and odd keys are not.
pub fn parse(file: &SourceFile, limits: Limits) -> Result<Documents, Diagnostic> {
    parse_with(file, limits, ScalarSchema::Core)
}

/// [`parse`], with plain scalars resolved by `schema`.
///
/// # Errors
/// As [`parse`].
pub fn parse_with(file: &SourceFile, limits: Limits, schema: ScalarSchema) -> Result<Documents, Diagnostic> {
    let mut builder = Builder {
        file,
        offsets: CharOffsets::new(&file.text),
        limits,
        schema,
        nodes: 0,
        stack: Vec::new(),
        anchors: HashMap::new(),
        out: Documents::default(),
    };
    for event in Parser::new_from_str(&file.text) {
        let (event, span) = event.map_err(|e| builder.syntax_error(&e))?;
        builder.event(event, span)?;
    }
    Ok(builder.out)
}

struct Builder<'a> {
    file: &'a SourceFile,
    offsets: CharOffsets<'a>,
    limits: Limits,
    schema: ScalarSchema,
    nodes: usize,
    stack: Vec<Frame>,
    /// Anchored nodes with their node counts, so an alias is charged in full.
    anchors: HashMap<usize, (Node, usize)>,
    out: Documents,
}

enum Frame {
    Seq {
        start: Span,
        anchor: usize,
        items: Vec<Node>,
        nodes_before: usize,
    },
    Map {
        start: Span,
        anchor: usize,
        entries: Vec<Entry>,
        /// Each key's position in `entries`, so a duplicate is found in
        /// constant time: a mapping of 200,000 keys (a large ConfigMap) must
        /// not cost 200,000² comparisons.
        index: HashMap<String, usize>,
        merged: Vec<Entry>,
        key: Option<Node>,
        nodes_before: usize,
    },
}

impl Builder<'_> {
    fn span(&self, span: YamlSpan) -> Span {
        Span {
            start: self.offsets.byte(span.start.index()),
            end: self.offsets.byte(span.end.index()),
            line: span.start.line(),
            column: span.start.col() + 1,
        }
    }

    fn syntax_error(&self, e: &ScanError) -> Diagnostic {
        let m = e.marker();
        let at = self.offsets.byte(m.index());
        let span = Span { start: at, end: at, line: m.line(), column: m.col() + 1 };
        Diagnostic::error(Code::YamlSyntax, &self.file.path, Some(span), format!("invalid YAML: {}", e.info()))
            .with_hint("check indentation, and quote values that contain `: ` or start with a special character")
    }

    fn too_complex(&self, span: Span, what: String) -> Diagnostic {
        Diagnostic::error(Code::YamlTooComplex, &self.file.path, Some(span), what)
            .with_hint("a fleet file never needs this much; look for aliases (`*name`) that expand into each other")
    }

    fn charge(&mut self, count: usize, span: Span) -> Result<(), Diagnostic> {
        self.nodes += count;
        if self.nodes > self.limits.max_nodes {
            return Err(
                self.too_complex(span, format!("document expands to more than {} nodes", self.limits.max_nodes))
            );
        }
        Ok(())
    }

    fn event(&mut self, event: Event<'_>, span: YamlSpan) -> Result<(), Diagnostic> {
        let span = self.span(span);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                self.charge(1, span)?;
                let tag = tag.as_ref().map(|t| t.suffix.as_str());
                let value = resolve_scalar(&text, style, tag, self.schema);
                self.finish(Node { value, span }, anchor, 1)
            }
            Event::SequenceStart(anchor, _) => {
                self.open(span)?;
                self.stack.push(Frame::Seq { start: span, anchor, items: Vec::new(), nodes_before: self.nodes });
                Ok(())
            }
            Event::MappingStart(anchor, _) => {
                self.open(span)?;
                self.stack.push(Frame::Map {
                    start: span,
                    anchor,
                    entries: Vec::new(),
                    index: HashMap::new(),
                    merged: Vec::new(),
                    key: None,
                    nodes_before: self.nodes,
                });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else { return Ok(()) };
                let (value, start, anchor, nodes_before) = match frame {
                    Frame::Seq { start, anchor, items, nodes_before } => {
                        (Value::Seq(items), start, anchor, nodes_before)
                    }
                    Frame::Map { start, anchor, mut entries, mut index, merged, nodes_before, .. } => {
                        // Merged keys (`<<`) fill in; keys written in the
                        // mapping win wherever they stand.
                        for entry in merged {
                            if !index.contains_key(&entry.key) {
                                index.insert(entry.key.clone(), entries.len());
                                entries.push(entry);
                            }
                        }
                        (Value::Map(entries), start, anchor, nodes_before)
                    }
                };
                let node = Node { value, span: Span { end: span.end.max(start.end), ..start } };
                let count = self.nodes - nodes_before;
                self.finish(node, anchor, count)
            }
            Event::Alias(id) => {
                let Some(count) = self.anchors.get(&id).map(|(_, count)| *count) else {
                    return Err(Diagnostic::error(
                        Code::YamlSyntax,
                        &self.file.path,
                        Some(span),
                        "alias to an unknown anchor",
                    ));
                };
                // Charge before copying: the copy is what a bomb multiplies.
                self.charge(count, span)?;
                let node = self.anchors[&id].0.clone();
                self.finish(Node { span, ..node }, 0, count)
            }
            Event::DocumentEnd => {
                self.anchors.clear();
                Ok(())
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) | Event::Nothing => Ok(()),
        }
    }

    fn open(&mut self, span: Span) -> Result<(), Diagnostic> {
        self.charge(1, span)?;
        if self.stack.len() >= self.limits.max_depth {
            return Err(self.too_complex(span, format!("nesting deeper than {} levels", self.limits.max_depth)));
        }
        Ok(())
    }

    /// Hands a complete node to its parent (or to the document list).
    fn finish(&mut self, node: Node, anchor: usize, count: usize) -> Result<(), Diagnostic> {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), count));
        }
        match self.stack.last_mut() {
            None => self.out.docs.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { key, .. }) if key.is_none() => *key = Some(node),
            Some(Frame::Map { key, entries, index, merged, .. }) => {
                let key_node = key.take().expect("checked above");
                let file = &self.file.path;
                let key_text = match key_node.value {
                    Value::String(s) => s,
                    Value::Int(i) => i.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Float(f) => f.to_string(),
                    Value::Null => "null".to_string(),
                    Value::Seq(_) | Value::Map(_) => {
                        self.out.diagnostics.push(
                            Diagnostic::error(
                                Code::WrongType,
                                file,
                                Some(key_node.span),
                                "mapping keys must be plain values",
                            )
                            .with_hint("Kubernetes and Bulkhead only use string keys"),
                        );
                        return Ok(());
                    }
                };
                if key_text == "<<" {
                    merge(merged, node);
                    return Ok(());
                }
                if let Some(first) = index.get(&key_text).map(|&i| &entries[i]) {
                    self.out.diagnostics.push(
                        Diagnostic::error(
                            Code::DuplicateKey,
                            file,
                            Some(key_node.span),
                            format!(
                                "key `{key_text}` appears twice in this mapping (first on line {})",
                                first.key_span.line
                            ),
                        )
                        .with_hint("YAML keeps only one of them; remove the other"),
                    );
                    return Ok(());
                }
                index.insert(key_text.clone(), entries.len());
                entries.push(Entry { key: key_text, key_span: key_node.span, value: node });
            }
        }
        Ok(())
    }
}

/// Applies a YAML merge key (`<<: *defaults`): entries already present win.
fn merge(entries: &mut Vec<Entry>, source: Node) {
    let sources = match source.value {
        Value::Seq(items) => items,
        other => vec![Node { value: other, span: source.span }],
    };
    let mut seen: std::collections::HashSet<String> = entries.iter().map(|e| e.key.clone()).collect();
    for src in sources {
        if let Value::Map(more) = src.value {
            for entry in more {
                if seen.insert(entry.key.clone()) {
                    entries.push(entry);
                }
            }
        }
    }
}

/// Resolves a scalar by `schema`; quoted scalars are strings.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>, schema: ScalarSchema) -> Value {
    match tag {
        Some("str") => return Value::String(text.to_string()),
        Some("null") => return Value::Null,
        Some("bool") | Some("int") | Some("float") | None => {}
        Some(_) => return Value::String(text.to_string()),
    }
    if style != ScalarStyle::Plain {
        return Value::String(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if schema == ScalarSchema::Kubernetes {
        return resolve_yaml11(text);
    }
    if let Some(int) = parse_int(text) {
        return Value::Int(int);
    }
    if looks_like_float(text)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::String(text.to_string())
}

/// The YAML 1.1 rules of go-yaml v2 for a plain scalar that is not null,
/// `true`/`false` or a special float: more booleans, and integers as Go's
/// `strconv.ParseInt(s, 0, 64)` reads them after `_` is removed.
fn resolve_yaml11(text: &str) -> Value {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => return Value::Bool(true),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => return Value::Bool(false),
        _ => {}
    }
    let plain = text.replace('_', "");
    if let Some(int) = parse_go_int(&plain) {
        return Value::Int(int);
    }
    if looks_like_float(&plain)
        && let Ok(f) = plain.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::String(text.to_string())
}

/// Go's base-0 integer syntax: `0x`/`0X` hex, `0o`/`0O` or a leading `0`
/// octal, `0b`/`0B` binary, else decimal; an optional sign.
fn parse_go_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, body) = if let Some(b) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        (16, b)
    } else if let Some(b) = digits.strip_prefix("0o").or_else(|| digits.strip_prefix("0O")) {
        (8, b)
    } else if let Some(b) = digits.strip_prefix("0b").or_else(|| digits.strip_prefix("0B")) {
        (2, b)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(body, radix).ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

fn parse_int(text: &str) -> Option<i64> {
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok();
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, the core schema's
/// float, checked by hand so `1e3` is a number and `1.2.3` is not.
fn looks_like_float(text: &str) -> bool {
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match frac {
        Some(frac) => digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty()),
        None => !int.is_empty() && digits(int),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(text: &str) -> Documents {
        parse(&SourceFile::new("t.yaml", text), Limits::default()).expect("parses")
    }

    #[test]
    fn scalars_follow_the_core_schema() {
        let d = docs("a: 1\nb: '1'\nc: 1.5\nd: true\ne: ~\nf: 1.2.3\ng: 0x1f\nh: 1e3\ni: yes\n");
        let j = d.docs[0].to_json();
        assert_eq!(
            j,
            serde_json::json!({"a":1,"b":"1","c":1.5,"d":true,"e":null,"f":"1.2.3","g":31,"h":1000.0,"i":"yes"})
        );
    }

    #[test]
    fn kubernetes_scalars_follow_yaml_1_1() {
        let text =
            "a: yes\nb: off\nc: y\nd: 0644\ne: 1_000\nf: 0x1F\ng: 0b101\nh: '0644'\ni: 08\nj: -010\nk: true\nl: x\n";
        let d = parse_with(&SourceFile::new("m.yaml", text), Limits::default(), ScalarSchema::Kubernetes).unwrap();
        assert_eq!(
            d.docs[0].to_json(),
            serde_json::json!({"a":true,"b":false,"c":true,"d":420,"e":1000,"f":31,"g":5,"h":"0644","i":8.0,"j":-8,"k":true,"l":"x"})
        );
    }

    #[test]
    fn many_keys_are_checked_in_linear_time() {
        // 200,000 keys and one duplicate at the end: quadratic detection took
        // over a minute on this; a hash index makes it a fraction of a second.
        let mut text = String::from("data:\n");
        for i in 0..200_000 {
            text.push_str(&format!("  k{i}: v\n"));
        }
        text.push_str("  k7: again\n");
        let d = docs(&text);
        assert_eq!(d.diagnostics.len(), 1);
        assert!(d.diagnostics[0].message.contains("first on line 9"), "{}", d.diagnostics[0].message);
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let d = docs("spec:\n  clusters:\n    - name: x\n");
        let root = &d.docs[0];
        let (name, found) = root.locate(&["spec", "clusters", "0", "name"]);
        assert!(found);
        assert_eq!((name.span.line, name.span.column), (3, 13));
        let key = root.key_span(&["spec", "clusters", "0"], "name").unwrap();
        assert_eq!((key.line, key.column), (3, 7));
    }

    #[test]
    fn duplicate_keys_are_reported_not_fatal() {
        let d = docs("a: 1\nb: 2\na: 3\n");
        assert_eq!(d.diagnostics.len(), 1);
        assert_eq!(d.diagnostics[0].code, Code::DuplicateKey);
        assert_eq!(d.docs[0].get("a").unwrap().value, Value::Int(1));
    }

    #[test]
    fn merge_keys_fill_missing_entries() {
        let d = docs("base: &b {x: 1, y: 2}\nthing:\n  <<: *b\n  y: 3\n");
        let thing = d.docs[0].get("thing").unwrap().to_json();
        assert_eq!(thing, serde_json::json!({"y": 3, "x": 1}));
    }

    #[test]
    fn alias_bomb_is_refused_quickly() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse(&SourceFile::new("bomb.yaml", text), Limits::default()).unwrap_err();
        assert_eq!(err.code, Code::YamlTooComplex);
    }

    #[test]
    fn deep_nesting_is_refused() {
        // Past our limit but within the parser's own (which ends deeper input
        // with a syntax error): both refuse, neither overflows the stack.
        let err = parse(&SourceFile::new("deep.yaml", "[".repeat(150)), Limits::default()).unwrap_err();
        assert_eq!(err.code, Code::YamlTooComplex);
        let err = parse(&SourceFile::new("deeper.yaml", "[".repeat(100_000)), Limits::default()).unwrap_err();
        assert!(matches!(err.code, Code::YamlTooComplex | Code::YamlSyntax));
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = parse(&SourceFile::new("bad.yaml", "a: [1, 2\nb: 3\n"), Limits::default()).unwrap_err();
        assert_eq!(err.code, Code::YamlSyntax);
        assert!(err.span.is_some());
    }

    #[test]
    fn several_documents() {
        let d = docs("a: 1\n---\nb: 2\n---\n");
        assert_eq!(d.docs.len(), 3);
        assert_eq!(d.docs[2].value, Value::Null);
    }
}
