//! The `bulkhead` command line: flags ([`args`]), their resolution into
//! settings ([`settings`]), one module per subcommand ([`commands`]), and the
//! one place where outcomes become exit codes ([`run`]).

pub mod args;
pub mod commands;
pub mod env_vars;
pub mod error;
mod runtime;
pub mod settings;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use args::{
    BackupCommand, Cli, ColorChoice, Command, DrillCommand, EtcdCommand, JobsCommand, NetCommand, TrafficCommand,
};
use bulkhead_model::Verdict;
use bulkhead_report::{DiagnosticsReport, OutputFormat};
use clap::Parser;
pub use error::{EXIT_BAD_INPUT, EXIT_BUG, EXIT_FINDINGS, EXIT_OK, EXIT_OUTSIDE, Failure};
use settings::{
    ApplySettings, AuditSettings, BackupCheckSettings, BackupCreateSettings, BackupDiffSettings, BackupForgetSettings,
    BackupListSettings, BackupPruneSettings, BackupShowSettings, BlastSettings, CheckSettings, DriftSettings,
    DrillHistorySettings, DrillRunSettings, EtcdExtractSettings, EtcdForgetSettings, EtcdInspectSettings,
    EtcdRestoreSettings, EtcdSnapshotSettings, EtcdWatchSettings, ExportSettings, GlobalSettings, JobsListSettings,
    JobsShowSettings, NetCheckSettings, NetPlanSettings, PlanSettings, RenderSettings, ReportSettings, RestoreSettings,
    ServeSettings, TrafficServeSettings, ValidateSettings,
};

/// Parses the command line, runs the command, and maps the outcome to an
/// exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.global.verbose, cli.global.color);
    install_panic_hook();
    let global = GlobalSettings::resolve(&cli.global);
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let (result, format) = dispatch(cli.command, global, &mut out);
    let result = result.and_then(|v| out.flush().map(|()| v).map_err(Failure::from));
    match result {
        Ok(verdict) => ExitCode::from(exit_code(verdict)),
        Err(f) if f.is_broken_pipe() => ExitCode::from(EXIT_OK),
        Err(f) => {
            report_failure(&f, format, global, &mut out);
            ExitCode::from(f.exit_code())
        }
    }
}

/// Runs the command; also returns its output format, so a failure is
/// printed in the format the caller reads.
fn dispatch(command: Command, global: GlobalSettings, out: &mut dyn Write) -> (Result<Verdict, Failure>, OutputFormat) {
    match command {
        Command::Validate(a) => {
            let s = ValidateSettings::resolve(a);
            (commands::validate::run(&s, global, out), s.output)
        }
        Command::Check(a) => {
            let s = CheckSettings::resolve(a);
            (commands::check::run(&s, global, out), s.output)
        }
        Command::Audit(a) => {
            let s = AuditSettings::resolve(a);
            (commands::audit::run(&s, global, out), s.output)
        }
        Command::Blast(a) => {
            let output = settings::output(a.output);
            match BlastSettings::resolve(a) {
                Ok(s) => (commands::blast::run(&s, global, out), output),
                Err(e) => (Err(Failure::Usage(e)), output),
            }
        }
        Command::Net(NetCommand::Plan(a)) => {
            let s = NetPlanSettings::resolve(a);
            let format = if s.json { OutputFormat::Json } else { OutputFormat::Human };
            (commands::net::plan(&s, global, out), format)
        }
        Command::Net(NetCommand::Check(a)) => {
            let s = NetCheckSettings::resolve(a);
            (commands::net::check(&s, global, out), s.output)
        }
        Command::Schema(args) => (commands::schema::run(args.openapi, out), OutputFormat::Json),
        Command::Report(a) => (commands::report::run(&ReportSettings::resolve(a), out), OutputFormat::Human),
        Command::Backup(BackupCommand::Create(a)) => {
            let s = BackupCreateSettings::resolve(a);
            (commands::backup::create(&s, out), s.output)
        }
        Command::Backup(BackupCommand::List(a)) => {
            let s = BackupListSettings::resolve(a);
            (commands::backup::list(&s, out), s.output)
        }
        Command::Backup(BackupCommand::Check(a)) => {
            (commands::backup::check(&BackupCheckSettings::resolve(a), out), OutputFormat::Human)
        }
        Command::Backup(BackupCommand::Show(a)) => {
            resolved(settings::output(a.output), BackupShowSettings::resolve(a), commands::snapshots::show, out)
        }
        Command::Backup(BackupCommand::Diff(a)) => {
            resolved(settings::output(a.output), BackupDiffSettings::resolve(a), commands::snapshots::diff, out)
        }
        Command::Backup(BackupCommand::Forget(a)) => {
            let s = BackupForgetSettings::resolve(a);
            (commands::retention::forget(&s, out), s.output)
        }
        Command::Backup(BackupCommand::Prune(a)) => {
            let s = BackupPruneSettings::resolve(a);
            (commands::retention::prune(&s, out), s.output)
        }
        Command::Drill(DrillCommand::Run(a)) => {
            resolved(settings::output(a.output), DrillRunSettings::resolve(a), commands::drill::run, out)
        }
        Command::Etcd(EtcdCommand::Snapshot(a)) => {
            let s = EtcdSnapshotSettings::resolve(a);
            (commands::etcd::snapshot(&s, out), s.output)
        }
        Command::Etcd(EtcdCommand::Inspect(a)) => {
            resolved(settings::output(a.output), EtcdInspectSettings::resolve(a), commands::etcd::inspect::run, out)
        }
        Command::Etcd(EtcdCommand::Watch(a)) => {
            let s = EtcdWatchSettings::resolve(a);
            (commands::etcd::watch::run(&s, out), s.output)
        }
        Command::Etcd(EtcdCommand::Forget(a)) => {
            let s = EtcdForgetSettings::resolve(a);
            (commands::etcd::forget::run(&s, out), s.output)
        }
        Command::Etcd(EtcdCommand::Restore(a)) => {
            resolved(settings::output(a.output), EtcdRestoreSettings::resolve(a), commands::etcd::restore::run, out)
        }
        Command::Etcd(EtcdCommand::Extract(a)) => {
            resolved(OutputFormat::Human, EtcdExtractSettings::resolve(a), commands::etcd::extract::run, out)
        }
        Command::Traffic(TrafficCommand::Serve(a)) => {
            (commands::traffic::serve_command(&TrafficServeSettings::resolve(a), out), OutputFormat::Human)
        }
        Command::Drill(DrillCommand::History(a)) => {
            let s = DrillHistorySettings::resolve(a);
            (commands::drill::history(&s, out), s.output)
        }
        Command::Restore(a) => {
            resolved(settings::output(a.output), RestoreSettings::resolve(a), commands::restore::run, out)
        }
        Command::Export(a) => (commands::export::run(&ExportSettings::resolve(a), out), OutputFormat::Human),
        Command::Render(a) => (commands::apply::render::run(&RenderSettings::resolve(a), out), OutputFormat::Human),
        Command::Plan(a) => {
            let s = PlanSettings::resolve(a);
            (commands::apply::plan::run(&s, out), s.output)
        }
        Command::Apply(a) => {
            let s = ApplySettings::resolve(a);
            (commands::apply::run::run(&s, out), s.output)
        }
        Command::Drift(a) => {
            let s = DriftSettings::resolve(a);
            (commands::apply::drift::run(&s, out), s.output)
        }
        Command::Serve(a) => {
            resolved(settings::output(a.output), ServeSettings::resolve(a), commands::serve::serve, out)
        }
        Command::Jobs(JobsCommand::List(a)) => {
            resolved(settings::output(a.output), JobsListSettings::resolve(a), commands::serve::list, out)
        }
        Command::Jobs(JobsCommand::Show(a)) => {
            resolved(settings::output(a.output), JobsShowSettings::resolve(a), commands::serve::show, out)
        }
    }
}

/// Runs a command whose flags may not resolve; a failure to resolve them
/// is printed in the `output` they ask for.
fn resolved<S>(
    output: OutputFormat,
    settings: Result<S, Failure>,
    command: impl FnOnce(&S, &mut dyn Write) -> Result<Verdict, Failure>,
    out: &mut dyn Write,
) -> (Result<Verdict, Failure>, OutputFormat) {
    (settings.and_then(|s| command(&s, out)), output)
}

/// Prints a failure: to stderr for people, and as a document of the
/// requested format on stdout for machines (so `--output json` always
/// parses).
fn report_failure(failure: &Failure, format: OutputFormat, global: GlobalSettings, out: &mut dyn Write) {
    #[allow(clippy::print_stderr)] // the edge: the one place errors reach the user
    {
        eprintln!("error: {failure}");
    }
    if format == OutputFormat::Human || matches!(failure, Failure::Output(_)) {
        return;
    }
    let diagnostic = [failure.to_diagnostic()];
    let report = DiagnosticsReport {
        diagnostics: &diagnostic,
        sources: &Default::default(),
        root: std::path::Path::new(""),
        suite: "bulkhead",
        files: &[],
    };
    // The output itself may be what failed; nothing more can be said then.
    let _ = report.write(out, format, global.style).and_then(|()| out.flush());
}

/// The exit code of each verdict.
pub fn exit_code(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Pass => EXIT_OK,
        Verdict::Fail => EXIT_FINDINGS,
        Verdict::Invalid => EXIT_BAD_INPUT,
        Verdict::Unreachable => EXIT_OUTSIDE,
    }
}

/// A panic is a bug in Bulkhead: say so, and ask for a report. It exits
/// with Rust's panic code, [`EXIT_BUG`].
fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        #[allow(clippy::print_stderr)] // the edge
        {
            eprintln!("error: this is a bug in Bulkhead; please report it with the command that caused it");
        }
    }));
}

/// Logs go to stderr. By default only Bulkhead's own warnings: the libraries'
/// logs (the Kubernetes client's connection errors above all) repeat, less
/// clearly, what the diagnostics already say. `-v` shows everyone's.
/// Colour only when stderr is a terminal and `NO_COLOR` is unset.
fn init_tracing(verbose: u8, color: ColorChoice) {
    let default = match verbose {
        // A DNS server logs each site it takes out or brings back.
        0 => "off,bulkhead=warn,bulkhead_traffic=info,bulkhead_jobs::traffic=info,bulkhead_serve=info",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env(env_vars::BULKHEAD_LOG)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let ansi = match color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::env::var_os(env_vars::NO_COLOR).is_none() && io::stderr().is_terminal(),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(ansi)
        .without_time()
        .try_init();
}
