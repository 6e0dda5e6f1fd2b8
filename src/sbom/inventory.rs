//! What an SBOM of the layer lists, independent of the format: the packages that own
//! regular files of the layer (with purl and license), every regular file with its
//! digests and owner, and the document's identity. `spdx.rs` and `cyclonedx.rs` only
//! render this.
//!
//! Determinism: packages come in the database's order (manager, name, arch, version),
//! files sorted by path, the time is SOURCE_DATE_EPOCH, and the document's UUID is derived
//! from the content (name, purls, every path with its sha256), so the same layer gives
//! the same bytes and another layer another UUID.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::attribute::{Attribution, Made, Meta, Owner, Unowned};
use super::digests::FileDigest;
use super::license::{self, SpdxLicense};
use super::{Database, Distro, Manager, purl};
use crate::plan::Plan;

/// One package of the SBOM.
#[derive(Clone, Debug)]
pub struct InvPackage {
    pub manager: Manager,
    pub name: String,
    pub version: String,
    pub arch: String,
    pub source: Option<String>,
    pub purl: String,
    pub license: Option<SpdxLicense>,
}

/// Who a file of the SBOM belongs to (package indices into `Inventory::packages`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileOwner {
    Packages(Vec<usize>),
    Metadata {
        package: usize,
        what: Meta,
    },
    /// Listed by no package, made at install time from the package `from` (`name
    /// version`, with its purl), which is `package` when the SBOM lists it (it has own
    /// files in the layer). A package is never listed for its generated files alone:
    /// the SBOM's packages are those whose files, and database entries, are in the layer.
    Generated {
        package: Option<usize>,
        from: String,
        purl: String,
        made: Made,
    },
    Unowned(Unowned),
}

/// One regular file of the layer.
#[derive(Clone, Debug)]
pub struct InvFile {
    /// Absolute path in the layer.
    pub path: String,
    pub digest: FileDigest,
    pub owner: FileOwner,
    /// Why it is in the layer (the plan's reason, rendered).
    pub why: String,
    /// Its canonical path in the root, when it comes from there.
    pub source: Option<String>,
}

impl InvFile {
    /// One sentence on where the file comes from, for SBOM comments and the report.
    pub fn explain(&self, inv: &Inventory) -> String {
        let name = |i: &usize| {
            inv.packages
                .get(*i)
                .map(|p| format!("{} {}", p.name, p.version))
                .unwrap_or_default()
        };
        match &self.owner {
            FileOwner::Packages(v) => format!(
                "from package {}; in the layer as: {}",
                v.iter().map(name).collect::<Vec<_>>().join(", "),
                self.why
            ),
            FileOwner::Metadata {
                package,
                what: Meta::PackageDb,
            } => format!(
                "package database entry of {}, written by minroot",
                name(package)
            ),
            FileOwner::Metadata {
                package,
                what: Meta::Copyright,
            } => match &self.source {
                Some(s) => format!("copyright file of {} (in the root at {s})", name(package)),
                None => format!("copyright file of {}", name(package)),
            },
            FileOwner::Generated {
                from, purl, made, ..
            } => format!(
                "{}; {} ({purl}); in the layer as: {}",
                Unowned::NotListed.label(),
                made.label(from),
                self.why
            ),
            FileOwner::Unowned(u) => format!("{}; in the layer as: {}", u.label(), self.why),
        }
    }
}

/// Everything an SBOM says.
#[derive(Clone, Debug)]
pub struct Inventory {
    pub name: String,
    /// SOURCE_DATE_EPOCH.
    pub created: u64,
    pub distro: Distro,
    /// "dpkg", "apk", or None when the root has no package database.
    pub database: Option<String>,
    pub packages: Vec<InvPackage>,
    pub files: Vec<InvFile>,
    /// A UUID derived from the content.
    pub uuid: String,
    /// The image the layer was made from (`NAME@DIGEST`), when it was.
    pub base: Option<String>,
}

/// The minroot version written as the SBOM's creator tool.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

impl Inventory {
    /// Builds the inventory of `plan`. `digests` has every regular file of the plan.
    pub fn new(
        name: &str,
        created: u64,
        db: Option<&Database>,
        plan: &Plan,
        attribution: &Attribution,
        digests: &BTreeMap<String, FileDigest>,
    ) -> Inventory {
        let mut wanted = attribution.packages.clone();
        for o in attribution.owners.values() {
            if let Owner::Metadata { package, .. } = o {
                wanted.insert(*package);
            }
        }
        let mut index: BTreeMap<usize, usize> = BTreeMap::new();
        let mut packages = Vec::new();
        if let Some(db) = db {
            for &i in &wanted {
                let p = &db.packages[i];
                index.insert(i, packages.len());
                packages.push(InvPackage {
                    manager: p.manager,
                    name: p.name.clone(),
                    version: p.version.clone(),
                    arch: p.arch.clone(),
                    source: p.source.clone(),
                    purl: purl::purl(
                        p.manager,
                        &db.distro,
                        &p.name,
                        &p.version,
                        &p.arch,
                        p.source.as_deref(),
                    ),
                    license: p.license.as_deref().map(license::to_spdx),
                });
            }
        }
        let mut files = Vec::new();
        for (key, d) in digests {
            let Some(e) = plan.entries().get(key) else {
                continue;
            };
            let owner = match attribution.owners.get(key) {
                Some(Owner::Packages(v)) => {
                    let v: Vec<usize> = v.iter().filter_map(|i| index.get(i).copied()).collect();
                    if v.is_empty() {
                        FileOwner::Unowned(Unowned::NotListed)
                    } else {
                        FileOwner::Packages(v)
                    }
                }
                Some(Owner::Metadata { package, what }) => match index.get(package) {
                    Some(&p) => FileOwner::Metadata {
                        package: p,
                        what: *what,
                    },
                    None => FileOwner::Unowned(Unowned::NotListed),
                },
                Some(Owner::Generated { package, made }) => match db {
                    Some(db) => {
                        let p = &db.packages[*package];
                        FileOwner::Generated {
                            package: index.get(package).copied(),
                            from: format!("{} {}", p.name, p.version),
                            purl: purl::purl(
                                p.manager,
                                &db.distro,
                                &p.name,
                                &p.version,
                                &p.arch,
                                p.source.as_deref(),
                            ),
                            made: made.clone(),
                        }
                    }
                    None => FileOwner::Unowned(Unowned::NoDatabase),
                },
                Some(Owner::Unowned(u)) => FileOwner::Unowned(*u),
                None => FileOwner::Unowned(if db.is_some() {
                    Unowned::NotListed
                } else {
                    Unowned::NoDatabase
                }),
            };
            files.push(InvFile {
                path: format!("/{key}"),
                digest: d.clone(),
                owner,
                why: e.reason.to_string(),
                source: e.source.clone(),
            });
        }
        let mut h = Sha256::new();
        h.update(name.as_bytes());
        h.update(b"\n");
        for p in &packages {
            h.update(p.purl.as_bytes());
            h.update(b"\n");
        }
        for f in &files {
            h.update(f.path.as_bytes());
            h.update(b"\0");
            h.update(f.digest.sha256.as_bytes());
            h.update(b"\n");
        }
        let uuid = uuid_from(&h.finalize());
        Inventory {
            name: name.to_string(),
            created,
            distro: db.map(|d| d.distro.clone()).unwrap_or_default(),
            database: db.map(Database::managers),
            packages,
            files,
            uuid,
            base: None,
        }
    }

    /// Files of package `p` (its own files, not metadata), in path order.
    pub fn files_of(&self, p: usize) -> impl Iterator<Item = (usize, &InvFile)> {
        self.files
            .iter()
            .enumerate()
            .filter(move |(_, f)| matches!(&f.owner, FileOwner::Packages(v) if v.contains(&p)))
    }

    /// Every `LicenseRef-` used by a package, with the declared name it stands for.
    pub fn license_refs(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        for p in &self.packages {
            if let Some(l) = &p.license {
                for (k, v) in &l.refs {
                    m.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        m
    }
}

/// A UUID from the first 16 bytes of a digest, with the version and variant bits of a
/// name-based UUID (RFC 9562 version 5, variant 10x): what makes it a UUID validators
/// accept; the content hash gives the rest. The hash is SHA-256, not the SHA-1 of a true
/// version 5, but version 5 is what minroot has always written, so the same layer keeps
/// its UUID.
pub fn uuid_from(digest: &[u8]) -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    uuid::Builder::from_bytes(b)
        .with_variant(uuid::Variant::RFC4122)
        .with_version(uuid::Version::Sha1)
        .into_uuid()
        .hyphenated()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_layout() {
        let u = uuid_from(&Sha256::digest(b"x"));
        assert_eq!(u.len(), 36);
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('5'));
        assert!("89ab".contains(&parts[3][..1]));
        assert_eq!(u, uuid_from(&Sha256::digest(b"x")), "deterministic");
        assert_ne!(u, uuid_from(&Sha256::digest(b"y")));
    }

    /// The bits the hand-written version set (byte 6 high nibble 5, byte 8 top bits 10),
    /// worked out by hand for sha256("x") = 2d711642b726b044 0162...: `b044` -> `5044`,
    /// `0162` -> `8162`. SBOMs of the same layer keep their UUID.
    #[test]
    fn uuid_same_as_before() {
        assert_eq!(
            uuid_from(&Sha256::digest(b"x")),
            "2d711642-b726-5044-8162-7ca9fbac32f5"
        );
    }
}
