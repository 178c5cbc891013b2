//! The `bulkhead` binary: everything lives in `bulkhead-cli`; this file only
//! hands over and returns the exit code.

use std::process::ExitCode;

// Reading a fleet builds and types tens of thousands of small objects; with
// glibc's allocator a quarter of the audit's time went to malloc and free.
// mimalloc halves that (bench/audit.py), as ripgrep uses jemalloc for the
// same reason.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    bulkhead_cli::run()
}
