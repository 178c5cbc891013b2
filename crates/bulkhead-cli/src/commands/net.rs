//! `bulkhead net plan` and `bulkhead net check`.

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

use anyhow::{Context, Result};
use bulkhead_model::{Code, Diagnostic, Fleet, Loaded, Span};
use bulkhead_net::{Change, Inputs, LOCK_FILE, LOCK_INVALID, Lock, OwnedRange, Plan, RangeKind, Source};
use bulkhead_report::{
    DiagnosticsJson, OutputFormat, Table, Verdict, write_diagnostics_human, write_junit, write_sarif,
};

use super::validate::display_root;
use crate::settings::{GlobalSettings, LockMode, NetCheckSettings, NetPlanSettings};

/// A line of a ranges file that does not parse.
pub const RANGES_SYNTAX: Code = Code::new("ranges-syntax");

/// Loads the fleet file alone (net needs no manifests).
fn load_fleet(path: &Path, global: GlobalSettings, out: &mut dyn Write) -> Result<Option<(Fleet, Loaded)>> {
    let Some(mut loaded) = super::load_valid(path, false, global, out)? else { return Ok(None) };
    let fleet = loaded.fleet.take().expect("load_valid returns a fleet");
    Ok(Some((fleet, loaded)))
}

/// Reads `net.lock.json` beside the fleet file, if there is one.
pub(crate) fn read_lock(fleet: &Fleet) -> Result<Option<Lock>, Diagnostic> {
    let path = fleet.root.join(LOCK_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Diagnostic::error(LOCK_INVALID, LOCK_FILE, None, format!("cannot read: {e}"))),
    };
    Lock::parse(&text).map(Some).map_err(|e| {
        Diagnostic::error(LOCK_INVALID, LOCK_FILE, None, e.to_string())
            .with_hint("restore it from git, or delete it and run `bulkhead net plan` (planned ranges may then move)")
    })
}

/// Runs `net plan`.
///
/// # Errors
/// When files cannot be written.
pub fn plan(settings: &NetPlanSettings, global: GlobalSettings, out: &mut dyn Write) -> Result<Verdict> {
    let Some((fleet, _loaded)) = load_fleet(&settings.fleet, global, out)? else { return Ok(Verdict::Invalid) };
    let old = match read_lock(&fleet) {
        Ok(l) => l.unwrap_or_else(Lock::new),
        Err(d) => {
            write_diagnostics_human(out, &[d], &Default::default(), &fleet.root, global.style)?;
            return Ok(Verdict::Invalid);
        }
    };
    let plan = match bulkhead_net::plan(&fleet.file.spec, &fleet.topology, &old) {
        Ok(p) => p,
        Err(e) => {
            writeln!(out, "error: {e}")?;
            writeln!(
                out,
                "hint: add a supernet to `spec.network.supernets`, make one larger, or write some ranges by hand"
            )?;
            return Ok(Verdict::Invalid);
        }
    };
    let changed = plan.lock != old;
    if settings.json {
        serde_json::to_writer_pretty(&mut *out, &plan)?;
        writeln!(out)?;
    } else {
        write_plan_human(&plan, out)?;
    }
    if let Some(dir) = &settings.tfvars {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for c in &plan.clusters {
            let path = dir.join(format!("{}.auto.tfvars.json", c.name));
            let text = serde_json::to_string_pretty(&bulkhead_net::tfvars(c))? + "\n";
            std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        }
        if !settings.json {
            writeln!(out, "wrote {} Terraform variable files to {}", plan.clusters.len(), dir.display())?;
        }
    }
    let lock_path = fleet.root.join(LOCK_FILE);
    let say = |out: &mut dyn Write, text: String| -> Result<()> {
        // JSON output stays one document; the note goes to stderr then.
        if settings.json {
            tracing::info!("{text}");
        } else {
            writeln!(out, "{text}")?;
        }
        Ok(())
    };
    match (settings.lock, changed) {
        (_, false) => say(out, format!("{LOCK_FILE} is up to date"))?,
        (LockMode::Write, true) => {
            std::fs::write(&lock_path, plan.lock.to_text())
                .with_context(|| format!("cannot write {}", lock_path.display()))?;
            say(out, format!("wrote {}", display_root(&settings.fleet).join(LOCK_FILE).display()))?;
        }
        (LockMode::DryRun, true) => say(out, format!("{LOCK_FILE} would change (dry run: not written)"))?,
        (LockMode::Locked, true) => {
            say(out, format!("{LOCK_FILE} would change, and --locked forbids it; run `bulkhead net plan` and commit"))?;
            return Ok(Verdict::Fail);
        }
    }
    Ok(Verdict::Pass)
}

fn write_plan_human(plan: &Plan, out: &mut dyn Write) -> Result<()> {
    let mut table = Table::new(["cluster", "range", "cidr", "from", "change"]);
    let (mut added, mut moved, mut kept) = (0, 0, 0);
    for c in &plan.clusters {
        for r in &c.ranges {
            let change = match &r.change {
                Change::Unchanged if r.source == Source::Declared => String::new(),
                Change::Unchanged => {
                    kept += 1;
                    "kept".to_string()
                }
                Change::Added => {
                    added += 1;
                    "added".to_string()
                }
                Change::Moved { from, why } => {
                    moved += 1;
                    format!("moved from {from}: {why}")
                }
            };
            table.row([c.name.clone(), r.kind.to_string(), r.net.to_string(), r.source.as_str().to_string(), change]);
        }
    }
    table.write(out)?;
    let mut zones = Table::new(["cluster", "zone", "private", "public", "spare"]);
    for c in &plan.clusters {
        for z in &c.zones {
            zones.row([
                c.name.clone(),
                z.zone.clone(),
                z.private.to_string(),
                z.public.to_string(),
                z.spare.to_string(),
            ]);
        }
    }
    writeln!(out)?;
    zones.write(out)?;
    writeln!(
        out,
        "\n{} clusters: {added} ranges added, {moved} moved, {kept} kept from {LOCK_FILE}",
        plan.clusters.len()
    )?;
    if !plan.released.is_empty() {
        writeln!(out, "released (no longer in the fleet): {}", plan.released.join(", "))?;
    }
    Ok(())
}

/// Runs `net check`.
///
/// # Errors
/// When writing fails.
pub fn check(settings: &NetCheckSettings, global: GlobalSettings, out: &mut dyn Write) -> Result<Verdict> {
    let Some((fleet, loaded)) = load_fleet(&settings.fleet, global, out)? else { return Ok(Verdict::Invalid) };
    let mut diagnostics = Vec::new();
    let mut invalid = false;
    let lock = read_lock(&fleet).unwrap_or_else(|d| {
        diagnostics.push(d);
        invalid = true;
        None
    });
    let mut inputs = Inputs { lock, ..Default::default() };
    if let Some(path) = &settings.ranges {
        match import_ranges(path) {
            Ok(r) => inputs.imported = r,
            Err(mut ds) => {
                diagnostics.append(&mut ds);
                invalid = true;
            }
        }
    }
    let mut unreachable = false;
    if settings.live {
        let live = live_ranges(&fleet)?;
        inputs.live = live.ranges;
        unreachable = !live.unreachable.is_empty();
        diagnostics.extend(live.unreachable);
        diagnostics.extend(live.notes);
    }
    diagnostics.extend(bulkhead_net::check(&fleet, &inputs));
    Diagnostic::sort(&mut diagnostics);

    let verdict = super::verdict_of(&diagnostics, settings.fail_on, invalid, unreachable);
    let root = display_root(&settings.fleet);
    match settings.output {
        OutputFormat::Human => {
            write_diagnostics_human(out, &diagnostics, &loaded.sources, &root, global.style)?;
            let c = bulkhead_report::Counts::of(&diagnostics);
            let ranges = bulkhead_net::effective_ranges(&fleet, inputs.lock.as_ref()).len()
                + inputs.live.len()
                + inputs.imported.len();
            writeln!(
                out,
                "checked {ranges} ranges of {} clusters{}: {} errors, {} warnings, {} notes\nverdict: {}",
                fleet.file.spec.clusters.len(),
                if settings.live { " (with live state)" } else { "" },
                c.errors,
                c.warnings,
                c.infos,
                verdict.as_str()
            )?;
        }
        OutputFormat::Json => DiagnosticsJson::new(&root, &diagnostics).write(out)?,
        OutputFormat::Sarif => write_sarif(out, &diagnostics, env!("CARGO_PKG_VERSION"))?,
        OutputFormat::Junit => write_junit(out, "net check", std::slice::from_ref(&fleet.path), &diagnostics)?,
    }
    Ok(verdict)
}

/// Reads a ranges file: `CIDR,OWNER` per line, `#` comments, blank lines.
fn import_ranges(path: &Path) -> Result<Vec<OwnedRange>, Vec<Diagnostic>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![Diagnostic::error(Code::UnreadableFile, path, None, format!("cannot read ranges file: {e}"))]
    })?;
    let mut ranges = Vec::new();
    let mut problems = Vec::new();
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let start = offset;
        offset += line.len();
        let content = line.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let mut fields = content.splitn(3, [',', '\t']).map(str::trim);
        let (cidr, owner) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
        let span = Span { start, end: start + line.trim_end().len(), line: i + 1, column: 1 };
        match cidr.parse::<ipnet::IpNet>() {
            Ok(net) if !owner.is_empty() => {
                let kind = RangeKind::External;
                ranges.push(OwnedRange::new(owner, kind, net, Source::Imported));
            }
            Ok(_) => problems.push(
                Diagnostic::error(RANGES_SYNTAX, path, Some(span), "the range has no owner")
                    .with_hint("write `CIDR,OWNER`, such as `10.20.0.0/16,office-berlin`"),
            ),
            // A header line, as exports have: only the first line may be one.
            Err(_) if i == 0 && (cidr.eq_ignore_ascii_case("prefix") || cidr.eq_ignore_ascii_case("cidr")) => {}
            Err(_) => problems.push(
                Diagnostic::error(RANGES_SYNTAX, path, Some(span), format!("`{cidr}` is not a CIDR"))
                    .with_hint("write `CIDR,OWNER`, such as `10.20.0.0/16,office-berlin`"),
            ),
        }
    }
    if problems.is_empty() { Ok(ranges) } else { Err(problems) }
}

/// What the clusters told.
struct Live {
    ranges: Vec<OwnedRange>,
    /// Clusters that could not be read, as errors at their `access` entry.
    unreachable: Vec<Diagnostic>,
    /// Values that could not be read, as warnings.
    notes: Vec<Diagnostic>,
}

/// Reads every reachable cluster's ranges.
fn live_ranges(fleet: &Fleet) -> Result<Live> {
    let results = super::live::per_cluster(fleet, |c| Box::pin(async move { bulkhead_kube::network::read(&c).await }))?;
    let (mut ranges, mut failures, mut notes) = (Vec::new(), Vec::new(), Vec::new());
    for (i, name, result) in results {
        match result {
            Ok(live) => {
                for (node, net) in live.node_pod_cidrs {
                    ranges.push(
                        OwnedRange::new(&name, RangeKind::NodePods, net, Source::Live)
                            .with_detail(format!("node {node}")),
                    );
                }
                for net in live.service_cidrs {
                    ranges.push(
                        OwnedRange::new(&name, RangeKind::Services, net, Source::Live).with_detail("ServiceCIDR"),
                    );
                }
                for (svc, ip) in live.service_ips {
                    let net = match ip {
                        IpAddr::V4(a) => ipnet::IpNet::V4(ipnet::Ipv4Net::new(a, 32).expect("/32")),
                        IpAddr::V6(a) => ipnet::IpNet::V6(ipnet::Ipv6Net::new(a, 128).expect("/128")),
                    };
                    ranges.push(
                        OwnedRange::new(&name, RangeKind::ServiceIp, net, Source::Live)
                            .with_detail(format!("Service {svc}")),
                    );
                }
                for (pool, net) in live.load_balancer_pools {
                    ranges.push(
                        OwnedRange::new(&name, RangeKind::LoadBalancer, net, Source::Live)
                            .with_detail(format!("IPAddressPool {pool}")),
                    );
                }
                for what in live.unreadable {
                    notes.push(Diagnostic::warning(
                        Code::InvalidValue,
                        &fleet.path,
                        Some(fleet.span(&format!("spec/clusters/{i}/name"))),
                        format!("cluster `{name}` has a range Bulkhead cannot read: {what}"),
                    ));
                }
            }
            Err(e) => failures.push(super::live::unreachable(fleet, i, &e)),
        }
    }
    ranges.sort_by(|a, b| (&a.owner, a.net).cmp(&(&b.owner, b.net)));
    Ok(Live { ranges, unreachable: failures, notes })
}
