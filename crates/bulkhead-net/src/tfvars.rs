//! One Terraform variables file per cluster (`<cluster>.auto.tfvars.json`),
//! so provisioning pipelines use the plan as it is. Variable names follow
//! the community VPC modules (`azs`, `private_subnets`, `public_subnets`).

use serde_json::{Value, json};

use crate::plan::ClusterPlan;
use crate::range::{Family, RangeKind};

/// The variables of one cluster.
pub fn tfvars(plan: &ClusterPlan) -> Value {
    let pick = |kind: RangeKind, family: Family| -> Value {
        plan.of(kind).find(|r| Family::of(&r.net) == family).map_or(Value::Null, |r| json!(r.net.to_string()))
    };
    let all = |kind: RangeKind| -> Vec<String> { plan.of(kind).map(|r| r.net.to_string()).collect() };
    let subnets = |family: Family, which: fn(&crate::plan::ZoneSubnets) -> String| -> Vec<String> {
        plan.zones.iter().filter(|z| Family::of(&z.private) == family).map(which).collect()
    };
    // Each zone once, in the plan's order: a dual-stack plan lists every zone
    // once per family (v4 zones, then v6 zones), so neighbours are not enough.
    let mut seen = std::collections::HashSet::new();
    let azs: Vec<&str> = plan.zones.iter().map(|z| z.zone.as_str()).filter(|z| seen.insert(*z)).collect();
    json!({
        "cluster_name": plan.name,
        "vpc_cidr": pick(RangeKind::Nodes, Family::V4),
        "vpc_ipv6_cidr": pick(RangeKind::Nodes, Family::V6),
        "azs": azs,
        "private_subnets": subnets(Family::V4, |z| z.private.to_string()),
        "public_subnets": subnets(Family::V4, |z| z.public.to_string()),
        "spare_subnets": subnets(Family::V4, |z| z.spare.to_string()),
        "private_subnets_ipv6": subnets(Family::V6, |z| z.private.to_string()),
        "public_subnets_ipv6": subnets(Family::V6, |z| z.public.to_string()),
        "pod_cidrs": all(RangeKind::Pods),
        "service_cidrs": all(RangeKind::Services),
        "load_balancer_cidrs": all(RangeKind::LoadBalancer),
        "cluster_id": plan.cluster_id,
    })
}
