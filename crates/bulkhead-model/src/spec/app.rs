use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ClusterSelector, DomainLevel, Traffic};

/// An application: its manifests, where it runs, and what it promises.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct App {
    /// A unique name, such as `bidder`.
    pub name: String,
    /// A directory of plain Kubernetes YAML, relative to the fleet directory.
    pub manifests: String,
    /// The namespace for objects that do not set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Extra manifests for some clusters, applied on top of the base.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overlays: Vec<Overlay>,
    /// Which clusters run the app, and how widely it must be spread.
    pub placement: Placement,
    /// The app's service level and recovery targets.
    #[serde(default)]
    pub sla: Sla,
    /// How users reach the app, for DNS failover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<Traffic>,
    /// Which backup policy protects the app's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<AppBackup>,
    /// The app's own proof that it works: drills run each check once the
    /// restored workloads are available, and fail when one does not pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<AppCheck>,
}

/// One check of an app: exactly one of `http` and `job`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AppCheck {
    /// A name unique within the app, such as `storefront-answers`.
    pub name: String,
    /// An HTTP GET that must answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheck>,
    /// A Job manifest, relative to the fleet directory, that the drill runs
    /// in the app's restored namespace; the check passes when the Job completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// How long the check may take, retries included, such as `30s` (the default: `1m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

/// An HTTP GET the machine running Bulkhead can make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpCheck {
    /// The URL, `http://` or `https://`. `{namespace}` in it becomes the
    /// namespace the drill restored the app into (an ingress host or path
    /// that names it, for example).
    pub url: String,
    /// The status that passes; any 2xx when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Text the response body must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
}

/// Manifests for a subset of clusters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Overlay {
    /// The clusters that get the overlay.
    pub clusters: ClusterSelector,
    /// A directory of YAML, relative to the fleet directory.
    pub manifests: String,
}

/// Where an app runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Placement {
    /// The clusters that run the app.
    pub clusters: ClusterSelector,
    /// How many distinct failure domains the chosen clusters must span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread: Option<Spread>,
}

/// "Run in at least `min` distinct domains of level `across`."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Spread {
    /// The failure-domain level to count.
    pub across: DomainLevel,
    /// The fewest distinct domains.
    pub min: u32,
}

/// Service level: how much the app matters and how fast it must come back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Sla {
    /// 1 is the most critical; 3 (the default) is best effort.
    #[serde(default = "default_tier")]
    #[schemars(range(min = 1, max = 3))]
    pub tier: u8,
    /// Recovery time objective: the longest acceptable outage, such as `5m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto: Option<String>,
    /// Recovery point objective: the most data that may be lost, as time,
    /// such as `1m`. The app's backup schedule must run at least this often.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpo: Option<String>,
}

impl Default for Sla {
    fn default() -> Self {
        Self { tier: default_tier(), rto: None, rpo: None }
    }
}

fn default_tier() -> u8 {
    3
}

/// A link from an app to a backup policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AppBackup {
    /// The name of a policy in `dr.policies`.
    pub policy: String,
    /// Calls made around the app's volume snapshots, in order, to make
    /// them application-consistent; without any, they are crash-consistent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<SnapshotHook>,
}

/// An HTTP call before an app's volume snapshots are taken (`pre`: flush
/// and hold writes, such as a database's checkpoint and freeze) and one
/// once the driver has cut them (`post`: let writes go on). A `pre` that fails fails the
/// backup before any snapshot is taken; `post` is called whatever happened
/// after its `pre` answered, and a `post` that fails fails the backup too
/// (the application may still be holding its writes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SnapshotHook {
    /// A name unique within the app, such as `freeze-postgres`.
    pub name: String,
    /// The call before the snapshots.
    pub pre: HookCall,
    /// The call after them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post: Option<HookCall>,
    /// How long each call may take, such as `10s` (the default: `30s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

/// One HTTP call of a hook, made by the machine running the backup; it
/// succeeds when it answers 2xx.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HookCall {
    /// The URL, `http://` or `https://`.
    pub url: String,
    /// `POST` (the default), `PUT` or `GET`.
    #[serde(default = "default_hook_method")]
    pub method: String,
}

fn default_hook_method() -> String {
    "POST".into()
}
