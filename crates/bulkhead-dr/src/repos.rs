//! A fleet's repository, ready to open: its location (relative paths taken
//! from the fleet's folder) and its password, from where fleet.yaml says.

use std::path::Path;

use bulkhead_model::Fleet;
use bulkhead_vault::{Location, PasswordSource};

/// A repository of `dr.repositories`, resolved.
#[derive(Debug, Clone)]
pub struct ResolvedRepository {
    /// Its name.
    pub name: String,
    /// Where it is.
    pub location: Location,
    /// Its password.
    pub password: String,
}

/// Resolves repository `name` of the fleet; `env` reads the environment.
///
/// # Errors
/// When the fleet has no such repository, its URL is unusable, or its
/// password cannot be read (the message never holds the password).
pub fn resolve(fleet: &Fleet, name: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<ResolvedRepository, String> {
    let dr = &fleet.file.spec.dr;
    let Some(spec) = dr.repositories.iter().find(|r| r.name == name) else {
        let known: Vec<&str> = dr.repositories.iter().map(|r| r.name.as_str()).collect();
        return Err(format!("the fleet has no repository `{name}`; it has: {}", known.join(", ")));
    };
    let location = Location::parse(&spec.url).map_err(|e| e.to_string())?;
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
            return Err(format!("repository `{name}` names no password: give it `passwordEnv` or `passwordFile`"));
        }
    };
    let password = source.read(name, env).map_err(|e| e.to_string())?;
    Ok(ResolvedRepository { name: name.to_string(), location, password })
}
