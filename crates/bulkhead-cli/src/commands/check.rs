//! `bulkhead check`: every analysis, one verdict. New analyses add a stage
//! here and nothing else changes for users or CI.

use std::io::Write;

use anyhow::Result;
use bulkhead_model::spec::DomainLevel;
use bulkhead_model::{Diagnostic, LoadOptions, Severity, load};
use bulkhead_report::{
    CheckReport, OutputFormat, Stage, StageStatus, Verdict, write_diagnostics_human, write_junit, write_sarif,
};

use super::validate::display_root;
use crate::settings::{CheckSettings, GlobalSettings};

/// Runs the command.
///
/// # Errors
/// When writing fails or Bulkhead's own schemas are broken.
pub fn run(settings: &CheckSettings, global: GlobalSettings, out: &mut dyn Write) -> Result<Verdict> {
    let loaded = load(&settings.fleet, LoadOptions::default())?;
    let root = display_root(&settings.fleet);

    let mut stages = Vec::new();
    let covered = match &loaded.fleet {
        Some(f) => {
            let t = &f.topology;
            format!(
                "{} clusters, {} nodes in {} zones, {} apps, {} objects",
                t.at_level(DomainLevel::Cluster).count(),
                t.at_level(DomainLevel::Node).count(),
                t.at_level(DomainLevel::Zone).count(),
                f.apps.len(),
                loaded.counts.objects
            )
        }
        None => "the fleet could not be read".to_string(),
    };
    let validate = Stage::from_findings("validate", &loaded.diagnostics, settings.fail_on, covered);
    let mut input_ok = !loaded.has_errors();
    stages.push(validate);
    let mut diagnostics = loaded.diagnostics.clone();

    // Analyses that need a valid fleet: each adds a stage and its findings.
    match loaded.fleet.as_ref().filter(|_| input_ok) {
        Some(fleet) => {
            let (findings, detail) = match super::net::read_lock(fleet) {
                Ok(lock) => {
                    let planned = lock.as_ref().map_or(0, |l| l.clusters.len());
                    let ranges = bulkhead_net::effective_ranges(fleet, lock.as_ref()).len();
                    let inputs = bulkhead_net::Inputs { lock, ..Default::default() };
                    (bulkhead_net::check(fleet, &inputs), format!("{ranges} ranges, {planned} clusters planned"))
                }
                Err(d) => {
                    input_ok = false;
                    (vec![d], "net.lock.json could not be read".to_string())
                }
            };
            stages.push(Stage::from_findings("net", &findings, settings.fail_on, detail));
            diagnostics.extend(findings);

            let (audit_settings, mut findings) = bulkhead_audit::resolve_settings(fleet);
            let (found, stats) = bulkhead_audit::audit_fleet(fleet, &audit_settings);
            findings.extend(found);
            let detail = format!("{} objects of {} apps", stats.objects, stats.apps);
            stages.push(Stage::from_findings("audit", &findings, settings.fail_on, detail));
            diagnostics.extend(findings);

            let blast = super::blast::analyze(fleet, 1);
            let findings = bulkhead_blast::diagnostics(&blast, fleet, &[super::blast::DEFAULT_POLICY]);
            let detail = format!(
                "{} failure domains, {} single points of failure",
                blast.domains.len(),
                bulkhead_blast::spofs(&blast).len()
            );
            stages.push(Stage::from_findings("blast", &findings, settings.fail_on, detail));
            diagnostics.extend(findings);
        }
        None => {
            for stage in ["net", "audit", "blast"] {
                stages.push(Stage::skipped(stage, "needs a valid fleet"));
            }
        }
    }
    Diagnostic::sort(&mut diagnostics);

    let verdict = if !input_ok {
        Verdict::Invalid
    } else if stages.iter().any(|s| s.status == StageStatus::Failed) {
        Verdict::Fail
    } else {
        Verdict::Pass
    };
    let report = CheckReport {
        fleet: loaded.fleet.as_ref().map(|f| f.file.metadata.name.clone()),
        stages,
        verdict,
        diagnostics: &diagnostics,
    };
    match settings.output {
        OutputFormat::Human => {
            write_diagnostics_human(out, &diagnostics, &loaded.sources, &root, global.style)?;
            report.write_summary(out)?;
            if verdict == Verdict::Pass
                && settings.fail_on == Severity::Error
                && report.stages.iter().any(|s| s.counts.warnings > 0)
            {
                writeln!(out, "(warnings do not fail the check; `--fail-on warning` makes them)")?;
            }
        }
        OutputFormat::Json => report.write_json(out)?,
        OutputFormat::Sarif => write_sarif(out, &diagnostics, env!("CARGO_PKG_VERSION"))?,
        OutputFormat::Junit => write_junit(out, "check", &loaded.files, &diagnostics)?,
    }
    super::at_exit(diagnostics);
    super::at_exit(loaded);
    Ok(verdict)
}
