//! Packages: which package of the root every file of the layer comes from, and the SBOM
//! and report built on that. This file owns the model (`Package`, `Database`, `Distro`)
//! and reading the root's package databases; the formats and the steps live in the
//! submodules:
//!
//! - `control.rs`: deb822 paragraphs; `dpkg.rs`: status, info/*.list, distroless status.d;
//!   `apk.rs`: lib/apk/db/installed; `license.rs`: DEP-5 copyright files and SPDX ids;
//!   `purl.rs`: package URLs.
//! - `attribute.rs`: the owner of every layer entry; `digests.rs`: sha256/sha1 of the
//!   layer's files; `inventory.rs`: the packages and files an SBOM lists.
//! - `spdx.rs`, `cyclonedx.rs`: the two SBOM formats; `pkgdb.rs`: the status.d / apk
//!   entries and copyright files added to the layer; `report.rs`: root versus layer.
//! - `layer.rs`: the package step of a job (attribute, add the metadata, write SBOMs).
//!
//! Paths that packages list are matched on their canonical path in the root: in a
//! usrmerged root libc6 lists `/lib/x86_64-linux-gnu/libc.so.6`, the layer holds
//! `usr/lib/x86_64-linux-gnu/libc.so.6`, and both are `/usr/lib/x86_64-linux-gnu/libc.so.6`
//! once `/lib -> usr/lib` is followed. Only the last component is not followed, so a
//! listed symlink (`libz.so.1 -> libz.so.1.2.13`) stays the symlink.

pub mod apk;
pub mod attribute;
pub mod control;
pub mod cyclonedx;
pub mod digests;
pub mod dpkg;
pub mod inventory;
pub mod layer;
pub mod license;
pub mod pkgdb;
pub mod purl;
pub mod report;
pub mod spdx;

use serde::Serialize;

use crate::sysroot::{Kind, Root, SysrootError};

/// Largest package database file read (dpkg status, apk installed, one file list).
pub const DB_LIMIT: u64 = 256 << 20;
/// Largest copyright or os-release file read.
pub const TEXT_LIMIT: u64 = 4 << 20;

/// A package manager whose database minroot reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Manager {
    /// dpkg (Debian, Ubuntu, distroless).
    Deb,
    /// apk-tools (Alpine, Wolfi).
    Apk,
}

impl Manager {
    /// The purl type and the database's usual name.
    pub fn purl_type(self) -> &'static str {
        match self {
            Manager::Deb => "deb",
            Manager::Apk => "apk",
        }
    }
    pub fn database_name(self) -> &'static str {
        match self {
            Manager::Deb => "dpkg",
            Manager::Apk => "apk",
        }
    }
}

/// The package's record as read, kept to write the layer's own database from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    Deb {
        paragraph: control::Paragraph,
        /// `(md5, path as listed without the leading '/')`.
        md5sums: Md5sums,
    },
    /// Every `K:value` line of the apk record, in order.
    Apk { lines: Vec<(String, String)> },
}

/// Where a dpkg package's md5sums are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Md5sums {
    /// Read with the package: distroless's `status.d/<pkg>.md5sums`, which is also its
    /// file list.
    Read(Vec<(String, String)>),
    /// `info/<pkg>[:arch].md5sums`, read only for a package the layer carries
    /// ([`dpkg::info_md5sums`]): a root's md5sums are as large as its file lists, and a
    /// layer needs those of a few of its packages.
    InInfo,
}

/// The paths a package lists, kept as the text they were read from, one per line: a
/// root's ~100,000 listed paths are then one string per package rather than one each
/// (reading them into a `String` each, and indexing them with two more, was most of what
/// package metadata cost a `pack`: 0.3 s of CPU on a host with 850 packages).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FileList(String);

impl FileList {
    /// A dpkg `.list` file as read: lines, absolute paths; `/.` stands for the root.
    pub fn from_text(text: String) -> FileList {
        FileList(text)
    }

    /// The listed paths: absolute, without dpkg's `/.` for the root directory, a line's
    /// trailing `\r` or a line that is not a path.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.lines()
            .map(|(_, l)| l)
            .filter(|l| l.starts_with('/') && *l != "/." && *l != "/")
    }

    /// Every line with its byte offset, `\r` trimmed.
    fn lines(&self) -> impl Iterator<Item = (usize, &str)> {
        let text = self.0.as_str();
        let mut at = 0;
        std::iter::from_fn(move || {
            if at >= text.len() {
                return None;
            }
            let end = memchr::memchr(b'\n', &text.as_bytes()[at..]).map_or(text.len(), |n| at + n);
            let line = (at, text[at..end].trim_end_matches('\r'));
            at = end + 1;
            Some(line)
        })
    }

    /// Each listed path's line offset and file name, as [`FileList::iter`] and
    /// [`split_listed`] give them, in one pass over the bytes. Indexing a Debian host's
    /// 123,000 listed paths through those made a `&str` search per `\r`, per trailing `/`
    /// and per last `/` of every line: a sixth of the CPU time of `files /usr/bin/true`,
    /// which this pass made x0.95.
    fn names(&self) -> impl Iterator<Item = (usize, &str)> {
        let text = self.0.as_str();
        let b = text.as_bytes();
        let mut ends = memchr::memchr_iter(b'\n', b).chain(std::iter::once(b.len()));
        let mut at = 0;
        std::iter::from_fn(move || {
            while at < b.len() {
                let (start, end) = (at, ends.next()?);
                at = end + 1;
                // Every bound below is next to an ASCII byte: `text[s..f]` is on char
                // boundaries.
                let mut e = end;
                while e > start && b[e - 1] == b'\r' {
                    e -= 1;
                }
                let line = &b[start..e];
                if line.first() != Some(&b'/') || line == b"/." || line == b"/" {
                    continue;
                }
                let mut f = e;
                while f > start && b[f - 1] == b'/' {
                    f -= 1;
                }
                let mut s = f;
                while s > start && b[s - 1] != b'/' {
                    s -= 1;
                }
                return Some((start, &text[s..f]));
            }
            None
        })
    }

    /// The line that starts at byte `at`.
    fn line_at(&self, at: usize) -> &str {
        let rest = &self.0[at..];
        rest[..rest.find('\n').unwrap_or(rest.len())].trim_end_matches('\r')
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl<S: AsRef<str>> FromIterator<S> for FileList {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> FileList {
        let mut text = String::new();
        for p in iter {
            text.push_str(p.as_ref());
            text.push('\n');
        }
        FileList(text)
    }
}

impl std::fmt::Debug for FileList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<const N: usize> PartialEq<[&str; N]> for FileList {
    fn eq(&self, other: &[&str; N]) -> bool {
        self.iter().eq(other.iter().copied())
    }
}

/// One installed package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    pub manager: Manager,
    pub name: String,
    pub version: String,
    /// As the manager spells it: `amd64`, `all` (dpkg), `x86_64` (apk).
    pub arch: String,
    /// The source package (dpkg `Source:` without its version; apk `o:`), when it differs.
    pub source: Option<String>,
    /// The license as declared (apk `L:`; for dpkg, the DEP-5 copyright file's `Files: *`
    /// license, filled by [`Database::read_licenses`]), raw.
    pub license: Option<String>,
    /// Every path the package lists (absolute, as listed: directories too).
    pub files: FileList,
    pub record: Record,
}

/// What the root's os-release says (for purls: `pkg:deb/debian/...&distro=debian-12`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Distro {
    pub id: Option<String>,
    pub version_id: Option<String>,
    pub pretty_name: Option<String>,
}

impl Distro {
    /// Reads /etc/os-release, else /usr/lib/os-release, of the root.
    pub fn read(root: &Root) -> Distro {
        ["/etc/os-release", "/usr/lib/os-release"]
            .iter()
            .find_map(|p| root.read_to_string(p, TEXT_LIMIT).ok())
            .map(|t| Distro::parse(&t))
            .unwrap_or_default()
    }

    /// Parses os-release text (`KEY=value`, values optionally quoted).
    pub fn parse(text: &str) -> Distro {
        let mut d = Distro::default();
        for line in text.lines() {
            let Some((k, v)) = line.trim().split_once('=') else {
                continue;
            };
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v)
                .to_string();
            match k.trim() {
                "ID" => d.id = Some(v),
                "VERSION_ID" => d.version_id = Some(v),
                "PRETTY_NAME" => d.pretty_name = Some(v),
                _ => {}
            }
        }
        d
    }
}

/// Reading a package database failed.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    #[error(transparent)]
    Sysroot(#[from] SysrootError),
    #[error("{path} in the root: {source}")]
    Control {
        path: String,
        source: control::ControlError,
    },
    #[error("{path} in the root: line {line}: {why}")]
    Apk {
        path: String,
        line: usize,
        why: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// A listed path: the hash of its file name, its package, where its line starts in the
/// package's [`FileList`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Listed {
    hash: u64,
    package: usize,
    at: usize,
}

/// The hash `by_name` is sorted on (fixed seed: the order is the same at every run).
fn name_hash(name: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0).hash_one(name)
}

/// A listed path without a trailing `/`, as (directory, file name); the directory of
/// `/x` is "".
fn split_listed(path: &str) -> (&str, &str) {
    let f = path.trim_end_matches('/');
    f.rsplit_once('/').unwrap_or(("", f))
}

/// Every package of the root, and which of them list each canonical path.
#[derive(Debug, Default)]
pub struct Database {
    /// Sorted by manager, name, architecture, version.
    pub packages: Vec<Package>,
    /// The listed paths whose file name hashes to one of `narrowed`, sorted by that hash
    /// (then package and place): `owners` finds the paths named as the file asked about by
    /// a binary search, and resolves only those. Filled by [`Database::index_names`] with
    /// the names a layer asks about, so its size follows the layer, not the root's
    /// ~100,000 listed paths.
    by_name: Vec<Listed>,
    /// The name hashes `by_name` holds every listed path of.
    narrowed: std::collections::HashSet<u64, foldhash::fast::FixedState>,
    /// Every listed path, sorted the same way: built on the first question about a name
    /// outside `narrowed`, so an answer never depends on which names were indexed.
    all: std::sync::OnceLock<Vec<Listed>>,
    pub distro: Distro,
    /// The database files read (paths inside the root).
    pub sources: Vec<String>,
    /// Problems that leave some files unattributed (a package without a file list).
    pub warnings: Vec<String>,
}

impl Database {
    /// Reads every package database the root has (dpkg status and status.d, apk).
    /// Ok(None) when it has none.
    pub fn read(root: &Root) -> Result<Option<Database>, SbomError> {
        let mut db = Database::default();
        let mut packages = dpkg::read(root, &mut db.sources, &mut db.warnings)?;
        packages.extend(apk::read(root, &mut db.sources, &mut db.warnings)?);
        if db.sources.is_empty() {
            return Ok(None);
        }
        packages.sort_by(|a, b| {
            (a.manager, &a.name, &a.arch, &a.version)
                .cmp(&(b.manager, &b.name, &b.arch, &b.version))
        });
        db.packages = packages;
        db.distro = Distro::read(root);
        Ok(Some(db))
    }

    /// A database of given packages (tests, and roots described by other means).
    pub fn from_packages(mut packages: Vec<Package>, distro: Distro) -> Database {
        packages.sort_by(|a, b| {
            (a.manager, &a.name, &a.arch, &a.version)
                .cmp(&(b.manager, &b.name, &b.arch, &b.version))
        });
        Database {
            packages,
            distro,
            ..Database::default()
        }
    }

    /// Indexes the listed paths named as one of `names` (file names), added to those
    /// indexed before; the lists are scanned only when a name is new. Nothing is resolved
    /// here: a whole Debian root lists ~100,000 files, and resolving each (one lstat or
    /// more) made `pack` spend most of its time here; `owners` resolves only the few listed
    /// paths that share a name with the file asked about. Indexing all 123,000 listed paths
    /// of a Debian host, and sorting them, made `files /usr/bin/ffmpeg` x1.11 of indexing
    /// the 2,300 its layer asks about (one scan of the lists, [`pkgdb::added_names`]).
    pub fn index_names<S: AsRef<str>>(&mut self, names: impl IntoIterator<Item = S>) {
        let new: std::collections::HashSet<u64, foldhash::fast::FixedState> = names
            .into_iter()
            .map(|n| name_hash(n.as_ref()))
            .filter(|h| !self.narrowed.contains(h))
            .collect();
        if new.is_empty() {
            return;
        }
        self.by_name.extend(self.listed(|h| new.contains(&h)));
        self.by_name.sort_unstable();
        self.narrowed.extend(new);
    }

    /// The listed paths whose name hash `keep` accepts, package by package. The packages
    /// are scanned on the pool's threads (a Debian root's lists are megabytes); the order
    /// is the packages', so the result is the same whatever the threads.
    fn listed(&self, keep: impl Fn(u64) -> bool + Sync) -> Vec<Listed> {
        use rayon::prelude::*;
        let lists: Vec<Vec<Listed>> = self
            .packages
            .par_iter()
            .enumerate()
            .map(|(package, p)| {
                p.files
                    .names()
                    .filter_map(|(at, name)| {
                        let hash = name_hash(name);
                        keep(hash).then_some(Listed { hash, package, at })
                    })
                    .collect()
            })
            .collect();
        lists.concat()
    }

    /// The index that holds every listed path named `hash`.
    fn index_of(&self, hash: u64) -> &[Listed] {
        if self.narrowed.contains(&hash) {
            return &self.by_name;
        }
        self.all.get_or_init(|| {
            use rayon::prelude::*;
            let mut all = self.listed(|_| true);
            all.par_sort_unstable();
            all
        })
    }

    /// The packages (indices into `packages`) that list canonical path `canonical`: the
    /// listed paths with the same file name whose directory resolves (inside the root) to
    /// the same directory, as dpkg lists a merged-/usr file as /lib/... or /usr/lib/....
    pub fn owners(&self, root: &Root, canonical: &str) -> Vec<usize> {
        let Some((dir, name)) = canonical.rsplit_once('/') else {
            return Vec::new();
        };
        let dir = if dir.is_empty() { "/" } else { dir };
        let hash = name_hash(name);
        let index = self.index_of(hash);
        let from = index.partition_point(|l| l.hash < hash);
        let mut out: Vec<usize> = Vec::new();
        for l in index[from..].iter().take_while(|l| l.hash == hash) {
            let (listed_dir, listed_name) =
                split_listed(self.packages[l.package].files.line_at(l.at));
            if listed_name != name || out.contains(&l.package) {
                continue;
            }
            let listed = if listed_dir.is_empty() {
                "/"
            } else {
                listed_dir
            };
            let same = listed == dir
                || root
                    .resolve_real(listed)
                    .ok()
                    .flatten()
                    .is_some_and(|(d, k)| k == crate::sysroot::Kind::Dir && d == dir);
            if same {
                out.push(l.package);
            }
        }
        out.sort_unstable();
        out
    }

    /// "dpkg", "apk" or "dpkg+apk".
    pub fn managers(&self) -> String {
        let mut m: Vec<&str> = self
            .packages
            .iter()
            .map(|p| p.manager.database_name())
            .collect();
        if m.is_empty() {
            m = self
                .sources
                .iter()
                .map(|s| if s.contains("apk") { "apk" } else { "dpkg" })
                .collect();
        }
        m.dedup();
        m.join("+")
    }

    /// Fills the declared license of the dpkg packages `which` from their DEP-5 copyright
    /// files (apk packages carry theirs in `L:`).
    pub fn read_licenses(&mut self, root: &Root, which: impl IntoIterator<Item = usize>) {
        for i in which {
            let Some(p) = self.packages.get_mut(i) else {
                continue;
            };
            if p.manager != Manager::Deb || p.license.is_some() {
                continue;
            }
            let path = license::copyright_path(&p.name);
            if let Ok(text) = root.read_to_string(&path, TEXT_LIMIT) {
                p.license = license::dep5_license(&text);
            }
        }
    }
}

/// Whether `path` exists in the root as a regular file.
pub(crate) fn is_file(root: &Root, path: &str) -> bool {
    root.resolve(path)
        .ok()
        .flatten()
        .is_some_and(|r| r.kind == Kind::File)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_quotes() {
        let d = Distro::parse(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID='12'\n# x\n",
        );
        assert_eq!(d.id.as_deref(), Some("debian"));
        assert_eq!(d.version_id.as_deref(), Some("12"));
        assert_eq!(
            d.pretty_name.as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
    }

    /// `names` is the one-pass form of `lines`, the path filter of `iter` and
    /// `split_listed`: the same offsets and names on every kind of line a list can hold.
    #[test]
    fn names_are_the_split_lines() {
        let lines = [
            "/.",
            "/",
            "//",
            "///x//",
            "/usr",
            "/usr/",
            "/usr/bin/ls",
            "/usr/bin/ls\r",
            "/a/b\r\r",
            "/a/b/\r",
            "relative/x",
            "",
            "\r",
            "/caf\u{e9}/na\u{ef}ve",
            "/\u{10ffe9}.txt",
            "/usr/share/doc/x y/copy right",
            " /lead",
            "/x",
        ];
        // Each line last (no newline at the end) and inside; empty lines between.
        let mut texts = vec![String::new(), "\n\n".into(), lines.join("\n")];
        texts.push(format!("{}\n", lines.join("\n\n")));
        texts.extend(lines.iter().map(|l| l.to_string()));
        for text in texts {
            let list = FileList::from_text(text.clone());
            let want: Vec<(usize, &str)> = list
                .lines()
                .filter(|(_, l)| l.starts_with('/') && *l != "/." && *l != "/")
                .map(|(at, l)| (at, split_listed(l).1))
                .collect();
            let got: Vec<(usize, &str)> = list.names().collect();
            assert_eq!(got, want, "{text:?}");
        }
        // Not vacuous: the joined lists hold named paths.
        let joined = FileList::from_text(lines.join("\n"));
        assert_eq!(joined.names().count(), 12);
        assert!(joined.names().any(|(_, n)| n == "na\u{ef}ve"));
    }
}
