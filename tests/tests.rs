//! End-to-end runs of the `bulkhead` binary, one module per area (as
//! ripgrep's `tests/tests.rs`). Output is snapshotted with insta: review
//! changes with `cargo insta review`.

mod netns;
mod support;

// The README tells the truth: commands, crates, packages, fuzz targets, links.
mod readme;

// `bulkhead validate` on a corpus of broken fleets, one per mistake class.
mod validate;

// `bulkhead check` on the example fleet, and `bulkhead schema`.
mod check;

// `bulkhead net plan` and `net check`, offline and against live clusters.
mod net;

// `bulkhead audit`: a failing and a passing fixture per check, settings, the example.
mod audit;

// `bulkhead blast`: fixtures with known answers, HTML in Chromium, pairs, game day.
mod blast;

// The output contract: every command, every format, every path; exit codes by kind.
mod output;

// `testenv/testenv` itself: what it removes and what it kills.
mod testenv;

// `bulkhead export`: clean objects from a real cluster, as a stream and a tree.
mod export;

// `bulkhead backup` and `restore`: a namespace moved between real clusters, restic reading it, S3.
mod backup;

// Volume data in backups: CSI snapshots taken, recorded, and none left by a failed backup.
mod volumes;

// Claims restored from their backups' snapshots, in place, elsewhere and on another cluster; drills of them.
mod volume_restores;

// Backups and restores when servers die under them, and kinds the target does not serve.
mod recovery_faults;

// `bulkhead backup show | diff | forget | prune` on a real repository.
mod snapshots;

// `bulkhead drill`: recovery rehearsed between real clusters, verified, timed, recorded.
mod drill;

// `bulkhead etcd`: snapshots of the test environment's real etcd.
mod etcd;

// `bulkhead plan`, `apply`, `drift`: the fleet's code on three real clusters.
mod apply;

// `bulkhead traffic serve`: sites as network namespaces, `dig` as the client.
mod traffic;

// `access: {inCluster: true}`: a pod's service account, in a mount namespace.
mod in_cluster;

// `bulkhead serve`: the fleet's schedules run, remembered across restarts, reloaded live.
mod serve;

// The alert rules shipped for serve's metrics: promtool, the PrometheusRule, the names.
mod alerts;

// The in-cluster manifests of deploy/kubernetes: audited, and accepted by a real API server.
mod deploy;

// A fleet from a git checkout (git-sync's worktrees and swapped link) under serve.
mod git_fleet;

// TokenReview and SubjectAccessReview: who a token is, and what RBAC lets it do.
mod access_review;

// serve's API: RBAC decides, actions, live events, the OpenAPI document, static tokens and TLS.
mod api;

// The dashboard in Chromium (WebDriver): the offline report, a zone's click, a stale backup in red.
mod dashboard;
mod webdriver;

// The Helm chart: it lints, renders to deploy/kubernetes, refuses bad values, installs.
mod helm;
