//! Which replica runs the jobs: a Kubernetes Lease in a management cluster
//! of the fleet, held through kube-lease-manager (server-side apply on the
//! Lease, so two replicas can never both take it).
//!
//! The library says when this replica took or lost the lease, but not
//! when it merely stopped being able to renew it (the API server cut
//! off): it goes on believing it leads. So leadership here is also fenced
//! by time: the Lease is read every few seconds, and this replica leads
//! only while the Lease names it and its last renewal, as last read, is
//! within the lease's duration minus a margin. A replica cut off from the
//! API server stops leading before another can take over.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube_lease_manager::LeaseManagerBuilder;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Where the lease is and how it is held.
#[derive(Debug, Clone)]
pub struct LeaseSettings {
    /// The fleet's cluster that holds the Lease (it needs `access`).
    pub cluster: String,
    /// The Lease's namespace.
    pub namespace: String,
    /// The Lease's name.
    pub name: String,
    /// This replica's name in the Lease (unique among the replicas).
    pub identity: String,
    /// How long a lease lasts without renewal: a dead leader's jobs start
    /// elsewhere within about this long.
    pub duration: Duration,
}

/// Why the lease cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// The management cluster cannot be reached or used.
    #[error("the lease's cluster: {0}")]
    Cluster(#[from] bulkhead_jobs::Error),
    /// The Lease cannot be read or written.
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

/// Holds the lease until `stop`; sends whether this replica leads, fenced
/// by time. Releases the lease when stopped: the task returned ends once
/// it is released (await it before the process exits).
///
/// # Errors
/// When the management cluster or the Lease cannot be used at the start.
pub async fn hold(
    fleet: &bulkhead_model::Fleet,
    settings: &LeaseSettings,
    stop: CancellationToken,
) -> Result<(watch::Receiver<bool>, tokio::task::JoinHandle<()>), LeaseError> {
    let cluster = bulkhead_jobs::clusters::connect(fleet, &settings.cluster).await?;
    let seconds = settings.duration.as_secs().max(3);
    // Renewed a third of the duration before it ends.
    let grace = (seconds / 3).max(1);
    let lease_error =
        |source| LeaseError::Lease { namespace: settings.namespace.clone(), name: settings.name.clone(), source };
    let manager = LeaseManagerBuilder::new(cluster.client.clone(), &settings.name)
        .with_namespace(&settings.namespace)
        .with_identity(&settings.identity)
        .with_duration(seconds)
        .with_grace(grace)
        .build()
        .await
        .map_err(lease_error)?;
    let (mut held, task) = manager.watch().await;
    let (tx, rx) = watch::channel(false);
    let api: Api<Lease> = Api::namespaced(cluster.client.clone(), &settings.namespace);
    let (name, identity) = (settings.name.clone(), settings.identity.clone());
    let duration = Duration::from_secs(seconds);
    // Margin: stop leading a grace period before the lease could be taken.
    let trusted_for = Duration::from_secs(seconds - grace);
    let holder = tokio::spawn(async move {
        let mut confirmed: Option<Instant> = None;
        let mut look = tokio::time::interval(Duration::from_secs(grace.min(2)));
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                changed = held.changed() => if changed.is_err() { break },
                _ = look.tick() => {
                    match tokio::time::timeout(duration / 3, api.get_opt(&name)).await {
                        Ok(Ok(Some(lease))) => {
                            let spec = lease.spec.unwrap_or_default();
                            let mine = spec.holder_identity.as_deref() == Some(identity.as_str());
                            let renewed = spec.renew_time.map(|t| t.0);
                            let fresh = renewed.is_some_and(|t| {
                                let age = age_of(t);
                                age < trusted_for
                            });
                            confirmed = (mine && fresh).then(Instant::now).or(if mine { confirmed } else { None });
                        }
                        Ok(Ok(None)) => confirmed = None,
                        // The API server did not answer: what was confirmed last ages.
                        Ok(Err(_)) | Err(_) => {}
                    }
                }
            }
            let leads = *held.borrow() && confirmed.is_some_and(|t| t.elapsed() < trusted_for);
            if *tx.borrow() != leads {
                tracing::info!(leads, "leadership changed");
                let _ = tx.send(leads);
            }
        }
        let _ = tx.send(false);
        // Dropping the library's receiver makes it release the lease.
        drop(held);
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    });
    Ok((rx, holder))
}

/// How long ago `t` was, by this machine's clock (zero when in the future).
fn age_of(t: k8s_openapi::jiff::Timestamp) -> Duration {
    let now = k8s_openapi::jiff::Timestamp::now();
    now.duration_since(t).try_into().unwrap_or(Duration::ZERO)
}
