//! One library request against the loader's current state: already loaded (by name, by
//! DT_SONAME, or by file identity), found by the search, missing, or fatal.
//!
//! [`LinkMaps`] is the loader's list of loaded objects for one program (glibc's namespace
//! list of link maps). [`LinkMaps::find_loaded`], [`LinkMaps::prepare`] and
//! [`LinkMaps::apply`] are glibc 2.36's `_dl_map_object` for a dependency: it first looks
//! for the name among loaded objects, then searches ([`Loader::search`]), then recognises a
//! file that is already loaded under another path. A file is its device and inode
//! ([`FileId`], glibc's `_dl_file_id_match_p` on `st_dev`/`st_ino`), not its name:
//! `/lib/x86_64-linux-gnu/libc.so.6` and `/usr/lib/x86_64-linux-gnu/libc.so.6` in a
//! usrmerged root are one object (one canonical path), and so are two hard links of one
//! library (two canonical paths, one inode). It does not walk dependencies (see
//! `closure.rs`).

/// Hashed with foldhash: fast, randomly seeded, never iterated for output.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
use std::hash::BuildHasher;
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;

use crate::elf::{DepKind, ElfInfo, Verdict};
use crate::ldso::dst::{self, SearchDir};
use crate::ldso::{self, ChainLink, Loader, Request, Search, SkipWhy, Skipped, Step, Tried};
use crate::sysroot::Root;

/// A file as the loader identifies it: glibc's `struct r_file_id`, the `st_dev` and
/// `st_ino` of the opened file. Two paths with one id are one object, whatever their
/// names: hard links have two canonical paths and one id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

/// File ids by canonical path, kept for every program a tracer traces: each file of the
/// root is stat'ed at most once per tracer, and only when a size comparison asks for it.
#[derive(Default)]
pub struct FileIds(crate::memo::Memo<String, Option<FileId>>);

impl FileIds {
    /// The id of the file at canonical path `real`; None when it cannot be stat'ed (then
    /// it cannot be opened either, and parsing it gives the error).
    fn get(&self, root: &Root, real: &str) -> Option<FileId> {
        if let Some(id) = self.0.get(real) {
            return id;
        }
        let id = std::fs::metadata(root.host_path(real))
            .ok()
            .map(|m| FileId {
                dev: m.dev(),
                ino: m.ino(),
            });
        self.0.insert(real.to_string(), id)
    }
}

/// What the file identity check asks of the root: file sizes (free: the root remembers
/// the lstat of every path it resolved) and device and inode (a stat). Two paths of one
/// file have one size, so the stat is only made for files whose size a loaded library
/// also has: tracing a whole /usr/bin stats almost nothing.
pub struct Files<'r> {
    root: &'r Root,
    ids: &'r FileIds,
}

impl<'r> Files<'r> {
    pub fn new(root: &'r Root, ids: &'r FileIds) -> Files<'r> {
        Files { root, ids }
    }
    fn size(&self, real: &str) -> Option<u64> {
        self.root.file_size(real)
    }
    fn id(&self, real: &str) -> Option<FileId> {
        self.ids.get(self.root, real)
    }
}

/// How a loaded object is recognised as a file by later requests (glibc `l_file_id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    /// Never: the program and ld.so (glibc leaves their file ids empty) and the vDSO.
    None,
    /// A library: by its canonical path, and by device and inode among the files of its
    /// size (None: unknown, compared with every new file).
    File { size: Option<u64> },
}

/// Why an object is in the loader's list.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum How {
    /// The traced program.
    Program,
    /// Its PT_INTERP.
    Interpreter,
    /// The kernel's vDSO (no file).
    Vdso,
    /// Found by a step of the search, in the directory [`Object::dir`] names.
    Found { step: Step },
}

/// How a request was satisfied without loading anything new.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Already {
    /// The name matched a loaded object's path or a name it was requested by.
    Name,
    /// The name matched a loaded object's DT_SONAME.
    Soname,
    /// The search found a file that is already loaded under another path.
    File,
}

/// One loaded object (a link map).
#[derive(Clone, Debug)]
pub struct Object {
    /// The name it was first requested by (ldd's left column).
    pub name: String,
    /// The path it was opened under (absolute inside the root).
    pub path: String,
    /// Its canonical path inside the root.
    pub real: String,
    /// Other paths a later search found this same file under (a hard link, another path
    /// to its inode), in the order they were found: the loader opens such a path before
    /// it recognises the file, so an image must hold it for the request to succeed.
    pub aliases: Vec<String>,
    pub how: How,
    /// The object whose request loaded it (glibc `l_loader`).
    pub loader: Option<usize>,
    pub info: Option<Arc<ElfInfo>>,
    /// Effective DT_RPATH, decomposed.
    pub rpath: Vec<SearchDir>,
    /// DT_RUNPATH, decomposed.
    pub runpath: Vec<SearchDir>,
    /// Its dependency entries and what became of each (filled when it is processed).
    pub deps: Vec<Edge>,
    /// Hidden from the `list` output (program, interpreter, vDSO).
    pub hidden: bool,
}

impl Object {
    /// The directory it was found in: for a library found by a search, the directory
    /// searched with its hwcaps or legacy subdirectory. Its path up to the last '/'
    /// (every search opens directory + name, and a name searched for has no '/').
    pub fn dir(&self) -> &str {
        self.path.rfind('/').map_or("", |i| &self.path[..=i])
    }

    /// `$ORIGIN`: the directory of the path it was opened under; of the program, of its
    /// canonical path (what the kernel gives the loader); empty for the vDSO. Made when a
    /// name or search path has a `$ORIGIN` to expand, not for every object.
    pub fn origin(&self) -> String {
        match self.how {
            How::Program => dst::origin_of(&self.real, "/"),
            How::Vdso => String::new(),
            How::Interpreter | How::Found { .. } => dst::origin_of(&self.path, "/"),
        }
    }
}

/// What became of one dependency entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Loaded by this request.
    Loaded(usize),
    Already(usize, Already),
    /// Index into [`LinkMaps::missing`].
    Missing(usize),
    /// The loader stops with an error.
    Fatal(String),
    /// A DST in the name has no value: the entry is ignored.
    Ignored,
}

/// One dependency entry of an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    pub kind: DepKind,
    /// The name after DST expansion.
    pub name: String,
    pub outcome: Outcome,
}

/// A name the loader cannot find.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Missing {
    pub name: String,
    /// The requesting object.
    pub requested_by: usize,
    pub kind: DepKind,
    /// The directories searched, in order.
    pub tried: Vec<Tried>,
    /// Candidates skipped for class or machine.
    pub skipped: Vec<Skipped>,
    /// A file of that name in a directory of ld.so.conf (the cache is stale).
    pub stale_cache: Option<String>,
}

/// An entry of the loader's object list: a loaded object or a missing name (ldd prints
/// `name => not found` at that position).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Obj(usize),
    Missing(usize),
}

/// Object indices of a name: almost always one, so no vector for it.
#[derive(Clone, Debug)]
enum Ids {
    One(usize),
    Many(Vec<usize>),
}

impl Ids {
    fn push(&mut self, i: usize) {
        match self {
            Ids::One(a) => *self = Ids::Many(vec![*a, i]),
            Ids::Many(v) => v.push(i),
        }
    }
    fn contains(&self, i: usize) -> bool {
        match self {
            Ids::One(a) => *a == i,
            Ids::Many(v) => v.contains(&i),
        }
    }
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        let (one, many) = match self {
            Ids::One(a) => (Some(*a), &[][..]),
            Ids::Many(v) => (None, &v[..]),
        };
        one.into_iter().chain(many.iter().copied())
    }
}

/// A map from names whose keys are copied into one buffer, not a String each: a list
/// adds four keys per library (its path, the name it was requested by, its DT_SONAME,
/// its canonical path), and their own allocations were a fifth of a trace's. Keys are
/// never removed one by one (a rollback keeps their bytes in the buffer).
struct StrMap<V> {
    keys: String,
    /// (start, length) of the key in `keys`, and its value.
    table: hashbrown::HashTable<(usize, usize, V)>,
    hasher: foldhash::fast::RandomState,
}

impl<V> Default for StrMap<V> {
    fn default() -> Self {
        StrMap::with_capacity(0)
    }
}

impl<V: std::fmt::Debug> std::fmt::Debug for StrMap<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.table.iter().map(|e| (key(&self.keys, e), &e.2)))
            .finish()
    }
}

fn key<'k, V>(keys: &'k str, e: &(usize, usize, V)) -> &'k str {
    &keys[e.0..e.0 + e.1]
}

impl<V> StrMap<V> {
    fn with_capacity(n: usize) -> StrMap<V> {
        StrMap {
            // Library paths and names are about 30 bytes.
            keys: String::with_capacity(32 * n),
            table: hashbrown::HashTable::with_capacity(n),
            hasher: Default::default(),
        }
    }

    fn get(&self, k: &str) -> Option<&V> {
        let h = self.hasher.hash_one(k);
        self.table
            .find(h, |e| key(&self.keys, e) == k)
            .map(|e| &e.2)
    }

    fn get_mut(&mut self, k: &str) -> Option<&mut V> {
        let h = self.hasher.hash_one(k);
        let keys = &self.keys;
        self.table
            .find_mut(h, |e| key(keys, e) == k)
            .map(|e| &mut e.2)
    }

    /// Adds `k`, which is not in the map yet.
    fn insert_new(&mut self, k: &str, v: V) {
        let start = self.keys.len();
        self.keys.push_str(k);
        let StrMap {
            keys,
            table,
            hasher,
        } = self;
        let h = hasher.hash_one(k);
        table.insert_unique(h, (start, k.len(), v), |e| hasher.hash_one(key(keys, e)));
    }

    /// Keeps the entries whose value `f` keeps (and may change).
    fn retain(&mut self, mut f: impl FnMut(&mut V) -> bool) {
        self.table.retain(|e| f(&mut e.2));
    }

    fn values(&self) -> impl Iterator<Item = &V> {
        self.table.iter().map(|e| &e.2)
    }
}

/// The loaded objects of one program, in the loader's list order.
#[derive(Debug, Default)]
pub struct LinkMaps {
    pub objects: Vec<Object>,
    /// The namespace list order (load order, filtees moved before their filter).
    pub order: Vec<Slot>,
    pub missing: Vec<Missing>,
    /// Names (paths and requested names) of each object: name -> objects having it.
    by_name: StrMap<Ids>,
    /// DT_SONAMEs not yet added as names: soname -> objects.
    by_soname: StrMap<Ids>,
    /// Canonical path -> library object: one canonical path is one file, known without
    /// a stat (not the program or ld.so).
    by_real: StrMap<usize>,
    /// File size -> library objects of that size: the only ones a new file with another
    /// canonical path can be (hard links: two canonical paths, one file).
    by_size: HashMap<u64, Ids>,
    /// Library objects whose size is unknown (compared with every new file).
    size_unknown: Vec<usize>,
    /// Indices of objects whose name was satisfied through soname.
    soname_added: Vec<bool>,
}

/// A request's answer before it is applied to the list.
pub enum Prepared {
    Search(std::sync::Arc<Search>),
    /// The name with '/' as the loader opens it, and its verdict.
    Path {
        path: String,
        found: Option<(String, Verdict)>,
    },
    Unreadable(String),
}

impl LinkMaps {
    /// An empty list with room for `n` objects (no rehashing while a typical program loads).
    pub fn with_capacity(n: usize) -> LinkMaps {
        LinkMaps {
            objects: Vec::with_capacity(n),
            order: Vec::with_capacity(n),
            by_name: StrMap::with_capacity(2 * n),
            by_soname: StrMap::with_capacity(n),
            by_real: StrMap::with_capacity(n),
            by_size: HashMap::with_capacity_and_hasher(n, Default::default()),
            soname_added: Vec::with_capacity(n),
            ..LinkMaps::default()
        }
    }

    /// Adds an object to the list (at the end of the load order), matchable by `names`
    /// (glibc: `l_name` and `l_libname`), by its DT_SONAME, and as a file as `identity`
    /// says.
    pub fn push(&mut self, obj: Object, names: &[&str], identity: Identity) -> usize {
        let i = self.objects.len();
        for n in names {
            self.add_name(i, n);
        }
        self.push_object(obj, identity)
    }

    /// [`LinkMaps::push`] of a library found by a search: its names are the path it was
    /// opened under and the name it was requested by (without copying them first).
    pub fn push_found(&mut self, obj: Object, identity: Identity) -> usize {
        let i = self.objects.len();
        self.add_name(i, &obj.path);
        self.add_name(i, &obj.name);
        self.push_object(obj, identity)
    }

    fn push_object(&mut self, obj: Object, identity: Identity) -> usize {
        let i = self.objects.len();
        if let Some(s) = obj.info.as_ref().and_then(|inf| inf.soname.as_deref()) {
            match self.by_soname.get_mut(s) {
                Some(v) => v.push(i),
                None => self.by_soname.insert_new(s, Ids::One(i)),
            }
        }
        if let Identity::File { size } = identity {
            if self.by_real.get(&obj.real).is_none() {
                self.by_real.insert_new(&obj.real, i);
            }
            match size {
                Some(n) => match self.by_size.get_mut(&n) {
                    Some(v) => v.push(i),
                    None => {
                        self.by_size.insert(n, Ids::One(i));
                    }
                },
                None => self.size_unknown.push(i),
            }
        }
        self.objects.push(obj);
        self.soname_added.push(false);
        self.order.push(Slot::Obj(i));
        i
    }

    /// Adds an extra name to object `i` (glibc `add_name_to_object`).
    pub fn add_name(&mut self, i: usize, name: &str) {
        match self.by_name.get_mut(name) {
            Some(v) if v.contains(i) => {}
            Some(v) => v.push(i),
            None => self.by_name.insert_new(name, Ids::One(i)),
        }
    }

    /// Removes the objects from `objects` on and the missing names from `missing` on, with
    /// every reference to them (a failed dlopen).
    pub fn rollback(&mut self, objects: usize, missing: usize) {
        self.objects.truncate(objects);
        self.soname_added.truncate(objects);
        self.missing.truncate(missing);
        self.order.retain(|s| match s {
            Slot::Obj(i) => *i < objects,
            Slot::Missing(m) => *m < missing,
        });
        // The ids below `objects`; false when none is left.
        let keep = |ids: &mut Ids| -> bool {
            let v: Vec<usize> = ids.iter().filter(|&i| i < objects).collect();
            *ids = match v.len() {
                0 => return false,
                1 => Ids::One(v[0]),
                _ => Ids::Many(v),
            };
            true
        };
        self.by_name.retain(keep);
        self.by_soname.retain(keep);
        self.by_size.retain(|_, ids| keep(ids));
        self.by_real.retain(|i| *i < objects);
        self.size_unknown.retain(|i| *i < objects);
    }

    /// Whether `name` is a path or requested name of a loaded object.
    pub fn names_contain(&self, name: &str) -> bool {
        self.by_name.get(name).is_some()
    }

    fn position(&self, i: usize) -> usize {
        self.order
            .iter()
            .position(|s| *s == Slot::Obj(i))
            .unwrap_or(usize::MAX)
    }

    /// glibc's first loop of `_dl_map_object`: the first object in list order whose path
    /// or names equal `name`, or whose DT_SONAME does.
    pub fn find_loaded(&mut self, name: &str) -> Option<(usize, Already)> {
        let by_name = self.by_name.get(name).and_then(|v| self.earliest(v.iter()));
        let by_soname = self
            .by_soname
            .get(name)
            .and_then(|v| self.earliest(v.iter().filter(|&i| !self.soname_added[i])));
        match (by_name, by_soname) {
            (Some(a), Some(b)) if a != b && self.position(b) < self.position(a) => {
                Some(self.take_soname(b, name))
            }
            (Some(a), _) => Some((a, Already::Name)),
            (None, Some(b)) => Some(self.take_soname(b, name)),
            (None, None) => None,
        }
    }

    /// The candidate that comes first in the load order (positions are only looked up
    /// when there is more than one candidate, which is rare).
    fn earliest(&self, mut it: impl Iterator<Item = usize>) -> Option<usize> {
        let first = it.next()?;
        match it.next() {
            None => Some(first),
            Some(second) => [first, second]
                .into_iter()
                .chain(it)
                .min_by_key(|&i| self.position(i)),
        }
    }

    fn take_soname(&mut self, i: usize, name: &str) -> (usize, Already) {
        self.soname_added[i] = true;
        self.add_name(i, name);
        (i, Already::Soname)
    }

    /// Builds the search request for `name` from object `requester`.
    pub fn prepare(
        &self,
        loader: &Loader,
        requester: usize,
        name: &str,
        library_path: &[SearchDir],
    ) -> Prepared {
        if name.contains('/') {
            let path = ldso::absolute(name);
            return match loader.open_verify(&path) {
                Ok(found) => Prepared::Path { path, found },
                Err(e) => Prepared::Unreadable(e.to_string()),
            };
        }
        // The loader chain matters only for its DT_RPATHs: when none has one (nearly
        // every request), the search is given no chain, which it treats alike, and no
        // vector is made.
        let links = || {
            let mut cur = Some(requester);
            std::iter::from_fn(move || {
                let i = cur?;
                cur = self.objects[i].loader;
                Some(ChainLink {
                    obj: i,
                    rpath: &self.objects[i].rpath,
                })
            })
            .take(self.objects.len() + 1)
        };
        let chain: Vec<ChainLink> = if links().any(|l| !l.rpath.is_empty()) {
            links().collect()
        } else {
            Vec::new()
        };
        let req_obj = &self.objects[requester];
        let info = req_obj.info.as_deref();
        let req = Request {
            name,
            requester,
            chain: &chain,
            main: ChainLink {
                obj: 0,
                rpath: &self.objects[0].rpath,
            },
            has_runpath: info.is_some_and(|i| i.runpath.is_some()),
            runpath: &req_obj.runpath,
            nodeflib: info.is_some_and(|i| i.nodeflib()),
            library_path,
        };
        Prepared::Search(loader.search_shared(&req))
    }
}

/// The facts of a newly found file the caller needs to create its [`Object`].
pub struct NewObject {
    pub name: String,
    pub path: String,
    pub real: String,
    pub identity: Identity,
    pub how: How,
    /// The parsed file, when the search's answer carried it.
    pub info: Option<Result<Arc<ElfInfo>, String>>,
}

/// The result of applying a prepared answer to the list.
pub enum Applied {
    New(NewObject),
    Already(usize, Already),
    Missing {
        tried: Vec<Tried>,
        skipped: Vec<Skipped>,
    },
    Fatal(String),
}

impl LinkMaps {
    /// The rest of `_dl_map_object` once the search is done: file identity, or a new
    /// object.
    pub fn apply(&mut self, name: &str, prepared: Prepared, files: &Files) -> Applied {
        let (path, real, how, known) = match prepared {
            Prepared::Unreadable(e) => {
                return Applied::Missing {
                    tried: vec![Tried {
                        dir: e,
                        step: Step::Path,
                    }],
                    skipped: vec![],
                };
            }
            Prepared::Path { path, found } => match found {
                None => {
                    return Applied::Missing {
                        tried: vec![Tried {
                            dir: path,
                            step: Step::Path,
                        }],
                        skipped: vec![],
                    };
                }
                Some((real, Verdict::Ok)) => (path, real, How::Found { step: Step::Path }, None),
                Some((_, Verdict::Fatal(e))) => return Applied::Fatal(format!("{path}: {e}")),
                Some((_, v)) => {
                    let why = SkipWhy::of(&v).unwrap_or(SkipWhy::WrongMachine);
                    return Applied::Missing {
                        tried: vec![Tried {
                            dir: path.clone(),
                            step: Step::Path,
                        }],
                        skipped: vec![Skipped { path, why }],
                    };
                }
            },
            Prepared::Search(s) => match &*s {
                Search::Found {
                    path,
                    real,
                    step,
                    info,
                    size,
                } => {
                    // Shared answer: only a file that is not loaded yet needs owned strings.
                    if let Some(&i) = self.by_real.get(real) {
                        return self.same_file(i, name, path);
                    }
                    (
                        path.clone(),
                        real.clone(),
                        How::Found { step: step.clone() },
                        Some((info.clone(), *size)),
                    )
                }
                Search::Missing { tried, skipped } => {
                    return Applied::Missing {
                        tried: tried.clone(),
                        skipped: skipped.clone(),
                    };
                }
                Search::Fatal { path, error } => return Applied::Fatal(format!("{path}: {error}")),
            },
        };
        // (A search's answer was looked up above, before its strings were copied.)
        if known.is_none()
            && let Some(&i) = self.by_real.get(&real)
        {
            return self.same_file(i, name, &path);
        }
        // glibc stats every file it opens and compares it with every loaded object
        // (`_dl_map_object_from_fd`): a hard link of a loaded library is that library.
        let (info, size) = match known {
            Some((info, size)) => (Some(info), size),
            None => (None, files.size(&real)),
        };
        if let Some(i) = self.same_inode(&real, size, files) {
            return self.same_file(i, name, &path);
        }
        Applied::New(NewObject {
            name: name.to_string(),
            path,
            real,
            identity: Identity::File { size },
            how,
            info,
        })
    }

    /// The loaded library that is the file at canonical path `real` (of `size`) under
    /// another canonical path, if any. Only a file of the same size can be: device and
    /// inode are asked for only then.
    fn same_inode(&self, real: &str, size: Option<u64>, files: &Files) -> Option<usize> {
        let sized = size.and_then(|n| self.by_size.get(&n));
        if size.is_some() && sized.is_none() && self.size_unknown.is_empty() {
            return None;
        }
        let id = files.id(real)?;
        let candidates: Vec<usize> = match size {
            Some(_) => sized
                .into_iter()
                .flat_map(Ids::iter)
                .chain(self.size_unknown.iter().copied())
                .collect(),
            None => self.by_real.values().copied().collect(),
        };
        candidates
            .into_iter()
            .filter(|&i| files.id(&self.objects[i].real) == Some(id))
            .min_by_key(|&i| self.position(i))
    }

    /// Object `i` found again under `path` by a request for `name`: the name is added
    /// to it (glibc `add_name_to_object`) and the path remembered.
    fn same_file(&mut self, i: usize, name: &str, path: &str) -> Applied {
        self.add_name(i, name);
        let o = &mut self.objects[i];
        if o.path != path && !o.aliases.iter().any(|a| a == path) {
            o.aliases.push(path.to_string());
        }
        Applied::Already(i, Already::File)
    }

    /// Decomposes the search paths of a new object; `origin` gives its `$ORIGIN`, asked
    /// only of an object that has a search path.
    pub fn search_dirs(
        loader: &Loader,
        info: &ElfInfo,
        origin: impl FnOnce() -> String,
    ) -> (Vec<SearchDir>, Vec<SearchDir>) {
        if info.effective_rpath().is_none() && info.runpath.is_none() {
            return (Vec::new(), Vec::new());
        }
        let origin = origin();
        let v = loader.dst_values(Some(&origin));
        let rpath = info
            .effective_rpath()
            .map(|r| dst::decompose(r, &[':'], &v))
            .unwrap_or_default();
        let runpath = info
            .runpath
            .as_deref()
            .map(|r| dst::decompose(r, &[':'], &v))
            .unwrap_or_default();
        (rpath, runpath)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys are found after the table grows (its rehash hashes the keys from the
    /// buffer), values change in place, and a retain keeps what it keeps.
    #[test]
    fn a_str_map_finds_its_keys_through_growth_and_retain() {
        let mut m: StrMap<usize> = StrMap::with_capacity(2);
        let name = |i: usize| format!("/usr/lib/x86_64-linux-gnu/lib{i}.so.{}", i % 7);
        for i in 0..500 {
            assert!(m.get(&name(i)).is_none());
            m.insert_new(&name(i), i);
        }
        for i in 0..500 {
            assert_eq!(m.get(&name(i)), Some(&i));
        }
        *m.get_mut(&name(7)).unwrap() = 1000;
        assert_eq!(m.get(&name(7)), Some(&1000));
        assert!(m.get("/usr/lib/x86_64-linux-gnu/lib7.so").is_none());
        assert!(m.get("").is_none());
        m.retain(|v| *v % 2 == 0);
        // The 250 even values, and 7's, now 1000.
        assert_eq!(m.values().count(), 251);
        assert_eq!(m.get(&name(7)), Some(&1000));
        assert_eq!(m.get(&name(4)), Some(&4));
        assert!(m.get(&name(5)).is_none());
        // An empty key is a key like any other.
        m.insert_new("", 1);
        assert_eq!(m.get(""), Some(&1));
    }
}
