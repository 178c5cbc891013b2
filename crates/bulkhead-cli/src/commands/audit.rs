//! `bulkhead audit`: fragile workloads, from manifests or live clusters.

use std::io::Write;

use bulkhead_model::Diagnostic;
use bulkhead_model::{SeverityCounts, Verdict};
use bulkhead_report::{OutputFormat, write_by_app_and_cluster};

use super::Printer;
use crate::error::Failure;
use crate::settings::{AuditSettings, GlobalSettings};

/// Runs the command.
///
/// # Errors
/// When writing fails or the clusters cannot be read at all.
pub fn run(settings: &AuditSettings, global: GlobalSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    if settings.list_checks {
        return list_checks(settings, out);
    }
    let (fleet_path, loaded) = match &settings.manifests {
        Some(path) => {
            let loaded = super::plain_manifests::load(path, settings.tier)?;
            (super::plain_manifests::display_root(path), loaded)
        }
        None => {
            (settings.fleet.clone(), bulkhead_model::load(&settings.fleet, bulkhead_model::LoadOptions::default())?)
        }
    };
    let printer = Printer { fleet: &fleet_path, format: settings.output, global, suite: "audit" };
    let Some(loaded) = super::require_valid(printer, loaded, out)? else { return Ok(Verdict::Invalid) };
    let fleet = loaded.fleet.as_ref().expect("require_valid returns a fleet");
    let (audit_settings, mut diagnostics) = bulkhead_audit::resolve_settings(fleet);
    let mut unreachable = false;
    let (findings, stats) = if settings.live {
        let live = crate::runtime::block_on(bulkhead_kube::read_workloads(fleet))?;
        unreachable = !live.unreachable.is_empty();
        diagnostics.extend(live.unreachable.iter().cloned());
        bulkhead_audit::audit_live(fleet, &live, &audit_settings)
    } else {
        bulkhead_audit::audit_fleet(fleet, &audit_settings)
    };
    let covered = format!(
        "{} {}objects of {} apps on {} clusters",
        stats.objects,
        if settings.live { "live " } else { "" },
        stats.apps,
        stats.clusters
    );
    diagnostics.extend(findings);
    Diagnostic::sort(&mut diagnostics);
    let verdict = super::verdict_of(&diagnostics, settings.fail_on, false, unreachable);
    printer.diagnostics(out, &diagnostics, &loaded)?;
    if settings.output == OutputFormat::Human {
        write_by_app_and_cluster(out, &diagnostics)?;
        let c = SeverityCounts::of(&diagnostics);
        writeln!(
            out,
            "\naudited {covered}: {} errors, {} warnings, {} notes\nverdict: {}",
            c.errors,
            c.warnings,
            c.infos,
            verdict.as_str()
        )?;
    }
    super::at_exit(diagnostics);
    super::at_exit(loaded);
    Ok(verdict)
}

fn list_checks(settings: &AuditSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    if settings.output == OutputFormat::Json {
        serde_json::to_writer_pretty(&mut *out, bulkhead_audit::ALL)?;
        writeln!(out)?;
        return Ok(Verdict::Pass);
    }
    bulkhead_report::write_check_list(out, bulkhead_audit::ALL)?;
    Ok(Verdict::Pass)
}
