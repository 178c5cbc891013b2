//! HTTPS for the server's face, with a certificate and key from PEM files
//! (cert-manager's Secret, say). axum serves plain TCP only, so each
//! connection is accepted here, through tokio-rustls, and handed to hyper.
//! A renewed certificate is taken without a restart: the files are looked
//! at again every few seconds, at a handshake, and read when they changed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// Where the certificate and its key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, PEM, the server's first.
    pub certificate: PathBuf,
    /// Its private key, PEM.
    pub key: PathBuf,
}

/// Why TLS cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file that does not read as PEM of the right kind.
    #[error("{path}: {why}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// The certificate and key do not go together (or rustls refuses them).
    #[error("the certificate {certificate} and key {key}: {why}")]
    Pair {
        /// The certificate.
        certificate: PathBuf,
        /// The key.
        key: PathBuf,
        /// rustls's words.
        why: String,
    },
}

fn file_error(path: &Path, why: impl std::fmt::Display) -> TlsError {
    TlsError::File { path: path.to_path_buf(), why: why.to_string() }
}

/// The certificate and key of `files`, checked to belong together.
fn load(files: &TlsFiles, provider: &CryptoProvider) -> Result<Arc<CertifiedKey>, TlsError> {
    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.certificate)
        .map_err(|e| file_error(&files.certificate, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_error(&files.certificate, e))?;
    if certificates.is_empty() {
        return Err(file_error(&files.certificate, "holds no certificate (BEGIN CERTIFICATE)"));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| file_error(&files.key, e))?;
    CertifiedKey::from_der(certificates, key, provider).map(Arc::new).map_err(|e| TlsError::Pair {
        certificate: files.certificate.clone(),
        key: files.key.clone(),
        why: e.to_string(),
    })
}

/// When the files last changed, as far as their metadata says (a Secret's
/// mount swaps a link, and the files behind it are new).
fn changed_at(files: &TlsFiles) -> Option<(SystemTime, SystemTime)> {
    let at = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    Some((at(&files.certificate)?, at(&files.key)?))
}

/// How often the files are looked at again, at most.
const LOOK_AGAIN: Duration = Duration::from_secs(5);

/// The certificate in use, and when its files were read and last looked at.
struct Current {
    key: Arc<CertifiedKey>,
    changed_at: Option<(SystemTime, SystemTime)>,
    looked_at: Instant,
}

/// Hands each handshake the newest good certificate; one that does not
/// load (a half-written renewal) leaves the last good one in use.
struct Reloading {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: Mutex<Current>,
}

impl std::fmt::Debug for Reloading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloading").field("files", &self.files).finish_non_exhaustive()
    }
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let mut current = self.current.lock().ok()?;
        if current.looked_at.elapsed() >= LOOK_AGAIN {
            current.looked_at = Instant::now();
            let now = changed_at(&self.files);
            if now != current.changed_at {
                match load(&self.files, &self.provider) {
                    Ok(key) => {
                        tracing::info!(certificate = %self.files.certificate.display(), "a renewed certificate is in use");
                        current.key = key;
                        current.changed_at = now;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the changed certificate does not load: the last good one stays")
                    }
                }
            }
        }
        Some(Arc::clone(&current.key))
    }
}

/// An acceptor for `files`.
///
/// # Errors
/// A file that cannot be read, holds no certificate or key, or a pair rustls refuses.
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    let pair = |why: String| TlsError::Pair { certificate: files.certificate.clone(), key: files.key.clone(), why };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let changed = changed_at(files);
    let key = load(files, &provider)?;
    let resolver = Reloading {
        files: files.clone(),
        provider: Arc::clone(&provider),
        current: Mutex::new(Current { key, changed_at: changed, looked_at: Instant::now() }),
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| pair(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `app` over TLS until `stop` is cancelled; open connections are
/// then closed gracefully.
pub async fn serve(listener: tokio::net::TcpListener, app: Router, acceptor: TlsAcceptor, stop: CancellationToken) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                tracing::debug!(error = %e, "a connection could not be accepted");
                continue;
            }
        };
        let (acceptor, app, stop) = (acceptor.clone(), app.clone(), stop.clone());
        connections.spawn(async move {
            // A client that never finishes its handshake holds nothing for long.
            let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "a TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let service = hyper_util::service::TowerToHyperService::new(app);
            let connection =
                hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(tls), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = stop.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
        // Ended connections are reaped as we go.
        while connections.try_join_next().is_some() {}
    }
    while connections.join_next().await.is_some() {}
}
