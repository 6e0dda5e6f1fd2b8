//! The image's entries, listed for `scan.rs`: every directory read once, in parallel,
//! and every regular file's first bytes read on the way, to tell the ELF files.
//!
//! What it yields is what a sorted `walkdir` walk (symlinks not followed) followed by an
//! open of each regular file by its path gave, in the same order (depth first, each
//! directory's names sorted as bytes), with the same error texts; it is cheaper because
//! of how it reaches the files:
//! - the type of an entry comes from the directory listing (`d_type`), with an lstat
//!   only where the file system leaves it unknown;
//! - a file or a subdirectory is opened relative to its directory's descriptor
//!   (`openat`), so the kernel resolves one name, not every component of a host path
//!   (`/work/.../sysroots/amd64/usr/share/doc/...`), for each of ~10k files;
//! - directories are listed and files opened in parallel (rayon), each directory's
//!   results put back in name order, so nothing depends on the thread count.
//!
//! A file is opened without following a symlink (`O_NOFOLLOW`: a name that became a
//! link since its directory was read is not followed out of the image) and without
//! blocking (`O_NONBLOCK`: a FIFO reads as nothing instead of waiting for a writer).

use std::ffi::{CStr, OsStr};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rayon::prelude::*;
use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};

use crate::elf;

/// What the walk found, each list in walk order.
#[derive(Debug, Default)]
pub struct Tree {
    pub dirs: u64,
    pub files: u64,
    pub symlinks: u64,
    /// Devices, FIFOs, sockets.
    pub other: u64,
    /// Regular files that start with the ELF magic (paths inside the image).
    pub elfs: Vec<String>,
    /// Symlinks (paths inside the image).
    pub links: Vec<String>,
    /// What could not be read: the path inside the image and the error, as walkdir
    /// says it (`IO error for operation on HOST-PATH: ...`).
    pub unreadable: Vec<(String, String)>,
    /// `/proc` and `/sys` when they are mounts, not walked.
    pub mounts: Vec<String>,
}

impl Tree {
    /// Appends `other`, which comes after everything of `self` in walk order.
    fn append(&mut self, mut other: Tree) {
        self.dirs += other.dirs;
        self.files += other.files;
        self.symlinks += other.symlinks;
        self.other += other.other;
        self.elfs.append(&mut other.elfs);
        self.links.append(&mut other.links);
        self.unreadable.append(&mut other.unreadable);
        self.mounts.append(&mut other.mounts);
    }
}

/// Which regular files of the image are ELF files, as the walk read them, for what
/// asks again (the files of a runtime's home, `select::runtime_members_known`).
#[derive(Debug, Default)]
pub struct ElfFiles {
    elfs: std::collections::HashSet<String>,
    mounts: Vec<String>,
}

impl ElfFiles {
    pub fn new(tree: &Tree) -> ElfFiles {
        ElfFiles {
            elfs: tree.elfs.iter().cloned().collect(),
            mounts: tree.mounts.clone(),
        }
    }

    /// Whether the regular file at canonical `path` starts with the ELF magic; a file
    /// below a mount the walk left out is read now.
    pub fn is_elf(&self, root: &crate::sysroot::Root, path: &str) -> bool {
        let below = |m: &String| {
            path.strip_prefix(m.as_str())
                .is_some_and(|r| r.is_empty() || r.starts_with('/'))
        };
        if self.mounts.iter().any(below) {
            return root.head_canonical(path, 4).is_ok_and(|h| elf::is_elf(&h));
        }
        self.elfs.contains(path)
    }
}

/// What the walk needs to know throughout.
struct Walk<'a> {
    /// The image's host directory (for error texts).
    host: &'a Path,
    /// The device of the image's directory: `/proc` and `/sys` on another one are mounts.
    root_dev: Option<u64>,
}

/// The longest path the kernel takes (PATH_MAX, with its NUL).
const PATH_MAX: usize = 4096;

impl Walk<'_> {
    /// Whether the host path of `rel` is longer than the kernel takes: the walk by host
    /// paths could neither open nor list it (ENAMETOOLONG), so neither does this one,
    /// although it could (relative to a descriptor, no path is ever long).
    fn too_long(&self, rel: &[u8]) -> bool {
        let host = self.host.as_os_str().as_bytes();
        let sep = usize::from(!host.ends_with(b"/"));
        host.len() + sep + rel.len() >= PATH_MAX
    }

    /// The path inside the image for `rel` ("usr/bin/x"), carried as `sysroot::name` says.
    fn inside(rel: &[u8]) -> String {
        format!("/{}", crate::sysroot::name::from_bytes(rel))
    }

    /// An error on `rel` as a walkdir error says it, with the path a finding names.
    fn error(&self, rel: &[u8], e: rustix::io::Errno) -> (String, String) {
        let host = if rel.is_empty() {
            self.host.to_path_buf()
        } else {
            self.host.join(OsStr::from_bytes(rel))
        };
        (
            format!("/{}", Path::new(OsStr::from_bytes(rel)).display()),
            format!(
                "IO error for operation on {}: {}",
                host.display(),
                std::io::Error::from(e)
            ),
        )
    }
}

/// Lists the image at `host` (its own entry not included).
pub fn walk(host: &Path) -> Tree {
    let mut tree = Tree::default();
    let w = |root_dev| Walk { host, root_dev };
    match rustix::fs::open(
        host,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => {
            let root_dev = rustix::fs::fstat(&fd).ok().map(|s| s.st_dev);
            tree.append(w(root_dev).dir(fd, &[]));
        }
        // A file is a walk of nothing below it (walkdir's min_depth 1).
        Err(rustix::io::Errno::NOTDIR) => {}
        Err(e) => tree.unreadable.push(w(None).error(&[], e)),
    }
    tree
}

/// One entry of a directory, in name order.
struct Entry {
    name: std::ffi::CString,
    kind: FileType,
}

impl Walk<'_> {
    /// The entries below the directory `rel` (open as `fd`), in walk order.
    fn dir(&self, fd: OwnedFd, rel: &[u8]) -> Tree {
        let mut tree = Tree::default();
        let join = |name: &[u8]| {
            let mut p = Vec::with_capacity(rel.len() + 1 + name.len());
            if !rel.is_empty() {
                p.extend_from_slice(rel);
                p.push(b'/');
            }
            p.extend_from_slice(name);
            p
        };
        let mut dir = match Dir::new(fd) {
            Ok(d) => d,
            Err(e) => {
                tree.unreadable.push(self.error(rel, e));
                return tree;
            }
        };
        let mut entries: Vec<Entry> = Vec::new();
        // A failed read ends the listing; walkdir names no path for it.
        let mut failed = Vec::new();
        for e in dir.by_ref() {
            match e {
                Ok(e) => {
                    let name = e.file_name().to_bytes();
                    if name == b"." || name == b".." {
                        continue;
                    }
                    entries.push(Entry {
                        name: e.file_name().to_owned(),
                        kind: e.file_type(),
                    });
                }
                Err(e) => failed.push(("/".to_string(), std::io::Error::from(e).to_string())),
            }
        }
        // walkdir sorts a listing's errors first; the findings are sorted anyway.
        tree.unreadable.append(&mut failed);
        entries.sort_unstable_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        let Ok(dfd) = dir.fd() else {
            return tree;
        };
        let pieces: Vec<Tree> = entries
            .par_iter()
            .map(|e| self.entry(dfd, rel.is_empty(), e, join(e.name.as_bytes())))
            .collect();
        for p in pieces {
            tree.append(p);
        }
        tree
    }

    /// One entry `e` of the directory open as `dfd`, at `rel`: itself and, for a
    /// directory, everything below it.
    fn entry(&self, dfd: BorrowedFd<'_>, top: bool, e: &Entry, rel: Vec<u8>) -> Tree {
        let mut tree = Tree::default();
        let name = e.name.as_c_str();
        let long = self.too_long(&rel);
        let kind = if e.kind == FileType::Unknown {
            if long {
                tree.unreadable
                    .push(self.error(&rel, rustix::io::Errno::NAMETOOLONG));
                return tree;
            }
            match rustix::fs::statat(dfd, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(s) => FileType::from_raw_mode(s.st_mode),
                Err(err) => {
                    tree.unreadable.push(self.error(&rel, err));
                    return tree;
                }
            }
        } else {
            e.kind
        };
        match kind {
            FileType::Symlink => {
                tree.symlinks += 1;
                tree.links.push(Self::inside(&rel));
            }
            FileType::RegularFile => {
                tree.files += 1;
                if !long && starts_as_elf(dfd, name) {
                    tree.elfs.push(Self::inside(&rel));
                }
            }
            FileType::Directory => {
                // /proc and /sys mounted inside the directory (a live system, a chroot in
                // use) are not the image: their files change while read, some never end.
                if top
                    && matches!(e.name.as_bytes(), b"proc" | b"sys")
                    && rustix::fs::statat(dfd, name, AtFlags::SYMLINK_NOFOLLOW)
                        .ok()
                        .map(|s| s.st_dev)
                        != self.root_dev
                {
                    tree.mounts.push(Self::inside(&rel));
                    return tree;
                }
                tree.dirs += 1;
                if long {
                    tree.unreadable
                        .push(self.error(&rel, rustix::io::Errno::NAMETOOLONG));
                    return tree;
                }
                match rustix::fs::openat(
                    dfd,
                    name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                ) {
                    Ok(fd) => tree.append(self.dir(fd, &rel)),
                    Err(err) => tree.unreadable.push(self.error(&rel, err)),
                }
            }
            _ => tree.other += 1,
        }
        tree
    }
}

/// Whether the regular file `name` of the directory `dfd` starts with the ELF magic.
fn starts_as_elf(dfd: BorrowedFd<'_>, name: &CStr) -> bool {
    let Ok(fd) = rustix::fs::openat(
        dfd,
        name,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return false;
    };
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < head.len() {
        match rustix::io::read(fd.as_fd(), &mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return false,
        }
    }
    got == head.len() && elf::is_elf(&head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// What a sorted walkdir walk and an open of each file by its host path said (the
    /// walk `scan.rs` had before this one).
    fn by_walkdir(host: &Path) -> Tree {
        let mut t = Tree::default();
        for e in walkdir::WalkDir::new(host)
            .min_depth(1)
            .follow_links(false)
            .sort_by_file_name()
        {
            let e = match e {
                Ok(e) => e,
                Err(err) => {
                    let path = err
                        .path()
                        .and_then(|p| p.strip_prefix(host).ok())
                        .map(|p| format!("/{}", p.display()))
                        .unwrap_or_else(|| "/".into());
                    t.unreadable.push((path, err.to_string()));
                    continue;
                }
            };
            let rel = e.path().strip_prefix(host).unwrap();
            let inside = format!("/{}", crate::sysroot::name::from_os(rel.as_os_str()));
            let ft = e.file_type();
            if ft.is_symlink() {
                t.symlinks += 1;
                t.links.push(inside);
            } else if ft.is_dir() {
                t.dirs += 1;
            } else if ft.is_file() {
                t.files += 1;
                let mut head = [0u8; 4];
                if crate::sysroot::read::open_nonblocking(e.path())
                    .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
                    .is_ok_and(|()| elf::is_elf(&head))
                {
                    t.elfs.push(inside);
                }
            } else {
                t.other += 1;
            }
        }
        t
    }

    fn same(a: &Tree, b: &Tree) {
        assert_eq!(
            (a.dirs, a.files, a.symlinks, a.other),
            (b.dirs, b.files, b.symlinks, b.other)
        );
        assert_eq!(a.elfs, b.elfs);
        assert_eq!(a.links, b.links);
        assert_eq!(a.unreadable, b.unreadable);
    }

    #[test]
    fn the_walk_is_the_sorted_walkdir_walk() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let elf = b"\x7fELF\x02\x01\x01";
        for p in ["a/b/c", "a-c", "a/x/y/z", "usr/lib/deep/er/still"] {
            std::fs::create_dir_all(d.join(p)).unwrap();
        }
        std::fs::write(d.join("a/b/c/prog"), elf).unwrap();
        std::fs::write(d.join("a-c/lib.so"), elf).unwrap();
        std::fs::write(d.join("a/short"), b"\x7fEL").unwrap();
        std::fs::write(d.join("a/empty"), b"").unwrap();
        std::fs::write(d.join("a/text"), b"#!/bin/sh\n").unwrap();
        std::fs::write(d.join("usr/lib/deep/er/still/x.so"), elf).unwrap();
        // Names sorted as bytes: upper case, a non-UTF-8 name, a carrier-range char.
        std::fs::write(d.join("usr/lib/B.so"), elf).unwrap();
        std::fs::write(d.join(OsStr::from_bytes(b"usr/lib/\xff.so")), elf).unwrap();
        std::fs::write(d.join("usr/lib/\u{10ff80}"), b"x").unwrap();
        for i in 0..40 {
            std::fs::write(
                d.join(format!("usr/lib/f{i}")),
                if i % 3 == 0 { &elf[..] } else { b"no" },
            )
            .unwrap();
        }
        symlink("b/c/prog", d.join("a/link")).unwrap();
        symlink("/nowhere", d.join("dangling")).unwrap();
        symlink("usr/lib", d.join("lib")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            d.join("a/fifo"),
            FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        // proc and sys on the image's own device are walked like any directory.
        std::fs::create_dir_all(d.join("proc/1")).unwrap();
        std::fs::write(d.join("proc/1/exe"), elf).unwrap();
        std::fs::create_dir_all(d.join("sys")).unwrap();

        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let new = one.install(|| walk(d));
        let old = by_walkdir(d);
        same(&new, &old);
        assert_eq!(new.elfs.len(), 20, "{:?}", new.elfs);
        assert_eq!(new.other, 1, "the FIFO, not read");
        let four = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        same(&four.install(|| walk(d)), &old);
    }

    #[test]
    fn paths_too_long_for_the_kernel_end_the_walk_where_walkdir_ended() {
        // Removing 2100 levels recurses once per level (std's remove_dir_all): more than
        // a test thread's stack holds.
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(too_long)
            .unwrap()
            .join()
            .unwrap();
    }

    fn too_long() {
        let t = tempfile::tempdir().unwrap();
        let mut fd =
            rustix::fs::open(t.path(), OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap();
        // 2100 levels of `d/` (more than PATH_MAX), a file and an ELF file at the bottom.
        for _ in 0..2100 {
            rustix::fs::mkdirat(&fd, "d", Mode::from_raw_mode(0o755)).unwrap();
            fd = rustix::fs::openat(&fd, "d", OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty())
                .unwrap();
        }
        let f = rustix::fs::openat(
            &fd,
            "e",
            OFlags::WRONLY | OFlags::CREATE,
            Mode::from_raw_mode(0o644),
        )
        .unwrap();
        rustix::io::write(&f, b"\x7fELF").unwrap();
        let new = walk(t.path());
        same(&new, &by_walkdir(t.path()));
        assert_eq!(new.unreadable.len(), 1, "{:?}", new.unreadable);
        assert!(new.unreadable[0].1.contains("os error 36"));
        assert!(new.elfs.is_empty());
    }

    #[test]
    fn an_image_that_is_not_a_directory_is_unreadable_as_walkdir_says() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("file");
        std::fs::write(&f, b"x").unwrap();
        same(&walk(&f), &by_walkdir(&f));
        let gone = t.path().join("gone");
        same(&walk(&gone), &by_walkdir(&gone));
        assert_eq!(walk(&gone).unreadable.len(), 1);
    }
}
