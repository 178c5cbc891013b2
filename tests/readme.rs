//! The README tells the truth: every subcommand of the CLI has its row and
//! every command the README names exists; every crate is in its layout;
//! every system package a test needs is named there and installed by
//! `.ci/run`; every fuzz target is listed; no link leaves the repository.

use std::collections::BTreeSet;

use bulkhead_cli::args::Cli;
use clap::CommandFactory;

use crate::support::repo_root;

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every runnable command, as its words: `["backup", "create"]`, `["check"]`.
fn commands() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        let subs: Vec<&clap::Command> = cmd.get_subcommands().filter(|s| s.get_name() != "help").collect();
        if subs.is_empty() {
            out.push(path.clone());
        }
        for sub in subs {
            path.push(sub.get_name().to_string());
            walk(sub, path, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(&Cli::command(), &mut Vec::new(), &mut out);
    out
}

/// The lowercase words after `bulkhead` that name a command, up to the
/// first flag, placeholder or value.
fn named_words(after: &str) -> Vec<String> {
    after
        .split(|c: char| c.is_whitespace() || c == '`')
        .take_while(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !w.starts_with('-'))
        .map(String::from)
        .collect()
}

#[test]
fn every_subcommand_has_its_readme_row_and_every_readme_command_exists() {
    let readme = read("README.md");
    let mut missing = Vec::new();
    for words in commands() {
        let line = words.join(" ");
        let top = format!("| `bulkhead {}", words[0]);
        let named = readme.contains(&format!("bulkhead {line}")) || readme.contains(&format!("`{line}"));
        if !readme.lines().any(|l| l.starts_with(&top)) || !named {
            missing.push(line);
        }
    }
    assert!(missing.is_empty(), "commands the README's table does not name: {missing:?}");

    let cli = Cli::command();
    let mut unknown = BTreeSet::new();
    for (i, _) in readme.match_indices("bulkhead ") {
        let words = named_words(&readme[i + "bulkhead ".len()..]);
        let mut cmd = &cli;
        for word in &words {
            if cmd.get_subcommands().next().is_none() {
                break; // a leaf: what follows is its value (`bulkhead check examples`)
            }
            match cmd.find_subcommand(word) {
                Some(sub) => cmd = sub,
                None => {
                    unknown.insert(words.join(" "));
                    break;
                }
            }
        }
    }
    // Prose that names the binary rather than a command.
    unknown.retain(|w| !w.is_empty() && !["keeps", "is", "serve"].contains(&w.split(' ').next().unwrap_or("")));
    assert!(unknown.is_empty(), "the README names commands the CLI does not have: {unknown:?}");
}

#[test]
fn every_crate_is_in_the_readme_layout_and_in_crates_readme() {
    let (readme, crates) = (read("README.md"), read("crates/README.md"));
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(repo_root().join("crates")).unwrap() {
        let entry = entry.unwrap();
        if !entry.path().join("Cargo.toml").exists() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if !readme.contains(&format!("`{name}`")) {
            missing.push(format!("README.md: {name}"));
        }
        if !crates.contains(&format!("| `{name}` |")) {
            missing.push(format!("crates/README.md: {name}"));
        }
    }
    assert!(missing.is_empty(), "crates missing from the layout: {missing:?}");
}

#[test]
fn every_system_package_a_test_needs_is_named_in_the_readme_and_installed_by_ci() {
    let (readme, ci) = (read("README.md"), read(".ci/run"));
    let mut missing = Vec::new();
    for program in bulkhead_test::program::ALL {
        if !readme.contains(program.package) {
            missing.push(format!("README.md does not name the package {}", program.package));
        }
        // .ci/run's list of `command:package` pairs it installs when missing.
        if !ci.contains(&format!(":{}\"", program.package)) {
            missing.push(format!(".ci/run does not install {}", program.package));
        }
    }
    assert!(missing.is_empty(), "{missing:?}");
}

#[test]
fn every_fuzz_target_is_listed() {
    let (cargo, listed) = (read("fuzz/Cargo.toml"), read("fuzz/README.md"));
    let targets: Vec<&str> = cargo
        .split("[[bin]]")
        .skip(1)
        .filter_map(|bin| bin.lines().find_map(|l| l.trim().strip_prefix("name = ")))
        .map(|name| name.trim_matches('"'))
        .collect();
    assert!(targets.len() >= 11, "fuzz/Cargo.toml's targets: {targets:?}");
    let unlisted: Vec<&&str> = targets.iter().filter(|t| !listed.contains(&format!("| `{t}` |"))).collect();
    assert!(unlisted.is_empty(), "fuzz targets fuzz/README.md does not list: {unlisted:?}");
    assert!(read("README.md").contains("fuzz/README.md"), "the README points to the fuzz targets' list");
}

#[test]
fn no_link_in_the_readme_leaves_the_repository() {
    let readme = read("README.md");
    assert!(!readme.contains("../"), "the README links outside the repository");
    // Every path it names in backticks or a link exists.
    let mut gone = Vec::new();
    for piece in
        readme.split('`').skip(1).step_by(2).chain(readme.split("](").skip(1).filter_map(|p| p.split(')').next()))
    {
        let path = piece.split_whitespace().next().unwrap_or("");
        let looks_like_path = ["docs/", "examples/", "tests/", "crates/", "bench/", "fuzz/", "testenv/", "deploy/"]
            .iter()
            .any(|p| path.starts_with(p))
            && !path.contains(['*', '{', '<']);
        if looks_like_path && !repo_root().join(path.trim_end_matches(['.', ',', ':'])).exists() {
            gone.push(path.to_string());
        }
    }
    assert!(gone.is_empty(), "the README names paths that do not exist: {gone:?}");
}
