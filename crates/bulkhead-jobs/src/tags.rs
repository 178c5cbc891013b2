//! The tags a job looks for.

use bulkhead_repository::TagKey;

/// The tags `latest` must have: the cluster's and the app's, when given.
pub fn latest(cluster: Option<&str>, app: Option<&str>) -> Vec<String> {
    cluster.map(|c| TagKey::Cluster.with(c)).into_iter().chain(app.map(|a| TagKey::App.with(a))).collect()
}
