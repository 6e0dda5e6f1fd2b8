//! The job: one validated description of the work, and the one place that runs it.
//!
//! The command line (`cli/`) and the build spec (`cli/spec.rs`) both convert what was
//! typed into a [`Job`], once, checking every value there (their errors name the flag, or
//! the key and line); the host environment (cwd, /proc/cpuinfo, SOURCE_DATE_EPOCH) is read
//! once by the command line and enters the job as values. [`run`] then takes the job
//! through the stages and returns an owned [`Outcome`]:
//!
//! ```text
//! Job ─> for each platform: Session (root) ─> select (closure, hints, includes)
//!          ─> plan (entries, base files) ─> packages (attribution, package db, copyright)
//!     ─> outputs (layer, rootfs, Dockerfile, OCI layout/archive, SBOMs, report, bundle)
//!     ─> Outcome (selections, plans, packages, typed problems, what was written)
//! ```
//!
//! `files`, `report`, `pack`, `build` and `bundle` are views of this one run: they differ
//! in their [`Goal`] only. Nothing here prints; the command line renders the outcome and
//! decides the exit status from [`Outcome::complete`].
//!
//! `parse.rs` holds the value checks shared by both front ends; `run.rs` the pipeline;
//! `image.rs` the image outputs (OCI, Dockerfile); `outcome.rs` what a run returns;
//! `error.rs` why it stops.

mod error;
pub mod guard;
mod image;
mod outcome;
pub mod parse;
mod run;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use error::JobError;
pub use image::WrittenImage;
pub use outcome::{Made, Outcome, Refusal, Written};
pub use run::run;

use crate::arch::Arch;
use crate::elf::Priority;
use crate::hints::known::OptIn;
use crate::ldso::hwcaps::CpuLevel;
use crate::pack::Compression;
use crate::sbom::layer::SbomFormat;
use crate::sbom::pkgdb::PkgDbOptions;

/// The one validated description of a run.
#[derive(Clone, Debug)]
pub struct Job {
    /// What the run is for.
    pub goal: Goal,
    /// One root per platform: `build` has one per `[[platform]]`, the others one.
    pub platforms: Vec<Platform>,
    /// The programs, as typed (paths inside the root; see [`Platform::inside`]).
    pub programs: Vec<String>,
    /// What the selection adds besides the programs.
    pub select: Selecting,
    /// Base files, owners, modes and time of the layer.
    pub layer: LayerPolicy,
    /// Package metadata added to the layer (package database entries, copyright files).
    pub packages: PkgDbOptions,
    /// Write even when the closure is incomplete (`pack`, `build`; a bundle never is).
    pub allow_missing: bool,
    /// The current directory: relative paths in the host's root are relative to it.
    pub cwd: PathBuf,
    /// Told how long work goes (silent by default; the command line draws it).
    pub progress: crate::progress::Observer,
}

/// What a run is for, and what it writes.
#[derive(Clone, Debug)]
pub enum Goal {
    /// `files`: the layer's entries, with the package metadata pack would add.
    Files,
    /// `report`: the root against the layer (the package database must be readable).
    Report,
    /// `pack` and `build`: layers, images, SBOMs, the report.
    Pack(Box<Outputs>),
    /// `bundle`: a relocatable directory or tarball.
    Bundle(BundleOutput),
}

/// One root and how to trace in it.
#[derive(Clone, Debug)]
pub struct Platform {
    /// The spec's name (`linux/amd64`), for messages; None for the command line's one root.
    pub name: Option<String>,
    /// The architecture the programs must be for (the spec's platform), else any one.
    pub arch: Option<Arch>,
    /// The root directory, canonical.
    pub root: PathBuf,
    /// The image the root was applied from (`--root IMAGE`), kept while the job lives.
    pub image: Option<std::sync::Arc<crate::image::ImageRoot>>,
    /// `--library-path` (LD_LIBRARY_PATH), as given.
    pub library_path: Option<String>,
    /// `--cpu-level`; None: trace as a baseline CPU and add every glibc-hwcaps build, so
    /// the layer does not depend on the CPU of the machine that builds it (`trace` uses
    /// the host's CPU instead).
    pub cpu: Option<CpuLevel>,
}

impl Platform {
    /// Whether the root is the host's `/` (relative paths are then relative to the cwd).
    pub fn is_host(&self) -> bool {
        self.root == std::path::Path::new("/")
    }

    /// A path as typed, made absolute inside this root.
    pub fn inside(&self, typed: &str, cwd: &std::path::Path) -> String {
        crate::session::inside_path(typed, self.is_host(), cwd)
    }
}

/// What the selection adds besides the programs.
#[derive(Clone, Debug)]
pub struct Selecting {
    /// `--include` paths, as typed.
    pub includes: Vec<String>,
    /// `--dlopen` sonames.
    pub dlopens: Vec<String>,
    /// `.note.dlopen` entries up to this priority.
    pub dlopen_priority: Priority,
    /// gconv modules for programs that call iconv_open.
    pub gconv: bool,
    /// Opt-in data sets (`--data`).
    pub data: Vec<&'static OptIn>,
    /// Add the files of the language runtimes the programs are (off: `--no-runtime`).
    pub runtimes: bool,
    /// Probe records (`--probe`), each with the name it was given by.
    pub probes: Vec<(String, crate::probe::Record)>,
}

/// Base files, owners, modes and time of the layer.
#[derive(Clone, Debug)]
pub struct LayerPolicy {
    /// passwd, group, nsswitch.conf, CA bundle, /tmp, homes, os-release.
    pub base: bool,
    pub strip_setuid: bool,
    /// Every entry owned by this uid:gid instead of the root's owners.
    pub chown: Option<(u32, u32)>,
    /// The one time input: mtime of every entry, `created` of images and SBOMs.
    pub mtime: u64,
}

/// The image's run-time configuration and name (OCI outputs, Dockerfile).
#[derive(Clone, Debug, Default)]
pub struct ImageConfig {
    /// ENTRYPOINT; empty: the first program.
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// `KEY=VALUE` (checked), added to the defaults PATH and SSL_CERT_FILE.
    pub env: Vec<String>,
    /// None: 65532, distroless's nonroot.
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// NAME:TAG (normalised); None: `<first program>:latest`.
    pub tag: Option<String>,
    /// Add a -dev image with a shell and tools on top of the production layer.
    pub dev: bool,
}

/// What `pack` and `build` write.
#[derive(Clone, Debug)]
pub struct Outputs {
    /// The layer: .tar, .tar.gz or .tar.zst (compression from the name), or standard
    /// output (a plain tar).
    pub layer: Option<LayerDest>,
    /// The unpacked tree.
    pub rootfs: Option<PathBuf>,
    /// DIR/Dockerfile and DIR/layer.tar.
    pub dockerfile: Option<PathBuf>,
    pub oci: Option<PathBuf>,
    pub oci_archive: Option<PathBuf>,
    /// Layer compression of the OCI outputs.
    pub compression: Compression,
    pub sboms: Vec<(PathBuf, SbomFormat)>,
    /// Also make the reduction report.
    pub report: bool,
    pub image: ImageConfig,
    /// The command, for the image history (`minroot pack ...`).
    pub command: &'static str,
}

impl Outputs {
    /// Whether the package step runs: something needs the database, or metadata is added.
    fn wants_packages(&self, packages: PkgDbOptions) -> bool {
        !self.sboms.is_empty() || self.report || packages.package_db || packages.copyright
    }

    /// Whether the package database must be readable (an SBOM or the report).
    fn needs_database(&self) -> bool {
        !self.sboms.is_empty() || self.report
    }
}

/// Where the layer goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayerDest {
    /// A file (compression from its name), or a device or FIFO written in place.
    File(PathBuf),
    /// Standard output (`-o -`), as a plain tar: the same bytes as `-o layer.tar`.
    Stdout,
}

impl std::fmt::Display for LayerDest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LayerDest::File(p) => write!(f, "{}", p.display()),
            LayerDest::Stdout => f.write_str("standard output"),
        }
    }
}

/// Where a bundle goes.
#[derive(Clone, Debug)]
pub struct BundleOutput {
    pub path: PathBuf,
    /// A .tar.gz holding one folder of this name; None: a directory.
    pub tarball: Option<String>,
}
