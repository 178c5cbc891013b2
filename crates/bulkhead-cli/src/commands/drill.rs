//! `bulkhead drill run | history`: rehearsing recovery, and what it showed.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use bulkhead_dr::checks::{AppCheck, How};
use bulkhead_dr::drill::{DrillReport, DrillRequest};
use bulkhead_model::spec::App;
use bulkhead_report::{OutputFormat, Table, Verdict};

use super::recovery::{Repo, connect_named, environment, load_fleet, repository, vault_failure};
use crate::args::{DrillHistoryArgs, DrillRunArgs};
use crate::error::Failure;
use crate::settings::output;

/// Runs `drill run`.
///
/// # Errors
/// Bad flags or fleet (exit 2), an unreachable cluster or repository (exit 3).
pub fn run(args: &DrillRunArgs, out: &mut dyn Write) -> Result<Verdict, Failure> {
    // With --app there is no drill name: a lone positional is the fleet.
    let (drill, fleet_path) = match (&args.app, &args.name) {
        (Some(_), Some(first)) if args.fleet.fleet == std::path::Path::new(".") => (None, first.into()),
        (Some(_), Some(_)) => return Err(Failure::Usage("give a drill name or --app, not both".into())),
        _ => (args.name.clone(), args.fleet.fleet.clone()),
    };
    let fleet = load_fleet(&fleet_path)?;
    let spec = &fleet.file.spec;
    let (name, app_name, from, to) = match (&drill, &args.app, &args.to) {
        (Some(name), _, _) => {
            let d = spec.dr.drills.iter().find(|d| d.name == *name).ok_or_else(|| {
                let known: Vec<&str> = spec.dr.drills.iter().map(|d| d.name.as_str()).collect();
                Failure::Usage(format!(
                    "the fleet has no drill `{name}`; it has: {}",
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                ))
            })?;
            (d.name.clone(), d.app.clone(), args.from.clone().unwrap_or_else(|| d.from.clone()), d.to.clone())
        }
        (None, Some(app), Some(to)) => {
            let from = args
                .from
                .clone()
                .ok_or_else(|| Failure::Usage("say which cluster's backup to restore: --from CLUSTER".to_string()))?;
            (format!("{app}-to-{to}"), app.clone(), from, to.clone())
        }
        _ => return Err(Failure::Usage("name a drill of fleet.yaml, or give --app, --from and --to".into())),
    };
    let app = spec
        .apps
        .iter()
        .find(|a| a.name == app_name)
        .ok_or_else(|| Failure::Input(format!("the drill's app `{app_name}` is not an app of the fleet")))?;
    let namespace = app.namespace.clone().ok_or_else(|| {
        Failure::Input(format!("app `{app_name}` has no `namespace` in fleet.yaml: a drill restores its namespace"))
    })?;
    let duration = |what: &str, text: &Option<String>| -> Result<Option<Duration>, Failure> {
        text.as_deref()
            .map(|t| {
                humantime::parse_duration(t)
                    .map_err(|e| Failure::Input(format!("app `{app_name}`'s {what} `{t}`: {e}")))
            })
            .transpose()
    };
    let Repo { location, password, name: repo_name } = repository(&fleet, args.repo.repo.as_deref(), Some(&app_name))?;
    let request = DrillRequest {
        name,
        app: app_name.clone(),
        namespaces: vec![namespace],
        from,
        to: to.clone(),
        location: location.clone(),
        password: password.clone(),
        fleet_classes: Some(bulkhead_dr::classes::FleetClasses {
            by_cluster: spec.clusters.iter().map(|c| (c.name.clone(), c.storage_classes.clone())).collect(),
            target: to.clone(),
        }),
        rto: duration("sla.rto", &app.sla.rto)?,
        rpo: duration("sla.rpo", &app.sla.rpo)?,
        timeout: args.timeout,
        checks: app_checks(&fleet.root, app)?,
        parallel: usize::from(args.parallel),
        keep: args.keep,
    };
    let env = environment();
    let report = super::block_on(async {
        let cluster = connect_named(&fleet, &to).await?;
        let cancel = async {
            // No handler could be installed: the drill runs to its end.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        bulkhead_dr::drill::run(&cluster, &request, env.clone(), cancel).await.map_err(|e| vault_failure(&e))
    })??;
    // The record, beside the snapshots.
    let recorded = {
        let (report, env) = (report.clone(), environment());
        std::thread::spawn(move || bulkhead_dr::drill::record(&location, &password, &report, &env))
            .join()
            .map_err(|_| Failure::Bug("recording the drill panicked".into()))?
    };
    match output(args.output) {
        OutputFormat::Json => {
            let doc = serde_json::json!({"repository": repo_name, "report": report,
                "recorded": recorded.as_ref().ok().map(|s| s.id.clone())});
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        _ => write_report(out, &report)?,
    }
    if let Err(e) = recorded {
        return Err(vault_failure(&e));
    }
    Ok(if report.passed { Verdict::Pass } else { Verdict::Fail })
}

/// The app's checks with their files read: a Job manifest that cannot be
/// read or is not a Job stops the drill before it starts (exit 2).
fn app_checks(root: &Path, app: &App) -> Result<Vec<AppCheck>, Failure> {
    let mut out = Vec::new();
    for check in &app.checks {
        let what = format!("app `{}`'s check `{}`", app.name, check.name);
        let timeout = match &check.timeout {
            Some(t) => {
                humantime::parse_duration(t).map_err(|e| Failure::Input(format!("{what}: timeout `{t}`: {e}")))?
            }
            None => DEFAULT_CHECK_TIMEOUT,
        };
        let how = match (&check.http, &check.job) {
            (Some(http), None) => {
                How::Http { url: http.url.clone(), status: http.status, body_contains: http.body_contains.clone() }
            }
            (None, Some(path)) => {
                How::Job(job_manifest(&root.join(path)).map_err(|e| Failure::Input(format!("{what}: {e}")))?)
            }
            _ => {
                return Err(Failure::Input(format!(
                    "{what} must have one of `http` and `job` (bulkhead validate says more)"
                )));
            }
        };
        out.push(AppCheck { name: check.name.clone(), how, timeout });
    }
    Ok(out)
}

/// How long a check may take when the fleet does not say.
const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(60);

/// A check's Job manifest: one `batch/v1` Job.
fn job_manifest(path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let job: serde_json::Value =
        serde_saphyr::from_str(&text).map_err(|e| format!("{} is not YAML: {e}", path.display()))?;
    if job["apiVersion"] != "batch/v1" || job["kind"] != "Job" {
        return Err(format!("{} is not a batch/v1 Job", path.display()));
    }
    if job.pointer("/metadata/name").and_then(serde_json::Value::as_str).is_none() {
        return Err(format!("{}: the Job has no metadata.name", path.display()));
    }
    Ok(job)
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
pub fn history(args: &DrillHistoryArgs, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&args.fleet.fleet)?;
    let Repo { location, password, name } = repository(&fleet, args.repo.repo.as_deref(), args.app.as_deref())?;
    let (app, env) = (args.app.clone(), environment());
    let reports = std::thread::spawn(move || bulkhead_dr::drill::history(&location, &password, app.as_deref(), &env))
        .join()
        .map_err(|_| Failure::Bug("reading the drill history panicked".into()))?
        .map_err(|e| vault_failure(&e))?;
    match output(args.output) {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &serde_json::json!({"repository": name, "drills": reports}))?;
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
            writeln!(out, "{} drills recorded in {name}", reports.len())?;
        }
    }
    Ok(Verdict::Pass)
}

/// JUnit, one test case per drill: what CI dashboards read.
fn write_junit(out: &mut dyn Write, reports: &[DrillReport]) -> Result<(), Failure> {
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let failures = reports.iter().filter(|r| !r.passed).count();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(out, r#"<testsuites name="bulkhead drills" tests="{}" failures="{failures}">"#, reports.len())?;
    writeln!(out, r#"  <testsuite name="drills" tests="{}" failures="{failures}">"#, reports.len())?;
    for r in reports {
        let name = escape(&format!("{} ({}, {})", r.drill, r.app, r.started));
        write!(out, r#"    <testcase classname="{}" name="{name}" time="{:.1}""#, escape(&r.app), r.rto_seconds)?;
        if r.passed {
            writeln!(out, "/>")?;
        } else {
            writeln!(out, ">")?;
            writeln!(out, r#"      <failure message="{}"/>"#, escape(&r.problems.join("; ")))?;
            writeln!(out, "    </testcase>")?;
        }
    }
    writeln!(out, "  </testsuite>\n</testsuites>")?;
    Ok(())
}
