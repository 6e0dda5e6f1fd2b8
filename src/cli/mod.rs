//! The command-line front end: argument definitions (`args`), the one conversion to a
//! validated [`crate::job::Job`] (`config`, and `spec` for the build spec), and one module
//! per subcommand that renders what the library returned. The exit status is decided
//! here, once ([`Status::of`]); so is how errors and problems reach stderr ([`say`],
//! [`error_line`]): one printer for every command.

pub mod args;
pub mod build;
pub mod bundle;
pub mod check;
pub mod config;
pub mod files;
pub mod outputs;
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
    // Temporary files and trees are removed on SIGINT, SIGTERM and SIGHUP (`cleanup`;
    // its thread starts with the first temporary path).
    crate::cleanup::remove_on_signals();
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
        // The reader of the output went away (`minroot files X | head -1`): end quietly
        // with status 0, as ripgrep does (its `main` looks for BrokenPipe in the error
        // chain). Rust ignores SIGPIPE, so the write fails with EPIPE where a C program
        // like GNU grep would be killed by the signal (status 141 in the shell); dying by
        // the signal here would also skip the removal of temporary outputs.
        Err(e) if broken_pipe(&e) => Status::Ok,
        Err(e) => {
            say("error", &error_line(&e));
            Status::Error
        }
    }
}

/// Whether an error is a write to a pipe whose reader is gone (EPIPE).
pub fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Writes `minroot: LEVEL: message` to stderr: the one printer of every command's errors,
/// warnings and notes. A stderr that cannot be written is ignored (`eprintln!` would
/// panic): there is nowhere left to say anything.
pub fn say(level: &str, message: &str) {
    use std::io::Write;
    let message = plain(message);
    let _ = writeln!(std::io::stderr().lock(), "minroot: {level}: {message}");
}

/// A message for people: I/O errors inside it (a problem's or a finding's text, made
/// by the library with `to_string()`) without their `(os error N)` tails.
pub fn plain(message: &str) -> String {
    strip_os_error(message)
}

/// An error and its causes as one line, each said once: `writing x.tar: No space left on
/// device`.
///
/// Library errors often show their cause in their own message *and* return it as their
/// `source()` (`"{path}: {source}"`), so printing the chain (`{:#}`) repeats it
/// (`writing d/: Not a directory (os error 20): Not a directory (os error 20)`): a
/// cause whose text already ends the line is left out. An I/O error loses its
/// `(os error N)` tail (the text before it says the same in words), and the path the
/// `tempfile` crate adds to its errors (`... at path "/d/.x.tar.minroot-AbC123.tmp"`) is
/// left out: that is a temporary name nobody typed, and the layer that knows the
/// destination has named it already.
pub fn error_line(e: &anyhow::Error) -> String {
    line_of(e.chain())
}

/// [`error_line`] for a plain error.
pub fn error_line_of(e: &(dyn std::error::Error + 'static)) -> String {
    line_of(std::iter::successors(Some(e), |e| e.source()))
}

fn line_of<'a>(chain: impl Iterator<Item = &'a (dyn std::error::Error + 'static)>) -> String {
    let mut line = String::new();
    for c in chain {
        let text = strip_temp_path(&strip_os_error(&c.to_string()));
        if text.is_empty() || line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    // A path said again by the next layer (`checking a.tar: a.tar: member c.json`,
    // `loop1: loop1: ...`): a part that ends the part before it is left out.
    let mut parts: Vec<&str> = Vec::new();
    for part in line.split(": ") {
        if parts
            .last()
            .is_some_and(|p| !part.is_empty() && p.ends_with(part))
        {
            continue;
        }
        parts.push(part);
    }
    parts.join(": ")
}

/// `s` without the ` at path "..."` that `tempfile` adds to an error when the path is
/// one of minroot's temporary names (`.NAME.minroot-XXXXXX.tmp`, see `pack`).
fn strip_temp_path(s: &str) -> String {
    const AT: &str = " at path \"";
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(AT) {
        let after = &rest[i + AT.len()..];
        match after.find('"') {
            Some(end) if after[..end].contains(".minroot-") => {
                out.push_str(&rest[..i]);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(&rest[..i + AT.len()]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `s` without the ` (os error N)` tails of I/O errors.
fn strip_os_error(s: &str) -> String {
    const TAIL: &str = " (os error ";
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(TAIL) {
        out.push_str(&rest[..i]);
        let after = &rest[i + TAIL.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && after[digits..].starts_with(')') {
            rest = &after[digits + 1..];
        } else {
            out.push_str(TAIL);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// `1 layer`, `2 layers`: a count with its noun, singular for one.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
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
        say(p.severity().name(), &p.to_string());
    }
}

/// Prints an outcome's problems, and why nothing was written if it was refused; returns
/// the exit status of the run.
pub fn finish(outcome: &Outcome) -> Status {
    print_problems(outcome.problems());
    match &outcome.refused {
        None => {}
        Some(Refusal::Incomplete { platform: None }) => say(
            "error",
            "nothing written: the closure is incomplete (see above); --allow-missing writes it anyway",
        ),
        Some(Refusal::Incomplete {
            platform: Some(name),
        }) => say(
            "error",
            &format!(
                "nothing written: the closure for {name} is incomplete (see above); --allow-missing writes it anyway"
            ),
        ),
        Some(Refusal::IncompleteBundle) => say(
            "error",
            "nothing written: the bundle would be incomplete (see above); a bundle never leaves a library out",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines_say_each_cause_once_without_os_error_tails() {
        #[derive(Debug, thiserror::Error)]
        #[error("writing {path}: {source}")]
        struct W {
            path: String,
            source: std::io::Error,
        }
        let e = anyhow::Error::new(W {
            path: "d/".into(),
            source: std::io::Error::from_raw_os_error(20),
        });
        assert_eq!(error_line(&e), "writing d/: Not a directory");
        let e = anyhow::Error::new(std::io::Error::from_raw_os_error(2)).context("--probe r.json");
        assert_eq!(error_line(&e), "--probe r.json: No such file or directory");
        let e = anyhow::anyhow!("loop1: too many levels").context("loop1");
        assert_eq!(error_line(&e), "loop1: too many levels");
        assert_eq!(
            strip_os_error("a (os error x) b (os error 36)"),
            "a (os error x) b"
        );
        assert_eq!(count(1u64, "layer", "layers"), "1 layer");
        assert_eq!(count(2u64, "layer", "layers"), "2 layers");
    }

    #[test]
    fn a_temporary_path_is_not_shown() {
        let dir = tempfile::tempdir().unwrap();
        let long = "a".repeat(300);
        let io = tempfile::Builder::new()
            .prefix(&format!(".{long}.minroot-"))
            .tempfile_in(dir.path())
            .unwrap_err();
        assert!(io.to_string().contains("at path"), "{io}");
        let e = anyhow::Error::new(io).context("writing x.tar");
        assert_eq!(error_line(&e), "writing x.tar: File name too long");
    }
}
