//! Where apps run: selectors that choose something, spreads the chosen
//! clusters can give, traffic with somewhere to fail over to, and waves that
//! cover every cluster once.

use std::collections::BTreeSet;

use super::Ctx;
use crate::diagnostic::Code;
use crate::spec::{Cluster, ClusterIndex, ClusterSelector, FleetFile, TrafficPolicy};
use crate::topology::Topology;

pub(super) fn check(ctx: &mut Ctx<'_>, fleet: &FleetFile, topology: &Topology) {
    let clusters = &fleet.spec.clusters;
    let index = ClusterIndex::new(clusters);
    let select = |selector: &ClusterSelector| -> Vec<&Cluster> {
        index.select(clusters, selector).into_iter().map(|i| &clusters[i]).collect()
    };
    for (ai, app) in fleet.spec.apps.iter().enumerate() {
        let base = format!("spec/apps/{ai}");
        let chosen = select(&app.placement.clusters);
        if chosen.is_empty() {
            ctx.error(
                Code::EmptySelection,
                &format!("{base}/placement/clusters"),
                format!("app `{}` is placed on no cluster", app.name),
                "check the selector's names and labels against `spec.clusters`",
            );
            continue;
        }
        if let Some(spread) = &app.placement.spread {
            let mut domains = BTreeSet::new();
            for c in &chosen {
                if let Some(id) = topology.id(crate::spec::DomainLevel::Cluster, &c.name) {
                    domains.extend(topology.cluster_domains(id, spread.across));
                }
            }
            if (domains.len() as u32) < spread.min {
                let names: Vec<&str> = domains.iter().map(|&d| topology.get(d).label.as_str()).collect();
                ctx.error(
                    Code::PlacementUnsatisfiable,
                    &format!("{base}/placement/spread"),
                    format!(
                        "app `{}` must span {} {}s but its clusters span {} ({})",
                        app.name,
                        spread.min,
                        spread.across,
                        domains.len(),
                        if names.is_empty() { "none".to_string() } else { names.join(", ") }
                    ),
                    format!("place the app on clusters in more {}s, or lower `min`", spread.across),
                );
            }
        }
        for (oi, overlay) in app.overlays.iter().enumerate() {
            let placed: std::collections::HashSet<&str> = chosen.iter().map(|c| c.name.as_str()).collect();
            let extra: Vec<&str> = select(&overlay.clusters)
                .iter()
                .filter(|c| !placed.contains(c.name.as_str()))
                .map(|c| c.name.as_str())
                .collect();
            if !extra.is_empty() {
                ctx.warning(
                    Code::EmptySelection,
                    &format!("{base}/overlays/{oi}/clusters"),
                    format!("overlay selects clusters the app is not placed on: {}", extra.join(", ")),
                    "an overlay only applies where the app runs",
                );
            }
        }
        if let Some(traffic) = &app.traffic {
            let path = format!("{base}/traffic");
            if !valid_hostname(&traffic.hostname) {
                ctx.error(
                    Code::InvalidValue,
                    &format!("{path}/hostname"),
                    format!("`{}` is not a valid DNS name", traffic.hostname),
                    "use letters, digits and hyphens in dot-separated labels of at most 63 characters",
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
            if chosen.len() < 2 {
                let what = match traffic.policy {
                    TrafficPolicy::Failover => "fail over",
                    TrafficPolicy::Weighted => "shift traffic",
                };
                ctx.warning(
                    Code::PlacementUnsatisfiable,
                    &format!("{path}/policy"),
                    format!("app `{}` runs on one cluster, so DNS has nowhere to {what} to", app.name),
                    "place the app on a second cluster in another region",
                );
            }
        }
    }

    let waves = &fleet.spec.rollout.waves;
    if !waves.is_empty() {
        for c in clusters {
            let hits: Vec<usize> =
                waves.iter().enumerate().filter(|(_, w)| w.clusters.matches(c)).map(|(i, _)| i).collect();
            match hits.as_slice() {
                [] => ctx.warning(
                    Code::EmptySelection,
                    "spec/rollout/waves",
                    format!("cluster `{}` is in no rollout wave, so `apply` never reaches it", c.name),
                    "add it to a wave, or add a last wave with an empty selector",
                ),
                [_] => {}
                [first, .., last] => ctx.error(
                    Code::InvalidValue,
                    &format!("spec/rollout/waves/{last}/clusters"),
                    format!(
                        "cluster `{}` is in wave `{}` and wave `{}`",
                        c.name, waves[*first].name, waves[*last].name
                    ),
                    "a cluster changes in exactly one wave; narrow one of the selectors",
                ),
            }
        }
    }
}

fn valid_hostname(name: &str) -> bool {
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
