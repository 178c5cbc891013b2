//! `bulkhead plan`: every cluster's changes, as a person reviews them.

use std::io::Write;
use std::path::Path;

use bulkhead_apply::diff::show;
use bulkhead_apply::plan::{Action, ClusterPlan, PlanOptions};
use bulkhead_apply::plan_file::{FORMAT, PlanFile, PlannedCluster};
use bulkhead_model::Verdict;
use serde_json::json;

use super::Planned;
use bulkhead_report::OutputFormat;

use crate::error::Failure;
use crate::settings::PlanSettings;

/// Fields of one object shown before the rest are counted.
const FIELDS_SHOWN: usize = 20;

/// Runs the command.
///
/// # Errors
/// When the fleet has errors or the plan cannot be saved.
pub fn run(settings: &PlanSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let (fleet, desired) = super::load_and_render(&settings.fleet)?;
    let chosen = super::chosen(&fleet, &settings.targets)?;
    let options = PlanOptions { parallel: settings.targets.parallel, ..PlanOptions::default() };
    let planned = crate::runtime::block_on(super::plan_chosen(&fleet, desired, &chosen, options))?;
    if let Some(path) = &settings.out {
        save(&settings.fleet, &planned, path)?;
    }
    match settings.output {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &to_json(&planned)).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        _ => {
            print(&planned, out)?;
            if let Some(path) = &settings.out {
                writeln!(
                    out,
                    "saved the plan to {}; `bulkhead apply {}` carries it out",
                    path.display(),
                    path.display()
                )?;
            }
        }
    }
    Ok(verdict(&planned))
}

/// 3 when a cluster could not be planned, 2 when one refuses an object,
/// 1 when there are changes, else 0.
pub(crate) fn verdict(planned: &[Planned]) -> Verdict {
    if planned.iter().any(|p| p.plan.is_err()) {
        Verdict::Unreachable
    } else if planned.iter().filter_map(|p| p.plan.as_ref().ok()).any(|p| !p.refused.is_empty()) {
        Verdict::Invalid
    } else if planned.iter().filter_map(|p| p.plan.as_ref().ok()).any(ClusterPlan::has_changes) {
        Verdict::Fail
    } else {
        Verdict::Pass
    }
}

fn save(fleet: &Path, planned: &[Planned], path: &Path) -> Result<(), Failure> {
    if let Some(p) = planned.iter().find(|p| p.plan.is_err()) {
        return Err(Failure::Outside(format!(
            "not saving a plan without cluster `{}`: {}",
            p.name,
            p.plan.as_ref().err().map_or("", String::as_str)
        )));
    }
    let fleet = std::path::absolute(fleet).unwrap_or_else(|_| fleet.to_path_buf());
    let file = PlanFile {
        format: FORMAT.into(),
        fleet,
        created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        clusters: planned
            .iter()
            .filter_map(|p| Some(PlannedCluster { desired: (*p.desired).clone(), plan: p.plan.as_ref().ok()?.clone() }))
            .collect(),
    };
    let text = serde_json::to_vec_pretty(&file).map_err(|e| Failure::Bug(format!("cannot write a plan: {e}")))?;
    std::fs::write(path, text).map_err(|e| Failure::cannot_write(path, &e))
}

/// The plans as one JSON document.
pub(crate) fn to_json(planned: &[Planned]) -> serde_json::Value {
    let clusters: Vec<serde_json::Value> = planned
        .iter()
        .map(|p| match &p.plan {
            Ok(plan) => json!({
                "cluster": p.name,
                "create": plan.count(Action::Create),
                "update": plan.count(Action::Update),
                "delete": plan.count(Action::Delete),
                "orphan": plan.count(Action::Orphan),
                "unchanged": plan.unchanged,
                "changes": plan.changes,
                "refused": plan.refused,
            }),
            Err(e) => json!({"cluster": p.name, "unreachable": e}),
        })
        .collect();
    json!({"verdict": verdict(planned).as_str(), "clusters": clusters})
}

/// The plans for people.
pub(crate) fn print(planned: &[Planned], out: &mut dyn Write) -> Result<(), Failure> {
    let (mut create, mut update, mut delete, mut changed) = (0, 0, 0, 0);
    for p in planned {
        let plan = match &p.plan {
            Ok(plan) => plan,
            Err(e) => {
                writeln!(out, "cluster {}: not planned: {e}\n", p.name)?;
                continue;
            }
        };
        if !plan.has_changes() && plan.refused.is_empty() {
            writeln!(out, "cluster {}: no changes ({} objects as desired)\n", p.name, plan.unchanged)?;
            continue;
        }
        changed += 1;
        writeln!(out, "cluster {} ({})", p.name, plan.server)?;
        let width = plan.changes.iter().map(|c| c.key.to_string().len()).max().unwrap_or(0).min(60);
        for c in &plan.changes {
            let origin = c.origin.as_ref().map(ToString::to_string).unwrap_or_default();
            writeln!(out, "  {} {:width$}  {origin}", c.action.sign(), c.key.to_string())?;
            for f in c.fields.iter().take(FIELDS_SHOWN) {
                match (&f.before, &f.after) {
                    (None, after) => writeln!(out, "      + {}: {}", f.path, show(after.as_ref()))?,
                    (before, None) => writeln!(out, "      - {} (was {})", f.path, show(before.as_ref()))?,
                    (before, after) => {
                        writeln!(out, "      ~ {}: {} → {}", f.path, show(before.as_ref()), show(after.as_ref()))?;
                    }
                }
            }
            if c.fields.len() > FIELDS_SHOWN {
                writeln!(out, "      … and {} more fields", c.fields.len() - FIELDS_SHOWN)?;
            }
            if let Some(note) = &c.note {
                writeln!(out, "      ({note})")?;
            }
        }
        for r in &plan.refused {
            writeln!(out, "  refused {}: {}", r.key, r.reason)?;
        }
        let (c, u, d, o) = (
            plan.count(Action::Create),
            plan.count(Action::Update),
            plan.count(Action::Delete),
            plan.count(Action::Orphan),
        );
        create += c;
        update += u;
        delete += d;
        let orphan = if o > 0 { format!(", {o} to leave unmanaged") } else { String::new() };
        writeln!(out, "  {c} to create, {u} to update, {d} to delete{orphan}, {} unchanged\n", plan.unchanged)?;
    }
    if changed == 0 {
        writeln!(out, "No changes: every cluster is as the fleet says.")?;
    } else {
        writeln!(
            out,
            "Plan: {create} to create, {update} to update, {delete} to delete, on {changed} of {} clusters.",
            planned.len()
        )?;
    }
    Ok(())
}
