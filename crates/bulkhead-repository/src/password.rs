//! The repository password: from an environment variable or a file, never
//! from a flag's value (which lands in shell history and the process list),
//! and kept in a [`Password`] that neither `Debug` nor `Display` reveals.

use std::path::Path;

use crate::Error;

/// A repository password. `secrecy`'s box: `Debug` prints `[REDACTED]`,
/// there is no `Display`, and the memory is zeroed when it is dropped; the
/// text comes out only through `expose_secret`, at rustic's door.
pub type Password = secrecy::SecretString;

/// Where a password is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// An environment variable, by name.
    Env(String),
    /// A file (its first line).
    File(std::path::PathBuf),
}

impl PasswordSource {
    /// Reads the password; `repository` names the repository in errors.
    ///
    /// # Errors
    /// When the variable is unset or empty, or the file cannot be read or is empty.
    pub fn read(&self, repository: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Password, Error> {
        let err = |why: String| Error::Password { repository: repository.to_string(), why };
        let password = match self {
            Self::Env(name) => env(name).ok_or_else(|| err(format!("the environment variable {name} is not set")))?,
            Self::File(path) => read_file(path).map_err(err)?,
        };
        if password.is_empty() {
            return Err(err(match self {
                Self::Env(name) => format!("the environment variable {name} is empty"),
                Self::File(path) => format!("{} is empty", path.display()),
            }));
        }
        Ok(Password::from(password))
    }
}

fn read_file(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    // restic's --password-file: the first line, without its line ending.
    Ok(text.lines().next().unwrap_or_default().to_string())
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn passwords_come_from_the_environment_or_a_file_and_errors_never_show_them() {
        let env = |k: &str| (k == "PW").then(|| "s3cret".to_string());
        let password = PasswordSource::Env("PW".into()).read("r", &env).unwrap();
        assert_eq!(password.expose_secret(), "s3cret");
        assert!(!format!("{password:?}").contains("s3cret"), "Debug hides it");
        let missing = PasswordSource::Env("NOPE".into()).read("r", &env).unwrap_err().to_string();
        assert!(missing.contains("NOPE is not set"), "{missing}");
        let dir = std::env::temp_dir().join(format!("bulkhead-vault-pw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pw");
        std::fs::write(&file, "from-file\nignored\n").unwrap();
        assert_eq!(PasswordSource::File(file.clone()).read("r", &env).unwrap().expose_secret(), "from-file");
        std::fs::write(&file, "").unwrap();
        let empty = PasswordSource::File(file).read("r", &env).unwrap_err().to_string();
        assert!(empty.contains("is empty"), "{empty}");
    }
}
