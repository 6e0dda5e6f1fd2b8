//! The package steps of `pack`, `report` and `build`, between planning and writing:
//! read the root's package database, attribute the layer's entries, add the package
//! database entries and copyright files of the packages in it (before the layer is
//! written: they change its digest), and write the SBOM file. Rendering the report is
//! `report.rs`'s job; the work itself is the library's (`crate::sbom`).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::layer::Layer;
use crate::pack::AtomicFile;
use crate::plan;
use crate::sbom::attribute::{self, Attribution};
use crate::sbom::digests;
use crate::sbom::inventory::Inventory;
use crate::sbom::pkgdb::{self, PkgDbOptions};
use crate::sbom::{Database, cyclonedx, spdx};

/// An SBOM format, chosen by the output file's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SbomFormat {
    /// SPDX 2.3 JSON.
    Spdx,
    /// CycloneDX 1.5 JSON.
    CycloneDx,
}

impl SbomFormat {
    /// `.spdx.json` is SPDX, `.cdx.json` CycloneDX; anything else is an error.
    pub fn from_path(p: &Path) -> Result<SbomFormat> {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        if name.ends_with(".spdx.json") {
            Ok(SbomFormat::Spdx)
        } else if name.ends_with(".cdx.json") {
            Ok(SbomFormat::CycloneDx)
        } else {
            bail!(
                "--sbom {}: name the file *.spdx.json (SPDX 2.3) or *.cdx.json (CycloneDX 1.5)",
                p.display()
            )
        }
    }
}

/// The root's packages and the owner of every entry of the layer.
pub struct Packages {
    pub db: Option<Database>,
    pub attribution: Attribution,
}

/// Reads the package database, adds the package-db entries and copyright files of the
/// packages in the layer to its plan (as `opts` says), and attributes every entry.
/// A database that cannot be read is an error when `required` (an SBOM or a report was
/// asked for), else a warning and the layer goes without package metadata.
pub fn attribute_layer(layer: &mut Layer, opts: PkgDbOptions, required: bool) -> Result<Packages> {
    let root = layer.session.root.clone();
    let db = match Database::read(&root) {
        Ok(db) => db,
        Err(e) if required => {
            return Err(e).context("reading the root's package database");
        }
        Err(e) => {
            eprintln!(
                "minroot: warning: the root's package database: {e}; the layer gets no package metadata"
            );
            None
        }
    };
    let Some(mut db) = db else {
        if required {
            eprintln!(
                "minroot: note: the root has no package database (dpkg or apk): no file is attributed to a package"
            );
        }
        let attribution = attribute::attribute(&root, None, &layer.plan);
        return Ok(Packages {
            db: None,
            attribution,
        });
    };
    for w in &db.warnings {
        eprintln!("minroot: warning: {w}");
    }
    let mut attribution = attribute::attribute(&root, Some(&db), &layer.plan);
    if opts.package_db || opts.copyright {
        let add = pkgdb::additions(&root, &db, &layer.plan, &attribution, opts);
        plan::extend(
            &root,
            &mut layer.plan,
            &layer.plan_options,
            &add.paths,
            &add.data,
        );
        attribution = attribute::attribute(&root, Some(&db), &layer.plan);
    }
    db.read_licenses(&root, attribution.packages.iter().copied());
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

/// Writes the SBOMs of the layer (each atomically), timestamped `created`.
pub fn write_sboms(
    outs: &[(PathBuf, SbomFormat)],
    layer: &Layer,
    packages: &Packages,
    created: u64,
) -> Result<Vec<SbomInfo>> {
    let digests = digests::digest_plan(&layer.plan).context("hashing the layer's files")?;
    let name = format!("minroot layer of {}", layer.bins.join(" "));
    let inv = Inventory::new(
        &name,
        created,
        packages.db.as_ref(),
        &layer.plan,
        &packages.attribution,
        &digests,
    );
    outs.iter()
        .map(|(out, format)| write_one(out, *format, &inv))
        .collect()
}

fn write_one(out: &Path, format: SbomFormat, inv: &Inventory) -> Result<SbomInfo> {
    let bytes = match format {
        SbomFormat::Spdx => spdx::to_bytes(inv),
        SbomFormat::CycloneDx => cyclonedx::to_bytes(inv),
    };
    let tmp = AtomicFile::create(out).with_context(|| format!("--sbom {}", out.display()))?;
    let mut f = tmp
        .file()
        .with_context(|| format!("writing {}", tmp.path().display()))?;
    f.write_all(&bytes)
        .and_then(|_| f.sync_all())
        .with_context(|| format!("writing {}", tmp.path().display()))?;
    drop(f);
    tmp.commit()
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(SbomInfo {
        path: out.to_string_lossy().into_owned(),
        format,
        packages: inv.packages.len(),
        files: inv.files.len(),
        unattributed: inv
            .files
            .iter()
            .filter(|f| matches!(f.owner, crate::sbom::inventory::FileOwner::Unowned(_)))
            .count(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_the_name() {
        assert_eq!(
            SbomFormat::from_path(Path::new("out/x.spdx.json")).unwrap(),
            SbomFormat::Spdx
        );
        assert_eq!(
            SbomFormat::from_path(Path::new("x.cdx.json")).unwrap(),
            SbomFormat::CycloneDx
        );
        assert!(SbomFormat::from_path(Path::new("x.json")).is_err());
        assert!(SbomFormat::from_path(Path::new("x.spdx")).is_err());
    }
}
