//! The fleet directory, loaded at the start and taken again when it
//! changes. Looked at by polling a fingerprint (every file's path, size and
//! modification time) rather than by file-system events: a fleet is a few
//! hundred small files, a look costs microseconds, and polling also sees
//! changes on mounted volumes (a ConfigMap's symlink swap, NFS) that
//! inotify misses.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use bulkhead_model::{LoadOptions, Loaded};
use bulkhead_schedule::Intervals;

use crate::scheduler::{Plan, Shared};

/// Loads the fleet at `dir` and its jobs.
///
/// # Errors
/// In words: a fleet with errors (with how to list them), or schedules that do not read.
pub(crate) fn load(dir: &Path, intervals: Intervals) -> Result<Plan, String> {
    plan(dir, load_fleet(dir)?, intervals)
}

/// Reads and validates the fleet at `dir`.
///
/// # Errors
/// In words: a fleet with errors (with how to list them).
pub(crate) fn load_fleet(dir: &Path) -> Result<Loaded, String> {
    let loaded = bulkhead_model::load(dir, LoadOptions { manifests: true }).map_err(|e| e.to_string())?;
    if loaded.has_errors() {
        let first = loaded.diagnostics.iter().find(|d| d.severity == bulkhead_model::Severity::Error);
        return Err(format!(
            "{} has errors ({}); `bulkhead validate {}` lists them",
            dir.display(),
            first.map_or_else(String::new, |d| format!("{}: {}", d.file.display(), d.message)),
            dir.display()
        ));
    }
    Ok(loaded)
}

/// Resolves a loaded fleet into its jobs.
///
/// # Errors
/// In words: no fleet, or schedules that do not read.
pub(crate) fn plan(dir: &Path, loaded: Loaded, intervals: Intervals) -> Result<Plan, String> {
    let fleet = loaded.fleet.as_ref().ok_or_else(|| format!("{} holds no fleet", dir.display()))?;
    let jobs = bulkhead_schedule::plan(fleet, intervals).map_err(|e| e.to_string())?;
    Ok(Plan { loaded: Arc::new(loaded), jobs })
}

/// Takes the fleet again: a valid one replaces the plan (running jobs go on
/// with the fleet they started with); an invalid one is refused, said, and
/// counted, and the last good fleet stays.
pub(crate) fn take(shared: &Shared, intervals: Intervals) {
    match load(&shared.settings.fleet, intervals) {
        Ok(plan) => {
            tracing::info!(jobs = plan.jobs.len(), "the fleet changed: taken");
            shared.replace_plan(plan);
            shared.metrics.fleet(true, Some(chrono::Utc::now().timestamp() as f64));
        }
        Err(why) => {
            tracing::error!(%why, "the fleet changed but is not valid: the last good fleet stays in use");
            shared.metrics.fleet(false, None);
        }
    }
}

/// What the fleet directory looked like at the last look.
pub(crate) struct Watcher {
    dir: PathBuf,
    last: Vec<(PathBuf, u64, Option<SystemTime>)>,
}

impl Watcher {
    pub(crate) fn new(dir: &Path) -> Self {
        let mut watcher = Self { dir: dir.to_path_buf(), last: Vec::new() };
        watcher.last = watcher.fingerprint();
        watcher
    }

    fn fingerprint(&self) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
        let mut out = Vec::new();
        let mut stack = vec![self.dir.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                // A fleet file rather than a directory.
                if let Ok(m) = std::fs::metadata(&dir) {
                    out.push((dir.clone(), m.len(), m.modified().ok()));
                }
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                // Follows symlinks: a mounted ConfigMap swaps a link.
                match std::fs::metadata(&path) {
                    Ok(m) if m.is_dir() => {
                        if !entry.file_name().to_string_lossy().starts_with(".git") {
                            stack.push(path);
                        }
                    }
                    Ok(m) => out.push((path, m.len(), m.modified().ok())),
                    Err(_) => {}
                }
            }
        }
        out.sort();
        out
    }

    /// Whether anything changed since the last look.
    pub(crate) fn changed(&mut self) -> bool {
        let now = self.fingerprint();
        let changed = now != self.last;
        self.last = now;
        changed
    }
}
