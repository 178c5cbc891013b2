//! `bulkhead audit --manifests PATH|-`: plain manifests with no fleet.yaml,
//! as people run kube-score on a folder or on `helm template … | tool -`.
//! The manifests become one app on one anonymous cluster (three zones, six
//! nodes), so every check, output and exit code is the fleet audit's own.

use std::io::Read;
use std::path::{Path, PathBuf};

use bulkhead_model::files::DirEntry;
use bulkhead_model::{DirFiles, FleetFiles, LoadOptions, Loaded, MemoryFiles, SourceFile, load_from};

use crate::error::Failure;

/// The fleet the manifests are audited in. Hidden (a leading dot) so the
/// manifest walk never reads it as a manifest.
const FLEET_NAME: &str = ".bulkhead-anonymous-fleet.yaml";

/// The name standard input is shown as.
const STDIN_NAME: &str = "stdin.yaml";

fn fleet_text(tier: u8) -> String {
    format!(
        "apiVersion: bulkhead.dev/v1alpha1
kind: Fleet
metadata: {{name: manifests}}
spec:
  providers: [{{name: anonymous, kind: other, regions: [{{name: region, zones: [zone-a, zone-b, zone-c]}}]}}]
  clusters:
    - {{name: cluster, location: anonymous/region, controlPlane: {{managed: true}}, nodePools: [{{name: nodes, count: 6}}]}}
  apps:
    - {{name: manifests, manifests: '', placement: {{clusters: {{}}}}, sla: {{tier: {tier}}}}}
"
    )
}

/// A source whose fleet file is made up and whose manifests are real.
struct WithFleet<'a> {
    inner: &'a dyn FleetFiles,
    fleet: String,
}

impl FleetFiles for WithFleet<'_> {
    fn root(&self) -> &Path {
        self.inner.root()
    }

    fn read(&self, relative: &Path) -> Result<SourceFile, bulkhead_model::Diagnostic> {
        if relative == Path::new(FLEET_NAME) {
            return Ok(SourceFile::new(FLEET_NAME, self.fleet.clone()));
        }
        self.inner.read(relative)
    }

    fn exists(&self, relative: &Path) -> bool {
        relative == Path::new(FLEET_NAME) || self.inner.exists(relative)
    }

    fn is_dir(&self, relative: &Path) -> bool {
        self.inner.is_dir(relative)
    }

    fn list(&self, relative: &Path) -> Vec<DirEntry> {
        self.inner.list(relative)
    }
}

/// Where the diagnostics' paths are relative to, as the user wrote it.
pub(super) fn display_root(path: &Path) -> PathBuf {
    if path == Path::new("-") {
        PathBuf::new()
    } else if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    }
}

/// Loads the manifests at `path` (a folder, a file, or `-` for standard
/// input) as the one app of an anonymous fleet.
///
/// # Errors
/// When `path` does not exist or standard input cannot be read.
pub(super) fn load(path: &Path, tier: u8) -> Result<Loaded, Failure> {
    let fleet = fleet_text(tier);
    let options = LoadOptions::default();
    let loaded = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .take(bulkhead_model::source::MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::Input(format!("cannot read standard input: {e}")))?;
        let mut files = MemoryFiles::new();
        files.insert(STDIN_NAME, bytes);
        load_from(&WithFleet { inner: &files, fleet }, Path::new(FLEET_NAME), options)?
    } else if path.is_dir() {
        let files = DirFiles::new(path);
        load_from(&WithFleet { inner: &files, fleet }, Path::new(FLEET_NAME), options)?
    } else if path.is_file() {
        let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let name = path.file_name().map(PathBuf::from).unwrap_or_default();
        let mut files = MemoryFiles::new();
        match DirFiles::new(parent).read(&name) {
            Ok(source) => files.insert(name, source.text),
            Err(d) => return Err(Failure::Input(format!("{}: {}", path.display(), d.message))),
        };
        load_from(&WithFleet { inner: &files, fleet }, Path::new(FLEET_NAME), options)?
    } else {
        return Err(Failure::Input(format!("{}: no such file or folder", path.display())));
    };
    Ok(loaded)
}
