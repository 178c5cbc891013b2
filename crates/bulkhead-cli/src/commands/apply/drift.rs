//! `bulkhead drift`: live objects against the fleet's code.

use std::io::Write;

use bulkhead_apply::diff::show;
use bulkhead_apply::drift::{ClusterDrift, DriftKind};
use bulkhead_apply::plan::PlanOptions;
use bulkhead_model::Verdict;
use serde_json::json;

use bulkhead_report::OutputFormat;

use crate::error::Failure;
use crate::settings::DriftSettings;

/// Runs the command.
///
/// # Errors
/// When the fleet has errors.
pub fn run(settings: &DriftSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let (fleet, desired) = super::load_and_render(&settings.fleet)?;
    let chosen = super::chosen(&fleet, &settings.targets)?;
    let options = PlanOptions { parallel: settings.targets.parallel, ..PlanOptions::default() };
    let planned = crate::runtime::block_on(super::plan_chosen(&fleet, desired, &chosen, options))?;
    let drift: Vec<Result<ClusterDrift, (String, String)>> = bulkhead_jobs::apply::drift(&planned);
    let unreachable = drift.iter().any(Result::is_err);
    let drifted = drift.iter().flatten().any(|d| !d.drifted.is_empty());
    let verdict = if unreachable {
        Verdict::Unreachable
    } else if drifted {
        Verdict::Fail
    } else {
        Verdict::Pass
    };
    match settings.output {
        OutputFormat::Json => {
            let clusters: Vec<serde_json::Value> = drift
                .iter()
                .map(|d| match d {
                    Ok(d) => serde_json::to_value(d).unwrap_or_default(),
                    Err((cluster, why)) => json!({"cluster": cluster, "unreachable": why}),
                })
                .collect();
            let doc = json!({"verdict": verdict.as_str(), "clusters": clusters});
            serde_json::to_writer_pretty(&mut *out, &doc).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        _ => {
            for d in &drift {
                match d {
                    Err((cluster, why)) => writeln!(out, "cluster {cluster}: not read: {why}")?,
                    Ok(d) => print(d, out)?,
                }
            }
            let total: usize = drift.iter().flatten().map(|d| d.drifted.len()).sum();
            if total == 0 && !unreachable {
                writeln!(out, "No drift: every object Bulkhead applied is as the fleet says.")?;
            } else if total > 0 {
                writeln!(out, "{total} object(s) drifted; `bulkhead apply` puts them back.")?;
            }
        }
    }
    Ok(verdict)
}

fn print(d: &ClusterDrift, out: &mut dyn Write) -> Result<(), Failure> {
    let pending =
        if d.pending > 0 { format!(", {} changes pending (not applied yet)", d.pending) } else { String::new() };
    writeln!(out, "cluster {}: {} drifted, {} in sync{pending}", d.cluster, d.drifted.len(), d.in_sync)?;
    for o in &d.drifted {
        match o.kind {
            DriftKind::Missing => writeln!(out, "  missing  {}", o.key)?,
            DriftKind::Modified => {
                writeln!(out, "  modified {}", o.key)?;
                for f in &o.fields {
                    writeln!(
                        out,
                        "      {}: {} (desired {})",
                        f.path,
                        show(f.before.as_ref()),
                        show(f.after.as_ref())
                    )?;
                }
            }
        }
    }
    Ok(())
}
