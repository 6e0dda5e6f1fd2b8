//! Why a path is in the layer: one typed reason per entry. If minroot cannot say why a file
//! is in the layer, it is not in it. Rendering is a separate match (`Reason::label`).

use serde::Serialize;

use crate::elf::Priority;

/// The glibc behaviour that brought a file in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum GlibcRule {
    /// An NSS module for a service of nsswitch.conf.
    Nss { service: String },
    /// gconv configuration or module, for `iconv_open`.
    Gconv,
    /// libgcc_s.so.1, for pthread_cancel/pthread_exit/backtrace.
    LibgccS { symbol: String },
}

/// Why a path is in the layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Reason {
    /// A program given on the command line.
    Input,
    /// The interpreter of a `#!` script.
    ScriptInterpreter { script: String },
    /// The PT_INTERP of a program.
    Interpreter { program: String },
    /// A library the loader loads: requested by `by`, found by `how` in `dir`.
    Library {
        by: String,
        how: String,
        dir: String,
    },
    /// Another glibc-hwcaps build of a library, so the image runs on any CPU level.
    HwcapsVariant { of: String },
    /// Named by a `.note.dlopen` of `by`.
    DlopenNote {
        by: String,
        feature: Option<String>,
        priority: Priority,
    },
    /// `--dlopen`.
    DlopenOption,
    /// Loaded by glibc itself.
    Glibc(GlibcRule),
    /// A run-time file of a known library.
    DataFile { library: String, what: String },
    /// Opt-in data (`--data`).
    OptInData { what: String },
    /// `--include`.
    Include { arg: String },
    /// An ELF inside an included directory, traced.
    IncludedElfDependency { of: String },
    /// A symlink on the way to `to`.
    Symlink { to: String },
    /// A parent directory.
    Parent,
    /// A generated or copied base file.
    Base { what: String },
    /// The layer's own package database entry for a package in it (dpkg status.d, apk).
    PackageDb { package: String },
    /// The copyright file of a package in the layer.
    Copyright { package: String },
}

impl Reason {
    /// A short human label, as printed by `minroot files`.
    pub fn label(&self) -> String {
        match self {
            Reason::Input => "input".into(),
            Reason::ScriptInterpreter { script } => format!("interpreter of script {script}"),
            Reason::Interpreter { program } => format!("interpreter of {program}"),
            Reason::Library { by, how, .. } => format!("needed by {by} [{how}]"),
            Reason::HwcapsVariant { of } => format!("glibc-hwcaps variant of {of}"),
            Reason::DlopenNote {
                by,
                feature,
                priority,
            } => {
                let f = feature
                    .as_deref()
                    .map(|f| format!(" {f}"))
                    .unwrap_or_default();
                format!("dlopen note{f} of {by} ({priority:?})")
                    .replace("(Required)", "(required)")
                    .replace("(Recommended)", "(recommended)")
                    .replace("(Suggested)", "(suggested)")
            }
            Reason::DlopenOption => "--dlopen".into(),
            Reason::Glibc(GlibcRule::Nss { service }) => format!("glibc NSS service {service}"),
            Reason::Glibc(GlibcRule::Gconv) => "glibc gconv (iconv_open)".into(),
            Reason::Glibc(GlibcRule::LibgccS { symbol }) => format!("glibc unwinder ({symbol})"),
            Reason::DataFile { library, what } => format!("{what} of {library}"),
            Reason::OptInData { what } => format!("--data {what}"),
            Reason::Include { arg } => format!("--include {arg}"),
            Reason::IncludedElfDependency { of } => format!("needed by included {of}"),
            Reason::Symlink { to } => format!("symlink to {to}"),
            Reason::Parent => "parent directory".into(),
            Reason::Base { what } => format!("base file: {what}"),
            Reason::PackageDb { package } => format!("package database entry of {package}"),
            Reason::Copyright { package } => format!("copyright file of package {package}"),
        }
    }
}
