//! What a PodDisruptionBudget allows, computed as the disruption controller does.

use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// A count or a percentage of `n`, rounded up as the controller rounds.
fn scaled(v: &IntOrString, n: u32) -> Option<u32> {
    match v {
        IntOrString::Int(k) => Some((*k).max(0) as u32),
        IntOrString::String(p) => {
            let p: u64 = p.trim().trim_end_matches('%').parse().ok()?;
            Some(((u64::from(n) * p).div_ceil(100)) as u32)
        }
    }
}

/// How many of `n` pods the budget lets go at once; `None` when it sets
/// neither `maxUnavailable` nor `minAvailable` (or one does not parse).
pub fn allowed_disruptions(pdb: &PodDisruptionBudget, n: u32) -> Option<u32> {
    let spec = pdb.spec.as_ref()?;
    if let Some(max) = &spec.max_unavailable {
        return scaled(max, n).map(|k| k.min(n));
    }
    let min = spec.min_available.as_ref()?;
    scaled(min, n).map(|k| n.saturating_sub(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdb(json: serde_json::Value) -> PodDisruptionBudget {
        serde_json::from_value(serde_json::json!({"metadata": {"name": "p"}, "spec": json})).unwrap()
    }

    #[test]
    fn allowed_disruptions_follow_the_controller() {
        assert_eq!(allowed_disruptions(&pdb(serde_json::json!({"maxUnavailable": 1})), 3), Some(1));
        assert_eq!(allowed_disruptions(&pdb(serde_json::json!({"maxUnavailable": "34%"})), 3), Some(2));
        assert_eq!(allowed_disruptions(&pdb(serde_json::json!({"minAvailable": 3})), 3), Some(0));
        assert_eq!(allowed_disruptions(&pdb(serde_json::json!({"minAvailable": "50%"})), 3), Some(1));
        assert_eq!(allowed_disruptions(&pdb(serde_json::json!({"minAvailable": "100%"})), 4), Some(0));
        assert_eq!(allowed_disruptions(&pdb(serde_json::json!({})), 3), None);
    }
}
