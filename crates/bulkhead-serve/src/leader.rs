//! Which replica runs which jobs: Kubernetes Leases in a management cluster
//! of the fleet, each held through kube-lease-manager (server-side apply
//! on the Lease, so two replicas can never both take one).
//!
//! With one shard, one Lease elects a leader that runs everything; the
//! others stand by. With `N` shards, each job belongs to a shard (by its
//! cluster), each replica keeps a member Lease of its own (so the others
//! know it lives), and a shard's Lease is sought only by the live replica
//! that ranks it highest (rendezvous hashing): a new replica takes its
//! share, a dead one's shards move once its member Lease expires.
//!
//! The library says when a Lease was taken or lost, but not when renewing
//! it merely became impossible (the API server cut off): it goes on
//! believing. So holding is also fenced by time: the Leases are listed
//! every couple of seconds, and a shard counts as held only while its Lease
//! names this replica and its renewal is younger than the duration less a
//! third. A replica cut off from the API server stops running a shard's
//! jobs before another replica can take the shard.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::api::ListParams;
use kube_lease_manager::LeaseManagerBuilder;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The shards this replica holds now.
pub type Held = BTreeSet<u32>;

/// A Lease as listed: its holder, and how long ago it was renewed.
type Seen = (Option<String>, Option<Duration>);

/// Where the Leases are and how they are held.
#[derive(Debug, Clone)]
pub struct LeaseSettings {
    /// The fleet's cluster that holds the Leases (it needs `access`).
    pub cluster: String,
    /// The Leases' namespace.
    pub namespace: String,
    /// The Leases' name (with one shard), or their names' start
    /// (`NAME-shard-K`, `NAME-member-IDENTITY`).
    pub name: String,
    /// This replica's name in the Leases (unique among the replicas).
    pub identity: String,
    /// How long a Lease lasts without renewal: a dead replica's jobs start
    /// elsewhere within about this long.
    pub duration: Duration,
    /// How many shards the fleet's jobs are divided into (1: a leader runs all).
    pub shards: u32,
}

/// How replicas are asked to coordinate: the flags, over the fleet's
/// `serve` (its management cluster and lease namespace).
#[derive(Debug, Clone)]
pub struct LeaseRequest {
    /// The cluster named on the command line, over the fleet's.
    pub cluster: Option<String>,
    /// The namespace named on the command line, over the fleet's.
    pub namespace: Option<String>,
    /// The Leases' name, or their names' start.
    pub name: String,
    /// This replica's name in the Leases.
    pub identity: String,
    /// How long a Lease lasts without renewal.
    pub duration: Duration,
    /// How many shards the jobs are divided into.
    pub shards: u32,
}

impl LeaseRequest {
    /// The Leases to hold, or `None` when neither the flags nor the fleet
    /// name a management cluster (one process then runs everything).
    ///
    /// # Errors
    /// Shards without a management cluster to hold their Leases in.
    pub fn resolve(&self, fleet: &bulkhead_model::spec::FleetSpec) -> Result<Option<LeaseSettings>, LeaseError> {
        let from_fleet = fleet.serve.as_ref();
        let Some(cluster) = self.cluster.clone().or_else(|| from_fleet.map(|s| s.management_cluster.clone())) else {
            if self.shards > 1 {
                return Err(LeaseError::NoCluster);
            }
            return Ok(None);
        };
        let namespace = self
            .namespace
            .clone()
            .or_else(|| from_fleet.and_then(|s| s.lease_namespace.clone()))
            .unwrap_or_else(|| bulkhead_model::spec::DEFAULT_LEASE_NAMESPACE.to_string());
        Ok(Some(LeaseSettings {
            cluster,
            namespace,
            name: self.name.clone(),
            identity: self.identity.clone(),
            duration: self.duration,
            shards: self.shards,
        }))
    }
}

impl LeaseSettings {
    fn shard_lease(&self, shard: u32) -> String {
        if self.shards <= 1 { self.name.clone() } else { format!("{}-shard-{shard}", self.name) }
    }

    fn member_prefix(&self) -> String {
        format!("{}-member-", self.name)
    }
}

/// Why the Leases cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// The management cluster cannot be reached or used.
    #[error("the lease's cluster: {0}")]
    Cluster(#[from] bulkhead_jobs::Error),
    /// Shards asked for, and nowhere to hold their Leases.
    #[error(
        "--shards needs a management cluster to hold the shards' Leases in: give --lease-cluster or the fleet's `serve.managementCluster`"
    )]
    NoCluster,
    /// The Leases' namespace is not there.
    #[error(
        "cluster `{cluster}` has no namespace `{namespace}` for the Leases: create it (`kubectl create namespace {namespace}`) or name another (--lease-namespace, the fleet's `serve.leaseNamespace`)"
    )]
    NoNamespace {
        /// The management cluster.
        cluster: String,
        /// The namespace.
        namespace: String,
    },
    /// The management cluster refuses this replica its Leases.
    #[error(
        "cluster `{cluster}` does not let this replica write Leases in `{namespace}`: {reason} (it needs get, list, create, update and delete on coordination.k8s.io leases there)"
    )]
    Forbidden {
        /// The management cluster.
        cluster: String,
        /// The namespace.
        namespace: String,
        /// The API server's words.
        reason: String,
    },
    /// A Lease cannot be read or written.
    #[error("lease {namespace}/{name}: {source}")]
    Lease {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The library's error.
        source: kube_lease_manager::LeaseManagerError,
    },
}

/// A name Kubernetes takes for an object: lowercase letters, digits and `-`.
fn object_name(text: &str) -> String {
    let name: String =
        text.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    name.trim_matches('-').chars().take(200).collect()
}

/// One Lease held through the library.
struct Holding {
    held: watch::Receiver<bool>,
    task: JoinHandle<Result<kube_lease_manager::LeaseManager, kube_lease_manager::LeaseManagerError>>,
    confirmed: Option<Instant>,
}

async fn take(client: &kube::Client, settings: &LeaseSettings, name: &str, grace: u64) -> Result<Holding, LeaseError> {
    let manager = LeaseManagerBuilder::new(client.clone(), name)
        .with_namespace(&settings.namespace)
        .with_identity(&settings.identity)
        .with_duration(settings.duration.as_secs().max(3))
        .with_grace(grace)
        .build()
        .await
        .map_err(|source| LeaseError::Lease {
            namespace: settings.namespace.clone(),
            name: name.to_string(),
            source,
        })?;
    let (held, task) = manager.watch().await;
    Ok(Holding { held, task, confirmed: None })
}

/// Whether this replica may write Leases where they go, asked before
/// anything is held: a server-side dry run of creating one. A namespace that
/// is not there or a role that lacks the verbs is said at the start, not
/// logged as a warning every couple of seconds while nothing runs.
async fn probe(cluster: &bulkhead_kube::Cluster, settings: &LeaseSettings) -> Result<(), LeaseError> {
    let api: Api<Lease> = Api::namespaced(cluster.client.clone(), &settings.namespace);
    let lease = Lease {
        metadata: kube::api::ObjectMeta { name: Some(settings.shard_lease(0)), ..Default::default() },
        spec: None,
    };
    let dry_run = kube::api::PostParams { dry_run: true, ..Default::default() };
    match cluster.call("create a Lease (dry run)", api.create(&dry_run, &lease)).await {
        Ok(_) => Ok(()),
        Err(bulkhead_kube::Error::Api { source: kube::Error::Api(status), .. }) if status.code == 409 => Ok(()),
        Err(bulkhead_kube::Error::Api { source: kube::Error::Api(status), .. }) if status.code == 404 => {
            Err(LeaseError::NoNamespace { cluster: settings.cluster.clone(), namespace: settings.namespace.clone() })
        }
        Err(bulkhead_kube::Error::Api { source: kube::Error::Api(status), .. }) if status.code == 403 => {
            Err(LeaseError::Forbidden {
                cluster: settings.cluster.clone(),
                namespace: settings.namespace.clone(),
                reason: status.message.clone(),
            })
        }
        Err(e) => Err(LeaseError::Cluster(e.into())),
    }
}

/// How long ago `t` was, by this machine's clock (zero when in the future).
fn age_of(t: k8s_openapi::jiff::Timestamp) -> Duration {
    k8s_openapi::jiff::Timestamp::now().duration_since(t).try_into().unwrap_or(Duration::ZERO)
}

/// Holds this replica's share of the Leases until `stop`; sends the shards
/// it holds, fenced by time. Gives every Lease back when stopped: the task
/// returned ends once they are released (await it before exiting).
///
/// # Errors
/// When the management cluster (`cluster`, connected) or the Leases cannot
/// be used at the start.
pub async fn hold(
    cluster: &bulkhead_kube::Cluster,
    settings: &LeaseSettings,
    stop: CancellationToken,
) -> Result<(watch::Receiver<Held>, JoinHandle<()>), LeaseError> {
    probe(cluster, settings).await?;
    let client = cluster.client.clone();
    let seconds = settings.duration.as_secs().max(3);
    // Renewed a third of the duration before it ends.
    let grace = (seconds / 3).max(1);
    let trusted_for = Duration::from_secs(seconds - grace);
    let duration = Duration::from_secs(seconds);
    let settings = settings.clone();
    // The member Lease (with shards): this replica is alive.
    let member = if settings.shards > 1 {
        let name = format!("{}{}", settings.member_prefix(), object_name(&settings.identity));
        Some(take(&client, &settings, &name, grace).await?)
    } else {
        None
    };
    let (tx, rx) = watch::channel(Held::new());
    let api: Api<Lease> = Api::namespaced(client.clone(), &settings.namespace);
    let task = tokio::spawn(async move {
        let mut holdings: BTreeMap<u32, Holding> = BTreeMap::new();
        let mut releasing = Vec::new();
        let mut look = tokio::time::interval(Duration::from_secs(grace.min(2)));
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = look.tick() => {}
            }
            let listed = tokio::time::timeout(duration / 3, api.list(&ListParams::default())).await;
            let leases: Option<BTreeMap<String, Seen>> = match listed {
                Ok(Ok(list)) => Some(
                    list.items
                        .into_iter()
                        .filter_map(|l| {
                            let name = l.metadata.name?;
                            let spec = l.spec.unwrap_or_default();
                            Some((name, (spec.holder_identity, spec.renew_time.map(|t| age_of(t.0)))))
                        })
                        .collect(),
                ),
                // The API server did not answer: what was confirmed last ages.
                Ok(Err(_)) | Err(_) => None,
            };
            if let Some(leases) = &leases {
                // The live replicas: each fresh member Lease's holder, and this one.
                let mut members: BTreeSet<String> = BTreeSet::from([settings.identity.clone()]);
                if settings.shards > 1 {
                    let prefix = settings.member_prefix();
                    for (name, (holder, age)) in leases {
                        if name.starts_with(&prefix) && age.is_some_and(|a| a < duration) {
                            members.extend(holder.clone());
                        }
                    }
                }
                for shard in 0..settings.shards.max(1) {
                    let mine = settings.shards <= 1
                        || bulkhead_schedule::owner(shard, members.iter().map(String::as_str))
                            == Some(settings.identity.as_str());
                    match (mine, holdings.contains_key(&shard)) {
                        (true, false) => match take(&client, &settings, &settings.shard_lease(shard), grace).await {
                            Ok(h) => {
                                holdings.insert(shard, h);
                            }
                            Err(e) => tracing::warn!(shard, error = %e, "cannot seek the shard's lease; trying again"),
                        },
                        (false, true) => {
                            tracing::info!(shard, "another replica ranks higher for this shard: giving it up");
                            if let Some(h) = holdings.remove(&shard) {
                                drop(h.held);
                                releasing.push(h.task);
                            }
                        }
                        _ => {}
                    }
                }
                for (shard, h) in &mut holdings {
                    let fresh = leases.get(&settings.shard_lease(*shard)).is_some_and(|(holder, age)| {
                        holder.as_deref() == Some(settings.identity.as_str()) && age.is_some_and(|a| a < trusted_for)
                    });
                    if fresh {
                        h.confirmed = Some(Instant::now());
                    }
                }
            }
            let held: Held = holdings
                .iter()
                .filter(|(_, h)| *h.held.borrow() && h.confirmed.is_some_and(|t| t.elapsed() < trusted_for))
                .map(|(s, _)| *s)
                .collect();
            if *tx.borrow() != held {
                tracing::info!(shards = ?held, "the shards held changed");
                let _ = tx.send(held);
            }
        }
        let _ = tx.send(Held::new());
        // Dropping the library's receivers makes it release each Lease.
        for (_, h) in std::mem::take(&mut holdings) {
            drop(h.held);
            releasing.push(h.task);
        }
        if let Some(m) = member {
            drop(m.held);
            releasing.push(m.task);
        }
        for task in releasing {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    });
    Ok((rx, task))
}
