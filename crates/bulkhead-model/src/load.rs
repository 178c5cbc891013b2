//! Reading a fleet directory: the fleet file, then every app's manifests,
//! with every problem collected as a diagnostic.
//!
//! This is the only module of the crate that touches the file system; the
//! checks it calls work on text and trees in memory.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::Error;
use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::files::{DirFiles, FleetFiles};
use crate::kubernetes::KubernetesSchema;
use crate::manifest::{AppManifests, Manifest, check_document};
use crate::schema::{SchemaChecker, fleet_schema};
use crate::source::SourceFile;
use crate::spec::{API_VERSION, FleetFile, KIND};
use crate::topology::Topology;
use crate::yaml::{self, Limits, Node, ScalarSchema, Value};

/// The fleet file's name inside a fleet directory.
pub const FLEET_FILE: &str = "fleet.yaml";

/// A fleet that passed validation (possibly with warnings).
#[derive(Debug, Clone)]
pub struct Fleet {
    /// The fleet directory.
    pub root: PathBuf,
    /// The fleet file's path, relative to `root`, as diagnostics name it.
    pub path: PathBuf,
    /// The fleet file as written.
    pub file: FleetFile,
    /// The fleet file's YAML tree, so later analyses can point into it.
    pub tree: Node,
    /// The failure-domain tree.
    pub topology: Topology,
    /// Each app's Kubernetes objects, in the order of `spec.apps`.
    pub apps: Vec<AppManifests>,
    /// Each baseline's objects, in the order of `spec.baselines`.
    pub baselines: Vec<AppManifests>,
}

/// The files read, by the path diagnostics use, for showing snippets.
pub type Sources = BTreeMap<PathBuf, Arc<SourceFile>>;

/// What loading produced.
#[derive(Debug)]
pub struct Loaded {
    /// The fleet, unless an error made it unusable.
    pub fleet: Option<Fleet>,
    /// Every problem found, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// The text of every file a diagnostic points into.
    pub sources: Sources,
    /// How many manifest files and objects were read.
    pub counts: Counts,
    /// Every file read, fleet file first.
    pub files: Vec<PathBuf>,
}

/// Sizes, for summaries.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Counts {
    /// Manifest files read.
    pub manifest_files: usize,
    /// Kubernetes objects read.
    pub objects: usize,
}

impl Fleet {
    /// The span in the fleet file of the value at a `/`-separated path such
    /// as `spec/clusters/0/network/pods` (or of its nearest parent).
    pub fn span(&self, path: &str) -> crate::Span {
        self.tree.span_at(path)
    }

    /// The index of the cluster named `name` in `spec.clusters`.
    pub fn cluster_index(&self, name: &str) -> Option<usize> {
        self.file.spec.clusters.iter().position(|c| c.name == name)
    }
}

impl Loaded {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.severity == Severity::Error)
    }
}

/// What to read.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Read and check the apps' manifests too.
    pub manifests: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self { manifests: true }
    }
}

/// Loads a fleet from a directory holding `fleet.yaml`, or from the path of
/// a fleet file.
///
/// # Errors
/// Only when Bulkhead itself is broken (its embedded schemas do not compile).
/// Every problem with the input is a diagnostic in [`Loaded`].
pub fn load(path: &Path, options: LoadOptions) -> Result<Loaded, Error> {
    let (root, fleet_name) = if path.is_dir() || !path.exists() && path.extension().is_none() {
        (path.to_path_buf(), PathBuf::from(FLEET_FILE))
    } else {
        let name = path.file_name().map(PathBuf::from).unwrap_or_else(|| PathBuf::from(FLEET_FILE));
        (path.parent().map(Path::to_path_buf).unwrap_or_default(), name)
    };
    load_from(&DirFiles::new(root), &fleet_name, options)
}

/// Loads the fleet file `fleet_file` (relative to the source's root) and its
/// apps' manifests from any [`FleetFiles`]: a directory, or files in memory.
///
/// # Errors
/// As [`load`].
pub fn load_from(files: &dyn FleetFiles, fleet_file: &Path, options: LoadOptions) -> Result<Loaded, Error> {
    let fleet_name = fleet_file.to_path_buf();
    let mut loader = Loader {
        source: files,
        root: files.root().to_path_buf(),
        out: Vec::new(),
        sources: Sources::new(),
        counts: Counts::default(),
        files: Vec::new(),
    };
    let fleet = loader.fleet(&fleet_name, options)?;
    let Loader { mut out, mut sources, counts, files, .. } = loader;
    if fleet.is_none() && out.is_empty() {
        out.push(Diagnostic::error(Code::UnreadableFile, &fleet_name, None, "the fleet could not be read"));
    }
    Diagnostic::sort(&mut out);
    // Keep only the text that diagnostics point into, and the fleet file
    // (later analyses report into it): a large fleet's manifests need not
    // stay in memory twice.
    let pointed: std::collections::HashSet<&Path> = out.iter().map(|d| d.file.as_path()).collect();
    sources.retain(|path, _| *path == fleet_name || pointed.contains(path.as_path()));
    Ok(Loaded { fleet, diagnostics: out, sources, counts, files })
}

struct Loader<'f> {
    source: &'f dyn FleetFiles,
    root: PathBuf,
    out: Vec<Diagnostic>,
    sources: Sources,
    counts: Counts,
    files: Vec<PathBuf>,
}

impl Loader<'_> {
    fn read(&mut self, relative: &Path) -> Option<Arc<SourceFile>> {
        self.files.push(relative.to_path_buf());
        match self.source.read(relative) {
            Ok(file) => {
                let file = Arc::new(file);
                self.sources.insert(relative.to_path_buf(), Arc::clone(&file));
                Some(file)
            }
            Err(d) => {
                self.out.push(d);
                None
            }
        }
    }

    fn parse(&mut self, file: &SourceFile, schema: ScalarSchema) -> Option<Vec<Node>> {
        if file.text.trim().is_empty() {
            self.out.push(
                Diagnostic::error(Code::EmptyFile, &file.path, None, "file is empty")
                    .with_hint("write the YAML it should hold, or delete it"),
            );
            return None;
        }
        match yaml::parse_with(file, Limits::default(), schema) {
            Ok(docs) => {
                self.out.extend(docs.diagnostics);
                Some(docs.docs)
            }
            Err(d) => {
                self.out.push(d);
                None
            }
        }
    }

    fn fleet(&mut self, name: &Path, options: LoadOptions) -> Result<Option<Fleet>, Error> {
        if !self.source.exists(name) {
            self.out.push(
                Diagnostic::error(
                    Code::UnreadableFile,
                    name,
                    None,
                    format!("no {} in `{}`", name.display(), self.root.display()),
                )
                .with_hint("pass a fleet directory, such as `bulkhead validate examples/multicloud`"),
            );
            return Ok(None);
        }
        let Some(source) = self.read(name) else { return Ok(None) };
        let Some(docs) = self.parse(&source, ScalarSchema::Core) else { return Ok(None) };
        let mut docs = docs.into_iter().filter(|d| d.value != Value::Null);
        let Some(root) = docs.next() else {
            self.out.push(
                Diagnostic::error(Code::EmptyFile, name, None, "file holds no YAML document")
                    .with_hint("start with `apiVersion: bulkhead.dev/v1alpha1`"),
            );
            return Ok(None);
        };
        if let Some(extra) = docs.next() {
            self.out.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    name,
                    Some(extra.span),
                    "the fleet file holds more than one document",
                )
                .with_hint("keep one fleet per file; remove everything after the second `---`"),
            );
        }
        if !matches!(root.value, Value::Map(_)) {
            self.out.push(
                Diagnostic::error(Code::WrongType, name, Some(root.span), "the fleet file must be a mapping")
                    .with_hint("start with `apiVersion: bulkhead.dev/v1alpha1` and `kind: Fleet`"),
            );
            return Ok(None);
        }
        if !self.version_is_supported(name, &root) {
            return Ok(None);
        }
        let json = root.to_json();
        let checker = SchemaChecker::new(fleet_schema())?;
        if !checker.check(name, &root, &json, &mut self.out) {
            return Ok(None);
        }
        let file: FleetFile = match serde_json::from_value(json) {
            Ok(f) => f,
            Err(e) => {
                self.out.push(Diagnostic::error(
                    Code::InvalidValue,
                    name,
                    Some(root.span),
                    format!("cannot read the fleet: {e}"),
                ));
                return Ok(None);
            }
        };
        if !crate::validate::check_sizes(name, &root, &file, &mut self.out) {
            return Ok(None);
        }
        let topology = Topology::build(&file.spec);
        crate::validate::check_fleet(name, &root, &file, &topology, &mut self.out);
        let (apps, baselines) = if options.manifests {
            let mut schema = KubernetesSchema::load()?;
            (self.manifests(name, &root, &file, &mut schema)?, self.baselines(name, &root, &file, &mut schema)?)
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(Some(Fleet {
            root: self.root.clone(),
            path: name.to_path_buf(),
            file,
            tree: root,
            topology,
            apps,
            baselines,
        }))
    }

    fn version_is_supported(&mut self, name: &Path, root: &Node) -> bool {
        let mut ok = true;
        for (field, want) in [("apiVersion", API_VERSION), ("kind", KIND)] {
            if let Some(node) = root.get(field)
                && node.as_str() != Some(want)
            {
                let found = node.as_str().map_or_else(|| format!("{:?}", node.to_json()), str::to_string);
                self.out.push(
                    Diagnostic::error(
                        Code::UnsupportedVersion,
                        name,
                        Some(node.span),
                        format!("`{field}: {found}` is not supported"),
                    )
                    .with_hint(format!("this version of Bulkhead reads `{field}: {want}`")),
                );
                ok = false;
            }
        }
        ok
    }

    /// The objects of a manifest directory named in fleet.yaml at `span`
    /// (none when it is unusable, which is reported), each identity once.
    fn directory_objects(
        &mut self,
        fleet_file: &Path,
        dir: &str,
        span: Option<crate::Span>,
        namespace: Option<&str>,
        schema: &mut KubernetesSchema,
    ) -> Result<Vec<Manifest>, Error> {
        let objects = match self.manifest_dir(fleet_file, dir, span) {
            Some(dir) => self.objects(&dir, schema)?,
            None => Vec::new(),
        };
        duplicates(&objects, namespace, &mut self.out);
        Ok(objects)
    }

    /// The baselines' objects: plain directories, no overlays.
    fn baselines(
        &mut self,
        fleet_file: &Path,
        root: &Node,
        file: &FleetFile,
        schema: &mut KubernetesSchema,
    ) -> Result<Vec<AppManifests>, Error> {
        let mut out = Vec::new();
        for (bi, baseline) in file.spec.baselines.iter().enumerate() {
            let span = Some(root.locate(&["spec", "baselines", &bi.to_string(), "manifests"]).0.span);
            let base = self.directory_objects(fleet_file, &baseline.manifests, span, None, schema)?;
            out.push(AppManifests { app: baseline.name.clone(), base, overlays: Vec::new() });
        }
        Ok(out)
    }

    fn manifests(
        &mut self,
        fleet_file: &Path,
        root: &Node,
        file: &FleetFile,
        schema: &mut KubernetesSchema,
    ) -> Result<Vec<AppManifests>, Error> {
        let mut apps = Vec::new();
        for (ai, app) in file.spec.apps.iter().enumerate() {
            let mut result = AppManifests { app: app.name.clone(), ..Default::default() };
            let at = |path: &[&str]| Some(root.locate(path).0.span);
            let ai_text = ai.to_string();
            if let Some(dir) =
                self.manifest_dir(fleet_file, &app.manifests, at(&["spec", "apps", &ai_text, "manifests"]))
            {
                result.base = self.objects(&dir, schema)?;
                if result.base.is_empty() {
                    self.out.push(
                        Diagnostic::warning(
                            Code::InvalidPath,
                            fleet_file,
                            at(&["spec", "apps", &ai_text, "manifests"]),
                            format!("app `{}` has no manifests in `{}`", app.name, app.manifests),
                        )
                        .with_hint("put the app's Kubernetes YAML files there"),
                    );
                }
                duplicates(&result.base, app.namespace.as_deref(), &mut self.out);
            }
            for (oi, overlay) in app.overlays.iter().enumerate() {
                let oi_text = oi.to_string();
                let span = at(&["spec", "apps", &ai_text, "overlays", &oi_text, "manifests"]);
                let namespace = app.namespace.as_deref();
                let objects = self.directory_objects(fleet_file, &overlay.manifests, span, namespace, schema)?;
                result.overlays.push(objects);
            }
            for (ci, check) in app.checks.iter().enumerate() {
                if let Some(job) = &check.job {
                    let span = at(&["spec", "apps", &ai_text, "checks", &ci.to_string(), "job"]);
                    self.check_job(fleet_file, job, span);
                }
            }
            apps.push(result);
        }
        Ok(apps)
    }

    /// A check's Job manifest: a file inside the fleet (drills read it).
    fn check_job(&mut self, fleet_file: &Path, path: &str, span: Option<crate::Span>) {
        let relative = PathBuf::from(path);
        let problem = if escapes(&relative) {
            Some(format!("`{path}` leaves the fleet directory"))
        } else if !self.source.exists(&relative) || self.source.is_dir(&relative) {
            Some(format!("the check's Job manifest `{path}` does not exist"))
        } else {
            None
        };
        if let Some(problem) = problem {
            self.out.push(
                Diagnostic::error(Code::InvalidPath, fleet_file, span, problem)
                    .with_hint("write the path of a batch/v1 Job manifest, relative to fleet.yaml"),
            );
        }
    }

    /// Resolves a manifest directory, which must stay inside the fleet.
    fn manifest_dir(&mut self, fleet_file: &Path, dir: &str, span: Option<crate::Span>) -> Option<PathBuf> {
        let relative = PathBuf::from(dir);
        if escapes(&relative) {
            self.out.push(
                Diagnostic::error(Code::InvalidPath, fleet_file, span, format!("`{dir}` leaves the fleet directory"))
                    .with_hint("manifests live inside the fleet's repository; write a path relative to fleet.yaml"),
            );
            return None;
        }
        if !self.source.is_dir(&relative) {
            self.out.push(
                Diagnostic::error(
                    Code::InvalidPath,
                    fleet_file,
                    span,
                    format!("manifest directory `{dir}` does not exist"),
                )
                .with_hint("create it, or fix the path (relative to fleet.yaml)"),
            );
            return None;
        }
        Some(relative)
    }

    fn objects(&mut self, dir: &Path, schema: &mut KubernetesSchema) -> Result<Vec<Manifest>, Error> {
        let mut objects = Vec::new();
        for path in manifest_files(self.source, dir) {
            self.counts.manifest_files += 1;
            let Some(source) = self.read(&path) else { continue };
            let Some(docs) = self.parse(&source, ScalarSchema::Kubernetes) else { continue };
            for (i, doc) in docs.into_iter().enumerate() {
                if let Some(m) = check_document(&path, i, doc, schema, &mut self.out)? {
                    objects.push(m);
                }
            }
        }
        self.counts.objects += objects.len();
        Ok(objects)
    }
}

/// Whether a path written in fleet.yaml leaves the fleet directory.
fn escapes(relative: &Path) -> bool {
    relative.is_absolute()
        || relative
            .components()
            .try_fold(0i32, |depth, c| match c {
                Component::ParentDir if depth == 0 => None,
                Component::ParentDir => Some(depth - 1),
                Component::Normal(_) => Some(depth + 1),
                _ => Some(depth),
            })
            .is_none()
}

/// YAML and JSON files under `dir` (relative to `root`), sorted, skipping
/// hidden entries and kustomize's own files.
fn manifest_files(files: &dyn FleetFiles, dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in files.list(&d) {
            let name = entry.name.as_str();
            if name.starts_with('.') {
                continue;
            }
            let relative = d.join(name);
            if entry.is_dir {
                pending.push(relative);
            } else if (name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json"))
                && !matches!(name, "kustomization.yaml" | "kustomization.yml")
            {
                found.push(relative);
            }
        }
    }
    found.sort();
    found
}

fn duplicates(objects: &[Manifest], namespace: Option<&str>, out: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<crate::manifest::ObjectKey, &Manifest> = HashMap::new();
    for m in objects {
        match seen.get(&m.key(namespace)) {
            Some(first) => out.push(
                Diagnostic::error(
                    Code::DuplicateObject,
                    &m.file,
                    Some(m.span),
                    format!("{} `{}` is defined twice", m.kind, m.name),
                )
                .with_hint(format!("the first is in {}:{}", first.file.display(), first.span.line)),
            ),
            None => {
                seen.insert(m.key(namespace), m);
            }
        }
    }
}
