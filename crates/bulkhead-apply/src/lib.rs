//! Configuration as code across the fleet.
//!
//! The desired state of every cluster is rendered once ([`desired`]: each
//! app's manifests where its placement puts it, with its overlays, plus the
//! fleet's baselines) and shared by every command:
//!
//! - [`plan`]: a server-side dry-run apply of every desired object, the
//!   changes per cluster limited to what Bulkhead's field manager changes,
//!   deletions only of what Bulkhead applied before ([`inventory`]);
//! - [`execute`]: a cluster's plan carried out, after checking that the
//!   cluster did not change underneath it;
//! - [`waves`] and [`health`]: the order clusters change in and the gates
//!   between waves;
//! - [`drift`]: live objects against desired ones, from the same dry run.
//!
//! [`desired`], [`diff`], [`scope`] and [`waves`] are pure; the rest talks
//! to clusters through `bulkhead-kube`.

pub mod desired;
pub mod diff;
pub mod drift;
mod error;
pub mod execute;
pub mod health;
pub mod inventory;
pub mod plan;
pub mod plan_file;
pub mod rollout;
pub mod scope;
pub mod waves;

pub use error::Error;
