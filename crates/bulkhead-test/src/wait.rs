//! Waiting for the real world to converge, with a deadline and a reason.

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `check` every 200 ms until it returns `Ok`, and returns that value.
///
/// # Panics
/// After `timeout`, with `what` and the last error `check` gave.
pub async fn eventually<T, E: std::fmt::Display, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match check().await {
            Ok(v) => return v,
            Err(e) if Instant::now() >= deadline => panic!("timed out after {timeout:?} waiting for {what}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
