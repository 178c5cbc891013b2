//! Where a repository lives, from the URL restic users write: a local
//! path, `local:/path`, or `s3:https://host/bucket/prefix` (`s3:host/bucket`
//! means https). S3 keys come from the environment, as restic reads them
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`).
//! Pure: the environment is passed in.

use std::collections::BTreeMap;

use crate::Error;

/// A repository location, ready for a backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A directory on this machine.
    Local(String),
    /// An S3 bucket (or a prefix in it).
    S3 {
        /// `https://host:port`.
        endpoint: String,
        /// The bucket.
        bucket: String,
        /// The prefix inside the bucket, `/` for none.
        root: String,
    },
}

impl Location {
    /// Reads a restic repository URL.
    ///
    /// # Errors
    /// When the URL names a backend Bulkhead does not speak, or an S3 URL
    /// lacks its bucket.
    pub fn parse(url: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::Location { url: url.to_string(), why: why.to_string() };
        if let Some(rest) = url.strip_prefix("s3:") {
            let (scheme, rest) = match rest.split_once("://") {
                Some((scheme @ ("http" | "https"), rest)) => (scheme, rest),
                Some((other, _)) => return Err(bad(&format!("`{other}://` is not http or https"))),
                None => ("https", rest),
            };
            let mut parts = rest.splitn(3, '/');
            let host = parts.next().filter(|h| !h.is_empty()).ok_or_else(|| bad("no host"))?;
            let bucket = parts.next().filter(|b| !b.is_empty()).ok_or_else(|| bad("no bucket after the host"))?;
            let prefix = parts.next().unwrap_or("").trim_matches('/');
            return Ok(Self::S3 {
                endpoint: format!("{scheme}://{host}"),
                bucket: bucket.to_string(),
                root: format!("/{prefix}"),
            });
        }
        if let Some(path) = url.strip_prefix("local:") {
            return if path.is_empty() { Err(bad("no path")) } else { Ok(Self::Local(path.to_string())) };
        }
        match url.split_once(':') {
            // A path with a colon in a later component (`/srv/a:b`) is still a path.
            Some((scheme, _)) if !scheme.contains('/') && !scheme.is_empty() => {
                Err(bad(&format!("`{scheme}:` repositories are not supported: use a local path or s3:")))
            }
            _ if url.is_empty() => Err(bad("empty")),
            _ => Ok(Self::Local(url.to_string())),
        }
    }

    /// The backend's name and options, with S3 keys from `env`.
    ///
    /// # Errors
    /// When S3 keys are missing from the environment.
    pub(crate) fn backend(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(String, BTreeMap<String, String>), Error> {
        match self {
            Self::Local(path) => Ok((format!("local:{path}"), BTreeMap::new())),
            Self::S3 { endpoint, bucket, root } => {
                let key = |name: &str| {
                    env(name).filter(|v| !v.is_empty()).ok_or_else(|| Error::Credentials {
                        what: format!("the S3 repository needs {name} in the environment"),
                    })
                };
                let mut options = BTreeMap::from([
                    ("endpoint".to_string(), endpoint.clone()),
                    ("bucket".to_string(), bucket.clone()),
                    ("root".to_string(), root.clone()),
                    ("access_key_id".to_string(), key("AWS_ACCESS_KEY_ID")?),
                    ("secret_access_key".to_string(), key("AWS_SECRET_ACCESS_KEY")?),
                    ("region".to_string(), env("AWS_DEFAULT_REGION").unwrap_or_else(|| "us-east-1".into())),
                    // Path-style requests: what S3 servers other than AWS expect.
                    ("enable_virtual_host_style".to_string(), "false".into()),
                ]);
                if let Some(token) = env("AWS_SESSION_TOKEN") {
                    options.insert("session_token".into(), token);
                }
                Ok(("opendal:s3".to_string(), options))
            }
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local(path) => write!(f, "{path}"),
            Self::S3 { endpoint, bucket, root } => write!(f, "s3:{endpoint}/{bucket}{}", root.trim_end_matches('/')),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn restic_urls() {
        assert_eq!(Location::parse("/srv/backups").unwrap(), Location::Local("/srv/backups".into()));
        assert_eq!(Location::parse("local:/srv/b").unwrap(), Location::Local("/srv/b".into()));
        assert_eq!(Location::parse("relative/repo").unwrap(), Location::Local("relative/repo".into()));
        assert_eq!(
            Location::parse("s3:http://127.0.0.1:8333/bulkhead/fleet/prod").unwrap(),
            Location::S3 {
                endpoint: "http://127.0.0.1:8333".into(),
                bucket: "bulkhead".into(),
                root: "/fleet/prod".into()
            }
        );
        assert_eq!(
            Location::parse("s3:s3.example.com/b").unwrap(),
            Location::S3 { endpoint: "https://s3.example.com".into(), bucket: "b".into(), root: "/".into() }
        );
        for bad in ["", "s3:", "s3:https://host", "s3:ftp://h/b", "sftp:host:/r", "rest:http://x"] {
            assert!(Location::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn s3_keys_come_from_the_environment() {
        let s3 = Location::parse("s3:http://127.0.0.1:1/b").unwrap();
        let none = |_: &str| None;
        assert!(s3.backend(&none).unwrap_err().to_string().contains("AWS_ACCESS_KEY_ID"));
        let env = |k: &str| Some(format!("value-of-{k}"));
        let (name, options) = s3.backend(&env).unwrap();
        assert_eq!(name, "opendal:s3");
        assert_eq!(options["bucket"], "b");
        assert_eq!(options["secret_access_key"], "value-of-AWS_SECRET_ACCESS_KEY");
    }

    proptest! {
        #[test]
        fn any_url_parses_or_says_why(url in "\\PC{0,40}") {
            match Location::parse(&url) {
                Ok(l) => prop_assert!(!l.to_string().is_empty()),
                Err(e) => prop_assert!(e.to_string().contains("repository")),
            }
        }
    }
}
