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
    /// The fleet says the cluster is reached in-cluster, and this process
    /// has no pod's service account (or no `KUBERNETES_SERVICE_*`).
    #[error(
        "cluster `{cluster}` is reached in-cluster (`access: {{inCluster: true}}`), but this process is not in a pod with a service account: {source}"
    )]
    InCluster {
        /// The cluster.
        cluster: String,
        /// Why.
        #[source]
        source: kube::config::InClusterError,
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
    #[error("cluster `{cluster}`: cannot {what} at {server}: {}", cause(source))]
    Api {
        /// The cluster.
        cluster: String,
        /// The API server's address.
        server: String,
        /// What Bulkhead was doing.
        what: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
    /// A label selector that cannot be read.
    #[error("label selector `{text}`: {why}")]
    Selector {
        /// The selector as given.
        text: String,
        /// What is wrong.
        why: String,
    },
    /// The API server did not answer in time.
    #[error("cluster `{cluster}`: no answer from {server} within {seconds} s while trying to {what}")]
    Timeout {
        /// The cluster.
        cluster: String,
        /// The API server's address.
        server: String,
        /// What Bulkhead was doing.
        what: String,
        /// The limit.
        seconds: u64,
    },
}

impl Error {
    /// Whose move it is: a cluster the fleet gives no usable access to is
    /// the input's; a server that refuses, fails or does not answer is the
    /// outside world's.
    pub fn fault(&self) -> bulkhead_model::Fault {
        match self {
            Self::NoAccess { .. } | Self::Kubeconfig { .. } | Self::InCluster { .. } | Self::Selector { .. } => {
                bulkhead_model::Fault::Input
            }
            Self::Client { .. } | Self::Api { .. } | Self::Timeout { .. } => bulkhead_model::Fault::Outside,
        }
    }
}

/// The cause of a failed request in words a person acts on: the client's own
/// errors read `ServiceError: client error (Connect)`, which names neither
/// the reason nor what to fix. Walks the chain of sources for the innermost
/// cause that says something.
pub fn cause(error: &kube::Error) -> String {
    if let kube::Error::Api(status) = error {
        return match status.code {
            401 => {
                "the credentials were rejected (401 Unauthorized): the token or client certificate is wrong or expired"
                    .to_string()
            }
            403 => format!("forbidden (403): {}", status.message),
            code => format!("{} ({code} {})", status.message, status.reason),
        };
    }
    let mut chain: Vec<&(dyn std::error::Error + 'static)> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = next {
        chain.push(e);
        next = e.source();
    }
    for e in &chain {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return "connection refused (is the API server running?)".into();
                }
                std::io::ErrorKind::TimedOut => return "the connection timed out".into(),
                std::io::ErrorKind::ConnectionReset => return "the connection was reset".into(),
                _ => {}
            }
        }
    }
    let text: Vec<String> = chain.iter().map(|e| e.to_string()).collect();
    let all = text.join(": ").to_lowercase();
    if all.contains("certificate") || all.contains("unknownissuer") {
        let inner = text.last().cloned().unwrap_or_default();
        return format!(
            "the server's certificate is not trusted ({inner}); check the kubeconfig's certificate-authority"
        );
    }
    if all.contains("dns error") || all.contains("failed to lookup address") {
        return format!("the server's name does not resolve ({})", text.last().cloned().unwrap_or_default());
    }
    // The innermost message is usually the specific one.
    text.last().cloned().unwrap_or_else(|| error.to_string())
}
