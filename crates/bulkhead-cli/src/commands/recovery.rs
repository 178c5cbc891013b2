//! What the recovery commands share: the fleet, a cluster of it connected,
//! and a repository with its password, resolved from flags, fleet.yaml and
//! the environment (the edge: the libraries below take plain values).

use std::path::Path;
use std::sync::Arc;

use bulkhead_kube::{Cluster, connect};
use bulkhead_model::Fleet;
use bulkhead_vault::{Location, PasswordSource, Vault};

use crate::error::Failure;

/// The environment, for the libraries that read keys from it.
pub(crate) fn environment() -> bulkhead_vault::Env {
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

/// Connects to the fleet's cluster `name`.
pub(crate) async fn connect_named(fleet: &Fleet, name: &str) -> Result<Cluster, Failure> {
    let clusters = &fleet.file.spec.clusters;
    let Some(spec) = clusters.iter().find(|c| c.name == name) else {
        let known: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
        return Err(Failure::Usage(format!(
            "the fleet has no cluster `{name}`; it has: {}",
            if known.is_empty() { "none".to_string() } else { known.join(", ") }
        )));
    };
    connect(&fleet.root, spec).await.map_err(|e| match e {
        bulkhead_kube::Error::NoAccess { .. } | bulkhead_kube::Error::Kubeconfig { .. } => {
            Failure::Input(e.to_string())
        }
        other => Failure::Outside(other.to_string()),
    })
}

/// A repository and its password.
pub(crate) struct Repo {
    /// Where.
    pub location: Location,
    /// The password.
    pub password: String,
    /// Its name in the fleet, or its URL.
    pub name: String,
}

/// The repository `--repo` names (or the default for `app`), with its password.
pub(crate) fn repository(fleet: &Fleet, wanted: Option<&str>, app: Option<&str>) -> Result<Repo, Failure> {
    let dr = &fleet.file.spec.dr;
    let env = environment();
    // A URL: restic's own password variables.
    if let Some(url) = wanted.filter(|w| w.contains(':') || w.contains('/')) {
        let location = Location::parse(url).map_err(|e| Failure::Usage(e.to_string()))?;
        let source = match (std::env::var_os("RESTIC_PASSWORD_FILE"), std::env::var_os("RESTIC_PASSWORD")) {
            (Some(file), _) => PasswordSource::File(file.into()),
            (None, Some(_)) => PasswordSource::Env("RESTIC_PASSWORD".into()),
            (None, None) => {
                return Err(Failure::Usage(format!(
                    "no password for repository {url}: set RESTIC_PASSWORD_FILE (or RESTIC_PASSWORD)"
                )));
            }
        };
        let password = source.read(url, &*env).map_err(|e| Failure::Input(e.to_string()))?;
        return Ok(Repo { location, password, name: url.to_string() });
    }
    let by_policy = || {
        let app = fleet.file.spec.apps.iter().find(|a| Some(a.name.as_str()) == app)?;
        let wanted = &app.backup.as_ref()?.policy;
        let policy = dr.policies.iter().find(|p| p.name == *wanted)?;
        Some(policy.repository.clone())
    };
    let name = match wanted.map(str::to_string).or_else(by_policy) {
        Some(n) => n,
        None if dr.repositories.len() == 1 => dr.repositories[0].name.clone(),
        None => {
            let known: Vec<&str> = dr.repositories.iter().map(|r| r.name.as_str()).collect();
            return Err(Failure::Usage(if known.is_empty() {
                "the fleet has no `dr.repositories`: add one, or give --repo URL".to_string()
            } else {
                format!("which repository? give --repo: the fleet has {}", known.join(", "))
            }));
        }
    };
    let resolved = bulkhead_dr::repos::resolve(fleet, &name, &*env).map_err(Failure::Input)?;
    Ok(Repo { location: resolved.location, password: resolved.password, name })
}

/// Opens the repository on a thread of its own (it blocks, and its S3
/// backend runs a runtime of its own) and runs `work` on it.
pub(crate) fn with_vault<T: Send + 'static>(
    repo: &Repo,
    work: impl FnOnce(Vault) -> Result<T, bulkhead_vault::Error> + Send + 'static,
) -> Result<T, Failure> {
    on_vault(repo, false, work)
}

/// [`with_vault`], creating the repository first when `create` and it does
/// not exist yet.
pub(crate) fn on_vault<T: Send + 'static>(
    repo: &Repo,
    create: bool,
    work: impl FnOnce(Vault) -> Result<T, bulkhead_vault::Error> + Send + 'static,
) -> Result<T, Failure> {
    let env = environment();
    let (location, password) = (repo.location.clone(), repo.password.clone());
    std::thread::spawn(move || work(Vault::open(&location, &password, create, &*env)?))
        .join()
        .map_err(|_| Failure::Bug("the repository's thread panicked".into()))?
        .map_err(|e| vault_failure(&bulkhead_dr::Error::Vault(e)))
}

/// The tags `latest` must have: the cluster's and the app's, when given.
pub(crate) fn latest_tags(cluster: Option<&str>, app: Option<&str>) -> Vec<String> {
    let mut tags = Vec::new();
    if let Some(c) = cluster {
        tags.push(format!("cluster={c}"));
    }
    if let Some(a) = app {
        tags.push(format!("app={a}"));
    }
    tags
}

/// A repository failure as the right exit: the storage unreachable is the
/// outside world; a wrong password or a missing repository is input.
pub(crate) fn vault_failure(e: &bulkhead_dr::Error) -> Failure {
    match e {
        bulkhead_dr::Error::Kube(k) => Failure::Outside(k.to_string()),
        bulkhead_dr::Error::Input(s) => Failure::Input(s.clone()),
        bulkhead_dr::Error::Vault(v) => match v {
            bulkhead_vault::Error::Storage { .. } => Failure::Outside(v.to_string()),
            _ => Failure::Input(v.to_string()),
        },
    }
}

/// A progress display on standard error when it is a terminal (nothing on
/// a pipe or in CI logs), fed by the recovery library's progress reports.
pub(crate) struct ProgressDisplay {
    bar: Option<indicatif::ProgressBar>,
}

impl ProgressDisplay {
    /// A display for `what` (`backing up aws-use1-prod`), counting objects.
    pub(crate) fn new(what: &str) -> Self {
        Self::with_template(what, "{spinner} {prefix}: {pos} objects ({per_sec}) {wide_msg}")
    }

    /// A display for `what`, counting bytes (see [`Self::bytes`]).
    pub(crate) fn for_bytes(what: &str) -> Self {
        Self::with_template(what, "{spinner} {prefix}: {bytes} of {total_bytes} ({bytes_per_sec})")
    }

    fn with_template(what: &str, template: &str) -> Self {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.set_prefix(what.to_string());
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Self { bar }
    }

    /// Bytes done of `total`.
    pub(crate) fn bytes(&self, done: u64, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    }

    /// Takes one report.
    pub(crate) fn update(&self, p: bulkhead_dr::Progress<'_>) {
        let Some(bar) = &self.bar else { return };
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
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
