//! Test support: the real servers that `testenv/` starts on loopback, for
//! integration tests. Never a mock: a test that needs Kubernetes or S3 asks
//! [`TestEnv::require`] for the environment and talks to the real thing.
//!
//! The environment is found through `BULKHEAD_TESTENV` (set by
//! `testenv/testenv run` and printed by `testenv/testenv up`). When it is
//! absent a test is skipped with a message, except under `CI=true`, where a
//! missing environment fails the test: CI must never pass on skipped tests.
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
mod wait;

pub use env::{ClusterInfo, Labels, OwnEnv, S3Info, TESTENV_VAR, TestEnv};
pub use namespace::TestNamespace;
pub use wait::eventually;
