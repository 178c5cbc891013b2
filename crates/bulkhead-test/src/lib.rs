//! Test support: the real servers that `testenv/` starts on loopback, for
//! integration tests. Never a mock: a test that needs Kubernetes or S3 asks
//! [`TestEnv::require`] for the environment and talks to the real thing.
//!
//! The environment is found through `BULKHEAD_TESTENV` (set by
//! `testenv/testenv run` and printed by `testenv/testenv up`). When it is
//! absent a test is skipped with a message, except under `CI=true`, where a
//! missing environment fails the test: CI must never pass on skipped tests.
//! Programs from the system's package manager ([`program`]) work alike,
//! through the same [`skip`].
//!
//! ```no_run
//! # async fn demo() {
//! let Some(env) = bulkhead_test::TestEnv::require(1) else { return };
//! let client = env.client(0).await;
//! let ns = bulkhead_test::TestNamespace::create(&env, 0, "demo").await;
//! # }
//! ```

mod env;
mod namespace;
pub mod program;
mod wait;

pub use env::{ClusterInfo, CsiInfo, Labels, OwnEnv, S3Info, TESTENV_VAR, TestEnv};
pub use namespace::TestNamespace;
pub use program::Program;
pub use wait::eventually;

/// Whether this run is CI's (`CI=true` or `CI=1`), where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skips the calling test: says `why` on stderr; under CI, fails instead.
///
/// # Panics
/// Under CI: CI must never pass on skipped tests.
pub fn skip(why: &str) {
    assert!(!in_ci(), "CI=true and {why}: .ci/run provides it, so this is a failure, not a skip");
    #[allow(clippy::print_stderr)] // the one way a skipped test can say so
    {
        eprintln!("skipped: {why}");
    }
}
