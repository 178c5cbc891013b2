//! The `bulkhead` binary: everything lives in `bulkhead-cli`; this file only
//! hands over and returns the exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    bulkhead_cli::run()
}
