//! `bulkhead etcd`: a self-managed control plane's etcd, backed up
//! (`snapshot`) and read offline (`inspect`, `extract`).

pub mod extract;
pub mod forget;
pub mod inspect;
pub mod restore;
mod source;
pub mod watch;

use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;

use bulkhead_etcd::access::Target;
use bulkhead_etcd::snapshot::Taken;
use bulkhead_report::{OutputFormat, Verdict};
use bulkhead_vault::{Content, File, NewSnapshot};

use super::recovery::{ProgressDisplay, load_fleet, on_vault, repository};
use crate::args::EtcdSnapshotArgs;
use crate::error::Failure;
use crate::settings::output;

/// Runs `etcd snapshot`.
///
/// # Errors
/// Bad flags or fleet (exit 2), etcd or the repository unreachable (exit 3).
pub fn snapshot(args: &EtcdSnapshotArgs, out: &mut dyn Write) -> Result<Verdict, Failure> {
    let fleet = load_fleet(&args.fleet.fleet)?;
    let (cluster, target) = etcd_target(&fleet, &args.cluster)?;
    // The repository is resolved first: a missing password fails before etcd is touched.
    let store = args.out.is_none() || args.repo.repo.is_some();
    let repo = if store { Some(repository(&fleet, args.repo.repo.as_deref(), None)?) } else { None };
    let (path, temporary) = match &args.out {
        Some(p) => (p.clone(), false),
        None => (std::env::temp_dir().join(format!("bulkhead-etcd-{}-{}.db", cluster.name, std::process::id())), true),
    };
    let display = ProgressDisplay::for_bytes(&format!("snapshotting etcd of {}", cluster.name));
    let taken = super::block_on(async {
        let mut client = target.connect().await?;
        bulkhead_etcd::snapshot::save(&target, &mut client, &path, &|done, total| display.bytes(done, total)).await
    })?
    .map_err(|e| if e.is_unreachable() { Failure::Outside(e.to_string()) } else { Failure::Input(e.to_string()) });
    drop(display);
    let taken = taken?;
    let stored = match repo {
        Some(repo) => {
            let saved = store_snapshot(&repo, &cluster.name, &fleet.file.metadata.name, &taken, path.clone(), true);
            if temporary {
                let _ = std::fs::remove_file(&path);
            }
            Some((repo.name, saved?))
        }
        None => None,
    };
    match output(args.output) {
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "cluster": cluster.name,
                "revision": taken.revision,
                "bytes": taken.bytes,
                "sha256": taken.sha256,
                "etcdVersion": taken.etcd_version,
                "seconds": taken.seconds,
                "file": (!temporary).then(|| path.display().to_string()),
                "repository": stored.as_ref().map(|(name, _)| name),
                "snapshot": stored.as_ref().map(|(_, s)| s),
            });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        _ => {
            #[allow(clippy::cast_precision_loss)] // a size for people
            let mib = taken.bytes as f64 / f64::from(1 << 20);
            writeln!(
                out,
                "etcd of `{}` at revision {}: {mib:.1} MiB, SHA-256 {} verified (etcd {}, {:.1} s)",
                cluster.name, taken.revision, taken.sha256, taken.etcd_version, taken.seconds
            )?;
            if !temporary {
                writeln!(out, "written to {}", path.display())?;
            }
            if let Some((name, s)) = &stored {
                writeln!(out, "stored in repository `{name}` as snapshot {}", s.id)?;
            }
        }
    }
    Ok(Verdict::Pass)
}

/// The fleet's cluster `name` and how to reach its etcd.
///
/// # Errors
/// No such cluster, a managed control plane, or no (usable) access settings (exit 2).
pub(crate) fn etcd_target<'f>(
    fleet: &'f bulkhead_model::Fleet,
    name: &str,
) -> Result<(&'f bulkhead_model::spec::Cluster, Target), Failure> {
    let spec = &fleet.file.spec;
    let cluster = spec.clusters.iter().find(|c| c.name == name).ok_or_else(|| {
        let known: Vec<&str> = spec.clusters.iter().map(|c| c.name.as_str()).collect();
        Failure::Usage(format!("the fleet has no cluster `{name}`; it has: {}", known.join(", ")))
    })?;
    if cluster.control_plane.managed {
        return Err(Failure::Input(format!(
            "cluster `{}` has a managed control plane: its provider keeps etcd out of reach (and backs it up)",
            cluster.name
        )));
    }
    let access = cluster.control_plane.etcd.access.as_ref().ok_or_else(|| {
        Failure::Input(format!(
            "cluster `{}` says nowhere how to reach its etcd: add `controlPlane.etcd.access: {{endpoints: [https://HOST:2379], caFile: …, certFile: …, keyFile: …}}` to fleet.yaml",
            cluster.name
        ))
    })?;
    let target = Target::resolve(&fleet.root, access).map_err(|e| Failure::Input(e.to_string()))?;
    Ok((cluster, target))
}

/// Stores the snapshot file in the repository as `/etcd/CLUSTER/snapshot.db`,
/// read from disk as the archiver goes (it may be gigabytes).
pub(crate) fn store_snapshot(
    repo: &super::recovery::Repo,
    cluster: &str,
    fleet: &str,
    taken: &Taken,
    path: PathBuf,
    create: bool,
) -> Result<bulkhead_vault::Snapshot, Failure> {
    let snapshot = NewSnapshot {
        base: "/etcd".into(),
        hostname: cluster.to_string(),
        label: "etcd".into(),
        tags: vec![
            bulkhead_etcd::SNAPSHOT_TAG.into(),
            format!("fleet={fleet}"),
            format!("cluster={cluster}"),
            format!("etcd-revision={}", taken.revision),
        ],
        description: format!(
            "bulkhead etcd snapshot of {cluster}: revision {}, {} bytes, sha256 {}, etcd {}",
            taken.revision, taken.bytes, taken.sha256, taken.etcd_version
        ),
    };
    let file = File { path: vec![cluster.to_string(), "snapshot.db".into()], content: Content::Disk(path) };
    on_vault(repo, create, move |vault| {
        let (tx, rx) = mpsc::channel();
        // The receiver lives until save returns: the send cannot fail.
        let _ = tx.send(file);
        drop(tx);
        vault.save(&snapshot, rx, &|| Ok(1))
    })
}
