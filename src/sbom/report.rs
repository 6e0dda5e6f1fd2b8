//! The reduction report: the root against the layer. Packages, files and bytes in both,
//! which packages are left and what each contributes, what is in the layer without a
//! package, and the attack-surface facts distroless images are judged on: shells,
//! package managers, setuid and setgid files, files with capabilities.
//!
//! The sets, the same for the root (or source image) and the layer:
//! - a shell is a file or symlink named one of [`SHELLS`] in a directory named `bin` or
//!   `sbin` (`/usr/bin/sh -> dash` is a shell, and so is `/usr/bin/busybox`, which holds
//!   one); a package manager likewise, named one of [`PACKAGE_MANAGERS`] or `pipX.Y`.
//!   `/etc/cron.daily/dpkg` is neither: only what a PATH lookup could start counts;
//! - a setuid (setgid) file is a regular file with mode bit 04000 (02000); a file with
//!   capabilities has a `security.capability` extended attribute.
//!
//! A directory symlink is not followed (usrmerge's `/bin -> usr/bin` does not count
//! `/bin/sh` again). Files and bytes of the root count each inode once (hard links are
//! one file), as the layer does. For the root, the paths of each set are kept too
//! (`root_surface_paths`): for a source image, what the minimisation removed. This
//! module computes; `cli/report.rs` renders.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;

use serde::Serialize;

use super::attribute::{Attribution, Owner, Unowned};
use super::{Database, SbomError};
use crate::plan::{Content, Plan, XATTR_CAPS};
use crate::progress::{Progress, Stage};
use crate::sysroot::Root;

/// Names of shells (and multi-call binaries that contain one).
pub const SHELLS: &[&str] = &[
    "sh", "bash", "rbash", "dash", "ash", "zsh", "ksh", "ksh93", "mksh", "pdksh", "csh", "tcsh",
    "fish", "yash", "busybox", "toybox",
];

/// Names of package managers and language package installers.
pub const PACKAGE_MANAGERS: &[&str] = &[
    "dpkg",
    "dpkg-deb",
    "dpkg-query",
    "apt",
    "apt-get",
    "apt-cache",
    "aptitude",
    "apk",
    "rpm",
    "yum",
    "dnf",
    "microdnf",
    "tdnf",
    "zypper",
    "pacman",
    "pip",
    "pip3",
    "pipx",
    "easy_install",
    "gem",
    "npm",
    "yarn",
];

/// A count in the root and in the layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub root: u64,
    pub layer: u64,
}

/// A package with regular files in the layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LayerPackage {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub files: u64,
    pub bytes: u64,
}

/// A regular file of the layer that no package owns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnownedFile {
    pub path: String,
    pub why: String,
    pub reason: String,
    /// The package it was made from at install time (the CA bundle: ca-certificates,
    /// whose maintainer script runs update-ca-certificates; a `.pyc`: its source's), as
    /// the SBOMs name it (`sbom::attribute::Owner::Generated`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_by: Option<String>,
}

/// Attack-surface findings, as paths (layer) or counts (root).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Surface<T> {
    pub shells: T,
    pub package_managers: T,
    pub setuid: T,
    pub setgid: T,
    pub capabilities: T,
}

/// Everything the report says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// "dpkg", "apk", or None when the root has no package database.
    pub database: Option<String>,
    pub distro: Option<String>,
    pub packages: Counts,
    pub files: Counts,
    pub bytes: Counts,
    pub layer_packages: Vec<LayerPackage>,
    pub unowned: Vec<UnownedFile>,
    pub layer_surface: Surface<Vec<String>>,
    pub root_surface: Surface<u64>,
    /// The root's sets as paths (what `root_surface` counts).
    pub root_surface_paths: Surface<Vec<String>>,
    pub warnings: Vec<String>,
    /// What probe records added beyond the static closure and the runtimes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeAdded>,
    /// The image the root was (`NAME@DIGEST`), when it was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// What probe records added to the layer, and what their runs looked for in vain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ProbeAdded {
    /// Entries whose only reason is a probe, and the bytes of their files.
    pub entries: u64,
    pub files: u64,
    pub bytes: u64,
    /// Paths the runs looked for and did not find (hints: a file the program would use
    /// if it were there), sorted.
    pub missing: Vec<String>,
}

impl ProbeAdded {
    /// What `plan` holds because of a probe, with the runs' `missing` paths.
    pub fn of(plan: &Plan, missing: Vec<String>) -> ProbeAdded {
        let mut p = ProbeAdded {
            missing,
            ..ProbeAdded::default()
        };
        for e in plan.entries().values() {
            if matches!(e.reason, crate::reason::Reason::Probe { .. }) {
                p.entries += 1;
                if matches!(e.content, Content::File { .. } | Content::Data(_)) {
                    p.files += 1;
                    p.bytes += e.size();
                }
            }
        }
        p
    }
}

/// What a walk of the root found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RootScan {
    pub files: u64,
    pub bytes: u64,
    pub surface: Surface<u64>,
    /// The same sets as paths (absolute, sorted).
    pub paths: Surface<Vec<String>>,
}

/// Whether `name` is a package manager (also `pip3.11`).
pub fn is_package_manager(name: &str) -> bool {
    PACKAGE_MANAGERS.contains(&name)
        || name
            .strip_prefix("pip")
            .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
}

/// Whether the path's directory is a `bin` or `sbin` (`usr/bin/sh`, `/usr/local/sbin/x`).
fn on_path_dir(path: &str) -> bool {
    let mut parts = path.trim_end_matches('/').rsplit('/');
    parts.next();
    matches!(parts.next(), Some("bin" | "sbin"))
}

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Walks the root (one file system, links not followed).
pub fn scan_root(root: &Root, progress: &dyn Progress) -> Result<RootScan, SbomError> {
    progress.begin(Stage::Root, None);
    let s = walk_root(root, progress);
    progress.end();
    s
}

fn walk_root(root: &Root, progress: &dyn Progress) -> Result<RootScan, SbomError> {
    let host = root.host_dir();
    let mut s = RootScan::default();
    let mut seen: HashSet<(u64, u64)> = HashSet::new();
    for e in walkdir::WalkDir::new(host)
        .follow_links(false)
        .same_file_system(true)
    {
        let e = match e {
            Ok(e) => e,
            // An unreadable directory of the root is not the layer's business.
            Err(_) => continue,
        };
        let ft = e.file_type();
        let rel = e.path().strip_prefix(host).unwrap_or(e.path());
        let rel = rel.to_string_lossy();
        let path = format!("/{rel}");
        if (ft.is_file() || ft.is_symlink()) && on_path_dir(&rel) {
            let name = base(&rel);
            if SHELLS.contains(&name) {
                s.paths.shells.push(path.clone());
            }
            if is_package_manager(name) {
                s.paths.package_managers.push(path.clone());
            }
        }
        if !ft.is_file() {
            continue;
        }
        progress.add(1);
        let Ok(m) = e.metadata() else { continue };
        if seen.insert((m.dev(), m.ino())) {
            s.files += 1;
            s.bytes += m.len();
        }
        if m.mode() & 0o4000 != 0 {
            s.paths.setuid.push(path.clone());
        }
        if m.mode() & 0o2000 != 0 {
            s.paths.setgid.push(path.clone());
        }
        if matches!(xattr::get(e.path(), XATTR_CAPS), Ok(Some(_))) {
            s.paths.capabilities.push(path);
        }
    }
    let p = &mut s.paths;
    for v in [
        &mut p.shells,
        &mut p.package_managers,
        &mut p.setuid,
        &mut p.setgid,
        &mut p.capabilities,
    ] {
        v.sort();
    }
    s.surface = Surface {
        shells: p.shells.len() as u64,
        package_managers: p.package_managers.len() as u64,
        setuid: p.setuid.len() as u64,
        setgid: p.setgid.len() as u64,
        capabilities: p.capabilities.len() as u64,
    };
    Ok(s)
}

/// The attack surface of the layer, as paths (absolute, sorted).
pub fn layer_surface(plan: &Plan) -> Surface<Vec<String>> {
    let mut s: Surface<Vec<String>> = Surface::default();
    for (k, e) in plan.entries() {
        // For people: a name that is not UTF-8 is shown `\xNN`.
        let path = format!("/{}", crate::sysroot::name::shown(k));
        let file = matches!(
            e.content,
            Content::File { .. } | Content::Hardlink(_) | Content::Data(_)
        );
        if (file || matches!(e.content, Content::Symlink(_))) && on_path_dir(k) {
            if SHELLS.contains(&base(k)) {
                s.shells.push(path.clone());
            }
            if is_package_manager(base(k)) {
                s.package_managers.push(path.clone());
            }
        }
        if !file {
            continue;
        }
        if e.mode & 0o4000 != 0 {
            s.setuid.push(path.clone());
        }
        if e.mode & 0o2000 != 0 {
            s.setgid.push(path.clone());
        }
        if e.xattrs.iter().any(|(n, _)| n == XATTR_CAPS) {
            s.capabilities.push(path);
        }
    }
    s
}

impl Report {
    /// The report of `plan` (attributed) against the root `scan`.
    pub fn new(
        db: Option<&Database>,
        plan: &Plan,
        attribution: &Attribution,
        scan: &RootScan,
    ) -> Report {
        let mut layer_packages = Vec::new();
        if let Some(db) = db {
            for &i in &attribution.packages {
                let p = &db.packages[i];
                let (mut files, mut bytes) = (0, 0);
                for (k, o) in &attribution.owners {
                    if matches!(o, Owner::Packages(v) if v.contains(&i))
                        && let Some(e) = plan.entries().get(k)
                        && matches!(e.content, Content::File { .. } | Content::Data(_))
                    {
                        files += 1;
                        bytes += e.size();
                    }
                }
                layer_packages.push(LayerPackage {
                    name: p.name.clone(),
                    version: p.version.clone(),
                    arch: p.arch.clone(),
                    files,
                    bytes,
                });
            }
        }
        let mut unowned = Vec::new();
        for (k, o) in &attribution.owners {
            // Files made at install time are listed by no package either: they stay in
            // this list, saying what they were made from.
            let (why, generated_by) = match o {
                Owner::Unowned(u) => (Unowned::label(*u).to_string(), None),
                Owner::Generated { package, made } => {
                    let name = db.map(|d| d.packages[*package].name.clone());
                    (made.label(name.as_deref().unwrap_or("?")), name)
                }
                _ => continue,
            };
            let Some(e) = plan.entries().get(k) else {
                continue;
            };
            if !matches!(
                e.content,
                Content::File { .. } | Content::Data(_) | Content::Hardlink(_)
            ) {
                continue;
            }
            unowned.push(UnownedFile {
                path: format!("/{}", crate::sysroot::name::shown(k)),
                why: crate::sysroot::name::shown(&why).into_owned(),
                reason: crate::sysroot::name::shown(&e.reason.to_string()).into_owned(),
                generated_by,
            });
        }
        Report {
            database: db.map(Database::managers),
            distro: db.and_then(|d| d.distro.pretty_name.clone()),
            packages: Counts {
                root: db.map(|d| d.packages.len() as u64).unwrap_or(0),
                layer: attribution.packages.len() as u64,
            },
            files: Counts {
                root: scan.files,
                layer: plan.file_count() as u64,
            },
            bytes: Counts {
                root: scan.bytes,
                layer: plan.content_bytes(),
            },
            layer_packages,
            unowned,
            layer_surface: layer_surface(plan),
            root_surface: scan.surface.clone(),
            root_surface_paths: scan.paths.clone(),
            warnings: db.map(|d| d.warnings.clone()).unwrap_or_default(),
            probe: None,
            image: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_package_manager("pip3.11"));
        assert!(is_package_manager("apt-get"));
        assert!(!is_package_manager("pipe"));
        assert!(!is_package_manager("pip-"));
        assert!(on_path_dir("usr/bin/sh"));
        assert!(on_path_dir("/usr/local/sbin/x"));
        assert!(!on_path_dir("etc/cron.daily/dpkg"));
        assert!(!on_path_dir("sh"));
    }

    #[test]
    fn root_scan_counts_inodes_once_and_finds_the_surface() {
        use std::os::unix::fs::{PermissionsExt, symlink};
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::create_dir_all(d.join("usr/bin")).unwrap();
        std::fs::create_dir_all(d.join("etc/cron.daily")).unwrap();
        std::fs::write(d.join("usr/bin/dash"), b"12345").unwrap();
        symlink("dash", d.join("usr/bin/sh")).unwrap();
        std::fs::write(d.join("usr/bin/dpkg"), b"1").unwrap();
        std::fs::write(d.join("etc/cron.daily/dpkg"), b"1").unwrap();
        std::fs::hard_link(d.join("usr/bin/dash"), d.join("usr/bin/dash2")).unwrap();
        std::fs::write(d.join("usr/bin/su"), b"1").unwrap();
        std::fs::set_permissions(
            d.join("usr/bin/su"),
            std::fs::Permissions::from_mode(0o4755),
        )
        .unwrap();
        let root = Root::new(d).unwrap();
        let s = scan_root(&root, &crate::progress::Silent).unwrap();
        assert_eq!(s.files, 4, "dash and its hard link are one file");
        assert_eq!(s.bytes, 5 + 1 + 1 + 1);
        assert_eq!(s.surface.shells, 2, "dash and the sh link");
        assert_eq!(s.surface.package_managers, 1, "not the cron script");
        assert_eq!(s.surface.setuid, 1);
        assert_eq!(s.surface.setgid, 0);
        assert_eq!(s.paths.shells, ["/usr/bin/dash", "/usr/bin/sh"]);
        assert_eq!(s.paths.package_managers, ["/usr/bin/dpkg"]);
        assert_eq!(s.paths.setuid, ["/usr/bin/su"]);
    }
}
