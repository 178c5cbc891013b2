//! Plans and lists for people: the network plan (`net plan`) and the
//! audit's catalogue of checks (`audit --list-checks`), as tables.

use std::io::{self, Write};

use bulkhead_net::{Change, LOCK_FILE, Plan, Source};

use crate::table::Table;

/// The network plan: every range of every cluster with where it came from
/// and what changed, then each zone's subnets.
///
/// # Errors
/// When the writer fails.
pub fn write_net_plan(out: &mut dyn Write, plan: &Plan) -> io::Result<()> {
    let mut table = Table::new(["cluster", "range", "cidr", "from", "change"]);
    let (mut added, mut moved, mut kept) = (0, 0, 0);
    for c in &plan.clusters {
        for r in &c.ranges {
            let change = match &r.change {
                Change::Unchanged if r.source == Source::Declared => String::new(),
                Change::Unchanged => {
                    kept += 1;
                    "kept".to_string()
                }
                Change::Added => {
                    added += 1;
                    "added".to_string()
                }
                Change::Moved { from, why } => {
                    moved += 1;
                    format!("moved from {from}: {why}")
                }
            };
            table.row([c.name.clone(), r.kind.to_string(), r.net.to_string(), r.source.as_str().to_string(), change]);
        }
    }
    table.write(out)?;
    let mut zones = Table::new(["cluster", "zone", "private", "public", "spare"]);
    for c in &plan.clusters {
        for z in &c.zones {
            zones.row([
                c.name.clone(),
                z.zone.clone(),
                z.private.to_string(),
                z.public.to_string(),
                z.spare.to_string(),
            ]);
        }
    }
    writeln!(out)?;
    zones.write(out)?;
    writeln!(
        out,
        "\n{} clusters: {added} ranges added, {moved} moved, {kept} kept from {LOCK_FILE}",
        plan.clusters.len()
    )?;
    if !plan.released.is_empty() {
        writeln!(out, "released (no longer in the fleet): {}", plan.released.join(", "))?;
    }
    Ok(())
}

/// Every audit check: ID, category, severity, default, whether it is
/// fleet-aware, and what it prevents.
///
/// # Errors
/// When the writer fails.
pub fn write_check_list(out: &mut dyn Write, checks: &[&bulkhead_audit::CheckInfo]) -> io::Result<()> {
    let mut table = Table::new(["check", "category", "severity", "default", "fleet-aware", "prevents"]);
    for c in checks {
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
    )
}
