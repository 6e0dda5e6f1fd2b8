//! The command line as typed: clap definitions only. Nothing here reads the environment,
//! touches the file system or decides policy; `config.rs` turns these into a validated
//! configuration.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "minroot",
    version,
    about = "Build the smallest root filesystem that runs a program",
    long_about = "minroot predicts exactly what the glibc loader loads for a program (without running it), \
adds what the program loads at run time, and writes the minimal file set as a reproducible layer.\n\n\
Exit status: 0 when everything was found, 1 when the closure is incomplete (a library is missing), 2 on an error.",
    after_help = "Examples:\n  minroot trace /usr/bin/curl\n  minroot trace --root ./arm64-root --format list /usr/bin/python3\n  minroot trace --format json /usr/bin/* > deps.json"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show what the glibc loader loads for each program, and why (like ldd, libtree, lddtree)
    #[command(
        after_help = "Examples:\n  minroot trace /usr/bin/ffmpeg\n  minroot trace --root /srv/rootfs --cpu-level x86-64-v3 /usr/sbin/nginx\n  minroot trace --format list /usr/bin/curl /usr/bin/git\n  minroot trace --library-path '$ORIGIN/../lib' ./build/app\n\n\
Exit status: 0 all found (or static), 1 a library or the interpreter is missing, 2 an error (unreadable or non-ELF program, bad root)."
    )]
    Trace(TraceArgs),
}

/// Options shared by every command that traces programs.
#[derive(Args, Debug, Clone)]
pub struct RootArgs {
    /// Sysroot to trace inside (an unpacked image, a debootstrap tree); every path is inside it
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Plays LD_LIBRARY_PATH (colon-separated; the environment is never read)
    #[arg(long, value_name = "DIRS")]
    pub library_path: Option<String>,
    /// CPU level for glibc-hwcaps subdirectories: baseline, x86-64-v2, x86-64-v3, x86-64-v4
    /// (aarch64: baseline, atomics). Default: the host CPU when the root's architecture is
    /// the host's, else baseline
    #[arg(long, value_name = "LEVEL")]
    pub cpu_level: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    /// A tree with the reason each library was found where it was
    Tree,
    /// `NAME => PATH` lines in load order, each object once
    List,
    /// Everything, for machines
    Json,
}

#[derive(Args, Debug)]
pub struct TraceArgs {
    #[command(flatten)]
    pub root: RootArgs,
    /// Output format
    #[arg(long, short = 'f', value_enum, default_value = "tree")]
    pub format: TraceFormat,
    /// Tree: also show dependencies that were already loaded
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Tree: show the directories searched for missing libraries
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Programs to trace (paths inside the root)
    #[arg(required = true, value_name = "BIN")]
    pub bins: Vec<String>,
}
