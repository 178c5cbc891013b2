//! Programs from the system's package manager that some tests need: stock
//! restic (it must read Bulkhead's repositories), `dig` and BIND (the
//! traffic DNS's client and peer), Chromium (the HTML pages). testenv
//! cannot install them itself. Outside CI a test whose program is missing
//! is skipped with the reason and the package to install; under `CI=true`
//! it fails, since `.ci/run` installs every one of them.

use std::path::PathBuf;

/// A program a test runs, and where it comes from.
#[derive(Debug, Clone, Copy)]
pub struct Program {
    /// Its names on `PATH`, the first found wins (Debian's name first).
    pub names: &'static [&'static str],
    /// The Debian package that installs it.
    pub package: &'static str,
    /// What the tests use it for, for the skip message.
    pub used_for: &'static str,
}

/// Stock restic: Bulkhead's repositories must stay readable without Bulkhead.
pub const RESTIC: Program =
    Program { names: &["restic"], package: "restic", used_for: "stock restic reading Bulkhead's repositories" };
/// `dig`: the traffic DNS's client.
pub const DIG: Program = Program { names: &["dig"], package: "dnsutils", used_for: "asking the traffic DNS" };
/// BIND 9's `named`: the traffic DNS's secondary and primary.
pub const NAMED: Program =
    Program { names: &["named"], package: "bind9", used_for: "BIND 9 as the traffic DNS's secondary and primary" };
/// Headless Chromium: the HTML reports rendered in a real browser.
pub const CHROMIUM: Program =
    Program { names: &["chromium", "chromium-browser"], package: "chromium", used_for: "rendering the HTML reports" };

/// Prometheus's `promtool`: the shipped alert rules checked and unit-tested.
pub const PROMTOOL: Program =
    Program { names: &["promtool"], package: "prometheus", used_for: "checking and testing the alert rules" };

/// Prometheus itself: scraping `serve` and evaluating the alert rules on it.
pub const PROMETHEUS: Program = Program {
    names: &["prometheus"],
    package: "prometheus",
    used_for: "scraping serve's metrics with the alert rules",
};

/// chromedriver: Chromium driven by WebDriver (clicks, screenshots of the dashboard).
pub const CHROMEDRIVER: Program = Program {
    names: &["chromedriver"],
    package: "chromium-driver",
    used_for: "driving Chromium through the dashboard",
};

/// curl: the API asked over HTTPS.
pub const CURL: Program = Program { names: &["curl"], package: "curl", used_for: "asking serve's API over HTTPS" };

/// openssl: a self-signed certificate for serve's HTTPS.
pub const OPENSSL: Program =
    Program { names: &["openssl"], package: "openssl", used_for: "a certificate for serve's HTTPS" };

/// Every program of this list, so a test can check that `.ci/run` and the
/// README name each package.
pub const ALL: [Program; 9] = [RESTIC, DIG, NAMED, CHROMIUM, CHROMEDRIVER, PROMTOOL, PROMETHEUS, CURL, OPENSSL];

impl Program {
    /// Where the program is on `PATH`, if it is there.
    pub fn find(&self) -> Option<PathBuf> {
        let path = std::env::var_os("PATH")?;
        self.names.iter().find_map(|name| {
            std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
        })
    }

    /// The program, or `None` when the test should be skipped (after saying
    /// why on stderr).
    ///
    /// # Panics
    /// Under `CI=true` when the program is missing: a skipped test is a
    /// failure in CI.
    pub fn require(&self) -> Option<PathBuf> {
        let found = self.find();
        if found.is_none() {
            crate::skip(&format!(
                "`{}` is not installed, needed for {} (apt-get install {})",
                self.names[0], self.used_for, self.package
            ));
        }
        found
    }
}

fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_on_path_is_found_and_one_that_is_not_is_not() {
        let sh = Program { names: &["no-such-program-here", "sh"], package: "dash", used_for: "a shell" };
        assert!(sh.find().is_some_and(|p| p.ends_with("sh")));
        let none = Program { names: &["no-such-program-here"], package: "none", used_for: "nothing" };
        assert_eq!(none.find(), None);
    }
}
