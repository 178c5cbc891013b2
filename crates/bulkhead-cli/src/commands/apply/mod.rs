//! `bulkhead render`, `plan`, `apply` and `drift`: the fleet's code applied
//! to its clusters. `bulkhead-jobs`' apply module renders, connects and
//! plans; `bulkhead-apply` plans, applies and compares.

pub mod drift;
pub mod plan;
pub mod render;
pub mod run;

use std::path::Path;

use bulkhead_apply::desired::DesiredCluster;
pub(crate) use bulkhead_jobs::apply::{Planned, plan_chosen};
use bulkhead_model::{Fleet, LoadOptions};

use crate::error::Failure;
use crate::settings::Targets;

/// The fleet, loaded with its manifests, and every cluster's desired state.
pub(crate) fn load_and_render(path: &Path) -> Result<(Fleet, Vec<DesiredCluster>), Failure> {
    let loaded = bulkhead_model::load(path, LoadOptions { manifests: true })?;
    if loaded.has_errors() {
        return Err(Failure::Input(format!(
            "{} has errors; `bulkhead validate {}` lists them",
            path.display(),
            path.display()
        )));
    }
    let fleet = loaded.fleet.ok_or_else(|| Failure::Input(format!("{} holds no fleet", path.display())))?;
    let desired = bulkhead_jobs::apply::render_fleet(&fleet)?;
    Ok((fleet, desired))
}

/// The clusters chosen by `--cluster` (every cluster with `access` when
/// none is named), checked against the fleet.
pub(crate) fn chosen<'a>(fleet: &'a Fleet, targets: &Targets) -> Result<Vec<&'a str>, Failure> {
    Ok(bulkhead_jobs::apply::chosen(fleet, &targets.clusters)?)
}
