//! One module per subcommand. Each takes resolved settings and a writer for
//! its report, and returns the verdict that becomes the exit code.

pub mod audit;
pub mod blast;
pub mod check;
pub mod live;
pub mod net;
pub mod schema;
pub mod validate;

/// Lets a large value go without freeing it: the process is about to exit,
/// and tearing down the tree of a big fleet (every manifest's YAML, JSON and
/// typed objects) took 15% of `validate`'s time, for nothing.
pub(crate) fn at_exit<T>(value: T) {
    std::mem::forget(value);
}
