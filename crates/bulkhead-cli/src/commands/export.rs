//! `bulkhead export`: every object of a cluster as clean YAML.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use bulkhead_kube::export::{ExportOptions, ExportSummary, export_each};
use bulkhead_kube::{Cluster, clean, connect_kubeconfig, discovery};
use bulkhead_model::Verdict;
use serde_json::Value;

use crate::error::Failure;
use crate::settings::{ExportSettings, ExportSource};

/// Runs the command.
///
/// # Errors
/// When the fleet or cluster cannot be found, the cluster cannot be reached
/// (exit 3), or the output cannot be written.
pub fn run(settings: &ExportSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let options = ExportOptions { namespaces: settings.namespaces.clone(), parallel: settings.parallel };
    // One runtime for the whole export: a client lives on the runtime it was made on.
    let (cluster, exported) = crate::runtime::block_on(async {
        let cluster = connect_to(settings).await?;
        let exported = match &settings.out {
            Some(dir) => Exported::Tree(write_tree(&cluster, &options, dir).await?),
            None => Exported::Stream(collect(&cluster, &options).await?),
        };
        Ok::<_, Failure>((cluster, exported))
    })??;
    let (summary, written) = match exported {
        Exported::Tree(done) => done,
        Exported::Stream((summary, objects)) => {
            // Sorted by path, so two exports of the same cluster diff cleanly.
            for object in objects.values() {
                writeln!(out, "---")?;
                out.write_all(to_yaml(object)?.as_bytes())?;
            }
            (summary, objects.len())
        }
    };
    report(&cluster, &summary, written, settings.out.as_deref(), out)?;
    Ok(if summary.skipped.is_empty() { Verdict::Pass } else { Verdict::Fail })
}

/// What an export produced.
enum Exported {
    /// Files written: the summary and how many.
    Tree((ExportSummary, usize)),
    /// The objects, for the stream.
    Stream((ExportSummary, BTreeMap<String, Value>)),
}

async fn connect_to(settings: &ExportSettings) -> Result<Cluster, Failure> {
    match &settings.source {
        ExportSource::Kubeconfig(path, context) => {
            let name = context.clone().unwrap_or_else(|| path.display().to_string());
            connect_kubeconfig(&name, path, context.as_deref()).await.map_err(|e| Failure::Input(e.to_string()))
        }
        ExportSource::Fleet(name) => {
            let fleet = super::recovery::load_fleet(&settings.fleet)?;
            Ok(bulkhead_jobs::clusters::connect(&fleet, name).await?)
        }
    }
}

async fn discover(cluster: &Cluster) -> Result<Vec<discovery::Served>, Failure> {
    discovery::served_resources(cluster).await.map_err(|e| Failure::Outside(e.to_string()))
}

/// Every object, cleaned, keyed by its path in the tree.
async fn collect(
    cluster: &Cluster,
    options: &ExportOptions,
) -> Result<(ExportSummary, BTreeMap<String, Value>), Failure> {
    let resources = discover(cluster).await?;
    let mut objects = BTreeMap::new();
    let summary = export_each(cluster, &resources, options, |e| {
        let path = clean::tree_path(&e.object, &e.served.resource.group, &e.served.resource.kind);
        objects.insert(path, e.object);
    })
    .await;
    Ok((summary, objects))
}

/// Writes each object to its file as it arrives; returns how many were written.
async fn write_tree(cluster: &Cluster, options: &ExportOptions, dir: &Path) -> Result<(ExportSummary, usize), Failure> {
    let resources = discover(cluster).await?;
    let mut failed: Option<Failure> = None;
    let mut written = 0;
    let summary = export_each(cluster, &resources, options, |e| {
        if failed.is_some() {
            return;
        }
        let path = dir.join(clean::tree_path(&e.object, &e.served.resource.group, &e.served.resource.kind));
        let write = || -> Result<(), Failure> {
            let yaml = to_yaml(&e.object)?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|err| Failure::cannot_write(parent, &err))?;
            }
            std::fs::write(&path, yaml).map_err(|err| Failure::cannot_write(&path, &err))
        };
        match write() {
            Ok(()) => written += 1,
            Err(f) => failed = Some(f),
        }
    })
    .await;
    match failed {
        Some(f) => Err(f),
        None => Ok((summary, written)),
    }
}

/// An object as YAML that kubectl reads back the same (strings YAML 1.1
/// would take for booleans or numbers are quoted).
pub(crate) fn to_yaml(object: &Value) -> Result<String, Failure> {
    serde_saphyr::to_string(object).map_err(|e| Failure::Bug(format!("cannot write an object as YAML: {e}")))
}

/// What was exported, on standard error when the objects go to standard
/// output (so a pipe gets YAML only), else on standard output.
fn report(
    cluster: &Cluster,
    summary: &ExportSummary,
    written: usize,
    dir: Option<&Path>,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let mut text = String::new();
    let target = dir.map_or_else(|| "standard output".to_string(), |d| d.display().to_string());
    text.push_str(&format!("exported {written} objects of `{}` to {target}\n", cluster.name));
    if !summary.cluster_state.is_empty() {
        text.push_str(&format!("not exported (the cluster's own state): {}\n", summary.cluster_state.join(", ")));
    }
    for (why, n) in &summary.left_out {
        text.push_str(&format!("left out {n} (every cluster makes its own): {}\n", why.describe()));
    }
    for s in &summary.skipped {
        text.push_str(&format!("could not list {}: {}\n", s.resource, s.why));
    }
    if !summary.skipped.is_empty() {
        text.push_str(&format!(
            "{} resources could not be listed; everything else was exported\n",
            summary.skipped.len()
        ));
    }
    if dir.is_some() {
        out.write_all(text.as_bytes())?;
    } else {
        #[allow(clippy::print_stderr)] // the YAML owns standard output
        {
            eprint!("{text}");
        }
    }
    Ok(())
}
