//! Printers: diagnostics and verdicts turned into text for people (tables and
//! source snippets) and for machines (JSON, SARIF for code scanning, JUnit for
//! CI test tabs).
//!
//! Every printer writes to any [`std::io::Write`], so tests print into byte
//! buffers and only the CLI decides where output goes. Nothing here reads
//! files or the clock: what a printer shows is in its arguments.

mod blast_html;
mod blast_tables;
mod diagnostics;
mod grouped;
mod junit;
mod plans;
mod sarif;
pub mod size;
mod summary;
mod table;

pub use blast_html::write_blast_html;
pub use blast_tables::{write_simulation, write_spofs};
pub use diagnostics::{DiagnosticsJson, DiagnosticsReport, write_diagnostics_human};
pub use grouped::write_by_app_and_cluster;
pub use junit::{Failed, TestCase, write_cases, write_junit};
pub use plans::{write_check_list, write_net_plan};
pub use sarif::write_sarif;
pub use summary::CheckReport;
pub use table::Table;

/// How a report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Tables and source snippets for people.
    Human,
    /// One JSON document.
    Json,
    /// SARIF 2.1.0, read by code-scanning tools.
    Sarif,
    /// JUnit XML, read by CI test reports.
    Junit,
}

/// Human output settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// Use ANSI colours.
    pub color: bool,
}
