//! `bulkhead drill run | history`: rehearsing recovery, and what it showed.

use std::io::Write;

use bulkhead_dr::drill::DrillReport;
use bulkhead_jobs::CancellationToken;
use bulkhead_model::Verdict;
use bulkhead_report::{Failed, OutputFormat, Table, TestCase, write_cases};

use super::recovery::{environment, load_fleet, repository};
use crate::error::Failure;
use crate::settings::{DrillHistorySettings, DrillRunSettings};

/// Runs `drill run`.
///
/// # Errors
/// Bad flags or fleet (exit 2), an unreachable cluster or repository (exit 3).
pub fn run(settings: &DrillRunSettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&settings.fleet)?;
    let plan = bulkhead_jobs::drill::plan(&fleet, &settings.job, &environment())?;
    let cancel = CancellationToken::new();
    let done = crate::runtime::block_on(async {
        let interrupt = cancel.clone();
        let ctrl_c = tokio::spawn(async move {
            // No handler could be installed: the drill runs to its end.
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupt.cancel();
            }
        });
        let done = bulkhead_jobs::drill::execute(&fleet, plan, &cancel).await;
        ctrl_c.abort();
        done
    })??;
    let report = &done.report;
    match settings.output {
        OutputFormat::Json => {
            let doc = serde_json::json!({"repository": done.repository, "report": report,
                "recorded": done.recorded.as_ref().ok().map(|s| s.id.clone())});
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        OutputFormat::Junit => write_junit(out, std::slice::from_ref(report))?,
        _ => write_report(out, report)?,
    }
    done.recorded?;
    Ok(if report.passed { Verdict::Pass } else { Verdict::Fail })
}

fn seconds(s: Option<f64>) -> String {
    s.map_or_else(|| "-".to_string(), |s| format!("{s:.0} s"))
}

fn write_report(out: &mut dyn Write, r: &DrillReport) -> Result<(), Failure> {
    writeln!(
        out,
        "drill {}: app {} from `{}`'s backup{} into `{}`",
        r.drill,
        r.app,
        r.from,
        r.snapshot.as_deref().map(|s| format!(" {}", &s[..8.min(s.len())])).unwrap_or_default(),
        r.to
    )?;
    for (from, to) in &r.namespaces {
        writeln!(out, "  namespace {from} → {to} (removed afterwards)")?;
    }
    for v in &r.verifications {
        writeln!(out, "  {} {}: {}", if v.passed { "✓" } else { "✗" }, v.name, v.detail)?;
    }
    for v in &r.volumes {
        let mark = if v.bound && v.data { "✓" } else { "·" };
        writeln!(out, "    {mark} claim {}/{}: {}", v.namespace, v.claim, v.detail)?;
    }
    writeln!(
        out,
        "  RTO {} (target {}), RPO {} (target {})",
        seconds(Some(r.rto_seconds)),
        seconds(r.rto_target_seconds),
        seconds(r.rpo_seconds),
        seconds(r.rpo_target_seconds)
    )?;
    for p in &r.problems {
        writeln!(out, "  problem: {p}")?;
    }
    writeln!(out, "{}", if r.passed { "PASSED" } else { "FAILED" })?;
    Ok(())
}

/// Runs `drill history`.
///
/// # Errors
/// Bad flags or fleet (exit 2), an unreachable repository (exit 3).
pub fn history(settings: &DrillHistorySettings, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&settings.fleet)?;
    let repo = repository(&fleet, settings.repository.as_deref(), settings.app.as_deref())?;
    let reports = crate::runtime::block_on(bulkhead_jobs::drill::history(&repo, settings.app.as_deref()))??;
    match settings.output {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &serde_json::json!({"repository": repo.name, "drills": reports}))?;
            writeln!(out)?;
        }
        OutputFormat::Junit => write_junit(out, &reports)?,
        _ => {
            let mut table = Table::new(["started", "drill", "app", "to", "verdict", "RTO", "target", "RPO", "target"]);
            for r in &reports {
                table.row([
                    r.started.to_string(),
                    r.drill.clone(),
                    r.app.clone(),
                    r.to.clone(),
                    if r.passed { "passed" } else { "failed" }.to_string(),
                    seconds(Some(r.rto_seconds)),
                    seconds(r.rto_target_seconds),
                    seconds(r.rpo_seconds),
                    seconds(r.rpo_target_seconds),
                ]);
            }
            table.write(out)?;
            writeln!(out, "{} drills recorded in {}", reports.len(), repo.name)?;
        }
    }
    Ok(Verdict::Pass)
}

/// Drills as JUnit test cases: one per drill run, timed by its RTO.
fn write_junit(out: &mut dyn Write, reports: &[DrillReport]) -> Result<(), Failure> {
    let cases: Vec<TestCase> = reports
        .iter()
        .map(|r| TestCase {
            class: r.app.clone(),
            name: format!("{} ({}, {})", r.drill, r.app, r.started),
            seconds: Some(r.rto_seconds),
            failure: (!r.passed).then(|| Failed { message: r.problems.join("; "), kind: None, text: String::new() }),
        })
        .collect();
    write_cases(out, "bulkhead drills", "drills", &cases)?;
    Ok(())
}
