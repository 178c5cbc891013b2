//! `bulkhead apply`: plan (or read a saved plan), then roll out wave by
//! wave with health gates.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use bulkhead_apply::plan::PlanOptions;
use bulkhead_apply::plan_file::PlanFile;
use bulkhead_apply::rollout::{Event, RolloutOptions, Target, WaveResult, roll_out};
use bulkhead_apply::waves::{WavePlan, waves};
use bulkhead_model::Fleet;
use bulkhead_model::Verdict;
use serde_json::json;

use super::Planned;
use bulkhead_report::OutputFormat;

use crate::error::Failure;
use crate::settings::ApplySettings;

/// Runs the command.
///
/// # Errors
/// When the fleet or plan file is unusable.
pub fn run(settings: &ApplySettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let options = PlanOptions { parallel: settings.targets.parallel, ..PlanOptions::default() };
    let saved = read_plan_file(&settings.target)?;
    crate::runtime::block_on(async {
        let (fleet, planned, recheck) = match saved {
            Some(file) => {
                let fleet = super::super::recovery::load_fleet(&file.fleet)?;
                let planned = bulkhead_jobs::apply::from_file(&fleet, &file, &settings.targets.clusters).await;
                (fleet, planned, true)
            }
            None => {
                let (fleet, desired) = super::load_and_render(&settings.target)?;
                let chosen = super::chosen(&fleet, &settings.targets)?;
                let planned = super::plan_chosen(&fleet, desired, &chosen, options).await;
                (fleet, planned, false)
            }
        };
        let human = settings.output == OutputFormat::Human;
        // Progress on a terminal; nothing on a pipe (the report says it all).
        let show = human && std::io::stderr().is_terminal();
        if human {
            super::plan::print(&planned, out)?;
        }
        if let Some(refusal) = refuse(settings, &planned) {
            return report(settings, &planned, &[], Some(&refusal), out);
        }
        let targets: BTreeMap<String, Target> = planned
            .iter()
            .filter_map(|p| {
                let plan = p.plan.as_ref().ok()?;
                plan.has_changes().then(|| {
                    let cluster = p.cluster.clone()?;
                    Some((p.name.clone(), Target { cluster, desired: Arc::clone(&p.desired), plan: plan.clone() }))
                })?
            })
            .collect();
        if targets.is_empty() {
            return report(settings, &planned, &[], None, out);
        }
        if recheck && let Some(refusal) = recheck_all(&targets, options).await {
            return report(settings, &planned, &[], Some(&refusal), out);
        }
        let names: Vec<&str> = targets.keys().map(String::as_str).collect();
        let waves = waves(&fleet.file.spec.rollout, &fleet.file.spec.clusters, &names);
        let rollout = RolloutOptions {
            max_parallel: settings.max_parallel,
            plan: options,
            health_timeout: settings.health_timeout,
            poll: std::time::Duration::from_secs(2),
            recheck: false,
        };
        let yes = settings.yes;
        let mut approve = move |wave: &WavePlan| approve(wave, yes);
        let mut progress = move |event: &Event| {
            if show {
                show_progress(event);
            }
        };
        let results = roll_out(&waves, targets, rollout, &mut approve, &mut progress).await;
        report_waves(settings, &fleet, &planned, &waves, &results, out)
    })?
}

/// Checks every cluster of a saved plan before any wave starts: a plan
/// half applied because its third wave's cluster changed is worse than
/// none applied.
async fn recheck_all(targets: &BTreeMap<String, Target>, options: PlanOptions) -> Option<(Verdict, String)> {
    let checks = targets.values().map(|t| bulkhead_apply::execute::recheck(&t.cluster, &t.desired, &t.plan, options));
    let problems: Vec<String> =
        futures::future::join_all(checks).await.into_iter().filter_map(Result::err).map(|e| e.to_string()).collect();
    (!problems.is_empty()).then(|| (Verdict::Fail, format!("refused: {}; nothing applied", problems.join("; "))))
}

/// The saved plan `path` names, if it is one (else `path` is a fleet).
fn read_plan_file(path: &std::path::Path) -> Result<Option<PlanFile>, Failure> {
    if !path.is_file() {
        return Ok(None);
    }
    let bytes = std::fs::read(path).map_err(|e| Failure::Input(format!("cannot read {}: {e}", path.display())))?;
    if !PlanFile::looks_like(&bytes) {
        return Ok(None);
    }
    PlanFile::parse(&bytes)
        .map(Some)
        .map_err(|why| Failure::Input(format!("{}: not a usable plan: {why}", path.display())))
}

/// Why nothing may be applied, as the verdict and the words.
fn refuse(settings: &ApplySettings, planned: &[Planned]) -> Option<(Verdict, String)> {
    use bulkhead_jobs::apply::Refusal;
    let refusal = bulkhead_jobs::apply::refusal(planned, settings.max_delete, settings.allow_mass_delete)?;
    let verdict = match refusal {
        Refusal::Unreachable(_) => Verdict::Unreachable,
        Refusal::Refused(_) => Verdict::Invalid,
        Refusal::MassDelete(_) => Verdict::Fail,
    };
    Some((verdict, refusal.message().to_string()))
}

/// Asks a person, on the terminal, whether a wave may start.
fn approve(wave: &WavePlan, yes: bool) -> bool {
    #[allow(clippy::print_stderr)] // the prompt and its answer belong to the terminal, not the report
    {
        if yes {
            eprintln!("wave {} needs approval: approved by --yes", wave.name);
            return true;
        }
        if !std::io::stdin().is_terminal() {
            eprintln!("wave {} needs approval and there is no terminal to ask on; pass --yes to approve it", wave.name);
            return false;
        }
        eprint!("Apply wave {} ({})? [y/N] ", wave.name, wave.clusters.join(", "));
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        matches!(answer.trim(), "y" | "Y" | "yes")
    }
}

#[allow(clippy::print_stderr)] // progress goes to the terminal; the report to standard output
fn show_progress(event: &Event) {
    match event {
        Event::WaveStarted { wave, clusters } => eprintln!("wave {wave}: applying to {}", clusters.join(", ")),
        Event::ClusterApplied(a) => eprintln!(
            "  {}: {} created, {} updated, {} deleted{}",
            a.cluster,
            a.created.len(),
            a.updated.len(),
            a.deleted.len(),
            if a.failed.is_empty() { String::new() } else { format!(", {} FAILED", a.failed.len()) }
        ),
        Event::WaitingForHealth { wave } => eprintln!("wave {wave}: waiting for its workloads to roll out"),
        Event::WaveHealthy { wave } => eprintln!("wave {wave}: healthy"),
    }
}

fn report(
    settings: &ApplySettings,
    planned: &[Planned],
    results: &[WaveResult],
    refusal: Option<&(Verdict, String)>,
    out: &mut dyn Write,
) -> Result<Verdict, Failure> {
    let verdict = match refusal {
        Some((v, _)) => *v,
        None if results.iter().all(WaveResult::succeeded) => Verdict::Pass,
        None => Verdict::Fail,
    };
    match settings.output {
        OutputFormat::Json => {
            let doc = json!({
                "verdict": verdict.as_str(),
                "refused": refusal.map(|(_, why)| why),
                "plan": super::plan::to_json(planned),
                "waves": results,
            });
            serde_json::to_writer_pretty(&mut *out, &doc).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        _ => {
            if let Some((_, why)) = refusal {
                writeln!(out, "{why}")?;
            } else if results.is_empty() {
                writeln!(out, "Nothing to apply.")?;
            }
        }
    }
    Ok(verdict)
}

fn report_waves(
    settings: &ApplySettings,
    fleet: &Fleet,
    planned: &[Planned],
    waves: &[WavePlan],
    results: &[WaveResult],
    out: &mut dyn Write,
) -> Result<Verdict, Failure> {
    if settings.output == OutputFormat::Human {
        writeln!(out)?;
        for r in results {
            for a in &r.applied {
                writeln!(
                    out,
                    "wave {}: {}: {} created, {} updated, {} deleted, {} left unmanaged",
                    r.wave,
                    a.cluster,
                    a.created.len(),
                    a.updated.len(),
                    a.deleted.len(),
                    a.orphaned.len()
                )?;
                for (key, why) in &a.failed {
                    writeln!(out, "  failed {key}: {why}")?;
                }
            }
            for (cluster, why) in &r.errors {
                writeln!(out, "wave {}: {cluster}: not applied: {why}", r.wave)?;
            }
            for u in &r.unhealthy {
                writeln!(out, "wave {}: {}: {} is not healthy: {}", r.wave, u.cluster, u.key, u.why)?;
            }
            if r.declined {
                writeln!(out, "wave {}: not approved; stopped before it", r.wave)?;
            }
        }
        let done = results.len();
        if let Some(failed) = results.iter().find(|r| !r.succeeded()) {
            let later: Vec<&str> = waves.iter().skip(done).map(|w| w.name.as_str()).collect();
            let left = if later.is_empty() { String::new() } else { format!("; not started: {}", later.join(", ")) };
            writeln!(out, "Stopped at wave {}{left}.", failed.wave)?;
        } else {
            writeln!(out, "Applied {} wave(s) to fleet {}; every wave healthy.", done, fleet.file.metadata.name)?;
        }
    }
    report(settings, planned, results, None, out)
}
