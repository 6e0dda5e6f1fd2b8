//! The command-line front end: argument definitions (`args`), the one conversion to a
//! validated configuration (`config`), and one module per subcommand. The exit status is
//! decided here, once.

pub mod args;
pub mod build;
pub mod bundle;
pub mod check;
pub mod config;
pub mod files;
pub mod image;
pub mod layer;
pub mod pack;
pub mod report;
pub mod sbom;
pub mod spec;
pub mod trace;

use anyhow::Result;
use clap::Parser;

/// How a run ended, ordered by severity. The process exit code is its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Everything was found.
    Ok = 0,
    /// The closure is incomplete (a library or interpreter is missing).
    Incomplete = 1,
    /// An error: bad input, unreadable file, bad root.
    Error = 2,
}

/// Parses the command line and runs the command.
pub fn main() -> Status {
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
    let env = config::HostEnv::read();
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
    }
}
