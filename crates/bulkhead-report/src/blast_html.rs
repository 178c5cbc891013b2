//! The blast radius as one self-contained HTML file (no script, no network):
//! the single points of failure, a heat map of failure domains × apps, and a
//! picture of the failure-domain tree coloured by what each failure does.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use bulkhead_blast::{Blast, Cell, Impact, spofs};
use bulkhead_model::spec::DomainLevel;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn class(impact: Impact) -> &'static str {
    match impact {
        Impact::Ok => "ok",
        Impact::Failover => "failover",
        Impact::Degraded => "degraded",
        Impact::Outage => "outage",
        Impact::QuorumLost => "quorum",
        Impact::DataLoss => "data",
    }
}

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2127}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse}td,th{border:1px solid #d0d4da;padding:3px 6px;text-align:center}
th{background:#f3f4f6;font-weight:600}th.domain{text-align:left;white-space:nowrap}
td.ok{background:#e8f5e9;color:#2e7d32}td.failover{background:#e3f2fd;color:#1565c0}
td.degraded{background:#fff8e1;color:#8d6e00}td.outage{background:#ffcdd2;color:#b71c1c;font-weight:600}
td.quorum{background:#ef9a9a;color:#7f0000;font-weight:600}td.data{background:#b71c1c;color:#fff;font-weight:700}
.legend td{padding:2px 10px}
.level{font-size:11px;color:#6b7280;text-transform:uppercase}
svg text{font:11px system-ui,sans-serif}
";

/// Writes the report.
///
/// # Errors
/// When the writer fails.
pub fn write_blast_html(w: &mut dyn Write, blast: &Blast, fleet_name: &str) -> io::Result<()> {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Blast radius of {name}</title><style>{STYLE}</style></head><body>",
        name = esc(fleet_name)
    );
    let singles: Vec<&Cell> = blast.singles().collect();
    let down = singles.iter().filter(|c| c.outcome.impact.is_down()).count();
    let _ = write!(
        h,
        "<h1>Blast radius of fleet <code>{}</code></h1><p>{} failure domains, {} apps, {} ({}). {down} single failures take an app down; {} break a control plane.</p>",
        esc(fleet_name),
        blast.domains.len(),
        blast.apps.len(),
        if blast.live { "from the pods running now" } else { "worst placement the scheduler may choose" },
        if blast.depth >= 2 { "pairs of failures analysed too" } else { "single failures" },
        blast.control_planes.iter().filter(|c| c.failed.len() == 1).count()
    );
    h.push_str("<table class=\"legend\"><tr>");
    for i in [Impact::Ok, Impact::Failover, Impact::Degraded, Impact::QuorumLost, Impact::Outage, Impact::DataLoss] {
        let _ = write!(h, "<td class=\"{}\">{}</td>", class(i), i.as_str());
    }
    h.push_str("</tr></table>");

    // Single points of failure.
    let ranked = spofs(blast);
    h.push_str("<h2>Single points of failure</h2>");
    if ranked.is_empty() {
        h.push_str("<p>No single failure takes an app or a control plane down.</p>");
    } else {
        h.push_str("<table id=\"spofs\"><tr><th>failure</th><th>level</th><th>worst</th><th>apps down</th><th>control planes</th><th>score</th></tr>");
        for s in &ranked {
            let d = &blast.domains[s.domain];
            let _ = write!(
                h,
                "<tr><th class=\"domain\">{}</th><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&d.name),
                d.level,
                class(s.worst),
                s.worst.as_str(),
                esc(&s.apps.join(", ")),
                esc(&s.control_planes.join(", ")),
                s.score
            );
        }
        h.push_str("</table>");
    }

    // The matrix.
    let cells: BTreeMap<(usize, usize), &Cell> = singles.iter().map(|c| ((c.failed[0], c.app), *c)).collect();
    h.push_str("<h2>Failure domains × apps</h2><table id=\"matrix\"><tr><th class=\"domain\">failure domain</th>");
    for a in &blast.apps {
        let _ = write!(
            h,
            "<th title=\"tier {}\">{}<br><span class=\"level\">tier {}</span></th>",
            a.tier,
            esc(&a.name),
            a.tier
        );
    }
    h.push_str("<th>control planes</th></tr>");
    for (i, d) in blast.domains.iter().enumerate() {
        let _ = write!(h, "<tr><th class=\"domain\"><span class=\"level\">{}</span> {}</th>", d.level, esc(&d.name));
        for (a, _) in blast.apps.iter().enumerate() {
            match cells.get(&(i, a)) {
                Some(c) => {
                    let _ = write!(
                        h,
                        "<td class=\"{}\" title=\"{}\">{}</td>",
                        class(c.outcome.impact),
                        esc(&format!("{}; recovery: {}", c.outcome.why, c.outcome.recovery.describe())),
                        if c.outcome.impact == Impact::Failover {
                            "DNS".to_string()
                        } else {
                            format!("{}/{}", c.outcome.lost, c.outcome.of)
                        }
                    );
                }
                None => h.push_str("<td class=\"ok\">✓</td>"),
            }
        }
        let cps: Vec<String> = blast
            .control_planes
            .iter()
            .filter(|c| c.failed == [i])
            .map(|c| format!("{} ({}/{})", c.cluster, c.lost, c.members))
            .collect();
        if cps.is_empty() {
            h.push_str("<td class=\"ok\">✓</td>");
        } else {
            let _ = write!(h, "<td class=\"quorum\">{}</td>", esc(&cps.join(", ")));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");

    // The tree.
    h.push_str("<h2>The failure-domain tree</h2>");
    h.push_str(&tree_svg(blast, &cells));
    h.push_str("</body></html>\n");
    w.write_all(h.as_bytes())
}

/// The tree as SVG: one column per level, each domain a box coloured by the
/// worst thing its failure does, joined to its parent.
fn tree_svg(blast: &Blast, cells: &BTreeMap<(usize, usize), &Cell>) -> String {
    let levels = [DomainLevel::Provider, DomainLevel::Region, DomainLevel::Zone, DomainLevel::Rack, DomainLevel::Node];
    let worst = |i: usize| {
        let apps = blast.apps.len();
        (0..apps).filter_map(|a| cells.get(&(i, a)).map(|c| c.outcome.impact)).max().unwrap_or(Impact::Ok)
    };
    // Rows: domains in tree order (depth first), so children sit below parents.
    let tree: Vec<usize> = {
        let mut order: Vec<usize> =
            (0..blast.domains.len()).filter(|&i| blast.domains[i].level != DomainLevel::Cluster).collect();
        order.sort_by(|&a, &b| blast.domains[a].path.cmp(&blast.domains[b].path));
        order
    };
    let (col, row_h, box_w) = (190, 22, 175);
    let height = tree.len() * row_h + 10;
    let mut svg = format!(
        "<svg id=\"tree\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\">",
        col * levels.len() + 20
    );
    let mut y_of: BTreeMap<usize, usize> = BTreeMap::new();
    for (row, &i) in tree.iter().enumerate() {
        y_of.insert(i, row * row_h + 5);
    }
    for &i in &tree {
        let d = &blast.domains[i];
        let x = levels.iter().position(|l| *l == d.level).unwrap_or(0) * col + 5;
        let y = y_of[&i];
        // The nearest ancestor in the tree: the longest proper path prefix.
        let parent = tree
            .iter()
            .filter(|&&p| {
                p != i && blast.domains[p].path.len() < d.path.len() && d.path.starts_with(&blast.domains[p].path)
            })
            .max_by_key(|&&p| blast.domains[p].path.len());
        if let Some(&p) = parent {
            let px = levels.iter().position(|l| *l == blast.domains[p].level).unwrap_or(0) * col + 5 + box_w;
            let _ = write!(
                svg,
                "<path d=\"M{px} {} H{} V{} H{x}\" fill=\"none\" stroke=\"#9ca3af\"/>",
                y_of[&p] + 9,
                px + 7,
                y + 9
            );
        }
        let fill = match worst(i) {
            Impact::Ok => "#e8f5e9",
            Impact::Failover => "#e3f2fd",
            Impact::Degraded => "#fff8e1",
            Impact::Outage => "#ffcdd2",
            Impact::QuorumLost => "#ef9a9a",
            Impact::DataLoss => "#e57373",
        };
        let label = d.path.last().cloned().unwrap_or_default();
        let label = if let Some(n) = d.nodes { format!("{label} ×{n}") } else { label };
        let _ = write!(
            svg,
            "<g><title>{}</title><rect x=\"{x}\" y=\"{y}\" width=\"{box_w}\" height=\"18\" rx=\"3\" fill=\"{fill}\" stroke=\"#6b7280\"/><text x=\"{}\" y=\"{}\">{}</text></g>",
            esc(&d.name),
            x + 5,
            y + 13,
            esc(&label)
        );
    }
    svg.push_str("</svg>");
    svg
}
