//! The loader's breadth-first walk for one program, in load order.
//!
//! glibc's `_dl_map_object_deps`: a search list that starts with the program; each object's
//! DT_NEEDED entries are mapped in order and appended; a DT_FILTER/DT_AUXILIARY filtee is
//! inserted before its filter (and moved there in the load order). The walk is sequential,
//! because the answer to "already loaded?" depends on everything before it; the slow part
//! (searching directories, reading and parsing files) does not, so it is done ahead for a
//! whole wave of objects in parallel and merged in order. A program traced alone is
//! searched ahead on one thread instead (`Ahead`), and only once a search has missed the
//! page cache: from the cache, the walk alone is faster. Output never depends on the
//! thread count.
//!
//! [`ObjectCache`] shares parsed files between programs: tracing a whole /usr/bin parses
//! libc once.

use std::sync::Arc;

use rayon::prelude::*;

use crate::arch::Arch;
use crate::elf::{self, DepKind, ElfInfo};
use crate::ldso::dst::{self, SearchDir};
use crate::ldso::{ChainLink, Loader, Request, Step};
use crate::reason::Via;
use crate::resolve::{
    Applied, Edge, FileIds, Files, How, Identity, LinkMaps, Missing, Object, Outcome, Prepared,
    Slot,
};
use crate::sysroot::{Kind, Root, SysrootError};

pub use crate::objects::ObjectCache;

/// Maps keyed by object indices: foldhash, never iterated for output.
type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A set of object indices (dense: objects are numbered from 0).
#[derive(Debug, Default, Clone)]
pub struct IdSet(Vec<bool>);

impl IdSet {
    pub fn new() -> IdSet {
        IdSet(Vec::new())
    }
    /// Adds `i`; true when it was not there.
    pub fn insert(&mut self, i: usize) -> bool {
        if i >= self.0.len() {
            self.0.resize(i + 1, false);
        }
        !std::mem::replace(&mut self.0[i], true)
    }
    pub fn contains(&self, i: &usize) -> bool {
        self.0.get(*i).copied().unwrap_or(false)
    }
    /// Forgets every index from `n` on.
    pub fn truncate(&mut self, n: usize) {
        self.0.truncate(n);
    }
}

impl<const N: usize> From<[usize; N]> for IdSet {
    fn from(a: [usize; N]) -> IdSet {
        let mut s = IdSet::new();
        for i in a {
            s.insert(i);
        }
        s
    }
}

/// Why a program cannot be traced at all (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("{path}: no such file in the root")]
    NotFound { path: String },
    #[error("{path}: is a directory")]
    IsDir { path: String },
    #[error("{0}")]
    Sysroot(#[from] SysrootError),
    #[error("{path}: cannot read: {why}")]
    Unreadable { path: String, why: String },
    #[error("{path}: {why}")]
    NotElf { path: String, why: String },
    #[error(
        "{path}: unsupported ELF ({why}); minroot traces 64-bit little-endian x86_64 and aarch64 programs"
    )]
    Unsupported { path: String, why: String },
}

/// The interpreter named by PT_INTERP.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Interp {
    pub path: String,
    /// Canonical path, None when it is not in the root.
    pub real: Option<String>,
    /// Set when the program has no PT_INTERP and is traced as `ld.so --list` would.
    pub implied: bool,
}

/// The loader would stop with this error.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Fatal {
    pub name: String,
    pub requested_by: usize,
    pub error: String,
}

/// Everything the loader would do for one program.
#[derive(Debug)]
pub struct Trace {
    /// The program as given.
    pub program: String,
    pub arch: Arch,
    pub info: Arc<ElfInfo>,
    /// The loader's list; read through the queries below.
    maps: LinkMaps,
    pub interp: Option<Interp>,
    pub fatal: Option<Fatal>,
    /// No interpreter and no dependencies: nothing for a loader to do.
    pub is_static: bool,
    /// LD_LIBRARY_PATH decomposed with the program's origin (kept for later dlopen calls).
    library_path: Vec<SearchDir>,
    /// Objects whose dependencies have been walked.
    processed: IdSet,
    /// Members of the program's plugin set that its host loaded first, by path, before
    /// the program's own needs were walked ([`Tracer::trace_member`]), in load order.
    host_first: Vec<usize>,
}

/// The result of a `dlopen` request added to a trace.
#[derive(Debug)]
pub enum Dlopened {
    /// Loaded by this request (its dependencies are walked too).
    Loaded(usize),
    Already(usize),
    Missing(Missing),
    /// dlopen would fail with this error (the program goes on).
    Failed(String),
}

impl Trace {
    /// True when the loader finds everything (missing DT_AUXILIARY filtees do not count).
    pub fn complete(&self) -> bool {
        self.fatal.is_none()
            && self
                .interp
                .as_ref()
                .is_none_or(|i| i.real.is_some() || i.implied)
            && self
                .maps
                .missing
                .iter()
                .all(|m| m.kind == DepKind::Auxiliary)
    }

    /// Loaded libraries in load order (not the program, ld.so or the vDSO).
    pub fn libraries(&self) -> impl Iterator<Item = (usize, &Object)> {
        self.loaded().filter(|(_, o)| !o.hidden)
    }

    /// Every loaded object in load order, with its index: the program, ld.so and the vDSO
    /// included.
    pub fn loaded(&self) -> impl Iterator<Item = (usize, &Object)> {
        self.maps.order.iter().filter_map(|s| match s {
            Slot::Obj(i) => Some((*i, &self.maps.objects[*i])),
            Slot::Missing(_) => None,
        })
    }

    /// The loader's list in load order: objects and the names it could not find (ldd
    /// prints `name => not found` at that position).
    pub fn order(&self) -> impl Iterator<Item = Slot> + '_ {
        self.maps.order.iter().copied()
    }

    /// How many objects the loader has loaded (ld.so and the vDSO included).
    pub fn object_count(&self) -> usize {
        self.maps.objects.len()
    }

    /// Object `i` (0 is the program).
    pub fn object(&self, i: usize) -> &Object {
        &self.maps.objects[i]
    }

    /// The names the loader cannot find, in the order it met them.
    pub fn missing(&self) -> &[Missing] {
        &self.maps.missing
    }

    /// Missing name `m` (an index of [`Slot::Missing`] or [`Outcome::Missing`]).
    pub fn missing_at(&self, m: usize) -> &Missing {
        &self.maps.missing[m]
    }

    /// The search step that found a library, with its owner named (what renders).
    pub fn via(&self, step: &Step) -> Via {
        match step {
            Step::Path => Via::Path,
            Step::Rpath { owner, entry } => Via::Rpath {
                of: self.maps.objects[*owner].path.clone(),
                entry: entry.clone(),
            },
            Step::Runpath { owner, entry } => Via::Runpath {
                of: self.maps.objects[*owner].path.clone(),
                entry: entry.clone(),
            },
            Step::LibraryPath { entry } => Via::LibraryPath {
                entry: entry.clone(),
            },
            Step::Cache => Via::Cache,
            Step::DefaultDir => Via::DefaultDir,
        }
    }

    /// The objects a host loaded first, as members of the plugin set of a library traced
    /// with [`Tracer::trace_member`] (empty for any other trace).
    pub fn host_first(&self) -> &[usize] {
        &self.host_first
    }

    /// Whether object `o` was loaded first by the host, as a plugin-set member.
    pub fn is_host_first(&self, o: usize) -> bool {
        self.host_first.contains(&o)
    }

    /// The object of the loaded library whose DT_SONAME is `soname`, if any.
    pub fn find_soname(&self, soname: &str) -> Option<usize> {
        self.loaded()
            .find(|(_, o)| o.info.as_ref().and_then(|i| i.soname.as_deref()) == Some(soname))
            .map(|(i, _)| i)
    }
}

/// Traces programs inside one root for one architecture.
pub struct Tracer<'a> {
    loader: &'a Loader,
    cache: &'a ObjectCache,
    /// Device and inode of the libraries whose identity was asked, for all the programs
    /// traced.
    ids: FileIds,
    /// Search and parse each wave of dependencies ahead in parallel. Worth it for one
    /// program; when many programs are traced in parallel, they keep the cores busy.
    prefetch: bool,
    /// The loader again, shared with the thread that searches ahead of a walk without
    /// waiting for its waves ([`Tracer::searching_ahead`]).
    shared: Option<Arc<Loader>>,
}

impl<'a> Tracer<'a> {
    pub fn new(loader: &'a Loader, cache: &'a ObjectCache) -> Tracer<'a> {
        Tracer {
            loader,
            cache,
            ids: FileIds::default(),
            prefetch: true,
            shared: None,
        }
    }

    /// The same tracer, whose look-ahead goes on through the whole closure on another
    /// thread while the walk goes on (`Ahead`), once a wave is large enough to be worth
    /// it. `loader` is the tracer's loader (shared with that thread); its parsed files
    /// should be the tracer's, or each file is parsed twice.
    pub fn searching_ahead(mut self, loader: Arc<Loader>) -> Self {
        debug_assert!(std::ptr::eq(&*loader, self.loader));
        self.shared = Some(loader);
        self
    }

    /// The loader facts it traces with.
    pub fn loader(&self) -> &'a Loader {
        self.loader
    }

    /// The same tracer without the parallel look-ahead.
    pub fn sequential(mut self) -> Self {
        self.prefetch = false;
        self
    }

    /// Reads and checks the program at `path` (inside the root).
    pub fn inspect_program(
        root: &Root,
        cache: &ObjectCache,
        path: &str,
    ) -> Result<(String, Arc<ElfInfo>), TraceError> {
        let (real, kind) = root
            .resolve_real(path)?
            .ok_or_else(|| TraceError::NotFound { path: path.into() })?;
        match kind {
            Kind::Dir => return Err(TraceError::IsDir { path: path.into() }),
            Kind::Other => {
                return Err(TraceError::Unreadable {
                    path: path.into(),
                    why: "not a regular file".into(),
                });
            }
            Kind::File => {}
        }
        // The parse opens the file once (and remembers it); the first bytes are read
        // again only to say why a file that does not parse is no program. The checks
        // and their order are those of a head read first: unreadable, then not ELF (or
        // a script), then a malformed ELF file.
        let info = match cache.get(root, &real) {
            Ok(info) => info,
            Err(why) => {
                let head = root
                    .head_canonical(&real, 64)
                    .map_err(|e| TraceError::Unreadable {
                        path: path.into(),
                        why: e.to_string(),
                    })?;
                if !elf::is_elf(&head) {
                    let why = if head.starts_with(b"#!") {
                        "a script, not an ELF program (trace its interpreter)"
                    } else {
                        "not an ELF file"
                    };
                    return Err(TraceError::NotElf {
                        path: path.into(),
                        why: why.into(),
                    });
                }
                return Err(TraceError::NotElf {
                    path: path.into(),
                    why,
                });
            }
        };
        if !info.class64 || !info.little_endian {
            return Err(TraceError::Unsupported {
                path: path.into(),
                why: format!(
                    "{}-bit {}",
                    if info.class64 { 64 } else { 32 },
                    if info.little_endian { "LE" } else { "BE" }
                ),
            });
        }
        if Arch::from_elf_machine(info.machine).is_none() {
            return Err(TraceError::Unsupported {
                path: path.into(),
                why: format!("machine {}", info.machine),
            });
        }
        Ok((real, info))
    }

    /// Traces one program; `path` is inside the root.
    pub fn trace(&self, path: &str) -> Result<Trace, TraceError> {
        self.trace_after(path, &[])
    }

    /// Traces `path` as a host loads it after it has loaded each of `first` by path
    /// (`dlopen`, with its dependencies): a plugin after the plugin-set members that
    /// provide what it needs. A `first` path that cannot be loaded is left out, as a
    /// failed dlopen leaves nothing behind. With `first` empty this is [`Tracer::trace`].
    fn trace_after(&self, path: &str, first: &[String]) -> Result<Trace, TraceError> {
        let inspected = Self::inspect_program(self.loader.root(), self.cache, path)?;
        self.trace_inspected(path, first, inspected)
    }

    /// [`Tracer::trace`] of a program the caller has inspected already
    /// ([`Tracer::inspect_program`]: its canonical path and parsed file).
    pub fn trace_program(
        &self,
        path: &str,
        inspected: (String, Arc<ElfInfo>),
    ) -> Result<Trace, TraceError> {
        self.trace_inspected(path, &[], inspected)
    }

    fn trace_inspected(
        &self,
        path: &str,
        first: &[String],
        (real, info): (String, Arc<ElfInfo>),
    ) -> Result<Trace, TraceError> {
        let loader = self.loader;
        let root = &**loader.root();
        let arch = loader.arch();
        let mut maps = LinkMaps::with_capacity(32);
        let is_static = info.is_static();
        let origin = dst::origin_of(&real, "/");
        let (rpath, runpath) = LinkMaps::search_dirs(loader, &info, || origin.clone());
        let library_path: Vec<SearchDir> = loader
            .library_path()
            .map(|p| dst::decompose(p, &[':', ';'], &loader.dst_values(Some(&origin))))
            .unwrap_or_default();
        let main = Object {
            name: path.to_string(),
            path: crate::ldso::absolute(path),
            real: real.clone(),
            aliases: Vec::new(),
            how: How::Program,
            loader: None,
            info: Some(info.clone()),
            rpath,
            runpath,
            deps: Vec::new(),
            hidden: true,
        };
        // The program is known to the loader as "" (l_name of a kernel-started program).
        maps.push(main, &[""], Identity::None);
        if is_static {
            return Ok(Trace {
                program: path.into(),
                arch,
                info,
                maps,
                interp: None,
                fatal: None,
                is_static,
                library_path,
                processed: IdSet::new(),
                host_first: Vec::new(),
            });
        }

        // ld.so itself: matched by its PT_INTERP path and its DT_SONAME only.
        let implied = info.interp.is_none();
        let interp_path = info
            .interp
            .clone()
            .unwrap_or_else(|| arch.loader_path().to_string());
        let interp_real = root
            .resolve_real(&interp_path)
            .ok()
            .flatten()
            .filter(|(_, kind)| *kind == Kind::File)
            .map(|(path, _)| path);
        let interp_info = interp_real
            .as_ref()
            .and_then(|r| self.cache.get(root, r).ok());
        let rtld_soname = interp_info
            .as_ref()
            .filter(|i| i.dynamic)
            .and_then(|i| i.soname.clone())
            .unwrap_or_else(|| {
                interp_path
                    .rsplit('/')
                    .next()
                    .unwrap_or(&interp_path)
                    .to_string()
            });
        let rtld = Object {
            name: interp_path.clone(),
            path: interp_path.clone(),
            real: interp_real.clone().unwrap_or_else(|| interp_path.clone()),
            aliases: Vec::new(),
            how: How::Interpreter,
            loader: None,
            info: interp_info,
            rpath: vec![],
            runpath: vec![],
            deps: Vec::new(),
            hidden: true,
        };
        maps.push(
            rtld,
            &[interp_path.as_str(), rtld_soname.as_str()],
            Identity::None,
        );
        let vdso = Object {
            name: arch.vdso_soname().into(),
            path: arch.vdso_soname().into(),
            real: String::new(),
            aliases: Vec::new(),
            how: How::Vdso,
            loader: None,
            info: None,
            rpath: vec![],
            runpath: vec![],
            deps: Vec::new(),
            hidden: true,
        };
        maps.push(vdso, &[arch.vdso_soname()], Identity::None);
        let interp = Some(Interp {
            path: interp_path,
            real: interp_real,
            implied,
        });

        let ahead = match &self.shared {
            Some(l) if self.prefetch => Some(Arc::new(Ahead::new(l.clone()))),
            _ => None,
        };
        let walked = self.walk(maps, library_path, first, ahead.clone());
        // What is still queued is not needed any more.
        if let Some(a) = ahead {
            a.stop();
        }
        let Walked {
            maps,
            fatal,
            library_path,
            processed,
            host_first,
        } = walked;
        Ok(Trace {
            program: path.into(),
            arch,
            info,
            maps,
            interp,
            fatal,
            is_static,
            library_path,
            processed,
            host_first,
        })
    }

    /// The walk of a program whose list starts as `maps`: its preloads, the host's
    /// `first` dlopen calls, then its needs; with the objects the host loaded first.
    fn walk(
        &self,
        maps: LinkMaps,
        library_path: Vec<SearchDir>,
        first: &[String],
        ahead: Option<Arc<Ahead>>,
    ) -> Walked {
        let mut walk = Walk {
            tracer: self,
            maps,
            library_path,
            list: {
                let mut l = Vec::with_capacity(32);
                l.push((Slot::Obj(0), false));
                l
            },
            reserved: IdSet::from([0]),
            prefetched: FastMap::default(),
            waved: IdSet::new(),
            fatal: None,
            processed: IdSet::new(),
            ahead,
        };
        walk.preload();
        let mut host_first = Vec::new();
        if !first.is_empty() {
            // The host's dlopen calls come before the program's own needs are walked; each
            // has its own search list, and the program's list is kept for after them.
            let list = std::mem::take(&mut walk.list);
            let reserved = std::mem::take(&mut walk.reserved);
            for p in first {
                if let Dlopened::Loaded(o) | Dlopened::Already(o) = walk.dlopen(0, p)
                    && o != 0
                    && !host_first.contains(&o)
                {
                    host_first.push(o);
                }
            }
            walk.list = list;
            walk.reserved = reserved;
        }
        walk.run();
        Walked {
            maps: walk.maps,
            fatal: walk.fatal,
            library_path: walk.library_path,
            processed: walk.processed,
            host_first,
        }
    }

    /// Traces `path`, a member of a plugin set whose members are `members` (paths inside
    /// the root, in the order the host loads them, [`providers_first`]): the members
    /// before it that provide a name it (or a library it loads) would otherwise miss are
    /// loaded first, by path, as the host loads them (the JVM loads lib/server/libjvm.so
    /// before lib/libjava.so, whose DT_NEEDED libjvm.so is then already loaded). What no
    /// member provides stays missing. A path that is not a member, or that misses
    /// nothing, is traced as [`Tracer::trace`] traces it.
    pub fn trace_member(&self, path: &str, members: &[String]) -> Result<Trace, TraceError> {
        let mut t = self.trace(path)?;
        let root = &**self.loader.root();
        let canonical = |p: &str| root.resolve(p).ok().flatten().map(|r| r.path);
        let Some(me) = canonical(path) else {
            return Ok(t);
        };
        let Some(at) = members
            .iter()
            .position(|m| canonical(m).as_deref() == Some(me.as_str()))
        else {
            return Ok(t);
        };
        let before: Vec<(&String, Option<String>)> = members[..at]
            .iter()
            .map(|m| {
                let soname = canonical(m)
                    .and_then(|c| self.cache.get(root, &c).ok())
                    .and_then(|i| i.soname.clone());
                (m, soname)
            })
            .collect();
        let mut first: Vec<bool> = vec![false; before.len()];
        // Each round may load providers whose own needs another member provides; it
        // ends when no missing name is a member's (at most one round per member).
        loop {
            let mut more = false;
            for m in t.missing() {
                for (k, (_, soname)) in before.iter().enumerate() {
                    if !first[k] && soname.as_deref() == Some(m.name.as_str()) {
                        first[k] = true;
                        more = true;
                    }
                }
            }
            if !more {
                return Ok(t);
            }
            let paths: Vec<String> = before
                .iter()
                .zip(&first)
                .filter(|(_, f)| **f)
                .map(|((p, _), _)| (*p).clone())
                .collect();
            t = self.trace_after(path, &paths)?;
        }
    }

    /// Adds `dlopen(name)` called from object `caller` to a trace, as glibc's `dlopen`
    /// does it: the caller's RPATH/RUNPATH are searched (the new object does not keep the
    /// caller as its loader), then the new object's dependencies are walked.
    pub fn dlopen(&self, trace: &mut Trace, caller: usize, name: &str) -> Dlopened {
        if trace.is_static {
            return Dlopened::Failed("a static program has no loader".into());
        }
        let mut walk = Walk {
            tracer: self,
            maps: std::mem::take(&mut trace.maps),
            library_path: std::mem::take(&mut trace.library_path),
            list: Vec::new(),
            reserved: IdSet::new(),
            prefetched: FastMap::default(),
            waved: IdSet::new(),
            fatal: None,
            processed: std::mem::take(&mut trace.processed),
            ahead: None,
        };
        let result = walk.dlopen(caller, name);
        trace.maps = walk.maps;
        trace.library_path = walk.library_path;
        trace.processed = walk.processed;
        result
    }
}

/// What a program's walk leaves for its [`Trace`].
struct Walked {
    maps: LinkMaps,
    fatal: Option<Fatal>,
    library_path: Vec<SearchDir>,
    processed: IdSet,
    host_first: Vec<usize>,
}

/// State of one breadth-first walk.
struct Walk<'t, 'a> {
    tracer: &'t Tracer<'a>,
    maps: LinkMaps,
    library_path: Vec<SearchDir>,
    /// The search list: slot and whether it has been processed.
    list: Vec<(Slot, bool)>,
    /// Objects already in the search list (glibc `l_reserved`).
    reserved: IdSet,
    /// Searches done ahead, by (object, dependency index).
    prefetched: FastMap<(usize, usize), Prepared>,
    /// Objects whose dependencies were searched ahead.
    waved: IdSet,
    fatal: Option<Fatal>,
    /// Objects whose dependencies have been walked (by this or an earlier walk).
    processed: IdSet,
    /// The thread that searches ahead of the walk ([`Ahead`]), started once a wave is
    /// large enough; None: the waves of `prefetch`, or the walk alone.
    ahead: Option<Arc<Ahead>>,
}

impl Walk<'_, '_> {
    /// `dlopen(name)` from object `caller` (see [`Tracer::dlopen`]), with a search list of
    /// its own.
    fn dlopen(&mut self, caller: usize, name: &str) -> Dlopened {
        // A name with '/' has its DSTs expanded relative to the caller; others are searched.
        let name = if name.contains('/') {
            self.expand(caller, name)
        } else {
            Some(name.to_string())
        };
        let Some(name) = name else {
            return Dlopened::Failed("a dynamic string token has no value".into());
        };
        let missing_before = self.maps.missing.len();
        let objects_before = self.maps.objects.len();
        // Objects loaded before but not walked yet (the program and its preloads, when a
        // host's dlopen comes first: `trace_after`) may be walked by this call.
        let processed_before = self.processed.clone();
        let r = match self.map_object(caller, usize::MAX, &name, DepKind::Needed, true) {
            outcome @ (Outcome::Loaded(_) | Outcome::Already(..)) => {
                let (o, new) = match outcome {
                    Outcome::Loaded(o) => (o, true),
                    Outcome::Already(o, _) => (o, false),
                    _ => unreachable!("matched above"),
                };
                self.list = vec![(Slot::Obj(o), false)];
                self.reserved.insert(o);
                self.run();
                match self.fatal.take() {
                    Some(f) => Dlopened::Failed(format!("{}: {}", f.name, f.error)),
                    None if self.maps.missing.len() > missing_before => Dlopened::Failed(format!(
                        "{name} needs {}, which is not found",
                        self.maps.missing[missing_before].name
                    )),
                    None if new => Dlopened::Loaded(o),
                    None => Dlopened::Already(o),
                }
            }
            Outcome::Missing(m) => Dlopened::Missing(self.maps.missing.remove(m)),
            Outcome::Fatal(e) => Dlopened::Failed(e),
            Outcome::Ignored => Dlopened::Failed("ignored".into()),
        };
        // A failed dlopen unloads what it loaded (glibc's _dl_open error path): the
        // program goes on with the objects it had. Searches done ahead for the unloaded
        // objects go too: their indices are reused by the next objects loaded.
        if matches!(r, Dlopened::Failed(_)) {
            self.maps.rollback(objects_before, missing_before);
            for i in 0..objects_before {
                if self.processed.contains(&i) && !processed_before.contains(&i) {
                    self.maps.objects[i].deps.clear();
                }
            }
            self.processed = processed_before;
            self.processed.truncate(objects_before);
            self.waved.truncate(objects_before);
            self.prefetched.retain(|(o, _), _| *o < objects_before);
        }
        r
    }

    fn expand(&self, obj: usize, name: &str) -> Option<String> {
        if !name.contains('$') {
            return Some(name.to_string());
        }
        let origin = self.maps.objects[obj].origin();
        dst::expand(name, &self.tracer.loader.dst_values(Some(&origin)))
    }

    /// glibc's `do_preload` for every name of the root's /etc/ld.so.preload: loaded for the
    /// program (its loader), before any of its own needs; a name that cannot be loaded is
    /// ignored, as the loader says ("cannot be preloaded ... ignored").
    fn preload(&mut self) {
        let names = self.tracer.loader.preload().to_vec();
        let mut edges = Vec::new();
        for name in names {
            let expanded = if name.contains('/') {
                self.expand(0, &name)
            } else {
                Some(name.clone())
            };
            let Some(expanded) = expanded else { continue };
            let missing_before = self.maps.missing.len();
            let outcome = self.map_object(0, usize::MAX, &expanded, DepKind::Preload, false);
            match &outcome {
                Outcome::Loaded(o) if self.reserved.insert(*o) => {
                    self.list.push((Slot::Obj(*o), false))
                }
                Outcome::Missing(_) => {
                    // Not loaded and not a "not found" line: the loader only warns.
                    self.maps.missing.truncate(missing_before);
                }
                _ => {}
            }
            edges.push(Edge {
                kind: DepKind::Preload,
                name: expanded,
                outcome,
            });
        }
        self.maps.objects[0].deps.extend(edges);
    }

    /// Searches ahead, in parallel, for every dependency of the unprocessed objects.
    fn prefetch(&mut self, from: usize) {
        let objs: Vec<usize> = self.list[from..]
            .iter()
            .filter_map(|(s, done)| match s {
                Slot::Obj(i) if !*done && !self.waved.contains(i) => Some(*i),
                _ => None,
            })
            .collect();
        let mut items: Vec<(usize, usize, String)> = Vec::new();
        for &o in &objs {
            self.waved.insert(o);
            let Some(info) = self.maps.objects[o].info.clone() else {
                continue;
            };
            for (k, d) in info.deps.iter().enumerate() {
                let Some(name) = self.expand(o, &d.name) else {
                    continue;
                };
                if self.maps.names_contain(&name) {
                    continue;
                }
                items.push((o, k, name));
            }
        }
        if let Some(ahead) = &self.ahead {
            // Until a wave is large, the walk searches alone: a thread for a program
            // that needs libc alone costs more than it saves.
            if !ahead.started() && items.len() < AHEAD_FROM {
                return;
            }
            // Nor is a thread worth it while the files are in the page cache: the walk
            // alone traced ffmpeg (213 libraries) in 8.5-10.5 ms, against 11-12.5 ms
            // with the thread's wake-ups; from a cold cache, 230 ms alone against 110 ms.
            // So one search is made here first, and the thread starts only when that
            // search had to wait for the disk.
            if !ahead.started() {
                let (o, k, name) = items.remove(0);
                let t0 = std::time::Instant::now();
                let p = self
                    .maps
                    .prepare(self.tracer.loader, o, &name, &self.library_path);
                if let Some(real) = p.found_real() {
                    let _ = self.tracer.cache.get(self.tracer.loader.root(), real);
                }
                self.prefetched.insert((o, k), p);
                if t0.elapsed() < cold_search() {
                    return;
                }
            }
            // A plain request goes to the thread searching ahead, which goes on with
            // what the answer needs in turn, without waiting for a wave.
            let ahead = ahead.clone();
            items.retain(|(o, _, name)| {
                let plain = !name.contains('/') && self.plain_requests(*o);
                if plain {
                    let nodeflib = self.maps.objects[*o]
                        .info
                        .as_ref()
                        .is_some_and(|i| i.nodeflib());
                    ahead.discover(name, nodeflib);
                }
                !plain
            });
        }
        if items.is_empty() {
            return;
        }
        let t = self.tracer;
        let maps = &self.maps;
        let llp = &self.library_path;
        let done: Vec<((usize, usize), Prepared)> = items
            .par_iter()
            .map(|(o, k, name)| {
                let p = maps.prepare(t.loader, *o, name, llp);
                if let Some(real) = p.found_real() {
                    let _ = t.cache.get(t.loader.root(), real);
                }
                ((*o, *k), p)
            })
            .collect();
        // What a library found by its requester's RPATH or RUNPATH needs may be plain
        // requests again (its own chain has no RPATH): searched ahead too.
        if let Some(ahead) = &self.ahead {
            for ((o, _), p) in &done {
                if let Some((path, real)) = p.found()
                    && self.chain_without_rpath(*o)
                    && let Ok(info) = t.cache.get(t.loader.root(), real)
                {
                    plain_needs(t.loader, path, &info, &mut |n, nf| ahead.discover(n, nf));
                }
            }
        }
        self.prefetched.extend(done);
    }

    /// Whether the loader chain of object `o` (`o`, its loader, ... the program) has no
    /// DT_RPATH and there is no `--library-path`: what [`Loader::search_shared`] calls a
    /// plain request, but for the requester's own DT_RUNPATH.
    fn chain_without_rpath(&self, o: usize) -> bool {
        if !self.library_path.is_empty() || !self.maps.objects[0].rpath.is_empty() {
            return false;
        }
        let mut cur = Some(o);
        let mut n = 0;
        while let Some(i) = cur {
            if !self.maps.objects[i].rpath.is_empty() {
                return false;
            }
            cur = self.maps.objects[i].loader;
            n += 1;
            if n > self.maps.objects.len() {
                return false;
            }
        }
        true
    }

    /// Whether the requests of object `o` for names without '/' are plain: their answer
    /// depends on the name and DF_1_NODEFLIB only.
    fn plain_requests(&self, o: usize) -> bool {
        self.maps.objects[o].runpath.is_empty() && self.chain_without_rpath(o)
    }

    fn run(&mut self) {
        let mut pos = 0;
        while pos < self.list.len() {
            let (slot, done) = self.list[pos];
            let Slot::Obj(l) = slot else {
                self.list[pos].1 = true;
                pos += 1;
                continue;
            };
            if done {
                pos += 1;
                continue;
            }
            self.list[pos].1 = true;
            if !self.processed.insert(l) {
                // Walked by an earlier dlopen or the program's own walk: all it needs is loaded.
                pos += 1;
                continue;
            }
            if self.tracer.prefetch && !self.waved.contains(&l) {
                self.prefetch(pos);
            }
            // The entries are read by index, not through a clone of the object's info: a
            // shared count changed by both threads costs more than the lookups.
            let Some(n) = self.maps.objects[l].info.as_ref().map(|i| i.deps.len()) else {
                continue;
            };
            self.maps.objects[l].deps.reserve_exact(n);
            for k in 0..n {
                let (kind, expanded) = {
                    let info = self.maps.objects[l].info.as_ref();
                    let Some(dep) = info.and_then(|i| i.deps.get(k)) else {
                        break;
                    };
                    match self.expand(l, &dep.name) {
                        Some(e) => (dep.kind, Ok(e)),
                        None => (dep.kind, Err(dep.name.clone())),
                    }
                };
                let name = match expanded {
                    Ok(name) => name,
                    Err(raw) => {
                        self.maps.objects[l].deps.push(Edge {
                            kind,
                            name: raw,
                            outcome: Outcome::Ignored,
                        });
                        continue;
                    }
                };
                let outcome = self.map_object(l, k, &name, kind, false);
                let outcome = match outcome {
                    Outcome::Fatal(error) if kind == DepKind::Auxiliary => Outcome::Fatal(error),
                    Outcome::Fatal(error) => {
                        self.maps.objects[l].deps.push(Edge {
                            kind,
                            name: name.clone(),
                            outcome: Outcome::Fatal(error.clone()),
                        });
                        self.fatal = Some(Fatal {
                            name,
                            requested_by: l,
                            error,
                        });
                        return;
                    }
                    o => o,
                };
                // Not a guard: an object already in the search list must not fall through to
                // the filtee arm below.
                #[allow(clippy::collapsible_match)]
                match (&outcome, kind) {
                    (Outcome::Loaded(o) | Outcome::Already(o, _), DepKind::Needed) => {
                        // Appended once: an object already in the search list stays where it is.
                        if self.reserved.insert(*o) {
                            self.list.push((Slot::Obj(*o), false));
                        }
                    }
                    (Outcome::Missing(m), DepKind::Needed) => {
                        self.list.push((Slot::Missing(*m), false));
                        self.maps.order.push(Slot::Missing(*m));
                    }
                    (Outcome::Loaded(o) | Outcome::Already(o, _), _) => {
                        self.insert_filtee(pos, Slot::Obj(*o))
                    }
                    (Outcome::Missing(m), _) => {
                        self.maps.order.push(Slot::Missing(*m));
                        self.insert_filtee(pos, Slot::Missing(*m));
                    }
                    _ => {}
                }
                self.maps.objects[l].deps.push(Edge {
                    kind,
                    name,
                    outcome,
                });
            }
            if self.list[pos].1 {
                pos += 1;
            }
        }
    }

    /// Puts a filtee before the object being processed (at `pos`) in the search list and
    /// in the load order, unless it is already earlier in the search list.
    fn insert_filtee(&mut self, pos: usize, slot: Slot) {
        let before = self.list[pos].0;
        let new = match slot {
            Slot::Obj(o) => self.reserved.insert(o),
            Slot::Missing(_) => true,
        };
        if new {
            self.list.insert(pos, (slot, false));
        } else if let Some(j) = (pos + 1..self.list.len()).find(|&j| self.list[j].0 == slot) {
            self.list.remove(j);
            self.list.insert(pos, (slot, false));
        } else {
            return;
        }
        if let Some(from) = self.maps.order.iter().position(|s| *s == slot) {
            self.maps.order.remove(from);
        }
        let at = self
            .maps
            .order
            .iter()
            .position(|s| *s == before)
            .unwrap_or(self.maps.order.len());
        self.maps.order.insert(at, slot);
    }

    /// `_dl_map_object` for dependency `k` of object `l` (or for a dlopen from `l` when
    /// `callmap`: then the new object does not record `l` as its loader).
    fn map_object(
        &mut self,
        l: usize,
        k: usize,
        name: &str,
        kind: DepKind,
        callmap: bool,
    ) -> Outcome {
        if let Some((o, how)) = self.maps.find_loaded(name) {
            return Outcome::Already(o, how);
        }
        let loader = self.tracer.loader;
        let prepared = match self.prefetched.remove(&(l, k)) {
            Some(p) => p,
            None => self.maps.prepare(loader, l, name, &self.library_path),
        };
        let files = Files::new(loader.root(), &self.tracer.ids);
        match self.maps.apply(name, prepared, &files) {
            Applied::Already(o, how) => Outcome::Already(o, how),
            Applied::Fatal(e) => Outcome::Fatal(e),
            Applied::Missing { tried, skipped } => {
                let stale_cache = loader.stale_cache_hint(name);
                self.maps.missing.push(Missing {
                    name: name.to_string(),
                    requested_by: l,
                    kind,
                    tried,
                    skipped,
                    stale_cache,
                });
                Outcome::Missing(self.maps.missing.len() - 1)
            }
            Applied::New(n) => {
                let parsed = match n.info {
                    Some(r) => r,
                    None => self.tracer.cache.get(loader.root(), &n.real),
                };
                let info = match parsed {
                    Ok(i) => i,
                    Err(e) => return Outcome::Fatal(format!("{}: {e}", n.path)),
                };
                if let Some(e) = unloadable(&info) {
                    return Outcome::Fatal(format!("{}: {e}", n.path));
                }
                let origin = || dst::origin_of(&n.path, "/");
                let (rpath, runpath) = LinkMaps::search_dirs(loader, &info, origin);
                let obj = Object {
                    name: n.name,
                    path: n.path,
                    real: n.real,
                    aliases: Vec::new(),
                    how: n.how,
                    loader: if callmap { None } else { Some(l) },
                    info: Some(info),
                    rpath,
                    runpath,
                    deps: Vec::new(),
                    hidden: false,
                };
                Outcome::Loaded(self.maps.push_found(obj, n.identity))
            }
        }
    }
}

/// The size of a wave from which a walk starts searching ahead on another thread.
const AHEAD_FROM: usize = 8;

/// A search (and parse) that takes this long read from the disk, not the page cache: a
/// cached one costs 15-40 us (about eight system calls), one from the disk 0.3-1 ms here.
const COLD_SEARCH: std::time::Duration = std::time::Duration::from_micros(150);

/// [`COLD_SEARCH`], or `MINROOT_COLD_SEARCH_US` microseconds: tests set 0 to start the
/// thread at the first large wave whatever the cache holds, so that the loader oracle
/// (tests/oracle.rs) also holds the walk with the thread to the real loader.
fn cold_search() -> std::time::Duration {
    static LIMIT: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        std::env::var("MINROOT_COLD_SEARCH_US")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(COLD_SEARCH, std::time::Duration::from_micros)
    })
}

/// A thread that searches ahead of one program's walk: it searches every plain request
/// (a name whose answer depends on the name and DF_1_NODEFLIB only: no RPATH, RUNPATH or
/// `--library-path` on the way, [`Loader::search_shared`]) the walk will likely make,
/// and what the answers need in turn, breadth first, without the walk's order or its
/// "already loaded?" check: that stays the walk's, which takes each answer from the
/// loader's memo, waits for the one being made, or makes one not started yet itself, so
/// the two threads share the searching. An answer searched here and never asked for by
/// the walk (a name another object's DT_SONAME satisfies) only costs its system calls;
/// the output never depends on it, nor on the timing.
///
/// One thread, started on the first request (made only once a search had to read the
/// disk, [`cold_search`]): with the walk's own thread it keeps two
/// cores busy, and it needs neither a pool (whose start reads the cgroup's CPU quota and
/// starts a thread per core) nor a wake-up per request.
struct Ahead {
    loader: Arc<Loader>,
    /// The requests (DF_1_NODEFLIB, name) already handed out.
    seen: std::sync::Mutex<std::collections::HashSet<(bool, String), foldhash::fast::RandomState>>,
    /// To the thread; None before it starts and once the walk is done.
    to: std::sync::Mutex<Option<std::sync::mpsc::Sender<(bool, String)>>>,
    /// Set when the walk is done: what is still queued is dropped.
    stopped: std::sync::atomic::AtomicBool,
}

impl Ahead {
    fn new(loader: Arc<Loader>) -> Ahead {
        Ahead {
            loader,
            seen: Default::default(),
            to: Default::default(),
            stopped: Default::default(),
        }
    }

    /// Whether anything was handed out yet.
    fn started(&self) -> bool {
        !self
            .seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }

    /// The walk is done: the thread ends after the search it is making.
    fn stop(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.to.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// Whether `(nodeflib, name)` is new (and now seen).
    fn first_time(&self, name: &str, nodeflib: bool) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((nodeflib, name.to_string()))
    }

    /// Hands `name` (a plain request of the walk) to the thread, started on first use.
    fn discover(self: &Arc<Self>, name: &str, nodeflib: bool) {
        if !self.first_time(name, nodeflib) {
            return;
        }
        let mut to = self.to.lock().unwrap_or_else(|p| p.into_inner());
        if self.stopped.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        if to.is_none() {
            let (tx, rx) = std::sync::mpsc::channel();
            let me = self.clone();
            let started = std::thread::Builder::new()
                .name("minroot-ahead".into())
                .spawn(move || me.serve(rx));
            // Without the thread the walk searches alone, as it would anyway.
            if started.is_err() {
                return;
            }
            *to = Some(tx);
        }
        if let Some(tx) = to.as_ref() {
            let _ = tx.send((nodeflib, name.to_string()));
        }
    }

    /// The thread: the walk's requests and what their answers need, in the order met.
    fn serve(&self, rx: std::sync::mpsc::Receiver<(bool, String)>) {
        let mut queue = std::collections::VecDeque::new();
        loop {
            queue.extend(rx.try_iter());
            let (nodeflib, name) = match queue.pop_front() {
                Some(r) => r,
                None => match rx.recv() {
                    Ok(r) => r,
                    Err(_) => return,
                },
            };
            if self.stopped.load(std::sync::atomic::Ordering::Relaxed) {
                return;
            }
            let req = Request {
                name: &name,
                requester: 0,
                chain: &[],
                main: ChainLink { obj: 0, rpath: &[] },
                has_runpath: false,
                runpath: &[],
                nodeflib,
                library_path: &[],
            };
            let found = self.loader.search_shared(&req);
            if let crate::ldso::Search::Found { path, real, .. } = &*found
                && let Ok(info) = self.loader.objects().get(self.loader.root(), real)
            {
                let mut more = Vec::new();
                plain_needs(&self.loader, path, &info, &mut |n, nf| {
                    if self.first_time(n, nf) {
                        more.push((nf, n.to_string()));
                    }
                });
                queue.extend(more);
            }
        }
    }
}

/// Hands `f` the needs of the library found at `path` whose requests are plain (it has
/// neither DT_RPATH nor DT_RUNPATH; its requester's chain had none either): the names
/// without '/' or a dynamic string token. Nothing when the loader would refuse it.
fn plain_needs(loader: &Loader, path: &str, info: &ElfInfo, f: &mut dyn FnMut(&str, bool)) {
    if unloadable(info).is_some() {
        return;
    }
    let origin = || dst::origin_of(path, "/");
    let (rpath, runpath) = LinkMaps::search_dirs(loader, info, origin);
    if !rpath.is_empty() || !runpath.is_empty() {
        return;
    }
    for d in &info.deps {
        if !d.name.contains('/') && !d.name.contains('$') {
            f(&d.name, info.nodeflib());
        }
    }
}

/// A plugin set in the order its host loads it: a member that provides a soname another
/// member needs is loaded before it, as a plugin host loads it (the JVM loads
/// `lib/server/libjvm.so` before `lib/libjava.so`, whose DT_NEEDED `libjvm.so` is then
/// already loaded). The order is otherwise kept; a cycle keeps the given order. `members`
/// are paths inside the root, each with what the caller keeps about it.
pub fn providers_first<T>(
    root: &Root,
    cache: &ObjectCache,
    members: Vec<(String, T)>,
) -> Vec<(String, T)> {
    let infos: Vec<Option<Arc<ElfInfo>>> = members
        .iter()
        .map(|(p, _)| {
            let r = root.resolve(p).ok().flatten()?;
            cache.get(root, &r.path).ok()
        })
        .collect();
    let provider_of: std::collections::HashMap<&str, usize> = infos
        .iter()
        .enumerate()
        .filter_map(|(i, info)| Some((info.as_ref()?.soname.as_deref()?, i)))
        .collect();
    // Depth-first, each member after the members it needs (visited marks break cycles).
    fn visit(
        i: usize,
        infos: &[Option<Arc<ElfInfo>>],
        provider_of: &std::collections::HashMap<&str, usize>,
        done: &mut Vec<bool>,
        out: &mut Vec<usize>,
    ) {
        if std::mem::replace(&mut done[i], true) {
            return;
        }
        if let Some(info) = &infos[i] {
            for d in &info.deps {
                if let Some(&j) = provider_of.get(d.name.as_str())
                    && j != i
                {
                    visit(j, infos, provider_of, done, out);
                }
            }
        }
        out.push(i);
    }
    let mut done = vec![false; members.len()];
    let mut order = Vec::with_capacity(members.len());
    for i in 0..members.len() {
        visit(i, &infos, &provider_of, &mut done, &mut order);
    }
    let mut slots: Vec<Option<(String, T)>> = members.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// Checks `_dl_map_object_from_fd` makes on a library after mapping it.
fn unloadable(info: &ElfInfo) -> Option<&'static str> {
    if info.e_type == elf::ET_EXEC {
        Some("cannot dynamically load executable")
    } else if info.is_pie() {
        Some("cannot dynamically load position-independent executable")
    } else if !info.dynamic {
        Some("object file has no dynamic section")
    } else {
        None
    }
}

impl Prepared {
    /// The path opened and the canonical path of the file this answer would load, if any.
    fn found(&self) -> Option<(&str, &str)> {
        match self {
            Prepared::Search(s) => match &**s {
                crate::ldso::Search::Found { path, real, .. } => Some((path, real)),
                _ => None,
            },
            Prepared::Path {
                path,
                found: Some((real, crate::elf::Verdict::Ok)),
            } => Some((path, real)),
            _ => None,
        }
    }

    /// The canonical path of the file this answer would load, if any.
    pub fn found_real(&self) -> Option<&str> {
        match self {
            Prepared::Search(s) => match &**s {
                crate::ldso::Search::Found { real, .. } => Some(real),
                _ => None,
            },
            Prepared::Path {
                found: Some((real, crate::elf::Verdict::Ok)),
                ..
            } => Some(real),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::synth::Synth;
    use crate::ldso::hwcaps::{CpuLevel, CpuProfile};

    const X86: Arch = Arch::X86_64;

    /// An empty object cache and the x86_64 loader of `root`, at the baseline CPU level.
    fn x86_loader(root: Arc<Root>) -> (ObjectCache, Loader) {
        let cache = ObjectCache::new(elf::Options { symbols: false });
        let loader = Loader::new(
            root,
            X86,
            CpuProfile::for_level(X86, CpuLevel::Baseline),
            None,
        );
        (cache, loader)
    }

    fn write(root: &std::path::Path, p: &str, bytes: &[u8]) {
        let p = root.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    /// A JDK-shaped root: libc, a host's plugin set under /jdk/lib (libjvm.so in
    /// lib/server, found by no search; libjava.so and libnio.so need it, RUNPATH $ORIGIN),
    /// and a member needing a name no member provides.
    fn root() -> (tempfile::TempDir, Arc<Root>) {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let m = X86.elf_machine();
        write(
            d,
            "lib64/ld-linux-x86-64.so.2",
            &Synth::lib(m, "ld-linux-x86-64.so.2").build(),
        );
        write(
            d,
            "lib/x86_64-linux-gnu/libc.so.6",
            &Synth::lib(m, "libc.so.6").build(),
        );
        write(
            d,
            "jdk/lib/server/libjvm.so",
            &Synth::lib(m, "libjvm.so").needs("libc.so.6").build(),
        );
        let member = |needs: &[&str], soname: &str| {
            let mut s = Synth::lib(m, soname).runpath("$ORIGIN");
            for n in needs {
                s = s.needs(n);
            }
            s.build()
        };
        write(
            d,
            "jdk/lib/libjava.so",
            &member(&["libjvm.so", "libc.so.6"], "libjava.so"),
        );
        write(
            d,
            "jdk/lib/libnio.so",
            &member(&["libjava.so", "libjvm.so"], "libnio.so"),
        );
        write(
            d,
            "jdk/lib/libawt.so",
            &member(&["libjvm.so", "libX11.so.6"], "libawt.so"),
        );
        let root = Arc::new(Root::new(d).unwrap());
        (t, root)
    }

    fn members(root: &Root, cache: &ObjectCache) -> Vec<String> {
        let given = ["libawt.so", "libjava.so", "libnio.so", "server/libjvm.so"]
            .iter()
            .map(|n| (format!("/jdk/lib/{n}"), ()))
            .collect();
        providers_first(root, cache, given)
            .into_iter()
            .map(|(p, ())| p)
            .collect()
    }

    #[test]
    fn providers_come_first_in_the_host_order() {
        let (_t, root) = root();
        let cache = ObjectCache::new(elf::Options { symbols: false });
        assert_eq!(
            members(&root, &cache),
            [
                "/jdk/lib/server/libjvm.so",
                "/jdk/lib/libawt.so",
                "/jdk/lib/libjava.so",
                "/jdk/lib/libnio.so"
            ]
        );
    }

    #[test]
    fn a_plugin_set_member_is_satisfied_by_the_member_its_host_loads_first() {
        let (_t, root) = root();
        let (cache, loader) = x86_loader(root.clone());
        let tracer = Tracer::new(&loader, &cache);
        let set = members(&root, &cache);

        // Alone, libjava.so misses libjvm.so (lib/server is searched by nothing).
        let alone = tracer.trace("/jdk/lib/libjava.so").unwrap();
        assert!(!alone.complete());
        assert!(alone.host_first().is_empty());

        // As a member: libjvm.so is loaded first, and libjava's DT_NEEDED is already loaded.
        let t = tracer.trace_member("/jdk/lib/libjava.so", &set).unwrap();
        assert!(t.complete(), "{:?}", t.missing());
        let jvm = t.find_soname("libjvm.so").unwrap();
        assert_eq!(t.host_first(), [jvm]);
        assert_eq!(t.object(jvm).path, "/jdk/lib/server/libjvm.so");
        assert!(t.object(0).deps.iter().any(|e| e.name == "libjvm.so"
            && e.outcome == Outcome::Already(jvm, crate::resolve::Already::Soname)));

        // Through another member: libnio loads libjava (by its RUNPATH), which needs libjvm.
        let t = tracer.trace_member("/jdk/lib/libnio.so", &set).unwrap();
        assert!(t.complete(), "{:?}", t.missing());

        // What no member provides is still missing.
        let t = tracer.trace_member("/jdk/lib/libawt.so", &set).unwrap();
        let missing: Vec<&str> = t.missing().iter().map(|m| m.name.as_str()).collect();
        assert_eq!(missing, ["libX11.so.6"]);

        // The provider itself, and a path that is not a member, are traced as they are.
        let t = tracer
            .trace_member("/jdk/lib/server/libjvm.so", &set)
            .unwrap();
        assert!(t.complete() && t.host_first().is_empty());
        let t = tracer
            .trace_member("/jdk/lib/libjava.so", &["/jdk/lib/libnio.so".into()])
            .unwrap();
        assert!(!t.complete());
    }

    /// A library found by a DT_RUNPATH is found by its requester's, named as such: the
    /// library that asked, not the program (a search without a DT_RPATH on the loader
    /// chain is given no chain, and the owner is its own field of the request).
    #[test]
    fn a_runpath_search_names_the_library_that_asked() {
        let (t, root) = root();
        let m = X86.elf_machine();
        write(
            t.path(),
            "bin/app",
            &Synth::exe(m, "/lib64/ld-linux-x86-64.so.2")
                .runpath("/jdk/lib")
                .needs("libnio.so")
                .build(),
        );
        let (cache, loader) = x86_loader(root.clone());
        let t = Tracer::new(&loader, &cache).trace("/bin/app").unwrap();
        let via = |soname: &str| {
            let o = t.object(t.find_soname(soname).unwrap());
            match &o.how {
                How::Found { step, .. } => t.via(step),
                how => panic!("{soname}: {how:?}"),
            }
        };
        assert_eq!(
            via("libnio.so"),
            Via::Runpath {
                of: "/bin/app".into(),
                entry: "/jdk/lib".into()
            }
        );
        assert_eq!(
            via("libjava.so"),
            Via::Runpath {
                of: "/jdk/lib/libnio.so".into(),
                entry: "$ORIGIN".into()
            }
        );
    }

    /// A hard link is the object it links to; a copy of the same bytes (same size, same
    /// contents, another inode) is another object.
    #[test]
    fn a_hard_link_is_the_same_object_and_a_copy_is_not() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let m = X86.elf_machine();
        write(
            d,
            "lib64/ld-linux-x86-64.so.2",
            &Synth::lib(m, "ld-linux-x86-64.so.2").build(),
        );
        let x = Synth::lib(m, "").no_soname().build();
        write(d, "lib/x86_64-linux-gnu/libx.so.1", &x);
        write(d, "lib/x86_64-linux-gnu/libcopy.so.1", &x);
        std::fs::create_dir_all(d.join("opt/y")).unwrap();
        std::fs::hard_link(
            d.join("lib/x86_64-linux-gnu/libx.so.1"),
            d.join("opt/y/liby.so.1"),
        )
        .unwrap();
        let app = Synth::exe(m, "/lib64/ld-linux-x86-64.so.2")
            .runpath("/opt/y")
            .needs("libx.so.1")
            .needs("liby.so.1")
            .needs("libcopy.so.1");
        write(d, "app", &app.build());
        let root = Arc::new(Root::new(d).unwrap());
        let (cache, loader) = x86_loader(root);
        for tracer in [
            Tracer::new(&loader, &cache),
            Tracer::new(&loader, &cache).sequential(),
        ] {
            let t = tracer.trace("/app").unwrap();
            let libs: Vec<(&str, &[String])> = t
                .libraries()
                .map(|(_, o)| (o.path.as_str(), &o.aliases[..]))
                .collect();
            assert_eq!(
                libs,
                [
                    (
                        "/lib/x86_64-linux-gnu/libx.so.1",
                        &["/opt/y/liby.so.1".to_string()][..]
                    ),
                    ("/lib/x86_64-linux-gnu/libcopy.so.1", &[][..]),
                ]
            );
            let (x, _) = t.libraries().next().unwrap();
            assert!(t.object(0).deps.iter().any(|e| e.name == "liby.so.1"
                && e.outcome == Outcome::Already(x, crate::resolve::Already::File)));
        }
    }

    #[test]
    fn a_failed_dlopen_leaves_the_trace_as_it_was() {
        let (t, root) = root();
        let m = X86.elf_machine();
        // A provider that cannot be loaded (its own need is missing) is left out.
        write(
            t.path(),
            "jdk/lib/server/libjvm.so",
            &Synth::lib(m, "libjvm.so").needs("libgone.so.1").build(),
        );
        let (cache, loader) = x86_loader(root.clone());
        let tracer = Tracer::new(&loader, &cache);
        let set = members(&root, &cache);
        let alone = tracer.trace("/jdk/lib/libjava.so").unwrap();
        let t = tracer.trace_member("/jdk/lib/libjava.so", &set).unwrap();
        assert!(t.host_first().is_empty());
        let names = |t: &Trace| -> Vec<String> {
            t.order()
                .map(|s| match s {
                    Slot::Obj(i) => t.object(i).path.clone(),
                    Slot::Missing(m) => format!("missing {}", t.missing_at(m).name),
                })
                .collect()
        };
        assert_eq!(names(&t), names(&alone));
    }
}
