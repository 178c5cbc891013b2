//! Where apps run: selectors that choose something, spreads the chosen
//! clusters can give, and waves that cover every cluster once.

use std::collections::BTreeSet;

use super::Ctx;
use crate::diagnostic::Code;
use crate::spec::{Cluster, ClusterIndex, ClusterSelector, FleetFile};
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
