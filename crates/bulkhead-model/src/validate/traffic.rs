//! Traffic DNS: a zone that can be served, nameservers that resolve, and
//! for each app with public traffic a hostname inside the zone and an
//! address at every cluster it runs on.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use super::{Ctx, parse_duration};
use crate::diagnostic::Code;
use crate::spec::{ClusterIndex, FleetFile, TrafficPolicy};

/// The longest TTL that still lets a failover happen within the day.
const MAX_TTL_SECONDS: u64 = 86_400;

pub(super) fn check(ctx: &mut Ctx<'_>, fleet: &FleetFile) {
    let spec = &fleet.spec;
    let clusters: Vec<&str> = spec.clusters.iter().map(|c| c.name.as_str()).collect();
    for (ci, c) in spec.clusters.iter().enumerate() {
        if let Some(ingress) = &c.ingress {
            addresses(ctx, &ingress.addresses, &format!("spec/clusters/{ci}/ingress/addresses"));
        }
    }

    let zone = spec.traffic.as_ref().map(|t| t.zone.trim_end_matches('.').to_ascii_lowercase());
    if let Some(traffic) = &spec.traffic {
        let zone = zone.as_deref().unwrap_or_default();
        if !valid_hostname(zone) || zone.starts_with("*.") {
            ctx.error(
                Code::InvalidValue,
                "spec/traffic/zone",
                format!("`{}` is not a valid DNS zone name", traffic.zone),
                "use letters, digits and hyphens in dot-separated labels, such as `gslb.example.com`",
            );
        }
        if let Some(ttl) = &traffic.ttl {
            ttl_in_range(ctx, ttl, "spec/traffic/ttl");
        }
        if let Some(admin) = &traffic.admin
            && !admin.split_once('@').is_some_and(|(user, domain)| !user.is_empty() && valid_hostname(domain))
        {
            ctx.error(
                Code::InvalidValue,
                "spec/traffic/admin",
                format!("`{admin}` is not a mailbox"),
                "write it as `user@example.com`",
            );
        }
        probes(ctx, &traffic.probes);
        if traffic.nameservers.is_empty() {
            ctx.error(
                Code::MissingField,
                "spec/traffic/nameservers",
                "the traffic zone has no nameservers",
                "list one per site: `{name: ns1, cluster: aws-use1-prod, address: 192.0.2.53}`",
            );
        }
        let mut names = HashMap::new();
        let mut ips = HashMap::new();
        for (ni, ns) in traffic.nameservers.iter().enumerate() {
            let base = format!("spec/traffic/nameservers/{ni}");
            if ns.name.contains('.') || !valid_hostname(&ns.name) {
                ctx.error(
                    Code::InvalidValue,
                    &format!("{base}/name"),
                    format!("`{}` is not a DNS label", ns.name),
                    "use letters, digits and hyphens, such as `ns1`; the server's name becomes `ns1.<zone>`",
                );
            }
            if let Some(first) = names.insert(ns.name.as_str(), ni) {
                ctx.error(
                    Code::DuplicateName,
                    &format!("{base}/name"),
                    format!("nameserver `{}` is defined twice", ns.name),
                    format!("nameserver {first} has the same name; names must be unique"),
                );
            }
            if !clusters.contains(&ns.cluster.as_str()) {
                ctx.unknown(&format!("{base}/cluster"), "cluster", &ns.cluster, &clusters);
            }
            match ns.ip() {
                None => ctx.error(
                    Code::InvalidValue,
                    &format!("{base}/address"),
                    format!("`{}` is not an IP address", ns.address),
                    "write the address the server answers on, such as `192.0.2.53` or `2001:db8::53`",
                ),
                Some(ip) => {
                    if let Some(first) = ips.insert(ip, ni) {
                        ctx.error(
                            Code::DuplicateName,
                            &format!("{base}/address"),
                            format!("nameservers {first} and {ni} share the address {ip}"),
                            "each instance needs an address of its own, or peers cannot tell them apart",
                        );
                    }
                }
            }
        }
        if traffic.nameservers.len() == 2 {
            ctx.warning(
                Code::InvalidValue,
                "spec/traffic/nameservers",
                "two nameservers cannot outvote each other: when they disagree, neither fails a site over",
                "run an odd number of instances, one per site (three or more)",
            );
        }
    }

    let index = ClusterIndex::new(&spec.clusters);
    let mut hostnames: HashMap<String, usize> = HashMap::new();
    for (ai, app) in spec.apps.iter().enumerate() {
        let Some(traffic) = &app.traffic else { continue };
        let path = format!("spec/apps/{ai}/traffic");
        let hostname = traffic.hostname.trim_end_matches('.').to_ascii_lowercase();
        if !valid_hostname(&hostname) {
            ctx.error(
                Code::InvalidValue,
                &format!("{path}/hostname"),
                format!("`{}` is not a valid DNS name", traffic.hostname),
                "use letters, digits and hyphens in dot-separated labels of at most 63 characters",
            );
        } else if let Some(zone) = &zone {
            if hostname == *zone {
                ctx.error(
                    Code::TrafficUnroutable,
                    &format!("{path}/hostname"),
                    format!("`{}` is the zone's apex, which holds its SOA and NS records", traffic.hostname),
                    format!("use a name inside it, such as `{}.{zone}`", app.name),
                );
            } else if !hostname.ends_with(&format!(".{zone}")) {
                ctx.error(
                    Code::TrafficUnroutable,
                    &format!("{path}/hostname"),
                    format!("`{}` is outside the traffic zone `{zone}`", traffic.hostname),
                    format!(
                        "use a name such as `{}.{zone}` (a CNAME from `{}` to it keeps the public name)",
                        app.name, traffic.hostname
                    ),
                );
            }
        }
        if let Some(first) = hostnames.insert(hostname.clone(), ai) {
            ctx.error(
                Code::DuplicateName,
                &format!("{path}/hostname"),
                format!("apps `{}` and `{}` share the hostname `{hostname}`", spec.apps[first].name, app.name),
                "each hostname answers for one app",
            );
        }
        if !traffic.health_path.starts_with('/') {
            ctx.error(
                Code::InvalidValue,
                &format!("{path}/healthPath"),
                format!("health path `{}` does not start with `/`", traffic.health_path),
                format!("write `/{}`", traffic.health_path),
            );
        }
        if let Some(ttl) = &traffic.ttl {
            ttl_in_range(ctx, ttl, &format!("{path}/ttl"));
        }

        let placed: Vec<&str> =
            index.select(&spec.clusters, &app.placement.clusters).into_iter().map(|i| clusters[i]).collect();
        if placed.len() == 1 {
            let what = match traffic.policy {
                TrafficPolicy::Failover => "fail over",
                TrafficPolicy::Weighted | TrafficPolicy::RoundRobin => "shift traffic",
            };
            ctx.warning(
                Code::PlacementUnsatisfiable,
                &format!("{path}/policy"),
                format!("app `{}` runs on one cluster, so DNS has nowhere to {what} to", app.name),
                "place the app on a second cluster in another region",
            );
        }
        for cluster in traffic.weights.keys() {
            if !placed.contains(&cluster.as_str()) {
                ctx.unknown_in(
                    &format!("{path}/weights"),
                    Some(&format!("app `{}`'s placement", app.name)),
                    "cluster",
                    cluster,
                    &placed,
                );
            }
        }
        if !traffic.weights.is_empty() && traffic.policy != TrafficPolicy::Weighted {
            ctx.warning(
                Code::InvalidValue,
                &format!("{path}/weights"),
                format!("weights are only read by the `weighted` policy; this app's is `{}`", traffic.policy),
                "set `policy: weighted`, or remove the weights",
            );
        }
        if traffic.policy == TrafficPolicy::Weighted
            && !placed.is_empty()
            && placed.iter().all(|c| traffic.weights.get(*c) == Some(&0))
        {
            ctx.error(
                Code::InvalidValue,
                &format!("{path}/weights"),
                "every weight is 0",
                "give at least one cluster a positive weight",
            );
        }
        for (cluster, list) in &traffic.addresses {
            let at = format!("{path}/addresses/{cluster}");
            if !placed.contains(&cluster.as_str()) {
                ctx.unknown_in(&at, Some(&format!("app `{}`'s placement", app.name)), "cluster", cluster, &placed);
            }
            addresses(ctx, list, &at);
        }
        if spec.traffic.is_some() {
            let unroutable: Vec<&str> = placed
                .iter()
                .copied()
                .filter(|c| {
                    let own = traffic.addresses.get(*c).is_some_and(|a| !a.is_empty());
                    let shared = spec
                        .clusters
                        .iter()
                        .find(|k| k.name == *c)
                        .and_then(|k| k.ingress.as_ref())
                        .is_some_and(|i| !i.addresses.is_empty());
                    !own && !shared
                })
                .collect();
            // A cluster Bulkhead can reach may report its addresses itself
            // (`traffic serve --live`); one it cannot reach has none at all.
            let (reachable, blind): (Vec<&str>, Vec<&str>) = unroutable
                .iter()
                .partition(|c| spec.clusters.iter().find(|k| k.name == **c).is_some_and(|k| k.access.is_some()));
            let list = |cs: &[&str]| cs.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
            if !blind.is_empty() {
                ctx.error(
                    Code::TrafficUnroutable,
                    &path,
                    format!("app `{}` runs on {} with no address for its traffic there", app.name, list(&blind)),
                    "give the cluster `ingress: {addresses: [...]}`, or the app `traffic.addresses`",
                );
            }
            if !reachable.is_empty() {
                ctx.warning(
                    Code::TrafficUnroutable,
                    &path,
                    format!("app `{}` has no address for its traffic on {} in the fleet", app.name, list(&reachable)),
                    "`bulkhead traffic serve --live` reads them from the cluster; or give `ingress: {addresses: [...]}`",
                );
            }
        }
    }
}

/// Each entry is an IP address, listed once.
fn addresses(ctx: &mut Ctx<'_>, list: &[String], path: &str) {
    let mut seen = BTreeSet::new();
    for (i, text) in list.iter().enumerate() {
        match text.parse::<IpAddr>() {
            Err(_) => ctx.error(
                Code::InvalidValue,
                &format!("{path}/{i}"),
                format!("`{text}` is not an IP address"),
                "write an IPv4 or IPv6 address, such as `203.0.113.10`; DNS answers with it as an A or AAAA record",
            ),
            Ok(ip) if ip.is_unspecified() || ip.is_multicast() => ctx.error(
                Code::InvalidValue,
                &format!("{path}/{i}"),
                format!("{ip} cannot receive traffic"),
                "write the ingress or load balancer's address",
            ),
            Ok(ip) => {
                if !seen.insert(ip) {
                    ctx.error(
                        Code::DuplicateName,
                        &format!("{path}/{i}"),
                        format!("{ip} is listed twice"),
                        "list each address once",
                    );
                }
            }
        }
    }
}

fn ttl_in_range(ctx: &mut Ctx<'_>, ttl: &str, path: &str) {
    match parse_duration(ttl) {
        None => {
            ctx.error(Code::InvalidDuration, path, format!("`{ttl}` is not a duration"), "write it like `30s` or `5m`")
        }
        Some(d) if d.as_secs() == 0 || d.as_secs() > MAX_TTL_SECONDS => ctx.error(
            Code::InvalidValue,
            path,
            format!("a TTL of `{ttl}` is out of range"),
            "use between 1s and 1d; a failover reaches users only after the TTL",
        ),
        Some(_) => {}
    }
}

fn probes(ctx: &mut Ctx<'_>, probes: &crate::spec::Probes) {
    let interval = parse_duration(&probes.interval);
    let timeout = parse_duration(&probes.timeout);
    for (value, parsed, field) in [(&probes.interval, interval, "interval"), (&probes.timeout, timeout, "timeout")] {
        match parsed {
            None => ctx.error(
                Code::InvalidDuration,
                &format!("spec/traffic/probes/{field}"),
                format!("`{value}` is not a duration"),
                "write it like `2s` or `500ms`",
            ),
            Some(d) if d.is_zero() => ctx.error(
                Code::InvalidValue,
                &format!("spec/traffic/probes/{field}"),
                format!("a probe {field} of `{value}` is zero"),
                "use at least `100ms`",
            ),
            Some(_) => {}
        }
    }
    if let (Some(interval), Some(timeout)) = (interval, timeout)
        && timeout > interval
    {
        ctx.warning(
            Code::InvalidValue,
            "spec/traffic/probes/timeout",
            format!("the probe timeout `{}` is longer than the interval `{}`", probes.timeout, probes.interval),
            "a slow site is then probed less often than the interval says; shorten the timeout",
        );
    }
}

/// A DNS name of letters, digits and hyphens (and a leading `*.`).
pub(crate) fn valid_hostname(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    let name = name.strip_prefix("*.").unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn hostnames() {
        for ok in ["bid.example.com", "a.b", "*.example.com", "x-1.example.com."] {
            assert!(super::valid_hostname(ok), "{ok}");
        }
        for bad in ["", "bid..example.com", "-a.com", "a_b.com", &"a".repeat(64)] {
            assert!(!super::valid_hostname(bad), "{bad}");
        }
    }
}
