//! Recovery: schedules that parse, durations that parse, repositories that
//! restic can open, and RPO targets the backup schedule can meet.

use std::str::FromStr;
use std::time::Duration;

use croner::Cron;

use super::{Ctx, parse_duration};
use crate::diagnostic::Code;
use crate::spec::FleetFile;

/// restic's repository URL schemes (`restic help init`).
const RESTIC_SCHEMES: &[&str] = &["local", "sftp", "rest", "s3", "b2", "azure", "gs", "swift", "rclone"];

pub(super) fn check(ctx: &mut Ctx<'_>, fleet: &FleetFile) {
    etcd_backups(ctx, fleet);
    let dr = &fleet.spec.dr;
    for (ri, repo) in dr.repositories.iter().enumerate() {
        let base = format!("spec/dr/repositories/{ri}");
        if let Some(problem) = repository_url_problem(&repo.url) {
            ctx.error(
                Code::InvalidValue,
                &format!("{base}/url"),
                format!("`{}` is not a restic repository URL: {problem}", repo.url),
                "write a path, `s3:https://host/bucket/prefix`, or another restic backend such as `sftp:host:/path`",
            );
        } else if let Some((scheme, _)) = repo.url.split_once(':')
            && RESTIC_SCHEMES.contains(&scheme)
            && !matches!(scheme, "local" | "s3")
        {
            ctx.warning(
                Code::InvalidValue,
                &format!("{base}/url"),
                format!("Bulkhead cannot write `{scheme}:` repositories yet: `bulkhead backup` writes paths, `local:` and `s3:`"),
                "stock restic can use this repository; for Bulkhead's backups use a local or S3 repository",
            );
        }
        match (&repo.password_env, &repo.password_file) {
            (Some(_), Some(_)) => ctx.error(
                Code::InvalidValue,
                &base,
                format!("repository `{}` names two password sources", repo.name),
                "keep one of `passwordEnv` and `passwordFile`",
            ),
            (None, None) => ctx.warning(
                Code::MissingField,
                &base,
                format!("repository `{}` says nowhere to find its password", repo.name),
                "backups are always encrypted; add `passwordEnv: NAME` or `passwordFile: PATH`",
            ),
            _ => {}
        }
    }

    let mut intervals = Vec::new();
    for (pi, policy) in dr.policies.iter().enumerate() {
        intervals.push(schedule(ctx, &format!("spec/dr/policies/{pi}/schedule"), &policy.schedule));
        let k = &policy.keep;
        if [k.last, k.hourly, k.daily, k.weekly, k.monthly].iter().all(Option::is_none) {
            ctx.warning(
                Code::MissingField,
                &format!("spec/dr/policies/{pi}"),
                format!("policy `{}` keeps snapshots forever", policy.name),
                "add `keep:`, for example `{hourly: 24, daily: 7}`",
            );
        }
    }
    for (di, drill) in dr.drills.iter().enumerate() {
        if let Some(s) = &drill.schedule {
            schedule(ctx, &format!("spec/dr/drills/{di}/schedule"), s);
        }
    }
    for (wi, wave) in fleet.spec.rollout.waves.iter().enumerate() {
        if let Some(p) = &wave.pause {
            duration(ctx, &format!("spec/rollout/waves/{wi}/pause"), p);
        }
    }

    for (ai, app) in fleet.spec.apps.iter().enumerate() {
        app_checks(ctx, &format!("spec/apps/{ai}/checks"), app);
        let base = format!("spec/apps/{ai}/sla");
        if let Some(rto) = &app.sla.rto {
            duration(ctx, &format!("{base}/rto"), rto);
        }
        let rpo = app.sla.rpo.as_ref().and_then(|r| duration(ctx, &format!("{base}/rpo"), r).map(|d| (r, d)));
        if app.sla.tier == 1 && (app.sla.rto.is_none() || app.sla.rpo.is_none()) {
            ctx.warning(
                Code::MissingField,
                &base,
                format!("tier-1 app `{}` has no RTO or RPO target", app.name),
                "set `rto` and `rpo`, so drills and the blast radius can check them",
            );
        }
        let Some((rpo_text, rpo)) = rpo else { continue };
        let Some(backup) = &app.backup else {
            if !rpo.is_zero() {
                ctx.error(
                    Code::RpoUnreachable,
                    &format!("{base}/rpo"),
                    format!("app `{}` promises an RPO of {rpo_text} but no backup policy protects it", app.name),
                    "add `backup: {policy: NAME}` with a policy that runs at least that often",
                );
            }
            continue;
        };
        let Some(pi) = dr.policies.iter().position(|p| p.name == backup.policy) else { continue };
        if let Some(every) = intervals[pi]
            && every > rpo
        {
            let policy = &dr.policies[pi];
            ctx.error(
                Code::RpoUnreachable,
                &format!("{base}/rpo"),
                format!(
                    "RPO {rpo_text} cannot be met: policy `{}` (`{}`) leaves up to {} between backups",
                    policy.name,
                    policy.schedule,
                    humantime::format_duration(every)
                ),
                format!(
                    "run the policy at least every {rpo_text}, or relax the RPO to {}",
                    humantime::format_duration(every)
                ),
            );
        }
    }
}

/// An app's own checks: one way each, a timeout that parses, a URL a
/// drill can fetch.
/// Self-managed control planes: etcd backed up by a policy that exists.
fn etcd_backups(ctx: &mut Ctx<'_>, fleet: &FleetFile) {
    let spec = &fleet.spec;
    for (ci, cluster) in spec.clusters.iter().enumerate() {
        let cp = &cluster.control_plane;
        if cp.managed || cp.etcd.members == 0 {
            continue;
        }
        let base = format!("spec/clusters/{ci}/controlPlane/etcd");
        // A policy with `etcd: true` backs up the etcd of the clusters it covers.
        let by_policy = spec.dr.policies.iter().any(|p| p.etcd);
        match &cp.etcd.backup {
            None if by_policy => {}
            None => ctx.warning(
                Code::EtcdUnprotected,
                &base,
                format!("cluster `{}` runs its own control plane and nothing backs up its etcd", cluster.name),
                "add `backup: {policy: NAME}` and run `bulkhead etcd watch` (or `etcd snapshot` on the policy's schedule): without it, losing the control plane loses the cluster's state",
            ),
            Some(b) if !spec.dr.policies.iter().any(|p| p.name == b.policy) => ctx.error(
                Code::UnknownReference,
                &format!("{base}/backup/policy"),
                format!("cluster `{}` backs etcd up by policy `{}`, which `dr.policies` does not have", cluster.name, b.policy),
                "name one of `dr.policies`",
            ),
            Some(_) => {}
        }
    }
}

fn app_checks(ctx: &mut Ctx<'_>, base: &str, app: &crate::spec::App) {
    for (ci, check) in app.checks.iter().enumerate() {
        let path = format!("{base}/{ci}");
        if let Some(t) = &check.timeout {
            duration(ctx, &format!("{path}/timeout"), t);
        }
        match (&check.http, &check.job) {
            (Some(_), Some(_)) | (None, None) => ctx.error(
                Code::InvalidValue,
                &path,
                format!("check `{}` of app `{}` must say one way to check: `http` or `job`", check.name, app.name),
                "keep `http: {url: ...}` or `job: PATH-TO-JOB.yaml`, not both or neither",
            ),
            (Some(http), None) => {
                let scheme = http.url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
                if !matches!(scheme.as_deref(), Some("http" | "https")) {
                    ctx.error(
                        Code::InvalidValue,
                        &format!("{path}/http/url"),
                        format!("`{}` is not an http:// or https:// URL", http.url),
                        "write the URL the drill fetches, such as `https://shop.example.com/healthz`",
                    );
                }
                if let Some(status) = http.status
                    && !(100..=599).contains(&status)
                {
                    ctx.error(
                        Code::InvalidValue,
                        &format!("{path}/http/status"),
                        format!("{status} is not an HTTP status"),
                        "write a status from 100 to 599, such as 200, or leave it out to accept any 2xx",
                    );
                }
            }
            (None, Some(_)) => {}
        }
    }
}

/// Parses a cron schedule; returns the longest gap between two runs.
fn schedule(ctx: &mut Ctx<'_>, path: &str, text: &str) -> Option<Duration> {
    if text.split_whitespace().count() != 5 && !text.starts_with('@') {
        ctx.error(
            Code::InvalidSchedule,
            path,
            format!("`{text}` is not a five-field cron schedule"),
            "write minute hour day-of-month month day-of-week, such as `*/15 * * * *`",
        );
        return None;
    }
    match Cron::from_str(text) {
        Ok(cron) => longest_gap(&cron),
        Err(e) => {
            ctx.error(
                Code::InvalidSchedule,
                path,
                format!("`{text}` is not a valid cron schedule: {e}"),
                "write minute hour day-of-month month day-of-week, such as `*/15 * * * *`",
            );
            None
        }
    }
}

/// The longest time between consecutive runs over a year (leap day and
/// month ends included), which is the worst-case data loss of the schedule.
fn longest_gap(cron: &Cron) -> Option<Duration> {
    let start = chrono::DateTime::from_timestamp(1_767_225_600, 0)?; // 2026-01-01T00:00:00Z
    let end = start + chrono::Duration::days(400);
    let mut previous = None;
    let mut longest = chrono::Duration::zero();
    for (n, time) in cron.clone().iter_after(start).enumerate() {
        if time > end || n > 600_000 {
            break;
        }
        if let Some(p) = previous {
            longest = longest.max(time - p);
        }
        previous = Some(time);
    }
    previous?;
    longest.to_std().ok()
}

fn duration(ctx: &mut Ctx<'_>, path: &str, text: &str) -> Option<Duration> {
    let parsed = parse_duration(text);
    if parsed.is_none() {
        ctx.error(
            Code::InvalidDuration,
            path,
            format!("`{text}` is not a duration"),
            "write a number and a unit, such as `30s`, `5m` or `1h30m`",
        );
    }
    parsed
}

fn repository_url_problem(url: &str) -> Option<String> {
    if url.is_empty() {
        return Some("it is empty".into());
    }
    if url.starts_with('/') || url.starts_with("./") || url.starts_with("../") {
        return None;
    }
    let Some((scheme, rest)) = url.split_once(':') else {
        return Some("it is neither a path nor `backend:location`".into());
    };
    if scheme == "http" || scheme == "https" {
        return Some(format!("restic needs the backend first, such as `s3:{url}` or `rest:{url}`"));
    }
    if !RESTIC_SCHEMES.contains(&scheme) {
        return Some(format!("unknown backend `{scheme}`"));
    }
    if rest.is_empty() {
        return Some("the location after the backend is empty".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_of_common_schedules() {
        let gap = |s: &str| longest_gap(&Cron::from_str(s).unwrap()).unwrap();
        assert_eq!(gap("*/15 * * * *"), Duration::from_secs(900));
        assert_eq!(gap("0 * * * *"), Duration::from_secs(3600));
        assert_eq!(gap("0 2 * * *"), Duration::from_secs(86_400));
        // Weekdays only: Friday 02:00 to Monday 02:00.
        assert_eq!(gap("0 2 * * 1-5"), Duration::from_secs(3 * 86_400));
    }

    #[test]
    fn restic_urls() {
        assert!(repository_url_problem("s3:http://127.0.0.1:8333/backups").is_none());
        assert!(repository_url_problem("/srv/restic").is_none());
        assert!(repository_url_problem("http://127.0.0.1/b").unwrap().contains("s3:"));
        assert!(repository_url_problem("ftp:x").is_some());
    }
}
