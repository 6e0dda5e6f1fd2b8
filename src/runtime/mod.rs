//! Language runtimes: what an interpreter loads by itself once the loader is done.
//!
//! ELF tracing sees the interpreter and its libraries; CPython then opens its standard
//! library, Perl its `@INC`, Node.js its externalized builtins, the JVM its home. Those are
//! facts about each runtime, kept here as data: one [`Profile`] per runtime in
//! [`PROFILES`], each saying
//!
//! - how it is recognised in a trace, by what is loaded (a runtime library's soname, or
//!   a dynamic symbol that an interpreter linking its runtime in statically exports for
//!   its extension modules), never by the name the program was typed as, nor by bytes
//!   anywhere in the file (minroot's own binary holds every symbol name of this table);
//! - where its files are, found in the root the way the runtime itself finds them
//!   (`locate`: CPython's landmarks as `getpath` searches them, Perl's `Config`, the
//!   realpath of `java`, the paths `libnode` names);
//! - what it needs: the trees and files to take (every ELF among them is traced, as
//!   plugins of the program), and the files that a package's maintainer script makes
//!   (absent from a root made without running scripts, and worth a warning).
//!
//! Interpreters without a profile are recognised too ([`OTHERS`]): the selection then
//! says which directory to `--include`.
//!
//! This module finds; `select.rs` adds what it found to the selection, with the reason
//! `runtime: NAME (home, found by ...)`.

pub mod java;
pub mod node;
pub mod perl;
pub mod pyc;
pub mod python;

use crate::closure::Trace;
use crate::sysroot::{Kind, Root};

/// How a runtime shows in a trace.
#[derive(Clone, Copy, Debug)]
pub struct Recognise {
    /// A loaded object whose DT_SONAME starts with one of these is the runtime's library
    /// (`libpython3.`, `libperl.so`, `libnode.so`, `libjvm.so`, `libjli.so`).
    pub sonames: &'static [&'static str],
    /// Dynamic symbols the program itself defines when it links the runtime in
    /// statically and exports it to its extension modules (Debian's `python3.11` and
    /// `perl` do): a symbol only that runtime has. Looked up in the program's dynamic
    /// symbol table ([`crate::elf::exports`]), not as bytes: a program that merely
    /// mentions the name (minroot itself) is not the runtime.
    pub exports: &'static [&'static str],
}

/// One runtime.
#[derive(Clone, Copy)]
pub struct Profile {
    /// Its name in reasons and problems (`CPython`, `Perl`, `Node.js`, `OpenJDK`).
    pub name: &'static str,
    pub recognise: Recognise,
    /// Finds its files in the root.
    pub locate: fn(&Root, &Found) -> Result<Located, NotFound>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile").field("name", &self.name).finish()
    }
}

/// The runtimes minroot knows.
pub const PROFILES: &[Profile] = &[
    python::PROFILE,
    java::PROFILE,
    Profile {
        name: "Perl",
        recognise: Recognise {
            // Debian's perl5.36-<triplet> links libperl.so.5.36; its /usr/bin/perl links
            // Perl in statically and exports perl_parse for XS modules.
            sonames: &["libperl.so"],
            exports: &["perl_parse"],
        },
        locate: perl::locate,
    },
    Profile {
        name: "Node.js",
        recognise: Recognise {
            // Debian's /usr/bin/node links libnode.so.108; a node linked statically (the
            // project's own builds) exports node::Start(int, char**) for addons.
            sonames: &["libnode.so"],
            exports: &["_ZN4node5StartEiPPc"],
        },
        locate: node::locate,
    },
];

/// A profile's answer to "which home does this file lie in", for a runtime's own library
/// traced without its program (`trace HOME/lib/x.so`, `check` of an image): the home's
/// ELF files are then the plugin set the library is loaded with. A table beside
/// [`PROFILES`] rather than a field of [`Profile`], so that a profile without an answer
/// needs no entry (its libraries are traced alone, as before).
#[derive(Clone, Copy)]
pub struct HomeQuery {
    /// The [`Profile::name`] it answers for.
    pub profile: &'static str,
    /// The home `path` (inside the root) lies in, located as the runtime would, if any.
    pub home_of: fn(&Root, &str) -> Option<Located>,
}

/// The profiles that can say which home a file lies in.
pub const HOME_QUERIES: &[HomeQuery] = &[HomeQuery {
    profile: "OpenJDK",
    home_of: java::home_of,
}];

/// The runtime home `path` lies in, asked of every profile of [`HOME_QUERIES`] in order.
pub fn home_of(root: &Root, path: &str) -> Option<(&'static Profile, Located)> {
    HOME_QUERIES.iter().find_map(|q| {
        let profile = PROFILES.iter().find(|p| p.name == q.profile)?;
        Some((profile, (q.home_of)(root, path)?))
    })
}

/// A traced program recognised as a runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The program as given (inside the root).
    pub program: String,
    /// Its canonical path.
    pub real: String,
    /// The runtime library that made it recognised (canonical path), when it was one.
    pub library: Option<String>,
    /// The environment the program will run with (`KEY=VALUE`; PYTHONHOME, JAVA_HOME,
    /// PERL5LIB...). Empty: the runtime's defaults.
    pub env: Vec<String>,
}

impl Found {
    /// The value of `key` in [`Found::env`].
    pub fn env(&self, key: &str) -> Option<&str> {
        self.env.iter().rev().find_map(|e| {
            let (k, v) = e.split_once('=')?;
            (k == key).then_some(v)
        })
    }
}

/// A tree or file a runtime needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Take {
    /// A path inside the root: a directory is taken whole (as `--include` takes one).
    pub path: String,
    /// Paths below it to leave out (relative to `path`, without a leading '/'): what the
    /// runtime never reads at run time (build-time files, sources, tests).
    pub skip: Vec<String>,
}

impl Take {
    /// The whole of `path`.
    pub fn all(path: impl Into<String>) -> Take {
        Take {
            path: path.into(),
            skip: Vec::new(),
        }
    }
}

/// A file a runtime reads that a package's maintainer script makes at install time (no
/// package lists it; a root made without running scripts has none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generated {
    /// The path the runtime opens (through its symlinks inside the root).
    pub path: String,
    /// The package whose script makes it.
    pub package: &'static str,
    /// What it is, for the warning (`the JVM's CA certificates`).
    pub what: &'static str,
}

/// Where a runtime's files are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// The runtime's home or prefix (`/usr`, `/usr/lib/jvm/java-17-openjdk-amd64`).
    pub home: String,
    /// What it was found by, as the runtime finds it (`/usr/lib/python3.11/os.py`).
    pub found_by: String,
    /// What to take. Its ELF files are a plugin set of the program: each is loaded as
    /// the program would dlopen it, those that provide a soname the others need first.
    pub take: Vec<Take>,
    /// Files made at install time that the runtime reads.
    pub generated: Vec<Generated>,
}

/// Why a recognised runtime's files are not in the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotFound {
    /// What was looked for, where (paths inside the root).
    pub looked_for: Vec<String>,
    /// What to do (`install libpython3.11-stdlib in the root, or --include its lib/python3.11`).
    pub hint: String,
}

/// An interpreter minroot has no profile for: recognised so that the user is told what
/// the layer lacks.
#[derive(Clone, Copy, Debug)]
pub struct Other {
    pub name: &'static str,
    pub recognise: Recognise,
    /// What to `--include` (Debian's paths).
    pub include: &'static str,
}

/// Interpreters without a profile: the selection names what to `--include`.
pub const OTHERS: &[Other] = &[
    Other {
        name: "Ruby",
        recognise: Recognise {
            sonames: &["libruby"],
            exports: &[],
        },
        include: "/usr/lib/ruby (and /usr/lib/<triplet>/ruby)",
    },
    Other {
        name: "PHP",
        recognise: Recognise {
            sonames: &["libphp"],
            exports: &["zend_execute_scripts"],
        },
        include: "/usr/lib/php and /etc/php",
    },
    Other {
        name: "Lua",
        recognise: Recognise {
            sonames: &["liblua5.", "libluajit-5.1"],
            exports: &["lua_newstate"],
        },
        include: "/usr/share/lua and /usr/lib/<triplet>/lua",
    },
    Other {
        name: "Tcl",
        recognise: Recognise {
            sonames: &["libtcl8."],
            exports: &[],
        },
        include: "/usr/share/tcltk",
    },
    Other {
        name: "Guile",
        recognise: Recognise {
            sonames: &["libguile-"],
            exports: &[],
        },
        include: "/usr/share/guile and /usr/lib/<triplet>/guile",
    },
    Other {
        name: "Erlang",
        recognise: Recognise {
            sonames: &[],
            exports: &["erts_start_schedulers"],
        },
        include: "/usr/lib/erlang",
    },
];

/// What a trace was recognised as.
#[derive(Clone, Debug)]
pub enum Recognised {
    /// A runtime with a profile.
    Profile(&'static Profile, Found),
    /// An interpreter without one.
    Other(&'static Other, Found),
}

/// Whether `r` matches the loaded objects of `trace` (returning the matching library) or
/// the dynamic symbols the program exports.
fn matches(
    r: &Recognise,
    trace: &Trace,
    program_exports: &dyn Fn() -> Option<Vec<String>>,
) -> Option<Option<String>> {
    for (_, o) in trace.loaded() {
        let soname = o.info.as_ref().and_then(|i| i.soname.as_deref());
        if let Some(s) = soname
            && r.sonames.iter().any(|p| s.starts_with(p))
        {
            return Some(Some(o.real.clone()));
        }
    }
    if r.exports.is_empty() {
        return None;
    }
    let exports = program_exports()?;
    r.exports
        .iter()
        .any(|m| exports.binary_search_by(|e| e.as_str().cmp(m)).is_ok())
        .then_some(None)
}

/// The runtime `trace` is, if any: the first profile (then other interpreter) that
/// matches. `env` is the environment the program will run with.
pub fn recognise(root: &Root, trace: &Trace, env: &[String]) -> Option<Recognised> {
    if trace.is_static {
        return None;
    }
    let program = trace.object(0);
    let real = program.real.clone();
    // Read at most once, and only when a profile has exports to look for.
    let cell = std::cell::OnceCell::new();
    let exports = || {
        cell.get_or_init(|| {
            let bytes = root.read_canonical(&real).ok()?;
            crate::elf::exports(&bytes).ok()
        })
        .clone()
    };
    let found = |library: Option<String>| Found {
        program: trace.program.clone(),
        real: real.clone(),
        library,
        env: env.to_vec(),
    };
    for p in PROFILES {
        if let Some(library) = matches(&p.recognise, trace, &exports) {
            return Some(Recognised::Profile(p, found(library)));
        }
    }
    for o in OTHERS {
        if let Some(library) = matches(&o.recognise, trace, &exports) {
            return Some(Recognised::Other(o, found(library)));
        }
    }
    None
}

/// Whether `path` is a directory of the root.
pub fn is_dir(root: &Root, path: &str) -> bool {
    root.resolve(path)
        .ok()
        .flatten()
        .is_some_and(|r| r.kind == Kind::Dir)
}

/// Whether `path` is a regular file of the root (symlinks followed).
pub fn is_file(root: &Root, path: &str) -> bool {
    root.resolve(path)
        .ok()
        .flatten()
        .is_some_and(|r| r.kind == Kind::File)
}

/// The parent directory of a canonical path (`/` for a top-level name).
pub fn parent(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((d, _)) => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_well_formed() {
        let mut names: Vec<&str> = PROFILES.iter().map(|p| p.name).collect();
        names.extend(OTHERS.iter().map(|o| o.name));
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "names are unique");
        for p in PROFILES {
            assert!(
                !p.recognise.sonames.is_empty() || !p.recognise.exports.is_empty(),
                "{} must be recognisable",
                p.name
            );
        }
        for q in HOME_QUERIES {
            assert!(
                PROFILES.iter().any(|p| p.name == q.profile),
                "{} answers home_of but is not in PROFILES",
                q.profile
            );
        }
        for o in OTHERS {
            assert!(!o.include.is_empty());
            assert!(!o.recognise.sonames.is_empty() || !o.recognise.exports.is_empty());
        }
    }

    #[test]
    fn env_lookup_takes_the_last() {
        let f = Found {
            program: "/p".into(),
            real: "/p".into(),
            library: None,
            env: vec!["A=1".into(), "B=2".into(), "A=3".into()],
        };
        assert_eq!(f.env("A"), Some("3"));
        assert_eq!(f.env("C"), None);
    }

    #[test]
    fn parents() {
        assert_eq!(parent("/usr/bin/x"), "/usr/bin");
        assert_eq!(parent("/x"), "/");
    }
}
