//! The blast radius for people: the ranked single points of failure, and a
//! simulated failure (`--simulate`), as tables.

use std::io::{self, Write};

use bulkhead_blast::{Blast, Simulation, human};

use crate::table::Table;

/// How many single points of failure the human report lists.
const SPOF_ROWS: usize = 25;

/// The single points of failure, worst first (the first 25).
///
/// # Errors
/// When the writer fails.
pub fn write_spofs(w: &mut dyn Write, blast: &Blast) -> io::Result<()> {
    let ranked = bulkhead_blast::spofs(blast);
    if ranked.is_empty() {
        return writeln!(w, "no single failure takes an app or a control plane down");
    }
    writeln!(w, "single points of failure, worst first:")?;
    let mut table = Table::new(["failure", "level", "worst", "apps down", "control planes", "score"]);
    for s in ranked.iter().take(SPOF_ROWS) {
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
    table.write(w)?;
    if ranked.len() > SPOF_ROWS {
        writeln!(w, "… and {} more (--output json lists them all)", ranked.len() - SPOF_ROWS)?;
    }
    Ok(())
}

/// A simulated failure: each app's loss and recovery, control planes, and
/// each workload's loss with when it is replaced.
///
/// # Errors
/// When the writer fails.
pub fn write_simulation(w: &mut dyn Write, sim: &Simulation<'_>) -> io::Result<()> {
    let live = if sim.live { " (pods as they run now)" } else { "" };
    writeln!(w, "if {} `{}` fails{live}:", sim.failure.level, sim.failure.name)?;
    if sim.apps.is_empty() {
        writeln!(w, "no app loses anything it needs")?;
    } else {
        let mut table = Table::new(["app", "impact", "lost", "recovery"]);
        for a in &sim.apps {
            table.row([
                a.app.clone(),
                a.outcome.impact.as_str().to_string(),
                format!("{}/{}", a.outcome.lost, a.outcome.of),
                a.outcome.recovery.describe(),
            ]);
        }
        table.write(w)?;
    }
    for cp in &sim.control_planes {
        writeln!(
            w,
            "control plane of `{}` loses {} of {} etcd members; if it does not come back: {}",
            cp.cluster,
            cp.lost,
            cp.members,
            cp.recovery.describe()
        )?;
    }
    if !sim.workloads.is_empty() {
        let mut table = Table::new(["workload", "cluster", "lost", "available", "rescheduled"]);
        for l in &sim.workloads {
            let when = match (l.earliest_seconds, l.seconds) {
                (Some(a), Some(b)) if a < b => format!("in ~{} to ~{}", human(a), human(b)),
                (_, Some(s)) => format!("in ~{}", human(s)),
                _ => String::new(),
            };
            let f = &l.fate;
            let why = f.why.as_deref().unwrap_or("no room");
            let mut parts = Vec::new();
            if f.replaced > 0 {
                parts.push(if f.recovers() { format!("yes, {when}") } else { format!("{} {when}", f.replaced) });
            }
            if f.pending > 0 {
                parts.push(format!("{} Pending until the domain returns", f.pending));
            }
            if f.stranded > 0 {
                parts.push(format!("{} not replaced until the domain returns", f.stranded));
            }
            let when = if f.recovers() { parts.join("; ") } else { format!("no: {}: {why}", parts.join("; ")) };
            let availability = format!("{}/{} (budget {})", l.available, l.replicas, l.budget);
            table.row([
                l.workload.clone(),
                l.cluster.clone(),
                format!("{}/{}", f.lost, l.replicas),
                availability,
                when,
            ]);
        }
        writeln!(w)?;
        table.write(w)?;
    }
    Ok(())
}
