//! Paths confined to a root directory, resolved as the kernel resolves them under chroot.
//!
//! A [`Root`] maps absolute paths inside the root ("/usr/lib/libz.so.1") to files of the
//! host and resolves symlinks itself, one component at a time ([`walk`], the one walk,
//! shared with `check`'s layer extraction): an absolute target restarts at the root, `..`
//! at the root stays at the root, more than 40 links is a loop (ELOOP).
//! So `/lib/x86_64-linux-gnu/libz.so.1` in a usrmerged root whose `/lib` is a link to
//! `usr/lib` resolves to `/usr/lib/x86_64-linux-gnu/libz.so.1.2.13` with the chain
//! `[/lib -> usr/lib, /usr/lib/x86_64-linux-gnu/libz.so.1 -> libz.so.1.2.13]`, and the
//! host's own `/usr/lib` is never looked at. `..` is applied to the resolved directory,
//! as the kernel does: `/bin/../lib` in that root is `/usr/lib`.
//!
//! Results are memoised (every lstat and readlink happens once per run), so tracing many
//! programs in one process stays cheap. This module does not know about ELF or the loader.
//! Reading the bytes of a file once its canonical path is known is [`read`]'s job.
//!
//! Paths in and out are `&str` in the carried form of [`name`]: a name that is not UTF-8
//! (`a\xff`) keeps its bytes, which the walk and the host paths use as they are.

pub mod name;
pub mod read;
pub mod walk;

use std::collections::BTreeSet;

use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use walk::{Entry, Lookup, WalkError};

/// Linux's MAXSYMLINKS.
pub const MAX_SYMLINKS: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum SysrootError {
    #[error(
        "{}: too many levels of symbolic links (a symlink loop inside the root)",
        name::shown(path)
    )]
    Loop { path: String },
    #[error("{}: {source}", name::shown(path))]
    Io { path: String, source: io::Error },
    #[error("root {path}: {why}")]
    BadRoot { path: PathBuf, why: String },
}

/// A [`SysrootError`] kept in the resolve memo (an `io::Error` is not `Clone`).
#[derive(Clone, Debug)]
enum MemoError {
    Loop {
        path: String,
    },
    Io {
        path: String,
        errno: Option<i32>,
        why: String,
    },
    Bad {
        path: PathBuf,
        why: String,
    },
}

impl MemoError {
    fn of(e: &SysrootError) -> MemoError {
        match e {
            SysrootError::Loop { path } => MemoError::Loop { path: path.clone() },
            SysrootError::Io { path, source } => MemoError::Io {
                path: path.clone(),
                errno: source.raw_os_error(),
                why: source.to_string(),
            },
            SysrootError::BadRoot { path, why } => MemoError::Bad {
                path: path.clone(),
                why: why.clone(),
            },
        }
    }
}

/// The errno of an I/O error (EIO when it has none).
fn errno(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(5)
}

/// What a resolved path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    /// A device, FIFO or socket.
    Other,
}

/// One symlink met while resolving: its path inside the root and its target as stored
/// (both carried, [`name`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Link {
    pub path: String,
    pub target: String,
}

/// A path resolved inside the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The canonical path inside the root ("/" for the root itself).
    pub path: String,
    /// Every symlink followed, in order.
    pub links: Vec<Link>,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Missing,
    NotDir,
    Dir,
    /// A regular file and its size.
    File(u64),
    Other,
    /// A symlink and its target's bytes.
    Symlink(Vec<u8>),
    /// lstat or readlink failed otherwise (EACCES, ENAMETOOLONG, EIO...): its errno.
    Failed(i32),
}

/// What lstat says a path is.
enum StatKind {
    Symlink,
    Dir,
    /// A regular file and its size.
    File(u64),
    Other,
}

/// lstat of `path`, asking the kernel for the type and size only: `statx` with
/// `STATX_ALL`, what `std::fs::symlink_metadata` asks for, costs more per call, and a trace
/// makes one for nearly every library. Where statx is refused (ENOSYS, or EPERM from an
/// old container seccomp profile) or leaves either field out, std's lstat answers.
fn lstat_kind(path: &Path) -> io::Result<StatKind> {
    use rustix::fs::{AtFlags, CWD, FileType, StatxFlags};
    let want = StatxFlags::TYPE | StatxFlags::SIZE;
    let st = match rustix::fs::statx(CWD, path, AtFlags::SYMLINK_NOFOLLOW, want) {
        Ok(st) if StatxFlags::from_bits_retain(st.stx_mask).contains(want) => st,
        // Refused, or a file system that did not fill in both fields.
        Ok(_) | Err(rustix::io::Errno::NOSYS | rustix::io::Errno::PERM) => {
            let m = std::fs::symlink_metadata(path)?;
            let ft = m.file_type();
            return Ok(if ft.is_symlink() {
                StatKind::Symlink
            } else if ft.is_dir() {
                StatKind::Dir
            } else if ft.is_file() {
                StatKind::File(m.len())
            } else {
                StatKind::Other
            });
        }
        Err(e) => return Err(e.into()),
    };
    Ok(match FileType::from_raw_mode(st.stx_mode.into()) {
        FileType::Symlink => StatKind::Symlink,
        FileType::Directory => StatKind::Dir,
        FileType::RegularFile => StatKind::File(st.stx_size),
        _ => StatKind::Other,
    })
}

/// Whether `name` looks like a library's soname (`libz.so.1`, `ld-linux-x86-64.so.2`: one
/// number after `.so`), which distributions ship as a symlink to the versioned file
/// (`libz.so.1.2.13`, looked up the other way round). Only the order of the two system
/// calls depends on it, never what is found: for ffmpeg's 213 libraries it saves about 200
/// of 1,795 calls, and costs one call for each of glibc's own files (`libc.so.6`).
fn soname_like(name: &[u8]) -> bool {
    let Some(at) = crate::bytes::rfind_short(name, b".so.") else {
        return false;
    };
    let version = &name[at + 4..];
    !version.is_empty() && version.iter().all(u8::is_ascii_digit)
}

/// A root directory and the memo of everything looked up in it.
pub struct Root {
    host: PathBuf,
    /// By canonical path, as bytes (the key [`walk::walk`] hands out).
    lstat_memo: crate::memo::Memo<Vec<u8>, Node>,
    resolve_memo: crate::memo::Memo<String, Result<Option<Resolved>, MemoError>>,
    /// Symlinks whose target climbed above the root (see `links_above_root`).
    above_root: Mutex<BTreeSet<Link>>,
}

impl std::fmt::Debug for Root {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Root").field("host", &self.host).finish()
    }
}

impl Root {
    /// A root at host directory `dir` (must exist and be a directory).
    pub fn new(dir: &Path) -> Result<Root, SysrootError> {
        let host = std::fs::canonicalize(dir).map_err(|e| SysrootError::BadRoot {
            path: dir.to_path_buf(),
            why: e.to_string(),
        })?;
        if !host.is_dir() {
            return Err(SysrootError::BadRoot {
                path: dir.to_path_buf(),
                why: "not a directory".into(),
            });
        }
        Ok(Root {
            host,
            lstat_memo: Default::default(),
            resolve_memo: Default::default(),
            above_root: Mutex::default(),
        })
    }

    /// The size of the regular file at canonical `path`, from the lstat already done while
    /// resolving it (no new system call when it was resolved before).
    pub fn file_size(&self, canonical: &str) -> Option<u64> {
        let key = name::to_bytes(canonical);
        // Asked once per library of every trace: from the memo without copying the node.
        let size = |n: &Node| match n {
            Node::File(n) => Some(*n),
            _ => None,
        };
        match self.lstat_memo.get_with(&*key, size) {
            Some(s) => s,
            None => size(&self.lstat(&key)),
        }
    }

    /// The host directory of the root.
    pub fn host_dir(&self) -> &Path {
        &self.host
    }

    /// True when this root is the host's `/`.
    pub fn is_host(&self) -> bool {
        self.host == Path::new("/")
    }

    /// The host path of a path inside the root (no resolution: callers pass canonical paths).
    pub fn host_path(&self, inside: &str) -> PathBuf {
        self.host_path_bytes(&name::to_bytes(inside))
    }

    fn host_path_bytes(&self, inside: &[u8]) -> PathBuf {
        let start = inside
            .iter()
            .position(|&b| b != b'/')
            .unwrap_or(inside.len());
        let rel = &inside[start..];
        if rel.is_empty() {
            self.host.clone()
        } else {
            self.host.join(std::ffi::OsStr::from_bytes(rel))
        }
    }

    /// The symlinks met while resolving whose targets climbed above the root (resolved
    /// inside it, as under chroot; most likely written for the host's `/`), sorted.
    pub fn links_above_root(&self) -> Vec<Link> {
        self.above_root
            .lock()
            .map(|w| w.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn lstat(&self, canonical: &[u8]) -> Node {
        if let Some(n) = self.lstat_memo.get(canonical) {
            return n;
        }
        let hp = self.host_path_bytes(canonical);
        let name = canonical.rsplit(|&b| b == b'/').next().unwrap_or(canonical);
        // A soname link is read first: one system call, not lstat and then readlink.
        let link = if soname_like(name) {
            match std::fs::read_link(&hp) {
                Ok(t) => Some(Node::Symlink(t.into_os_string().into_vec())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Some(Node::Missing),
                Err(e) if e.raw_os_error() == Some(20) => Some(Node::NotDir), // ENOTDIR
                // EINVAL (not a symlink), or an error lstat reports as it always does.
                Err(_) => None,
            }
        } else {
            None
        };
        if let Some(node) = link {
            return self.lstat_memo.insert(canonical.to_vec(), node);
        }
        let node = match lstat_kind(&hp) {
            Ok(StatKind::Symlink) => match std::fs::read_link(&hp) {
                Ok(t) => Node::Symlink(t.into_os_string().into_vec()),
                Err(e) => Node::Failed(errno(&e)),
            },
            Ok(StatKind::Dir) => Node::Dir,
            Ok(StatKind::File(len)) => Node::File(len),
            // Devices, FIFOs, sockets.
            Ok(StatKind::Other) => Node::Other,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Node::Missing,
            Err(e) if e.raw_os_error() == Some(20) => Node::NotDir, // ENOTDIR
            Err(e) => Node::Failed(errno(&e)),
        };
        self.lstat_memo.insert(canonical.to_vec(), node)
    }

    /// Resolves `path` (absolute inside the root, or relative to the root's `/`) following
    /// every symlink. Ok(None) when it does not exist.
    pub fn resolve(&self, path: &str) -> Result<Option<Resolved>, SysrootError> {
        if let Some(r) = self.resolve_memo.get(path) {
            return r.map_err(|why| self.memo_error(path, why));
        }
        let r = self.walk(path);
        let memo = match &r {
            Ok(v) => Ok(v.clone()),
            Err(e) => Err(MemoError::of(e)),
        };
        let _ = self.resolve_memo.insert(path.to_string(), memo);
        r
    }

    /// A memoised error as the error it was: its own path (the component that failed,
    /// not the path asked for) and cause, so a second lookup says what the first said
    /// (`loop1: too many levels...`, not `loop1: loop1: ...`).
    fn memo_error(&self, _path: &str, e: MemoError) -> SysrootError {
        match e {
            MemoError::Loop { path } => SysrootError::Loop { path },
            MemoError::Io {
                path,
                errno: Some(n),
                ..
            } => SysrootError::Io {
                path,
                source: io::Error::from_raw_os_error(n),
            },
            MemoError::Io {
                path,
                errno: None,
                why,
            } => SysrootError::Io {
                path,
                source: io::Error::other(why),
            },
            MemoError::Bad { path, why } => SysrootError::BadRoot { path, why },
        }
    }

    /// Like [`Root::resolve`], giving only the canonical path and kind (no symlink chain
    /// to copy: the hot path of the library search).
    pub fn resolve_real(&self, path: &str) -> Result<Option<(String, Kind)>, SysrootError> {
        let hit = self.resolve_memo.get_with(path, |r| match r {
            Ok(o) => Ok(o.as_ref().map(|r| (r.path.clone(), r.kind))),
            Err(why) => Err(why.clone()),
        });
        match hit {
            Some(r) => r.map_err(|why| self.memo_error(path, why)),
            None => Ok(self.resolve(path)?.map(|r| (r.path, r.kind))),
        }
    }

    /// Resolves every component but the last; the last is looked at without following it.
    /// Returns the canonical path of the entry itself (which may be a symlink) and the
    /// links met on the way to its directory. Ok(None) when the entry does not exist.
    pub fn resolve_nofollow(
        &self,
        path: &str,
    ) -> Result<Option<(String, Vec<Link>)>, SysrootError> {
        let trimmed = path.trim_end_matches('/');
        let (dir, name) = match trimmed.rsplit_once('/') {
            Some((d, n)) => (if d.is_empty() { "/" } else { d }, n),
            None => ("/", trimmed),
        };
        if name.is_empty() || name == "." || name == ".." {
            return Ok(self.resolve(path)?.map(|r| (r.path, r.links)));
        }
        let Some(parent) = self.resolve(dir)? else {
            return Ok(None);
        };
        if parent.kind != Kind::Dir {
            return Ok(None);
        }
        let full = join(&parent.path, name);
        match self.lstat(&name::to_bytes(&full)) {
            Node::Missing | Node::NotDir => Ok(None),
            Node::Failed(n) => Err(SysrootError::Io {
                path: full,
                source: io::Error::from_raw_os_error(n),
            }),
            _ => Ok(Some((full, parent.links))),
        }
    }

    /// The target of the symlink at canonical `path`, if it is one.
    pub fn link_target(&self, canonical: &str) -> Option<String> {
        match self.lstat(&name::to_bytes(canonical)) {
            Node::Symlink(t) => Some(name::from_bytes(&t).into_owned()),
            _ => None,
        }
    }

    /// [`walk::walk`] over the memoised lstat results, keeping the chain of links.
    fn walk(&self, path: &str) -> Result<Option<Resolved>, SysrootError> {
        let mut lookup = Memoised {
            root: self,
            links: Vec::new(),
        };
        match walk::walk(&name::to_bytes(path), &mut lookup) {
            Ok(Some(w)) => Ok(Some(Resolved {
                path: if w.path.is_empty() {
                    "/".to_string()
                } else {
                    name::from_bytes(&w.path).into_owned()
                },
                links: lookup.links,
                kind: w.kind,
            })),
            Ok(None) => Ok(None),
            Err(WalkError::Loop) => Err(SysrootError::Loop {
                path: path.to_string(),
            }),
            Err(WalkError::Lookup(e)) => Err(e),
        }
    }

    /// Reads the text file at `path` (resolved inside the root), at most `limit` bytes,
    /// for prose: bytes that are not UTF-8 become U+FFFD (a Latin-1 copyright file reads
    /// as text). A file whose contents are paths or file names (a package database, a
    /// loader's configuration) is read with [`Root::read_carried`], or a name in it that
    /// is not UTF-8 matches no file of the root.
    pub fn read_to_string(&self, path: &str, limit: u64) -> Result<String, SysrootError> {
        self.read_text(path, limit, |bytes| {
            String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        })
    }

    /// Reads the text file at `path` as [`Root::read_to_string`] does, for a file whose
    /// contents are paths or names of the root: bytes that are not UTF-8 are carried
    /// ([`name::from_bytes`]), so the line `/srv/caf\xe9.txt` of a dpkg file list is the
    /// path `"/srv/caf\u{10ffe9}.txt"` that the root's walk gives that file, and
    /// [`name::to_bytes`] writes the original bytes again.
    pub fn read_carried(&self, path: &str, limit: u64) -> Result<String, SysrootError> {
        self.read_text(path, limit, name::from_vec)
    }

    /// The one reader of [`Root::read_to_string`] and [`Root::read_carried`]: `path`
    /// resolved inside the root, a regular file only, at most `limit` bytes; `text` makes
    /// the text of the bytes read.
    fn read_text(
        &self,
        path: &str,
        limit: u64,
        text: fn(Vec<u8>) -> String,
    ) -> Result<String, SysrootError> {
        let r = self.resolve(path)?.ok_or_else(|| SysrootError::Io {
            path: path.into(),
            source: io::Error::from(io::ErrorKind::NotFound),
        })?;
        let io_err = |source| SysrootError::Io {
            path: path.into(),
            source,
        };
        // The walk's lstat says what the file is; it is checked again on the open file.
        if r.kind != Kind::File {
            return Err(io_err(io::Error::other("not a regular file")));
        }
        let (mut file, len) = read::open_file(&self.host_path(&r.path)).map_err(io_err)?;
        let too_big = || io_err(io::Error::other(format!("larger than {limit} bytes")));
        if len > limit {
            return Err(too_big());
        }
        // A byte over the limit is read to tell a file that grew since from one that did not.
        let mut bytes = Vec::with_capacity(len as usize);
        io::Read::read_to_end(&mut io::Read::take(&mut file, limit + 1), &mut bytes)
            .map_err(io_err)?;
        if bytes.len() as u64 > limit {
            return Err(too_big());
        }
        // Valid UTF-8 (nearly every file read this way) becomes the String without a copy
        // (both conversions keep it): dpkg's file lists are megabytes.
        Ok(text(bytes))
    }

    /// Reads a whole file by canonical path (mmap or read).
    pub fn read_canonical(&self, canonical: &str) -> io::Result<read::FileBytes> {
        read::read_file(&self.host_path(canonical))
    }

    /// The first `n` bytes of a file by canonical path.
    pub fn head_canonical(&self, canonical: &str, n: usize) -> io::Result<Vec<u8>> {
        read::read_head(&self.host_path(canonical), n)
    }

    /// The metadata of a canonical path (not following a final symlink).
    pub fn lstat_meta(&self, canonical: &str) -> io::Result<std::fs::Metadata> {
        std::fs::symlink_metadata(self.host_path(canonical))
    }

    /// Names in a directory (resolved inside the root), unsorted.
    pub fn list_dir(&self, path: &str) -> Result<Vec<String>, SysrootError> {
        let r = self.resolve(path)?.ok_or_else(|| SysrootError::Io {
            path: path.into(),
            source: io::Error::from(io::ErrorKind::NotFound),
        })?;
        let rd = std::fs::read_dir(self.host_path(&r.path)).map_err(|e| SysrootError::Io {
            path: path.into(),
            source: e,
        })?;
        Ok(rd
            .filter_map(|e| e.ok())
            .map(|e| name::from_os(&e.file_name()).into_owned())
            .collect())
    }

    /// Uid and gid of a canonical path.
    pub fn owner(&self, canonical: &str) -> Option<(u32, u32)> {
        self.lstat_meta(canonical).ok().map(|m| (m.uid(), m.gid()))
    }
}

/// One [`Root::walk`]: components looked up in the root's memo, links recorded.
struct Memoised<'r> {
    root: &'r Root,
    links: Vec<Link>,
}

impl Lookup for Memoised<'_> {
    type Target = Vec<u8>;
    type Error = SysrootError;

    fn entry(&mut self, path: &[u8]) -> Result<Entry<Vec<u8>>, SysrootError> {
        Ok(match self.root.lstat(path) {
            Node::Missing | Node::NotDir => Entry::Missing,
            Node::Failed(n) => {
                return Err(SysrootError::Io {
                    path: name::from_bytes(path).into_owned(),
                    source: io::Error::from_raw_os_error(n),
                });
            }
            Node::Symlink(target) => Entry::Symlink(target),
            Node::Dir => Entry::Is(Kind::Dir),
            Node::File(_) => Entry::Is(Kind::File),
            Node::Other => Entry::Is(Kind::Other),
        })
    }

    fn followed(&mut self, path: &[u8], target: &Vec<u8>) {
        self.links.push(Link {
            path: name::from_bytes(path).into_owned(),
            target: name::from_bytes(target).into_owned(),
        });
    }

    /// `..` above the root once a link was followed: most likely a relative target with
    /// too many `..` (written for the host's `/`), which chroot keeps inside; the warning
    /// names the last link followed, once per run.
    fn above_root(&mut self) {
        if let Some(l) = self.links.last()
            && let Ok(mut w) = self.root.above_root.lock()
        {
            w.insert(l.clone());
        }
    }
}

/// Joins a canonical directory and a name.
pub fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Lexically cleans an absolute path: removes empty and "." components (never "..").
pub fn clean(path: &str) -> String {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn root() -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::create_dir_all(d.join("usr/lib/x86_64-linux-gnu")).unwrap();
        std::fs::create_dir_all(d.join("usr/bin")).unwrap();
        symlink("usr/lib", d.join("lib")).unwrap();
        symlink("usr/bin", d.join("bin")).unwrap();
        std::fs::write(d.join("usr/lib/x86_64-linux-gnu/libz.so.1.2.13"), b"z").unwrap();
        symlink(
            "libz.so.1.2.13",
            d.join("usr/lib/x86_64-linux-gnu/libz.so.1"),
        )
        .unwrap();
        symlink("/etc/passwd", d.join("usr/lib/abs")).unwrap();
        symlink("../../../../../../x", d.join("usr/lib/escape")).unwrap();
        symlink("loop2", d.join("usr/lib/loop1")).unwrap();
        symlink("loop1", d.join("usr/lib/loop2")).unwrap();
        let r = Root::new(d).unwrap();
        (t, r)
    }

    #[test]
    fn follows_directory_and_file_links_inside_the_root() {
        let (_t, r) = root();
        let x = r
            .resolve("/lib/x86_64-linux-gnu/libz.so.1")
            .unwrap()
            .unwrap();
        assert_eq!(x.path, "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13");
        assert_eq!(x.kind, Kind::File);
        assert_eq!(
            x.links,
            [
                Link {
                    path: "/lib".into(),
                    target: "usr/lib".into()
                },
                Link {
                    path: "/usr/lib/x86_64-linux-gnu/libz.so.1".into(),
                    target: "libz.so.1.2.13".into()
                }
            ]
        );
    }

    #[test]
    fn dotdot_applies_to_the_resolved_directory() {
        let (_t, r) = root();
        assert_eq!(r.resolve("/bin/../lib").unwrap().unwrap().path, "/usr/lib");
        assert_eq!(
            r.resolve("/../../usr/./bin").unwrap().unwrap().path,
            "/usr/bin"
        );
    }

    #[test]
    fn absolute_and_escaping_targets_stay_inside() {
        let (_t, r) = root();
        assert_eq!(
            r.resolve("/usr/lib/abs").unwrap(),
            None,
            "/etc/passwd of the root, not of the host"
        );
        assert_eq!(r.resolve("/usr/lib/escape").unwrap(), None);
        assert!(
            r.links_above_root()
                .iter()
                .any(|l| l.path.contains("escape"))
        );
    }

    #[test]
    fn loops_are_errors_not_hangs() {
        let (_t, r) = root();
        assert!(matches!(
            r.resolve("/usr/lib/loop1"),
            Err(SysrootError::Loop { .. })
        ));
        assert!(
            matches!(r.resolve("/usr/lib/loop1"), Err(SysrootError::Loop { .. })),
            "memoised error"
        );
    }

    #[test]
    fn file_as_directory_is_missing() {
        let (_t, r) = root();
        assert_eq!(
            r.resolve("/usr/lib/x86_64-linux-gnu/libz.so.1/x").unwrap(),
            None
        );
    }

    #[test]
    fn nofollow_keeps_the_last_link() {
        let (_t, r) = root();
        let (p, links) = r
            .resolve_nofollow("/lib/x86_64-linux-gnu/libz.so.1")
            .unwrap()
            .unwrap();
        assert_eq!(p, "/usr/lib/x86_64-linux-gnu/libz.so.1");
        assert_eq!(links.len(), 1);
        assert_eq!(r.link_target(&p).as_deref(), Some("libz.so.1.2.13"));
    }

    #[test]
    fn root_allows_max_symlinks_and_not_one_more() {
        for (n, ok) in [(MAX_SYMLINKS, true), (MAX_SYMLINKS + 1, false)] {
            let t = tempfile::tempdir().unwrap();
            std::fs::create_dir(t.path().join("usr")).unwrap();
            for i in 0..n {
                let target = if i + 1 == n {
                    "/usr".to_string()
                } else {
                    format!("l{}", i + 1)
                };
                symlink(target, t.path().join(format!("l{i}"))).unwrap();
            }
            let r = Root::new(t.path()).unwrap();
            match r.resolve("/l0") {
                Ok(Some(x)) if ok => {
                    assert_eq!(x.path, "/usr");
                    assert_eq!(x.links.len(), MAX_SYMLINKS);
                    assert_eq!(x.links[0].target, "l1");
                }
                Err(SysrootError::Loop { path }) if !ok => assert_eq!(path, "/l0"),
                other => panic!("{n} links: {other:?}"),
            }
        }
    }

    #[test]
    fn root_warns_only_for_a_link_that_climbs_above_the_root() {
        let (_t, r) = root();
        assert_eq!(r.resolve("/../../usr").unwrap().unwrap().path, "/usr");
        assert!(
            r.links_above_root().is_empty(),
            "a typed `..` is not a link's doing"
        );
        assert_eq!(r.resolve("/lib/../..").unwrap().unwrap().path, "/");
        assert!(
            r.links_above_root().is_empty(),
            "/usr/lib, /usr, /: never above the root"
        );
        assert_eq!(r.resolve("/lib/../../..").unwrap().unwrap().path, "/");
        assert_eq!(
            r.links_above_root(),
            [Link {
                path: "/lib".into(),
                target: "usr/lib".into()
            }]
        );
    }

    #[test]
    fn root_unreadable_component_is_an_error_naming_it() {
        // Any lstat error but ENOENT/ENOTDIR (here ENAMETOOLONG, which root gets too).
        let (_t, r) = root();
        let long = format!("/bin/{}", "n".repeat(300));
        let got = r.resolve(&format!("{long}/x"));
        let want = format!("/usr/bin/{}", "n".repeat(300));
        assert!(
            matches!(&got, Err(SysrootError::Io { path, .. }) if *path == want),
            "{got:?}"
        );
    }

    /// The naive twin of the walk: the kernel itself, on links that never leave the root
    /// (where chroot and the host agree).
    #[test]
    fn resolve_matches_the_kernel_inside_the_root() {
        let (t, r) = root();
        let host = std::fs::canonicalize(t.path()).unwrap();
        for p in [
            "/lib/x86_64-linux-gnu/libz.so.1",
            "/bin/../lib/./x86_64-linux-gnu",
            "/usr/bin/../../lib",
            "/lib/x86_64-linux-gnu/../../bin",
        ] {
            let kernel = std::fs::canonicalize(host.join(&p[1..])).unwrap();
            let ours = r.resolve(p).unwrap().unwrap().path;
            assert_eq!(host.join(&ours[1..]), kernel, "{p}");
        }
    }

    #[test]
    fn soname_like_is_one_number_after_so() {
        for n in [
            "libz.so.1",
            "ld-linux-x86-64.so.2",
            "libfoo-1.2.so.0",
            "libc.so.6",
        ] {
            assert!(soname_like(n.as_bytes()), "{n}");
        }
        for n in [
            "libz.so.1.2.13",
            "libz.so",
            "libz.so.",
            "libz.so.1a",
            "libpulsecommon-16.1.so",
            "x86_64-linux-gnu",
            "",
        ] {
            assert!(!soname_like(n.as_bytes()), "{n}");
        }
    }

    /// What std says `path` is (lstat, then readlink for a link): the node `Root::lstat`
    /// must give whichever system call it makes first.
    fn std_node(path: &Path) -> Node {
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => Node::Symlink(
                std::fs::read_link(path)
                    .unwrap()
                    .into_os_string()
                    .into_vec(),
            ),
            Ok(m) if m.is_dir() => Node::Dir,
            Ok(m) if m.is_file() => Node::File(m.len()),
            Ok(_) => Node::Other,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Node::Missing,
            Err(e) if e.raw_os_error() == Some(20) => Node::NotDir,
            Err(e) => Node::Failed(errno(&e)),
        }
    }

    #[test]
    fn lstat_gives_what_std_gives_for_every_kind_under_either_kind_of_name() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let mut names = Vec::new();
        // Each kind under a soname-like name (readlink first) and a plain one (statx first).
        for (i, name) in ["libk.so.1", "libk.so.1.0"].iter().enumerate() {
            let dir = d.join(format!("d{i}"));
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join(name), b"seven b").unwrap();
            std::fs::create_dir(dir.join(format!("dir-{name}"))).unwrap();
            symlink("target", dir.join(format!("link-{name}"))).unwrap();
            nix::unistd::mkfifo(
                &dir.join(format!("fifo-{name}")),
                nix::sys::stat::Mode::S_IRUSR,
            )
            .unwrap();
            for n in [
                name.to_string(),
                format!("dir-{name}"),
                format!("link-{name}"),
                format!("fifo-{name}"),
                format!("missing-{name}"),
                format!("{name}/under-a-file.so.1"),
            ] {
                names.push(format!("/d{i}/{n}"));
            }
        }
        let r = Root::new(d).unwrap();
        let mut kinds = BTreeSet::new();
        for n in &names {
            let want = std_node(&d.join(&n[1..]));
            kinds.insert(format!("{want:?}").split('(').next().unwrap().to_string());
            assert_eq!(r.lstat(n.as_bytes()), want, "{n}");
            assert_eq!(r.lstat(n.as_bytes()), want, "{n}, from the memo");
        }
        assert_eq!(
            kinds.into_iter().collect::<Vec<_>>(),
            ["Dir", "File", "Missing", "NotDir", "Other", "Symlink"],
            "every kind of node was met"
        );
    }

    #[test]
    fn read_to_string_reads_files_only_and_within_the_limit() {
        let (t, r) = root();
        let d = t.path();
        std::fs::write(d.join("usr/lib/text"), b"one\ntwo\n").unwrap();
        std::fs::write(d.join("usr/lib/latin1"), b"caf\xe9").unwrap();
        symlink("text", d.join("usr/lib/link")).unwrap();
        nix::unistd::mkfifo(&d.join("usr/lib/fifo"), nix::sys::stat::Mode::S_IRUSR).unwrap();
        assert_eq!(r.read_to_string("/lib/link", 100).unwrap(), "one\ntwo\n");
        assert_eq!(r.read_to_string("/usr/lib/text", 8).unwrap(), "one\ntwo\n");
        assert_eq!(
            r.read_to_string("/usr/lib/latin1", 100).unwrap(),
            "caf\u{fffd}"
        );
        let err = |p: &str, limit| r.read_to_string(p, limit).unwrap_err().to_string();
        assert!(err("/usr/lib/text", 7).contains("larger than 7 bytes"));
        // Refused without opening it: an open would wait for a writer forever.
        assert!(err("/usr/lib/fifo", 100).contains("not a regular file"));
        assert!(err("/usr/lib", 100).contains("not a regular file"));
        assert!(err("/usr/lib/none", 100).contains("/usr/lib/none"));
    }

    #[test]
    fn read_carried_keeps_the_bytes_of_a_name_that_is_not_utf8() {
        let (t, r) = root();
        let d = t.path();
        std::fs::write(d.join("usr/lib/latin1"), b"/srv/caf\xe9.txt\n").unwrap();
        std::fs::write(d.join("usr/lib/text"), "/srv/café.txt\n").unwrap();
        nix::unistd::mkfifo(&d.join("usr/lib/fifo"), nix::sys::stat::Mode::S_IRUSR).unwrap();
        let text = r.read_carried("/usr/lib/latin1", 100).unwrap();
        assert_eq!(text, "/srv/caf\u{10ffe9}.txt\n");
        assert_eq!(&*name::to_bytes(&text), b"/srv/caf\xe9.txt\n");
        assert_eq!(
            r.read_carried("/usr/lib/text", 100).unwrap(),
            "/srv/café.txt\n"
        );
        // The checks are read_to_string's.
        let err = |p: &str, limit| r.read_carried(p, limit).unwrap_err().to_string();
        assert!(err("/usr/lib/latin1", 7).contains("larger than 7 bytes"));
        assert!(err("/usr/lib/fifo", 100).contains("not a regular file"));
        assert!(err("/usr/lib", 100).contains("not a regular file"));
        assert!(err("/usr/lib/none", 100).contains("/usr/lib/none"));
    }

    #[test]
    fn clean_is_lexical() {
        assert_eq!(clean("/a/./b//c/"), "/a/b/c");
        assert_eq!(clean("/a/../b"), "/a/../b");
    }
}
