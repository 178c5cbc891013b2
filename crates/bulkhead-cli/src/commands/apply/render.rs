//! `bulkhead render --cluster NAME`: the objects a cluster should have.

use std::io::Write;

use bulkhead_model::Verdict;
use serde_json::Value;

use crate::args::ExtractOutput;
use crate::error::Failure;
use crate::settings::RenderSettings;

/// Runs the command.
///
/// # Errors
/// When the fleet has errors, or names no such cluster.
pub fn run(settings: &RenderSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let (fleet, desired) = super::load_and_render(&settings.fleet)?;
    let Some(cluster) = desired.into_iter().find(|d| d.cluster == settings.cluster) else {
        let known: Vec<&str> = fleet.file.spec.clusters.iter().map(|c| c.name.as_str()).collect();
        return Err(Failure::Usage(format!(
            "the fleet has no cluster `{}`; it has: {}",
            settings.cluster,
            known.join(", ")
        )));
    };
    match settings.output {
        ExtractOutput::Json => {
            let items: Vec<&Value> = cluster.objects.iter().map(|o| &o.object).collect();
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
            serde_json::to_writer_pretty(&mut *out, &list).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        ExtractOutput::Yaml => {
            for o in &cluster.objects {
                let from = o.file.as_ref().map(|f| format!(" ({})", f.display())).unwrap_or_default();
                writeln!(out, "---\n# {}{from}", o.origin)?;
                out.write_all(super::super::export::to_yaml(&o.object)?.as_bytes())?;
            }
        }
    }
    Ok(Verdict::Pass)
}
