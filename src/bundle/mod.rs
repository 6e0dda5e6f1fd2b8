//! `minroot bundle`: a relocatable folder (or .tar.gz of one) that runs programs on
//! another x86_64 or aarch64 Linux without installing anything.
//!
//! The closure is the one `pack` selects and plans (programs, interpreter, libraries,
//! hints, `--include`s, symlink chains; no base files); this module lays it out
//! relocatably (`layout.rs`) and adds one launcher per program (`launcher.rs`):
//!
//! ```text
//! OUT/bin/curl                          launcher (sh): bundled ld.so --library-path --argv0
//! OUT/libexec/curl                      the program (the root's /usr/bin/curl)
//! OUT/libexec/ld-linux-x86-64.so.2      the loader, next to the programs
//! OUT/lib/x86_64-linux-gnu/libcurl.so.4 libraries, sonames and symlinks kept
//! OUT/lib/python3.11/...                data under the prefix (the root's /usr)
//! OUT/etc/ssl/certs/ca-certificates.crt
//! ```
//!
//! The traps, and what is done about each:
//! - LD_LIBRARY_PATH would leak into child processes: never set; the library path is on
//!   the loader's command line (`--library-path`), which children do not inherit.
//! - The system's ld.so.cache lists the system's libraries: `--inhibit-cache`.
//! - `argv[0]`: `--argv0 "$0"` gives the program the launcher's path, so Python's
//!   `sys.executable` is the launcher (re-running it works) and its prefix search finds
//!   `OUT/lib/python3.11` next to `OUT/bin` (glibc 2.33+; older loaders get a warning).
//! - Programs that exec other bundled programs by name: every launcher puts `OUT/bin`
//!   first in PATH. By absolute path (`/usr/bin/curl` compiled in): not handled.
//! - /proc/self/exe names the loader when it is run as a command. The loader is placed
//!   in `libexec/` next to the programs, so a program that finds its files relative to
//!   `dirname(/proc/self/exe)` still finds them. A program that re-executes
//!   `/proc/self/exe` starts the loader with its own arguments, which fails: not
//!   fixable without rewriting PT_INTERP to an absolute path of the install location;
//!   programs whose bytes mention `/proc/self/exe` get a warning.
//! - An absolute DT_RPATH is searched before `--library-path`: warned about.
//! - A missing library is an error (`pack`'s problems): nothing is written.

pub mod launcher;
pub mod layout;

use std::collections::{BTreeMap, HashSet};

use crate::facts::CA_BUNDLES;
use crate::ldso::Step;
use crate::plan::{Content, Entry, Plan};
use crate::problem::Problem;
use crate::reason::{GlibcRule, Reason};
use crate::resolve::How;
use crate::select::{ProgramKind, Selection};
use crate::sysroot::{Kind, Root, SysrootError};
use launcher::{Env, Run};
use layout::{Layout, parent, relative, strip_subdirs};

/// Why a bundle cannot be made (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(
        "two programs would have the launcher bin/{name}: {first} and {second}; bundle them separately"
    )]
    NameClash {
        name: String,
        first: String,
        second: String,
    },
    #[error("{path}: {why}")]
    Program { path: String, why: String },
    #[error(transparent)]
    Sysroot(#[from] SysrootError),
}

/// How to lay the bundle out.
#[derive(Clone, Debug, Default)]
pub struct BundleOptions {
    /// A folder every entry goes under (the name of a .tar.gz's folder); None: the top.
    pub prefix: Option<String>,
}

/// What the bundle holds, for the summary.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct BundleInfo {
    /// Launchers, as `bin/<name>`.
    pub launchers: Vec<String>,
    /// The loader(s), bundle paths.
    pub loaders: Vec<String>,
    /// Library directories given to `--library-path`, bundle paths.
    pub library_path: Vec<String>,
    pub entries: usize,
    #[serde(serialize_with = "crate::problem::as_messages")]
    pub warnings: Vec<Problem>,
}

/// The bundle as a plan (written by `pack`'s tar or rootfs writer) and its summary.
#[derive(Debug)]
pub struct Bundle {
    pub plan: Plan,
    pub info: BundleInfo,
}

/// Lays out `plan` (made from `sel` with no base files) as a bundle with launchers for
/// `bins` (paths inside the root, as given to the selection).
pub fn build(
    root: &Root,
    sel: &Selection,
    plan: &Plan,
    bins: &[String],
    opts: &BundleOptions,
) -> Result<Bundle, BundleError> {
    let mut info = BundleInfo::default();
    let mut layout = Layout::default();

    // The loaders go next to the programs.
    let mut loaders: Vec<String> = Vec::new();
    for t in sel.traces() {
        if let Some(i) = &t.interp
            && !i.implied
            && let Some(real) = &i.real
            && !loaders.contains(real)
        {
            let name = real.rsplit('/').next().unwrap_or(real);
            layout.put(real, &format!("libexec/{name}"));
            loaders.push(real.clone());
        }
    }
    info.loaders = loaders.iter().map(|l| layout.map(l)).collect();

    // Files and directories, then symlinks re-pointed to where their targets went.
    let mut out: BTreeMap<String, Entry> = BTreeMap::new();
    for (k, e) in plan.entries() {
        let content = match &e.content {
            Content::Symlink(_) => continue,
            // Hard links become copies: after the move, the link could sort before the
            // file it names, which a tar cannot express.
            Content::Hardlink(t) => match plan.entries().get(t).map(|x| &x.content) {
                Some(c @ Content::File { .. }) => c.clone(),
                _ => continue,
            },
            c => c.clone(),
        };
        let m = layout.map(k);
        if m.is_empty() {
            continue;
        }
        insert(&mut out, m, plain(e, content), &mut info.warnings);
    }
    for (k, e) in plan.entries() {
        if !matches!(e.content, Content::Symlink(_)) {
            continue;
        }
        let link = layout.map(k);
        let target = match root.resolve(&format!("/{k}")) {
            Ok(Some(r)) => layout.map(&r.path),
            _ => {
                info.warnings.push(Problem::BundleLinkDangling {
                    link: format!("/{k}"),
                });
                continue;
            }
        };
        if link.is_empty() || link == target || out.contains_key(&link) {
            continue;
        }
        if !target.is_empty() && !out.contains_key(&target) {
            info.warnings.push(Problem::BundleLinkTargetLeftOut {
                link: format!("/{k}"),
            });
            continue;
        }
        let rel = relative(parent(&link), &target);
        insert(
            &mut out,
            link,
            plain(e, Content::Symlink(rel)),
            &mut info.warnings,
        );
    }

    // Library directories, in load order, without hwcaps/legacy subdirectories.
    let mut lib_dirs: Vec<String> = Vec::new();
    for t in sel.traces() {
        for (_, o) in t.loaded() {
            let How::Found { step } = &o.how else {
                continue;
            };
            let dir = o.dir();
            // Found by a path, or through an $ORIGIN-relative RPATH/RUNPATH: found the
            // same way in the bundle, no library path needed.
            let relocatable = match step {
                Step::Path => true,
                Step::Rpath { entry, .. } | Step::Runpath { entry, .. } => entry.contains("ORIGIN"),
                Step::LibraryPath { .. } | Step::Cache | Step::DefaultDir => false,
            };
            if relocatable {
                continue;
            }
            let Ok(Some(r)) = root.resolve(strip_subdirs(dir)) else {
                continue;
            };
            let m = layout.map(&r.path);
            if out.contains_key(&m) && !lib_dirs.contains(&m) {
                lib_dirs.push(m);
            }
            if let Some(info_) = &o.info
                && let Some(rp) = info_.effective_rpath()
            {
                for d in rp.split(':').filter(|d| d.starts_with('/')) {
                    let w = Problem::AbsoluteRpath {
                        object: o.path.clone(),
                        dir: d.to_string(),
                    };
                    if !info.warnings.contains(&w) {
                        info.warnings.push(w);
                    }
                }
            }
        }
    }
    info.library_path = lib_dirs.clone();

    // Environment the launchers set.
    let mapped_file = |p: &str| -> Option<String> {
        let r = root.resolve(p).ok().flatten()?;
        let m = layout.map(&r.path);
        out.contains_key(&m).then_some(m)
    };
    let gconv = sel
        .files()
        .iter()
        .find(|(_, r)| **r == Reason::Glibc(GlibcRule::Gconv))
        .and_then(|(p, _)| root.resolve(p).ok().flatten())
        .map(|r| layout.map(parent(&r.path)))
        .filter(|m| out.contains_key(m));
    let env = Env {
        gconv: gconv.map(|g| relative("bin", &g)),
        ca_bundle: CA_BUNDLES
            .iter()
            .find_map(|p| mapped_file(p))
            .map(|m| relative("bin", &m)),
    };

    // One launcher per program; a script's interpreter gets one too.
    let mut queue: Vec<String> = bins.to_vec();
    let mut named: BTreeMap<String, String> = BTreeMap::new();
    let mut done: HashSet<String> = HashSet::new();
    let mut i = 0;
    while i < queue.len() {
        let typed = queue[i].clone();
        i += 1;
        if !done.insert(typed.clone()) {
            continue;
        }
        let name = typed.rsplit('/').next().unwrap_or(&typed).to_string();
        if let Some(first) = named.get(&name) {
            return Err(BundleError::NameClash {
                name,
                first: first.clone(),
                second: typed,
            });
        }
        named.insert(name.clone(), typed.clone());
        let run = launcher_run(root, sel, &layout, &lib_dirs, &typed, &mut queue, &mut info)?;
        let text = launcher::script(&name, &run, &env);
        let key = format!("bin/{name}");
        out.insert(key.clone(), generated(text.into_bytes(), 0o755, &typed));
        info.launchers.push(key);
    }

    // Parents, then the folder prefix.
    let keys: Vec<String> = out.keys().cloned().collect();
    for k in keys {
        let mut p = parent(&k);
        while !p.is_empty() {
            if !out.contains_key(p) {
                out.insert(p.to_string(), dir_entry());
            }
            p = parent(p);
        }
    }
    let entries = match &opts.prefix {
        None => out,
        Some(pre) => {
            let mut v: BTreeMap<String, Entry> = out
                .into_iter()
                .map(|(k, e)| (format!("{pre}/{k}"), e))
                .collect();
            v.insert(pre.clone(), dir_entry());
            v
        }
    };
    info.entries = entries.len();
    Ok(Bundle {
        plan: Plan::from_entries(entries, plan.arch()),
        info,
    })
}

/// How the launcher of `typed` runs it. Scripts queue the program that runs them.
fn launcher_run(
    root: &Root,
    sel: &Selection,
    layout: &Layout,
    lib_dirs: &[String],
    typed: &str,
    queue: &mut Vec<String>,
    info: &mut BundleInfo,
) -> Result<Run, BundleError> {
    let err = |why: &str| BundleError::Program {
        path: typed.into(),
        why: why.into(),
    };
    let r = root
        .resolve(typed)?
        .filter(|r| r.kind == Kind::File)
        .ok_or_else(|| err("not a file of the root"))?;
    let program = layout.map(&r.path);
    let kind = &sel.program(typed).ok_or_else(|| err("not selected"))?.kind;
    if let ProgramKind::Script { shebang, runs } = kind {
        // `#!/usr/bin/env prog` runs `prog` directly: its launcher is on PATH anyway.
        let arg = match shebang.env_program() {
            Some(_) => None,
            None => shebang.arg.clone(),
        };
        let name = runs.rsplit('/').next().unwrap_or(runs).to_string();
        queue.push(runs.clone());
        return Ok(Run::Script {
            interpreter: name,
            arg,
            script: relative("bin", &program),
        });
    }
    let trace = sel.trace_of(typed).ok_or_else(|| err("not traced"))?;
    if trace.is_static {
        return Ok(Run::Direct {
            program: relative("bin", &program),
        });
    }
    let loader_real = trace
        .interp
        .as_ref()
        .and_then(|i| i.real.clone())
        .ok_or_else(|| err("its interpreter is not in the root"))?;
    let loader = layout.map(&loader_real);
    let bytes = root
        .read_canonical(&loader_real)
        .map_err(|e| err(&e.to_string()))?;
    let argv0 = contains(&bytes, b"--argv0");
    if !argv0 {
        let w = Problem::LoaderWithoutArgv0 {
            loader: loader_real.clone(),
        };
        if !info.warnings.contains(&w) {
            info.warnings.push(w);
        }
    }
    if let Ok(p) = root.read_canonical(&r.path)
        && contains(&p, b"/proc/self/exe")
    {
        info.warnings.push(Problem::ProcSelfExe {
            program: typed.to_string(),
        });
    }
    let origin = parent(&program);
    Ok(Run::Loader {
        loader: relative("bin", &loader),
        program: relative("bin", &program),
        library_path: lib_dirs.iter().map(|d| relative(origin, d)).collect(),
        argv0,
    })
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// An entry as it goes into a bundle: owned by 0:0, no capabilities (a program started
/// by the loader as a command does not get its file capabilities anyway).
fn plain(e: &Entry, content: Content) -> Entry {
    Entry {
        content,
        mode: e.mode,
        uid: 0,
        gid: 0,
        xattrs: Vec::new(),
        reason: e.reason.clone(),
        source: e.source.clone(),
    }
}

fn dir_entry() -> Entry {
    Entry {
        content: Content::Dir,
        mode: 0o755,
        uid: 0,
        gid: 0,
        xattrs: Vec::new(),
        reason: Reason::Parent,
        source: None,
    }
}

fn generated(bytes: Vec<u8>, mode: u32, program: &str) -> Entry {
    Entry {
        content: Content::Data(bytes),
        mode,
        uid: 0,
        gid: 0,
        xattrs: Vec::new(),
        reason: Reason::Base {
            what: format!("launcher of {program}"),
        },
        source: None,
    }
}

/// Inserts an entry; two different files mapped to one path keep the first.
fn insert(out: &mut BTreeMap<String, Entry>, key: String, e: Entry, warnings: &mut Vec<Problem>) {
    match out.get(&key) {
        None => {
            out.insert(key, e);
        }
        Some(old)
            if old.content == e.content
                || matches!((&old.content, &e.content), (Content::Dir, Content::Dir)) => {}
        Some(old) => warnings.push(Problem::BundleClash {
            first: old.source.clone().unwrap_or_else(|| "?".into()),
            second: e.source.clone().unwrap_or_else(|| "?".into()),
            path: key,
        }),
    }
}
