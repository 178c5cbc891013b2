//! `bulkhead serve` and `bulkhead jobs list | show`: the controller, and
//! the history it keeps.

use std::io::Write;

use bulkhead_jobs::CancellationToken;
use bulkhead_model::Verdict;
use bulkhead_report::{OutputFormat, Table};
use bulkhead_serve::History;

use super::recovery::environment;
use crate::error::Failure;
use crate::settings::{JobsListSettings, JobsShowSettings, ServeSettings};

/// Runs `serve` until SIGTERM, Ctrl-C or `--for`.
///
/// # Errors
/// A fleet with errors or a history that cannot be opened (exit 2); an
/// address that cannot be listened on (exit 3).
pub fn serve(settings: &ServeSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let server = settings.server.clone();
    if settings.dry_run {
        let agenda = crate::runtime::block_on(bulkhead_serve::agenda(server, environment()))?.map_err(failure)?;
        print_agenda(&agenda, settings.output, out)?;
        return Ok(Verdict::Pass);
    }
    let run_for = settings.run_for;
    let stop = CancellationToken::new();
    crate::runtime::block_on(async move {
        crate::runtime::cancel_on_signals(stop.clone(), run_for);
        bulkhead_serve::serve(server, environment(), stop).await
    })?
    .map_err(failure)?;
    writeln!(out, "stopped")?;
    Ok(Verdict::Pass)
}

pub(super) fn failure(e: bulkhead_serve::Error) -> Failure {
    match e.fault() {
        bulkhead_model::Fault::Outside => Failure::Outside(e.to_string()),
        _ => Failure::Input(e.to_string()),
    }
}

fn ms(seconds: f64) -> String {
    format!("{:.1} ms", seconds * 1000.0)
}

/// `serve --dry-run`'s report.
fn print_agenda(agenda: &bulkhead_serve::Agenda, format: OutputFormat, out: &mut dyn Write) -> Result<(), Failure> {
    if format == OutputFormat::Json {
        serde_json::to_writer_pretty(&mut *out, agenda)?;
        writeln!(out)?;
        return Ok(());
    }
    let mut table = Table::new(["job", "schedule", "last success", "next"]);
    for job in &agenda.jobs {
        let next = match (&job.next, job.due, job.missed) {
            (_, true, m) if m > 1 => format!("due now (makes up for {m} slots)"),
            (_, true, _) => "due now".to_string(),
            (Some(t), false, _) => t.clone(),
            (None, false, _) => "-".to_string(),
        };
        table.row([
            job.job.clone(),
            job.schedule.clone(),
            job.last_success.clone().unwrap_or_else(|| "never".into()),
            next,
        ]);
    }
    table.write(out)?;
    for why in &agenda.unreadable {
        writeln!(out, "cannot read repository {why}")?;
    }
    for o in &agenda.overruns {
        writeln!(out, "cannot keep up: {o}")?;
    }
    let due = agenda.jobs.iter().filter(|j| j.due).count();
    let t = &agenda.timings;
    writeln!(
        out,
        "{} jobs, {due} due now; judged in {} (fleet read in {}, planned in {}, repositories read in {})",
        agenda.jobs.len(),
        ms(t.judge_seconds),
        ms(t.load_seconds),
        ms(t.plan_seconds),
        ms(t.evidence_seconds)
    )?;
    Ok(())
}

fn open(history: &std::path::Path) -> Result<History, Failure> {
    History::open_existing(history).map_err(|e| Failure::Input(e.to_string()))
}

/// Runs `jobs list`.
///
/// # Errors
/// No history in the state directory (exit 2).
pub fn list(settings: &JobsListSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let history = open(&settings.history)?;
    let runs = history.list(settings.job.as_deref(), settings.limit).map_err(|e| Failure::Input(e.to_string()))?;
    match settings.output {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &serde_json::json!({"runs": runs}))?;
            writeln!(out)?;
        }
        _ => {
            let mut table = Table::new(["id", "started", "job", "attempt", "outcome", "reason"]);
            for r in &runs {
                let reason = r.reason.as_deref().unwrap_or("").lines().next().unwrap_or("");
                let reason: String = if reason.chars().count() > 80 {
                    reason.chars().take(79).chain(['…']).collect()
                } else {
                    reason.into()
                };
                table.row([
                    r.id.to_string(),
                    r.started.clone(),
                    r.job.clone(),
                    r.attempt.to_string(),
                    r.outcome.as_str().to_string(),
                    reason,
                ]);
            }
            table.write(out)?;
            writeln!(out, "{} runs", runs.len())?;
        }
    }
    Ok(Verdict::Pass)
}

/// Runs `jobs show`.
///
/// # Errors
/// No history, or no such run (exit 2).
pub fn show(settings: &JobsShowSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let history = open(&settings.history)?;
    let run = history.get(settings.id).map_err(|e| Failure::Input(e.to_string()))?.ok_or_else(|| {
        Failure::Usage(format!("no run {} in the history (`bulkhead jobs list` lists them)", settings.id))
    })?;
    match settings.output {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &run)?;
            writeln!(out)?;
        }
        _ => {
            writeln!(out, "run {} of {} ({})", run.id, run.job, run.kind)?;
            if let Some(slot) = &run.slot {
                writeln!(out, "  slot     {slot} (made up for {} slot(s))", run.missed)?;
            }
            writeln!(out, "  attempt  {}", run.attempt)?;
            writeln!(out, "  started  {}", run.started)?;
            writeln!(out, "  ended    {}", run.ended.as_deref().unwrap_or("-"))?;
            writeln!(out, "  outcome  {}", run.outcome.as_str())?;
            if let Some(reason) = &run.reason {
                writeln!(out, "  reason   {reason}")?;
            }
            let f = &run.figures;
            for (name, value) in [
                ("objects", f.objects.map(|n| n.to_string())),
                ("bytes", f.bytes.map(|n| n.to_string())),
                ("removed", f.removed.map(|n| n.to_string())),
                ("RTO", f.rto_seconds.map(|s| format!("{s:.1} s"))),
                ("RPO", f.rpo_seconds.map(|s| format!("{s:.1} s"))),
                ("findings", f.findings.map(|n| n.to_string())),
            ] {
                if let Some(v) = value {
                    writeln!(out, "  {name:<8} {v}")?;
                }
            }
        }
    }
    Ok(Verdict::Pass)
}
