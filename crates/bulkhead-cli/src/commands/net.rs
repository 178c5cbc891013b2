//! `bulkhead net plan` and `bulkhead net check`.

use std::io::Write;

use bulkhead_model::Verdict;
use bulkhead_model::{Code, Diagnostic, Fleet, Loaded};
use bulkhead_net::{Inputs, LOCK_FILE, Lock};
use bulkhead_report::OutputFormat;

use super::Printer;
use super::validate::display_root;
use crate::error::Failure;
use crate::settings::{GlobalSettings, LockMode, NetCheckSettings, NetPlanSettings};

/// The planner could not place every range.
pub const PLAN_FAILED: Code = Code::new("net-plan-failed");

/// Loads the fleet file alone (net needs no manifests).
fn load_fleet(printer: Printer<'_>, out: &mut dyn Write) -> Result<Option<(Fleet, Loaded)>, Failure> {
    let Some(mut loaded) = super::load_valid(printer, false, out)? else { return Ok(None) };
    let fleet = loaded.fleet.take().expect("load_valid returns a fleet");
    Ok(Some((fleet, loaded)))
}

/// Runs `net plan`.
///
/// # Errors
/// When files cannot be written.
pub fn plan(settings: &NetPlanSettings, global: GlobalSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let format = if settings.json { OutputFormat::Json } else { OutputFormat::Human };
    let printer = Printer { fleet: &settings.fleet, format, global, suite: "net plan" };
    let Some((fleet, loaded)) = load_fleet(printer, out)? else { return Ok(Verdict::Invalid) };
    let old = match bulkhead_jobs::read_lock(&fleet) {
        Ok(l) => l.unwrap_or_else(Lock::new),
        Err(d) => {
            printer.diagnostics(out, &[d], &loaded)?;
            return Ok(Verdict::Invalid);
        }
    };
    let plan = match bulkhead_net::plan(&fleet.file.spec, &fleet.topology, &old) {
        Ok(p) => p,
        Err(e) => {
            let d =
                Diagnostic::error(PLAN_FAILED, &fleet.path, Some(fleet.span("spec/network/supernets")), e.to_string())
                    .with_hint(
                        "add a supernet to `spec.network.supernets`, make one larger, or write some ranges by hand",
                    );
            printer.diagnostics(out, &[d], &loaded)?;
            return Ok(Verdict::Invalid);
        }
    };
    let changed = plan.lock != old;
    if settings.json {
        serde_json::to_writer_pretty(&mut *out, &plan)?;
        writeln!(out)?;
    } else {
        bulkhead_report::write_net_plan(out, &plan)?;
    }
    if let Some(dir) = &settings.tfvars {
        std::fs::create_dir_all(dir).map_err(|e| Failure::cannot_write(dir, &e))?;
        for c in &plan.clusters {
            let path = dir.join(format!("{}.auto.tfvars.json", c.name));
            let text = serde_json::to_string_pretty(&bulkhead_net::tfvars(c))? + "\n";
            std::fs::write(&path, text).map_err(|e| Failure::cannot_write(&path, &e))?;
        }
        if !settings.json {
            writeln!(out, "wrote {} Terraform variable files to {}", plan.clusters.len(), dir.display())?;
        }
    }
    let lock_path = fleet.root.join(LOCK_FILE);
    let say = |out: &mut dyn Write, text: String| -> Result<(), Failure> {
        // JSON output stays one document; the note goes to stderr then.
        if settings.json {
            tracing::info!("{text}");
        } else {
            writeln!(out, "{text}")?;
        }
        Ok(())
    };
    match (settings.lock, changed) {
        (_, false) => say(out, format!("{LOCK_FILE} is up to date"))?,
        (LockMode::Write, true) => {
            std::fs::write(&lock_path, plan.lock.to_text()).map_err(|e| Failure::cannot_write(&lock_path, &e))?;
            say(out, format!("wrote {}", display_root(&settings.fleet).join(LOCK_FILE).display()))?;
        }
        (LockMode::DryRun, true) => say(out, format!("{LOCK_FILE} would change (dry run: not written)"))?,
        (LockMode::Locked, true) => {
            say(out, format!("{LOCK_FILE} would change, and --locked forbids it; run `bulkhead net plan` and commit"))?;
            return Ok(Verdict::Fail);
        }
    }
    Ok(Verdict::Pass)
}

/// Runs `net check`.
///
/// # Errors
/// When writing fails.
pub fn check(settings: &NetCheckSettings, global: GlobalSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let printer = Printer { fleet: &settings.fleet, format: settings.output, global, suite: "net check" };
    let Some((fleet, loaded)) = load_fleet(printer, out)? else { return Ok(Verdict::Invalid) };
    let mut diagnostics = Vec::new();
    let mut invalid = false;
    let lock = bulkhead_jobs::read_lock(&fleet).unwrap_or_else(|d| {
        diagnostics.push(d);
        invalid = true;
        None
    });
    let mut inputs = Inputs { lock, ..Default::default() };
    if let Some(path) = &settings.ranges {
        match bulkhead_jobs::read_ranges(path) {
            Ok(r) => inputs.imported = r,
            Err(mut ds) => {
                diagnostics.append(&mut ds);
                invalid = true;
            }
        }
    }
    let mut unreachable = false;
    if settings.live {
        let (read, failed) = crate::runtime::block_on(bulkhead_kube::read_networks(&fleet))?;
        let live = bulkhead_net::live_ranges(&fleet, &read);
        inputs.live = live.ranges;
        unreachable = !failed.is_empty();
        diagnostics.extend(failed);
        diagnostics.extend(live.notes);
    }
    diagnostics.extend(bulkhead_net::check(&fleet, &inputs));
    Diagnostic::sort(&mut diagnostics);

    let verdict = super::verdict_of(&diagnostics, settings.fail_on, invalid, unreachable);
    printer.diagnostics(out, &diagnostics, &loaded)?;
    if settings.output == OutputFormat::Human {
        let c = bulkhead_model::SeverityCounts::of(&diagnostics);
        let ranges = bulkhead_net::effective_ranges(&fleet, inputs.lock.as_ref()).len()
            + inputs.live.len()
            + inputs.imported.len();
        writeln!(
            out,
            "checked {ranges} ranges of {} clusters{}: {} errors, {} warnings, {} notes\nverdict: {}",
            fleet.file.spec.clusters.len(),
            if settings.live { " (with live state)" } else { "" },
            c.errors,
            c.warnings,
            c.infos,
            verdict.as_str()
        )?;
    }
    Ok(verdict)
}
