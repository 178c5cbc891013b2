//! A fleet from a git checkout, as the chart's git-sync keeps one: each
//! commit checked out into a worktree of its own, and one link swapped to
//! the newest at once (a rename), the old worktree then removed. `serve`
//! reads the fleet through the link: a commit that adds an app is taken
//! while serving (the app is backed up), a commit that breaks the fleet
//! keeps the last good one, and the fix is taken again.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bulkhead_test::TestEnv;

use crate::serve::{finish, free_port, has, has_series, jobs, metrics_until, namespace_with_settings, runs_of, start};
use crate::support::{one_app_fleet, scratch};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=test", "-c", "user.email=test@bulkhead.invalid"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Everything in `src` committed as `message`.
fn commit(src: &Path, message: &str) {
    git(src, &["add", "-A"]);
    git(src, &["commit", "--quiet", "-m", message]);
}

/// What git-sync does on a new commit: a worktree of it under
/// `root/.worktrees`, the link `root/fleet` renamed onto it, the worktree
/// it replaced removed.
fn publish(src: &Path, root: &Path) {
    let sha = git(src, &["rev-parse", "HEAD"]);
    let worktree = root.join(".worktrees").join(&sha);
    git(src, &["worktree", "add", "--quiet", "--detach", worktree.to_str().unwrap(), &sha]);
    let link = root.join("fleet");
    let old = std::fs::read_link(&link).ok();
    let staged = root.join("fleet.new");
    std::os::unix::fs::symlink(Path::new(".worktrees").join(&sha), &staged).unwrap();
    std::fs::rename(&staged, &link).unwrap();
    if let Some(old) = old {
        git(src, &["worktree", "remove", "--force", root.join(old).to_str().unwrap()]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_takes_each_commit_of_a_git_checkout_fleet_through_its_swapped_link() {
    let Some(env) = TestEnv::require(1) else { return };
    let ns = namespace_with_settings(&env, "git-fleet").await;
    let base = scratch("git-fleet");
    let (src, root, state): (PathBuf, PathBuf, PathBuf) = (base.join("src"), base.join("git"), base.join("state"));
    std::fs::create_dir_all(&root).unwrap();
    // The repository of backups lives beside the fleet, not in git.
    one_app_fleet(&env, &src, ns.name(), "yearly", "0 0 1 1 *", 3);
    std::fs::write(src.join(".gitignore"), "repo/\n").unwrap();
    // git keeps no empty folders: the app's manifests folder holds a note.
    std::fs::write(src.join("apps/shop/README.md"), "shop\n").unwrap();
    git(&src, &["init", "--quiet", "--initial-branch=main"]);
    commit(&src, "the fleet");
    publish(&src, &root);

    let c0 = env.cluster(0).name.clone();
    let success = |app: &str| {
        format!("bulkhead_job_last_success_timestamp_seconds{{kind=\"backup\",key=\"backup/yearly/{c0}/{app}\"}}")
    };
    let port = free_port();
    let child = start(&root.join("fleet"), &state, port, "40s");
    metrics_until(port, Duration::from_secs(20), |m| has_series(m, &success("shop")));

    // A commit adds an app: taken without a restart, and backed up.
    let fleet_file = src.join("fleet.yaml");
    let text = std::fs::read_to_string(&fleet_file).unwrap();
    let (head, shop) = text.split_once("    - name: shop\n").unwrap();
    let shop_entry = format!("    - name: shop\n{}", shop.split_once("\n  dr:").unwrap().0);
    let web_entry = shop_entry.replace("shop", "web");
    std::fs::write(
        &fleet_file,
        format!("{head}{shop_entry}\n{web_entry}\n  dr:{}", shop.split_once("\n  dr:").unwrap().1),
    )
    .unwrap();
    std::fs::create_dir_all(src.join("apps/web")).unwrap();
    std::fs::write(src.join("apps/web/README.md"), "web\n").unwrap();
    commit(&src, "add web");
    publish(&src, &root);
    metrics_until(port, Duration::from_secs(20), |m| has_series(m, &success("web")));

    // A commit that breaks the fleet: refused, the last good one kept;
    // the fix is taken again.
    let good = std::fs::read_to_string(&fleet_file).unwrap();
    std::fs::write(&fleet_file, good.replace("schedule: \"0 0 1 1 *\"", "schedule: \"whenever\"")).unwrap();
    commit(&src, "break the schedule");
    publish(&src, &root);
    metrics_until(port, Duration::from_secs(10), |m| has(m, "bulkhead_fleet_valid 0"));
    std::fs::write(&fleet_file, &good).unwrap();
    commit(&src, "mend the schedule");
    publish(&src, &root);
    metrics_until(port, Duration::from_secs(10), |m| has(m, "bulkhead_fleet_valid 1"));
    let stderr = finish(child);
    assert!(stderr.contains("not valid: the last good fleet stays in use"), "{stderr}");

    let runs = jobs(&state).await;
    for app in ["shop", "web"] {
        let key = format!("backup/yearly/{c0}/{app}");
        assert_eq!(runs_of(&runs, &key).len(), 1, "{app} backed up once: {runs:#?}");
        assert_eq!(runs_of(&runs, &key)[0]["outcome"], "succeeded");
    }
}
