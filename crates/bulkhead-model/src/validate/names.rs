//! Unique names, and references between parts of the fleet.

use std::collections::HashMap;

use super::Ctx;
use crate::diagnostic::Code;
use crate::spec::FleetFile;

pub(super) fn check(ctx: &mut Ctx<'_>, fleet: &FleetFile) {
    let spec = &fleet.spec;
    unique(ctx, "provider", spec.providers.iter().map(|p| p.name.as_str()), "spec/providers");
    for (pi, p) in spec.providers.iter().enumerate() {
        let base = format!("spec/providers/{pi}/regions");
        unique(ctx, "region", p.regions.iter().map(|r| r.name.as_str()), &base);
        for (ri, r) in p.regions.iter().enumerate() {
            unique(ctx, "zone", r.zones.iter().map(String::as_str), &format!("{base}/{ri}/zones"));
            unique(ctx, "rack", r.racks.iter().map(String::as_str), &format!("{base}/{ri}/racks"));
            if r.zones.is_empty() {
                ctx.error(
                    Code::InvalidValue,
                    &format!("{base}/{ri}/zones"),
                    format!("region `{}` has no zones", r.name),
                    "list at least one zone; a bare-metal site is one zone named after the site",
                );
            }
            for (k, rack) in r.racks.iter().enumerate() {
                let path = format!("{base}/{ri}/racks/{k}");
                match rack.split_once('/') {
                    Some((zone, _)) if !r.zones.iter().any(|z| z == zone) => {
                        let known: Vec<&str> = r.zones.iter().map(String::as_str).collect();
                        ctx.unknown_in(&path, Some(&format!("region `{}`", r.name)), "zone", zone, &known);
                    }
                    None if r.zones.len() > 1 => ctx.error(
                        Code::InvalidValue,
                        &path,
                        format!(
                            "rack `{rack}` does not say which of region `{}`'s {} zones it stands in",
                            r.name,
                            r.zones.len()
                        ),
                        format!("write `{}/{rack}`", r.zones[0]),
                    ),
                    _ => {}
                }
            }
        }
    }
    unique(ctx, "cluster", spec.clusters.iter().map(|c| c.name.as_str()), "spec/clusters");
    unique(ctx, "app", spec.apps.iter().map(|a| a.name.as_str()), "spec/apps");
    unique(ctx, "baseline", spec.baselines.iter().map(|b| b.name.as_str()), "spec/baselines");
    unique(ctx, "repository", spec.dr.repositories.iter().map(|r| r.name.as_str()), "spec/dr/repositories");
    unique(ctx, "policy", spec.dr.policies.iter().map(|p| p.name.as_str()), "spec/dr/policies");
    unique(ctx, "drill", spec.dr.drills.iter().map(|d| d.name.as_str()), "spec/dr/drills");
    for (ai, app) in spec.apps.iter().enumerate() {
        unique(ctx, "check", app.checks.iter().map(|c| c.name.as_str()), &format!("spec/apps/{ai}/checks"));
    }
    unique(ctx, "wave", spec.rollout.waves.iter().map(|w| w.name.as_str()), "spec/rollout/waves");
    unique(ctx, "external range", spec.network.external.iter().map(|e| e.name.as_str()), "spec/network/external");

    let providers: Vec<&str> = spec.providers.iter().map(|p| p.name.as_str()).collect();
    for (ci, c) in spec.clusters.iter().enumerate() {
        let base = format!("spec/clusters/{ci}");
        unique(ctx, "node pool", c.node_pools.iter().map(|p| p.name.as_str()), &format!("{base}/nodePools"));
        unique(
            ctx,
            "storage class",
            c.storage_classes.iter().map(|s| s.name.as_str()),
            &format!("{base}/storageClasses"),
        );
        let defaults = c.storage_classes.iter().filter(|s| s.default).count();
        if defaults > 1 {
            ctx.warning(
                Code::InvalidValue,
                &format!("{base}/storageClasses"),
                format!("cluster `{}` has {defaults} default storage classes", c.name),
                "Kubernetes picks one of them at random for claims without a class; keep one default",
            );
        }
        let location = format!("{base}/location");
        let Some((provider, region)) = c.provider_and_region() else {
            ctx.error(
                Code::InvalidValue,
                &location,
                format!("location `{}` is not `provider/region`", c.location),
                "write the provider's name and the region's, such as `aws/us-east-1`",
            );
            continue;
        };
        let Some(p) = spec.providers.iter().find(|p| p.name == provider) else {
            ctx.unknown(&location, "provider", provider, &providers);
            continue;
        };
        let Some(r) = p.regions.iter().find(|r| r.name == region) else {
            let regions: Vec<&str> = p.regions.iter().map(|r| r.name.as_str()).collect();
            ctx.unknown_in(&location, Some(&format!("provider `{provider}`")), "region", region, &regions);
            continue;
        };
        let zones: Vec<&str> = r.zones.iter().map(String::as_str).collect();
        let racks: Vec<&str> = r.racks.iter().map(|x| x.rsplit('/').next().unwrap_or(x)).collect();
        for (pi, pool) in c.node_pools.iter().enumerate() {
            for (zi, z) in pool.zones.iter().enumerate() {
                if !zones.contains(&z.as_str()) {
                    ctx.unknown_in(
                        &format!("{base}/nodePools/{pi}/zones/{zi}"),
                        Some(&format!("`{}`", c.location)),
                        "zone",
                        z,
                        &zones,
                    );
                }
            }
            for (ki, k) in pool.racks.iter().enumerate() {
                let short = k.rsplit('/').next().unwrap_or(k);
                if !racks.contains(&short) {
                    ctx.unknown_in(
                        &format!("{base}/nodePools/{pi}/racks/{ki}"),
                        Some(&format!("`{}`", c.location)),
                        "rack",
                        k,
                        &racks,
                    );
                }
            }
        }
        for (zi, z) in c.control_plane.etcd.zones.iter().enumerate() {
            if !zones.contains(&z.as_str()) {
                ctx.unknown_in(
                    &format!("{base}/controlPlane/etcd/zones/{zi}"),
                    Some(&format!("`{}`", c.location)),
                    "zone",
                    z,
                    &zones,
                );
            }
        }
    }

    let clusters: Vec<&str> = spec.clusters.iter().map(|c| c.name.as_str()).collect();
    let apps: Vec<&str> = spec.apps.iter().map(|a| a.name.as_str()).collect();
    let repos: Vec<&str> = spec.dr.repositories.iter().map(|r| r.name.as_str()).collect();
    let policies: Vec<&str> = spec.dr.policies.iter().map(|p| p.name.as_str()).collect();
    let cluster_names = |ctx: &mut Ctx<'_>, names: &[String], path: &str| {
        for (i, n) in names.iter().enumerate() {
            if !clusters.contains(&n.as_str()) {
                ctx.unknown(&format!("{path}/{i}"), "cluster", n, &clusters);
            }
        }
    };
    for (ai, a) in spec.apps.iter().enumerate() {
        cluster_names(ctx, &a.placement.clusters.names, &format!("spec/apps/{ai}/placement/clusters/names"));
        for (oi, o) in a.overlays.iter().enumerate() {
            cluster_names(ctx, &o.clusters.names, &format!("spec/apps/{ai}/overlays/{oi}/clusters/names"));
        }
        if let Some(b) = &a.backup
            && !policies.contains(&b.policy.as_str())
        {
            ctx.unknown(&format!("spec/apps/{ai}/backup/policy"), "backup policy", &b.policy, &policies);
        }
    }
    for (bi, b) in spec.baselines.iter().enumerate() {
        cluster_names(ctx, &b.clusters.names, &format!("spec/baselines/{bi}/clusters/names"));
    }
    for (wi, w) in spec.rollout.waves.iter().enumerate() {
        cluster_names(ctx, &w.clusters.names, &format!("spec/rollout/waves/{wi}/clusters/names"));
    }
    let locations: Vec<String> =
        spec.providers.iter().flat_map(|p| p.regions.iter().map(move |r| format!("{}/{}", p.name, r.name))).collect();
    for (ri, r) in spec.dr.repositories.iter().enumerate() {
        if let Some(l) = &r.location
            && !locations.contains(l)
        {
            let known: Vec<&str> = locations.iter().map(String::as_str).collect();
            ctx.unknown(&format!("spec/dr/repositories/{ri}/location"), "location", l, &known);
        }
    }
    for (pi, p) in spec.dr.policies.iter().enumerate() {
        if !repos.contains(&p.repository.as_str()) {
            ctx.unknown(&format!("spec/dr/policies/{pi}/repository"), "repository", &p.repository, &repos);
        }
    }
    for (di, d) in spec.dr.drills.iter().enumerate() {
        let base = format!("spec/dr/drills/{di}");
        if !apps.contains(&d.app.as_str()) {
            ctx.unknown(&format!("{base}/app"), "app", &d.app, &apps);
        }
        for (field, name) in [("from", &d.from), ("to", &d.to)] {
            if !clusters.contains(&name.as_str()) {
                ctx.unknown(&format!("{base}/{field}"), "cluster", name, &clusters);
            }
        }
        if d.from == d.to {
            ctx.error(
                Code::InvalidValue,
                &format!("{base}/to"),
                format!("drill `{}` recovers into the cluster it rehearses losing", d.name),
                "recover into another cluster, ideally in another region",
            );
        }
    }
}

/// Reports the second and later uses of each name.
fn unique<'a>(ctx: &mut Ctx<'_>, what: &str, names: impl Iterator<Item = &'a str>, path: &str) {
    // Lists of plain names point at the item; lists of objects at its `name`.
    let item =
        |i: usize| if matches!(what, "zone" | "rack") { format!("{path}/{i}") } else { format!("{path}/{i}/name") };
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, name) in names.enumerate() {
        if let Some(&first) = seen.get(name) {
            let first_line = ctx.span(&item(first)).map_or(0, |s| s.line);
            ctx.error(
                Code::DuplicateName,
                &item(i),
                format!("{what} `{name}` is defined twice"),
                format!("the first is on line {first_line}; names must be unique"),
            );
        } else {
            seen.insert(name, i);
        }
    }
}
