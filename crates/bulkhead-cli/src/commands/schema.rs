//! `bulkhead schema`: the JSON Schema of fleet.yaml.

use std::io::Write;

use bulkhead_model::Verdict;

use crate::error::Failure;

/// Prints the schema.
///
/// # Errors
/// When writing fails.
pub fn run(out: &mut dyn Write) -> Result<Verdict, Failure> {
    serde_json::to_writer_pretty(&mut *out, &bulkhead_model::schema::fleet_schema())?;
    writeln!(out)?;
    Ok(Verdict::Pass)
}
