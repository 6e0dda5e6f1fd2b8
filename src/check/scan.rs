//! Scanning one image directory: every entry is walked (sorted, symlinks not followed),
//! every symlink resolved inside the image, and every ELF file traced with the loader
//! rules of `minroot trace`, the directory being the root.
//!
//! - A program (PT_INTERP) is traced as the kernel and its interpreter would load it; a
//!   shared library (no PT_INTERP) as `ldd lib.so` does (its dependencies, searched by the
//!   image's loader rules). Relocatable objects (kernel modules, `.o`) and core files are
//!   not loadable and not traced; static programs need nothing.
//! - The image's architecture is the one its OCI config names, else the one whose loader
//!   the image holds, else the most common among its programs. A loadable ELF file of any
//!   other class or machine is a finding.
//! - Parsed files are shared through one [`ObjectCache`] (libc is parsed once for
//!   thousands of traces). Parsing and tracing run in parallel; the findings are sorted
//!   afterwards, so the report never depends on the thread count.
//!
//! The loader's own distinctions are kept: a candidate of the wrong class is skipped and
//! the search goes on (it shows in `skipped` if nothing else is found), an invalid ELF
//! header stops the loader (a `LoaderError`), a missing DT_AUXILIARY filtee is not an error.
//!
//! Language runtimes (`runtime::PROFILES`): every program is recognised as `pack` does it
//! and its runtime located in the image; a runtime whose own files are not there is a
//! finding (`RuntimeIncomplete`). The ELF libraries of a located runtime (and of a runtime
//! home a library lies in, `runtime::home_of`) are a plugin set: a member is traced as its
//! host loads it, after the members that provide what it would miss
//! (`Tracer::trace_member`), so the JDK's `lib/libjava.so` does not miss the
//! `lib/server/libjvm.so` the JVM loads first. Programs are traced before libraries, so
//! the sets are known when the libraries are.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use super::CheckError;
use super::findings::{self, Finding, RUNTIME_MOUNTS};
use super::rules::{self, Gconv};
use crate::arch::Arch;
use crate::closure::{ObjectCache, Trace, Tracer};
use crate::elf::{self, DepKind, ElfInfo};
use crate::ldso::Loader;
use crate::ldso::hwcaps::{CpuLevel, CpuProfile};
use crate::progress::{Progress, Stage};
use crate::runtime::{self, Recognised};
use crate::sysroot::{Root, SysrootError};

/// Counts of what was looked at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    /// Devices, FIFOs, sockets.
    pub other: u64,
    /// Files with an ELF header.
    pub elf: u64,
    /// ELF programs traced (PT_INTERP).
    pub programs: u64,
    /// Shared libraries traced.
    pub libraries: u64,
    /// Static programs (nothing to load).
    pub static_programs: u64,
    /// Relocatable objects, core files and other ELF files nothing loads.
    pub not_loadable: u64,
}

/// What the scan found.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// The image's architecture (None when it has no ELF minroot can trace).
    pub arch: Option<Arch>,
    pub stats: Stats,
    /// Sorted by subject path, then kind.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether the image is clean: no error, and with `strict` no note either.
    pub fn clean(&self, strict: bool) -> bool {
        self.findings
            .iter()
            .all(|f| f.severity() == super::findings::Severity::Note && !strict)
    }
}

/// What became of one ELF file.
enum Class {
    Program,
    Library,
    Static,
    NotLoadable,
    Foreign,
    Broken,
}

/// Scans the image at `dir`. `arch` is the architecture the image says it is for;
/// `cpu` the glibc-hwcaps level (baseline by default).
pub fn scan(
    dir: &Path,
    arch: Option<Arch>,
    cpu: Option<CpuLevel>,
    progress: &dyn Progress,
) -> Result<Report, CheckError> {
    let root = Arc::new(Root::new(dir)?);
    let mut stats = Stats::default();
    let mut found: Vec<Finding> = Vec::new();

    // 1. Walk everything, in sorted order (`tree.rs`: the ELF files told on the way).
    let tree = super::tree::walk(root.host_dir());
    stats.dirs = tree.dirs;
    stats.files = tree.files;
    stats.symlinks = tree.symlinks;
    stats.other = tree.other;
    found.extend(
        tree.unreadable
            .iter()
            .map(|(path, error)| Finding::Unreadable {
                path: path.clone(),
                error: error.clone(),
            }),
    );
    let known = super::tree::ElfFiles::new(&tree);
    let elfs = tree.elfs;
    // The symlinks resolved inside the image, in parallel.
    found.extend(
        tree.links
            .par_iter()
            .filter_map(|l| check_symlink(&root, l))
            .collect::<Vec<_>>(),
    );
    stats.elf = elfs.len() as u64;
    let checking = progress;
    checking.begin(Stage::Check, Some(stats.elf));
    struct End<'a>(&'a dyn Progress);
    impl Drop for End<'_> {
        fn drop(&mut self) {
            self.0.end();
        }
    }
    let _end = End(checking);

    // 2. Parse every ELF file once (in parallel), then decide the image's architecture.
    let cache = ObjectCache::new(elf::Options { symbols: true });
    let parsed: Vec<(&String, Result<Arc<ElfInfo>, String>)> =
        elfs.par_iter().map(|p| (p, cache.get(&root, p))).collect();
    let arch = arch.or_else(|| detect_arch(&root, &parsed));
    let loader = arch.map(|a| {
        let level = cpu.filter(|l| l.valid_for(a)).unwrap_or(CpuLevel::Baseline);
        Loader::new(root.clone(), a, CpuProfile::for_level(a, level), None)
    });
    let gconv = loader.as_ref().map(Gconv::of);
    let searched = loader
        .as_ref()
        .map(|l| searched_dirs(l, &parsed))
        .unwrap_or_default();

    // 3. Trace every loadable ELF of the image's architecture (in parallel): the programs
    // first, whose runtimes give the plugin sets, then the libraries.
    let sets = Sets {
        known,
        ..Sets::default()
    };
    let inspect = |path: &String, info: &Result<Arc<ElfInfo>, String>| {
        let reachable = |i: &ElfInfo| {
            i.interp.is_some() || i.e_type == elf::ET_EXEC || searched.contains(parent_dir(path))
        };
        inspect_one(
            path,
            info,
            arch,
            loader.as_ref(),
            gconv.as_ref(),
            &cache,
            &reachable,
            &sets,
        )
    };
    let is_program =
        |i: &Result<Arc<ElfInfo>, String>| i.as_ref().is_ok_and(|i| i.interp.is_some());
    let inspect = |path: &String, info: &Result<Arc<ElfInfo>, String>| {
        let r = inspect(path, info);
        checking.add(1);
        r
    };
    let mut results: Vec<Option<(Class, Vec<Finding>)>> = parsed
        .par_iter()
        .map(|(path, info)| is_program(info).then(|| inspect(path, info)))
        .collect();
    found.extend(sets.located(&root, &cache));
    let libraries: Vec<(usize, (Class, Vec<Finding>))> = parsed
        .par_iter()
        .enumerate()
        .filter(|(_, (_, info))| !is_program(info))
        .map(|(k, (path, info))| (k, inspect(path, info)))
        .collect();
    for (k, r) in libraries {
        results[k] = Some(r);
    }
    let results = results.into_iter().map(|r| r.expect("every ELF inspected"));
    let mut libc = false;
    let mut tls: Option<&str> = None;
    for ((path, info), (class, fs)) in parsed.iter().zip(results) {
        match class {
            Class::Program => stats.programs += 1,
            Class::Library => stats.libraries += 1,
            Class::Static => stats.static_programs += 1,
            Class::NotLoadable => stats.not_loadable += 1,
            Class::Foreign | Class::Broken => {}
        }
        if let (Ok(i), Some(a)) = (info, arch)
            && i.machine == a.elf_machine()
            && i.class64
        {
            let soname = i.soname.as_deref().unwrap_or("");
            libc |= soname == "libc.so.6";
            if tls.is_none() && crate::facts::is_tls_library(soname) {
                tls = Some(path.as_str());
            }
        }
        found.extend(fs);
    }

    // 4. Image-wide rules.
    if let Some(l) = &loader
        && libc
    {
        found.extend(rules::nss(l));
    }
    if let Some(lib) = tls {
        found.extend(rules::ca_bundle(&root, lib));
    }
    findings::sort(&mut found);
    Ok(Report {
        arch,
        stats,
        findings: found,
    })
}

/// The architecture whose loader the image holds (when exactly one), else the most
/// common among its dynamic programs, else among all its loadable ELF files.
fn detect_arch(root: &Root, parsed: &[(&String, Result<Arc<ElfInfo>, String>)]) -> Option<Arch> {
    let loaders: Vec<Arch> = Arch::ALL
        .into_iter()
        .filter(|a| {
            root.resolve(a.loader_path())
                .ok()
                .flatten()
                .is_some_and(|r| r.kind == crate::sysroot::Kind::File)
        })
        .collect();
    if let [one] = loaders[..] {
        return Some(one);
    }
    let count = |programs_only: bool| {
        let mut n = [0usize; 2];
        for (_, i) in parsed {
            let Ok(i) = i else { continue };
            if !i.class64 || !i.little_endian || programs_only && i.interp.is_none() {
                continue;
            }
            if let Some(a) = Arch::from_elf_machine(i.machine) {
                n[Arch::ALL.iter().position(|x| *x == a).unwrap_or(0)] += 1;
            }
        }
        n
    };
    for programs_only in [true, false] {
        let n = count(programs_only);
        if n.iter().any(|&c| c > 0) {
            // Ties go to the first architecture of `Arch::ALL` (a stable choice).
            let best = if n[1] > n[0] { 1 } else { 0 };
            return Some(Arch::ALL[best]);
        }
    }
    None
}

/// A human name for an ELF file's class, byte order and machine.
fn describe(i: &ElfInfo) -> String {
    let machine = match i.machine {
        3 => "i386".to_string(),
        8 => "MIPS".to_string(),
        20 => "PowerPC".to_string(),
        21 => "PowerPC64".to_string(),
        22 => "s390".to_string(),
        40 => "ARM".to_string(),
        243 => "RISC-V".to_string(),
        m => Arch::from_elf_machine(m)
            .map(|a| a.name().to_string())
            .unwrap_or_else(|| format!("machine {m}")),
    };
    format!(
        "{}-bit {}{machine}",
        if i.class64 { 64 } else { 32 },
        if i.little_endian { "" } else { "big-endian " }
    )
}

/// The directories the image's loader looks in: its default directories, those of
/// ld.so.conf, and every directory holding a library of the image's architecture.
fn searched_dirs(
    loader: &Loader,
    parsed: &[(&String, Result<Arc<ElfInfo>, String>)],
) -> HashSet<String> {
    let mut dirs: HashSet<String> = loader
        .default_dirs()
        .iter()
        .chain(loader.conf_dirs())
        .filter_map(|d| loader.root().resolve(d).ok().flatten())
        .map(|r| r.path)
        .collect();
    for (p, i) in parsed {
        if let Ok(i) = i
            && i.class64
            && i.little_endian
            && i.machine == loader.arch().elf_machine()
            && i.e_type == elf::ET_DYN
        {
            dirs.insert(parent_dir(p).to_string());
        }
    }
    dirs
}

/// The directory of a canonical path ("/" for a top-level name).
fn parent_dir(p: &str) -> &str {
    match p.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((d, _)) => d,
    }
}

/// A program recognised as a runtime, and where its files are (or why they are not).
type Seen = (
    String,
    &'static runtime::Profile,
    Result<runtime::Located, runtime::NotFound>,
);

/// The runtimes the image's programs are, and the plugin sets of their homes.
#[derive(Default)]
struct Sets {
    /// Each program recognised as a runtime with a profile, and where its files are.
    seen: Mutex<Vec<Seen>>,
    /// After the programs: canonical member path -> the members of its set, in the order
    /// the host loads them.
    members: std::sync::OnceLock<HashMap<String, Arc<Vec<String>>>>,
    /// Homes found from a library (`runtime::home_of`) while the libraries are traced.
    homes: Mutex<HashMap<String, Arc<Vec<String>>>>,
    /// The plugin set of each place a runtime was located, made by the first program
    /// that located it, while the other programs are traced (not after them all, one
    /// home after the other).
    made: Mutex<Vec<MadeSet>>,
    /// The image's ELF files, as the walk read them.
    known: super::tree::ElfFiles,
}

/// A runtime's located files and their plugin set, made at most once.
type MadeSet = (
    &'static str,
    runtime::Located,
    Arc<std::sync::OnceLock<Arc<Vec<String>>>>,
);

impl Sets {
    /// Recognises the runtime a traced program is, if any, and locates its files.
    fn program(&self, root: &Root, cache: &ObjectCache, program: &str, trace: &Trace) {
        if let Some(Recognised::Profile(p, f)) = runtime::recognise(root, trace, &[]) {
            let located = (p.locate)(root, &f);
            if let Ok(l) = &located {
                self.set_of(root, cache, p.name, l);
            }
            if let Ok(mut seen) = self.seen.lock() {
                seen.push((program.to_string(), p, located));
            }
        }
    }

    /// The ELF libraries of `l` in the order its host loads them.
    fn members_of(&self, root: &Root, cache: &ObjectCache, l: &runtime::Located) -> Vec<String> {
        crate::select::runtime_members_known(root, cache, l, &|p| self.known.is_elf(root, p))
    }

    /// The plugin set of the runtime `profile` located as `l` (made once).
    fn set_of(
        &self,
        root: &Root,
        cache: &ObjectCache,
        profile: &'static str,
        l: &runtime::Located,
    ) -> Arc<Vec<String>> {
        let cell = {
            let Ok(mut made) = self.made.lock() else {
                return Arc::new(self.members_of(root, cache, l));
            };
            match made.iter().find(|(p, m, _)| *p == profile && m == l) {
                Some((_, _, c)) => c.clone(),
                None => {
                    let c = Arc::default();
                    made.push((profile, l.clone(), Arc::clone(&c)));
                    c
                }
            }
        };
        cell.get_or_init(|| Arc::new(self.members_of(root, cache, l)))
            .clone()
    }

    /// Once every program is traced: the plugin set of each located home, and a finding
    /// for each program whose runtime's files are not in the image.
    fn located(&self, root: &Root, cache: &ObjectCache) -> Vec<Finding> {
        let mut seen = self.seen.lock().map(|s| s.clone()).unwrap_or_default();
        seen.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = Vec::new();
        let mut homes: BTreeMap<(&str, String), runtime::Located> = BTreeMap::new();
        for (program, profile, located) in seen {
            match located {
                Ok(l) => {
                    homes.entry((profile.name, l.home.clone())).or_insert(l);
                }
                Err(nf) => out.push(Finding::RuntimeIncomplete {
                    program,
                    runtime: profile.name.to_string(),
                    looked_for: nf.looked_for,
                    hint: nf.hint,
                }),
            }
        }
        let mut members = HashMap::new();
        for ((profile, _), l) in &homes {
            let set = self.set_of(root, cache, profile, l);
            for m in set.iter() {
                if let Ok(Some(r)) = root.resolve(m) {
                    members.entry(r.path).or_insert_with(|| set.clone());
                }
            }
        }
        let _ = self.members.set(members);
        out
    }

    /// The plugin set `path` (canonical) is a member of: of a located runtime, else of
    /// the runtime home it lies in (asked once per home).
    fn of(&self, root: &Root, cache: &ObjectCache, path: &str) -> Option<Arc<Vec<String>>> {
        if let Some(set) = self.members.get().and_then(|m| m.get(path)) {
            return Some(set.clone());
        }
        let (_, located) = runtime::home_of(root, path)?;
        let mut homes = self.homes.lock().ok()?;
        let set = homes
            .entry(located.home.clone())
            .or_insert_with(|| Arc::new(self.members_of(root, cache, &located)));
        Some(set.clone())
    }
}

#[allow(clippy::too_many_arguments)]
fn inspect_one(
    path: &str,
    info: &Result<Arc<ElfInfo>, String>,
    arch: Option<Arch>,
    loader: Option<&Loader>,
    gconv: Option<&Gconv>,
    cache: &ObjectCache,
    reachable: &dyn Fn(&ElfInfo) -> bool,
    sets: &Sets,
) -> (Class, Vec<Finding>) {
    let info = match info {
        Ok(i) => i,
        Err(e) => {
            return (
                Class::Broken,
                vec![Finding::BadElf {
                    path: path.into(),
                    error: e.clone(),
                }],
            );
        }
    };
    if info.e_type != elf::ET_EXEC && info.e_type != elf::ET_DYN {
        return (Class::NotLoadable, vec![]);
    }
    let ours =
        arch.is_some_and(|a| info.class64 && info.little_endian && info.machine == a.elf_machine());
    let (Some(loader), true) = (loader, ours) else {
        let expected = arch
            .map(|a| format!("64-bit {a}"))
            .unwrap_or_else(|| "64-bit x86_64 or aarch64".into());
        return (
            Class::Foreign,
            vec![Finding::WrongClassOrMachine {
                path: path.into(),
                found: describe(info),
                expected,
                reachable: reachable(info),
            }],
        );
    };
    if info.is_static() && info.is_executable() {
        return (Class::Static, vec![]);
    }
    let class = if info.interp.is_some() {
        Class::Program
    } else {
        Class::Library
    };
    let tracer = Tracer::new(loader, cache);
    let traced = tracer.trace(path).and_then(|t| {
        // A library that misses something may be a plugin-set member whose host loads
        // the provider first.
        if matches!(class, Class::Library)
            && !t.complete()
            && let Some(set) = sets.of(loader.root(), cache, path)
        {
            return tracer.trace_member(path, &set);
        }
        Ok(t)
    });
    let trace = match traced {
        Ok(t) => t,
        Err(e) => {
            let error = match e {
                crate::closure::TraceError::Sysroot(SysrootError::Loop { .. }) => {
                    "a symlink loop".to_string()
                }
                e => e.to_string(),
            };
            return (
                Class::Broken,
                vec![Finding::BadElf {
                    path: path.into(),
                    error,
                }],
            );
        }
    };
    if matches!(class, Class::Program) {
        sets.program(loader.root(), cache, path, &trace);
    }
    let mut out = trace_findings(path, &trace);
    if matches!(class, Class::Program)
        && let Some(g) = gconv
        && !g.present
        && rules::calls_iconv_open(&trace)
    {
        out.push(Finding::GconvMissing {
            elf: path.into(),
            dir: g.dir.clone(),
        });
    }
    (class, out)
}

/// The loader's failures for one traced ELF, each missing name once.
fn trace_findings(elf: &str, t: &Trace) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(i) = &t.interp
        && !i.implied
        && i.real.is_none()
    {
        out.push(Finding::MissingInterpreter {
            elf: elf.into(),
            interp: i.path.clone(),
        });
    }
    let mut seen = HashSet::new();
    for m in t.missing() {
        if m.kind == DepKind::Auxiliary || !seen.insert(m.name.as_str()) {
            continue;
        }
        out.push(Finding::MissingLibrary {
            elf: elf.into(),
            name: m.name.clone(),
            needed_by: t.object(m.requested_by).path.clone(),
            tried: m.tried.iter().map(|t| t.dir.clone()).collect(),
            skipped: m
                .skipped
                .iter()
                .map(|s| format!("{} ({})", s.path, s.why))
                .collect(),
        });
    }
    if let Some(f) = &t.fatal {
        out.push(Finding::LoaderError {
            elf: elf.into(),
            name: f.name.clone(),
            error: f.error.clone(),
        });
    }
    out
}

/// Dangling, looping and escaping symlinks.
fn check_symlink(root: &Root, inside: &str) -> Option<Finding> {
    let target = root.link_target(inside)?;
    let resolves = match root.resolve(inside) {
        Ok(r) => Resolves::from(r.is_some()),
        Err(SysrootError::Loop { .. }) => Resolves::Loop,
        Err(e) => Resolves::Unreadable(e.to_string()),
    };
    symlink_finding(inside, &target, resolves)
}

/// Where a symlink leads in the image, as [`symlink_finding`] judges it.
#[derive(Debug)]
pub enum Resolves {
    Yes,
    No,
    Loop,
    Unreadable(String),
}

impl From<bool> for Resolves {
    fn from(found: bool) -> Resolves {
        if found { Resolves::Yes } else { Resolves::No }
    }
}

/// The finding for the symlink at `inside` (its target as stored), given where it leads
/// in the image: the one rule, applied by `check` to an image and by `pack` to the layer
/// it is about to write (`check::layer`).
pub fn symlink_finding(inside: &str, target: &str, resolves: Resolves) -> Option<Finding> {
    let parent = inside.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    let escapes = escapes_root(parent, target);
    let (path, target) = (inside.to_string(), target.to_string());
    match resolves {
        Resolves::Yes if !escapes => None,
        Resolves::Yes | Resolves::No if escapes => Some(Finding::EscapingSymlink { path, target }),
        Resolves::Yes | Resolves::No => {
            let lexical = lexical_target(parent, &target);
            let runtime_mount = RUNTIME_MOUNTS
                .iter()
                .any(|m| lexical == *m || lexical.starts_with(&format!("{m}/")));
            Some(Finding::DanglingSymlink {
                path,
                target,
                runtime_mount,
            })
        }
        Resolves::Loop => Some(Finding::SymlinkLoop { path, target }),
        Resolves::Unreadable(error) => Some(Finding::Unreadable { path, error }),
    }
}

/// Whether a relative `target` of a link in directory `parent` (canonical, "" for the
/// root) climbs above the root with `..`, counted lexically.
fn escapes_root(parent: &str, target: &str) -> bool {
    if target.starts_with('/') {
        return false;
    }
    let mut depth = parent.split('/').filter(|c| !c.is_empty()).count();
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." if depth == 0 => return true,
            ".." => depth -= 1,
            _ => depth += 1,
        }
    }
    false
}

/// The absolute path a symlink names, lexically (`..` stops at the root).
fn lexical_target(parent: &str, target: &str) -> String {
    let mut parts: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        parent.split('/').filter(|c| !c.is_empty()).collect()
    };
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::synth::Synth;
    use crate::progress::Silent;
    use crate::progress::tests::{Event, recorder};
    use std::os::unix::fs::symlink;

    #[test]
    fn checking_tells_the_observer_each_elf_file_once() {
        let t = image();
        let (o, r) = recorder();
        let report = scan(t.path(), None, None, &*o).unwrap();
        let events = r.0.lock().unwrap().clone();
        let n = report.stats.elf;
        assert!(n >= 4, "{n}");
        let mut want = vec![Event::Begin(Stage::Check, Some(n))];
        want.extend((0..n).map(|_| Event::Add(1)));
        want.push(Event::End);
        assert_eq!(events, want);
    }

    const X86: Arch = Arch::X86_64;
    const LIBDIR: &str = "usr/lib/x86_64-linux-gnu";

    fn write(root: &Path, p: &str, bytes: &[u8]) {
        let p = root.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    /// A tiny x86_64 image: loader, libc, libz, a program needing both.
    fn image() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let m = X86.elf_machine();
        write(
            d,
            "usr/lib64/ld-linux-x86-64.so.2",
            &Synth::lib(m, "ld-linux-x86-64.so.2").build(),
        );
        symlink("usr/lib64", d.join("lib64")).unwrap();
        write(
            d,
            &format!("{LIBDIR}/libc.so.6"),
            &Synth::lib(m, "libc.so.6").build(),
        );
        write(
            d,
            &format!("{LIBDIR}/libz.so.1"),
            &Synth::lib(m, "libz.so.1").needs("libc.so.6").build(),
        );
        let exe = Synth::exe(m, X86.loader_path())
            .needs("libz.so.1")
            .needs("libc.so.6");
        write(d, "usr/bin/app", &exe.build());
        t
    }

    fn kinds(r: &Report) -> Vec<(String, String)> {
        r.findings
            .iter()
            .map(|f| (f.kind().to_string(), f.subject().to_string()))
            .collect()
    }

    #[test]
    fn a_complete_image_is_clean() {
        let t = image();
        let r = scan(t.path(), None, None, &Silent).unwrap();
        assert_eq!(r.arch, Some(X86));
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        assert_eq!(r.stats.programs, 1);
        assert_eq!(r.stats.libraries, 3);
    }

    #[test]
    fn a_removed_library_is_named_for_every_elf_that_needs_it() {
        let t = image();
        std::fs::remove_file(t.path().join(LIBDIR).join("libc.so.6")).unwrap();
        let r = scan(t.path(), None, None, &Silent).unwrap();
        let missing: Vec<_> = r
            .findings
            .iter()
            .filter_map(|f| match f {
                Finding::MissingLibrary {
                    elf, name, tried, ..
                } => {
                    assert!(
                        tried.iter().any(|d| d == "/usr/lib/x86_64-linux-gnu/"),
                        "{tried:?}"
                    );
                    Some((elf.as_str(), name.as_str()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            missing,
            [
                ("/usr/bin/app", "libc.so.6"),
                ("/usr/lib/x86_64-linux-gnu/libz.so.1", "libc.so.6")
            ]
        );
    }

    #[test]
    fn a_removed_interpreter_is_named() {
        let t = image();
        std::fs::remove_file(t.path().join("usr/lib64/ld-linux-x86-64.so.2")).unwrap();
        // The loader is gone, so the architecture comes from the programs.
        let r = scan(t.path(), None, None, &Silent).unwrap();
        assert_eq!(r.arch, Some(X86));
        assert!(r.findings.contains(&Finding::MissingInterpreter {
            elf: "/usr/bin/app".into(),
            interp: X86.loader_path().into()
        }));
    }

    #[test]
    fn wrong_machine_and_class_are_named() {
        let t = image();
        let arm = Synth::lib(Arch::Aarch64.elf_machine(), "libz.so.1").build();
        write(t.path(), "usr/lib/aarch64-linux-gnu/libz.so.1", &arm);
        write(t.path(), &format!("{LIBDIR}/libarm.so"), &arm);
        let r = scan(t.path(), None, None, &Silent).unwrap();
        assert_eq!(
            kinds(&r),
            [
                (
                    "wrong_class_or_machine".to_string(),
                    "/usr/lib/aarch64-linux-gnu/libz.so.1".to_string()
                ),
                (
                    "wrong_class_or_machine".to_string(),
                    format!("/{LIBDIR}/libarm.so")
                )
            ]
        );
        // Where the loader never looks (a multiarch directory): a note; where it looks: an error.
        let sev: Vec<_> = r.findings.iter().map(Finding::severity).collect();
        assert_eq!(
            sev,
            [super::super::Severity::Note, super::super::Severity::Error]
        );
        std::fs::remove_file(t.path().join(LIBDIR).join("libarm.so")).unwrap();
        // The same image said to be for aarch64 (its OCI config): every x86_64 file is foreign.
        let r = scan(t.path(), Some(Arch::Aarch64), None, &Silent).unwrap();
        assert_eq!(
            r.findings
                .iter()
                .filter(|f| f.kind() == "wrong_class_or_machine")
                .count(),
            4
        );
    }

    #[test]
    fn symlinks_dangling_escaping_looping_and_into_mounts() {
        let t = image();
        let d = t.path();
        symlink("libz.so.1.2.3", d.join(LIBDIR).join("libgone.so")).unwrap();
        symlink("../../../../../../etc/passwd", d.join("usr/escape")).unwrap();
        symlink("../proc/self/mounts", d.join("usr/mtab")).unwrap();
        symlink("l2", d.join("usr/l1")).unwrap();
        symlink("l1", d.join("usr/l2")).unwrap();
        symlink("/usr/bin/app", d.join("usr/abs")).unwrap();
        let r = scan(d, None, None, &Silent).unwrap();
        let k = kinds(&r);
        assert!(
            k.contains(&("dangling_symlink".into(), format!("/{LIBDIR}/libgone.so"))),
            "{k:?}"
        );
        assert!(
            k.contains(&("escaping_symlink".into(), "/usr/escape".into())),
            "{k:?}"
        );
        assert!(
            k.contains(&("symlink_loop".into(), "/usr/l1".into())),
            "{k:?}"
        );
        assert!(
            !k.iter().any(|x| x.1 == "/usr/abs"),
            "absolute targets resolve inside"
        );
        let mtab = r
            .findings
            .iter()
            .find(|f| f.subject() == "/usr/mtab")
            .unwrap();
        assert_eq!(mtab.severity(), super::super::Severity::Note);
    }

    #[test]
    fn lexical_helpers() {
        assert!(escapes_root("", ".."));
        assert!(escapes_root("/usr/lib", "../../../x"));
        assert!(!escapes_root("/usr/lib", "../../x"));
        assert!(!escapes_root("/usr/lib", "/x/../../.."));
        assert_eq!(
            lexical_target("/etc", "../proc/self/mounts"),
            "/proc/self/mounts"
        );
        assert_eq!(lexical_target("/etc", "/run/x"), "/run/x");
    }

    #[test]
    fn gconv_nss_and_ca_rules() {
        let t = image();
        let d = t.path();
        let m = X86.elf_machine();
        let exe = Synth::exe(m, X86.loader_path())
            .needs("libc.so.6")
            .imports(&["iconv_open"]);
        write(d, "usr/bin/conv", &exe.build());
        write(
            d,
            "etc/nsswitch.conf",
            b"passwd: files nis\nhosts: files dns\n",
        );
        write(
            d,
            &format!("{LIBDIR}/libssl.so.3"),
            &Synth::lib(m, "libssl.so.3").needs("libc.so.6").build(),
        );
        let r = scan(d, None, None, &Silent).unwrap();
        let k = kinds(&r);
        assert!(
            k.contains(&("gconv_missing".into(), "/usr/bin/conv".into())),
            "{k:?}"
        );
        assert!(
            !k.iter()
                .any(|x| x == &("gconv_missing".to_string(), "/usr/bin/app".to_string()))
        );
        assert!(
            k.contains(&("nss_module_missing".into(), "/etc/nsswitch.conf".into())),
            "{k:?}"
        );
        assert!(
            k.contains(&("ca_bundle_missing".into(), format!("/{LIBDIR}/libssl.so.3"))),
            "{k:?}"
        );

        // With gconv modules, the NSS module and a CA bundle, all three go away.
        write(d, &format!("{LIBDIR}/gconv/gconv-modules"), b"");
        write(
            d,
            &format!("{LIBDIR}/gconv/UTF-16.so"),
            &Synth::lib(m, "UTF-16.so").build(),
        );
        write(
            d,
            &format!("{LIBDIR}/libnss_nis.so.2"),
            &Synth::lib(m, "libnss_nis.so.2").build(),
        );
        write(
            d,
            "etc/ssl/certs/ca-certificates.crt",
            b"-----BEGIN CERTIFICATE-----\n",
        );
        let r = scan(d, None, None, &Silent).unwrap();
        assert!(r.findings.is_empty(), "{:?}", r.findings);
    }

    /// A JRE laid out as Debian's: HOME/bin/java needs libjli.so ($ORIGIN/../lib), the
    /// plugin set in HOME/lib needs lib/server/libjvm.so, which no search finds.
    fn jre(t: &tempfile::TempDir) {
        let d = t.path();
        let m = X86.elf_machine();
        let home = "usr/lib/jvm/java-17-openjdk-amd64";
        let exe = Synth::exe(m, X86.loader_path())
            .needs("libjli.so")
            .needs("libc.so.6")
            .runpath("$ORIGIN/../lib");
        write(d, &format!("{home}/bin/java"), &exe.build());
        std::fs::create_dir_all(d.join("usr/bin")).unwrap();
        symlink(format!("/{home}/bin/java"), d.join("usr/bin/java")).unwrap();
        let lib = |soname: &str, needs: &[&str]| {
            let mut s = Synth::lib(m, soname).runpath("$ORIGIN");
            for n in needs {
                s = s.needs(n);
            }
            s.build()
        };
        write(
            d,
            &format!("{home}/lib/libjli.so"),
            &lib("libjli.so", &["libc.so.6"]),
        );
        write(
            d,
            &format!("{home}/lib/server/libjvm.so"),
            &lib("libjvm.so", &["libc.so.6"]),
        );
        write(
            d,
            &format!("{home}/lib/libjava.so"),
            &lib("libjava.so", &["libjvm.so", "libc.so.6"]),
        );
        write(
            d,
            &format!("{home}/lib/libnio.so"),
            &lib("libnio.so", &["libjava.so", "libjvm.so"]),
        );
        write(d, &format!("{home}/lib/jvm.cfg"), b"-server KNOWN\n");
        write(d, &format!("{home}/lib/modules"), b"jimage");
    }

    #[test]
    fn r_issue_10_a_jre_plugin_set_is_satisfied_by_its_members() {
        let t = image();
        jre(&t);
        let r = scan(t.path(), None, None, &Silent).unwrap();
        assert!(r.findings.is_empty(), "{:?}", r.findings);

        // Without a launcher in the image, the home a library lies in is the set.
        let home = t.path().join("usr/lib/jvm/java-17-openjdk-amd64");
        let away = tempfile::tempdir().unwrap();
        std::fs::copy(home.join("bin/java"), away.path().join("java")).unwrap();
        std::fs::remove_file(home.join("bin/java")).unwrap();
        let r = scan(t.path(), None, None, &Silent).unwrap();
        let k = kinds(&r);
        assert_eq!(k, [("dangling_symlink".into(), "/usr/bin/java".into())]);
        std::fs::copy(away.path().join("java"), home.join("bin/java")).unwrap();

        // What no member provides is still missing.
        let m = X86.elf_machine();
        write(
            t.path(),
            "usr/lib/jvm/java-17-openjdk-amd64/lib/libawt.so",
            &Synth::lib(m, "libawt.so")
                .needs("libjvm.so")
                .needs("libX11.so.6")
                .build(),
        );
        let r = scan(t.path(), None, None, &Silent).unwrap();
        let missing: Vec<(&str, &str)> = r
            .findings
            .iter()
            .filter_map(|f| match f {
                Finding::MissingLibrary { elf, name, .. } => Some((elf.as_str(), name.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(
            missing,
            [(
                "/usr/lib/jvm/java-17-openjdk-amd64/lib/libawt.so",
                "libX11.so.6"
            )]
        );
    }

    #[test]
    fn r_issue_10_a_runtime_without_its_own_files_is_reported() {
        let t = image();
        jre(&t);
        let home = t.path().join("usr/lib/jvm/java-17-openjdk-amd64");
        std::fs::remove_file(home.join("lib/modules")).unwrap();
        let r = scan(t.path(), None, None, &Silent).unwrap();
        let k = kinds(&r);
        assert!(
            k.contains(&(
                "runtime_incomplete".into(),
                "/usr/lib/jvm/java-17-openjdk-amd64/bin/java".into()
            )),
            "{k:?}"
        );
        let f = r
            .findings
            .iter()
            .find(|f| f.kind() == "runtime_incomplete")
            .unwrap();
        assert_eq!(f.severity(), super::super::Severity::Error);
        let Finding::RuntimeIncomplete {
            runtime,
            looked_for,
            ..
        } = f
        else {
            unreachable!()
        };
        assert_eq!(runtime, "OpenJDK");
        assert_eq!(
            looked_for,
            &["/usr/lib/jvm/java-17-openjdk-amd64/lib/modules".to_string()]
        );
        // Without its home the JRE is no plugin set: libjvm.so is missing again.
        assert!(
            k.contains(&(
                "missing_library".into(),
                "/usr/lib/jvm/java-17-openjdk-amd64/lib/libjava.so".into()
            )),
            "{k:?}"
        );
    }

    #[test]
    fn the_report_does_not_depend_on_the_thread_count() {
        let t = image();
        std::fs::remove_file(t.path().join(LIBDIR).join("libz.so.1")).unwrap();
        for i in 0..20 {
            let p = format!("usr/bin/p{i}");
            let exe = Synth::exe(X86.elf_machine(), X86.loader_path())
                .needs(&format!("libmissing{i}.so"));
            write(t.path(), &p, &exe.build());
        }
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let four = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let a = one.install(|| scan(t.path(), None, None, &Silent).unwrap());
        let b = four.install(|| scan(t.path(), None, None, &Silent).unwrap());
        assert_eq!(a.findings, b.findings);
        assert_eq!(
            a.findings.len(),
            21,
            "libz for app, one name for each of 20 programs"
        );
    }
}
