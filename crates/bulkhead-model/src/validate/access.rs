//! How clusters are reached: a kubeconfig or the pod's own service account,
//! one of the two, and the pod stands in one cluster only.

use super::Ctx;
use crate::diagnostic::Code;
use crate::spec::FleetFile;

pub(super) fn check(ctx: &mut Ctx<'_>, fleet: &FleetFile) {
    let mut in_cluster: Vec<&str> = Vec::new();
    for (ci, c) in fleet.spec.clusters.iter().enumerate() {
        let Some(access) = &c.access else { continue };
        let path = format!("spec/clusters/{ci}/access");
        match (&access.kubeconfig, access.in_cluster) {
            (None, false) => ctx.error(
                Code::MissingField,
                &path,
                format!("cluster `{}` has `access` but says neither how nor where", c.name),
                "give `kubeconfig: PATH`, or `inCluster: true` for the cluster Bulkhead runs in",
            ),
            (Some(_), true) => ctx.error(
                Code::InvalidValue,
                &path,
                format!("cluster `{}` has both a `kubeconfig` and `inCluster: true`", c.name),
                "keep one: the kubeconfig outside the cluster, `inCluster` for a pod inside it",
            ),
            (None, true) => {
                in_cluster.push(&c.name);
                if access.context.is_some() {
                    ctx.error(
                        Code::InvalidValue,
                        &format!("{path}/context"),
                        format!(
                            "cluster `{}` is reached in-cluster: a kubeconfig `context` means nothing there",
                            c.name
                        ),
                        "remove `context`, or reach the cluster through a `kubeconfig`",
                    );
                }
            }
            (Some(_), false) => {}
        }
    }
    if in_cluster.len() > 1 {
        let index = fleet.spec.clusters.iter().position(|c| c.name == in_cluster[1]).unwrap_or_default();
        ctx.error(
            Code::InvalidValue,
            &format!("spec/clusters/{index}/access/inCluster"),
            format!(
                "clusters {} are each reached in-cluster, but a pod runs in one cluster",
                in_cluster.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            ),
            "keep `inCluster: true` on the cluster Bulkhead runs in; reach the others through kubeconfigs",
        );
    }
}
