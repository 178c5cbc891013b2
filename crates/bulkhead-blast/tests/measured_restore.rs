//! "Restore from backup" takes as long as the app's newest passing drill
//! measured; without a drill its time is unknown and it misses the RTO.

use std::path::Path;

use bulkhead_blast::{Blast, MeasuredRestore, MeasuredRestores, Recovery, analyze_static};
use bulkhead_model::spec::DomainLevel;
use bulkhead_model::{LoadOptions, load};

/// The recovery of `audit-log` (tier 1, RTO 15m, an off-site backup) when
/// the node holding its local disk fails, and whether it misses the RTO.
fn audit_log_after_a_node_failure(measured: &MeasuredRestores) -> (Recovery, bool) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fleets/blast/data-loss");
    let loaded = load(&dir, LoadOptions::default()).expect("the fixture loads");
    let fleet = loaded.fleet.expect("the fixture is valid");
    let measured = bulkhead_blast::Measured { restores: measured.clone(), ..Default::default() };
    let blast: Blast = analyze_static(&fleet, 1, &measured);
    let app = blast.apps.iter().position(|a| a.name == "audit-log").unwrap();
    let cell = blast
        .singles()
        .find(|c| c.app == app && blast.domains[c.failed[0]].level == DomainLevel::Node)
        .expect("a node failure hits audit-log");
    (cell.outcome.recovery.clone(), cell.outcome.rto_exceeded)
}

fn drilled(seconds: u64) -> MeasuredRestores {
    MeasuredRestores::from([(
        "audit-log".to_string(),
        MeasuredRestore { seconds, drill: "audit-log-to-gcp".into(), at: 1_700_000_000 },
    )])
}

#[test]
fn an_undrilled_restore_has_no_time_and_misses_the_rto() {
    let (recovery, exceeded) = audit_log_after_a_node_failure(&MeasuredRestores::new());
    assert!(matches!(recovery, Recovery::Restore { seconds: None, .. }), "{recovery:?}");
    assert!(exceeded);
    assert_eq!(recovery.describe(), "restore from backup, losing up to 1h");
}

#[test]
fn a_drilled_restore_takes_the_measured_time_against_the_rto() {
    let (recovery, exceeded) = audit_log_after_a_node_failure(&drilled(252));
    assert_eq!(recovery.seconds(), Some(252));
    assert!(!exceeded, "4m 12s is within a 15m RTO");
    assert_eq!(
        recovery.describe(),
        "restore from backup in ~4m 12s (as drill `audit-log-to-gcp` measured), losing up to 1h"
    );
    let (_, exceeded) = audit_log_after_a_node_failure(&drilled(20 * 60));
    assert!(exceeded, "20 minutes misses a 15m RTO");
}

/// A lost control plane's recovery: the provider's, none, or a policy's
/// backups with the newest one's age as the changes a restore loses.
#[test]
fn a_lost_control_plane_restores_from_the_newest_etcd_backup() {
    use bulkhead_blast::{EtcdBackups, EtcdRecovery};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/multicloud");
    let mut file = load(&dir, LoadOptions::default()).expect("the example loads").fleet.expect("valid").file;
    let cluster = file.spec.clusters.iter().find(|c| !c.control_plane.managed).unwrap().clone();
    let name = cluster.name.clone();
    let read = EtcdBackups { newest: [(name.clone(), 1_000)].into(), read_at: 1_600 };
    match EtcdRecovery::of(&file.spec, &cluster, &read) {
        EtcdRecovery::Backup { rpo_seconds: Some(600), none_stored: false, .. } => {}
        other => panic!("{other:?}"),
    }
    let empty = EtcdBackups { newest: Default::default(), read_at: 1_600 };
    assert!(matches!(EtcdRecovery::of(&file.spec, &cluster, &empty), EtcdRecovery::Backup { none_stored: true, .. }));
    assert!(matches!(
        EtcdRecovery::of(&file.spec, &cluster, &EtcdBackups::default()),
        EtcdRecovery::Backup { rpo_seconds: None, none_stored: false, .. }
    ));
    for p in &mut file.spec.dr.policies {
        p.etcd = false;
    }
    assert_eq!(EtcdRecovery::of(&file.spec, &cluster, &read), EtcdRecovery::Unprotected);
    assert!(EtcdRecovery::of(&file.spec, &cluster, &read).describe().contains("would be lost"));
}
