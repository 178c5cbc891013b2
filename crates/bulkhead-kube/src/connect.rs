//! From `access: {kubeconfig, context}` to a client.

use std::path::Path;
use std::time::Duration;

use bulkhead_model::spec;
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::Error;

/// How long one request may take before the cluster counts as unreachable.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// A connected cluster.
#[derive(Clone)]
pub struct Cluster {
    /// Its name in the fleet.
    pub name: String,
    /// The API server's address, for messages.
    pub server: String,
    /// The client.
    pub client: kube::Client,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Cluster {
    /// Runs one request with the timeout, naming the cluster in errors.
    ///
    /// # Errors
    /// When the request fails or times out.
    pub async fn call<T, F>(&self, what: &str, request: F) -> Result<T, Error>
    where
        F: std::future::Future<Output = Result<T, kube::Error>>,
    {
        match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(source)) => Err(Error::Api {
                cluster: self.name.clone(),
                server: self.server.clone(),
                what: what.to_string(),
                source,
            }),
            Err(_) => Err(Error::Timeout {
                cluster: self.name.clone(),
                server: self.server.clone(),
                what: what.to_string(),
                seconds: REQUEST_TIMEOUT.as_secs(),
            }),
        }
    }
}

/// Makes ring rustls's process-wide crypto provider. Two providers are
/// compiled in (kube is built for ring; the S3 client of the backup
/// repository brings aws-lc-rs), and with two rustls refuses to pick one.
/// Installing it twice is harmless: the first one stays.
pub fn use_ring() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client for `cluster`, with its kubeconfig path taken relative to the
/// fleet directory `root` (or absolute).
///
/// # Errors
/// When the cluster has no access settings or its kubeconfig is unusable.
pub async fn connect(root: &Path, cluster: &spec::Cluster) -> Result<Cluster, Error> {
    let name = cluster.name.clone();
    let access = cluster.access.as_ref().ok_or_else(|| Error::NoAccess { cluster: name.clone() })?;
    match &access.kubeconfig {
        Some(kubeconfig) => connect_kubeconfig(&name, &root.join(kubeconfig), access.context.as_deref()).await,
        None if access.in_cluster => connect_in_cluster(&name),
        None => Err(Error::NoAccess { cluster: name }),
    }
}

/// A client as a pod has it: the API server from the environment, the
/// service account's token and CA from their mounted files (kube re-reads
/// the token as the kubelet rotates it).
///
/// # Errors
/// When this process is not in a pod with a service account.
pub fn connect_in_cluster(name: &str) -> Result<Cluster, Error> {
    use_ring();
    let config = kube::Config::incluster().map_err(|source| Error::InCluster { cluster: name.to_string(), source })?;
    client_of(name.to_string(), config)
}

/// A client from a kubeconfig file and context (its current one when
/// `None`), for a cluster the fleet does not name; `name` is for messages.
///
/// # Errors
/// When the kubeconfig is unusable.
pub async fn connect_kubeconfig(name: &str, path: &Path, context: Option<&str>) -> Result<Cluster, Error> {
    use_ring();
    let name = name.to_string();
    let path = path.to_path_buf();
    let kubeconfig = Kubeconfig::read_from(&path).map_err(|source| Error::Kubeconfig {
        cluster: name.clone(),
        path: path.clone(),
        source,
    })?;
    let options = KubeConfigOptions { context: context.map(str::to_string), ..Default::default() };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|source| Error::Kubeconfig { cluster: name.clone(), path, source })?;
    client_of(name, config)
}

/// The client for a config, with Bulkhead's timeouts.
fn client_of(name: String, mut config: kube::Config) -> Result<Cluster, Error> {
    let server = config.cluster_url.to_string();
    config.connect_timeout = Some(Duration::from_secs(5));
    config.read_timeout = Some(REQUEST_TIMEOUT);
    let client = kube::Client::try_from(config).map_err(|source| Error::Client { cluster: name.clone(), source })?;
    Ok(Cluster { name, server, client })
}

/// Connects to every cluster that has access settings. Clusters without
/// them are left out; the ones that fail come back as errors, in fleet order.
pub async fn connect_all(root: &Path, clusters: &[spec::Cluster]) -> Vec<Result<Cluster, Error>> {
    let mut out = Vec::new();
    for c in clusters.iter().filter(|c| c.access.is_some()) {
        out.push(connect(root, c).await);
    }
    out
}
