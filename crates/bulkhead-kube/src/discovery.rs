//! Which API resources a cluster serves: core, built-in groups, custom
//! resources and aggregated APIs, at each group's preferred version.

use kube::discovery::{ApiResource, Discovery, Scope, verbs};

use crate::{Cluster, Error};

/// A resource the cluster serves and lets us list.
#[derive(Debug, Clone)]
pub struct Served {
    /// Group, version, kind and plural.
    pub resource: ApiResource,
    /// Whether its objects live in namespaces.
    pub namespaced: bool,
}

impl Served {
    /// `deployments.apps`, `configmaps`: how kubectl names it.
    pub fn name(&self) -> String {
        if self.resource.group.is_empty() {
            self.resource.plural.clone()
        } else {
            format!("{}.{}", self.resource.plural, self.resource.group)
        }
    }
}

/// What the cluster serves, with aggregated discovery (two requests),
/// falling back to one request per group on servers without it.
///
/// # Errors
/// When discovery fails (the cluster unreachable, or forbidden).
pub async fn discover(cluster: &Cluster) -> Result<Discovery, Error> {
    let client = cluster.client.clone();
    match cluster.call("discover its APIs", Discovery::new(client.clone()).run_aggregated()).await {
        Ok(d) => Ok(d),
        Err(_) => cluster.call("discover its APIs", Discovery::new(client).run()).await,
    }
}

/// Every listable resource the cluster serves, in a stable order (core
/// first, then groups by name, resources by plural).
///
/// # Errors
/// When discovery itself fails (the cluster unreachable, or forbidden).
pub async fn served_resources(cluster: &Cluster) -> Result<Vec<Served>, Error> {
    let discovery = discover(cluster).await?;
    let mut out: Vec<Served> = Vec::new();
    for group in discovery.groups_alphabetical() {
        for (resource, caps) in group.recommended_resources() {
            if !caps.supports_operation(verbs::LIST) || resource.plural.contains('/') {
                continue;
            }
            out.push(Served { resource, namespaced: caps.scope == Scope::Namespaced });
        }
    }
    out.sort_by(|a, b| (&a.resource.group, &a.resource.plural).cmp(&(&b.resource.group, &b.resource.plural)));
    Ok(out)
}
