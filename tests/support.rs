//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `bulkhead` binary, run from the repository root with colour off and
/// no `BULKHEAD_*` settings leaking in from the environment.
pub fn bulkhead() -> Command {
    let mut cmd = Command::new(insta_cmd::get_cargo_bin("bulkhead"));
    cmd.current_dir(repo_root()).env("NO_COLOR", "1");
    for (key, _) in std::env::vars() {
        if key.starts_with("BULKHEAD_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The broken fleets, by name, sorted.
pub fn broken_fleets() -> Vec<String> {
    let dir = repo_root().join("tests/fleets/broken");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/fleets/broken exists")
        .map(|e| e.expect("readable").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A scratch directory under the target folder, emptied first.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}
