//! The command modules keep flags, settings and printing only: the work
//! itself — resolving the fleet into jobs, choosing repositories, the tag
//! vocabulary, threads around the blocking repository library, runtimes —
//! lives in the libraries below (`bulkhead-jobs`, `bulkhead-repository`).
//! A server calls those; anything left here would be a second copy it
//! cannot reach.

use std::path::{Path, PathBuf};

/// What may not appear in a command module, and why.
const FORBIDDEN: &[(&str, &str)] = &[
    ("thread::spawn", "a thread of its own: the repository's is RepositoryAccess::run"),
    ("spawn_blocking", "a blocking thread: the repository's is RepositoryAccess::run"),
    ("tokio::runtime", "a runtime: the binary has one (src/runtime.rs)"),
    ("Repository::open", "opening a repository: bulkhead-jobs' repository::choose"),
    ("PasswordSource", "reading passwords: bulkhead-jobs' repository::choose"),
    ("dr.repositories", "choosing a repository: bulkhead-jobs' repository::choose"),
    ("dr.policies", "resolving a policy: a job's plan"),
    ("dr.drills", "resolving a drill: bulkhead-jobs' drill::plan"),
    ("placement.clusters", "where an app runs: a job's plan"),
    ("spec.apps.iter()", "resolving apps: a job's plan"),
    (".access.run(", "work on a repository: a job of bulkhead-jobs (snapshots, retention …)"),
    (".access.snapshots(", "reading a repository's snapshots: bulkhead-jobs' snapshots"),
];

/// Tag literals (`"cluster=…"`): the vocabulary is bulkhead-repository's `tags`.
const TAG_KEYS: &[&str] = &[
    "fleet",
    "cluster",
    "app",
    "policy",
    "bulkhead",
    "drill",
    "drill-app",
    "verdict",
    "rto-seconds",
    "etcd-revision",
    "etcd-from",
    "etcd-to",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn command_modules_hold_no_orchestration() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands");
    let mut files = Vec::new();
    sources(&root, &mut files);
    assert!(files.len() > 20, "the command modules were found: {files:?}");
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for (pattern, why) in FORBIDDEN {
                if code.contains(pattern) {
                    found.push(format!("{}:{}: {pattern} ({why})", file.display(), n + 1));
                }
            }
            for key in TAG_KEYS {
                if code.contains(&format!("\"{key}=")) || code.contains(&format!("format!(\"{key}=")) {
                    found.push(format!(
                        "{}:{}: a `{key}=` tag literal (bulkhead-repository's tags)",
                        file.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(found.is_empty(), "orchestration left in the CLI:\n{}", found.join("\n"));
}
