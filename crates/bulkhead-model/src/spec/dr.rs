use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Backups, retention and drills.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DrSpec {
    /// Where backups are stored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repositories: Vec<Repository>,
    /// When backups run and how long they are kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<BackupPolicy>,
    /// Recovery rehearsals that prove the plan works.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drills: Vec<Drill>,
    /// How old a tier-1 app's newest passing drill may be before `check`
    /// reports it, such as `7d` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill_max_age: Option<String>,
    /// The time zone the policies' and drills' cron schedules are read in,
    /// from the IANA database, such as `Europe/Berlin` (UTC when absent):
    /// `0 2 * * *` then runs at 02:00 Berlin time in winter and summer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// A backup repository in restic's format, readable with stock `restic`.
/// Its password never appears in fleet.yaml: name where to find it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Repository {
    /// A unique name that policies refer to.
    pub name: String,
    /// A restic repository URL: a local path, `local:/path`, or
    /// `s3:https://host/bucket/prefix`.
    pub url: String,
    /// The environment variable that holds the repository password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// A file that holds the repository password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<String>,
    /// Where the repository's storage lives, as `provider/region` of the
    /// fleet's providers, such as `gcp/europe-west4`. When absent the
    /// repository counts as off-site: outside every failure domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// A backup schedule and its retention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BackupPolicy {
    /// A unique name that apps refer to.
    pub name: String,
    /// A cron schedule (five fields, in `dr.timeZone`), such as `*/15 * * * *`.
    pub schedule: String,
    /// The repository, by name.
    pub repository: String,
    /// How many snapshots to keep, restic-style.
    #[serde(default)]
    pub keep: Keep,
    /// Also snapshot etcd of the clusters the policy's apps run on.
    #[serde(default)]
    pub etcd: bool,
}

/// Retention, as `restic forget --keep-*` reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Keep {
    /// The newest N snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<u32>,
    /// The last snapshot of each of the newest N hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hourly: Option<u32>,
    /// The last snapshot of each of the newest N days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily: Option<u32>,
    /// The last snapshot of each of the newest N weeks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekly: Option<u32>,
    /// The last snapshot of each of the newest N months.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly: Option<u32>,
}

/// A rehearsal: restore an app from one cluster into another and time it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Drill {
    /// A unique name.
    pub name: String,
    /// The app to recover.
    pub app: String,
    /// The cluster whose loss is rehearsed.
    pub from: String,
    /// The cluster the app is recovered into.
    pub to: String,
    /// When to run the drill (cron, in `dr.timeZone`); by hand only when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
}
