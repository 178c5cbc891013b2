//! The fleet's clusters, by name, connected.

use bulkhead_kube::Cluster;
use bulkhead_model::Fleet;

use crate::Error;

/// Connects to the fleet's cluster `name` through its `access`.
///
/// # Errors
/// When the fleet has no such cluster (usage), gives it no usable access
/// (input), or its API server cannot be reached (the outside world).
pub async fn connect(fleet: &Fleet, name: &str) -> Result<Cluster, Error> {
    let clusters = &fleet.file.spec.clusters;
    let Some(spec) = clusters.iter().find(|c| c.name == name) else {
        return Err(Error::unknown("cluster", name, clusters.iter().map(|c| c.name.as_str())));
    };
    Ok(bulkhead_kube::connect(&fleet.root, spec).await?)
}
