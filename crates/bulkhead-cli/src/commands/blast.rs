//! `bulkhead blast`: what each failure domain takes down.

use std::io::Write;

use bulkhead_blast::Blast;
use bulkhead_jobs::blast::{BlastJob, BlastOutcome};
use bulkhead_model::Diagnostic;
use bulkhead_model::spec::DomainLevel;
use bulkhead_model::{SeverityCounts, Verdict};
use bulkhead_report::OutputFormat;

use super::Printer;
use crate::error::Failure;
use crate::settings::{BlastSettings, GlobalSettings};

/// Runs the command.
///
/// # Errors
/// When writing fails, `--simulate` names no single domain, or the HTML
/// report cannot be written.
pub fn run(settings: &BlastSettings, global: GlobalSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let printer = Printer { fleet: &settings.fleet, format: settings.output, global, suite: "blast" };
    let Some(loaded) = super::load_valid(printer, true, out)? else { return Ok(Verdict::Invalid) };
    let fleet = loaded.fleet.as_ref().expect("load_valid returns a fleet");
    let job = BlastJob { live: settings.live, repositories: settings.repos, depth: settings.depth };
    let BlastOutcome { blast, unreachable, unread_repositories } =
        crate::runtime::block_on(bulkhead_jobs::blast::blast(fleet, job, &super::recovery::environment()))?;
    for (name, why) in &unread_repositories {
        tracing::warn!("repository `{name}` could not be read ({why}): its apps' restores are not measured");
    }
    if let Some((level, name)) = &settings.simulate {
        return simulate(&blast, *level, name, settings.output, out);
    }
    let mut diagnostics = unreachable.clone();
    diagnostics.extend(bulkhead_blast::diagnostics(&blast, fleet, &settings.fail_on));
    Diagnostic::sort(&mut diagnostics);
    if let Some(path) = &settings.html {
        let write = || -> std::io::Result<()> {
            let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
            bulkhead_report::write_blast_html(&mut file, &blast, &fleet.file.metadata.name)?;
            file.flush()
        };
        write().map_err(|e| Failure::cannot_write(path, &e))?;
    }
    // Only a broken `--fail-on` policy is an error here.
    let verdict = super::verdict_of(&diagnostics, bulkhead_model::Severity::Error, false, !unreachable.is_empty());
    match settings.output {
        OutputFormat::Human => {
            printer.diagnostics(out, &diagnostics, &loaded)?;
            bulkhead_report::write_spofs(out, &blast)?;
            let c = SeverityCounts::of(&diagnostics);
            let policies: Vec<String> = settings
                .fail_on
                .iter()
                .map(|p| format!("no single {} may take down a tier-{} app", p.level, p.tier))
                .collect();
            writeln!(
                out,
                "\n{} failure domains{}, {} apps: {} errors, {} warnings, {} notes\npolicy: {}\nverdict: {}",
                blast.domains.len(),
                if blast.depth >= 2 { " and every pair above nodes" } else { "" },
                blast.apps.len(),
                c.errors,
                c.warnings,
                c.infos,
                if policies.is_empty() { "none".to_string() } else { policies.join("; ") },
                verdict.as_str()
            )?;
            if let Some(path) = &settings.html {
                writeln!(out, "wrote {}", path.display())?;
            }
        }
        OutputFormat::Json => {
            // Streamed, not built as a JSON value first: a large fleet's report is tens of megabytes.
            #[derive(serde::Serialize)]
            struct Report<'a> {
                blast: &'a Blast,
                spofs: Vec<bulkhead_blast::Spof>,
                diagnostics: &'a [Diagnostic],
                summary: SeverityCounts,
            }
            let report = Report {
                blast: &blast,
                spofs: bulkhead_blast::spofs(&blast),
                diagnostics: &diagnostics,
                summary: SeverityCounts::of(&diagnostics),
            };
            serde_json::to_writer(&mut *out, &report)?;
            writeln!(out)?;
        }
        OutputFormat::Sarif | OutputFormat::Junit => printer.diagnostics(out, &diagnostics, &loaded)?,
    }
    super::at_exit(loaded);
    Ok(verdict)
}

/// A game day on paper: what one failure does, workload by workload.
fn simulate(
    blast: &Blast,
    level: DomainLevel,
    name: &str,
    output: OutputFormat,
    out: &mut dyn Write,
) -> Result<Verdict, Failure> {
    let index = blast.find(level, name).map_err(|e| Failure::Usage(format!("--simulate: {e}")))?;
    let simulation = blast.simulate(index);
    if output == OutputFormat::Json {
        serde_json::to_writer_pretty(&mut *out, &simulation)?;
        writeln!(out)?;
    } else {
        bulkhead_report::write_simulation(out, &simulation)?;
    }
    Ok(if simulation.takes_an_app_down() { Verdict::Fail } else { Verdict::Pass })
}
