use std::path::PathBuf;

/// What went wrong talking to a cluster. Each names the cluster, and none
/// carries credentials.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The fleet gives no way to reach the cluster.
    #[error("cluster `{cluster}` has no `access` in fleet.yaml")]
    NoAccess {
        /// The cluster.
        cluster: String,
    },
    /// The kubeconfig cannot be read or used.
    #[error("cluster `{cluster}`: cannot use kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The cluster.
        cluster: String,
        /// The kubeconfig file.
        path: PathBuf,
        /// Why.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// A client could not be built from the config.
    #[error("cluster `{cluster}`: {source}")]
    Client {
        /// The cluster.
        cluster: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
    /// The API server refused or failed a request.
    #[error("cluster `{cluster}`: cannot {what}: {source}")]
    Api {
        /// The cluster.
        cluster: String,
        /// What Bulkhead was doing.
        what: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
    /// The API server did not answer in time.
    #[error("cluster `{cluster}`: no answer within {seconds} s while trying to {what}")]
    Timeout {
        /// The cluster.
        cluster: String,
        /// What Bulkhead was doing.
        what: String,
        /// The limit.
        seconds: u64,
    },
}
