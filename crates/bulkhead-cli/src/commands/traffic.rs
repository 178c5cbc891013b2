//! `bulkhead traffic serve`: one instance of the traffic DNS.

use std::io::Write;
use std::path::Path;

use bulkhead_model::Fleet;
use bulkhead_report::Verdict;
use bulkhead_traffic::rrl::Limits;
use bulkhead_traffic::tsig::{Key, read_key_file};
use bulkhead_traffic::workloads::{ApiHealth, Clients, service_workloads};
use bulkhead_traffic::{ServeOptions, Zone, serve};

use super::recovery::load_fleet_with;
use crate::args::TrafficServeArgs;
use crate::error::Failure;

/// Runs `traffic serve` until Ctrl-C, SIGTERM or `--for`.
///
/// # Errors
/// A fleet without a traffic zone, an unknown instance or a bad key (exit 2);
/// an address that cannot be listened on (exit 3).
pub fn serve_command(args: &TrafficServeArgs, out: &mut dyn Write) -> Result<Verdict, Failure> {
    // With the manifests: the apps' workloads are read from them.
    let fleet = load_fleet_with(&args.fleet.fleet, true)?;
    let zone = Zone::from_fleet(&fleet.file).map_err(|e| Failure::Input(e.to_string()))?;
    let workloads = if args.no_api_health { Vec::new() } else { service_workloads(&zone, &fleet) };
    let key = |path: &Path| -> Result<Key, Failure> { read_key_file(path).map_err(|e| Failure::Usage(e.to_string())) };
    let options = ServeOptions {
        instance: args.instance.clone(),
        listen: args.listen,
        peer_listen: args.peer_listen,
        peer_key: args.peer_key.as_deref().map(key).transpose()?,
        transfer_keys: args.transfer_key.iter().map(|p| key(p)).collect::<Result<_, _>>()?,
        primary: match (args.primary, &args.primary_key) {
            (Some(address), Some(path)) => Some((address, key(path)?)),
            _ => None,
        },
        notify: args.notify.clone(),
        limits: Limits { per_second: args.rate_limit, slip: args.slip },
        api: ApiHealth::default(),
    };
    let ask_api = !args.no_api_health;
    let live = args.live;
    let run_for = args.run_for;
    let shutdown = async move {
        let stop = async {
            match run_for {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let terminated = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = stop => {}
            _ = tokio::signal::ctrl_c() => {}
            () = terminated => {}
        }
    };
    // The clients are made on the runtime that serves: a kube client's
    // workers live on the runtime it was made on.
    let run = async move {
        let mut options = options;
        let mut zone = zone;
        let clusters = if ask_api || live { connect(&fleet, &zone).await } else { Vec::new() };
        if live {
            live_addresses(&mut zone, &clusters).await;
        }
        if ask_api {
            let clients: Clients = clusters.into_iter().map(|c| (c.name, c.client)).collect();
            options.api = ApiHealth { clients, workloads };
        }
        serve(zone, options, shutdown).await
    };
    crate::runtime::block_on(run)?.map_err(|e| match e {
        bulkhead_traffic::Error::Listen { .. } | bulkhead_traffic::Error::Update { .. } => {
            Failure::Outside(e.to_string())
        }
        other => Failure::Usage(other.to_string()),
    })?;
    writeln!(out, "stopped").map_err(|e| Failure::Outside(e.to_string()))?;
    Ok(Verdict::Pass)
}

/// Each cluster with `access` that runs an app with traffic. A cluster that
/// cannot be configured is left to the probes alone, with a warning: the DNS
/// must serve even when an API server cannot be reached.
async fn connect(fleet: &Fleet, zone: &Zone) -> Vec<bulkhead_kube::Cluster> {
    let wanted: std::collections::BTreeSet<&str> =
        zone.services.iter().flat_map(|s| s.sites.iter().map(|site| site.cluster.as_str())).collect();
    let specs: Vec<_> = fleet
        .file
        .spec
        .clusters
        .iter()
        .filter(|c| c.access.is_some() && wanted.contains(c.name.as_str()))
        .cloned()
        .collect();
    let mut clusters = Vec::new();
    for spec in &specs {
        match bulkhead_kube::connect(&fleet.root, spec).await {
            Ok(cluster) => clusters.push(cluster),
            Err(error) => {
                tracing::warn!(cluster = %spec.name, %error, "its API will not be asked; probes alone decide")
            }
        }
    }
    clusters
}

/// `--live`: each site the fleet gives no address for gets the addresses in
/// the status of the app's LoadBalancer Services, Ingresses and Gateways
/// there. Read once, at start.
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
