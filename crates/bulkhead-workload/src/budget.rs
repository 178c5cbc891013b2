//! What a PodDisruptionBudget allows, computed as the disruption controller does.

use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// A count or a percentage of `n`, rounded up as the controller rounds;
/// `None` for a value the API server refuses: a negative count, or a string
/// that is not `digits%` of at most 100% (`"34"` is not a percentage).
fn scaled(v: &IntOrString, n: u32) -> Option<u32> {
    match v {
        IntOrString::Int(k) => u32::try_from(*k).ok(),
        IntOrString::String(s) => {
            let p: u64 = bulkhead_model::api_rules::percent(s)?;
            // p <= 100, so the product fits and the result is at most n.
            u32::try_from((u64::from(n) * p).div_ceil(100)).ok()
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

    #[test]
    fn values_the_api_server_refuses_are_not_guessed() {
        for bad in [
            serde_json::json!({"maxUnavailable": "34"}),
            serde_json::json!({"minAvailable": "101%"}),
            serde_json::json!({"minAvailable": "-5%"}),
            serde_json::json!({"minAvailable": " 5%"}),
            serde_json::json!({"maxUnavailable": -1}),
            serde_json::json!({"minAvailable": "99999999999999999999999%"}),
        ] {
            assert_eq!(allowed_disruptions(&pdb(bad.clone()), 3), None, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_never_allows_more_than_n(s in ".*", k in proptest::num::i32::ANY, n in 0u32..100_000) {
            for spec in [
                serde_json::json!({"maxUnavailable": s}),
                serde_json::json!({"minAvailable": s}),
                serde_json::json!({"maxUnavailable": k}),
                serde_json::json!({"minAvailable": k}),
            ] {
                if let Some(allowed) = allowed_disruptions(&pdb(spec), n) {
                    proptest::prop_assert!(allowed <= n);
                }
            }
        }
    }
}
