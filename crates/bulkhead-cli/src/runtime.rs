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

/// Cancels `stop` on SIGTERM, Ctrl-C or once `run_for` has passed, whichever
/// comes first: how a long-running command (a server) is told to wind
/// down. Call it on the runtime (inside [`block_on`]).
pub(crate) fn cancel_on_signals(stop: bulkhead_jobs::CancellationToken, run_for: Option<std::time::Duration>) {
    tokio::spawn(async move {
        // No handler could be installed: the other ways still stop it.
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let terminated = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        let ran_for = async {
            match run_for {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = ran_for => {}
            _ = tokio::signal::ctrl_c() => {}
            () = terminated => {}
        }
        stop.cancel();
    });
}
