//! `bulkhead blast`: what each failure domain takes down.

use std::io::Write;

use anyhow::{Context, Result};
use bulkhead_blast::{Blast, Domain, Exposure, Site};
use bulkhead_model::spec::DomainLevel;
use bulkhead_model::{Diagnostic, Fleet};
use bulkhead_report::{Counts, OutputFormat, Table, Verdict, write_diagnostics_human, write_junit, write_sarif};
use serde_json::json;

use super::validate::display_root;
use crate::settings::{BlastSettings, GlobalSettings};

/// The policy `check` applies: no single zone may take down a tier-1 app.
pub(crate) const DEFAULT_POLICY: bulkhead_blast::Policy = bulkhead_blast::Policy { level: DomainLevel::Zone, tier: 1 };

/// Runs the command.
///
/// # Errors
/// When writing fails or the clusters cannot be read at all.
pub fn run(settings: &BlastSettings, global: GlobalSettings, out: &mut dyn Write) -> Result<Verdict> {
    let Some(loaded) = super::load_valid(&settings.fleet, true, global, out)? else { return Ok(Verdict::Invalid) };
    let root = display_root(&settings.fleet);
    let fleet = loaded.fleet.as_ref().expect("load_valid returns a fleet");
    let (blast, unreachable) =
        if settings.live { live(fleet, settings.depth)? } else { (analyze(fleet, settings.depth), Vec::new()) };
    if let Some((level, name)) = &settings.simulate {
        return simulate(&blast, *level, name, settings.output, out);
    }
    let mut diagnostics = unreachable.clone();
    diagnostics.extend(bulkhead_blast::diagnostics(&blast, fleet, &settings.fail_on));
    Diagnostic::sort(&mut diagnostics);
    if let Some(path) = &settings.html {
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
        );
        bulkhead_report::write_blast_html(&mut file, &blast, &fleet.file.metadata.name)?;
        file.flush()?;
    }
    // Only a broken `--fail-on` policy is an error here.
    let verdict = super::verdict_of(&diagnostics, bulkhead_model::Severity::Error, false, !unreachable.is_empty());
    match settings.output {
        OutputFormat::Human => {
            write_diagnostics_human(out, &diagnostics, &loaded.sources, &root, global.style)?;
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
        OutputFormat::Sarif => write_sarif(out, &diagnostics, env!("CARGO_PKG_VERSION"))?,
        OutputFormat::Junit => write_junit(out, "blast", &loaded.files, &diagnostics)?,
    }
    super::at_exit(loaded);
    Ok(verdict)
}

/// The static analysis of a loaded fleet.
pub(crate) fn analyze(fleet: &Fleet, depth: u8) -> Blast {
    let (domains, exposures) = bulkhead_blast::static_inputs(fleet);
    let apps = bulkhead_blast::app_infos(&fleet.file.spec);
    bulkhead_blast::analyze(&fleet.file.spec, &fleet.topology, domains, apps, exposures, depth, false)
}

/// The analysis of where the pods run now.
fn live(fleet: &Fleet, depth: u8) -> Result<(Blast, Vec<Diagnostic>)> {
    let read = super::live::read_workloads(fleet)?;
    let spec = &fleet.file.spec;
    let mut nodes = Vec::new();
    let mut sites = Vec::new();
    for (i, name, objects) in &read.clusters {
        let n = super::live::nodes_of(fleet, *i, objects);
        for g in &n.groups {
            sites.push((name.clone(), g.pool.clone(), Site { zone: g.zone.clone(), rack: g.rack.clone() }, 1));
        }
        nodes.push((name.clone(), n));
    }
    let domains = bulkhead_blast::fleet_domains(spec, &fleet.topology, &sites, false);
    let apps = super::live::live_apps(fleet, &read);
    let mut exposures: Vec<Exposure> = Vec::new();
    for (ai, a) in &apps {
        let cluster = &a.clusters[0];
        let Some((provider, region)) = cluster.provider_and_region() else { continue };
        let Some((_, n)) = nodes.iter().find(|(c, _)| *c == cluster.name) else { continue };
        let Some((_, _, read_objects)) = read.clusters.iter().find(|(_, c, _)| *c == cluster.name) else { continue };
        let pods: Vec<_> =
            read_objects.pods.iter().map(|p| (p.namespace.clone(), p.labels.clone(), p.node.clone())).collect();
        let objects: Vec<_> = a.objects.iter().collect();
        for o in &objects {
            let Some(w) = o.workload() else { continue };
            if !matches!(
                w.object.kind,
                bulkhead_workload::Kind::Deployment(_) | bulkhead_workload::Kind::StatefulSet(_)
            ) {
                continue;
            }
            if let Some(e) =
                bulkhead_blast::live_exposure(*ai, (provider.to_string(), region.to_string()), &objects, &w, n, &pods)
            {
                exposures.push(e);
            }
        }
    }
    let infos = bulkhead_blast::app_infos(spec);
    let blast = bulkhead_blast::analyze(spec, &fleet.topology, domains, infos, exposures, depth, true);
    Ok((blast, read.unreachable))
}

fn write_spofs(blast: &Blast, out: &mut dyn Write) -> Result<()> {
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

/// Finds the domain `--simulate` names: by full name or by its own label.
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
) -> Result<Verdict> {
    let found = find(blast, level, name);
    let Some(&(index, domain)) = found.first() else {
        let known: Vec<&str> = blast.domains.iter().filter(|d| d.level == level).map(|d| d.name.as_str()).collect();
        writeln!(out, "error: no {level} named `{name}`; the fleet has: {}", known.join(", "))?;
        return Ok(Verdict::Invalid);
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
                    match w.seconds {
                        Some(s) => format!("yes, in ~{}", bulkhead_blast::human(s)),
                        None => "no".to_string(),
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
