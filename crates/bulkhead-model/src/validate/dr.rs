//! Recovery: schedules that parse, durations that parse, repositories that
//! restic can open, and RPO targets the backup schedule can meet.

use std::time::Duration;

use super::{Ctx, parse_duration};
use crate::diagnostic::Code;
use crate::schedule::{CronSchedule, ScheduleError, a_year, reference_year, time_zone};
use crate::spec::FleetFile;

/// restic's repository URL schemes (`restic help init`).
const RESTIC_SCHEMES: &[&str] = &["local", "sftp", "rest", "s3", "b2", "azure", "gs", "swift", "rclone"];

pub(super) fn check(ctx: &mut Ctx<'_>, fleet: &FleetFile) {
    etcd_backups(ctx, fleet);
    serve(ctx, fleet);
    let zone = zone(ctx, fleet);
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
        intervals.push(schedule(ctx, &format!("spec/dr/policies/{pi}/schedule"), &policy.schedule, zone));
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
            schedule(ctx, &format!("spec/dr/drills/{di}/schedule"), s, zone);
        }
    }
    for (wi, wave) in fleet.spec.rollout.waves.iter().enumerate() {
        if let Some(p) = &wave.pause {
            duration(ctx, &format!("spec/rollout/waves/{wi}/pause"), p);
        }
    }

    for (ai, app) in fleet.spec.apps.iter().enumerate() {
        app_checks(ctx, &format!("spec/apps/{ai}/checks"), app);
        snapshot_hooks(ctx, &format!("spec/apps/{ai}/backup/hooks"), app);
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

/// The calls around an app's volume snapshots: a timeout that parses, a
/// URL and a method a backup can call, names unique within the app.
fn snapshot_hooks(ctx: &mut Ctx<'_>, base: &str, app: &crate::spec::App) {
    let hooks = app.backup.as_ref().map_or(&[][..], |b| &b.hooks[..]);
    for (hi, hook) in hooks.iter().enumerate() {
        let path = format!("{base}/{hi}");
        if hooks[..hi].iter().any(|h| h.name == hook.name) {
            ctx.error(
                Code::InvalidValue,
                &format!("{path}/name"),
                format!("app `{}` has two snapshot hooks named `{}`", app.name, hook.name),
                "give each hook a name of its own",
            );
        }
        if let Some(t) = &hook.timeout {
            duration(ctx, &format!("{path}/timeout"), t);
        }
        for (which, call) in [("pre", Some(&hook.pre)), ("post", hook.post.as_ref())] {
            let Some(call) = call else { continue };
            let scheme = call.url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
            if !matches!(scheme.as_deref(), Some("http" | "https")) {
                ctx.error(
                    Code::InvalidValue,
                    &format!("{path}/{which}/url"),
                    format!("`{}` is not an http:// or https:// URL", call.url),
                    "write the URL the backup calls, such as `http://db.shop.example:8008/freeze`",
                );
            }
            if !matches!(call.method.as_str(), "POST" | "PUT" | "GET") {
                ctx.error(
                    Code::InvalidValue,
                    &format!("{path}/{which}/method"),
                    format!("`{}` is not a method a hook calls with", call.method),
                    "write POST (the default), PUT or GET",
                );
            }
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

/// Parses a cron schedule in the fleet's zone; returns the longest gap
/// between two runs.
fn schedule(ctx: &mut Ctx<'_>, path: &str, text: &str, zone: chrono_tz::Tz) -> Option<Duration> {
    match CronSchedule::parse(text, zone) {
        Ok(schedule) => schedule.longest_gap(reference_year(), a_year()),
        Err(e) => {
            let hint = match e {
                ScheduleError::Never(_) => {
                    "choose a date that exists, such as `0 0 28 2 *` instead of the 30th of February"
                }
                _ => "write minute hour day-of-month month day-of-week, such as `*/15 * * * *`",
            };
            ctx.error(Code::InvalidSchedule, path, e.to_string(), hint);
            None
        }
    }
}

/// The fleet's time zone; UTC (after an error) when it is not one.
fn zone(ctx: &mut Ctx<'_>, fleet: &FleetFile) -> chrono_tz::Tz {
    match time_zone(fleet.spec.dr.time_zone.as_deref()) {
        Ok(zone) => zone,
        Err(e) => {
            ctx.error(
                Code::InvalidValue,
                "spec/dr/timeZone",
                e.to_string(),
                "write a name of the IANA time zone database, such as `Europe/Berlin`, `America/New_York` or `UTC`",
            );
            chrono_tz::Tz::UTC
        }
    }
}

/// `bulkhead serve`'s management cluster: one of the fleet's, reachable.
fn serve(ctx: &mut Ctx<'_>, fleet: &FleetFile) {
    let Some(serve) = &fleet.spec.serve else { return };
    match fleet.spec.clusters.iter().find(|c| c.name == serve.management_cluster) {
        None => ctx.error(
            Code::UnknownReference,
            "spec/serve/managementCluster",
            format!("`{}` is not one of the fleet's clusters", serve.management_cluster),
            "name the cluster whose Leases the replicas of `bulkhead serve` share",
        ),
        Some(c) if c.access.is_none() => ctx.error(
            Code::MissingField,
            "spec/serve/managementCluster",
            format!("management cluster `{}` has no `access`: `serve` could not reach its Leases", c.name),
            "give the cluster `access: {kubeconfig: PATH}`",
        ),
        Some(_) => {}
    }
    if let Some(ns) = &serve.lease_namespace
        && !is_dns_label(ns)
    {
        ctx.error(
            Code::InvalidValue,
            "spec/serve/leaseNamespace",
            format!("`{ns}` is not a namespace name"),
            "lowercase letters, digits and `-`, at most 63, starting and ending with a letter or digit",
        );
    }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
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
    fn restic_urls() {
        assert!(repository_url_problem("s3:http://127.0.0.1:8333/backups").is_none());
        assert!(repository_url_problem("/srv/restic").is_none());
        assert!(repository_url_problem("http://127.0.0.1/b").unwrap().contains("s3:"));
        assert!(repository_url_problem("ftp:x").is_some());
    }
}
