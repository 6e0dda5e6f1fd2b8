//! `minroot check`: what would fail to load in an image, found without running anything.
//!
//! The image can be one minroot did not build: a directory (used in place), a layer tar
//! (plain, gzip or zstd), or an OCI image layout or archive (its layers applied in order,
//! whiteouts honoured). The pipeline:
//!
//! ```text
//! TARGET ──target.rs──> a directory ──scan.rs──> every file, symlink and ELF ──> findings
//!          (untar.rs,                  (the loader rules of `trace` with the       (typed,
//!           oci.rs)                     directory as the root; rules.rs for         sorted)
//!                                       gconv, NSS and the CA bundle)
//! ```
//!
//! Findings are data (`findings.rs`), each with a severity: errors make `check` exit 1,
//! notes only with `--strict`. This module owns the error type and the one entry point;
//! rendering belongs to `cli/check.rs`.

pub mod findings;
pub mod layer;
pub mod oci;
pub mod rules;
pub mod scan;
pub mod target;
pub mod tree;
pub mod untar;

use std::io;

use crate::ldso::hwcaps::CpuLevel;
use crate::sysroot::SysrootError;

pub use findings::{Finding, Severity};
pub use scan::{Report, Stats};
pub use target::{Target, TargetInfo, TargetKind, TargetOptions};

/// Why a target cannot be checked at all (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{layer}: entry {entry} is refused: {why}")]
    UnsafeEntry {
        layer: String,
        entry: String,
        why: String,
    },
    #[error("{layer}: {why}")]
    Layer { layer: String, why: String },
    /// The files' bytes over all layers pass the bound (`Limits::max_total_bytes`).
    #[error(
        "{layer}: the image unpacks to more than {} of files, the bound on its unpacked size; raise it with --max-image-size", untar::show_size(*bound)
    )]
    OverBound { layer: String, bound: u64 },
    #[error("{path}: {why}")]
    Oci { path: String, why: String },
    #[error(
        "{path}: neither a directory nor a tar file (give an image directory, a layer .tar/.tar.gz/.tar.zst, or an OCI layout or archive)"
    )]
    UnknownTarget { path: String },
    #[error(transparent)]
    Sysroot(#[from] SysrootError),
}

impl CheckError {
    /// The error with the paths of `dir`, where the archive `archive` was unpacked, said
    /// as members of the archive: `img.tar: member c.json: invalid JSON`, not a temporary
    /// path that is gone when the message is read.
    pub fn in_archive(self, dir: &std::path::Path, archive: &str) -> CheckError {
        let dir = dir.display().to_string();
        let say = |s: String| {
            s.replace(&format!("{dir}/"), &format!("{archive}: member "))
                .replace(&dir, archive)
        };
        match self {
            CheckError::Io { path, source } => CheckError::Io {
                path: say(path),
                source,
            },
            CheckError::UnsafeEntry { layer, entry, why } => CheckError::UnsafeEntry {
                layer: say(layer),
                entry,
                why: say(why),
            },
            CheckError::Layer { layer, why } => CheckError::Layer {
                layer: say(layer),
                why: say(why),
            },
            CheckError::Oci { path, why } => CheckError::Oci {
                path: say(path),
                why: say(why),
            },
            e => e,
        }
    }
}

/// What `check` needs besides the target.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    pub target: TargetOptions,
    /// CPU level for glibc-hwcaps subdirectories (default: baseline, so a library that
    /// exists only in an x86-64-v3 directory is reported: the image must run anywhere).
    pub cpu_level: Option<CpuLevel>,
}

/// A target checked: what it was and what was found.
#[derive(Debug)]
pub struct Checked {
    pub target: TargetInfo,
    pub report: Report,
}

/// Materialises `path`, scans it and removes the temporary directory (if any).
pub fn check(path: &std::path::Path, opts: &CheckOptions) -> Result<Checked, CheckError> {
    let target = Target::open(path, &opts.target)?;
    let report = scan::scan(
        &target.root,
        target.info.arch,
        opts.cpu_level,
        &*opts.target.progress,
    )?;
    Ok(Checked {
        target: target.info.clone(),
        report,
    })
}
