//! A rollout: the plans carried out wave after wave. A wave's clusters are
//! applied at once (at most `max_parallel`), then the wave must be healthy
//! (every workload applied there rolled out, nothing crash-looping) within
//! the health timeout and stay so for the wave's pause; a wave that needs
//! approval waits for it. The first wave that fails stops the rollout, and
//! the report says what was applied where.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bulkhead_kube::Cluster;
use futures::StreamExt;
use serde::Serialize;

use crate::desired::DesiredCluster;
use crate::execute::{Applied, execute, recheck};
use crate::health::{Unhealthy, is_workload, wait_healthy};
use crate::plan::{ClusterPlan, PlanOptions};
use crate::waves::WavePlan;

/// How to roll out.
#[derive(Debug, Clone, Copy)]
pub struct RolloutOptions {
    /// Clusters of a wave applied at once.
    pub max_parallel: usize,
    /// Per cluster: objects applied at once.
    pub plan: PlanOptions,
    /// How long a wave may take to become healthy.
    pub health_timeout: Duration,
    /// How often health is read.
    pub poll: Duration,
    /// Plan each cluster again and refuse when it no longer matches (plans
    /// read from a file).
    pub recheck: bool,
}

/// What happened, as it happens.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase", tag = "event")]
pub enum Event {
    /// A wave begins.
    WaveStarted {
        /// Its name.
        wave: String,
        /// Its clusters.
        clusters: Vec<String>,
    },
    /// A cluster was applied.
    ClusterApplied(Applied),
    /// The wave is applied; its health is awaited.
    WaitingForHealth {
        /// The wave.
        wave: String,
    },
    /// The wave is healthy (and stayed so for its pause).
    WaveHealthy {
        /// The wave.
        wave: String,
    },
}

/// How one wave ended.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaveResult {
    /// The wave.
    pub wave: String,
    /// Its clusters, applied (in wave order).
    pub applied: Vec<Applied>,
    /// Clusters that could not be applied, and why.
    pub errors: Vec<(String, String)>,
    /// What was not healthy.
    pub unhealthy: Vec<Unhealthy>,
    /// Not approved: not started.
    pub declined: bool,
}

impl WaveResult {
    /// Whether the rollout may go on.
    pub fn succeeded(&self) -> bool {
        !self.declined
            && self.errors.is_empty()
            && self.unhealthy.is_empty()
            && self.applied.iter().all(Applied::succeeded)
    }
}

/// One cluster of a rollout: its client, desired state and plan.
#[derive(Debug, Clone)]
pub struct Target {
    /// The connected cluster.
    pub cluster: Cluster,
    /// What it should have.
    pub desired: Arc<DesiredCluster>,
    /// What applying it does.
    pub plan: ClusterPlan,
}

/// Runs the waves in order and stops at the first that fails; `approve` is
/// asked before each wave that needs approval, `progress` told of each
/// step. Returns the waves that ran (the last failed if any did).
pub async fn roll_out(
    waves: &[WavePlan],
    targets: BTreeMap<String, Target>,
    options: RolloutOptions,
    approve: &mut (dyn FnMut(&WavePlan) -> bool + Send),
    progress: &mut (dyn FnMut(&Event) + Send),
) -> Vec<WaveResult> {
    let mut results = Vec::new();
    for wave in waves {
        let mut result = WaveResult {
            wave: wave.name.clone(),
            applied: Vec::new(),
            errors: Vec::new(),
            unhealthy: Vec::new(),
            declined: false,
        };
        if wave.approval && !approve(wave) {
            result.declined = true;
            results.push(result);
            break;
        }
        progress(&Event::WaveStarted { wave: wave.name.clone(), clusters: wave.clusters.clone() });
        let members: Vec<&Target> = wave.clusters.iter().filter_map(|c| targets.get(c)).collect();
        let outcomes: Vec<(String, Result<Applied, crate::Error>)> = futures::stream::iter(members.iter().copied())
            .map(|t| async move {
                let run = async {
                    if options.recheck {
                        recheck(&t.cluster, &t.desired, &t.plan, options.plan).await?;
                    }
                    execute(&t.cluster, &t.desired, &t.plan, options.plan).await
                };
                (t.cluster.name.clone(), run.await)
            })
            .buffered(options.max_parallel.max(1))
            .collect()
            .await;
        for (cluster, outcome) in outcomes {
            match outcome {
                Ok(applied) => {
                    progress(&Event::ClusterApplied(applied.clone()));
                    result.applied.push(applied);
                }
                Err(e) => result.errors.push((cluster, e.to_string())),
            }
        }
        if result.succeeded() {
            progress(&Event::WaitingForHealth { wave: wave.name.clone() });
            result.unhealthy = gate(&members, wave.pause, options).await;
            if result.unhealthy.is_empty() {
                progress(&Event::WaveHealthy { wave: wave.name.clone() });
            }
        }
        let failed = !result.succeeded();
        results.push(result);
        if failed {
            break;
        }
    }
    results
}

/// The wave's health: first healthy within the timeout, then still healthy
/// at every look during its pause.
async fn gate(members: &[&Target], pause: Duration, options: RolloutOptions) -> Vec<Unhealthy> {
    let workloads = |t: &Target| -> Vec<bulkhead_model::manifest::ObjectKey> {
        t.desired.objects.iter().map(|o| o.key.clone()).filter(is_workload).collect()
    };
    let check_all = |timeout: Duration| async move {
        let mut problems = Vec::new();
        for t in members {
            match wait_healthy(&t.cluster, &workloads(t), timeout, options.poll).await {
                Ok(p) => problems.extend(p),
                Err(e) => problems.push(Unhealthy {
                    cluster: t.cluster.name.clone(),
                    key: bulkhead_model::manifest::ObjectKey::new("v1", "Cluster", None, &t.cluster.name),
                    why: e.to_string(),
                    fatal: true,
                }),
            }
        }
        problems
    };
    let problems = check_all(options.health_timeout).await;
    if !problems.is_empty() {
        return problems;
    }
    let end = tokio::time::Instant::now() + pause;
    while tokio::time::Instant::now() < end {
        tokio::time::sleep(options.poll.min(end - tokio::time::Instant::now())).await;
        let problems = check_all(Duration::ZERO).await;
        if !problems.is_empty() {
            return problems;
        }
    }
    Vec::new()
}
