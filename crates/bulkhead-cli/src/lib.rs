//! The `bulkhead` command line: flags ([`args`]), their resolution into
//! settings ([`settings`]), one module per subcommand ([`commands`]), and the
//! one place where outcomes become exit codes ([`run`]).

pub mod args;
pub mod commands;
pub mod env_vars;
pub mod settings;

use std::io::{self, Write};
use std::process::ExitCode;

use args::{Cli, Command, NetCommand};
use bulkhead_report::Verdict;
use clap::Parser;
use settings::{
    AuditSettings, BlastSettings, CheckSettings, GlobalSettings, NetCheckSettings, NetPlanSettings, ValidateSettings,
};

/// Exit code: everything passed.
pub const EXIT_OK: u8 = 0;
/// Exit code: a check found problems (a policy failed).
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: bad input or usage.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code: the outside world failed (cluster unreachable, storage down).
pub const EXIT_OUTSIDE: u8 = 3;

/// Parses the command line, runs the command, and maps the outcome to an
/// exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.global.verbose);
    let global = GlobalSettings::resolve(&cli.global);
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = match cli.command {
        Command::Validate(a) => commands::validate::run(&ValidateSettings::resolve(a), global, &mut out),
        Command::Check(a) => commands::check::run(&CheckSettings::resolve(a), global, &mut out),
        Command::Audit(a) => commands::audit::run(&AuditSettings::resolve(a), global, &mut out),
        Command::Blast(a) => match BlastSettings::resolve(a) {
            Ok(s) => commands::blast::run(&s, global, &mut out),
            Err(e) => usage_error(&e),
        },
        Command::Net(NetCommand::Plan(a)) => commands::net::plan(&NetPlanSettings::resolve(a), global, &mut out),
        Command::Net(NetCommand::Check(a)) => commands::net::check(&NetCheckSettings::resolve(a), global, &mut out),
        Command::Schema => commands::schema::run(&mut out),
    };
    let result = result.and_then(|v| out.flush().map(|()| v).map_err(Into::into));
    match result {
        Ok(verdict) => ExitCode::from(exit_code(verdict)),
        Err(e) if is_broken_pipe(&e) => ExitCode::from(EXIT_OK),
        Err(e) => {
            tracing::error!("{e:#}");
            #[allow(clippy::print_stderr)] // the edge: the one place errors reach the user
            {
                eprintln!("error: {e:#}");
            }
            ExitCode::from(EXIT_OUTSIDE)
        }
    }
}

/// A usage mistake found after parsing: said like clap says them, exit 2.
fn usage_error(message: &str) -> ! {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    cmd.error(clap::error::ErrorKind::ValueValidation, message).exit()
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

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe))
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env(env_vars::BULKHEAD_LOG)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(io::stderr).without_time().try_init();
}
