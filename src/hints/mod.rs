//! What a program loads at run time without a DT_NEEDED, added to its trace.
//!
//! Sources, in order: `.note.dlopen` of every loaded object (FDO spec; required and
//! recommended by default), glibc's own dlopens (`glibc.rs`: NSS modules, gconv,
//! libgcc_s) and run-time data files of known libraries (`known.rs`). A library added by a
//! hint may carry notes or imports of its own, so hints run until nothing new is loaded.
//! Every addition is a dlopen through [`Tracer::dlopen`], so it is searched exactly as the
//! loader would search it for the object that calls dlopen.

pub mod glibc;
pub mod known;

use std::collections::HashSet;

use crate::closure::{Dlopened, Trace, Tracer};
use crate::elf::Priority;
use crate::facts::LIBC_SONAME;
use crate::problem::{NoteMiss, Problem};
use crate::reason::{GlibcRule, Reason};

/// What the hints may add.
#[derive(Clone, Debug)]
pub struct HintOptions {
    /// Take `.note.dlopen` entries up to this priority.
    pub dlopen_priority: Priority,
    /// Add gconv modules when `iconv_open` is imported.
    pub gconv: bool,
    /// The nsswitch.conf that will be in the layer (its services' modules are added).
    pub nsswitch: Option<String>,
    /// Opt-in data sets (`tzdata`, `C.utf8`).
    pub data: Vec<String>,
}

/// What the hints added to one trace.
#[derive(Debug, Default)]
pub struct HintResult {
    /// Objects loaded by a hint (index in the trace) with the reason of the hint; their
    /// own dependencies carry loader reasons.
    pub objects: Vec<(usize, Reason)>,
    /// Data files and directories (paths inside the root) with their reason.
    pub files: Vec<(String, Reason)>,
    /// What a hint could not do.
    pub problems: Vec<Problem>,
}

/// Applies every hint to `trace` until nothing new is loaded.
pub fn apply(tracer: &Tracer, trace: &mut Trace, opts: &HintOptions) -> HintResult {
    let mut res = HintResult::default();
    let mut noted: HashSet<usize> = HashSet::new();
    let mut glibc_done = GlibcDone::default();
    let mut known_done: HashSet<usize> = HashSet::new();
    let lib = tracer.loader().lib().to_string();
    loop {
        let before = trace.object_count();
        // 1. .note.dlopen of every loaded object not looked at yet.
        let objs: Vec<usize> = loaded(trace)
            .into_iter()
            .filter(|i| !noted.contains(i))
            .collect();
        for o in objs {
            noted.insert(o);
            let Some(info) = trace.object(o).info.clone() else {
                continue;
            };
            let by = trace.object(o).path.clone();
            for note in &info.dlopen {
                if note.priority > opts.dlopen_priority {
                    continue;
                }
                let reason = Reason::DlopenNote {
                    by: by.clone(),
                    feature: note.feature.clone(),
                    priority: note.priority,
                };
                let mut misses = Vec::new();
                let mut ok = false;
                for soname in &note.soname {
                    let error = match tracer.dlopen(trace, o, soname) {
                        Dlopened::Loaded(n) => {
                            res.objects.push((n, reason.clone()));
                            ok = true;
                            break;
                        }
                        Dlopened::Already(_) => {
                            ok = true;
                            break;
                        }
                        Dlopened::Missing(_) => None,
                        Dlopened::Failed(e) => Some(e),
                    };
                    misses.push(NoteMiss {
                        soname: soname.clone(),
                        error,
                    });
                }
                if !ok {
                    res.problems.push(Problem::DlopenNoteUnmet {
                        by: by.clone(),
                        feature: note.feature.clone(),
                        priority: note.priority,
                        misses,
                    });
                }
            }
        }
        // 2. glibc's own run-time loads.
        glibc_hints(tracer, trace, opts, &lib, &mut glibc_done, &mut res);
        // 3. Data files of known libraries.
        for o in loaded(trace) {
            if !known_done.insert(o) {
                continue;
            }
            let ob = trace.object(o);
            let names: Vec<&str> = [
                Some(ob.name.as_str()),
                ob.info.as_ref().and_then(|i| i.soname.as_deref()),
            ]
            .into_iter()
            .flatten()
            .collect();
            for k in known::KNOWN {
                if let Some(lib_name) = k.sonames.iter().find(|s| names.contains(s)) {
                    for f in k.files {
                        let p = known::expand(f, &lib);
                        if exists(tracer, &p) {
                            res.files.push((
                                p,
                                Reason::DataFile {
                                    library: lib_name.to_string(),
                                    what: k.what.into(),
                                },
                            ));
                        }
                    }
                }
            }
        }
        if trace.object_count() == before {
            break;
        }
    }
    for name in &opts.data {
        if let Some(o) = known::OPT_IN.iter().find(|o| o.name == name) {
            for f in o.files {
                let p = known::expand(f, &lib);
                if exists(tracer, &p) {
                    res.files.push((
                        p,
                        Reason::OptInData {
                            what: o.what.into(),
                        },
                    ));
                }
            }
        }
    }
    res
}

#[derive(Default)]
struct GlibcDone {
    libgcc_s: bool,
    gconv: bool,
    nss: bool,
}

fn glibc_hints(
    tracer: &Tracer,
    trace: &mut Trace,
    opts: &HintOptions,
    lib: &str,
    done: &mut GlibcDone,
    res: &mut HintResult,
) {
    let libc = libc_index(trace);
    // libgcc_s.so.1 for the unwinder.
    if !done.libgcc_s
        && let Some(sym) = imported(trace, glibc::LIBGCC_S_TRIGGERS)
    {
        done.libgcc_s = true;
        let reason = Reason::Glibc(GlibcRule::LibgccS {
            symbol: sym.clone(),
        });
        match tracer.dlopen(trace, libc, glibc::LIBGCC_S) {
            Dlopened::Loaded(n) => res.objects.push((n, reason)),
            Dlopened::Already(n) => res.objects.push((n, reason)),
            Dlopened::Missing(_) | Dlopened::Failed(_) => {
                res.problems.push(Problem::UnwinderMissing {
                    symbol: sym,
                    library: glibc::LIBGCC_S.into(),
                })
            }
        }
    }
    // gconv configuration, cache and modules for iconv_open.
    if opts.gconv && !done.gconv && imported(trace, &[glibc::GCONV_TRIGGER]).is_some() {
        done.gconv = true;
        let dir = glibc::gconv_dir(lib);
        let root = tracer.loader().root();
        match root.list_dir(&dir) {
            Ok(mut names) => {
                names.sort();
                for n in names {
                    let p = format!("{dir}/{n}");
                    if n.ends_with(".so") {
                        match tracer.dlopen(trace, libc, &p) {
                            Dlopened::Loaded(i) => {
                                res.objects.push((i, Reason::Glibc(GlibcRule::Gconv)))
                            }
                            Dlopened::Already(_) => {}
                            Dlopened::Missing(_) | Dlopened::Failed(_) => {
                                res.problems.push(Problem::GconvModule { path: p })
                            }
                        }
                    } else if n.starts_with("gconv-modules") {
                        res.files.push((p, Reason::Glibc(GlibcRule::Gconv)));
                    }
                }
            }
            Err(_) => res.problems.push(Problem::GconvDirMissing { dir }),
        }
    }
    // NSS modules for the services nsswitch.conf names.
    if !done.nss {
        done.nss = true;
        if let Some(conf) = &opts.nsswitch {
            for service in glibc::nss_services(conf) {
                let module = glibc::nss_module(&service);
                let reason = Reason::Glibc(GlibcRule::Nss {
                    service: service.clone(),
                });
                match tracer.dlopen(trace, libc, &module) {
                    Dlopened::Loaded(n) => res.objects.push((n, reason)),
                    Dlopened::Already(_) => {}
                    // glibc skips a service whose module it cannot load, in the root as in
                    // the image (Debian's nsswitch.conf names db and nis, rarely installed).
                    Dlopened::Missing(_) => {}
                    Dlopened::Failed(error) => res.problems.push(Problem::NssModule {
                        service,
                        module,
                        error,
                    }),
                }
            }
        }
    }
}

/// Loaded objects of the trace (not the vDSO or ld.so), the program included.
fn loaded(trace: &Trace) -> Vec<usize> {
    trace
        .loaded()
        .filter(|(_, o)| o.info.is_some() && !matches!(o.how, crate::resolve::How::Interpreter))
        .map(|(i, _)| i)
        .collect()
}

/// The object that is libc (glibc's own dlopens come from it), else the program.
fn libc_index(trace: &Trace) -> usize {
    loaded(trace)
        .into_iter()
        .find(|&i| {
            trace
                .object(i)
                .info
                .as_ref()
                .and_then(|x| x.soname.as_deref())
                == Some(LIBC_SONAME)
        })
        .unwrap_or(0)
}

/// The first of `symbols` imported by a loaded object other than libc and ld.so.
fn imported(trace: &Trace, symbols: &[&str]) -> Option<String> {
    for i in loaded(trace) {
        let Some(info) = &trace.object(i).info else {
            continue;
        };
        if info.soname.as_deref() == Some(LIBC_SONAME) {
            continue;
        }
        if let Some(s) = symbols.iter().find(|s| info.imports_symbol(s)) {
            return Some(s.to_string());
        }
    }
    None
}

fn exists(tracer: &Tracer, path: &str) -> bool {
    tracer
        .loader()
        .root()
        .resolve(path)
        .ok()
        .flatten()
        .is_some()
}
