//! Which repository a job uses, and how to open it: a repository of the
//! fleet's `dr.repositories` (its URL taken relative to the fleet, its
//! password from where fleet.yaml says), or a URL with restic's own
//! password variables. One choice for the CLI and the server alike.

use std::path::Path;

use bulkhead_model::Fleet;
use bulkhead_repository::{Env, Location, PasswordSource, RepositoryAccess};

use crate::Error;

/// A repository chosen for a job.
#[derive(Debug, Clone)]
pub struct ChosenRepository {
    /// Its name in the fleet, or its URL.
    pub name: String,
    /// How to open it.
    pub access: RepositoryAccess,
}

/// Opens repository `name` of the fleet's `dr.repositories`.
///
/// # Errors
/// When the fleet has no such repository, its URL is unusable, or its
/// password cannot be read (the message never holds the password).
pub fn named(fleet: &Fleet, name: &str, env: &Env) -> Result<ChosenRepository, Error> {
    let dr = &fleet.file.spec.dr;
    let Some(spec) = dr.repositories.iter().find(|r| r.name == name) else {
        return Err(Error::unknown("repository", name, dr.repositories.iter().map(|r| r.name.as_str())));
    };
    let location = Location::parse(&spec.url)?;
    // A relative local path is relative to the fleet, as every path in fleet.yaml is.
    let location = match location {
        Location::Local(path) if Path::new(&path).is_relative() => {
            Location::Local(fleet.root.join(path).display().to_string())
        }
        other => other,
    };
    let source = match (&spec.password_env, &spec.password_file) {
        (Some(var), _) => PasswordSource::Env(var.clone()),
        (None, Some(file)) => PasswordSource::File(fleet.root.join(file)),
        (None, None) => {
            return Err(Error::Usage(format!(
                "repository `{name}` names no password: give it `passwordEnv` or `passwordFile`"
            )));
        }
    };
    let password = source.read(name, &**env)?;
    Ok(ChosenRepository { name: name.to_string(), access: RepositoryAccess::new(location, password, env.clone()) })
}

/// The repository a command means: `wanted` (a name of the fleet's, or a
/// URL), else the one the policy of `app` names, else the fleet's only one.
///
/// # Errors
/// When none can be chosen, or the chosen one cannot be opened (see [`named`]).
pub fn choose(fleet: &Fleet, wanted: Option<&str>, app: Option<&str>, env: &Env) -> Result<ChosenRepository, Error> {
    let dr = &fleet.file.spec.dr;
    // A URL: restic's own password variables.
    if let Some(url) = wanted.filter(|w| w.contains(':') || w.contains('/')) {
        let location = Location::parse(url).map_err(|e| Error::Usage(e.to_string()))?;
        let source = match (env("RESTIC_PASSWORD_FILE"), env("RESTIC_PASSWORD")) {
            (Some(file), _) => PasswordSource::File(file.into()),
            (None, Some(_)) => PasswordSource::Env("RESTIC_PASSWORD".into()),
            (None, None) => {
                return Err(Error::Usage(format!(
                    "no password for repository {url}: set RESTIC_PASSWORD_FILE (or RESTIC_PASSWORD)"
                )));
            }
        };
        let password = source.read(url, &**env)?;
        return Ok(ChosenRepository {
            name: url.to_string(),
            access: RepositoryAccess::new(location, password, env.clone()),
        });
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
        None if dr.repositories.is_empty() => {
            return Err(Error::Usage("the fleet has no `dr.repositories`: add one, or give --repo URL".into()));
        }
        None => {
            let known: Vec<&str> = dr.repositories.iter().map(|r| r.name.as_str()).collect();
            return Err(Error::Usage(format!("which repository? give --repo: the fleet has {}", known.join(", "))));
        }
    };
    named(fleet, &name, env)
}

/// Every repository a backup policy of the fleet uses, by name, once each:
/// what `check --repos` and the server read.
pub fn of_policies(fleet: &Fleet) -> Vec<String> {
    let mut names: Vec<String> = fleet.file.spec.dr.policies.iter().map(|p| p.repository.clone()).collect();
    names.sort();
    names.dedup();
    names
}
