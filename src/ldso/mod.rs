//! The glibc loader's library search, for one architecture and one root.
//!
//! [`Loader`] holds what does not change between requests: the root, the architecture's
//! system directories and `$LIB`, the CPU profile (hwcaps subdirectories, `$PLATFORM`), the
//! parsed ld.so.cache, the LD_LIBRARY_PATH option. [`Loader::search`] is the search order
//! of ld.so(8) and glibc 2.36's `_dl_map_object`, written once, one block per step. It is
//! pure with respect to the set of already-loaded objects (that check belongs to
//! `resolve.rs`), so it can run in parallel for many requests.

pub mod cache;
pub mod conf;
pub mod dst;
pub mod hwcaps;

use crate::arch::{Arch, SystemDirs};
use crate::elf::Verdict;
use crate::objects::ObjectCache;
use crate::sysroot::{Kind, Root, SysrootError};
use cache::{CacheIssue, LdCache};
use dst::SearchDir;
use hwcaps::CpuProfile;

/// Where a library was found: the step of the search that found it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// DT_NEEDED (or filter) naming a path: used as is.
    Path,
    /// DT_RPATH of object `owner` (the requester or one of its loaders).
    Rpath { owner: usize, entry: String },
    /// The `--library-path` option (LD_LIBRARY_PATH).
    LibraryPath { entry: String },
    /// DT_RUNPATH of the requester.
    Runpath { owner: usize, entry: String },
    /// /etc/ld.so.cache.
    Cache,
    /// A default (trusted) directory.
    DefaultDir,
}

/// One directory searched for a name that was not found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Tried {
    /// The directory (with a trailing '/'; "" is the current directory) or the cache path.
    pub dir: String,
    /// Which step searched it.
    pub step: Step,
}

/// A candidate file skipped because it is for another class or machine.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    pub path: String,
    #[serde(serialize_with = "crate::reason::as_text")]
    pub why: SkipWhy,
}

/// Why the loader skips a candidate and goes on searching.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipWhy {
    /// 32-bit in a 64-bit process (or the reverse).
    WrongClass,
    /// Another machine (Debian's patch: skipped, not an error).
    WrongMachine,
}

impl SkipWhy {
    /// The reason of a verdict that skips, None for one that does not.
    pub fn of(v: &Verdict) -> Option<SkipWhy> {
        match v {
            Verdict::OtherClass => Some(SkipWhy::WrongClass),
            Verdict::OtherMachine => Some(SkipWhy::WrongMachine),
            Verdict::Ok | Verdict::Fatal(_) => None,
        }
    }
}

impl std::fmt::Display for SkipWhy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SkipWhy::WrongClass => "wrong ELF class",
            SkipWhy::WrongMachine => "wrong machine",
        })
    }
}

/// The answer of the search for one name.
#[derive(Clone, Debug)]
pub enum Search {
    Found {
        /// The path the loader opens (absolute inside the root).
        path: String,
        /// Canonical path (the file's identity).
        real: String,
        /// The directory searched, with its hwcaps/legacy subdirectory, is the path up
        /// to its last '/' ([`crate::resolve::Object::dir`]).
        step: Step,
        /// The parsed file (or why it does not parse) and its size: what loading it
        /// needs, kept with the answer so that each program loading it looks up nothing
        /// more.
        info: Result<std::sync::Arc<crate::elf::ElfInfo>, String>,
        size: Option<u64>,
    },
    Missing {
        tried: Vec<Tried>,
        skipped: Vec<Skipped>,
    },
    /// The loader stops with an error on this candidate (e.g. "invalid ELF header").
    Fatal { path: String, error: String },
}

/// The search-relevant facts of one object of the requester's loader chain.
#[derive(Clone, Copy, Debug)]
pub struct ChainLink<'a> {
    pub obj: usize,
    /// Its effective DT_RPATH, decomposed (empty when it has none or it has DT_RUNPATH).
    pub rpath: &'a [SearchDir],
}

/// One library request, with everything the search needs to know about the requester.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The name, without '/'.
    pub name: &'a str,
    /// The requesting object (the owner of `runpath`).
    pub requester: usize,
    /// The requester and its loaders up to the main program, requester first; may be
    /// empty when none of them has a DT_RPATH.
    pub chain: &'a [ChainLink<'a>],
    /// The main program.
    pub main: ChainLink<'a>,
    /// Whether the requester has a DT_RUNPATH (then no RPATH is used at all).
    pub has_runpath: bool,
    /// The requester's DT_RUNPATH, decomposed.
    pub runpath: &'a [SearchDir],
    /// DF_1_NODEFLIB of the requester.
    pub nodeflib: bool,
    /// `--library-path` (LD_LIBRARY_PATH), decomposed with the main program's `$ORIGIN`.
    pub library_path: &'a [SearchDir],
}

/// Loader facts for one root and architecture, shared by every traced program.
pub struct Loader {
    /// Names in the root's /etc/ld.so.preload, in order (comments removed).
    preload: Vec<String>,
    /// Parsed files; candidates are parsed when they are checked.
    objects: std::sync::Arc<ObjectCache>,
    root: std::sync::Arc<Root>,
    arch: Arch,
    dirs: SystemDirs,
    cpu: CpuProfile,
    /// Subdirectories tried in every search directory, "" last.
    subdirs: Vec<String>,
    cache: Option<LdCache>,
    /// Why the cache is not used (missing cache: None here).
    cache_issue: Option<CacheIssue>,
    /// The `--library-path` string (LD_LIBRARY_PATH), if given.
    library_path: Option<String>,
    verdicts: crate::memo::Memo<String, Verdict>,
    /// ld.so.cache entries of this architecture by name (see `cache_paths`).
    cache_index: std::sync::OnceLock<std::collections::HashMap<String, Vec<String>>>,
    /// ld.so.cache answers by name.
    cache_memo: crate::memo::Memo<String, Option<String>>,
    /// Usable subdirectories of each search directory (see `existing_subdirs`).
    subdir_memo: crate::memo::Memo<String, std::sync::Arc<Vec<usize>>>,
    /// Answers to requests that depend on (name, DF_1_NODEFLIB) only.
    /// Indexed by DF_1_NODEFLIB (0 or 1), keyed by name. Each answer is a cell computed
    /// once: a thread that asks while another computes it waits for that answer instead
    /// of searching the same directories again (the tracer searches ahead on other
    /// threads while its walk asks in order).
    plain_searches: [crate::memo::Memo<String, PlainSearch>; 2],
    conf_dirs: std::sync::OnceLock<Vec<String>>,
}

/// One shared answer of [`Loader::search_shared`], computed at most once.
type PlainSearch = std::sync::Arc<std::sync::OnceLock<std::sync::Arc<Search>>>;

/// The loader's preload list file.
pub const LD_SO_PRELOAD: &str = "/etc/ld.so.preload";

/// The names of the root's /etc/ld.so.preload as rtld.c reads them: `#` starts a comment
/// to the end of the line, names are separated by spaces, tabs, newlines or ':'. Read
/// carried: rtld opens each name by its bytes, UTF-8 or not.
fn read_preload(root: &Root) -> Vec<String> {
    let Ok(text) = root.read_carried(LD_SO_PRELOAD, 1 << 20) else {
        return Vec::new();
    };
    parse_preload(&text)
}

/// See `read_preload`.
pub fn parse_preload(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| {
            l.split([':', ' ', '\t'])
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|n| !n.is_empty())
        .collect()
}

/// Directories remembered per missing name (for reports).
pub const MAX_TRIED: usize = 64;

/// Path of the cache inside the root.
pub const LD_SO_CACHE: &str = "/etc/ld.so.cache";
/// Largest ld.so.cache read.
const MAX_CACHE: u64 = 256 << 20;

impl Loader {
    /// Sets up the loader facts for `root`, with a private cache of parsed files.
    pub fn new(
        root: std::sync::Arc<Root>,
        arch: Arch,
        cpu: CpuProfile,
        library_path: Option<String>,
    ) -> Loader {
        let objects = std::sync::Arc::new(ObjectCache::new(crate::elf::Options::default()));
        Loader::with_objects(root, arch, cpu, library_path, objects)
    }

    /// Sets up the loader facts for `root`; candidate files found by the search are parsed
    /// into `objects` (share it with the tracer so every file is read once). The system
    /// directories are read from the root's own ld.so when it is there (so Fedora-style
    /// roots work), else Debian's.
    pub fn with_objects(
        root: std::sync::Arc<Root>,
        arch: Arch,
        cpu: CpuProfile,
        library_path: Option<String>,
        objects: std::sync::Arc<ObjectCache>,
    ) -> Loader {
        let dirs = root
            .resolve(arch.loader_path())
            .ok()
            .flatten()
            .filter(|r| r.kind == Kind::File)
            .and_then(|r| root.read_canonical(&r.path).ok())
            .and_then(|bytes| SystemDirs::from_loader_bytes(arch, &bytes))
            .unwrap_or_else(|| SystemDirs::debian(arch));
        let (cache, cache_issue) = match root.resolve(LD_SO_CACHE) {
            Ok(Some(r)) if r.kind == Kind::File => match root.read_canonical(&r.path) {
                Ok(bytes) if (bytes.len() as u64) <= MAX_CACHE => {
                    let (c, issue) = LdCache::parse(bytes);
                    let issue = issue.or_else(|| c.issue_for(arch));
                    (Some(c), issue)
                }
                Ok(_) => (
                    None,
                    Some(CacheIssue::Corrupt("larger than 256 MiB".into())),
                ),
                Err(e) => (None, Some(CacheIssue::Corrupt(e.to_string()))),
            },
            _ => (None, None),
        };
        let subdirs = cpu.subdirs();
        let preload = read_preload(&root);
        Loader {
            root,
            arch,
            dirs,
            cpu,
            subdirs,
            cache,
            cache_issue,
            library_path,
            verdicts: Default::default(),
            plain_searches: Default::default(),
            subdir_memo: Default::default(),
            cache_memo: Default::default(),
            cache_index: std::sync::OnceLock::new(),
            conf_dirs: std::sync::OnceLock::new(),
            preload,
            objects,
        }
    }

    /// The root it searches.
    pub fn root(&self) -> &std::sync::Arc<Root> {
        &self.root
    }

    /// The architecture it loads for.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The default directories, in search order.
    pub fn default_dirs(&self) -> &[String] {
        &self.dirs.dirs
    }

    /// `$LIB` of the root (`lib/x86_64-linux-gnu` on Debian).
    pub fn lib(&self) -> &str {
        &self.dirs.lib
    }

    /// The names of the root's /etc/ld.so.preload, in order.
    pub fn preload(&self) -> &[String] {
        &self.preload
    }

    /// The `--library-path` (LD_LIBRARY_PATH) string, if given.
    pub fn library_path(&self) -> Option<&str> {
        self.library_path.as_deref()
    }

    /// The CPU profile (hwcaps subdirectories, `$PLATFORM`).
    pub fn cpu(&self) -> &CpuProfile {
        &self.cpu
    }

    /// The parsed-file cache candidates go into.
    pub fn objects(&self) -> &ObjectCache {
        &self.objects
    }

    /// Why the root's ld.so.cache is not used, if it is there and unusable (the loader
    /// then goes on with the default directories).
    pub fn cache_issue(&self) -> Option<&CacheIssue> {
        self.cache_issue.as_ref()
    }

    /// `$PLATFORM`, `$LIB` and an origin, for DST expansion.
    pub fn dst_values<'a>(&'a self, origin: Option<&'a str>) -> dst::DstValues<'a> {
        dst::DstValues {
            origin,
            platform: &self.cpu.platform,
            lib: &self.dirs.lib,
        }
    }

    /// Directories from the root's ld.so.conf (read once, only for diagnostics).
    pub fn conf_dirs(&self) -> &[String] {
        self.conf_dirs
            .get_or_init(|| conf::configured_dirs(&self.root))
    }

    /// The loader's verdict on the file at `path` (as opened): resolves it inside the root
    /// and checks its header. Ok(None) when it does not exist.
    pub fn open_verify(&self, path: &str) -> Result<Option<(String, Verdict)>, SysrootError> {
        let Some((real, kind)) = self.root.resolve_real(path)? else {
            return Ok(None);
        };
        if let Some(v) = self.verdicts.get(&real) {
            return Ok(Some((real, v)));
        }
        let r = crate::sysroot::Resolved {
            path: real,
            links: Vec::new(),
            kind,
        };
        let v = match r.kind {
            Kind::Dir => Verdict::Fatal("cannot read file data: Is a directory".into()),
            Kind::Other => Verdict::Fatal("cannot read file data: not a regular file".into()),
            Kind::File => match self.objects.verify(
                &self.root,
                &r.path,
                self.arch.elf_machine(),
                self.arch.libc_abi_max(),
            ) {
                Ok(v) => v,
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    return Err(SysrootError::Io {
                        path: path.into(),
                        source: e,
                    });
                }
                Err(e) => Verdict::Fatal(format!("cannot read file data: {e}")),
            },
        };
        self.verdicts.insert(r.path.clone(), v.clone());
        Ok(Some((r.path, v)))
    }

    /// Every path the root's ld.so.cache lists for `name` with this architecture's flags,
    /// hwcaps entries included, in file order (indexed once).
    pub fn cache_paths(&self, name: &str) -> &[String] {
        let index = self.cache_index.get_or_init(|| {
            let mut m: std::collections::HashMap<String, Vec<String>> =
                std::collections::HashMap::new();
            if let Some(c) = &self.cache {
                for e in c.entries().filter(|e| e.flags == self.arch.cache_flags()) {
                    m.entry(e.name).or_default().push(e.path);
                }
            }
            m
        });
        index.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// `cache.lookup(name)`, memoised: the cache is fixed for the run.
    fn cache_lookup(&self, cache: &LdCache, name: &str) -> Option<String> {
        if let Some(v) = self.cache_memo.get(name) {
            return v;
        }
        let v = cache.lookup(name, &self.cpu);
        self.cache_memo.insert(name.to_string(), v.clone());
        v
    }

    /// Indices (into `subdirs`) of the subdirectories of `dir` that may hold candidates:
    /// those that resolve to a directory, or fail to resolve with an error (a loop, no
    /// permission), whose candidates must still be tried for their errors. Computed once
    /// per directory.
    fn existing_subdirs(&self, dir: &str) -> std::sync::Arc<Vec<usize>> {
        if let Some(v) = self.subdir_memo.get(dir) {
            return v;
        }
        let usable = |p: &str| match self.root.resolve(&absolute(p)) {
            Ok(None) => false,
            Ok(Some(r)) => r.kind == Kind::Dir,
            Err(_) => true,
        };
        let v: Vec<usize> = if usable(dir) {
            self.subdirs
                .iter()
                .enumerate()
                .filter(|(_, sub)| sub.is_empty() || usable(&format!("{dir}{sub}")))
                .map(|(i, _)| i)
                .collect()
        } else {
            Vec::new()
        };
        let v = std::sync::Arc::new(v);
        self.subdir_memo.insert(dir.to_string(), v.clone());
        v
    }

    /// The answer for a usable file found at `path` (canonical `real`) by `step`.
    fn found(&self, path: String, real: String, step: Step) -> Search {
        let info = self.objects.get(&self.root, &real);
        let size = self.root.file_size(&real);
        Search::Found {
            path,
            real,
            step,
            info,
            size,
        }
    }

    /// glibc's `open_path`: every directory of `dirs`, every subdirectory, in order.
    fn open_path(
        &self,
        name: &str,
        dirs: &[SearchDir],
        step: impl Fn(&SearchDir) -> Step,
        acc: &mut Acc,
    ) -> Option<Search> {
        for d in dirs {
            // The report keeps the first MAX_TRIED directories: a hostile RPATH of thousands
            // of directories times thousands of missing names must not cost gigabytes.
            if acc.tried.len() < MAX_TRIED {
                acc.tried.push(Tried {
                    dir: d.dir.clone(),
                    step: step(d),
                });
            }
            // glibc marks a directory (and each of its hwcaps/legacy subdirectories)
            // "nonexisting" after one failed stat and does not look in it again. Likewise,
            // once per directory: only the subdirectories that resolve to directories are
            // tried. Without this, 8000 absent RPATH directories and 1000 names made 48
            // million lookups (minutes), and every name probed eleven subdirectories.
            let subs = self.existing_subdirs(&d.dir);
            if subs.is_empty() {
                continue;
            }
            let mut last_loop = false;
            for &si in subs.iter() {
                let sub = &self.subdirs[si];
                let opened = absolute(&format!("{}{}{}", d.dir, sub, name));
                last_loop = false;
                match self.open_verify(&opened) {
                    Ok(None) => {}
                    Ok(Some((real, Verdict::Ok))) => {
                        return Some(self.found(opened, real, step(d)));
                    }
                    Ok(Some((_, Verdict::OtherClass))) => acc.skipped.push(Skipped {
                        path: opened,
                        why: SkipWhy::WrongClass,
                    }),
                    Ok(Some((_, Verdict::OtherMachine))) => acc.skipped.push(Skipped {
                        path: opened,
                        why: SkipWhy::WrongMachine,
                    }),
                    Ok(Some((_, Verdict::Fatal(error)))) => {
                        return Some(Search::Fatal {
                            path: opened,
                            error,
                        });
                    }
                    Err(SysrootError::Loop { .. }) => last_loop = true,
                    // EACCES and other unreadable candidates are skipped, as by open_path.
                    Err(_) => {}
                }
            }
            // open_path gives up on the whole list when the last open failed with an error
            // other than ENOENT/EACCES (here: a symlink loop, ELOOP).
            if last_loop {
                return None;
            }
        }
        None
    }

    /// The search order of ld.so(8), glibc 2.36 (`_dl_map_object`, name without '/').
    pub fn search(&self, req: &Request) -> Search {
        (*self.search_shared(req)).clone()
    }

    /// [`Loader::search`], shared: most requests have no RPATH, RUNPATH or LD_LIBRARY_PATH
    /// to consider, so their answer depends on the name and DF_1_NODEFLIB only and is
    /// computed once for every program of the run.
    pub fn search_shared(&self, req: &Request) -> std::sync::Arc<Search> {
        let plain = req.library_path.is_empty()
            && req.runpath.is_empty()
            && req.chain.iter().all(|l| l.rpath.is_empty())
            && req.main.rpath.is_empty();
        if plain {
            let memo = &self.plain_searches[req.nodeflib as usize];
            // A search made before: its answer, without a clone of the cell (each clone
            // and drop of a shared count is a cache line the other thread wants too).
            if let Some(Some(s)) = memo.get_with(req.name, |cell| cell.get().cloned()) {
                return s;
            }
            let cell = memo.get_or_insert_with(req.name, PlainSearch::default);
            return cell
                .get_or_init(|| std::sync::Arc::new(self.search_uncached(req)))
                .clone();
        }
        std::sync::Arc::new(self.search_uncached(req))
    }

    fn search_uncached(&self, req: &Request) -> Search {
        let name = req.name;
        let mut acc = Acc::default();

        // 1. DT_RPATH of the requester, then of each object that loaded it, up to the
        //    executable; skipped entirely when the requester has DT_RUNPATH.
        if !req.has_runpath {
            let mut did_main = false;
            for link in req.chain {
                if link.rpath.is_empty() {
                    continue;
                }
                let owner = link.obj;
                if let Some(r) = self.open_path(
                    name,
                    link.rpath,
                    |d| Step::Rpath {
                        owner,
                        entry: d.entry.clone(),
                    },
                    &mut acc,
                ) {
                    return r;
                }
                did_main |= link.obj == req.main.obj;
            }
            // 1b. The executable's DT_RPATH, if it was not on the chain.
            if !did_main && !req.main.rpath.is_empty() {
                let owner = req.main.obj;
                if let Some(r) = self.open_path(
                    name,
                    req.main.rpath,
                    |d| Step::Rpath {
                        owner,
                        entry: d.entry.clone(),
                    },
                    &mut acc,
                ) {
                    return r;
                }
            }
        }

        // 2. LD_LIBRARY_PATH (only the --library-path option; never the environment).
        if !req.library_path.is_empty()
            && let Some(r) = self.open_path(
                name,
                req.library_path,
                |d| Step::LibraryPath {
                    entry: d.entry.clone(),
                },
                &mut acc,
            )
        {
            return r;
        }

        // 3. DT_RUNPATH of the requester only.
        if !req.runpath.is_empty() {
            let owner = req.requester;
            if let Some(r) = self.open_path(
                name,
                req.runpath,
                |d| Step::Runpath {
                    owner,
                    entry: d.entry.clone(),
                },
                &mut acc,
            ) {
                return r;
            }
        }

        // 4. /etc/ld.so.cache of the root, unless the requester has DF_1_NODEFLIB and the
        //    entry lies in a default directory.
        if let Some(cache) = &self.cache {
            acc.tried.push(Tried {
                dir: LD_SO_CACHE.into(),
                step: Step::Cache,
            });
            if let Some(cached) = self.cache_lookup(cache, name) {
                let in_default = self
                    .dirs
                    .dirs
                    .iter()
                    .any(|d| cached.starts_with(d.as_str()));
                if !(req.nodeflib && in_default) {
                    match self.open_verify(&cached) {
                        Ok(Some((real, Verdict::Ok))) => {
                            return self.found(cached, real, Step::Cache);
                        }
                        Ok(Some((_, Verdict::Fatal(error)))) => {
                            return Search::Fatal {
                                path: cached,
                                error,
                            };
                        }
                        Ok(Some((_, v))) => {
                            if let Some(why) = SkipWhy::of(&v) {
                                acc.skipped.push(Skipped { path: cached, why });
                            }
                        }
                        Ok(None) | Err(_) => {}
                    }
                }
            }
        }

        // 5. The default directories, unless the requester has DF_1_NODEFLIB.
        if !req.nodeflib {
            let defaults: Vec<SearchDir> = self
                .dirs
                .dirs
                .iter()
                .map(|d| SearchDir {
                    entry: d.clone(),
                    dir: d.clone(),
                })
                .collect();
            if let Some(r) = self.open_path(name, &defaults, |_| Step::DefaultDir, &mut acc) {
                return r;
            }
        }

        Search::Missing {
            tried: acc.tried,
            skipped: acc.skipped,
        }
    }

    /// For a name the loader cannot find: a directory named by ld.so.conf that holds it
    /// (the cache is stale: run ldconfig in the root).
    pub fn stale_cache_hint(&self, name: &str) -> Option<String> {
        for d in self.conf_dirs() {
            let p = if d == "/" {
                format!("/{name}")
            } else {
                format!("{d}/{name}")
            };
            if let Ok(Some((_, Verdict::Ok))) = self.open_verify(&p) {
                return Some(p);
            }
        }
        None
    }
}

#[derive(Default)]
struct Acc {
    tried: Vec<Tried>,
    skipped: Vec<Skipped>,
}

/// An absolute form of a path the loader opens relative to its cwd ("/").
pub fn absolute(p: &str) -> String {
    if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{p}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preload_names_like_rtld() {
        assert_eq!(
            parse_preload("# c\nlibp.so.1 /opt/q.so\tlibr.so:libs.so # x\n\n"),
            ["libp.so.1", "/opt/q.so", "libr.so", "libs.so"]
        );
        assert!(parse_preload("   \n# only\n").is_empty());
    }
}
