//! `bulkhead schema`: the JSON Schema of fleet.yaml, or the OpenAPI
//! document of `serve`'s API.

use std::io::Write;

use bulkhead_model::Verdict;

use crate::error::Failure;

/// Prints the schema (`openapi`: the API's document).
///
/// # Errors
/// When writing fails.
pub fn run(openapi: bool, out: &mut dyn Write) -> Result<Verdict, Failure> {
    if openapi {
        serde_json::to_writer_pretty(&mut *out, &bulkhead_serve::api::openapi::document())?;
    } else {
        serde_json::to_writer_pretty(&mut *out, &bulkhead_model::schema::fleet_schema())?;
    }
    writeln!(out)?;
    Ok(Verdict::Pass)
}
