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

/// Loads a fleet for a command that analyses it. When the fleet has errors
/// they are printed and `None` comes back (the verdict is then bad input);
/// otherwise the loaded fleet, whose `fleet` is always set.
pub(crate) fn load_valid(
    path: &std::path::Path,
    manifests: bool,
    global: crate::settings::GlobalSettings,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<Option<bulkhead_model::Loaded>> {
    let loaded = bulkhead_model::load(path, bulkhead_model::LoadOptions { manifests })?;
    if loaded.fleet.is_some() && !loaded.has_errors() {
        return Ok(Some(loaded));
    }
    let root = validate::display_root(path);
    bulkhead_report::write_diagnostics_human(out, &loaded.diagnostics, &loaded.sources, &root, global.style)?;
    writeln!(out, "the fleet has errors; fix them first (`bulkhead validate` lists them all)")?;
    Ok(None)
}

/// The verdict of an analysis: bad input first, then an unreachable
/// cluster, then a finding at or above `fail_on`.
pub(crate) fn verdict_of(
    diagnostics: &[bulkhead_model::Diagnostic],
    fail_on: bulkhead_model::Severity,
    invalid: bool,
    unreachable: bool,
) -> bulkhead_report::Verdict {
    use bulkhead_report::Verdict;
    if invalid {
        Verdict::Invalid
    } else if unreachable {
        Verdict::Unreachable
    } else if diagnostics.iter().any(|d| d.severity >= fail_on) {
        Verdict::Fail
    } else {
        Verdict::Pass
    }
}
