//! Network ranges as written: each must parse, have no host bits, and be of
//! a form the planner can use. Overlaps are `bulkhead net check`'s job.

use ipnet::IpNet;

use super::Ctx;
use crate::diagnostic::Code;
use crate::spec::{FleetFile, RangeSpec};

pub(super) fn check(ctx: &mut Ctx<'_>, fleet: &FleetFile) {
    let net = &fleet.spec.network;
    for (i, s) in net.supernets.iter().enumerate() {
        cidr(ctx, &format!("spec/network/supernets/{i}"), s);
    }
    for (i, e) in net.external.iter().enumerate() {
        cidr(ctx, &format!("spec/network/external/{i}/cidr"), &e.cidr);
    }
    for (ci, c) in fleet.spec.clusters.iter().enumerate() {
        let base = format!("spec/clusters/{ci}/network");
        range(ctx, &format!("{base}/nodes"), &c.network.nodes);
        range(ctx, &format!("{base}/pods"), &c.network.pods);
        range(ctx, &format!("{base}/services"), &c.network.services);
        if let Some(lb) = &c.network.load_balancer {
            range(ctx, &format!("{base}/loadBalancer"), lb);
        }
        if let Some(id) = c.network.cluster_id
            && !(1..=511).contains(&id)
        {
            ctx.error(
                Code::InvalidValue,
                &format!("{base}/clusterId"),
                format!("cluster ID {id} is out of range"),
                "ClusterMesh cluster IDs run from 1 to 255 (511 with extended IDs)",
            );
        }
    }
}

fn range(ctx: &mut Ctx<'_>, path: &str, spec: &RangeSpec) {
    match spec {
        RangeSpec::One(s) if s == "auto" => {}
        RangeSpec::One(s) => {
            cidr(ctx, path, s);
        }
        RangeSpec::Many(list) => {
            let mut families = Vec::new();
            for (i, s) in list.iter().enumerate() {
                let item = format!("{path}/{i}");
                if s == "auto" {
                    ctx.error(
                        Code::InvalidCidr,
                        &item,
                        "`auto` cannot be mixed with explicit ranges",
                        "write `auto` alone, or list every range",
                    );
                } else if let Some(net) = cidr(ctx, &item, s) {
                    let v6 = matches!(net, IpNet::V6(_));
                    if families.contains(&v6) {
                        ctx.error(
                            Code::InvalidCidr,
                            &item,
                            format!("a second IPv{} range `{s}`", if v6 { 6 } else { 4 }),
                            "a dual-stack cluster has one IPv4 and one IPv6 range",
                        );
                    }
                    families.push(v6);
                }
            }
        }
    }
}

/// Parses a CIDR, reporting malformed text and host bits.
fn cidr(ctx: &mut Ctx<'_>, path: &str, text: &str) -> Option<IpNet> {
    match text.parse::<IpNet>() {
        Ok(net) if net.trunc() != net => {
            ctx.error(
                Code::InvalidCidr,
                path,
                format!("`{text}` has host bits set"),
                format!("did you mean `{}`?", net.trunc()),
            );
            None
        }
        Ok(net) => Some(net),
        Err(_) => {
            let hint = if text.parse::<std::net::IpAddr>().is_ok() {
                format!("add a prefix length, such as `{text}/16`")
            } else {
                "write an address and a prefix length, such as `10.0.0.0/16` or `fd00::/48`".to_string()
            };
            ctx.error(Code::InvalidCidr, path, format!("`{text}` is not a valid CIDR"), hint);
            None
        }
    }
}
