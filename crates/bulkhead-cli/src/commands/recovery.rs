//! What the recovery commands share at the edge: the environment, the fleet
//! loaded and refused when it has errors, the repository a command's flags
//! mean, and progress bars fed by the jobs' reports. The work itself is
//! the jobs layer's (`bulkhead-jobs`).

use std::path::Path;
use std::sync::Arc;

use bulkhead_jobs::repository::{ChosenRepository, choose};
use bulkhead_model::Fleet;

use crate::error::Failure;

/// The environment, for the libraries that read keys and passwords from it.
pub(crate) fn environment() -> bulkhead_repository::Env {
    Arc::new(|name: &str| std::env::var(name).ok())
}

/// Loads a fleet without its manifests, refusing one with errors.
pub(crate) fn load_fleet(path: &Path) -> Result<Fleet, Failure> {
    load_fleet_with(path, false)
}

/// Like [`load_fleet`], with the apps' manifests read too when `manifests`.
pub(crate) fn load_fleet_with(path: &Path, manifests: bool) -> Result<Fleet, Failure> {
    let loaded = bulkhead_model::load(path, bulkhead_model::LoadOptions { manifests })?;
    if loaded.has_errors() {
        return Err(Failure::Input(format!(
            "{} has errors; `bulkhead validate {}` lists them",
            path.display(),
            path.display()
        )));
    }
    loaded.fleet.ok_or_else(|| Failure::Input(format!("{} holds no fleet", path.display())))
}

/// The repository `--repo` names (or the default for `app`), ready to open.
pub(crate) fn repository(fleet: &Fleet, wanted: Option<&str>, app: Option<&str>) -> Result<ChosenRepository, Failure> {
    Ok(choose(fleet, wanted, app, &environment())?)
}

/// Progress bars on standard error when it is a terminal (nothing on a
/// pipe or in CI logs), one per target a job works on, fed by its reports.
pub(crate) struct ProgressDisplay {
    template: &'static str,
    bar: std::sync::Mutex<Option<indicatif::ProgressBar>>,
    terminal: bool,
}

impl ProgressDisplay {
    /// A display counting objects, a bar per target a job reports.
    pub(crate) fn objects() -> Self {
        Self::with_template("{spinner} {prefix}: {pos} objects ({per_sec}) {wide_msg}")
    }

    /// A display counting bytes, a bar per target a job reports.
    pub(crate) fn bytes_counter() -> Self {
        Self::with_template("{spinner} {prefix}: {bytes} of {total_bytes} ({bytes_per_sec})")
    }

    fn with_template(template: &'static str) -> Self {
        use std::io::IsTerminal;
        Self { template, bar: std::sync::Mutex::new(None), terminal: std::io::stderr().is_terminal() }
    }

    fn begin(&self, what: &str) {
        if !self.terminal {
            return;
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template(self.template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.set_prefix(what.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        if let Ok(mut slot) = self.bar.lock()
            && let Some(old) = slot.replace(bar)
        {
            old.finish_and_clear();
        }
    }

    fn end(&self) {
        if let Ok(mut slot) = self.bar.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
    }

    /// Bytes done of `total`.
    pub(crate) fn bytes(&self, done: u64, total: u64) {
        if let Ok(slot) = self.bar.lock()
            && let Some(bar) = slot.as_ref()
        {
            bar.set_length(total);
            bar.set_position(done);
        }
    }

    /// Takes one report of a job.
    pub(crate) fn update(&self, p: bulkhead_jobs::Progress<'_>) {
        match p {
            bulkhead_jobs::Progress::Began { what } => self.begin(what),
            bulkhead_jobs::Progress::Ended => self.end(),
            bulkhead_jobs::Progress::Work(work) => self.work(work),
            bulkhead_jobs::Progress::Bytes { done, total } => self.bytes(done, total),
        }
    }

    /// Takes one report of the recovery library.
    pub(crate) fn work(&self, p: bulkhead_dr::Progress<'_>) {
        let Ok(slot) = self.bar.lock() else { return };
        let Some(bar) = slot.as_ref() else { return };
        match p {
            bulkhead_dr::Progress::Backup { resource, objects } => {
                bar.set_position(objects);
                bar.set_message(resource.to_string());
            }
            bulkhead_dr::Progress::Restore { done, total } => {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
                bar.set_message(format!("of {total}"));
            }
        }
    }
}

impl Drop for ProgressDisplay {
    fn drop(&mut self) {
        self.end();
    }
}
