//! Volumes: shared ReadWriteOnce claims, and (fleet-aware) storage classes
//! and access modes the target cluster can give, zonal volumes that pin a
//! StatefulSet to one zone, and quorum members per zone.

use bulkhead_model::spec::{AccessMode, VolumeTopology};
use bulkhead_workload::scheduling::{SpreadLevel, rule, worst_case};
use bulkhead_workload::{ClusterNodes, Kind, Object};
use k8s_openapi::api::core::v1::PersistentVolumeClaimSpec;

use super::tolerable;
use crate::engine::Ctx;
use crate::registry::*;

fn mode(text: &str) -> Option<AccessMode> {
    Some(match text {
        "ReadWriteOnce" => AccessMode::ReadWriteOnce,
        "ReadOnlyMany" => AccessMode::ReadOnlyMany,
        "ReadWriteMany" => AccessMode::ReadWriteMany,
        "ReadWriteOncePod" => AccessMode::ReadWriteOncePod,
        _ => return None,
    })
}

/// Every claim the objects make: standalone PVCs and StatefulSet templates,
/// with the object and path to report at.
fn claims<'a, 'f>(objects: &[&'a Object<'f>]) -> Vec<(&'a Object<'f>, String, &'a PersistentVolumeClaimSpec)> {
    let mut out = Vec::new();
    for o in objects {
        match &o.kind {
            Kind::Pvc(p) => {
                if let Some(s) = &p.spec {
                    out.push((*o, "spec".to_string(), s));
                }
            }
            Kind::StatefulSet(s) => {
                for (i, t) in s.spec.iter().flat_map(|s| s.volume_claim_templates.iter().flatten()).enumerate() {
                    if let Some(spec) = &t.spec {
                        out.push((*o, format!("spec/volumeClaimTemplates/{i}/spec"), spec));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

pub(super) fn run(ctx: &mut Ctx<'_, '_>) {
    let objects = ctx.objects.clone();
    for w in ctx.workloads() {
        if !matches!(w.object.kind, Kind::Deployment(_) | Kind::ReplicaSet(_)) {
            continue;
        }
        let most = match ctx.hpa_of(w.object) {
            Some(h) => h.spec.max_replicas.max(0) as u32,
            None => w.replicas,
        };
        if most < 2 {
            continue;
        }
        for (i, v) in w.pod.volumes.iter().flatten().enumerate() {
            let Some(claim) = &v.persistent_volume_claim else { continue };
            let pvc = objects.iter().find_map(|o| match &o.kind {
                Kind::Pvc(p) if o.name == claim.claim_name && o.namespace == w.object.namespace => p.spec.as_ref(),
                _ => None,
            });
            let Some(spec) = pvc else { continue };
            let modes: Vec<&str> = spec.access_modes.iter().flatten().map(String::as_str).collect();
            if !modes.is_empty() && modes.iter().all(|m| *m == "ReadWriteOnce" || *m == "ReadWriteOncePod") {
                ctx.report(
                    STORAGE_RWO_SHARED,
                    w.object,
                    &format!("{}/volumes/{i}", w.pod_path),
                    format!(
                        "{} may run {most} replicas sharing the ReadWriteOnce claim `{}`: the ones on a second node never start",
                        w.object.id(),
                        claim.claim_name
                    ),
                );
            }
        }
    }
}

pub(super) fn run_on<'a>(ctx: &mut Ctx<'_, 'a>, nodes: &ClusterNodes, placed: &[super::Placed<'_, 'a>]) {
    let objects = ctx.objects.clone();
    let tier = ctx.app.sla.tier;
    if !nodes.classes.is_empty() {
        for (o, path, spec) in claims(&objects) {
            let name = spec.storage_class_name.as_deref();
            let Some(class) = nodes.class(name) else {
                let message = match name {
                    Some(n) => format!("{} claims storage class `{n}`, which the cluster does not offer", o.id()),
                    None => format!("{} claims the default storage class, and the cluster has none", o.id()),
                };
                ctx.report(STORAGE_CLASS_MISSING, o, &format!("{path}/storageClassName"), message);
                continue;
            };
            if tier == 1 && class.snapshot_class.is_none() {
                ctx.report(
                    STORAGE_SNAPSHOT_CLASS_MISSING,
                    o,
                    &format!("{path}/storageClassName"),
                    format!(
                        "{} keeps tier-1 data on storage class `{}` of cluster `{}`, which names no snapshot class: a backup holds the claim, not the data",
                        o.id(),
                        class.name,
                        nodes.cluster
                    ),
                );
            }
            for m in spec.access_modes.iter().flatten() {
                if mode(m).is_some_and(|m| !class.access_modes.contains(&m)) {
                    ctx.report(
                        STORAGE_ACCESS_MODE_UNSUPPORTED,
                        o,
                        &format!("{path}/accessModes"),
                        format!("{} asks for {m} from storage class `{}`, which cannot give it", o.id(), class.name),
                    );
                }
            }
        }
    }
    for (p, w) in placed {
        if !matches!(w.object.kind, Kind::StatefulSet(_)) {
            continue;
        }
        let n = w.replicas;
        if p.groups.is_empty() {
            continue;
        }
        let zones = p.zones;
        let cluster_zones = nodes.zones.len() as u32;
        let zonal = claims(&[w.object]).iter().any(|(_, _, spec)| {
            nodes.class(spec.storage_class_name.as_deref()).is_some_and(|c| c.topology != VolumeTopology::Region)
        });
        if zonal && zones == 1 && cluster_zones > 1 {
            ctx.report(
                STORAGE_STATEFULSET_ONE_ZONE,
                w.object,
                &w.pod_path,
                format!(
                    "{} can only run in one of the cluster's {cluster_zones} zones, on zonal volumes: its data lives and dies in that zone",
                    w.object.id()
                ),
            );
        }
        if w.is_quorum() && n >= 3 {
            // On a one-zone site the racks are the failure domains that matter.
            let (level, count, what) = if cluster_zones <= 1 && !nodes.racks.is_empty() {
                (SpreadLevel::Rack, p.racks, "rack")
            } else {
                (SpreadLevel::Zone, zones, "zone")
            };
            let worst = worst_case(rule(w.pod, w.labels, level), n, count);
            if worst.max_per_domain > tolerable(n) {
                ctx.report(
                    STATEFULSET_QUORUM_ZONE,
                    w.object,
                    &w.pod_path,
                    format!(
                        "one {what} may hold {} of {}'s {n} members (the cluster offers {count} {what}s); losing it loses quorum, which survives only {}",
                        worst.max_per_domain,
                        w.object.id(),
                        tolerable(n)
                    ),
                );
            }
        }
    }
}
