//! What `check` can find, as data: one typed finding per problem, each with a severity.
//! Finding them is `scan.rs`'s and `rules.rs`'s job; rendering is `cli/check.rs`'s.
//!
//! Severity policy (decided here, once):
//! - **error**: something the image needs at run time is missing or broken: an
//!   interpreter or library the loader would not find, an error that stops the loader, an
//!   ELF file for another class or machine, an ELF file that cannot be parsed, a dangling,
//!   looping or escaping symlink, gconv modules for a program that calls `iconv_open`, the
//!   CA bundle next to a TLS library, an NSS module that exists but cannot be loaded, a
//!   program that is a language runtime whose own files (standard library, class
//!   library, home) are not in the image;
//! - **note**: reported, but expected in ordinary images, so it does not make `check` exit 1
//!   unless `--strict`: an NSS service named in nsswitch.conf whose module is absent (glibc
//!   skips such a source and goes on with the next one; Debian's default nsswitch.conf
//!   names `db` and `nis`, which are rarely installed), a symlink into /proc, /sys, /dev
//!   or /run (filled by the runtime's mounts, empty in an image), a library of another
//!   class or machine where the image's loader never looks (a multiarch directory), a
//!   directory the checker could not read.

use serde::Serialize;

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Note,
}

/// One problem found in the image. Paths are inside the image.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// The program's PT_INTERP is not in the image: the kernel cannot start it.
    MissingInterpreter { elf: String, interp: String },
    /// A library the loader would not find when loading `elf`.
    MissingLibrary {
        elf: String,
        name: String,
        /// The object whose DT_NEEDED (or filter) names it.
        needed_by: String,
        /// Directories searched, in order (the cache shows as /etc/ld.so.cache).
        tried: Vec<String>,
        /// Candidates skipped because they are for another class or machine.
        skipped: Vec<String>,
    },
    /// The loader would stop with an error while loading `elf`.
    LoaderError {
        elf: String,
        name: String,
        error: String,
    },
    /// A loadable ELF file (program or library) that is not for the image's class and
    /// machine: the loader skips it or the kernel refuses it.
    WrongClassOrMachine {
        path: String,
        found: String,
        expected: String,
        /// A program, or a library where the image's loader looks (its default or
        /// ld.so.conf directories, or a directory with libraries of the image's
        /// architecture). False for a library elsewhere (a multiarch directory such as
        /// /usr/lib/i386-linux-gnu, data of another tool): a note.
        reachable: bool,
    },
    /// A file with an ELF header that cannot be parsed.
    BadElf { path: String, error: String },
    /// A symlink whose target does not exist in the image.
    DanglingSymlink {
        path: String,
        target: String,
        /// The target lies in /proc, /sys, /dev or /run, which the runtime mounts.
        runtime_mount: bool,
    },
    /// A relative symlink whose `..` components climb above the image's root: it
    /// resolves inside the image only because `..` stops at `/` (under chroot); unpacked
    /// anywhere else it points outside.
    EscapingSymlink { path: String, target: String },
    /// A symlink that loops.
    SymlinkLoop { path: String, target: String },
    /// `elf` (or a library it loads) calls `iconv_open`, and the image has no gconv
    /// modules: iconv only knows UTF-8 and a few built-in charsets.
    GconvMissing { elf: String, dir: String },
    /// nsswitch.conf names `service`; its module cannot be loaded. `error` is None when
    /// the module is simply absent (a note), else why loading it fails (an error).
    NssModuleMissing {
        service: String,
        module: String,
        error: Option<String>,
    },
    /// A TLS library is in the image but no CA bundle: certificate checks will fail.
    CaBundleMissing { library: String, tried: Vec<String> },
    /// A program is a language runtime (`runtime::PROFILES`) whose own files are not in
    /// the image, looked for as the runtime looks for them: it cannot start (CPython
    /// without its standard library, `java` without its home's lib/libjava.so).
    RuntimeIncomplete {
        program: String,
        runtime: String,
        looked_for: Vec<String>,
        hint: String,
    },
    /// A directory or file the checker could not read.
    Unreadable { path: String, error: String },
}

pub use crate::facts::RUNTIME_MOUNTS;

impl Finding {
    pub fn severity(&self) -> Severity {
        match self {
            Finding::DanglingSymlink {
                runtime_mount: true,
                ..
            }
            | Finding::NssModuleMissing { error: None, .. }
            | Finding::WrongClassOrMachine {
                reachable: false, ..
            }
            | Finding::Unreadable { .. } => Severity::Note,
            _ => Severity::Error,
        }
    }

    /// The path (or file) the finding is about: the first sort key of a report.
    pub fn subject(&self) -> &str {
        match self {
            Finding::MissingInterpreter { elf, .. }
            | Finding::MissingLibrary { elf, .. }
            | Finding::LoaderError { elf, .. }
            | Finding::GconvMissing { elf, .. } => elf,
            Finding::WrongClassOrMachine { path, .. }
            | Finding::BadElf { path, .. }
            | Finding::DanglingSymlink { path, .. }
            | Finding::EscapingSymlink { path, .. }
            | Finding::SymlinkLoop { path, .. }
            | Finding::Unreadable { path, .. } => path,
            Finding::NssModuleMissing { .. } => "/etc/nsswitch.conf",
            Finding::CaBundleMissing { library, .. } => library,
            Finding::RuntimeIncomplete { program, .. } => program,
        }
    }

    /// The finding's kind as in JSON (`missing_library`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Finding::MissingInterpreter { .. } => "missing_interpreter",
            Finding::MissingLibrary { .. } => "missing_library",
            Finding::LoaderError { .. } => "loader_error",
            Finding::WrongClassOrMachine { .. } => "wrong_class_or_machine",
            Finding::BadElf { .. } => "bad_elf",
            Finding::DanglingSymlink { .. } => "dangling_symlink",
            Finding::EscapingSymlink { .. } => "escaping_symlink",
            Finding::SymlinkLoop { .. } => "symlink_loop",
            Finding::GconvMissing { .. } => "gconv_missing",
            Finding::NssModuleMissing { .. } => "nss_module_missing",
            Finding::CaBundleMissing { .. } => "ca_bundle_missing",
            Finding::RuntimeIncomplete { .. } => "runtime_incomplete",
            Finding::Unreadable { .. } => "unreadable",
        }
    }
}

/// Sorts findings by subject, then by everything else: the order never depends on
/// the walk or on thread scheduling. Exact duplicates are dropped.
pub fn sort(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| a.subject().cmp(b.subject()).then_with(|| a.cmp(b)));
    findings.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_follow_the_policy() {
        let note = Finding::NssModuleMissing {
            service: "nis".into(),
            module: "libnss_nis.so.2".into(),
            error: None,
        };
        assert_eq!(note.severity(), Severity::Note);
        let broken = Finding::NssModuleMissing {
            service: "x".into(),
            module: "libnss_x.so.2".into(),
            error: Some("wrong ELF class".into()),
        };
        assert_eq!(broken.severity(), Severity::Error);
        let proc = Finding::DanglingSymlink {
            path: "/etc/mtab".into(),
            target: "../proc/self/mounts".into(),
            runtime_mount: true,
        };
        assert_eq!(proc.severity(), Severity::Note);
        let lib = Finding::MissingLibrary {
            elf: "/usr/bin/x".into(),
            name: "libz.so.1".into(),
            needed_by: "/usr/bin/x".into(),
            tried: vec![],
            skipped: vec![],
        };
        assert_eq!(lib.severity(), Severity::Error);
        assert_eq!(lib.kind(), "missing_library");
        let json = serde_json::to_value(&lib).unwrap();
        assert_eq!(json["kind"], "missing_library", "kind() agrees with serde");
        let rt = Finding::RuntimeIncomplete {
            program: "/usr/bin/python3.11".into(),
            runtime: "CPython".into(),
            looked_for: vec!["/usr/lib/python3.11/os.py".into()],
            hint: "install libpython3.11-stdlib".into(),
        };
        assert_eq!(rt.severity(), Severity::Error);
        assert_eq!(rt.subject(), "/usr/bin/python3.11");
        assert_eq!(serde_json::to_value(&rt).unwrap()["kind"], rt.kind());
    }

    #[test]
    fn sorted_by_subject_then_content() {
        let f = |p: &str| Finding::BadElf {
            path: p.into(),
            error: "e".into(),
        };
        let mut v = vec![f("/b"), f("/a"), f("/b"), f("/a/z")];
        sort(&mut v);
        assert_eq!(
            v.iter().map(Finding::subject).collect::<Vec<_>>(),
            ["/a", "/a/z", "/b"]
        );
    }
}
