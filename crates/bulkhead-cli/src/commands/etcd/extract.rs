//! `bulkhead etcd extract`: objects from a snapshot as YAML for `kubectl apply`.

use std::io::Write;

use bulkhead_etcd::file::Object;
use bulkhead_etcd::registry::ObjectPath;
use bulkhead_model::Verdict;
use serde_json::Value;

use crate::args::ExtractOutput;
use crate::error::Failure;
use crate::settings::EtcdExtractSettings;

/// kubectl's short names of built-in resources.
const SHORT_NAMES: &[(&str, &str)] = &[
    ("cm", "configmaps"),
    ("cj", "cronjobs"),
    ("crd", "customresourcedefinitions"),
    ("deploy", "deployments"),
    ("ds", "daemonsets"),
    ("ep", "endpoints"),
    ("ev", "events"),
    ("hpa", "horizontalpodautoscalers"),
    ("ing", "ingresses"),
    ("netpol", "networkpolicies"),
    ("no", "nodes"),
    ("ns", "namespaces"),
    ("pc", "priorityclasses"),
    ("pdb", "poddisruptionbudgets"),
    ("po", "pods"),
    ("pv", "persistentvolumes"),
    ("pvc", "persistentvolumeclaims"),
    ("rs", "replicasets"),
    ("sa", "serviceaccounts"),
    ("sc", "storageclasses"),
    ("sts", "statefulsets"),
    ("svc", "services"),
];

/// One `KIND/NS/NAME` (or `KIND/NAME`) asked for.
#[derive(Debug)]
struct Wanted {
    text: String,
    kind: String,
    namespace: Option<String>,
    name: String,
}

impl Wanted {
    fn parse(text: &str) -> Result<Self, Failure> {
        let parts: Vec<&str> = text.split('/').collect();
        let (kind, namespace, name) = match parts.as_slice() {
            [kind, name] => (*kind, None, *name),
            [kind, ns, name] => (*kind, Some((*ns).to_string()), *name),
            _ => {
                return Err(Failure::Usage(format!(
                    "`{text}`: give KIND/NAMESPACE/NAME, or KIND/NAME for a cluster-scoped object"
                )));
            }
        };
        if kind.is_empty() || name.is_empty() {
            return Err(Failure::Usage(format!("`{text}`: a kind and a name are needed")));
        }
        let kind = kind.to_ascii_lowercase();
        let kind = SHORT_NAMES.iter().find(|(short, _)| *short == kind).map_or(kind, |(_, long)| (*long).to_string());
        Ok(Self { text: text.to_string(), kind, namespace, name: name.to_string() })
    }

    /// Whether the key's place matches (the kind is checked on the value).
    fn place_matches(&self, path: &ObjectPath) -> bool {
        path.namespace == self.namespace && (self.name == "*" || path.name == self.name)
    }

    /// Whether `resource` (plural) or the stored `kind` is the one asked for.
    fn kind_matches(&self, path: &ObjectPath, kind: &str) -> bool {
        let k = &self.kind;
        let resource = &path.resource;
        let kind = kind.to_ascii_lowercase();
        *k == kind
            || k == resource
            || format!("{k}s") == *resource
            || format!("{k}es") == *resource
            || k.strip_suffix('y').is_some_and(|stem| format!("{stem}ies") == *resource)
            || path.group.as_ref().is_some_and(|g| *k == format!("{resource}.{g}"))
    }
}

/// Runs `etcd extract`.
///
/// # Errors
/// A bad selector (exit 2), a missing or damaged snapshot (exit 2), an
/// object not in the snapshot (exit 1, the others still written), the
/// repository unreachable (exit 3).
pub fn run(settings: &EtcdExtractSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let wanted: Vec<Wanted> = settings.objects.iter().map(|w| Wanted::parse(w)).collect::<Result<_, _>>()?;
    let opened = super::source::open(&settings.source)?;
    let state = opened
        .snapshot
        .state(settings.source.revision)
        .map_err(|e| Failure::Input(format!("{}: {e}", opened.shown)))?;
    let mut candidates: Vec<(ObjectPath, &Object<'_>)> = state
        .objects
        .values()
        .filter_map(|o| ObjectPath::parse(o.kv.key).map(|p| (p, o)))
        .filter(|(p, _)| wanted.iter().any(|w| w.place_matches(p)))
        .collect();
    candidates.sort_by(|a, b| a.0.cmp(&b.0));
    let mut found = vec![false; wanted.len()];
    let mut objects = Vec::new();
    let mut problems = Vec::new();
    // Objects the cluster makes for itself: said, but not a failure.
    let mut left_out: Vec<String> = Vec::new();
    for (path, object) in candidates {
        let decoded = match opened.keys.as_ref().map(|k| k.decrypt(object.kv.key, object.kv.value)) {
            Some(Ok(Some(plain))) => bulkhead_etcd::value::to_json(&plain).map_err(|e| e.to_string()),
            Some(Err(e)) => Err(e.to_string()),
            Some(Ok(None)) | None => bulkhead_etcd::value::to_json(object.kv.value).map_err(|e| e.to_string()),
        };
        let kind = decoded.as_ref().ok().and_then(|v| v["kind"].as_str()).unwrap_or_default().to_string();
        let matching: Vec<usize> = wanted
            .iter()
            .enumerate()
            .filter(|(_, w)| w.place_matches(&path) && w.kind_matches(&path, &kind))
            .map(|(i, _)| i)
            .collect();
        if matching.is_empty() {
            continue;
        }
        for i in matching {
            found[i] = true;
        }
        match decoded {
            Ok(value) => match finish(value, object, settings.raw) {
                Ok(v) => objects.push(v),
                Err(why) => {
                    left_out.push(format!("{} left out: {why} (use --raw to have it as stored)", path.display()))
                }
            },
            Err(e) => problems.push(format!("{}: {e}", path.display())),
        }
    }
    for (w, found) in wanted.iter().zip(&found) {
        if !found {
            problems.push(format!("{}: not in the snapshot at revision {}", w.text, state.revision));
        }
    }
    match settings.output {
        ExtractOutput::Yaml => {
            for o in &objects {
                writeln!(out, "---")?;
                out.write_all(super::super::export::to_yaml(o)?.as_bytes())?;
            }
        }
        ExtractOutput::Json => {
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objects});
            serde_json::to_writer_pretty(&mut *out, &list)?;
            writeln!(out)?;
        }
    }
    // Problems go to standard error: standard output stays YAML for kubectl.
    let mut err = std::io::stderr();
    for p in left_out.iter().chain(&problems) {
        let _ = writeln!(err, "bulkhead: {p}");
    }
    let _ = writeln!(
        err,
        "bulkhead: {} objects extracted from {} at revision {}",
        objects.len(),
        opened.shown,
        state.revision
    );
    Ok(if problems.is_empty() { Verdict::Pass } else { Verdict::Fail })
}

/// The object cleaned for another apply (unless `raw`), or why it is left
/// out (the cluster makes it for itself); raw objects get their
/// resourceVersion back (the API server never stores it: it is the revision).
fn finish(mut value: Value, object: &Object<'_>, raw: bool) -> Result<Value, &'static str> {
    if raw {
        if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), object.kv.mod_revision.to_string().into());
        }
        return Ok(value);
    }
    let group = value["apiVersion"].as_str().and_then(|v| v.rsplit_once('/')).map_or("", |(g, _)| g).to_string();
    let kind = value["kind"].as_str().unwrap_or_default().to_string();
    bulkhead_kube::clean::clean(value, &group, &kind).map_err(|why| why.describe())
}
