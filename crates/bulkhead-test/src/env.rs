//! The environment's description, `env.json`, as `testenv/testenv` writes it.

use std::path::{Path, PathBuf};
use std::process::Command;

use kube::config::{KubeConfigOptions, Kubeconfig};
use serde::Deserialize;

/// The variable that names the environment's state folder.
pub const TESTENV_VAR: &str = "BULKHEAD_TESTENV";

/// A running test environment.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestEnv {
    /// The state folder.
    pub state: PathBuf,
    /// The folder of the pinned servers and tools (`etcdutl`, `etcdctl`, …).
    pub bin: PathBuf,
    /// The clusters, in the order `testenv up` started them.
    pub clusters: Vec<ClusterInfo>,
    /// The S3 gateway, when started with `--s3`.
    pub s3: Option<S3Info>,
    /// One kubeconfig with a context per cluster, named after the cluster.
    pub kubeconfig: PathBuf,
    /// The node label keys that carry the failure domains.
    pub labels: Labels,
    /// The API servers' EncryptionConfiguration (Secrets are encrypted at rest).
    pub encryption_config: PathBuf,
}

/// One cluster of the environment.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    /// The cluster's name, as in `examples/multicloud`.
    pub name: String,
    /// The provider's name (`aws`, `metal`, …).
    pub provider: String,
    /// The provider's kind (`aws`, `bare-metal`, …).
    pub provider_kind: String,
    /// The region or site.
    pub region: String,
    /// The zones its nodes stand in.
    pub zones: Vec<String>,
    /// The racks, on bare metal.
    pub racks: Vec<String>,
    /// The range node pod CIDRs are allocated from.
    pub pod_cidr: String,
    /// The Service cluster-IP range.
    pub service_cidr: String,
    /// The API server's URL.
    pub server: String,
    /// A kubeconfig with this cluster alone.
    pub kubeconfig: PathBuf,
    /// The context in the kubeconfigs.
    pub context: String,
    /// The fake nodes' names.
    pub nodes: Vec<String>,
    /// kube-controller-manager's `--node-monitor-grace-period`, such as `10s`.
    pub node_monitor_grace_period: String,
    /// Each server's port on 127.0.0.1 (`etcd`, `apiserver`, …).
    pub ports: std::collections::BTreeMap<String, u16>,
    /// kwokctl's directory of the cluster (etcd's data is its `etcd`).
    pub workdir: PathBuf,
    /// Its CSI driver and classes, when started with `--csi`.
    #[serde(default)]
    pub csi: Option<CsiInfo>,
}

/// A cluster's CSI driver (Kubernetes' CSI mock, with the real
/// csi-provisioner, csi-snapshotter and snapshot-controller).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CsiInfo {
    /// The driver's name (a storage class's `provisioner`).
    pub driver: String,
    /// The StorageClass of the driver.
    pub storage_class: String,
    /// The VolumeSnapshotClass of the driver.
    pub snapshot_class: String,
}

impl ClusterInfo {
    /// etcd's client URL (plain HTTP on loopback, as kwokctl starts it).
    pub fn etcd_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.get("etcd").copied().unwrap_or_default())
    }
}

/// The S3 gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Info {
    /// Such as `http://127.0.0.1:40123`.
    pub endpoint: String,
    /// A bucket that exists.
    pub bucket: String,
    /// The region to sign requests for.
    pub region: String,
    /// Access key id.
    pub access_key: String,
    /// Secret access key.
    pub secret_key: String,
    /// SeaweedFS's process.
    pub pid: u32,
}

/// Node label keys.
#[derive(Debug, Clone, Deserialize)]
pub struct Labels {
    /// `topology.kubernetes.io/region`.
    pub region: String,
    /// `topology.kubernetes.io/zone`.
    pub zone: String,
    /// The provider's name.
    pub provider: String,
    /// The rack, on bare metal.
    pub rack: String,
}

impl TestEnv {
    /// The environment with at least `clusters` clusters, or `None` when the
    /// test should be skipped.
    ///
    /// # Panics
    /// Under `CI=true` when there is no environment, or it is too small: a
    /// skipped real test is a failure in CI.
    pub fn require(clusters: usize) -> Option<Self> {
        let why = match Self::load() {
            Ok(env) if env.clusters.len() >= clusters => return Some(env),
            Ok(env) => format!("the test environment has {} clusters; this test needs {clusters}", env.clusters.len()),
            Err(why) => why,
        };
        crate::skip(&format!(
            "no usable test environment: {why} (start one with `testenv/testenv up`, or run tests through `testenv/testenv run`)"
        ));
        None
    }

    /// Like [`TestEnv::require`], and the first `clusters` clusters run CSI
    /// volume snapshots.
    ///
    /// # Panics
    /// As [`TestEnv::require`].
    pub fn require_csi(clusters: usize) -> Option<Self> {
        let env = Self::require(clusters)?;
        if env.clusters.iter().take(clusters).all(|c| c.csi.is_some()) {
            return Some(env);
        }
        crate::skip("the test environment runs no CSI driver (start it with --csi, or use TestEnv::own_csi)");
        None
    }

    /// Like [`TestEnv::require`], and S3 must be up too.
    ///
    /// # Panics
    /// As [`TestEnv::require`].
    pub fn require_s3() -> Option<(Self, S3Info)> {
        let env = Self::require(0)?;
        match env.s3.clone() {
            Some(s3) => Some((env, s3)),
            None => {
                crate::skip("the test environment has no S3 (start it with --s3)");
                None
            }
        }
    }

    /// An environment of the test's own, with `clusters` clusters and S3
    /// (`s3`), for a test that breaks servers others use; `testenv down`
    /// stops it when the guard drops. `None` (the test is skipped) where the
    /// shared environment is missing: real tests do not run there.
    ///
    /// # Panics
    /// When it cannot be started.
    pub fn own(name: &str, clusters: usize, s3: bool) -> Option<OwnEnv> {
        Self::own_with(name, clusters, s3, &[])
    }

    /// [`TestEnv::own`] with CSI volume snapshots in every cluster, and no S3.
    ///
    /// # Panics
    /// As [`TestEnv::own`].
    pub fn own_csi(name: &str, clusters: usize) -> Option<OwnEnv> {
        Self::own_with(name, clusters, false, &["--csi"])
    }

    /// [`TestEnv::own_csi`] where every cluster's sidecars use the first
    /// cluster's driver, as clusters of one cloud account share its disks
    /// and snapshots: a snapshot taken on one is restored on another.
    ///
    /// # Panics
    /// As [`TestEnv::own`].
    pub fn own_csi_shared(name: &str, clusters: usize) -> Option<OwnEnv> {
        Self::own_with(name, clusters, false, &["--csi", "--csi-shared"])
    }

    fn own_with(name: &str, clusters: usize, s3: bool, extra: &[&str]) -> Option<OwnEnv> {
        Self::require(0)?;
        let state = std::env::temp_dir().join(format!("bulkhead-own-{name}-{}", std::process::id()));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testenv/testenv");
        let clusters = clusters.to_string();
        let mut args = vec!["up", "--clusters", clusters.as_str()];
        if !s3 {
            args.push("--no-s3");
        }
        args.extend(extra);
        let out = Command::new(&script)
            .arg("--state")
            .arg(&state)
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        // The guard exists before the check, so a half-started environment is stopped too.
        let guard = OwnEnv { env: Self::load_from(&state).ok(), state };
        assert!(out.status.success(), "testenv up for {name}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(guard.env.is_some(), "testenv up for {name} wrote no env.json");
        Some(guard)
    }

    fn load() -> Result<Self, String> {
        let Some(state) = std::env::var_os(TESTENV_VAR) else {
            return Err(format!("{TESTENV_VAR} is not set"));
        };
        Self::load_from(Path::new(&state))
    }

    fn load_from(state: &Path) -> Result<Self, String> {
        let path = state.join("env.json");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{} is not what testenv writes: {e}", path.display()))
    }

    /// Cluster `i`.
    ///
    /// # Panics
    /// When there is no such cluster.
    pub fn cluster(&self, i: usize) -> &ClusterInfo {
        &self.clusters[i]
    }

    /// A client of cluster `i`, as its admin.
    ///
    /// # Panics
    /// When the kubeconfig cannot be read: the environment is broken.
    pub async fn client(&self, i: usize) -> kube::Client {
        let c = self.cluster(i);
        client_for(&c.kubeconfig, &c.context).await
    }

    /// Runs `testenv/testenv` with these arguments against this environment.
    ///
    /// # Panics
    /// When the command fails.
    pub fn testenv(&self, args: &[&str]) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testenv/testenv");
        let status = Command::new(&script)
            .arg("--state")
            .arg(&self.state)
            .args(args)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(status.success(), "testenv {args:?} failed");
    }

    /// Kills one server of a cluster (`kube-apiserver`, `etcd`, `kwok-controller`, …).
    pub fn kill(&self, cluster: usize, component: &str) {
        self.testenv(&["kill", &self.cluster(cluster).name, component]);
    }

    /// Fails a zone of a cluster: its nodes stop heartbeating, as in an outage.
    pub fn zone_down(&self, cluster: usize, zone: &str) {
        self.testenv(&["zone", "down", &self.cluster(cluster).name, zone]);
    }

    /// Brings a failed zone back.
    pub fn zone_up(&self, cluster: usize, zone: &str) {
        self.testenv(&["zone", "up", &self.cluster(cluster).name, zone]);
    }

    /// Fails single nodes of a cluster (a rack is its nodes): they stop
    /// heartbeating while the rest of their zone stays up.
    pub fn nodes_down(&self, cluster: usize, nodes: &[&str]) {
        let mut args = vec!["node", "down", &self.cluster(cluster).name];
        args.extend_from_slice(nodes);
        self.testenv(&args);
    }

    /// Brings failed nodes back.
    pub fn nodes_up(&self, cluster: usize, nodes: &[&str]) {
        let mut args = vec!["node", "up", &self.cluster(cluster).name];
        args.extend_from_slice(nodes);
        self.testenv(&args);
    }

    /// Stops S3 at once (SIGKILL), as an outage of the object store. The
    /// signal is sent from here, not through the script, so it lands within
    /// a millisecond of the call (tests time it against work in flight).
    ///
    /// # Panics
    /// When the environment has no S3.
    pub fn s3_down(&self) {
        let pid = self.s3.as_ref().expect("an environment with S3").pid;
        let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        self.testenv(&["s3", "down"]);
    }

    /// Starts S3 again over the same data, on the same address.
    pub fn s3_up(&self) {
        self.testenv(&["s3", "up"]);
    }

    /// Stops a cluster's CSI driver (SIGKILL); its sidecars exit with it.
    pub fn csi_down(&self, cluster: usize) {
        self.testenv(&["csi", "down", &self.cluster(cluster).name]);
    }

    /// Starts a cluster's CSI driver and whatever of its sidecars is not running.
    pub fn csi_up(&self, cluster: usize) {
        self.testenv(&["csi", "up", &self.cluster(cluster).name]);
    }

    /// Starts whatever of a cluster is not running, and waits until it serves.
    pub fn start(&self, cluster: usize) {
        self.testenv(&["start", &self.cluster(cluster).name]);
    }
}

/// A test's own environment (see [`TestEnv::own`]), stopped when dropped.
#[derive(Debug)]
pub struct OwnEnv {
    env: Option<TestEnv>,
    state: PathBuf,
}

impl std::ops::Deref for OwnEnv {
    type Target = TestEnv;

    fn deref(&self) -> &TestEnv {
        self.env.as_ref().expect("checked when it started")
    }
}

impl Drop for OwnEnv {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testenv/testenv");
        let _ = Command::new(&script).arg("--state").arg(&self.state).arg("down").output();
    }
}

/// A client from a kubeconfig file and context.
///
/// # Panics
/// When the kubeconfig cannot be read or used.
pub(crate) async fn client_for(kubeconfig: &Path, context: &str) -> kube::Client {
    // Two rustls crypto providers are compiled in (see bulkhead-kube's `use_ring`).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = Kubeconfig::read_from(kubeconfig).unwrap_or_else(|e| panic!("cannot read {}: {e}", kubeconfig.display()));
    let options = KubeConfigOptions { context: Some(context.to_string()), ..Default::default() };
    let config = kube::Config::from_custom_kubeconfig(kc, &options)
        .await
        .unwrap_or_else(|e| panic!("cannot use {} context {context}: {e}", kubeconfig.display()));
    kube::Client::try_from(config).expect("a client from a valid config")
}
