//! One module per subcommand. Each takes resolved settings and a writer for
//! its report, and returns the verdict that becomes the exit code.

pub mod audit;
pub mod check;
pub mod live;
pub mod net;
pub mod schema;
pub mod validate;
