//! The order clusters change in: the fleet's `rollout.waves`, one after
//! another, each wave's clusters at once. Pure.

use std::time::Duration;

use bulkhead_model::spec::{Cluster, RolloutSpec};
use serde::Serialize;

/// The name of the wave that holds the clusters no declared wave selects.
pub const REST: &str = "rest";

/// One wave, resolved to clusters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WavePlan {
    /// The wave's name.
    pub name: String,
    /// Its clusters, in fleet order.
    pub clusters: Vec<String>,
    /// Whether a person confirms before it starts.
    pub approval: bool,
    /// How long it must stay healthy before the next wave.
    #[serde(with = "humantime_serde_opt")]
    pub pause: Duration,
}

mod humantime_serde_opt {
    pub fn serialize<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

/// The waves that reach `targets` (cluster names): each cluster in the
/// first wave that selects it, clusters no wave selects in a last wave
/// named [`REST`], waves left with no target dropped. With no waves
/// declared, one wave of every target.
pub fn waves(rollout: &RolloutSpec, clusters: &[Cluster], targets: &[&str]) -> Vec<WavePlan> {
    let mut placed: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for wave in &rollout.waves {
        let chosen: Vec<String> = clusters
            .iter()
            .filter(|c| targets.contains(&c.name.as_str()) && !placed.contains(&c.name.as_str()))
            .filter(|c| wave.clusters.matches(c))
            .map(|c| c.name.clone())
            .collect();
        placed.extend(clusters.iter().filter(|c| chosen.contains(&c.name)).map(|c| c.name.as_str()));
        if !chosen.is_empty() {
            let pause = wave.pause.as_deref().and_then(|p| humantime::parse_duration(p).ok()).unwrap_or_default();
            out.push(WavePlan { name: wave.name.clone(), clusters: chosen, approval: wave.approval, pause });
        }
    }
    let rest: Vec<String> = clusters
        .iter()
        .filter(|c| targets.contains(&c.name.as_str()) && !placed.contains(&c.name.as_str()))
        .map(|c| c.name.clone())
        .collect();
    if !rest.is_empty() {
        let name = if rollout.waves.is_empty() { "all" } else { REST };
        out.push(WavePlan { name: name.into(), clusters: rest, approval: false, pause: Duration::ZERO });
    }
    out
}

#[cfg(test)]
mod tests {
    use bulkhead_model::spec::{ClusterSelector, Wave};

    use super::*;

    fn cluster(name: &str, region: &str) -> Cluster {
        serde_json::from_value(serde_json::json!({
            "name": name, "location": format!("p/{region}"), "labels": {"region": region}
        }))
        .unwrap()
    }

    #[test]
    fn each_cluster_goes_in_its_first_wave_and_the_rest_last() {
        let clusters = [cluster("canary", "eu"), cluster("eu-1", "eu"), cluster("us-1", "us"), cluster("ap-1", "ap")];
        let wave = |name: &str, selector: ClusterSelector, pause: Option<&str>| Wave {
            name: name.into(),
            clusters: selector,
            approval: name == "us",
            pause: pause.map(str::to_string),
        };
        let by_label = |r: &str| ClusterSelector { labels: [("region".into(), r.into())].into(), ..Default::default() };
        let rollout = RolloutSpec {
            waves: vec![
                wave("canary", ClusterSelector { names: vec!["canary".into()], ..Default::default() }, Some("1m")),
                wave("eu", by_label("eu"), None),
                wave("us", by_label("us"), None),
            ],
        };
        let all = ["canary", "eu-1", "us-1", "ap-1"];
        let w = waves(&rollout, &clusters, &all);
        let names: Vec<(&str, Vec<&str>)> =
            w.iter().map(|w| (w.name.as_str(), w.clusters.iter().map(String::as_str).collect())).collect();
        assert_eq!(
            names,
            [("canary", vec!["canary"]), ("eu", vec!["eu-1"]), ("us", vec!["us-1"]), (REST, vec!["ap-1"])]
        );
        assert_eq!(w[0].pause, Duration::from_secs(60));
        assert!(w[2].approval);
        // Only the clusters with changes: empty waves drop out.
        let w = waves(&rollout, &clusters, &["us-1"]);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].name, "us");
        // No waves declared: one.
        let w = waves(&RolloutSpec::default(), &clusters, &all);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].clusters.len(), 4);
    }
}
