/// Why planning, applying or reading drift could not go on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A cluster could not be read or written.
    #[error(transparent)]
    Kube(#[from] bulkhead_kube::Error),
    /// The inventory of what Bulkhead applied is unusable.
    #[error("cluster `{cluster}`: the inventory of what Bulkhead applied ({location}) {why}")]
    Inventory {
        /// The cluster.
        cluster: String,
        /// Where the inventory is kept.
        location: String,
        /// What is wrong with it.
        why: String,
    },
    /// The cluster changed since the plan was made.
    #[error("cluster `{cluster}` changed since the plan was made: {why}")]
    Changed {
        /// The cluster.
        cluster: String,
        /// What changed.
        why: String,
    },
    /// A saved plan that cannot be read.
    #[error("cannot read the plan {path}: {source}")]
    PlanFileRead {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file that is not a plan of this version.
    #[error("{path} is not a Bulkhead plan ({source})")]
    PlanFileFormat {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: crate::plan_file::NotAPlan,
    },
}
