//! Why a run stops: bad input, an unreadable root, a failed write (exit status 2).
//! What is only missing or left out is not an error but a [`crate::problem::Problem`].

use std::path::PathBuf;

use crate::bundle::BundleError;
use crate::dev::DevError;
use crate::sbom::SbomError;
use crate::sbom::layer::PackagesError;
use crate::select::SelectError;
use crate::sysroot::SysrootError;

/// Why a run stopped (exit status 2): bad input, an unreadable root, a failed write.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("--root {path}: {source}")]
    Root { path: String, source: SysrootError },
    #[error("platform {name}: {source}")]
    Platform { name: String, source: Box<JobError> },
    #[error("platform {name}: the programs in {root} are for {found}")]
    WrongArch {
        name: String,
        root: String,
        found: &'static str,
    },
    #[error("cannot tell the image's architecture")]
    NoArch,
    #[error(transparent)]
    Select(#[from] SelectError),
    #[error(transparent)]
    Dev(#[from] DevError),
    #[error(transparent)]
    Packages(#[from] PackagesError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("walking the root: {0}")]
    Scan(#[source] SbomError),
    #[error("{what} {path}: {source}")]
    Write {
        what: String,
        path: String,
        source: std::io::Error,
    },
    #[error("{0} exists and is not empty")]
    NotEmpty(PathBuf),
    #[error("the program to pack: {0}")]
    Probe(#[source] crate::probe::ProbeError),
    #[error("{image}: the image has no Entrypoint or Cmd: name the programs (BIN)")]
    NoEntrypoint { image: String },
    #[error("no program: name one (BIN), or give --probe or an image root")]
    NoProgram,
    #[error(
        "{flag} {path}: inside the root {root}, which this run reads; write it outside the root"
    )]
    OutputInRoot {
        flag: &'static str,
        path: String,
        root: String,
    },
    #[error("{flag} {path}: that is {input}, which this run reads; name another output")]
    OutputIsInput {
        flag: &'static str,
        path: String,
        input: String,
    },
    #[error(
        "--data {name}: the root has none of the {what}'s files ({files}); install it in the root, or leave --data {name} out"
    )]
    DataNotInRoot {
        name: &'static str,
        what: &'static str,
        files: String,
    },
}
