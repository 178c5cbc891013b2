//! Findings counted by app and cluster, for the audit's summary.

use std::collections::BTreeMap;
use std::io::{self, Write};

use bulkhead_model::{Diagnostic, Severity};

use crate::table::Table;

/// Writes one row per app and cluster with its errors, warnings and notes,
/// and the checks that fired most there. Findings without an app are left out.
///
/// # Errors
/// When the writer fails.
pub fn write_by_app_and_cluster(w: &mut dyn Write, diagnostics: &[Diagnostic]) -> io::Result<()> {
    #[derive(Default)]
    struct Row {
        counts: [usize; 3],
        checks: BTreeMap<&'static str, usize>,
    }
    let mut rows: BTreeMap<(String, String), Row> = BTreeMap::new();
    for d in diagnostics {
        let Some(about) = &d.about else { continue };
        let Some(app) = &about.app else { continue };
        let clusters: Vec<String> =
            if about.clusters.is_empty() { vec!["(no cluster)".to_string()] } else { about.clusters.to_vec() };
        for c in clusters {
            let row = rows.entry((app.clone(), c)).or_default();
            row.counts[match d.severity {
                Severity::Error => 0,
                Severity::Warning => 1,
                Severity::Info => 2,
            }] += 1;
            *row.checks.entry(d.code.as_str()).or_default() += 1;
        }
    }
    let mut table = Table::new(["app", "cluster", "errors", "warnings", "notes", "most frequent"]);
    for ((app, cluster), row) in rows {
        let mut top: Vec<(&str, usize)> = row.checks.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let top: Vec<String> = top.iter().take(3).map(|(c, n)| format!("{c} ×{n}")).collect();
        table.row([
            app,
            cluster,
            row.counts[0].to_string(),
            row.counts[1].to_string(),
            row.counts[2].to_string(),
            top.join(", "),
        ]);
    }
    table.write(w)
}
