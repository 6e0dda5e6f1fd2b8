//! dpkg's database in a root: which packages are installed and which paths each lists.
//!
//! Two layouts are read, both if present:
//! - a normal Debian/Ubuntu root: `/var/lib/dpkg/status` (one paragraph per package, only
//!   those whose `Status:` state means files are on disk) and the file lists
//!   `/var/lib/dpkg/info/<pkg>.list`, or `<pkg>:<arch>.list` for Multi-Arch: same packages
//!   (libc6 in a multiarch root is `info/libc6:amd64.list`), with `<pkg>[:arch].md5sums`;
//! - distroless: one file per package in `/var/lib/dpkg/status.d/` (`status.d/libc6`, its
//!   paragraph without a `Status:` field) and `status.d/libc6.md5sums` as its file list,
//!   with the paths of its `Conffiles` field: dpkg leaves conffiles out of md5sums (their
//!   sums are in that field), so nginx-common's `/etc/nginx/nginx.conf` is listed there
//!   only. (In a normal root the `.list` file names them.)
//!
//! A package seen in both (same name and architecture) is read once, from `status`. This
//! module reads; writing the layer's own status.d is `pkgdb.rs`'s job.

use super::control::{self, Paragraph};
use super::{DB_LIMIT, FileList, Manager, Md5sums, Package, Record, SbomError};
use crate::sysroot::{Kind, Root};

pub const STATUS: &str = "/var/lib/dpkg/status";
pub const STATUS_D: &str = "/var/lib/dpkg/status.d";
pub const INFO: &str = "/var/lib/dpkg/info";

/// Whether a `Status:` value ("install ok installed") means the package's files are on
/// disk. No `Status:` at all is distroless's status.d: installed.
pub fn files_on_disk(status: Option<&str>) -> bool {
    let Some(s) = status else { return true };
    matches!(
        s.split_whitespace().nth(2),
        Some(
            "installed"
                | "half-configured"
                | "unpacked"
                | "half-installed"
                | "triggers-awaited"
                | "triggers-pending"
        )
    )
}

/// The source package of a `Source:` value: `openssl (3.0.11-1)` is `openssl`.
pub fn source_name(v: &str) -> Option<String> {
    v.split_whitespace().next().map(str::to_string)
}

/// The paths of a paragraph's `Conffiles` field (` /etc/x.conf MD5 [obsolete]` lines).
pub fn conffiles(p: &Paragraph) -> Vec<String> {
    p.field("Conffiles")
        .map(|f| {
            std::iter::once(f.value.as_str())
                .chain(f.cont.iter().map(String::as_str))
                .filter_map(|l| l.split_whitespace().next())
                .filter(|path| path.starts_with('/'))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Lines of an md5sums file: `(md5, path without leading '/')`.
pub fn parse_md5sums(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let (sum, path) = l.split_once(char::is_whitespace)?;
            let path = path.trim_start().trim_start_matches('/');
            (!sum.is_empty() && !path.is_empty()).then(|| (sum.to_string(), path.to_string()))
        })
        .collect()
}

/// The package a paragraph describes, without its files; None (with a warning) when it has
/// no name or version. The package keeps the paragraph (moved, not copied: a Debian host's
/// status file is 800 KB in some 25,000 strings).
fn package_of(p: Paragraph, origin: &str, warnings: &mut Vec<String>) -> Option<Package> {
    let (Some(name), Some(version)) = (p.get("Package"), p.get("Version")) else {
        warnings.push(format!(
            "{origin}: the paragraph at line {} has no Package or Version; skipped",
            p.line
        ));
        return None;
    };
    let source = p.get("Source").and_then(source_name).filter(|s| s != name);
    let (name, version) = (name.to_string(), version.to_string());
    let arch = p.get("Architecture").unwrap_or("").to_string();
    Some(Package {
        manager: Manager::Deb,
        name,
        version,
        arch,
        source,
        license: None,
        files: FileList::default(),
        record: Record::Deb {
            paragraph: p,
            md5sums: Md5sums::InInfo,
        },
    })
}

fn read_text(root: &Root, path: &str) -> Result<Option<String>, SbomError> {
    match root.resolve(path)? {
        Some(r) if r.kind == Kind::File => Ok(Some(root.read_carried(&r.path, DB_LIMIT)?)),
        _ => Ok(None),
    }
}

fn parse_at(root: &Root, path: &str) -> Result<Option<Vec<Paragraph>>, SbomError> {
    let Some(text) = read_text(root, path)? else {
        return Ok(None);
    };
    control::parse(&text)
        .map(Some)
        .map_err(|source| SbomError::Control {
            path: path.to_string(),
            source,
        })
}

/// `info/<name>:<arch>.<ext>`, else `info/<name>.<ext>`.
fn info_file(root: &Root, name: &str, arch: &str, ext: &str) -> Result<Option<String>, SbomError> {
    if !arch.is_empty()
        && let Some(t) = read_text(root, &format!("{INFO}/{name}:{arch}.{ext}"))?
    {
        return Ok(Some(t));
    }
    read_text(root, &format!("{INFO}/{name}.{ext}"))
}

/// Every installed dpkg package of the root. Adds the files read to `sources`.
pub fn read(
    root: &Root,
    sources: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<Vec<Package>, SbomError> {
    let mut out: Vec<Package> = Vec::new();
    if let Some(paragraphs) = parse_at(root, STATUS)? {
        sources.push(STATUS.to_string());
        // The ~2,000 small info files of a root are read in parallel; warnings and
        // packages merge in the status file's order.
        use rayon::prelude::*;
        let read = paragraphs.into_par_iter().map(|p| {
            let mut warnings = Vec::new();
            let pkg = read_installed(root, p, &mut warnings);
            pkg.map(|pkg| (pkg, warnings))
        });
        for r in read.collect::<Vec<_>>() {
            let (pkg, w) = r?;
            warnings.extend(w);
            out.extend(pkg);
        }
    }
    read_status_d(root, sources, warnings, out)
}

/// The md5sums of an installed package of the status file (`info/<name>[:arch].md5sums`;
/// none when it has no such file).
pub fn info_md5sums(
    root: &Root,
    name: &str,
    arch: &str,
) -> Result<Vec<(String, String)>, SbomError> {
    Ok(info_file(root, name, arch, "md5sums")?
        .map(|t| parse_md5sums(&t))
        .unwrap_or_default())
}

/// A package of the status file with its file list, if installed (its md5sums are read
/// when the layer has it: [`info_md5sums`]).
fn read_installed(
    root: &Root,
    p: Paragraph,
    warnings: &mut Vec<String>,
) -> Result<Option<Package>, SbomError> {
    if !files_on_disk(p.get("Status")) {
        return Ok(None);
    }
    let Some(mut pkg) = package_of(p, STATUS, warnings) else {
        return Ok(None);
    };
    match info_file(root, &pkg.name, &pkg.arch, "list")? {
        Some(t) => pkg.files = FileList::from_text(t),
        None => warnings.push(format!(
            "{}: no file list in {INFO}; its files are not attributed",
            pkg.name
        )),
    }
    Ok(Some(pkg))
}

/// The packages of distroless' `status.d` not in the status file.
fn read_status_d(
    root: &Root,
    sources: &mut Vec<String>,
    warnings: &mut Vec<String>,
    mut out: Vec<Package>,
) -> Result<Vec<Package>, SbomError> {
    if let Some(d) = root.resolve(STATUS_D)?
        && d.kind == Kind::Dir
    {
        sources.push(STATUS_D.to_string());
        let mut names = root.list_dir(&d.path)?;
        names.sort();
        for n in names {
            if n.starts_with('.') || n.ends_with(".md5sums") {
                continue;
            }
            let path = format!("{STATUS_D}/{n}");
            let Some(paragraphs) = parse_at(root, &path)? else {
                continue;
            };
            let md5 = read_text(root, &format!("{path}.md5sums"))?;
            for p in paragraphs {
                if !files_on_disk(p.get("Status")) {
                    continue;
                }
                let conffiles = conffiles(&p);
                let Some(mut pkg) = package_of(p, &path, warnings) else {
                    continue;
                };
                if out.iter().any(|o| o.name == pkg.name && o.arch == pkg.arch) {
                    continue;
                }
                let mut files = Vec::new();
                let sums = md5.as_deref().map(parse_md5sums).unwrap_or_default();
                files.extend(sums.iter().map(|(_, p)| format!("/{p}")));
                if let Record::Deb { md5sums, .. } = &mut pkg.record {
                    *md5sums = Md5sums::Read(sums);
                }
                files.extend(conffiles);
                if let Some(t) = info_file(root, &pkg.name, &pkg.arch, "list")? {
                    files.extend(FileList::from_text(t).iter().map(str::to_string));
                }
                if files.is_empty() {
                    warnings.push(format!(
                        "{}: no {path}.md5sums or file list; its files are not attributed",
                        pkg.name
                    ));
                }
                pkg.files = files.into_iter().collect();
                out.push(pkg);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_states() {
        assert!(files_on_disk(Some("install ok installed")));
        assert!(files_on_disk(Some("install ok unpacked")));
        assert!(files_on_disk(Some("install ok half-configured")));
        assert!(!files_on_disk(Some("deinstall ok config-files")));
        assert!(!files_on_disk(Some("purge ok not-installed")));
        assert!(files_on_disk(None), "distroless status.d has no Status");
    }

    #[test]
    fn source_without_version() {
        assert_eq!(
            source_name("openssl (3.0.11-1)").as_deref(),
            Some("openssl")
        );
        assert_eq!(source_name("glibc").as_deref(), Some("glibc"));
    }

    #[test]
    fn list_and_md5sums() {
        assert_eq!(
            FileList::from_text("/.\n/usr\n/usr/bin/x\r\n\n".into()),
            ["/usr", "/usr/bin/x"]
        );
        assert_eq!(
            parse_md5sums("0123  usr/bin/x\nabcd  usr/share/a file\nbroken\n"),
            [
                ("0123".to_string(), "usr/bin/x".to_string()),
                ("abcd".to_string(), "usr/share/a file".to_string())
            ]
        );
    }

    fn fake(files: &[(&str, &str)]) -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        for (p, c) in files {
            let h = t.path().join(p.trim_start_matches('/'));
            std::fs::create_dir_all(h.parent().unwrap()).unwrap();
            std::fs::write(h, c).unwrap();
        }
        let r = Root::new(t.path()).unwrap();
        (t, r)
    }

    #[test]
    fn status_with_multiarch_lists_and_removed_packages() {
        let (_t, r) = fake(&[
            (
                STATUS,
                "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\nVersion: 2.36-9+deb12u4\nSource: glibc\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: all\n\nPackage: nginx\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.22.1-9\n",
            ),
            (
                "/var/lib/dpkg/info/libc6:amd64.list",
                "/.\n/lib/x86_64-linux-gnu/libc.so.6\n",
            ),
            (
                "/var/lib/dpkg/info/libc6:amd64.md5sums",
                "aa  lib/x86_64-linux-gnu/libc.so.6\n",
            ),
            ("/var/lib/dpkg/info/nginx.list", "/usr/sbin/nginx\n"),
        ]);
        let (mut s, mut w) = (vec![], vec![]);
        let p = read(&r, &mut s, &mut w).unwrap();
        assert_eq!(s, [STATUS]);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(p.len(), 2, "config-files only is not installed");
        assert_eq!(p[0].name, "libc6");
        assert_eq!(p[0].source.as_deref(), Some("glibc"));
        assert_eq!(p[0].files, ["/lib/x86_64-linux-gnu/libc.so.6"]);
        assert!(matches!(
            &p[0].record,
            Record::Deb {
                md5sums: Md5sums::InInfo,
                ..
            }
        ));
        assert_eq!(
            info_md5sums(&r, "libc6", "amd64").unwrap(),
            [(
                "aa".to_string(),
                "lib/x86_64-linux-gnu/libc.so.6".to_string()
            )]
        );
        assert!(info_md5sums(&r, "nginx", "amd64").unwrap().is_empty());
        assert_eq!(p[1].files, ["/usr/sbin/nginx"]);
        assert_eq!(p[1].source, None);
    }

    #[test]
    fn distroless_status_d() {
        let (_t, r) = fake(&[
            (
                "/var/lib/dpkg/status.d/libssl3",
                "Package: libssl3\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\nSource: openssl\n",
            ),
            (
                "/var/lib/dpkg/status.d/libssl3.md5sums",
                "bb  usr/lib/x86_64-linux-gnu/libssl.so.3\n",
            ),
            (
                "/var/lib/dpkg/status.d/base",
                "Package: base-files\nVersion: 12.4\nArchitecture: amd64\n",
            ),
        ]);
        let (mut s, mut w) = (vec![], vec![]);
        let p = read(&r, &mut s, &mut w).unwrap();
        assert_eq!(s, [STATUS_D]);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].name, "base-files");
        assert!(p[0].files.is_empty());
        assert_eq!(w.len(), 1, "base-files has no file list: {w:?}");
        assert_eq!(p[1].files, ["/usr/lib/x86_64-linux-gnu/libssl.so.3"]);
    }

    /// dpkg leaves conffiles out of md5sums: a status.d package with only conffiles in
    /// the layer (nginx-common, openssl's openssl.cnf) owns them through its paragraph.
    #[test]
    fn r_issue_13_status_d_conffiles_are_the_package_files() {
        let (_t, r) = fake(&[
            (
                "/var/lib/dpkg/status.d/nginx-common",
                "Package: nginx-common\nVersion: 1.22.1-9\nArchitecture: all\nConffiles:\n /etc/nginx/nginx.conf aa\n /etc/ufw/applications.d/nginx bb obsolete\n",
            ),
            (
                "/var/lib/dpkg/status.d/openssl",
                "Package: openssl\nVersion: 3.0.11\nArchitecture: amd64\nConffiles:\n /etc/ssl/openssl.cnf cc\n",
            ),
            (
                "/var/lib/dpkg/status.d/openssl.md5sums",
                "dd  usr/bin/openssl\n",
            ),
        ]);
        let (mut s, mut w) = (vec![], vec![]);
        let p = read(&r, &mut s, &mut w).unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            p[0].files,
            ["/etc/nginx/nginx.conf", "/etc/ufw/applications.d/nginx"]
        );
        assert_eq!(p[1].files, ["/usr/bin/openssl", "/etc/ssl/openssl.cnf"]);
    }

    /// md5sums are read for the packages a layer carries only: one too large to read
    /// (a sparse file past DB_LIMIT) does not stop reading the database, and is an error
    /// only when asked for.
    #[test]
    fn md5sums_are_read_when_asked_for() {
        let (t, r) = fake(&[
            (
                STATUS,
                "Package: big\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n",
            ),
            ("/var/lib/dpkg/info/big.list", "/usr/bin/big\n"),
        ]);
        std::fs::File::create(t.path().join("var/lib/dpkg/info/big.md5sums"))
            .unwrap()
            .set_len(DB_LIMIT + 1)
            .unwrap();
        let p = read(&r, &mut vec![], &mut vec![]).unwrap();
        assert_eq!(p[0].files, ["/usr/bin/big"]);
        let e = info_md5sums(&r, "big", "amd64").unwrap_err().to_string();
        assert!(e.contains("big.md5sums"), "{e}");
    }

    #[test]
    fn malformed_status_names_file_and_line() {
        let (_t, r) = fake(&[(STATUS, "Package: a\nVersion: 1\ngarbage\n")]);
        let e = read(&r, &mut vec![], &mut vec![]).unwrap_err().to_string();
        assert!(e.contains(STATUS) && e.contains("line 3"), "{e}");
    }

    #[test]
    fn paragraph_without_version_is_skipped_with_a_warning() {
        let (_t, r) = fake(&[(STATUS, "Package: a\nStatus: install ok installed\n")]);
        let mut w = vec![];
        assert!(read(&r, &mut vec![], &mut w).unwrap().is_empty());
        assert_eq!(w.len(), 1);
    }
}
