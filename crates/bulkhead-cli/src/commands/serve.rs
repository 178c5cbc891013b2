//! `bulkhead serve` and `bulkhead jobs list | show`: the controller, and
//! the history it keeps.

use std::io::Write;
use std::path::PathBuf;

use bulkhead_jobs::CancellationToken;
use bulkhead_model::Verdict;
use bulkhead_report::{OutputFormat, Table};
use bulkhead_schedule::Intervals;
use bulkhead_serve::{History, Settings};

use super::recovery::environment;
use crate::args::{JobsListArgs, JobsShowArgs, ServeArgs, StateArg};
use crate::env_vars;
use crate::error::Failure;
use crate::settings::output;

/// The state directory: `--state`, or the XDG default.
fn state_dir(state: Option<&PathBuf>) -> Result<PathBuf, Failure> {
    if let Some(dir) = state {
        return Ok(dir.clone());
    }
    if let Some(base) = std::env::var_os(env_vars::XDG_STATE_HOME).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(base).join("bulkhead"));
    }
    match std::env::var_os(env_vars::HOME).filter(|v| !v.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".local/state/bulkhead")),
        None => Err(Failure::Usage("no --state given and neither XDG_STATE_HOME nor HOME is set".into())),
    }
}

/// The job kinds `--timeout` takes.
const KINDS: [&str; 7] = ["backup", "retention", "etcd-snapshot", "etcd-watch", "drill", "drift", "check"];

/// A `--timeout KIND=DURATION`: the kind and its limit (`None`: no limit).
fn timeout(pair: &str) -> Result<(String, Option<std::time::Duration>), Failure> {
    let bad = |why: String| Failure::Usage(format!("--timeout {pair}: {why}"));
    let (kind, limit) = pair.split_once('=').ok_or_else(|| bad("give KIND=DURATION, such as backup=2h".into()))?;
    if !KINDS.contains(&kind) {
        return Err(bad(format!("`{kind}` is not a job kind; they are {}", KINDS.join(", "))));
    }
    if limit == "0" {
        return Ok((kind.to_string(), None));
    }
    let limit = humantime::parse_duration(limit).map_err(|e| bad(e.to_string()))?;
    Ok((kind.to_string(), (!limit.is_zero()).then_some(limit)))
}

/// The host's name (a pod's) and the process id: unique among replicas.
fn default_identity() -> String {
    let host = std::env::var(env_vars::HOSTNAME)
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "bulkhead".into());
    format!("{host}-{}", std::process::id())
}

fn every(d: std::time::Duration) -> Option<std::time::Duration> {
    (!d.is_zero()).then_some(d)
}

/// Runs `serve` until SIGTERM, Ctrl-C or `--for`.
///
/// # Errors
/// A fleet with errors or a history that cannot be opened (exit 2); an
/// address that cannot be listened on (exit 3).
pub fn serve(args: &ServeArgs, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let state = state_dir(args.state.as_ref())?;
    let mut settings = Settings::new(args.fleet.fleet.clone(), &state);
    settings.listen = args.listen;
    settings.intervals = Intervals { drift: every(args.drift_every), check: every(args.check_every) };
    settings.jitter = args.jitter;
    settings.per_cluster = usize::from(args.per_cluster);
    settings.per_repository = usize::from(args.per_repository);
    settings.attempts = args.attempts;
    settings.first_backoff = args.backoff;
    settings.evidence_every = args.evidence_every.max(std::time::Duration::from_secs(1));
    settings.grace = args.grace;
    for pair in &args.timeouts {
        let (kind, limit) = timeout(pair)?;
        settings.timeouts.retain(|(k, _)| *k != kind);
        if let Some(limit) = limit {
            settings.timeouts.push((kind, limit));
        }
    }
    if args.lease_duration < std::time::Duration::from_secs(3) {
        return Err(Failure::Usage(
            "--lease-duration must be at least 3s (it is renewed a third before it ends)".into(),
        ));
    }
    settings.lease = (!args.standalone).then(|| bulkhead_serve::leader::LeaseRequest {
        cluster: args.lease_cluster.clone(),
        namespace: args.lease_namespace.clone(),
        name: args.lease_name.clone(),
        identity: args.identity.clone().unwrap_or_else(default_identity),
        duration: args.lease_duration,
        shards: args.shards,
    });
    settings.allow_overrun = args.allow_overrun;
    if args.dry_run {
        let agenda = crate::runtime::block_on(bulkhead_serve::agenda(settings, environment()))?.map_err(failure)?;
        print_agenda(&agenda, output(args.output), out)?;
        return Ok(Verdict::Pass);
    }
    let run_for = args.run_for;
    let stop = CancellationToken::new();
    crate::runtime::block_on(async move {
        crate::runtime::cancel_on_signals(stop.clone(), run_for);
        bulkhead_serve::serve(settings, environment(), stop).await
    })?
    .map_err(failure)?;
    writeln!(out, "stopped")?;
    Ok(Verdict::Pass)
}

fn failure(e: bulkhead_serve::Error) -> Failure {
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

fn open(state: &StateArg) -> Result<History, Failure> {
    let dir = state_dir(state.state.as_ref())?;
    History::open_existing(&dir.join("history.redb")).map_err(|e| Failure::Input(e.to_string()))
}

/// Runs `jobs list`.
///
/// # Errors
/// No history in the state directory (exit 2).
pub fn list(args: &JobsListArgs, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let history = open(&args.state)?;
    let runs = history.list(args.job.as_deref(), args.limit).map_err(|e| Failure::Input(e.to_string()))?;
    match output(args.output) {
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
pub fn show(args: &JobsShowArgs, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let history = open(&args.state)?;
    let run = history.get(args.id).map_err(|e| Failure::Input(e.to_string()))?.ok_or_else(|| {
        Failure::Usage(format!("no run {} in the history (`bulkhead jobs list` lists them)", args.id))
    })?;
    match output(args.output) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_read_or_say_what_is_wrong() {
        assert_eq!(timeout("backup=2h").unwrap(), ("backup".into(), Some(std::time::Duration::from_secs(7200))));
        assert_eq!(timeout("check=0").unwrap(), ("check".into(), None));
        let e = timeout("backups=1h").unwrap_err().to_string();
        assert!(e.contains("not a job kind") && e.contains("etcd-snapshot"), "{e}");
        assert!(timeout("backup").unwrap_err().to_string().contains("KIND=DURATION"));
        assert!(timeout("backup=soon").is_err());
    }
}
