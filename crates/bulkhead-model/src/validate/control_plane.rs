//! Control planes: etcd quorum as declared and as placed.

use std::collections::BTreeMap;

use super::Ctx;
use crate::diagnostic::Code;
use crate::spec::{DomainLevel, FleetFile};
use crate::topology::Topology;

pub(super) fn check(ctx: &mut Ctx<'_>, fleet: &FleetFile, topology: &Topology) {
    for (ci, c) in fleet.spec.clusters.iter().enumerate() {
        let base = format!("spec/clusters/{ci}/controlPlane");
        let cp = &c.control_plane;
        if let Some(text) = &cp.node_monitor_grace_period
            && super::parse_duration(text).is_none_or(|d| d.is_zero())
        {
            ctx.error(
                Code::InvalidDuration,
                &format!("{base}/nodeMonitorGracePeriod"),
                format!("`{text}` is not a duration"),
                "write it as kube-controller-manager's flag takes it, such as `50s` or `1m`",
            );
        }
        if cp.managed {
            continue;
        }
        let members = cp.etcd.members;
        let path = format!("{base}/etcd/members");
        if members == 0 {
            ctx.error(
                Code::ControlPlaneQuorum,
                &path,
                format!("cluster `{}` has no etcd members", c.name),
                "a self-run control plane needs etcd; set `managed: true` if the provider runs it",
            );
            continue;
        }
        if members % 2 == 0 {
            ctx.warning(
                Code::ControlPlaneQuorum,
                &path,
                format!("{members} etcd members tolerate no more failures than {}", members - 1),
                format!("use {} or {} members", members - 1, members + 1),
            );
        }
        if members > 7 {
            ctx.warning(
                Code::ControlPlaneQuorum,
                &path,
                format!("{members} etcd members slow every write"),
                "etcd recommends 3 or 5 members; 7 at most",
            );
        }
        if !cp.etcd.zones.is_empty() && cp.etcd.zones.len() != members as usize {
            ctx.error(
                Code::ControlPlaneQuorum,
                &format!("{base}/etcd/zones"),
                format!("{} zones listed for {members} etcd members", cp.etcd.zones.len()),
                "list one zone per member, in order",
            );
        }
        if cp.api_servers == 1 {
            ctx.warning(
                Code::ControlPlaneQuorum,
                &format!("{base}/apiServers"),
                format!("cluster `{}` has one API server: losing it stops all changes", c.name),
                "run at least 2 API servers behind a load balancer",
            );
        }
        // A zone that holds a majority of members takes quorum down with it.
        let Some(slots) = topology.id(DomainLevel::Cluster, &c.name).and_then(|id| topology.control_plane(id)) else {
            continue;
        };
        let mut per_zone: BTreeMap<&str, u32> = BTreeMap::new();
        for &z in &slots.etcd_zones {
            *per_zone.entry(topology.get(z).label.as_str()).or_default() += 1;
        }
        let quorum = members / 2 + 1;
        if members >= 3
            && let Some((zone, n)) = per_zone.iter().find(|(_, n)| **n >= quorum)
        {
            ctx.warning(
                Code::ControlPlaneQuorum,
                &base,
                format!(
                    "{n} of cluster `{}`'s {members} etcd members run in zone `{zone}`: losing that zone loses quorum",
                    c.name
                ),
                "spread members over three zones, or keep a cluster in another site to fail over to",
            );
        }
    }
}
