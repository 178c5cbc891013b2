//! The dashboard, served by the binary itself: one page, one script, one
//! style sheet, compiled in. It reads the API with the caller's token (the
//! files themselves hold no data and are served to anyone), and asks no
//! other server: the Content-Security-Policy sent with it forbids that.
//!
//! `bulkhead report --html DIR` writes the same files for an offline fleet,
//! with the static analyses in `data.js` beside them ([`write_offline`]).

use std::path::Path;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const INDEX: &str = include_str!("index.html");
const SCRIPT: &str = include_str!("dashboard.js");
const STYLE: &str = include_str!("dashboard.css");
/// Online, the page reads the API: no data of its own.
const NO_DATA: &str = "window.bulkheadData = null;\n";

/// Only this server, for everything the page loads or asks.
const POLICY: &str =
    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn file(media: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, media),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

/// The dashboard's routes: `/` and its three files.
pub(crate) fn routes() -> Router {
    Router::new()
        .route("/", get(|| async { file("text/html; charset=utf-8", INDEX) }))
        .route("/dashboard.js", get(|| async { file("text/javascript; charset=utf-8", SCRIPT) }))
        .route("/dashboard.css", get(|| async { file("text/css; charset=utf-8", STYLE) }))
        .route("/data.js", get(|| async { file("text/javascript; charset=utf-8", NO_DATA) }))
}

/// Writes the dashboard into `dir` with `data` (the views an offline fleet
/// has: fleet, apps, blast, check) in `data.js`: files to open in a browser
/// or publish as they are.
///
/// # Errors
/// When a file cannot be written.
pub fn write_offline(dir: &Path, data: &serde_json::Value) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("index.html"), INDEX)?;
    std::fs::write(dir.join("dashboard.js"), SCRIPT)?;
    std::fs::write(dir.join("dashboard.css"), STYLE)?;
    let json = serde_json::to_string(data).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("data.js"), format!("window.bulkheadData = {json};\n"))
}
