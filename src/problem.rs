//! What went wrong or was left out while making a layer, as typed values. Stages collect
//! them in their outputs (the selection, the plan, the packages, the bundle) and never
//! print them; the command line renders them (one `impl Display`) and decides the exit
//! status from their severity, once (`Outcome::complete` in `job/`).
//!
//! Errors make the closure incomplete: `pack` then writes nothing unless told to.
//! Warnings say what was left out and why; notes say what the run could not know.
//! `check` has its own findings (`check/findings.rs`): those describe an image, these a
//! run.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::arch::Arch;
use crate::elf::Priority;
use crate::facts::NSSWITCH_CONF;
use crate::ldso::cache::CacheIssue;

/// How much a problem matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The program cannot run as traced: the closure is incomplete.
    Error,
    /// Something was left out, or will not work in the image.
    Warning,
    /// Something the run could not know.
    Note,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// One soname of a `.note.dlopen` entry that could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteMiss {
    pub soname: String,
    /// Why dlopen would fail; None: not found.
    pub error: Option<String>,
}

/// A problem of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    // The closure.
    /// A program's PT_INTERP is not in the root.
    MissingInterpreter { program: String, interp: String },
    /// A DT_NEEDED (or filter) name the loader cannot find.
    MissingLibrary {
        name: String,
        needed_by: String,
        /// A file of that name in a directory of ld.so.conf: the cache is stale.
        stale_cache: Option<String>,
    },
    /// The loader stops with an error while loading `name`.
    LoaderStops {
        program: String,
        name: String,
        error: String,
    },

    // What the run adds to the closure.
    /// A library of an included directory cannot be loaded: a library it needs is missing.
    IncludedNotLoadable { path: String, missing: String },
    /// A library of an included directory cannot be loaded.
    IncludedDlopenFails { path: String, error: String },
    /// `--dlopen NAME` finds nothing.
    DlopenNotFound { name: String, searched: Vec<String> },
    /// `--dlopen NAME` would fail.
    DlopenFails { name: String, error: String },
    /// A symlink of an included directory names a directory outside it.
    LinkOutsideInclude {
        link: String,
        target: String,
        include: String,
    },
    /// A plugin of a data directory is left out: a library it needs is not in the root.
    PluginNeedsMissing { path: String, needs: String },
    /// A plugin of a data directory is left out: dlopen would fail.
    PluginDlopenFails { path: String, error: String },
    /// No soname of a `.note.dlopen` entry can be loaded.
    DlopenNoteUnmet {
        by: String,
        feature: Option<String>,
        priority: Priority,
        misses: Vec<NoteMiss>,
    },
    /// A program is a language runtime whose files are not in the root.
    RuntimeNotFound {
        runtime: String,
        program: String,
        looked_for: Vec<String>,
        hint: String,
    },
    /// A file a runtime reads, made by a maintainer script, is not in the root.
    GeneratedFileMissing {
        runtime: String,
        path: String,
        package: String,
        what: String,
    },
    /// CPython bytecode caches left out of the layer: their sources in the root changed
    /// after they were compiled, so CPython would ignore them (canonical paths, sorted).
    StaleBytecode { paths: Vec<String> },
    /// A program is an interpreter minroot has no profile for.
    RuntimeWithoutProfile {
        runtime: String,
        program: String,
        include: String,
    },
    /// glibc will dlopen libgcc_s.so.1 to unwind, and the root has none.
    UnwinderMissing { symbol: String, library: String },
    /// A gconv module cannot be loaded.
    GconvModule { path: String },
    /// The program converts charsets and the root has no gconv modules.
    GconvDirMissing { dir: String },
    /// An NSS module nsswitch.conf names cannot be loaded (a missing one is skipped by
    /// glibc, in the root as in the image, and is no problem).
    NssModule {
        service: String,
        module: String,
        error: String,
    },

    /// A service nsswitch.conf names whose module is in neither the root nor the layer:
    /// glibc skips that source, and `check` notes it (`check::layer`).
    NssModuleAbsent { service: String, module: String },
    /// A symlink of the layer whose target is not in the layer, which `check` reports
    /// (a note when the target lies in /proc, /sys, /dev or /run, which the runtime
    /// mounts): found on the plan by check's rule (`check::layer`).
    LinkDanglingInLayer {
        link: String,
        target: String,
        runtime_mount: bool,
    },
    /// A TLS library is in the layer and no CA bundle is, which `check` reports
    /// (`check::layer`): certificate checks will fail.
    CaBundleAbsent { library: String, tried: Vec<String> },
    /// A symlink of the layer that loops, which `check` reports (`check::layer`).
    LinkLoopsInLayer { link: String, target: String },

    /// An image's entrypoint is the shell form (`/bin/sh -c ...`): the shell is the program.
    ShellEntrypoint { shell: String, command: String },

    // The plan.
    /// A selected path does not exist in the root.
    NotInRoot { path: String },
    /// A selected path cannot be read.
    Unreadable { path: String, error: String },
    /// A selected path is a device, FIFO or socket.
    SpecialFile { path: String },
    /// A symlink whose target climbs above the root: resolved inside it, as under chroot.
    SymlinkAboveRoot { link: String, target: String },
    /// The root's ld.so.cache is not used by the loader (it goes on without it).
    CacheUnused { arch: Arch, issue: CacheIssue },

    // Packages.
    /// The package database cannot be read: the layer gets no package metadata.
    PackageDbUnreadable { error: String },
    /// The root has no package database (an SBOM or report attributes nothing).
    NoPackageDb,
    /// A problem of the package database that leaves some files unattributed.
    PackageDb { warning: String },

    // The bundle.
    /// A symlink whose target is not in the root.
    BundleLinkDangling { link: String },
    /// A symlink whose target is not in the bundle.
    BundleLinkTargetLeftOut { link: String },
    /// An absolute DT_RPATH is searched on the target system first.
    AbsoluteRpath { object: String, dir: String },
    /// The loader has no `--argv0` (glibc before 2.33).
    LoaderWithoutArgv0 { loader: String },
    /// A program names /proc/self/exe, which names the loader in a bundle.
    ProcSelfExe { program: String },
    /// Two files of the root map to one bundle path.
    BundleClash {
        first: String,
        second: String,
        path: String,
    },
}

impl Problem {
    pub fn severity(&self) -> Severity {
        use Problem::*;
        match self {
            MissingInterpreter { .. }
            | MissingLibrary { .. }
            | LoaderStops { .. }
            | IncludedNotLoadable { .. }
            | IncludedDlopenFails { .. }
            | DlopenNotFound { .. }
            | DlopenFails { .. }
            | RuntimeNotFound { .. }
            | UnwinderMissing { .. } => Severity::Error,
            DlopenNoteUnmet { priority, .. } if *priority == Priority::Required => Severity::Error,
            NoPackageDb
            | RuntimeWithoutProfile { .. }
            | ShellEntrypoint { .. }
            | NssModuleAbsent { .. }
            | LinkDanglingInLayer {
                runtime_mount: true,
                ..
            } => Severity::Note,
            _ => Severity::Warning,
        }
    }

    /// Whether the closure is incomplete because of it.
    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }
}

/// The one rendering: the message of `Words` as one line of text
/// (`sysroot::name::field`): a name that is not UTF-8 written visibly (`a\xff`), and a
/// name's control chars too, so a message can neither split a line of stderr nor write
/// an escape sequence to the terminal.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::sysroot::name::field(&Words(self).to_string()))
    }
}

/// A problem's message, names as carried.
struct Words<'a>(&'a Problem);

impl fmt::Display for Words<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Problem::*;
        match self.0 {
            MissingInterpreter { program, interp } => {
                write!(f, "{program}: its interpreter {interp} is not in the root")
            }
            MissingLibrary {
                name,
                needed_by,
                stale_cache,
            } => {
                write!(f, "{name} (needed by {needed_by}) is not found in the root")?;
                if let Some(s) = stale_cache {
                    write!(
                        f,
                        " (it exists as {s}, but ld.so.cache is stale: run ldconfig in the root)"
                    )?;
                }
                Ok(())
            }
            LoaderStops {
                program,
                name,
                error,
            } => write!(f, "{program}: the loader stops at {name}: {error}"),
            IncludedNotLoadable { path, missing } => {
                write!(f, "{path}: not loadable ({missing} not found)")
            }
            IncludedDlopenFails { path, error } => write!(f, "{path}: dlopen would fail: {error}"),
            DlopenNotFound { name, searched } => write!(
                f,
                "--dlopen {name}: not found (searched {})",
                searched.join(" ")
            ),
            DlopenFails { name, error } => write!(f, "--dlopen {name}: {error}"),
            LinkOutsideInclude {
                link,
                target,
                include,
            } => write!(
                f,
                "{link} links to directory {target} outside --include {include}; only the link is included"
            ),
            PluginNeedsMissing { path, needs } => {
                write!(f, "{path} left out: it needs {needs}, which is not in the root")
            }
            PluginDlopenFails { path, error } => {
                write!(f, "{path} left out: dlopen would fail: {error}")
            }
            DlopenNoteUnmet {
                by,
                feature,
                misses,
                ..
            } => {
                write!(f, "{by}: .note.dlopen")?;
                if let Some(feat) = feature {
                    write!(f, " (feature {feat})")?;
                }
                let names: Vec<&str> = misses.iter().map(|m| m.soname.as_str()).collect();
                write!(f, " names {}, none loadable: ", names.join(" or "))?;
                for (i, m) in misses.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    match &m.error {
                        None => write!(f, "{}: not found", m.soname)?,
                        Some(e) => write!(f, "{}: {e}", m.soname)?,
                    }
                }
                Ok(())
            }
            RuntimeNotFound {
                runtime,
                program,
                looked_for,
                hint,
            } => write!(
                f,
                "{program} is {runtime}, but its files are not in the root (looked for {}): {hint}",
                looked_for.join(", ")
            ),
            GeneratedFileMissing {
                runtime,
                path,
                package,
                what,
            } => write!(
                f,
                "{path} ({what}, read by {runtime}) is not in the root: {package}'s maintainer script makes it at install time (a root unpacked without running scripts has none); install {package} in the root, or the image goes without it"
            ),
            StaleBytecode { paths } => {
                let shown: Vec<&str> = paths.iter().take(3).map(String::as_str).collect();
                write!(
                    f,
                    "{} stale .pyc file{} left out ({}{}): each source changed after it was compiled, so CPython ignores the cache and compiles the module at every start; recompile in the root (python3 -m compileall) to ship valid caches",
                    paths.len(),
                    if paths.len() == 1 { "" } else { "s" },
                    shown.join(", "),
                    if paths.len() > 3 {
                        format!(" and {} more", paths.len() - 3)
                    } else {
                        String::new()
                    }
                )
            }
            RuntimeWithoutProfile {
                runtime,
                program,
                include,
            } => write!(
                f,
                "{program} is {runtime}, which minroot has no profile for: its own files are not added; --include {include}"
            ),
            UnwinderMissing { symbol, library } => write!(
                f,
                "{symbol} is used, so glibc will dlopen {library}, which is not in the root"
            ),
            GconvModule { path } => write!(f, "gconv module {path} cannot be loaded"),
            GconvDirMissing { dir } => write!(
                f,
                "iconv_open is used but the root has no {dir}: iconv will only know UTF-8 and a few built-in charsets"
            ),
            NssModule {
                service,
                module,
                error,
            } => write!(
                f,
                "nsswitch.conf names service {service}, but {module} cannot be loaded: {error}"
            ),
            NssModuleAbsent { service, module } => write!(
                f,
                "{NSSWITCH_CONF} names service {service}, but {module} is not in the root: glibc skips that source (`minroot check --strict` counts it: nss_module_missing)"
            ),
            LinkDanglingInLayer {
                link,
                target,
                runtime_mount: true,
            } => write!(
                f,
                "{link} -> {target}: the target is filled by the container runtime's mounts, not in the layer (`minroot check --strict` counts it: dangling_symlink)"
            ),
            LinkDanglingInLayer { link, target, .. } => write!(
                f,
                "{link} -> {target}: the target is not in the layer (`minroot check` reports it: dangling_symlink)"
            ),
            CaBundleAbsent { library, tried } => write!(
                f,
                "{library} is a TLS library, but the layer has no CA bundle (looked for {}): certificate checks will fail (`minroot check` reports it: ca_bundle_missing)",
                tried.join(" ")
            ),
            LinkLoopsInLayer { link, target } => write!(
                f,
                "{link} -> {target}: the symlink loops in the layer (`minroot check` reports it: symlink_loop)"
            ),
            ShellEntrypoint { shell, command } => write!(
                f,
                "the image's entrypoint is the shell form ({command}): the layer keeps the shell {shell}; the programs it starts are not traced (name them as BIN, or --probe a run)"
            ),
            NotInRoot { path } => write!(f, "{path}: not in the root, left out"),
            Unreadable { path, error } => write!(f, "{path}: {error}; left out"),
            SpecialFile { path } => write!(
                f,
                "{path}: a device, FIFO or socket; left out (the container runtime provides /dev)"
            ),
            SymlinkAboveRoot { link, target } => write!(
                f,
                "symlink {link} -> {target} points above the root; resolved inside the root, as under chroot"
            ),
            CacheUnused { arch, issue } => write!(
                f,
                "{} in the root ({arch}): {issue}",
                crate::ldso::LD_SO_CACHE
            ),
            PackageDbUnreadable { error } => write!(
                f,
                "the root's package database: {error}; the layer gets no package metadata"
            ),
            NoPackageDb => f.write_str(
                "the root has no package database (dpkg or apk): no file is attributed to a package",
            ),
            PackageDb { warning } => f.write_str(warning),
            BundleLinkDangling { link } => write!(
                f,
                "{link}: a symlink whose target is not in the root; left out"
            ),
            BundleLinkTargetLeftOut { link } => {
                write!(f, "{link}: its target is not in the bundle; left out")
            }
            AbsoluteRpath { object, dir } => write!(
                f,
                "{object}: DT_RPATH {dir} is absolute: on the target system the loader searches it before the bundle's libraries"
            ),
            LoaderWithoutArgv0 { loader } => write!(
                f,
                "{loader}: this loader has no --argv0 (glibc before 2.33): programs see their bundled path as argv[0]"
            ),
            ProcSelfExe { program } => write!(
                f,
                "{program} mentions /proc/self/exe: run through the bundled loader, that names the loader; re-executing it will not work (finding files next to it does)"
            ),
            BundleClash {
                first,
                second,
                path,
            } => write!(f, "{first} and {second} both go to {path}; the first is kept"),
        }
    }
}

/// JSON: `{"error": bool, "message": text}`.
impl Serialize for Problem {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Problem", 2)?;
        st.serialize_field("error", &self.is_error())?;
        st.serialize_field("message", &self.to_string())?;
        st.end()
    }
}

/// Serialises problems as their messages (the `warnings` lists of JSON outputs).
pub fn as_messages<S, V>(v: &V, s: S) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    V: AsRef<[Problem]> + ?Sized,
{
    s.collect_seq(v.as_ref().iter().map(|p| p.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_and_words() {
        let p = Problem::MissingLibrary {
            name: "libz.so.1".into(),
            needed_by: "/usr/bin/x".into(),
            stale_cache: Some("/opt/libz.so.1".into()),
        };
        assert!(p.is_error());
        assert_eq!(
            p.to_string(),
            "libz.so.1 (needed by /usr/bin/x) is not found in the root (it exists as /opt/libz.so.1, but ld.so.cache is stale: run ldconfig in the root)"
        );
        let note = |priority| Problem::DlopenNoteUnmet {
            by: "/l.so".into(),
            feature: Some("f".into()),
            priority,
            misses: vec![
                NoteMiss {
                    soname: "a.so".into(),
                    error: None,
                },
                NoteMiss {
                    soname: "b.so".into(),
                    error: Some("bad".into()),
                },
            ],
        };
        assert!(note(Priority::Required).is_error());
        assert_eq!(note(Priority::Recommended).severity(), Severity::Warning);
        assert_eq!(
            note(Priority::Suggested).to_string(),
            "/l.so: .note.dlopen (feature f) names a.so or b.so, none loadable: a.so: not found; b.so: bad"
        );
        assert_eq!(Problem::NoPackageDb.severity(), Severity::Note);
        assert_eq!(
            serde_json::to_string(&Problem::NotInRoot { path: "/x".into() }).unwrap(),
            r#"{"error":false,"message":"/x: not in the root, left out"}"#
        );
    }
}
