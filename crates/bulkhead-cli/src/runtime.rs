//! The one async runtime of the process. The command line is the edge that
//! owns it; the libraries below are async all the way, so a server calls
//! them from a runtime of its own.

use crate::error::Failure;

/// Runs live work (reading clusters, repositories) to completion. The
/// command line is the edge that owns the one runtime, made on first use
/// and kept for the process; the libraries below are async all the way, so
/// a server calls them from its own runtime.
pub(crate) fn block_on<F: std::future::Future>(work: F) -> Result<F::Output, Failure> {
    static RUNTIME: std::sync::OnceLock<std::io::Result<tokio::runtime::Runtime>> = std::sync::OnceLock::new();
    let runtime =
        RUNTIME.get_or_init(|| tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build());
    match runtime {
        Ok(runtime) => Ok(runtime.block_on(work)),
        Err(e) => Err(Failure::Outside(format!("cannot start the async runtime: {e}"))),
    }
}
