//! What the layer carries so that scanners reading package databases (Trivy, Grype,
//! Syft, ...) find its packages: for each package that owns a regular file of the layer,
//!
//! - dpkg: `/var/lib/dpkg/status.d/<pkg>`, the root's status paragraph with `Conffiles`
//!   trimmed to the layer, and `status.d/<pkg>.md5sums`, the package's md5sums trimmed to
//!   the files in the layer (distroless's layout: one file per package, so a layer on top
//!   of another adds its own without rewriting a shared `status`). Both name each file
//!   where the layer has it, which is not always where the package lists it: coreutils
//!   lists `bin/ls`, which in a usrmerged root is `usr/bin/ls` through `/bin -> usr/bin`,
//!   and a layer of `ls` has no `/bin`. Written as listed, a scanner (or minroot reading
//!   the layer back as a root) would find no package for `/usr/bin/ls`;
//! - apk: `/lib/apk/db/installed` with the records of those packages, their file groups
//!   trimmed to the layer;
//! - the package's copyright file, `/usr/share/doc/<pkg>/copyright` (dpkg), as it is in
//!   the root (through a doc-directory symlink when the package has one).
//!
//! This module only says what to add; the plan adds it (`plan::extend`) before the layer
//! is written, since it changes the layer's digest. The entries carry the typed reasons
//! `PackageDb` and `Copyright`, and the SBOM attributes them to their package.

use super::attribute::{Attribution, package_key};
use super::control::Paragraph;
use super::{Database, Manager, Md5sums, Record, SbomError, apk, dpkg, is_file, license};
use crate::plan::{Content, Plan};
use crate::reason::Reason;
use crate::sysroot::{Root, name};

/// Which metadata to add.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PkgDbOptions {
    pub package_db: bool,
    pub copyright: bool,
}

/// What to add to the plan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Additions {
    /// Paths of the root (absolute) to add with their symlink chains and parents.
    pub paths: Vec<(String, Reason)>,
    /// Generated files: absolute path, bytes, reason.
    pub data: Vec<(String, Vec<u8>, Reason)>,
}

/// Where status.d lives.
pub const STATUS_D: &str = super::dpkg::STATUS_D;

/// Where the layer holds a path a package lists (absolute, as listed), if it does (and
/// not as a directory): its canonical path in the root, not following the last component,
/// which is where the plan put it (`/bin/ls` is `/usr/bin/ls` in a usrmerged root).
pub fn layer_path(root: &Root, plan: &Plan, listed: &str) -> Option<String> {
    let (canonical, _) = root.resolve_nofollow(listed).ok()??;
    plan.entries()
        .get(canonical.trim_start_matches('/'))
        .is_some_and(|e| !matches!(e.content, Content::Dir))
        .then_some(canonical)
}

/// Whether the path a package lists (absolute, as listed) is in the layer ([`layer_path`]).
pub fn in_layer(root: &Root, plan: &Plan, listed: &str) -> bool {
    layer_path(root, plan, listed).is_some()
}

/// The paragraph with `Conffiles` lines of files not in the layer removed (the field
/// goes when none is left) and the others naming the file where the layer has it:
/// `place` gives that path for a listed one, or None when the layer lacks it.
pub fn trim_paragraph(p: &Paragraph, place: &dyn Fn(&str) -> Option<String>) -> Paragraph {
    let mut out = p.clone();
    out.fields.retain_mut(|f| {
        if !f.name.eq_ignore_ascii_case("Conffiles") {
            return true;
        }
        f.cont = f
            .cont
            .iter()
            .filter_map(|l| {
                let start = l.len() - l.trim_start().len();
                let rest = &l[start..];
                let end = start + rest.find(char::is_whitespace).unwrap_or(rest.len());
                let at = place(&l[start..end])?;
                Some(format!("{}{at}{}", &l[..start], &l[end..]))
            })
            .collect();
        !f.cont.is_empty()
    });
    out
}

/// The file names of the paths [`additions`] may add for the packages of `db`, to give
/// [`Database::index_names`] before the layer's first attribution: a copyright file, and
/// its directory `/usr/share/doc/NAME` (often a symlink to another package's).
pub fn added_names(db: &Database) -> impl Iterator<Item = &str> {
    let dirs = db.packages.iter().filter(|p| p.manager == Manager::Deb);
    std::iter::once("copyright").chain(dirs.map(|p| p.name.as_str()))
}

/// The package-db entries and copyright files for the packages of `attribution`. Fails
/// when the md5sums of one of them cannot be read.
pub fn additions(
    root: &Root,
    db: &Database,
    plan: &Plan,
    attribution: &Attribution,
    opts: PkgDbOptions,
) -> Result<Additions, SbomError> {
    let mut add = Additions::default();
    let keep = |listed: &str| in_layer(root, plan, listed);
    let place = |listed: &str| layer_path(root, plan, listed);
    let mut apk_records = String::new();
    let mut apk_names = Vec::new();
    for &i in &attribution.packages {
        let p = &db.packages[i];
        let key = package_key(db, i);
        if opts.package_db {
            match &p.record {
                Record::Deb { paragraph, md5sums } => {
                    let para = trim_paragraph(paragraph, &place);
                    add.data.push((
                        format!("{STATUS_D}/{key}"),
                        name::to_bytes(&para.write()).into_owned(),
                        Reason::PackageDb {
                            package: key.clone(),
                        },
                    ));
                    // Each file once, under its path in the layer, as bytes (a name that
                    // is not UTF-8 is written as it is, `sysroot::name`).
                    let mut sums: Vec<u8> = Vec::new();
                    let mut seen = std::collections::HashSet::new();
                    let in_info;
                    let md5sums = match md5sums {
                        Md5sums::Read(v) => v,
                        Md5sums::InInfo => {
                            in_info = dpkg::info_md5sums(root, &p.name, &p.arch)?;
                            &in_info
                        }
                    };
                    for (sum, path) in md5sums {
                        let Some(at) = place(&format!("/{path}")) else {
                            continue;
                        };
                        if !seen.insert(at.clone()) {
                            continue;
                        }
                        sums.extend_from_slice(sum.as_bytes());
                        sums.extend_from_slice(b"  ");
                        sums.extend_from_slice(&name::to_bytes(at.trim_start_matches('/')));
                        sums.push(b'\n');
                    }
                    if !sums.is_empty() {
                        add.data.push((
                            format!("{STATUS_D}/{key}.md5sums"),
                            sums,
                            Reason::PackageDb {
                                package: key.clone(),
                            },
                        ));
                    }
                }
                Record::Apk { lines } => {
                    apk_records.push_str(&apk::trim(lines, &keep));
                    apk_names.push(key.clone());
                }
            }
        }
        if opts.copyright && p.manager == Manager::Deb {
            let path = license::copyright_path(&p.name);
            if is_file(root, &path) {
                add.paths.push((
                    path,
                    Reason::Copyright {
                        package: key.clone(),
                    },
                ));
            }
        }
    }
    if !apk_records.is_empty() {
        // As bytes, as the dpkg entries above: a file name that is not UTF-8 is written
        // as it is, not as its carriers (`sysroot::name`).
        add.data.push((
            apk::INSTALLED.to_string(),
            name::to_bytes(&apk_records).into_owned(),
            Reason::PackageDb {
                package: apk_names.join(", "),
            },
        ));
    }
    Ok(add)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::control;

    #[test]
    fn conffiles_trimmed_and_dropped_when_empty() {
        let p = &control::parse(
            "Package: nginx-common\nConffiles:\n /etc/nginx/nginx.conf aa\n /etc/logrotate.d/nginx bb\n /etc/ufw/x cc obsolete\nVersion: 1\n",
        )
        .unwrap()[0];
        let t = trim_paragraph(p, &|f| f.starts_with("/etc/nginx").then(|| f.to_string()));
        assert_eq!(
            t.write(),
            "Package: nginx-common\nConffiles:\n /etc/nginx/nginx.conf aa\nVersion: 1\n"
        );
        let moved = trim_paragraph(p, &|f| {
            f.starts_with("/etc/nginx")
                .then(|| f.replace("/etc/", "/usr/etc/"))
        });
        assert_eq!(
            moved.write(),
            "Package: nginx-common\nConffiles:\n /usr/etc/nginx/nginx.conf aa\nVersion: 1\n",
            "named where the layer has it"
        );
        let none = trim_paragraph(p, &|_| None);
        assert_eq!(none.write(), "Package: nginx-common\nVersion: 1\n");
    }
}
