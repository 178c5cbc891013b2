//! The storage classes a restore uses when no `--storage-class-map` is
//! given: each class the snapshot's claims and volumes name that the target
//! does not have is matched, from the fleet's declarations, to a class of
//! the target with the same topology (a zonal disk for a zonal disk) that
//! gives every access mode the source class gave. No match is an error
//! before anything is written: a claim of a class the target lacks would
//! sit Pending forever. Pure.

use std::collections::{BTreeMap, BTreeSet};

use bulkhead_model::spec::{AccessMode, StorageClass, VolumeTopology};

/// The fleet's storage classes for a restore's two ends.
#[derive(Debug, Clone, Default)]
pub struct FleetClasses {
    /// Each cluster's declared classes, by cluster name.
    pub by_cluster: BTreeMap<String, Vec<StorageClass>>,
    /// The cluster restored into.
    pub target: String,
}

/// What the target has, besides what the fleet declares for it.
#[derive(Debug, Clone, Default)]
pub struct TargetClasses {
    /// Classes the target serves now (listed live).
    pub live: BTreeSet<String>,
    /// Classes the restore itself creates (StorageClass objects of the snapshot).
    pub restored: BTreeSet<String>,
}

/// `old → new` for every `used` class the target lacks. `used` maps each
/// class to the objects that name it (`PersistentVolumeClaim shop/data`),
/// for the error; `source` is the snapshot's cluster.
///
/// # Errors
/// The classes with no match, each with why, in one message.
pub fn derive(
    used: &BTreeMap<String, Vec<String>>,
    fleet: &FleetClasses,
    source: Option<&str>,
    target: &TargetClasses,
) -> Result<BTreeMap<String, String>, Unmatched> {
    let none = Vec::new();
    let declared = fleet.by_cluster.get(&fleet.target).unwrap_or(&none);
    let source_classes = source.and_then(|s| fleet.by_cluster.get(s)).unwrap_or(&none);
    let mut mapping = BTreeMap::new();
    let mut problems = Vec::new();
    for (class, users) in used {
        let present =
            declared.iter().any(|c| c.name == *class) || target.live.contains(class) || target.restored.contains(class);
        if present {
            continue;
        }
        let users = users_of(users);
        let Some(from) = source_classes.iter().find(|c| c.name == *class) else {
            problems.push(format!(
                "storage class `{class}` ({users}) is not on `{}`, and {} declares no class `{class}` to match by topology and access modes",
                fleet.target,
                source.map_or_else(|| "the snapshot names no cluster that".to_string(), |s| format!("the fleet's cluster `{s}`")),
            ));
            continue;
        };
        match best_match(from, declared) {
            Some(to) => {
                mapping.insert(class.clone(), to.name.clone());
            }
            None => problems.push(format!(
                "storage class `{class}` ({users}: {} topology, {}) has no match on `{}`, which declares {}",
                topology_name(from.topology),
                modes(&from.access_modes),
                fleet.target,
                if declared.is_empty() {
                    "no storage classes".to_string()
                } else {
                    declared
                        .iter()
                        .map(|c| format!("{} ({}, {})", c.name, topology_name(c.topology), modes(&c.access_modes)))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            )),
        }
    }
    if problems.is_empty() { Ok(mapping) } else { Err(Unmatched { problems }) }
}

/// Storage classes a restore uses that the target has no match for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}; give --storage-class-map OLD=NEW for them", problems.join("; "))]
pub struct Unmatched {
    /// Each class, with why nothing matches it.
    pub problems: Vec<String>,
}

/// The target class for `from`: the same topology and every access mode
/// `from` gives; of those, the same provisioner first, then the default,
/// then the first by name (declaration order is not a preference).
fn best_match<'a>(from: &StorageClass, candidates: &'a [StorageClass]) -> Option<&'a StorageClass> {
    let mut fitting: Vec<&StorageClass> = candidates
        .iter()
        .filter(|c| c.topology == from.topology && from.access_modes.iter().all(|m| c.access_modes.contains(m)))
        .collect();
    fitting.sort_by_key(|c| (c.provisioner.is_none() || c.provisioner != from.provisioner, !c.default, c.name.clone()));
    fitting.first().copied()
}

fn users_of(users: &[String]) -> String {
    match users {
        [] => "named by no object".to_string(),
        [one] => format!("used by {one}"),
        [first, rest @ ..] => format!("used by {first} and {} more", rest.len()),
    }
}

fn topology_name(t: VolumeTopology) -> &'static str {
    match t {
        VolumeTopology::Node => "node",
        VolumeTopology::Zone => "zone",
        VolumeTopology::Region => "region",
    }
}

fn modes(m: &[AccessMode]) -> String {
    m.iter().map(|m| format!("{m:?}")).collect::<Vec<_>>().join("+")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(
        name: &str,
        provisioner: &str,
        modes: &[AccessMode],
        topology: VolumeTopology,
        default: bool,
    ) -> StorageClass {
        StorageClass {
            name: name.into(),
            provisioner: Some(provisioner.into()),
            access_modes: modes.to_vec(),
            topology,
            default,
            snapshot_class: None,
        }
    }

    fn fleet() -> FleetClasses {
        use AccessMode::{ReadWriteMany as Rwx, ReadWriteOnce as Rwo};
        use VolumeTopology::{Node, Region, Zone};
        FleetClasses {
            by_cluster: BTreeMap::from([
                (
                    "aws".to_string(),
                    vec![
                        class("gp3", "ebs.csi.aws.com", &[Rwo], Zone, true),
                        class("efs", "efs.csi.aws.com", &[Rwx], Region, false),
                        class("local", "local", &[Rwo], Node, false),
                    ],
                ),
                (
                    "gcp".to_string(),
                    vec![
                        class("filestore", "filestore.csi", &[Rwx], Region, false),
                        class("standard-rwo", "pd.csi", &[Rwo], Zone, true),
                        class("balanced", "pd.csi", &[Rwo], Zone, false),
                    ],
                ),
            ]),
            target: "gcp".into(),
        }
    }

    fn used(classes: &[&str]) -> BTreeMap<String, Vec<String>> {
        classes.iter().map(|c| (c.to_string(), vec![format!("PersistentVolumeClaim shop/{c}")])).collect()
    }

    #[test]
    fn each_class_goes_to_the_target_class_of_its_topology_and_modes() {
        let m = derive(&used(&["gp3", "efs"]), &fleet(), Some("aws"), &TargetClasses::default()).unwrap();
        // Zonal RWO: two candidates on pd.csi; the default wins over the name.
        assert_eq!(m["gp3"], "standard-rwo");
        assert_eq!(m["efs"], "filestore");
    }

    #[test]
    fn a_class_the_target_has_stays_as_it_is() {
        let target = TargetClasses { live: BTreeSet::from(["gp3".to_string()]), ..Default::default() };
        assert!(derive(&used(&["gp3"]), &fleet(), Some("aws"), &target).unwrap().is_empty());
        let target = TargetClasses { restored: BTreeSet::from(["gp3".to_string()]), ..Default::default() };
        assert!(derive(&used(&["gp3"]), &fleet(), Some("aws"), &target).unwrap().is_empty());
        let mut f = fleet();
        f.target = "aws".into();
        assert!(derive(&used(&["gp3", "efs"]), &f, Some("aws"), &TargetClasses::default()).unwrap().is_empty());
    }

    #[test]
    fn the_same_provisioner_wins_over_the_default() {
        let mut f = fleet();
        f.by_cluster.get_mut("gcp").unwrap().push(class(
            "ebs-compat",
            "ebs.csi.aws.com",
            &[AccessMode::ReadWriteOnce],
            VolumeTopology::Zone,
            false,
        ));
        assert_eq!(derive(&used(&["gp3"]), &f, Some("aws"), &TargetClasses::default()).unwrap()["gp3"], "ebs-compat");
    }

    #[test]
    fn no_match_is_an_error_naming_the_class_its_users_and_what_the_target_has() {
        let err =
            derive(&used(&["local", "gp3"]), &fleet(), Some("aws"), &TargetClasses::default()).unwrap_err().to_string();
        assert!(err.contains("storage class `local` (used by PersistentVolumeClaim shop/local: node topology, ReadWriteOnce) has no match on `gcp`"), "{err}");
        assert!(err.contains("standard-rwo (zone, ReadWriteOnce)"), "{err}");
        assert!(err.contains("--storage-class-map"), "{err}");
        assert!(!err.contains("`gp3`"), "gp3 has a match: {err}");
        let err =
            derive(&used(&["mystery"]), &fleet(), Some("aws"), &TargetClasses::default()).unwrap_err().to_string();
        assert!(err.contains("the fleet's cluster `aws` declares no class `mystery`"), "{err}");
        let err = derive(&used(&["gp3"]), &fleet(), None, &TargetClasses::default()).unwrap_err().to_string();
        assert!(err.contains("the snapshot names no cluster"), "{err}");
    }

    #[test]
    fn a_class_must_give_every_mode_the_source_gave() {
        let mut f = fleet();
        // The target's only RWX class is zonal: no match for a regional RWX one.
        f.by_cluster.get_mut("gcp").unwrap().retain(|c| c.name != "filestore");
        assert!(derive(&used(&["efs"]), &f, Some("aws"), &TargetClasses::default()).is_err());
    }
}
