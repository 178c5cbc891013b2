//! JSON Schemas, and checking YAML trees against them with one diagnostic per
//! problem, each at the line and column of the offending key or value.
//!
//! Two schemas use this: the fleet's, generated from [`crate::spec`], and the
//! Kubernetes API's (see [`crate::kubernetes`]). A schema validator that
//! reports every error (not serde's first) is what lets `validate` show all
//! mistakes at once.

use std::path::Path;
use std::sync::Arc;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, Validator};
use serde_json::Value as Json;

use crate::Error;
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::spec::FleetFile;
use crate::yaml::Node;

/// The URL the fleet schema is published under (its `$id`).
pub const FLEET_SCHEMA_ID: &str = "https://bulkhead.dev/schemas/fleet-v1alpha1.json";

/// The JSON Schema of `fleet.yaml`, generated from the Rust types.
pub fn fleet_schema() -> Json {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<FleetFile>();
    let mut json = schema.to_value();
    if let Some(map) = json.as_object_mut() {
        map.insert("$id".into(), Json::String(FLEET_SCHEMA_ID.into()));
    }
    json
}

/// A compiled schema plus the schema text, which the diagnostics read to
/// suggest field names.
pub(crate) struct SchemaChecker {
    validator: Validator,
    /// The document the schema lives in, shared by every checker built from it.
    root: Arc<Json>,
    /// Where in `root` the checked schema starts (empty: the root itself).
    entry: String,
}

impl SchemaChecker {
    /// Compiles `root`, a draft 2020-12 schema whose references stay inside
    /// it (`#/$defs/...`).
    pub(crate) fn new(root: Json) -> Result<Self, Error> {
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .build(&root)
            .map_err(|e| Error::Schema(e.to_string()))?;
        Ok(Self { validator, root: Arc::new(root), entry: String::new() })
    }

    /// Compiles the definition `name` of a document whose definitions sit
    /// under `$defs`.
    pub(crate) fn for_definition(root: Arc<Json>, name: &str) -> Result<Self, Error> {
        let entry = format!("/$defs/{name}");
        let mut schema = serde_json::Map::new();
        schema.insert("$ref".into(), Json::String(format!("#{entry}")));
        schema.insert("$defs".into(), root.get("$defs").cloned().unwrap_or(Json::Null));
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .build(&Json::Object(schema))
            .map_err(|e| Error::Schema(format!("{name}: {e}")))?;
        Ok(Self { validator, root, entry })
    }

    fn start(&self) -> &Json {
        self.root.pointer(&self.entry).unwrap_or(&self.root)
    }

    /// Checks `node` (whose JSON form is `json`) and appends a diagnostic per
    /// problem. Returns whether `json` is valid.
    pub(crate) fn check(&self, file: &Path, node: &Node, json: &Json, out: &mut Vec<Diagnostic>) -> bool {
        let before = out.len();
        for error in self.validator.iter_errors(json) {
            let path = split_pointer(error.instance_path().as_str());
            let (target, _) = node.locate(&path);
            let at = Some(target.span);
            let where_ = describe_path(&path);
            let diagnostic = match error.kind() {
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    let known = self.properties_at(&path);
                    for field in unexpected {
                        let span = node.key_span(&path, field).or(at);
                        out.push(unknown_field(file, span, field, &where_, &known));
                    }
                    continue;
                }
                ValidationErrorKind::Required { property } => {
                    let name = property.as_str().unwrap_or_default();
                    Diagnostic::error(
                        Code::MissingField,
                        file,
                        at,
                        format!("missing field `{name}`{}", in_place(&where_)),
                    )
                    .with_hint(format!("add `{name}:` here"))
                }
                ValidationErrorKind::Type { kind } => {
                    let expected = match kind {
                        TypeKind::Single(t) => t.to_string(),
                        TypeKind::Multiple(ts) => {
                            let names: Vec<String> = ts.iter().map(|t| t.to_string()).filter(|t| t != "null").collect();
                            names.join(" or ")
                        }
                    };
                    Diagnostic::error(
                        Code::WrongType,
                        file,
                        at,
                        format!("expected {} at {where_}, found {}", article(&expected), json_type(error.instance())),
                    )
                    .with_hint(type_hint(&expected))
                }
                ValidationErrorKind::Enum { options } => {
                    let allowed: Vec<&str> =
                        options.as_array().map(|a| a.iter().filter_map(Json::as_str).collect()).unwrap_or_default();
                    let found = error.instance().as_str().map_or_else(|| error.instance().to_string(), str::to_string);
                    let mut d = Diagnostic::error(
                        Code::InvalidValue,
                        file,
                        at,
                        format!("`{found}` is not a valid value for {where_}"),
                    );
                    d = match did_you_mean(&found, allowed.iter().copied()) {
                        Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                        None => d.with_hint(format!("expected one of: {}", allowed.join(", "))),
                    };
                    d
                }
                ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. }
                    if !self.allowed_values(&path).is_empty() =>
                {
                    let allowed = self.allowed_values(&path);
                    let found = error.instance().as_str().map_or_else(|| error.instance().to_string(), str::to_string);
                    let d = Diagnostic::error(
                        Code::InvalidValue,
                        file,
                        at,
                        format!("`{found}` is not a valid value for {where_}"),
                    );
                    match did_you_mean(&found, allowed.iter().map(String::as_str)) {
                        Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                        None => d.with_hint(format!("expected one of: {}", allowed.join(", "))),
                    }
                }
                ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } => Diagnostic::error(
                    Code::WrongType,
                    file,
                    at,
                    format!("{} at {where_} matches none of the forms this field accepts", json_type(error.instance())),
                )
                .with_hint(forms_hint(&self.root, self.start(), &path)),
                ValidationErrorKind::Maximum { limit } | ValidationErrorKind::ExclusiveMaximum { limit } => {
                    Diagnostic::error(
                        Code::InvalidValue,
                        file,
                        at,
                        format!("{} at {where_} is more than the limit of {limit}", error.instance()),
                    )
                    .with_hint(limit_hint(&path))
                }
                ValidationErrorKind::MaxItems { limit } => Diagnostic::error(
                    Code::InvalidValue,
                    file,
                    at,
                    format!(
                        "{where_} lists {} entries; the limit is {limit}",
                        error.instance().as_array().map_or(0, Vec::len)
                    ),
                )
                .with_hint(limit_hint(&path)),
                _ => Diagnostic::error(Code::InvalidValue, file, at, format!("{where_}: {error}")),
            };
            out.push(diagnostic);
        }
        out.len() == before
    }

    /// The constant values an enumeration allows at an instance path
    /// (schemars writes a documented enum as `oneOf` of `const`s).
    fn allowed_values(&self, path: &[String]) -> Vec<String> {
        let mut values = Vec::new();
        for schema in resolve_path(&self.root, self.start(), path) {
            for key in ["oneOf", "anyOf"] {
                for branch in schema.get(key).and_then(Json::as_array).into_iter().flatten() {
                    let branch = deref(&self.root, branch);
                    if let Some(c) = branch.get("const").and_then(Json::as_str) {
                        values.push(c.to_string());
                    }
                    for e in branch.get("enum").and_then(Json::as_array).into_iter().flatten() {
                        values.extend(e.as_str().map(str::to_string));
                    }
                }
            }
        }
        values.dedup();
        values
    }

    /// The property names the schema allows at an instance path, for "did
    /// you mean".
    fn properties_at(&self, path: &[String]) -> Vec<String> {
        let mut names = Vec::new();
        for schema in resolve_path(&self.root, self.start(), path) {
            if let Some(props) = schema.get("properties").and_then(Json::as_object) {
                names.extend(props.keys().cloned());
            }
        }
        names
    }
}

/// Why a size has a limit, and what to do instead.
fn limit_hint(path: &[String]) -> String {
    let field = path.iter().rev().find(|s| s.parse::<usize>().is_err()).map_or("", String::as_str);
    match field {
        "count" => "Kubernetes supports clusters of up to 5,000 nodes; split larger fleets into clusters".into(),
        "members" => "etcd recommends 3 or 5 members, 7 at most".into(),
        "apiServers" => "API servers scale with load, not with count; 3 to 5 serve large clusters".into(),
        "zones" => "no provider's region has more than a few dozen zones".into(),
        "racks" => "describe racks that share power and network as one".into(),
        _ => "limits keep analyses of a fleet fast and bounded; describe the fleet at a coarser grain".into(),
    }
}

fn unknown_field(file: &Path, span: Option<crate::Span>, field: &str, where_: &str, known: &[String]) -> Diagnostic {
    let d = Diagnostic::error(Code::UnknownField, file, span, format!("unknown field `{field}`{}", in_place(where_)));
    if field.to_lowercase().contains("password") || field.to_lowercase().contains("secret") {
        return d
            .with_hint("secrets never live in the fleet; name where to find them (`passwordEnv` or `passwordFile`)");
    }
    match did_you_mean(field, known.iter().map(String::as_str)) {
        Some(s) => d.with_hint(format!("did you mean `{s}`?")),
        None if known.is_empty() => d,
        None if known.len() <= 12 => d.with_hint(format!("expected one of: {}", known.join(", "))),
        None => d,
    }
}

fn in_place(where_: &str) -> String {
    if where_ == "the top level" { String::new() } else { format!(" in {where_}") }
}

fn article(what: &str) -> String {
    match what.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {what}"),
        _ => format!("a {what}"),
    }
}

fn type_hint(expected: &str) -> String {
    match expected {
        "string" => "quote the value to make it a string".into(),
        "array" => "write a list: one `- item` per line, or `[a, b]`".into(),
        "object" => "write a mapping: `key: value` lines indented under this one".into(),
        "integer" | "number" => "write a number without quotes".into(),
        "boolean" => "write `true` or `false`".into(),
        other => format!("write {}", article(other)),
    }
}

fn forms_hint(root: &Json, start: &Json, path: &[String]) -> String {
    let mut forms = Vec::new();
    for schema in resolve_path(root, start, path) {
        for key in ["anyOf", "oneOf"] {
            for branch in schema.get(key).and_then(Json::as_array).into_iter().flatten() {
                let branch = deref(root, branch);
                if let Some(t) = branch.get("type") {
                    let t = match t {
                        Json::Array(ts) => {
                            ts.iter().filter_map(Json::as_str).filter(|t| *t != "null").collect::<Vec<_>>().join(" or ")
                        }
                        other => other.as_str().unwrap_or_default().to_string(),
                    };
                    if t == "array" {
                        forms.push("a list".to_string());
                    } else {
                        forms.push(article(&t));
                    }
                }
            }
        }
    }
    forms.dedup();
    if forms.is_empty() {
        "see `bulkhead schema` for the accepted forms".into()
    } else {
        format!("write {}", forms.join(" or "))
    }
}

/// "`spec.clusters[0].name`", or "the top level".
pub(crate) fn describe_path(path: &[String]) -> String {
    if path.is_empty() {
        return "the top level".into();
    }
    let mut out = String::from("`");
    for (i, seg) in path.iter().enumerate() {
        if seg.parse::<usize>().is_ok() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if i > 0 {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    out.push('`');
    out
}

fn json_type(value: &Json) -> &'static str {
    match value {
        Json::Null => "nothing (null)",
        Json::Bool(_) => "a boolean",
        Json::Number(n) if n.is_f64() => "a number",
        Json::Number(_) => "an integer",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a mapping",
    }
}

/// Splits a JSON pointer (`/spec/clusters/0`) into unescaped segments.
pub(crate) fn split_pointer(pointer: &str) -> Vec<String> {
    pointer.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect()
}

fn deref<'a>(root: &'a Json, schema: &'a Json) -> &'a Json {
    let mut current = schema;
    // Bounded: a reference cycle without properties would otherwise spin.
    for _ in 0..32 {
        match current.get("$ref").and_then(Json::as_str).and_then(|r| r.strip_prefix('#')) {
            Some(pointer) => match root.pointer(pointer) {
                Some(next) => current = next,
                None => break,
            },
            None => break,
        }
    }
    current
}

/// Every sub-schema that may describe the value at `path` (branches of
/// `anyOf`/`oneOf`/`allOf` each count).
fn resolve_path<'a>(root: &'a Json, schema: &'a Json, path: &[String]) -> Vec<&'a Json> {
    let schema = deref(root, schema);
    let mut here = vec![schema];
    for key in ["anyOf", "oneOf", "allOf"] {
        for branch in schema.get(key).and_then(Json::as_array).into_iter().flatten() {
            here.extend(resolve_path(root, branch, &[]));
        }
    }
    let Some((first, rest)) = path.split_first() else {
        return here;
    };
    let mut found = Vec::new();
    for s in here {
        if let Some(next) = s.get("properties").and_then(|p| p.get(first.as_str())) {
            found.extend(resolve_path(root, next, rest));
        } else if let (Some(items), Ok(_)) = (s.get("items"), first.parse::<usize>()) {
            found.extend(resolve_path(root, items, rest));
        } else if let Some(extra) = s.get("additionalProperties").filter(|v| v.is_object()) {
            found.extend(resolve_path(root, extra, rest));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_unescape() {
        assert_eq!(split_pointer("/metadata/annotations/a~1b~0c"), vec!["metadata", "annotations", "a/b~c"]);
        assert!(split_pointer("").is_empty());
    }

    #[test]
    fn fleet_schema_is_strict_and_compiles() {
        let schema = fleet_schema();
        assert_eq!(schema["$id"], FLEET_SCHEMA_ID);
        assert_eq!(schema["additionalProperties"], Json::Bool(false));
        SchemaChecker::new(schema).expect("compiles");
    }

    #[test]
    fn property_names_resolve_through_references() {
        let checker = SchemaChecker::new(fleet_schema()).unwrap();
        let names = checker.properties_at(&["spec".into(), "clusters".into(), "0".into()]);
        assert!(names.contains(&"nodePools".to_string()), "{names:?}");
    }
}
