//! One instance of the traffic DNS as a long-running job: the zone read
//! from the fleet, the keys read from their files, the clusters that run
//! the apps connected (so the API's view of their workloads joins the
//! probes), and, with `live`, the addresses where traffic enters read from
//! the clusters' load balancers. Served until the token is cancelled.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;

use bulkhead_model::Fleet;
use bulkhead_traffic::rrl::Limits;
use bulkhead_traffic::tsig::{Key, read_key_file};
use bulkhead_traffic::workloads::{ApiHealth, Clients, service_workloads};
use bulkhead_traffic::{ServeOptions, Zone, serve};
use tokio_util::sync::CancellationToken;

use crate::Error;

/// A traffic DNS instance to serve.
#[derive(Debug, Clone)]
pub struct TrafficJob {
    /// Which of the zone's nameservers this is.
    pub instance: String,
    /// Where to answer DNS; the nameserver's address, port 53, when absent.
    pub listen: Option<SocketAddr>,
    /// Where to receive peers' views; the nameserver's peer port when absent.
    pub peer_listen: Option<SocketAddr>,
    /// The BIND key file peers sign their views with.
    pub peer_key: Option<PathBuf>,
    /// BIND key files of the keys that may transfer the zone.
    pub transfer_keys: Vec<PathBuf>,
    /// An outside primary to publish to by dynamic update, with its key file.
    pub primary: Option<(SocketAddr, PathBuf)>,
    /// Secondaries to NOTIFY when the zone changes.
    pub notify: Vec<SocketAddr>,
    /// Response rate limits.
    pub limits: Limits,
    /// Ask the clusters' API servers whether the apps' workloads are ready.
    pub api_health: bool,
    /// Read addresses the fleet does not give from the clusters' load balancers.
    pub live: bool,
}

/// The zone and options `job` means, read before anything listens: a bad
/// key or a fleet without a zone stops here.
///
/// # Errors
/// No traffic zone, a key file that cannot be used (the input).
pub fn plan(fleet: &Fleet, job: &TrafficJob) -> Result<(Zone, ServeOptions), Error> {
    let zone = Zone::from_fleet(&fleet.file)?;
    let key = |path: &PathBuf| -> Result<Key, Error> { Ok(read_key_file(path)?) };
    let options = ServeOptions {
        instance: job.instance.clone(),
        listen: job.listen,
        peer_listen: job.peer_listen,
        peer_key: job.peer_key.as_ref().map(key).transpose()?,
        transfer_keys: job.transfer_keys.iter().map(key).collect::<Result<_, _>>()?,
        primary: job.primary.as_ref().map(|(address, path)| Ok::<_, Error>((*address, key(path)?))).transpose()?,
        notify: job.notify.clone(),
        limits: job.limits,
        api: ApiHealth::default(),
    };
    Ok((zone, options))
}

/// Serves the instance until `cancel` is cancelled.
///
/// # Errors
/// As [`plan`]; an instance the zone does not have (the input); an address
/// that cannot be listened on (the outside world).
pub async fn serve_dns(fleet: &Fleet, job: &TrafficJob, cancel: CancellationToken) -> Result<(), Error> {
    let (mut zone, mut options) = plan(fleet, job)?;
    // The clients are made on the runtime that serves: a kube client's
    // workers live on the runtime it was made on.
    let clusters = if job.api_health || job.live { connect(fleet, &zone).await } else { Vec::new() };
    if job.live {
        live_addresses(&mut zone, &clusters).await;
    }
    if job.api_health {
        let workloads = service_workloads(&zone, fleet);
        let clients: Clients = clusters.into_iter().map(|c| (c.name, c.client)).collect();
        options.api = ApiHealth { clients, workloads };
    }
    serve(zone, options, cancel.cancelled_owned()).await?;
    Ok(())
}

/// Each cluster with `access` that runs an app with traffic. A cluster that
/// cannot be connected is left to the probes alone, with a warning: the DNS
/// must serve even when an API server cannot be reached.
async fn connect(fleet: &Fleet, zone: &Zone) -> Vec<bulkhead_kube::Cluster> {
    let wanted: BTreeSet<&str> =
        zone.services.iter().flat_map(|s| s.sites.iter().map(|site| site.cluster.as_str())).collect();
    let mut clusters = Vec::new();
    for spec in fleet.file.spec.clusters.iter().filter(|c| c.access.is_some() && wanted.contains(c.name.as_str())) {
        match bulkhead_kube::connect(&fleet.root, spec).await {
            Ok(cluster) => clusters.push(cluster),
            Err(error) => {
                tracing::warn!(cluster = %spec.name, %error, "its API will not be asked; probes alone decide")
            }
        }
    }
    clusters
}

/// Each site the fleet gives no address for gets the addresses in the
/// status of the app's LoadBalancer Services, Ingresses and Gateways there.
/// Read once, at start.
async fn live_addresses(zone: &mut Zone, clusters: &[bulkhead_kube::Cluster]) {
    for service in &mut zone.services {
        for site in service.sites.iter_mut().filter(|s| s.addresses.is_empty()) {
            let Some(cluster) = clusters.iter().find(|c| c.name == site.cluster) else {
                tracing::warn!(app = %service.app, cluster = %site.cluster, "no address in the fleet and no access to read one");
                continue;
            };
            match bulkhead_kube::ingress::ingress_addresses(cluster, &service.namespace).await {
                Ok(found) => {
                    if !found.hostnames.is_empty() {
                        tracing::warn!(app = %service.app, cluster = %site.cluster, hostnames = ?found.hostnames,
                            "load balancers report host names, which an A record cannot hold; give their addresses in the fleet");
                    }
                    tracing::info!(app = %service.app, cluster = %site.cluster, addresses = ?found.ips, "read from the cluster");
                    site.addresses = found.ips;
                }
                Err(error) => tracing::warn!(app = %service.app, %error, "cannot read where traffic enters"),
            }
        }
    }
}
