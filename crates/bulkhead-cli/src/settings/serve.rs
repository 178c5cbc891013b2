//! The long-running commands' flags resolved: `serve` into the server's
//! own settings, `jobs` into the history it reads, `traffic serve` into
//! the DNS instance's job.

use std::path::PathBuf;
use std::time::Duration;

use bulkhead_jobs::traffic::TrafficJob;
use bulkhead_report::OutputFormat;
use bulkhead_schedule::Intervals;
use bulkhead_traffic::rrl::Limits;

use super::output;
use crate::args::{ApiAuthArg, JobsListArgs, JobsShowArgs, ServeArgs, StateArg, TrafficServeArgs};
use crate::env_vars;
use crate::error::Failure;

/// `serve`, resolved.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// How the server runs.
    pub server: bulkhead_serve::Settings,
    /// Judge every job once and print the agenda; run nothing.
    pub dry_run: bool,
    /// Stop after this long.
    pub run_for: Option<Duration>,
    /// Output format (of the agenda).
    pub output: OutputFormat,
}

impl ServeSettings {
    /// Resolves the flags.
    ///
    /// # Errors
    /// A `--timeout` that does not read, a lease too short to renew, no
    /// state directory (exit 2).
    pub fn resolve(args: ServeArgs) -> Result<Self, Failure> {
        let state = state_dir(args.state)?;
        let mut server = bulkhead_serve::Settings::new(args.fleet.fleet, &state);
        server.listen = args.listen;
        server.intervals = Intervals { drift: every(args.drift_every), check: every(args.check_every) };
        server.jitter = args.jitter;
        server.per_cluster = usize::from(args.per_cluster);
        server.per_repository = usize::from(args.per_repository);
        server.attempts = args.attempts;
        server.first_backoff = args.backoff;
        // The repositories are not read more than once a second.
        server.evidence_every = args.evidence_every.max(Duration::from_secs(1));
        server.grace = args.grace;
        for pair in &args.timeouts {
            let (kind, limit) = timeout(pair)?;
            server.timeouts.retain(|(k, _)| *k != kind);
            if let Some(limit) = limit {
                server.timeouts.push((kind, limit));
            }
        }
        if args.lease_duration < Duration::from_secs(3) {
            return Err(Failure::Usage(
                "--lease-duration must be at least 3s (it is renewed a third before it ends)".into(),
            ));
        }
        server.lease = (!args.standalone).then(|| bulkhead_serve::leader::LeaseRequest {
            cluster: args.lease_cluster,
            namespace: args.lease_namespace,
            name: args.lease_name,
            identity: args.identity.unwrap_or_else(default_identity),
            duration: args.lease_duration,
            shards: args.shards,
        });
        server.allow_overrun = args.allow_overrun;
        server.auth = match (args.api_auth, args.api_tokens) {
            (Some(ApiAuthArg::Tokens) | None, Some(file)) => bulkhead_serve::AuthMode::Tokens(file),
            (Some(ApiAuthArg::Tokens), None) => {
                return Err(Failure::Usage("--api-auth tokens needs --api-tokens FILE".into()));
            }
            (Some(other), Some(_)) => {
                return Err(Failure::Usage(format!(
                    "--api-tokens is for --api-auth tokens, not {}",
                    if other == ApiAuthArg::Kubernetes { "kubernetes" } else { "none" }
                )));
            }
            (Some(ApiAuthArg::Kubernetes), None) => bulkhead_serve::AuthMode::Kubernetes,
            (Some(ApiAuthArg::None), None) => bulkhead_serve::AuthMode::None,
            (None, None) => bulkhead_serve::AuthMode::Auto,
        };
        server.tls =
            args.tls_cert.zip(args.tls_key).map(|(certificate, key)| bulkhead_serve::TlsFiles { certificate, key });
        server.traffic_key = args.traffic_key;
        Ok(Self { server, dry_run: args.dry_run, run_for: args.run_for, output: output(args.output) })
    }
}

/// The state directory: `--state`, or the XDG default.
fn state_dir(state: Option<PathBuf>) -> Result<PathBuf, Failure> {
    if let Some(dir) = state {
        return Ok(dir);
    }
    if let Some(base) = std::env::var_os(env_vars::XDG_STATE_HOME).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(base).join("bulkhead"));
    }
    match std::env::var_os(env_vars::HOME).filter(|v| !v.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".local/state/bulkhead")),
        None => Err(Failure::Usage("no --state given and neither XDG_STATE_HOME nor HOME is set".into())),
    }
}

/// The history's file in the state directory `--state` names (or the default).
fn history_file(state: StateArg) -> Result<PathBuf, Failure> {
    Ok(state_dir(state.state)?.join("history.redb"))
}

/// The job kinds `--timeout` takes.
const KINDS: [&str; 7] = ["backup", "retention", "etcd-snapshot", "etcd-watch", "drill", "drift", "check"];

/// A `--timeout KIND=DURATION`: the kind and its limit (`None`: no limit).
fn timeout(pair: &str) -> Result<(String, Option<Duration>), Failure> {
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

/// `0` means never.
fn every(d: Duration) -> Option<Duration> {
    (!d.is_zero()).then_some(d)
}

/// `jobs list`, resolved.
#[derive(Debug, Clone)]
pub struct JobsListSettings {
    /// The history's file.
    pub history: PathBuf,
    /// One job's runs only.
    pub job: Option<String>,
    /// The newest this many.
    pub limit: usize,
    /// Output format.
    pub output: OutputFormat,
}

impl JobsListSettings {
    /// Resolves the flags.
    ///
    /// # Errors
    /// No state directory (exit 2).
    pub fn resolve(args: JobsListArgs) -> Result<Self, Failure> {
        Ok(Self { history: history_file(args.state)?, job: args.job, limit: args.limit, output: output(args.output) })
    }
}

/// `jobs show`, resolved.
#[derive(Debug, Clone)]
pub struct JobsShowSettings {
    /// The history's file.
    pub history: PathBuf,
    /// The run shown.
    pub id: u64,
    /// Output format.
    pub output: OutputFormat,
}

impl JobsShowSettings {
    /// Resolves the flags.
    ///
    /// # Errors
    /// No state directory (exit 2).
    pub fn resolve(args: JobsShowArgs) -> Result<Self, Failure> {
        Ok(Self { history: history_file(args.state)?, id: args.id, output: output(args.output) })
    }
}

/// `traffic serve`, resolved (it logs; its output is one line when it stops).
#[derive(Debug, Clone)]
pub struct TrafficServeSettings {
    /// The fleet directory or file.
    pub fleet: PathBuf,
    /// The instance served, and how.
    pub job: TrafficJob,
    /// Stop after this long.
    pub run_for: Option<Duration>,
}

impl TrafficServeSettings {
    /// Resolves the flags.
    pub fn resolve(args: TrafficServeArgs) -> Self {
        let job = TrafficJob {
            instance: args.instance,
            listen: args.listen,
            peer_listen: args.peer_listen,
            peer_key: args.peer_key,
            transfer_keys: args.transfer_key,
            primary: args.primary.zip(args.primary_key),
            notify: args.notify,
            limits: Limits { per_second: args.rate_limit, slip: args.slip },
            api_health: !args.no_api_health,
            live: args.live,
        };
        Self { fleet: args.fleet.fleet, job, run_for: args.run_for }
    }
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
