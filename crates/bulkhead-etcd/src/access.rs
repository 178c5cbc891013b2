//! From `controlPlane.etcd.access` to a client: endpoints in order, and
//! TLS with the CA and client certificate the API servers use.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bulkhead_model::spec::EtcdAccess;
use etcd_client::{Certificate, Client, ConnectOptions, Identity, TlsOptions};

use crate::Error;

/// How to reach one cluster's etcd, its files read.
#[derive(Clone)]
pub struct Target {
    /// Client URLs.
    pub endpoints: Vec<String>,
    tls: Option<TlsOptions>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of logs.
        f.debug_struct("Target").field("endpoints", &self.endpoints).field("tls", &self.tls.is_some()).finish()
    }
}

impl Target {
    /// Reads the access settings (paths relative to `root`, the fleet's
    /// directory).
    ///
    /// # Errors
    /// No endpoints, an `https` endpoint without a CA, half a client
    /// certificate, or a file that cannot be read.
    pub fn resolve(root: &Path, access: &EtcdAccess) -> Result<Self, Error> {
        if access.endpoints.is_empty() {
            return Err(Error::Access("`controlPlane.etcd.access.endpoints` is empty".into()));
        }
        let https = access.endpoints.iter().any(|e| e.starts_with("https://"));
        let read = |p: &str| -> Result<Vec<u8>, Error> {
            let path = if Path::new(p).is_absolute() { PathBuf::from(p) } else { root.join(p) };
            std::fs::read(&path).map_err(|source| Error::ReadFile { path, source })
        };
        let tls = if https {
            let mut tls = TlsOptions::new();
            if let Some(ca) = &access.ca_file {
                tls = tls.ca_certificate(Certificate::from_pem(read(ca)?));
            }
            match (&access.cert_file, &access.key_file) {
                (Some(cert), Some(key)) => tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?)),
                (None, None) => {}
                _ => {
                    return Err(Error::Access(
                        "give both `certFile` and `keyFile` of etcd's client certificate, or neither".into(),
                    ));
                }
            }
            Some(tls)
        } else {
            None
        };
        Ok(Self { endpoints: access.endpoints.clone(), tls })
    }

    /// Connects (the first endpoint that answers).
    ///
    /// # Errors
    /// When no endpoint answers.
    pub async fn connect(&self) -> Result<Client, Error> {
        let mut options = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_keep_alive(Duration::from_secs(10), Duration::from_secs(10));
        if let Some(tls) = &self.tls {
            options = options.with_tls(tls.clone());
        }
        Client::connect(&self.endpoints, Some(options)).await.map_err(|source| self.error("connect", source))
    }

    /// An error of a call to this etcd.
    pub fn error(&self, action: &'static str, source: etcd_client::Error) -> Error {
        Error::Etcd { endpoints: self.endpoints.join(", "), action, source }
    }
}
