//! Everything the layer must hold, with why: the union of the traced programs, their
//! interpreters and libraries, what the hints add, what `--include` names, each path as
//! the program or the loader will open it (symlink chains and parent directories are the
//! plan's job, `plan.rs`).
//!
//! Inputs: BINs (a `#!` script brings its interpreter; `#!/usr/bin/env prog` brings env
//! and `prog` found on the default PATH), `--include` paths (files, symlinks, directories;
//! every ELF inside is traced: a program on its own, a library as if the first program
//! dlopened it), `--dlopen` sonames, and the hints. The `#!` line is read here, once:
//! the [`Program`] records say what each input is, for the stages after (bundle).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use indexmap::IndexMap;
use rayon::prelude::*;

use crate::arch::Arch;
use crate::closure::{self, Dlopened, Trace, TraceError, Tracer};
use crate::elf::{self, DepKind};
use crate::facts::DEFAULT_PATH;
use crate::hints::{self, HintOptions};
use crate::ldso::Step;
use crate::ldso::hwcaps::{CpuLevel, CpuProfile};
use crate::problem::Problem;
use crate::reason::{PluginSet, Reason};
use crate::resolve::{How, Outcome, Slot};
use crate::runtime::{self, Recognised, Take};
use crate::session::{Session, SessionError};
use crate::sysroot::{Kind, Root, SysrootError};

/// What to select besides the programs.
#[derive(Clone, Debug)]
pub struct SelectOptions {
    pub includes: Vec<String>,
    /// Files the image's command names (`crate::image::command_files`): taken, and traced
    /// when they are programs.
    pub command_files: Vec<String>,
    pub dlopens: Vec<String>,
    pub hints: HintOptions,
    /// Add every glibc-hwcaps build of each library (off when a CPU level was chosen).
    pub hwcaps_variants: bool,
    /// Add the files of the language runtimes the programs are (`runtime/`).
    pub runtimes: bool,
    /// The environment the programs will run with (`KEY=VALUE`), as runtimes read it.
    pub env: Vec<String>,
    /// What observed runs touched (`pack --probe`).
    pub probes: Vec<ProbeInput>,
}

/// What a probe record adds to the selection. Its paths join after the static closure
/// and the runtimes, so its reason marks exactly what only the observed run showed; its
/// ELF files are traced (the probe adds to the static closure, never replaces it).
#[derive(Clone, Debug)]
pub struct ProbeInput {
    /// The record's name, for messages.
    pub name: String,
    /// The architecture it was made for.
    pub arch: Arch,
    /// `probe: COMMAND`.
    pub reason: Reason,
    /// Every content path (executed, opened, listed, checked), canonical inside the root.
    pub paths: Vec<String>,
}

/// A script's `#!` line, as the kernel splits it: the interpreter and at most one argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shebang {
    /// The interpreter as written (`/usr/bin/env`, `/bin/sh`).
    pub interpreter: String,
    /// The one argument, if any (`python3` of `#!/usr/bin/env python3`, `-e` of `#!/bin/sh -e`).
    pub arg: Option<String>,
}

impl Shebang {
    /// Reads a `#!` line from the first bytes of a file; None when it is not a script,
    /// Some(None) for an empty line.
    pub fn parse(head: &[u8]) -> Option<Option<Shebang>> {
        let rest = head.strip_prefix(b"#!")?;
        let line = rest.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let line = String::from_utf8_lossy(line);
        let mut words = line.split_whitespace();
        Some(words.next().map(|interp| Shebang {
            interpreter: interp.to_string(),
            arg: words.next().map(str::to_string),
        }))
    }

    /// The program `env` runs, for `#!/usr/bin/env prog` (not for options or assignments).
    pub fn env_program(&self) -> Option<&str> {
        if !self.interpreter.ends_with("/env") {
            return None;
        }
        self.arg
            .as_deref()
            .filter(|a| !a.starts_with('-') && !a.contains('='))
    }
}

/// What one input program is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgramKind {
    /// An ELF program, traced.
    Elf,
    /// A script; `runs` is the program that runs it: the interpreter, or for
    /// `#!/usr/bin/env prog`, `prog` as found on the default PATH.
    Script { shebang: Shebang, runs: String },
}

/// One program the layer runs: an input, or the interpreter of one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    /// The path inside the root, as given.
    pub path: String,
    pub kind: ProgramKind,
}

/// The selection: paths inside the root (as they will be opened) with their reason.
#[derive(Debug, Default)]
pub struct Selection {
    files: IndexMap<String, Reason>,
    traces: Vec<Trace>,
    programs: Vec<Program>,
    problems: Vec<Problem>,
    arch: Option<Arch>,
}

impl Selection {
    /// Every selected path (inside the root, as opened) with its reason, in discovery order.
    pub fn files(&self) -> &IndexMap<String, Reason> {
        &self.files
    }
    /// The trace of every ELF program (inputs, interpreters, included programs), in order.
    pub fn traces(&self) -> &[Trace] {
        &self.traces
    }
    /// The trace of the program at `path` (as given), if it is an ELF program.
    pub fn trace_of(&self, path: &str) -> Option<&Trace> {
        self.traces.iter().find(|t| t.program == path)
    }
    /// What each input program is, and the interpreters scripts bring.
    pub fn programs(&self) -> &[Program] {
        &self.programs
    }
    /// The program record of `path`.
    pub fn program(&self, path: &str) -> Option<&Program> {
        self.programs.iter().find(|p| p.path == path)
    }
    /// What went wrong or was left out, each once.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
    /// The architecture of the programs (None when nothing was traced).
    pub fn arch(&self) -> Option<Arch> {
        self.arch
    }
}

/// A fatal selection error (bad input): exit status 2.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error(transparent)]
    Trace(#[from] TraceError),
    #[error(transparent)]
    Sysroot(#[from] SysrootError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error("{0}: no such file in the root")]
    NotFound(String),
    #[error("{0}: not a regular file")]
    NotAFile(String),
    #[error("{path}: {error}")]
    Unreadable { path: String, error: String },
    #[error("{0}: empty #! line")]
    EmptyShebang(String),
    #[error("{0}: neither an ELF program nor a #! script")]
    NotAProgram(String),
    #[error("{script}: its interpreter {interp} is not in the root")]
    NoInterpreter { script: String, interp: String },
    #[error("{0}: unsupported machine")]
    UnsupportedMachine(String),
    #[error(
        "the programs are for different architectures ({0} and {1}); a layer is for one platform"
    )]
    MixedArch(Arch, Arch),
    #[error("{path}: {error}")]
    Walk { path: String, error: String },
    #[error(
        "{record}: {count} recorded paths are not in this root (e.g. {examples}): the record was made in another root; probe again in this one"
    )]
    ProbeNotInRoot {
        record: String,
        count: usize,
        examples: String,
    },
    #[error("{record}: made for {recorded}, but the programs are for {traced}")]
    ProbeArch {
        record: String,
        recorded: Arch,
        traced: Arch,
    },
}

/// An ELF to trace as a program, and why it is in the layer.
struct ToTrace {
    path: String,
    reason: Reason,
}

/// Builds the selection for `bins` (paths inside the root).
pub fn select(
    src: &Session,
    bins: &[String],
    opts: &SelectOptions,
) -> Result<Selection, SelectError> {
    let root = &**src.root();
    let mut sel = Selection::default();
    let mut to_trace: Vec<ToTrace> = Vec::new();
    let mut dlopen_paths: Vec<(String, Reason)> = Vec::new();

    // `#!/usr/bin/env prog` finds prog on the PATH the programs run with.
    let path_var = opts
        .env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH)
        .to_string();
    // Programs: ELF as is, scripts bring their interpreter.
    for b in bins {
        add_program(
            root,
            b,
            Reason::Input,
            &path_var,
            &mut to_trace,
            &mut sel,
            0,
        )?;
    }
    // Includes: every path under them; ELF inside traced.
    for inc in &opts.includes {
        let reason = Reason::Include { arg: inc.clone() };
        for (path, is_elf_file) in
            include_paths(root, inc, &mut sel.problems, &|p| is_elf_at(root, p))?
        {
            sel.files.entry(path.clone()).or_insert(reason.clone());
            if is_elf_file {
                match elf_has_interp(src, &path) {
                    Some(true) => to_trace.push(ToTrace {
                        path,
                        reason: reason.clone(),
                    }),
                    Some(false) => dlopen_paths
                        .push((path.clone(), Reason::IncludedElfDependency { of: path })),
                    None => {}
                }
            }
        }
    }

    // Files the image's command names: a program among them (`tini -- /app/server`) is
    // traced, a script (`python3 /app/main.py`) is data for its interpreter.
    for arg in &opts.command_files {
        let reason = Reason::ImageCommand { arg: arg.clone() };
        sel.files.entry(arg.clone()).or_insert(reason.clone());
        let known = to_trace.iter().any(|t| t.path == *arg);
        let elf = matches!(root.resolve_real(arg)?, Some((c, Kind::File)) if is_elf_at(root, &c));
        if !known && elf && elf_has_interp(src, arg) == Some(true) {
            to_trace.push(ToTrace {
                path: arg.clone(),
                reason,
            });
        }
    }

    // Probe records: their programs are traced with the others, their libraries loaded
    // into every program, the rest taken last.
    let mut probe_files: Vec<(String, Reason)> = Vec::new();
    let mut probe_libs: Vec<(String, Reason)> = Vec::new();
    for p in &opts.probes {
        let mut absent: Vec<&str> = Vec::new();
        for path in &p.paths {
            let Ok(Some(r)) = root.resolve(path) else {
                absent.push(path);
                continue;
            };
            let known = to_trace.iter().any(|t| t.path == *path);
            if r.kind == Kind::File && is_elf_at(root, &r.path) && !known {
                match elf_has_interp(src, path) {
                    Some(true) => to_trace.push(ToTrace {
                        path: path.clone(),
                        reason: p.reason.clone(),
                    }),
                    Some(false) => probe_libs.push((path.clone(), p.reason.clone())),
                    None => {}
                }
            }
            // Every path too, as the run named it (a library's soname link, say).
            probe_files.push((path.clone(), p.reason.clone()));
        }
        if !absent.is_empty() {
            return Err(SelectError::ProbeNotInRoot {
                record: p.name.clone(),
                count: absent.len(),
                examples: absent
                    .iter()
                    .take(3)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }

    // Trace every program (in parallel; order kept).
    let traced: Vec<Result<Trace, SelectError>> = to_trace
        .par_iter()
        .map(|p| {
            let (_, info) = Tracer::inspect_program(root, src.cache(), &p.path)?;
            let arch = Arch::from_elf_machine(info.machine)
                .ok_or_else(|| SelectError::UnsupportedMachine(p.path.clone()))?;
            let loader = src.loader(arch)?;
            Ok(Tracer::new(&loader, src.cache()).trace(&p.path)?)
        })
        .collect();
    for (p, t) in to_trace.iter().zip(traced) {
        let t = t?;
        match sel.arch {
            Some(a) if a != t.arch => return Err(SelectError::MixedArch(a, t.arch)),
            Some(_) => {}
            None => sel.arch = Some(t.arch),
        }
        sel.files.entry(p.path.clone()).or_insert(p.reason.clone());
        sel.traces.push(t);
    }

    for p in &opts.probes {
        if let Some(a) = sel.arch
            && a != p.arch
        {
            return Err(SelectError::ProbeArch {
                record: p.name.clone(),
                recorded: p.arch,
                traced: a,
            });
        }
    }

    // The libraries of the includes are a plugin set of every program.
    let dlopen_paths = closure::providers_first(root, src.cache(), dlopen_paths);

    // Runtimes, hints, dlopens, and the loaded objects of every trace. A runtime's own
    // programs (the JVM's jspawnhelper) join the traces as they are found.
    let mut extra: HashMap<(usize, usize), Reason> = HashMap::new();
    let mut providers = Providers::default();
    let mut ti = 0;
    while ti < sel.traces.len() {
        let arch = sel.traces[ti].arch;
        if sel.traces[ti].is_static {
            ti += 1;
            continue;
        }
        let loader = src.loader(arch)?;
        let tracer = Tracer::new(&loader, src.cache());
        {
            // Every program dlopens the included libraries and the --dlopen names, each
            // with its own search path: the union does not depend on the order of BINs.
            let trace = &mut sel.traces[ti];
            let mut loaded = Vec::new();
            for (p, reason) in &dlopen_paths {
                match tracer.dlopen(trace, 0, p) {
                    Dlopened::Loaded(n) => {
                        extra.insert((ti, n), reason.clone());
                        loaded.push(n);
                    }
                    Dlopened::Already(_) => {}
                    Dlopened::Missing(m) => sel.problems.push(Problem::IncludedNotLoadable {
                        path: p.clone(),
                        missing: m.name,
                    }),
                    Dlopened::Failed(error) => sel.problems.push(Problem::IncludedDlopenFails {
                        path: p.clone(),
                        error,
                    }),
                }
            }
            providers.record(trace, &loaded, &PluginSet::Includes);
            // The libraries an observed run loaded, as it loaded them (most through the
            // search, so not as a plugin set; one that needs another of them is retried).
            let loaded = load_set(src, &tracer, trace, &probe_libs);
            for ((p, reason), result) in probe_libs.iter().zip(loaded) {
                match result {
                    Dlopened::Loaded(n) => {
                        extra.insert((ti, n), reason.clone());
                    }
                    Dlopened::Already(_) => {}
                    Dlopened::Missing(m) => sel.problems.push(Problem::IncludedNotLoadable {
                        path: p.clone(),
                        missing: m.name,
                    }),
                    Dlopened::Failed(error) => sel.problems.push(Problem::IncludedDlopenFails {
                        path: p.clone(),
                        error,
                    }),
                }
            }
            for name in &opts.dlopens {
                match tracer.dlopen(trace, 0, name) {
                    Dlopened::Loaded(n) => {
                        extra.insert((ti, n), Reason::DlopenOption);
                    }
                    Dlopened::Already(_) => {}
                    Dlopened::Missing(m) => sel.problems.push(Problem::DlopenNotFound {
                        name: name.clone(),
                        searched: m.tried.into_iter().map(|t| t.dir).collect(),
                    }),
                    Dlopened::Failed(error) => sel.problems.push(Problem::DlopenFails {
                        name: name.clone(),
                        error,
                    }),
                }
            }
        }
        if opts.runtimes {
            add_runtime(src, &tracer, ti, opts, &mut sel, &mut extra, &mut providers)?;
        }
        let trace = &mut sel.traces[ti];
        let h = hints::apply(&tracer, trace, &opts.hints);
        for (o, r) in h.objects {
            extra.entry((ti, o)).or_insert(r);
        }
        for (p, r) in h.files {
            // A data directory (zoneinfo, a locale, gconv-modules.d) is taken whole, as
            // `--include` takes one: the plan alone would add the bare directory.
            let paths = include_paths(root, &p, &mut sel.problems, &|p| is_elf_at(root, p))
                .unwrap_or_else(|_| vec![(p.clone(), false)]);
            for (q, is_elf) in paths {
                if is_elf {
                    // A plugin in a data directory (SASL mechanisms, ...) is loaded by
                    // dlopen: trace it, and leave it out (with a warning) when it cannot be
                    // loaded in the root either, e.g. its own library is not installed.
                    match tracer.dlopen(trace, 0, &q) {
                        Dlopened::Loaded(n) => {
                            extra.insert((ti, n), r.clone());
                        }
                        Dlopened::Already(_) => {}
                        Dlopened::Missing(m) => sel.problems.push(Problem::PluginNeedsMissing {
                            path: q,
                            needs: m.name,
                        }),
                        Dlopened::Failed(error) => sel
                            .problems
                            .push(Problem::PluginDlopenFails { path: q, error }),
                    }
                    continue;
                }
                sel.files.entry(q).or_insert(r.clone());
            }
        }
        sel.problems.extend(h.problems);
        if opts.hwcaps_variants {
            for (o, r) in hwcaps_variants(&tracer, trace) {
                extra.entry((ti, o)).or_insert(r);
            }
        }
        ti += 1;
    }
    for (ti, t) in sel.traces.iter().enumerate() {
        collect_trace(ti, t, &extra, &mut sel.files, &mut sel.problems);
    }
    providers.apply(&mut sel.files);
    if let Some(arch) = sel.arch
        && !dlopen_paths.is_empty()
    {
        let loader = src.loader(arch)?;
        included_alone(
            &Tracer::new(&loader, src.cache()),
            &dlopen_paths,
            &mut sel.files,
        );
    }
    for (path, reason) in probe_files {
        sel.files.entry(path).or_insert(reason);
    }
    // The loader reads /etc/ld.so.preload at every start: the layer keeps it (and the
    // preloaded libraries, which the traces loaded).
    if let Some(arch) = sel.arch
        && !src.loader(arch)?.preload().is_empty()
    {
        sel.files
            .entry(crate::ldso::LD_SO_PRELOAD.to_string())
            .or_insert(Reason::DataFile {
                library: "ld.so".into(),
                what: "preload list".into(),
            });
    }
    // The same problem seen from several programs is reported once.
    let mut seen = std::collections::HashSet::new();
    sel.problems.retain(|p| seen.insert(p.to_string()));
    Ok(sel)
}

/// The runtime trace `ti` is, if any: its files join the selection with the reason
/// `runtime: NAME`, and its ELF files are loaded as plugins of the program. A runtime
/// whose files are not in the root is an error; an interpreter without a profile, a note
/// naming what to include.
fn add_runtime(
    src: &Session,
    tracer: &Tracer,
    ti: usize,
    opts: &SelectOptions,
    sel: &mut Selection,
    extra: &mut HashMap<(usize, usize), Reason>,
    providers: &mut Providers,
) -> Result<(), SelectError> {
    let root = &**src.root();
    let Some(found) = runtime::recognise(root, &sel.traces[ti], &opts.env) else {
        return Ok(());
    };
    let (profile, found) = match found {
        Recognised::Other(o, f) => {
            sel.problems.push(Problem::RuntimeWithoutProfile {
                runtime: o.name.to_string(),
                program: f.program,
                include: o.include.to_string(),
            });
            return Ok(());
        }
        Recognised::Profile(p, f) => (p, f),
    };
    let located = match (profile.locate)(root, &found) {
        Ok(l) => l,
        Err(nf) => {
            sel.problems.push(Problem::RuntimeNotFound {
                runtime: profile.name.to_string(),
                program: found.program,
                looked_for: nf.looked_for,
                hint: nf.hint,
            });
            return Ok(());
        }
    };
    let reason = Reason::Runtime {
        runtime: profile.name.to_string(),
        home: located.home.clone(),
        found_by: located.found_by.clone(),
    };
    let set = PluginSet::Runtime {
        runtime: profile.name.to_string(),
        home: located.home.clone(),
    };
    let mut members: Vec<(String, Reason)> = Vec::new();
    let mut programs: Vec<String> = Vec::new();
    for take in &located.take {
        for (path, is_elf) in take_paths(root, take, &mut sel.problems, &|p| is_elf_at(root, p))? {
            sel.files.entry(path.clone()).or_insert(reason.clone());
            if is_elf {
                match elf_has_interp(src, &path) {
                    // A program of the runtime (the JVM runs jspawnhelper for every
                    // ProcessBuilder): traced as a program, not dlopened.
                    Some(true) => programs.push(path),
                    Some(false) => members.push((path, reason.clone())),
                    None => {}
                }
            }
        }
    }
    for p in programs {
        if sel.traces.iter().any(|t| t.program == p) {
            continue;
        }
        let t = tracer.trace(&p)?;
        if t.arch == sel.traces[ti].arch {
            sel.traces.push(t);
        }
    }
    for g in &located.generated {
        if !runtime::is_file(root, &g.path) {
            sel.problems.push(Problem::GeneratedFileMissing {
                runtime: profile.name.to_string(),
                path: g.path.clone(),
                package: g.package.to_string(),
                what: g.what.to_string(),
            });
        }
    }
    // Extension modules and the runtime's own libraries: loaded by path, as the program
    // dlopens them; one that cannot be loaded in the root is left out with a warning (an
    // optional module whose library is not installed).
    let trace = &mut sel.traces[ti];
    let mut loaded = Vec::new();
    for (path, r) in closure::providers_first(root, src.cache(), members) {
        match tracer.dlopen(trace, 0, &path) {
            Dlopened::Loaded(n) => {
                extra.entry((ti, n)).or_insert(r);
                loaded.push(n);
            }
            Dlopened::Already(_) => {}
            Dlopened::Missing(m) => {
                sel.files.shift_remove(&path);
                sel.problems.push(Problem::PluginNeedsMissing {
                    path,
                    needs: m.name,
                })
            }
            Dlopened::Failed(error) => {
                sel.files.shift_remove(&path);
                sel.problems
                    .push(Problem::PluginDlopenFails { path, error })
            }
        }
    }
    providers.record(trace, &loaded, &set);
    Ok(())
}

/// The plugin-set members that satisfied other objects' DT_NEEDED by being loaded first,
/// over every trace: their entries in the selection say so ([`Reason::SetProvider`]).
#[derive(Default)]
struct Providers {
    /// Provider path -> its set, the name provided, the objects it satisfied.
    by_path: BTreeMap<String, (PluginSet, String, Vec<String>)>,
}

impl Providers {
    /// Records, for the members `loaded` (object indices of `t`, in load order) of `set`,
    /// which of them an object loaded after it needed and found already loaded.
    fn record(&mut self, t: &Trace, loaded: &[usize], set: &PluginSet) {
        for (k, &n) in loaded.iter().enumerate() {
            for &c in &loaded[k + 1..] {
                for e in &t.object(c).deps {
                    let Outcome::Already(o, _) = e.outcome else {
                        continue;
                    };
                    if o != n {
                        continue;
                    }
                    let entry = self
                        .by_path
                        .entry(t.object(n).path.clone())
                        .or_insert_with(|| (set.clone(), e.name.clone(), Vec::new()));
                    // In load order (of the first trace that loads the set).
                    let consumer = &t.object(c).path;
                    if !entry.2.contains(consumer) {
                        entry.2.push(consumer.clone());
                    }
                }
            }
        }
    }

    /// Turns each provider's reason into [`Reason::SetProvider`].
    fn apply(self, files: &mut IndexMap<String, Reason>) {
        for (path, (set, soname, to)) in self.by_path {
            if let Some(r) = files.get_mut(&path) {
                let member = Box::new(r.clone());
                *r = Reason::SetProvider {
                    member,
                    set,
                    soname,
                    to,
                };
            }
        }
    }
}

/// The plugin set of a located runtime: the ELF libraries of its takes (its programs
/// are not dlopened), in the order its host loads them ([`closure::providers_first`]).
/// For a runtime's own library traced without its program (`trace`, `check`).
pub fn runtime_members(
    root: &Root,
    cache: &closure::ObjectCache,
    located: &runtime::Located,
) -> Vec<String> {
    runtime_members_known(root, cache, located, &|p| is_elf_at(root, p))
}

/// [`runtime_members`], with whether a regular file (canonical path) is an ELF file said
/// by `is_elf`: `check` has read the first bytes of every file of the image already.
pub fn runtime_members_known(
    root: &Root,
    cache: &closure::ObjectCache,
    located: &runtime::Located,
    is_elf: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let mut members = Vec::new();
    let mut ignored = Vec::new();
    for take in &located.take {
        let Ok(paths) = take_paths(root, take, &mut ignored, is_elf) else {
            continue;
        };
        for (path, is_elf) in paths {
            if is_elf && elf_kind(root, cache, &path) == Some(false) {
                members.push((path, ()));
            }
        }
    }
    closure::providers_first(root, cache, members)
        .into_iter()
        .map(|(p, ())| p)
        .collect()
}

/// The paths a runtime's [`Take`] brings (as `--include` brings a directory), without the
/// ones it skips.
fn take_paths(
    root: &Root,
    take: &Take,
    problems: &mut Vec<Problem>,
    is_elf: &dyn Fn(&str) -> bool,
) -> Result<Vec<(String, bool)>, SelectError> {
    let mut paths = include_paths(root, &take.path, problems, is_elf)?;
    if !take.skip.is_empty() {
        let base = take.path.trim_end_matches('/');
        paths.retain(|(p, _)| {
            let Some(rel) = p.strip_prefix(base).and_then(|r| r.strip_prefix('/')) else {
                return true;
            };
            !take.skip.iter().any(|s| {
                rel == s
                    || rel
                        .strip_prefix(s.as_str())
                        .is_some_and(|r| r.starts_with('/'))
            })
        });
    }
    Ok(paths)
}

/// Loads libraries into `trace` in order, each as the program would dlopen it by path; one
/// that fails because a library it needs is not found is tried again once the others are
/// loaded, when one of them provides that soname (what a run loaded, it loaded in some
/// order that worked). Returns each one's result.
fn load_set(
    src: &Session,
    tracer: &Tracer,
    trace: &mut Trace,
    members: &[(String, Reason)],
) -> Vec<Dlopened> {
    let mut results: Vec<Dlopened> = members
        .iter()
        .map(|(p, _)| tracer.dlopen(trace, 0, p))
        .collect();
    let root = src.root();
    let sonames: BTreeSet<String> = members
        .iter()
        .filter_map(|(p, _)| {
            let r = root.resolve(p).ok().flatten()?;
            src.cache().get(root, &r.path).ok()?.soname.clone()
        })
        .collect();
    // Retry what failed, while something new loads (a chain of members needs rounds).
    loop {
        let mut progress = false;
        for (k, (p, _)) in members.iter().enumerate() {
            let Dlopened::Failed(_) = results[k] else {
                continue;
            };
            let needs_member = root
                .resolve(p)
                .ok()
                .flatten()
                .and_then(|r| src.cache().get(root, &r.path).ok())
                .is_some_and(|i| i.deps.iter().any(|d| sonames.contains(&d.name)));
            if !needs_member {
                continue;
            }
            let again = tracer.dlopen(trace, 0, p);
            if matches!(again, Dlopened::Loaded(_) | Dlopened::Already(_)) {
                progress = true;
            }
            results[k] = again;
        }
        if !progress {
            return results;
        }
    }
}

/// Adds the program at `typed`; a script adds its interpreter (recursively, bounded).
fn add_program(
    root: &Root,
    typed: &str,
    reason: Reason,
    path_var: &str,
    to_trace: &mut Vec<ToTrace>,
    sel: &mut Selection,
    depth: usize,
) -> Result<(), SelectError> {
    let r = root
        .resolve(typed)?
        .ok_or_else(|| SelectError::NotFound(typed.into()))?;
    if r.kind != Kind::File {
        return Err(SelectError::NotAFile(typed.into()));
    }
    let head = root
        .head_canonical(&r.path, 256)
        .map_err(|e| SelectError::Unreadable {
            path: typed.into(),
            error: e.to_string(),
        })?;
    if let (Some(line), true) = (Shebang::parse(&head), depth < 4) {
        sel.files.entry(typed.to_string()).or_insert(reason);
        let shebang = line.ok_or_else(|| SelectError::EmptyShebang(typed.into()))?;
        let sreason = Reason::ScriptInterpreter {
            script: typed.to_string(),
        };
        if root.resolve(&shebang.interpreter)?.is_none() {
            return Err(SelectError::NoInterpreter {
                script: typed.into(),
                interp: shebang.interpreter,
            });
        }
        let mut runs = shebang.interpreter.clone();
        add_program(
            root,
            &shebang.interpreter,
            sreason.clone(),
            path_var,
            to_trace,
            sel,
            depth + 1,
        )?;
        if let Some(prog) = shebang.env_program() {
            let found = path_var
                .split(':')
                .filter(|d| d.starts_with('/'))
                .map(|d| format!("{d}/{prog}"))
                .find(|p| {
                    root.resolve(p)
                        .ok()
                        .flatten()
                        .is_some_and(|r| r.kind == Kind::File)
                });
            match found {
                Some(p) => {
                    add_program(root, &p, sreason, path_var, to_trace, sel, depth + 1)?;
                    runs = p;
                }
                None => {
                    return Err(SelectError::NoInterpreter {
                        script: typed.into(),
                        interp: format!("{prog} (on PATH {path_var})"),
                    });
                }
            }
        }
        sel.programs.push(Program {
            path: typed.to_string(),
            kind: ProgramKind::Script { shebang, runs },
        });
        return Ok(());
    }
    if !elf::is_elf(&head) {
        return Err(SelectError::NotAProgram(typed.into()));
    }
    sel.programs.push(Program {
        path: typed.to_string(),
        kind: ProgramKind::Elf,
    });
    to_trace.push(ToTrace {
        path: typed.to_string(),
        reason,
    });
    Ok(())
}

/// Whether the ELF at `path` has a PT_INTERP (a program) or not (a library); None if it
/// is not an ELF file minroot can trace (wrong machine, corrupt, ...).
fn elf_has_interp(src: &Session, path: &str) -> Option<bool> {
    elf_kind(src.root(), src.cache(), path)
}

/// [`elf_has_interp`] with the root and the parsed-file cache.
fn elf_kind(root: &Root, cache: &closure::ObjectCache, path: &str) -> Option<bool> {
    let r = root.resolve(path).ok().flatten()?;
    let info = cache.get(root, &r.path).ok()?;
    if !info.class64
        || Arch::from_elf_machine(info.machine).is_none()
        || !info.dynamic && info.interp.is_none()
    {
        return None;
    }
    Some(info.interp.is_some())
}

/// Every path an `--include` brings, with whether it is an ELF regular file: the path
/// itself (and the symlink chain to it); for a directory, everything below it in sorted
/// order, symlinks kept (their targets come too when they are files). `is_elf` says
/// whether a regular file (canonical path) is an ELF file.
fn include_paths(
    root: &Root,
    inc: &str,
    problems: &mut Vec<Problem>,
    is_elf: &dyn Fn(&str) -> bool,
) -> Result<Vec<(String, bool)>, SelectError> {
    let mut out = Vec::new();
    let r = root
        .resolve(inc)?
        .ok_or_else(|| SelectError::NotFound(inc.into()))?;
    match r.kind {
        Kind::File | Kind::Other => {
            out.push((inc.to_string(), r.kind == Kind::File && is_elf(&r.path)))
        }
        Kind::Dir => {
            out.push((inc.to_string(), false));
            let host = root.host_path(&r.path);
            for e in walkdir::WalkDir::new(&host)
                .min_depth(1)
                .follow_links(false)
                .sort_by_file_name()
            {
                let e = e.map_err(|e| SelectError::Walk {
                    path: inc.into(),
                    error: e.to_string(),
                })?;
                let rel = e
                    .path()
                    .strip_prefix(&host)
                    .map_err(|e| SelectError::Walk {
                        path: inc.into(),
                        error: e.to_string(),
                    })?;
                // A name that is not UTF-8 is carried, not lost (`sysroot::name`).
                let inside =
                    crate::sysroot::join(&r.path, &crate::sysroot::name::from_os(rel.as_os_str()));
                let ft = e.file_type();
                if ft.is_symlink() {
                    out.push((inside.clone(), false));
                    // The target too, when it is a file (a link to a directory is kept as a
                    // link; its contents come only if they are included themselves).
                    if let Ok(Some(t)) = root.resolve(&inside) {
                        if t.kind == Kind::File && !crate::facts::in_runtime_mount(&t.path) {
                            out.push((t.path.clone(), is_elf(&t.path)));
                        } else if t.kind == Kind::Dir && !is_under(&t.path, &r.path) {
                            problems.push(Problem::LinkOutsideInclude {
                                link: inside,
                                target: t.path,
                                include: inc.to_string(),
                            });
                        }
                    }
                } else if ft.is_file() {
                    out.push((inside.clone(), is_elf(&inside)));
                } else {
                    out.push((inside, false));
                }
            }
        }
    }
    Ok(out)
}

/// Whether canonical `path` is `dir` or below it (`/usr/share/apple` is not below
/// `/usr/share/app`).
fn is_under(path: &str, dir: &str) -> bool {
    dir == "/"
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn is_elf_at(root: &Root, canonical: &str) -> bool {
    root.head_canonical(canonical, 4)
        .is_ok_and(|h| elf::is_elf(&h))
}

/// For every library found by a directory search or the cache, the other glibc-hwcaps
/// (and legacy) builds of the same name, loaded as the loader of another CPU would.
fn hwcaps_variants(tracer: &Tracer, trace: &mut Trace) -> Vec<(usize, Reason)> {
    let loader = tracer.loader();
    let arch = loader.arch();
    let mut subdirs: BTreeSet<String> = BTreeSet::new();
    let profiles: Vec<CpuProfile> = match arch {
        Arch::X86_64 => {
            let intel = "vendor_id : GenuineIntel\nflags : cx16 lahf_lm popcnt pni ssse3 sse4_1 sse4_2 avx avx2 bmi1 bmi2 f16c fma abm movbe avx512f avx512bw avx512cd avx512dq avx512vl\n";
            let phi = "vendor_id : GenuineIntel\nflags : cx16 lahf_lm popcnt pni ssse3 sse4_1 sse4_2 avx avx2 bmi1 bmi2 f16c fma abm movbe avx512f avx512cd avx512er avx512pf\n";
            vec![
                CpuProfile::for_level(arch, CpuLevel::X86_64V4),
                CpuProfile::from_cpuinfo(arch, intel),
                CpuProfile::from_cpuinfo(arch, phi),
            ]
        }
        Arch::Aarch64 => vec![CpuProfile::for_level(arch, CpuLevel::Atomics)],
    };
    for p in &profiles {
        subdirs.extend(p.subdirs().into_iter().filter(|s| !s.is_empty()));
    }
    let mut by_len: Vec<&String> = subdirs.iter().collect();
    by_len.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut candidates: Vec<(String, String)> = Vec::new();
    for (_, o) in trace.loaded() {
        let How::Found { step } = &o.how else {
            continue;
        };
        let dir = o.dir();
        let name = o.path.rsplit('/').next().unwrap_or("").to_string();
        if *step == Step::Path || name.is_empty() {
            continue;
        }
        let base = by_len
            .iter()
            .find_map(|s| dir.strip_suffix(s.as_str()))
            .unwrap_or(dir)
            .to_string();
        for s in std::iter::once(&String::new()).chain(subdirs.iter()) {
            candidates.push((format!("{base}{s}{name}"), o.path.clone()));
        }
        if *step == Step::Cache {
            for p in loader.cache_paths(&o.name) {
                candidates.push((p.clone(), o.path.clone()));
            }
        }
    }
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (cand, of) in candidates {
        if cand == of || !seen.insert(cand.clone()) {
            continue;
        }
        match loader.open_verify(&cand) {
            Ok(Some((_, elf::Verdict::Ok))) => {}
            _ => continue,
        }
        if let Dlopened::Loaded(n) = tracer.dlopen(trace, 0, &cand) {
            out.push((n, Reason::HwcapsVariant { of }));
        }
    }
    out
}

/// Adds a trace's program interpreter and loaded objects to `files`; missing libraries
/// become problems.
/// Each included library as a program loads it on its own (`dlopen("liblapack.so.3")`
/// in a fresh process): the libraries it finds through the search. Loading the includes
/// as one set ([`PluginSet::Includes`]) can leave a name unsearched when another member,
/// loaded first by its path, provides it; the image then lacks what the search finds:
/// with `--include /etc`, liblapack's `libblas.so.3` is the member
/// `/etc/alternatives/libblas.so.3-x86_64-linux-gnu` (a link into `blas/`) in the set,
/// but `/usr/lib/x86_64-linux-gnu/libblas.so.3` (and its ld.so.cache entry) for the
/// loader, and without it `check` of the layer found liblapack unloadable. Names missing
/// on their own are not problems here: the set's load reports what the image misses, and
/// a set whose members only load together (a JVM's) stays as the set loads it.
fn included_alone(
    tracer: &Tracer,
    members: &[(String, Reason)],
    files: &mut IndexMap<String, Reason>,
) {
    let traced: Vec<Option<Trace>> = members
        .par_iter()
        .map(|(p, _)| tracer.trace(p).ok())
        .collect();
    for ((p, _), t) in members.iter().zip(traced) {
        let Some(t) = t else { continue };
        for slot in t.order() {
            let Slot::Obj(i) = slot else { continue };
            let o = t.object(i);
            if i == 0 || o.hidden {
                continue;
            }
            files
                .entry(o.path.clone())
                .or_insert_with(|| Reason::IncludedElfDependency { of: p.clone() });
        }
    }
}

fn collect_trace(
    ti: usize,
    t: &Trace,
    extra: &HashMap<(usize, usize), Reason>,
    files: &mut IndexMap<String, Reason>,
    problems: &mut Vec<Problem>,
) {
    if let Some(i) = &t.interp
        && !i.implied
    {
        match &i.real {
            Some(_) => {
                files.entry(i.path.clone()).or_insert(Reason::Interpreter {
                    program: t.program.clone(),
                });
            }
            None => problems.push(Problem::MissingInterpreter {
                program: t.program.clone(),
                interp: i.path.clone(),
            }),
        }
    }
    for slot in t.order() {
        let Slot::Obj(i) = slot else { continue };
        let o = t.object(i);
        if o.hidden {
            continue;
        }
        let reason = extra.get(&(ti, i)).cloned().unwrap_or_else(|| {
            let by = o
                .loader
                .map(|l| t.object(l).path.clone())
                .unwrap_or_else(|| t.program.clone());
            let (how, dir) = match &o.how {
                How::Found { step } => (t.via(step), o.dir().to_string()),
                // Only libraries (found by a search) are listed here.
                _ => (crate::reason::Via::Path, String::new()),
            };
            Reason::Library { by, how, dir }
        });
        files.entry(o.path.clone()).or_insert(reason);
    }
    for m in t.missing() {
        if m.kind == DepKind::Auxiliary {
            continue;
        }
        problems.push(Problem::MissingLibrary {
            name: m.name.clone(),
            needed_by: t.object(m.requested_by).path.clone(),
            stale_cache: m.stale_cache.clone(),
        });
    }
    if let Some(f) = &t.fatal {
        problems.push(Problem::LoaderStops {
            program: t.program.clone(),
            name: f.name.clone(),
            error: f.error.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_lines() {
        assert_eq!(Shebang::parse(b"\x7fELF"), None);
        assert_eq!(Shebang::parse(b"#!\n"), Some(None));
        let s = Shebang::parse(b"#! /usr/bin/env  python3 -u\nprint(1)\n")
            .unwrap()
            .unwrap();
        assert_eq!(s.interpreter, "/usr/bin/env");
        assert_eq!(s.arg.as_deref(), Some("python3"));
        assert_eq!(s.env_program(), Some("python3"));
        let sh = Shebang::parse(b"#!/bin/sh -e\n").unwrap().unwrap();
        assert_eq!(sh.env_program(), None);
        let opt = Shebang::parse(b"#!/usr/bin/env -S python3\n")
            .unwrap()
            .unwrap();
        assert_eq!(opt.env_program(), None);
    }
}
