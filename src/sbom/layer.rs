//! The package steps of a job, between planning and writing: read the root's package
//! database, attribute the layer's entries, add the package database entries and
//! copyright files of the packages in it to the plan (before the layer is written: they
//! change its digest), and write SBOM files. What cannot be read is a typed problem for
//! the outcome, never printed here.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::attribute::{self, Attribution};
use super::digests;
use super::inventory::{FileOwner, Inventory};
use super::pkgdb::{self, PkgDbOptions};
use super::{Database, SbomError, cyclonedx, spdx};
use crate::pack::AtomicFile;
use crate::plan::{self, Plan, PlanOptions};
use crate::problem::Problem;
use crate::sysroot::Root;

/// An SBOM format, chosen by the output file's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SbomFormat {
    /// SPDX 2.3 JSON.
    Spdx,
    /// CycloneDX 1.5 JSON.
    CycloneDx,
}

/// For people: `SPDX 2.3`, `CycloneDX 1.5`.
impl std::fmt::Display for SbomFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SbomFormat::Spdx => "SPDX 2.3",
            SbomFormat::CycloneDx => "CycloneDX 1.5",
        })
    }
}

impl SbomFormat {
    /// `.spdx.json` is SPDX, `.cdx.json` CycloneDX; anything else is not an SBOM name.
    pub fn from_path(p: &Path) -> Option<SbomFormat> {
        let name = p.file_name()?.to_string_lossy();
        if name.ends_with(".spdx.json") {
            Some(SbomFormat::Spdx)
        } else if name.ends_with(".cdx.json") {
            Some(SbomFormat::CycloneDx)
        } else {
            None
        }
    }
}

/// The root's packages and the owner of every entry of the layer.
#[derive(Debug)]
pub struct Packages {
    pub db: Option<Database>,
    pub attribution: Attribution,
}

/// Why the package step failed (an SBOM or report was asked for and the database cannot
/// be read, or an SBOM cannot be written).
#[derive(Debug, thiserror::Error)]
pub enum PackagesError {
    #[error("reading the root's package database: {0}")]
    Database(#[source] SbomError),
    #[error("hashing the layer's files: {0}")]
    Digest(#[source] SbomError),
    #[error("--sbom {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Reads the package database, adds the package-db entries and copyright files of the
/// packages in the layer to `plan` (as `opts` says; `plan_opts` are the plan's own, for
/// owners), and attributes every entry. A database that cannot be read is an error when
/// `required` (an SBOM or a report was asked for), else a warning and the layer goes
/// without package metadata. Problems go to `problems`.
pub fn attribute_layer(
    root: &Root,
    plan: &mut Plan,
    plan_opts: &PlanOptions,
    opts: PkgDbOptions,
    required: bool,
    problems: &mut Vec<Problem>,
) -> Result<Packages, PackagesError> {
    let db = match Database::read(root) {
        Ok(db) => db,
        Err(e) if required => return Err(PackagesError::Database(e)),
        Err(e) => {
            problems.push(Problem::PackageDbUnreadable {
                error: e.to_string(),
            });
            None
        }
    };
    let Some(mut db) = db else {
        if required {
            problems.push(Problem::NoPackageDb);
        }
        let attribution = attribute::attribute(root, None, plan);
        return Ok(Packages {
            db: None,
            attribution,
        });
    };
    problems.extend(
        db.warnings
            .iter()
            .map(|w| Problem::PackageDb { warning: w.clone() }),
    );
    // The names attribution will ask about, now and once the copyright files are added:
    // the lists are scanned once.
    let mut names = attribute::asked_names(plan);
    if opts.copyright {
        names.extend(pkgdb::added_names(&db).map(str::to_string));
    }
    db.index_names(&names);
    let mut attribution = attribute::attribute(root, Some(&db), plan);
    if opts.package_db || opts.copyright {
        match pkgdb::additions(root, &db, plan, &attribution, opts) {
            Ok(add) => {
                plan::extend(root, plan, plan_opts, &add.paths, &add.data);
                db.index_names(attribute::asked_names(plan));
                attribution = attribute::attribute(root, Some(&db), plan);
            }
            // As for a database that cannot be read at all: the layer goes without
            // package metadata, or the job fails when an SBOM or report needs it.
            Err(e) if required => return Err(PackagesError::Database(e)),
            Err(e) => problems.push(Problem::PackageDbUnreadable {
                error: e.to_string(),
            }),
        }
    }
    db.read_licenses(root, attribution.packages.iter().copied());
    Ok(Packages {
        db: Some(db),
        attribution,
    })
}

/// What was written.
#[derive(Clone, Debug, Serialize)]
pub struct SbomInfo {
    pub path: String,
    pub format: SbomFormat,
    pub packages: usize,
    pub files: usize,
    pub unattributed: usize,
}

/// Writes the SBOMs of the layer (each atomically), named `name`, timestamped `created`.
pub fn write_sboms(
    outs: &[(PathBuf, SbomFormat)],
    name: &str,
    base: Option<&str>,
    plan: &Plan,
    packages: &Packages,
    created: u64,
) -> Result<Vec<SbomInfo>, PackagesError> {
    let digests = digests::digest_plan(plan).map_err(PackagesError::Digest)?;
    let mut inv = Inventory::new(
        name,
        created,
        packages.db.as_ref(),
        plan,
        &packages.attribution,
        &digests,
    );
    inv.base = base.map(String::from);
    outs.iter()
        .map(|(out, format)| {
            write_one(out, *format, &inv).map_err(|source| PackagesError::Write {
                path: out.display().to_string(),
                source,
            })
        })
        .collect()
}

fn write_one(out: &Path, format: SbomFormat, inv: &Inventory) -> std::io::Result<SbomInfo> {
    let bytes = match format {
        SbomFormat::Spdx => spdx::to_bytes(inv),
        SbomFormat::CycloneDx => cyclonedx::to_bytes(inv),
    };
    let tmp = AtomicFile::create(out)?;
    let mut f = tmp.file()?;
    f.write_all(&bytes).and_then(|_| f.sync_all())?;
    drop(f);
    tmp.commit()?;
    Ok(SbomInfo {
        path: out.to_string_lossy().into_owned(),
        format,
        packages: inv.packages.len(),
        files: inv.files.len(),
        unattributed: inv
            .files
            .iter()
            .filter(|f| matches!(f.owner, FileOwner::Unowned(_)))
            .count(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_the_name() {
        assert_eq!(
            SbomFormat::from_path(Path::new("out/x.spdx.json")),
            Some(SbomFormat::Spdx)
        );
        assert_eq!(
            SbomFormat::from_path(Path::new("x.cdx.json")),
            Some(SbomFormat::CycloneDx)
        );
        assert_eq!(SbomFormat::from_path(Path::new("x.json")), None);
        assert_eq!(SbomFormat::from_path(Path::new("x.spdx")), None);
    }
}
