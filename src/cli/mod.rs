//! The command-line front end: argument definitions (`args`), the one conversion to a
//! validated [`crate::job::Job`] (`config`, and `spec` for the build spec), and one module
//! per subcommand that renders what the library returned. The exit status is decided
//! here, once ([`Status::of`]).

pub mod args;
pub mod build;
pub mod bundle;
pub mod check;
pub mod config;
pub mod files;
pub mod pack;
pub mod probe;
pub mod progress;
pub mod report;
pub mod spec;
pub mod trace;

use anyhow::Result;
use clap::Parser;

use crate::job::{Outcome, Refusal};
use crate::problem::Problem;

/// How a run ended, ordered by severity. The process exit code is its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Everything was found.
    Ok = 0,
    /// The closure is incomplete (a library or interpreter is missing), or `check` found
    /// errors.
    Incomplete = 1,
    /// An error: bad input, unreadable file, bad root.
    Error = 2,
}

impl Status {
    /// The status of a run that ended: 0 when complete, else 1. (Errors are 2, from `main`.)
    pub fn of(complete: bool) -> Status {
        if complete {
            Status::Ok
        } else {
            Status::Incomplete
        }
    }
}

/// Parses the command line and runs the command.
pub fn main() -> Status {
    // The probe's own stages re-execute minroot; they are not commands for people.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.len() == 3 {
        let config = std::path::Path::new(&argv[2]);
        match argv[1].to_str() {
            Some("__probe-sandbox") => {
                std::process::exit(crate::probe::sandbox::sandbox_main(config))
            }
            Some("__probe-init") => std::process::exit(crate::probe::sandbox::init_main(config)),
            _ => {}
        }
    }
    // Temporary files and trees are removed on SIGINT, SIGTERM and SIGHUP (`cleanup`);
    // without the thread (it cannot start) a signal ends the run as before.
    let _ = crate::cleanup::remove_on_signals();
    let cli = match args::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                Status::Error
            } else {
                Status::Ok
            };
            let _ = e.print();
            return code;
        }
    };
    let mut env = config::HostEnv::read();
    env.progress = progress::observer(cli.quiet, env.stderr_tty);
    match run(cli, &env) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("minroot: error: {e:#}");
            Status::Error
        }
    }
}

fn run(cli: args::Cli, env: &config::HostEnv) -> Result<Status> {
    match cli.command {
        args::Command::Trace(a) => trace::run(*a, env),
        args::Command::Files(a) => files::run(*a, env),
        args::Command::Pack(a) => pack::run(*a, env),
        args::Command::Build(a) => build::run(*a, env),
        args::Command::Report(a) => report::run(*a, env),
        args::Command::Check(a) => check::run(*a, env),
        args::Command::Bundle(a) => bundle::run(*a, env),
        args::Command::Probe(a) => probe::run(*a, env),
    }
}

/// Prints problems to stderr, one per line: `minroot: SEVERITY: message`.
pub fn print_problems<'a>(problems: impl IntoIterator<Item = &'a Problem>) {
    for p in problems {
        eprintln!("minroot: {}: {p}", p.severity().name());
    }
}

/// Prints an outcome's problems, and why nothing was written if it was refused; returns
/// the exit status of the run.
pub fn finish(outcome: &Outcome) -> Status {
    print_problems(outcome.problems());
    match &outcome.refused {
        None => {}
        Some(Refusal::Incomplete { platform: None }) => eprintln!(
            "minroot: nothing written: the closure is incomplete (see above); --allow-missing writes it anyway"
        ),
        Some(Refusal::Incomplete {
            platform: Some(name),
        }) => eprintln!(
            "minroot: nothing written: the closure for {name} is incomplete (see above); --allow-missing writes it anyway"
        ),
        Some(Refusal::IncompleteBundle) => eprintln!(
            "minroot: nothing written: the bundle would be incomplete (see above); a bundle never leaves a library out"
        ),
    }
    Status::of(outcome.complete())
}

/// Bytes in B/KB/MB (decimal, one decimal place).
pub fn human(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} kB", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        _ => format!("{:.2} GB", n as f64 / 1e9),
    }
}
