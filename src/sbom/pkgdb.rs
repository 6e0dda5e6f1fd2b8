//! What the layer carries so that scanners reading package databases (Trivy, Grype,
//! Syft, ...) find its packages: for each package that owns a regular file of the layer,
//!
//! - dpkg: `/var/lib/dpkg/status.d/<pkg>`, the root's status paragraph with `Conffiles`
//!   trimmed to the layer, and `status.d/<pkg>.md5sums`, the package's md5sums trimmed to
//!   the files in the layer (distroless's layout: one file per package, so a layer on top
//!   of another adds its own without rewriting a shared `status`);
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
use super::{Database, Manager, Record, apk, is_file, license};
use crate::plan::{Content, Plan};
use crate::reason::Reason;
use crate::sysroot::Root;

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

/// Whether the path a package lists (absolute, as listed) is in the layer, matched on
/// its canonical path in the root (not following the last component).
pub fn in_layer(root: &Root, plan: &Plan, listed: &str) -> bool {
    let Ok(Some((canonical, _))) = root.resolve_nofollow(listed) else {
        return false;
    };
    plan.entries()
        .get(canonical.trim_start_matches('/'))
        .is_some_and(|e| !matches!(e.content, Content::Dir))
}

/// The paragraph with `Conffiles` lines of files not in the layer removed (the field
/// goes when none is left).
pub fn trim_paragraph(p: &Paragraph, keep: &dyn Fn(&str) -> bool) -> Paragraph {
    let mut out = p.clone();
    out.fields.retain_mut(|f| {
        if !f.name.eq_ignore_ascii_case("Conffiles") {
            return true;
        }
        f.cont
            .retain(|l| l.split_whitespace().next().is_some_and(keep));
        !f.cont.is_empty()
    });
    out
}

/// The package-db entries and copyright files for the packages of `attribution`.
pub fn additions(
    root: &Root,
    db: &Database,
    plan: &Plan,
    attribution: &Attribution,
    opts: PkgDbOptions,
) -> Additions {
    let mut add = Additions::default();
    let keep = |listed: &str| in_layer(root, plan, listed);
    let mut apk_records = String::new();
    let mut apk_names = Vec::new();
    for &i in &attribution.packages {
        let p = &db.packages[i];
        let key = package_key(db, i);
        if opts.package_db {
            match &p.record {
                Record::Deb { paragraph, md5sums } => {
                    let para = trim_paragraph(paragraph, &keep);
                    add.data.push((
                        format!("{STATUS_D}/{key}"),
                        para.write().into_bytes(),
                        Reason::PackageDb {
                            package: key.clone(),
                        },
                    ));
                    let sums: String = md5sums
                        .iter()
                        .filter(|(_, path)| keep(&format!("/{path}")))
                        .map(|(sum, path)| format!("{sum}  {path}\n"))
                        .collect();
                    if !sums.is_empty() {
                        add.data.push((
                            format!("{STATUS_D}/{key}.md5sums"),
                            sums.into_bytes(),
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
        add.data.push((
            apk::INSTALLED.to_string(),
            apk_records.into_bytes(),
            Reason::PackageDb {
                package: apk_names.join(", "),
            },
        ));
    }
    add
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
        let t = trim_paragraph(p, &|f| f.starts_with("/etc/nginx"));
        assert_eq!(
            t.write(),
            "Package: nginx-common\nConffiles:\n /etc/nginx/nginx.conf aa\nVersion: 1\n"
        );
        let none = trim_paragraph(p, &|_| false);
        assert_eq!(none.write(), "Package: nginx-common\nVersion: 1\n");
    }
}
