use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::network::ClusterNetwork;
use super::traffic::ClusterIngress;

/// One Kubernetes cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Cluster {
    /// A unique name, such as `aws-use1-prod`.
    pub name: String,
    /// Where it runs, as `provider/region`, such as `aws/us-east-1`.
    pub location: String,
    /// How Bulkhead reaches the cluster for live work. Offline analyses do
    /// not need it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<ClusterAccess>,
    /// The control plane: API servers and etcd.
    #[serde(default)]
    pub control_plane: ControlPlane,
    /// Node, pod, Service and load-balancer ranges.
    #[serde(default)]
    pub network: ClusterNetwork,
    /// Storage classes the cluster offers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage_classes: Vec<StorageClass>,
    /// Groups of worker nodes.
    #[serde(default)]
    pub node_pools: Vec<NodePool>,
    /// Labels that app placement and rollout waves select on, such as
    /// `tier: prod`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Where apps' public traffic enters the cluster, for traffic DNS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<ClusterIngress>,
}

impl Cluster {
    /// The `provider` and `region` parts of `location`.
    pub fn provider_and_region(&self) -> Option<(&str, &str)> {
        self.location.split_once('/')
    }
}

/// Where the cluster's credentials are: a kubeconfig, or the service account
/// of the pod Bulkhead runs in (one of the two). The credentials themselves
/// are never read into reports or logs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterAccess {
    /// Path to a kubeconfig file, relative to the fleet directory or absolute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<String>,
    /// The kubeconfig's context to use; the file's current context when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// The cluster Bulkhead runs in, reached as its pods reach it: the API
    /// server from `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT`,
    /// the service account's token (re-read as the kubelet rotates it) and
    /// CA under `/var/run/secrets/kubernetes.io/serviceaccount/`. For the
    /// management cluster of a `serve` deployed in it: no kubeconfig Secret.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_cluster: bool,
}

/// API servers and etcd.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ControlPlane {
    /// The provider runs the control plane (EKS, GKE, AKS). Bulkhead then
    /// cannot snapshot etcd and counts on the provider's own guarantees.
    #[serde(default)]
    pub managed: bool,
    /// How many API servers run (at most 100).
    #[serde(default = "three")]
    #[schemars(range(max = 100))]
    pub api_servers: u32,
    /// The etcd cluster behind the API servers.
    #[serde(default)]
    pub etcd: EtcdSpec,
    /// How long a node may stop heartbeating before it is marked NotReady
    /// (kube-controller-manager's `--node-monitor-grace-period`), such as
    /// `40s`. When absent, the default of the pinned Kubernetes: 50 s since
    /// v1.32. The blast radius counts it in every reschedule time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_monitor_grace_period: Option<String>,
}

/// kube-controller-manager's default `--node-monitor-grace-period` in the
/// pinned Kubernetes (raised from 40 s to 50 s in v1.32, kubernetes#126287).
pub const DEFAULT_NODE_MONITOR_GRACE_SECONDS: u64 = 50;

impl Default for ControlPlane {
    fn default() -> Self {
        Self { managed: false, api_servers: 3, etcd: EtcdSpec::default(), node_monitor_grace_period: None }
    }
}

impl ControlPlane {
    /// Seconds until an unreachable node is marked NotReady: the cluster's
    /// own setting, else the pinned Kubernetes's default. A value that does
    /// not parse is reported by validation and counts as the default here.
    pub fn node_grace_seconds(&self) -> u64 {
        self.node_monitor_grace_period
            .as_deref()
            .and_then(|t| humantime::parse_duration(t).ok())
            .map_or(DEFAULT_NODE_MONITOR_GRACE_SECONDS, |d| d.as_secs())
    }
}

fn three() -> u32 {
    3
}

/// The etcd members of a control plane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EtcdSpec {
    /// How many members. Odd counts (3, 5) tolerate the most failures; etcd
    /// allows no more than 9 here (it recommends 7 at most).
    #[serde(default = "three")]
    #[schemars(range(max = 9))]
    pub members: u32,
    /// The zone of each member, in order. When absent, members are spread
    /// over the cluster's zones round-robin.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    /// How Bulkhead reaches etcd to snapshot it (`bulkhead etcd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<EtcdAccess>,
    /// The `dr.policies` entry etcd is backed up by (`bulkhead etcd
    /// snapshot` on its schedule, or `etcd watch` into its repository). A
    /// self-managed control plane without one is a finding: its cluster's
    /// state has no way back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<EtcdBackup>,
}

impl Default for EtcdSpec {
    fn default() -> Self {
        Self { members: 3, zones: Vec::new(), access: None, backup: None }
    }
}

/// How a cluster's etcd is backed up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EtcdBackup {
    /// A policy of `dr.policies`: its repository and schedule.
    pub policy: String,
}

/// etcd's client endpoints and the client certificate the API servers use.
/// Paths are relative to the fleet directory or absolute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EtcdAccess {
    /// Client URLs, such as `https://10.0.0.11:2379`; tried in order.
    pub endpoints: Vec<String>,
    /// The CA that signed etcd's serving certificate (`--trusted-ca-file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// A client certificate etcd accepts (`--cert-file` of the API server's etcd flags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    /// Its key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
}

/// A storage class and what its volumes can do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StorageClass {
    /// The class's name, as claims write it in `storageClassName`.
    pub name: String,
    /// The CSI driver, such as `ebs.csi.aws.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioner: Option<String>,
    /// Access modes the class can give.
    pub access_modes: Vec<AccessMode>,
    /// How far a volume reaches: a volume pins its pods to this domain.
    pub topology: VolumeTopology,
    /// Whether claims without a class get this one.
    #[serde(default)]
    pub default: bool,
    /// The VolumeSnapshotClass that snapshots this class's volumes (its CSI
    /// driver's), such as `ebs-snapclass`. Without one, a backup holds a
    /// claim but not its data: a tier-1 app's claim on such a class is a
    /// finding (`storage-snapshot-class-missing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_class: Option<String>,
}

/// A persistent volume access mode, as Kubernetes writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum AccessMode {
    /// One node reads and writes.
    ReadWriteOnce,
    /// Many nodes read.
    ReadOnlyMany,
    /// Many nodes read and write.
    ReadWriteMany,
    /// One pod reads and writes.
    ReadWriteOncePod,
}

/// The failure domain a volume lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum VolumeTopology {
    /// A local disk: the volume dies with its node.
    Node,
    /// A zonal disk (EBS, GCE PD): reachable only from its zone.
    Zone,
    /// Replicated across a region's zones (regional PD, Ceph across racks).
    Region,
}

/// A group of alike worker nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodePool {
    /// The pool's name.
    pub name: String,
    /// Zones the pool spans; all of the region's zones when absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    /// Racks the pool spans, for bare metal; all racks of its zones when
    /// absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub racks: Vec<String>,
    /// How many nodes in total. They are spread evenly over the pool's zones
    /// (and racks), as cloud node groups balance them. At most 5,000, the
    /// largest cluster Kubernetes supports (and the limit for all of a
    /// cluster's pools together).
    #[schemars(range(max = 5000))]
    pub count: u32,
    /// Instance type or machine plan, such as `m6i.2xlarge` or `c3.medium.x86`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// CPU cores per node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<u32>,
    /// Memory per node, as a Kubernetes quantity such as `64Gi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// Most pods per node (the kubelet's `maxPods`, 110 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pods: Option<u32>,
    /// Labels every node of the pool carries.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Taints every node of the pool carries, as `key=value:Effect`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<String>,
}
