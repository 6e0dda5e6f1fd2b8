//! What a run returns: per platform, what was selected and planned (with the package
//! attribution and the dev layer), every typed problem, and what was written with its
//! digests. Owned, so the command line can render it after the run, as text or JSON.

use std::path::PathBuf;
use std::sync::Arc;

use crate::bundle::BundleInfo;
use crate::pack::LayerInfo;
use crate::plan::{Plan, PlanOptions};
use crate::problem::Problem;
use crate::sbom::layer::{Packages, SbomInfo};
use crate::sbom::report::Report;
use crate::select::Selection;
use crate::sysroot::Root;

use super::{Platform, WrittenImage};

/// What was made for one platform.
#[derive(Debug)]
pub struct Made {
    /// The platform as the job described it.
    pub platform: Platform,
    /// The root, as the run read it.
    pub root: Arc<Root>,
    /// The programs, as paths inside the root.
    pub programs: Vec<String>,
    pub selection: Selection,
    /// The layer's entries (with the package metadata, when the package step ran).
    pub plan: Plan,
    /// The options the plan was made with.
    pub plan_options: PlanOptions,
    /// The package attribution, when the package step ran.
    pub packages: Option<Packages>,
    /// The `-dev` layer, when asked for.
    pub dev: Option<Plan>,
    /// What the root's resolver and the package step reported.
    pub notes: Vec<Problem>,
}

impl Made {
    /// Every problem of this platform, in the order of the stages: the selection's, the
    /// plan's, then the root's and the package step's.
    pub fn problems(&self) -> impl Iterator<Item = &Problem> {
        self.selection
            .problems()
            .iter()
            .chain(self.plan.warnings())
            .chain(&self.notes)
    }

    /// Whether the closure is complete: no problem is an error.
    pub fn complete(&self) -> bool {
        !self.problems().any(Problem::is_error)
    }
}

/// Why nothing was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The closure of a platform (its spec name, if any) is incomplete and the job does
    /// not allow missing files.
    Incomplete { platform: Option<String> },
    /// A bundle never leaves a library out.
    IncompleteBundle,
}

/// A bundle as written.
#[derive(Debug)]
pub struct WrittenBundle {
    pub path: PathBuf,
    pub info: BundleInfo,
    /// The tarball's digests (None for a directory).
    pub tarball: Option<LayerInfo>,
}

/// What was written, each with its digests.
#[derive(Debug, Default)]
pub struct Written {
    pub layer: Option<(super::LayerDest, LayerInfo)>,
    /// The tree and its number of entries.
    pub rootfs: Option<(PathBuf, usize)>,
    pub dockerfile: Option<(PathBuf, LayerInfo)>,
    pub oci: Option<(PathBuf, Vec<WrittenImage>)>,
    pub oci_archive: Option<(PathBuf, Vec<WrittenImage>)>,
    pub sboms: Vec<SbomInfo>,
    pub bundle: Option<WrittenBundle>,
}

/// What a run returns.
#[derive(Debug)]
pub struct Outcome {
    /// One per platform made (a refused `build` stops at the first incomplete one).
    pub made: Vec<Made>,
    /// Set when nothing was written because the closure is incomplete.
    pub refused: Option<Refusal>,
    pub written: Written,
    /// The reduction report (`report`, `pack --report`).
    pub report: Option<Report>,
}

impl Outcome {
    /// The one decision on completeness: every platform's closure is complete.
    pub fn complete(&self) -> bool {
        self.made.iter().all(Made::complete)
    }

    /// Every problem, platform by platform.
    pub fn problems(&self) -> impl Iterator<Item = &Problem> {
        self.made.iter().flat_map(Made::problems)
    }
}
