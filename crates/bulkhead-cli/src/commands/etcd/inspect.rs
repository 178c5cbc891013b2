//! `bulkhead etcd inspect`: what a snapshot holds, read offline.

use std::collections::BTreeMap;
use std::io::Write;

use bulkhead_etcd::registry::ObjectPath;
use bulkhead_etcd::value::Stored;
use bulkhead_model::Verdict;
use bulkhead_report::OutputFormat;
use serde::Serialize;

use crate::error::Failure;
use crate::settings::EtcdInspectSettings;

/// One object of the listing.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Listed {
    key: String,
    resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    name: String,
    revision: i64,
    bytes: usize,
    /// `protobuf`, `json`, `cbor`, `encrypted:PROVIDER:KEY`, `unknown`.
    stored: String,
}

/// Counts of one resource.
#[derive(Debug, Default, Serialize)]
struct Count {
    objects: u64,
    bytes: u64,
    encrypted: u64,
}

/// Runs `etcd inspect`.
///
/// # Errors
/// A missing, damaged or foreign snapshot (exit 2); the repository unreachable (exit 3).
pub fn run(settings: &EtcdInspectSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let opened = super::source::open(&settings.source)?;
    let snapshot = &opened.snapshot;
    let state =
        snapshot.state(settings.source.revision).map_err(|e| Failure::Input(format!("{}: {e}", opened.shown)))?;
    let mut listed: Vec<Listed> = state
        .objects
        .values()
        .map(|o| {
            let path = ObjectPath::parse(o.kv.key);
            let stored = match Stored::of(o.kv.value) {
                Ok(Stored::Protobuf { .. }) => "protobuf".to_string(),
                Ok(Stored::Json) => "json".into(),
                Ok(Stored::Cbor) => "cbor".into(),
                Ok(Stored::Encrypted { provider, key }) => format!("encrypted:{provider}:{key}"),
                Ok(Stored::Unknown) | Err(_) => "unknown".into(),
            };
            Listed {
                key: String::from_utf8_lossy(o.kv.key).into_owned(),
                resource: path.as_ref().map_or_else(
                    || "(not an object)".into(),
                    |p| p.group.as_ref().map_or_else(|| p.resource.clone(), |g| format!("{}.{g}", p.resource)),
                ),
                namespace: path.as_ref().and_then(|p| p.namespace.clone()),
                name: path.map_or_else(|| String::from_utf8_lossy(o.kv.key).into_owned(), |p| p.name),
                revision: o.revision.main,
                bytes: o.kv.value.len(),
                stored,
            }
        })
        .collect();
    listed.sort_by(|a, b| a.key.cmp(&b.key));
    let mut counts: BTreeMap<String, Count> = BTreeMap::new();
    for l in &listed {
        let c = counts.entry(l.resource.clone()).or_default();
        c.objects += 1;
        c.bytes += l.bytes as u64;
        c.encrypted += u64::from(l.stored.starts_with("encrypted"));
    }
    let mut largest: Vec<&Listed> = listed.iter().collect();
    largest.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.key.cmp(&b.key)));
    largest.truncate(settings.largest);
    match settings.output {
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "snapshot": opened.shown,
                "bytes": opened.bytes,
                "pageSize": snapshot.db().page_size(),
                "sha256Verified": snapshot.had_trailer,
                "revision": state.revision,
                "newestRevision": state.newest,
                "compactedRevision": state.compacted,
                "revisionsKept": state.entries,
                "objects": listed.len(),
                "resources": counts,
                "largest": largest,
                "list": settings.objects.then_some(&listed),
            });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        _ => {
            writeln!(
                out,
                "{}: {}, {}",
                opened.shown,
                bulkhead_report::size::bytes(opened.bytes),
                if snapshot.had_trailer {
                    "SHA-256 trailer verified"
                } else {
                    "no SHA-256 trailer (not from etcd's snapshot API)"
                }
            )?;
            let at = if state.revision == state.newest {
                format!("revision {} (the newest)", state.revision)
            } else {
                format!("as of revision {} (the newest is {})", state.revision, state.newest)
            };
            let compacted = if state.compacted > 0 {
                format!("compacted up to revision {}", state.compacted)
            } else {
                "never compacted".to_string()
            };
            writeln!(out, "{at}: {} objects; history: {} revisions kept, {compacted}", listed.len(), state.entries)?;
            writeln!(out)?;
            let width = counts.keys().map(String::len).max().unwrap_or(8).max(8);
            writeln!(out, "{:width$}  {:>8}  {:>10}  ENCRYPTED", "RESOURCE", "OBJECTS", "BYTES")?;
            for (resource, c) in &counts {
                writeln!(out, "{resource:width$}  {:>8}  {:>10}  {}", c.objects, c.bytes, c.encrypted)?;
            }
            if !largest.is_empty() {
                writeln!(out, "\nlargest objects:")?;
                for l in &largest {
                    writeln!(out, "  {:>10}  {}  (revision {})", l.bytes, l.key, l.revision)?;
                }
            }
            if settings.objects {
                writeln!(out, "\nobjects:")?;
                for l in &listed {
                    writeln!(out, "  {}  revision {}  {} bytes  {}", l.key, l.revision, l.bytes, l.stored)?;
                }
            }
        }
    }
    Ok(Verdict::Pass)
}
