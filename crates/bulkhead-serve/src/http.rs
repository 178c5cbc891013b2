//! The server's face: `/metrics` (OpenMetrics text), `/healthz` (the
//! process answers), `/readyz` (the last successes were read and a fleet is
//! in use), `/openapi.json`, the dashboard at `/` ([`crate::dashboard`])
//! and the API under `/api/v1` ([`crate::api`]), over HTTP or HTTPS.
//! Metrics, health, the OpenAPI document and the dashboard's files hold no
//! secrets and stay open (probes and Prometheus reach them); the API, which
//! the dashboard reads, is behind [`crate::access`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use prometheus_client::registry::Registry;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
struct App {
    registry: Arc<Registry>,
    ready: Arc<AtomicBool>,
}

async fn metrics(State(app): State<App>) -> impl IntoResponse {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &app.registry) {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
            text,
        ),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "text/plain")], e.to_string()),
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(app): State<App>) -> impl IntoResponse {
    if app.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "reading the repositories\n")
    }
}

/// Every route: metrics, health, the OpenAPI document, the dashboard and the API.
pub(crate) fn routes(registry: Arc<Registry>, ready: Arc<AtomicBool>, api: crate::api::ApiState) -> Router {
    let document = Arc::new(crate::api::openapi::document());
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(App { registry, ready })
        .route("/openapi.json", get(move || async move { Json((*document).clone()) }))
        .merge(crate::dashboard::routes())
        .merge(crate::api::router(api))
}

/// Serves `routes` until `stop` is cancelled, over TLS with `tls`.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    routes: Router,
    tls: Option<TlsAcceptor>,
    stop: CancellationToken,
) {
    match tls {
        Some(acceptor) => crate::tls::serve(listener, routes, acceptor, stop).await,
        None => {
            if let Err(e) = axum::serve(listener, routes).with_graceful_shutdown(stop.cancelled_owned()).await {
                tracing::warn!(error = %e, "the HTTP server stopped");
            }
        }
    }
}
