//! `bulkhead audit`: fragile workloads, from manifests or live clusters.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;
use bulkhead_audit::{LivePods, Settings};
use bulkhead_model::{Diagnostic, Fleet};
use bulkhead_report::{
    Counts, DiagnosticsJson, OutputFormat, Table, Verdict, write_by_app_and_cluster, write_diagnostics_human,
    write_junit, write_sarif,
};
use bulkhead_workload::AppObjects;

use super::validate::display_root;
use crate::settings::{AuditSettings, GlobalSettings};

/// Runs the command.
///
/// # Errors
/// When writing fails or the clusters cannot be read at all.
pub fn run(settings: &AuditSettings, global: GlobalSettings, out: &mut dyn Write) -> Result<Verdict> {
    if settings.list_checks {
        return list_checks(settings, out);
    }
    let Some(loaded) = super::load_valid(&settings.fleet, true, global, out)? else { return Ok(Verdict::Invalid) };
    let root = display_root(&settings.fleet);
    let fleet = loaded.fleet.as_ref().expect("load_valid returns a fleet");
    let (audit_settings, mut diagnostics) = bulkhead_audit::resolve_settings(fleet);
    let mut unreachable = false;
    let (findings, covered) = if settings.live {
        let (found, failures, covered) = live(fleet, &audit_settings)?;
        unreachable = !failures.is_empty();
        diagnostics.extend(failures);
        (found, covered)
    } else {
        let (found, stats) = bulkhead_audit::audit_fleet(fleet, &audit_settings);
        (found, format!("{} objects of {} apps on {} clusters", stats.objects, stats.apps, stats.clusters))
    };
    diagnostics.extend(findings);
    Diagnostic::sort(&mut diagnostics);
    let verdict = super::verdict_of(&diagnostics, settings.fail_on, false, unreachable);
    match settings.output {
        OutputFormat::Human => {
            write_diagnostics_human(out, &diagnostics, &loaded.sources, &root, global.style)?;
            write_by_app_and_cluster(out, &diagnostics)?;
            let c = Counts::of(&diagnostics);
            writeln!(
                out,
                "\naudited {covered}: {} errors, {} warnings, {} notes\nverdict: {}",
                c.errors,
                c.warnings,
                c.infos,
                verdict.as_str()
            )?;
        }
        OutputFormat::Json => DiagnosticsJson::new(&root, &diagnostics).write(out)?,
        OutputFormat::Sarif => write_sarif(out, &diagnostics, env!("CARGO_PKG_VERSION"))?,
        OutputFormat::Junit => write_junit(out, "audit", &loaded.files, &diagnostics)?,
    }
    super::at_exit(diagnostics);
    super::at_exit(loaded);
    Ok(verdict)
}

fn list_checks(settings: &AuditSettings, out: &mut dyn Write) -> Result<Verdict> {
    if settings.output == OutputFormat::Json {
        serde_json::to_writer_pretty(&mut *out, bulkhead_audit::ALL)?;
        writeln!(out)?;
        return Ok(Verdict::Pass);
    }
    let mut table = Table::new(["check", "category", "severity", "default", "fleet-aware", "prevents"]);
    for c in bulkhead_audit::ALL {
        table.row([
            c.id.to_string(),
            format!("{:?}", c.category).to_lowercase(),
            c.severity.to_string(),
            if c.enabled { "on" } else { "off" }.to_string(),
            if c.fleet_aware { "yes" } else { "" }.to_string(),
            c.why.to_string(),
        ]);
    }
    table.write(out)?;
    writeln!(
        out,
        "\nconfigure in fleet.yaml: spec.audit.checks.<check>: {{enabled, severity, params}}; docs/checks.md explains each"
    )?;
    Ok(Verdict::Pass)
}

/// Audits the objects the clusters run, app by app.
fn live(fleet: &Fleet, settings: &Settings) -> Result<(Vec<Diagnostic>, Vec<Diagnostic>, String)> {
    let read = super::live::read_workloads(fleet)?;
    let mut nodes = BTreeMap::new();
    let mut pods = BTreeMap::new();
    for (i, name, live) in &read.clusters {
        nodes.insert(name.clone(), super::live::nodes_of(fleet, *i, live));
        let node_zones = live
            .nodes
            .iter()
            .filter_map(|n| n.labels.get(bulkhead_workload::nodes::ZONE_LABEL).map(|z| (n.name.clone(), z.clone())))
            .collect();
        pods.insert(
            name.clone(),
            LivePods {
                pods: live.pods.iter().map(|p| (p.namespace.clone(), p.labels.clone(), p.node.clone())).collect(),
                node_zones,
            },
        );
    }
    let apps: Vec<AppObjects<'_>> = super::live::live_apps(fleet, &read).into_iter().map(|(_, a)| a).collect();
    let object_count: usize = apps.iter().map(|a| a.objects.len()).sum();
    let findings = bulkhead_audit::engine::run(&apps, &nodes, &pods, settings);
    let covered = format!(
        "{object_count} live objects of {} apps on {} clusters",
        fleet.file.spec.apps.len(),
        read.clusters.len()
    );
    Ok((bulkhead_audit::to_diagnostics(&findings, fleet), read.unreachable.clone(), covered))
}
