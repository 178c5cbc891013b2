//! PodDisruptionBudgets: present, not blocking drains, keeping quorum, and
//! (fleet-aware) surviving the drain of a whole zone.

use bulkhead_workload::scheduling::{SpreadLevel, rule, worst_case};
use bulkhead_workload::{Kind, Workload, budgets_for};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::tolerable;
use crate::engine::Ctx;
use crate::registry::*;

/// How many of `n` pods the budget lets go at once.
pub(crate) fn allowed(pdb: &PodDisruptionBudget, n: u32) -> Option<u32> {
    bulkhead_workload::allowed_disruptions(pdb, n)
}

fn protected(w: &Workload<'_>) -> bool {
    matches!(w.object.kind, Kind::Deployment(_) | Kind::StatefulSet(_) | Kind::ReplicaSet(_))
}

pub(super) fn run(ctx: &mut Ctx<'_, '_>) {
    for o in ctx.objects.clone() {
        if let Kind::Pdb(p) = &o.kind
            && let Some(spec) = &p.spec
            && spec.max_unavailable.is_none()
            && spec.min_available.is_none()
        {
            ctx.report(
                PDB_POLICY_MISSING,
                o,
                "spec",
                format!("{} sets neither minAvailable nor maxUnavailable", o.id()),
            );
        }
    }
    let objects = ctx.objects.clone();
    for w in ctx.workloads() {
        if !protected(&w) {
            continue;
        }
        let n = ctx.min_replicas(&w);
        let covering = budgets_for(&objects, &w);
        if covering.is_empty() {
            if n >= 2 {
                ctx.report(
                    PDB_MISSING,
                    w.object,
                    "metadata/name",
                    format!("{} runs {n} replicas and no PodDisruptionBudget covers them", w.object.id()),
                );
            }
            continue;
        }
        for (pdb_object, pdb) in covering {
            let Some(allow) = allowed(pdb, n) else { continue };
            let spec = pdb.spec.as_ref().expect("a budget with a policy has a spec");
            let field = if spec.max_unavailable.is_some() { "spec/maxUnavailable" } else { "spec/minAvailable" };
            if n > 0 && allow == 0 {
                ctx.report(
                    PDB_BLOCKS_DRAIN,
                    pdb_object,
                    field,
                    format!(
                        "{} allows no disruption of {}'s {n} replicas: every node drain blocks",
                        pdb_object.id(),
                        w.object.id()
                    ),
                );
            }
            if w.is_quorum() && allow > tolerable(n) {
                ctx.report(
                    PDB_BREAKS_QUORUM,
                    pdb_object,
                    field,
                    format!(
                        "{} lets {allow} of {}'s {n} members go at once; quorum survives only {}",
                        pdb_object.id(),
                        w.object.id(),
                        tolerable(n)
                    ),
                );
            }
            if let Some(h) = ctx.hpa_of(w.object)
                && let Some(IntOrString::Int(min_available)) = &spec.min_available
            {
                let hpa_min = h.spec.min_replicas.unwrap_or(1);
                if *min_available >= hpa_min {
                    ctx.report(
                        PDB_HPA_MISMATCH,
                        pdb_object,
                        "spec/minAvailable",
                        format!(
                            "{} keeps minAvailable {min_available} while the HPA may scale {} down to {hpa_min}: drains block then",
                            pdb_object.id(),
                            w.object.id()
                        ),
                    );
                }
            }
        }
    }
}

pub(super) fn run_on<'a>(ctx: &mut Ctx<'_, 'a>, placed: &[super::Placed<'_, 'a>]) {
    if !ctx.on(PDB_ZONE_DRAIN) {
        return;
    }
    let objects = ctx.objects.clone();
    for (p, w) in placed {
        if !protected(w) {
            continue;
        }
        let n = ctx.min_replicas(w);
        let zones = p.zones;
        if n < 2 || zones < 2 {
            continue;
        }
        let worst = worst_case(rule(w.pod, w.labels, SpreadLevel::Zone), n, zones);
        for (pdb_object, pdb) in budgets_for(&objects, w) {
            let Some(allow) = allowed(pdb, n) else { continue };
            if allow > 0 && worst.max_per_domain > allow {
                ctx.report(
                    PDB_ZONE_DRAIN,
                    pdb_object,
                    "spec",
                    format!(
                        "one of {zones} zones may hold {} of {}'s {n} replicas, but {} allows {allow} to go: draining that zone stalls, losing it breaks the budget",
                        worst.max_per_domain,
                        w.object.id(),
                        pdb_object.id()
                    ),
                );
            }
        }
    }
}
