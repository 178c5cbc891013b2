//! `bulkhead blast`: what each failure domain takes down.

use std::io::Write;

use bulkhead_blast::{Blast, Domain};
use bulkhead_model::Diagnostic;
use bulkhead_model::spec::DomainLevel;
use bulkhead_report::{Counts, OutputFormat, Table, Verdict};
use serde_json::json;

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
    let (blast, unreachable) = if settings.live {
        let live = super::block_on(bulkhead_kube::read_workloads(fleet))?;
        (bulkhead_blast::analyze_live(fleet, &live, settings.depth), live.unreachable)
    } else {
        (bulkhead_blast::analyze_static(fleet, settings.depth), Vec::new())
    };
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
            write_spofs(&blast, out)?;
            let c = Counts::of(&diagnostics);
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
                summary: Counts,
            }
            let report = Report {
                blast: &blast,
                spofs: bulkhead_blast::spofs(&blast),
                diagnostics: &diagnostics,
                summary: Counts::of(&diagnostics),
            };
            serde_json::to_writer(&mut *out, &report)?;
            writeln!(out)?;
        }
        OutputFormat::Sarif | OutputFormat::Junit => printer.diagnostics(out, &diagnostics, &loaded)?,
    }
    super::at_exit(loaded);
    Ok(verdict)
}

fn write_spofs(blast: &Blast, out: &mut dyn Write) -> Result<(), Failure> {
    let ranked = bulkhead_blast::spofs(blast);
    if ranked.is_empty() {
        writeln!(out, "no single failure takes an app or a control plane down")?;
        return Ok(());
    }
    writeln!(out, "single points of failure, worst first:")?;
    let mut table = Table::new(["failure", "level", "worst", "apps down", "control planes", "score"]);
    for s in ranked.iter().take(25) {
        let d = &blast.domains[s.domain];
        table.row([
            d.name.clone(),
            d.level.to_string(),
            s.worst.as_str().to_string(),
            s.apps.join(", "),
            s.control_planes.join(", "),
            s.score.to_string(),
        ]);
    }
    table.write(out)?;
    if ranked.len() > 25 {
        writeln!(out, "… and {} more (--output json lists them all)", ranked.len() - 25)?;
    }
    Ok(())
}

/// Finds the domains `--simulate` names: by full name or by its own label.
fn find<'b>(blast: &'b Blast, level: DomainLevel, name: &str) -> Vec<(usize, &'b Domain)> {
    blast
        .domains
        .iter()
        .enumerate()
        .filter(|(_, d)| {
            d.level == level
                && (d.name == name || d.path.last().is_some_and(|l| l == name) || d.node.as_deref() == Some(name))
        })
        .collect()
}

/// A game day on paper: what one failure does, workload by workload.
fn simulate(
    blast: &Blast,
    level: DomainLevel,
    name: &str,
    output: OutputFormat,
    out: &mut dyn Write,
) -> Result<Verdict, Failure> {
    let found = find(blast, level, name);
    let (index, domain) = match found.as_slice() {
        [one] => *one,
        [] => {
            let known: Vec<&str> = blast.domains.iter().filter(|d| d.level == level).map(|d| d.name.as_str()).collect();
            return Err(Failure::Usage(format!(
                "--simulate: no {level} named `{name}`; the fleet has: {}",
                known.join(", ")
            )));
        }
        many => {
            // Two zones called `a` in two regions: guessing would simulate
            // the wrong one, so the user picks by full path.
            let paths: Vec<&str> = many.iter().map(|(_, d)| d.name.as_str()).collect();
            return Err(Failure::Usage(format!(
                "--simulate: {} {level}s are named `{name}`: {}; write the full path, such as `{level}={}`",
                many.len(),
                paths.join(", "),
                paths[0]
            )));
        }
    };
    let cells: Vec<_> = blast.singles().filter(|c| c.failed[0] == index).collect();
    let cps: Vec<_> = blast.control_planes.iter().filter(|c| c.failed == [index]).collect();
    let workloads = blast.workload_losses(index);
    if output == OutputFormat::Json {
        let report = json!({
            "failure": domain,
            "apps": cells.iter().map(|c| json!({
                "app": blast.apps[c.app].name, "impact": c.impact, "lost": c.lost, "of": c.of,
                "recovery": c.recovery, "rtoExceeded": c.rto_exceeded, "why": c.why,
            })).collect::<Vec<_>>(),
            "controlPlanes": cps,
            "workloads": workloads,
        });
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "if {level} `{}` fails{}:",
            domain.name,
            if blast.live { " (pods as they run now)" } else { "" }
        )?;
        let mut table = Table::new(["app", "impact", "lost", "recovery"]);
        for c in &cells {
            table.row([
                blast.apps[c.app].name.clone(),
                c.impact.as_str().to_string(),
                format!("{}/{}", c.lost, c.of),
                c.recovery.describe(),
            ]);
        }
        if cells.is_empty() {
            writeln!(out, "no app loses anything it needs")?;
        } else {
            table.write(out)?;
        }
        for cp in &cps {
            writeln!(out, "control plane of `{}` loses {} of {} etcd members", cp.cluster, cp.lost, cp.members)?;
        }
        if !workloads.is_empty() {
            let mut table = Table::new(["workload", "cluster", "lost", "rescheduled"]);
            for w in &workloads {
                table.row([
                    w.workload.clone(),
                    w.cluster.clone(),
                    format!("{}/{}", w.lost, w.replicas),
                    match (w.earliest_seconds, w.seconds) {
                        (Some(a), Some(b)) if a < b => {
                            format!("yes, in ~{} to ~{}", bulkhead_blast::human(a), bulkhead_blast::human(b))
                        }
                        (_, Some(s)) => format!("yes, in ~{}", bulkhead_blast::human(s)),
                        _ => "no: not evicted while the failure lasts".to_string(),
                    },
                ]);
            }
            writeln!(out)?;
            table.write(out)?;
        }
    }
    let down = cells.iter().any(|c| c.impact.is_down());
    Ok(if down { Verdict::Fail } else { Verdict::Pass })
}
