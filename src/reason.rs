//! Why a path is in the layer: one typed reason per entry. If minroot cannot say why a file
//! is in the layer, it is not in it. Rendering is one match (`impl Display`); JSON takes
//! the typed fields, with the search step ([`Via`]) as its label.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::elf::Priority;

/// The step of the loader's search that found a library, with the object whose DT_RPATH
/// or DT_RUNPATH it was named. The one renderer of search steps: `{}` is the short label
/// of `files` and the trace tree (`rpath of /usr/bin/x`), `{:#}` adds the entry as written
/// (`rpath $ORIGIN/../lib of /usr/bin/x`), as `trace --verbose` lists searched directories.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Via {
    /// A DT_NEEDED (or dlopen) name containing '/': opened as a path.
    Path,
    /// DT_RPATH of `of` (the requester or one of its loaders).
    Rpath { of: String, entry: String },
    /// DT_RUNPATH of the requester `of`.
    Runpath { of: String, entry: String },
    /// `--library-path` (LD_LIBRARY_PATH).
    LibraryPath { entry: String },
    /// The root's /etc/ld.so.cache.
    Cache,
    /// A default directory of the loader.
    DefaultDir,
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let long = f.alternate();
        match self {
            Via::Path => f.write_str("path"),
            Via::Rpath { of, entry } if long => write!(f, "rpath {entry} of {of}"),
            Via::Rpath { of, .. } => write!(f, "rpath of {of}"),
            Via::Runpath { entry, .. } if long => write!(f, "runpath {entry}"),
            Via::Runpath { .. } => f.write_str("runpath"),
            Via::LibraryPath { entry } if long => write!(f, "LD_LIBRARY_PATH {entry}"),
            Via::LibraryPath { .. } => f.write_str("LD_LIBRARY_PATH"),
            Via::Cache => f.write_str("ld.so.cache"),
            Via::DefaultDir => f.write_str("default dir"),
        }
    }
}

/// Serialises a value as its `Display` text.
pub fn as_text<T: fmt::Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

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

/// A plugin set: ELF files a host program loads by path, each member that provides a
/// soname other members need loaded before them (`closure::providers_first`), so that
/// their DT_NEEDED of it is already loaded.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case", tag = "of")]
pub enum PluginSet {
    /// The ELF files of a language runtime's home (`runtime/`).
    Runtime { runtime: String, home: String },
    /// The ELF libraries of the `--include` paths.
    Includes,
}

impl fmt::Display for PluginSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginSet::Runtime { runtime, home } => write!(f, "{runtime}'s plugin set ({home})"),
            PluginSet::Includes => f.write_str("the plugin set of the included libraries"),
        }
    }
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
        #[serde(serialize_with = "as_text")]
        how: Via,
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
    /// A file of a language runtime the program is (`runtime/`).
    Runtime {
        runtime: String,
        /// Its home or prefix.
        home: String,
        /// What the home was found by, as the runtime finds it.
        found_by: String,
    },
    /// Touched by an observed run (`pack --probe`) and by nothing static.
    Probe { command: String },
    /// `--include`.
    Include { arg: String },
    /// A file an image's command names (`python3 /app/main.py`, `tini -- /app/server`),
    /// taken when the programs are the image's Entrypoint and Cmd.
    ImageCommand { arg: String },
    /// An ELF inside an included directory, traced.
    IncludedElfDependency { of: String },
    /// A plugin-set member its host loads first, because other members need its soname:
    /// their DT_NEEDED of it is satisfied by it (already loaded), not searched for.
    SetProvider {
        /// Why it is in the layer in the first place (the runtime or the include).
        member: Box<Reason>,
        set: PluginSet,
        /// The name the others need (its DT_SONAME).
        soname: String,
        /// The members whose DT_NEEDED it satisfies, in load order.
        to: Vec<String>,
    },
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

impl fmt::Display for Reason {
    /// A short human label, as printed by `minroot files`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Input => f.write_str("input"),
            Reason::ScriptInterpreter { script } => write!(f, "interpreter of script {script}"),
            Reason::Interpreter { program } => write!(f, "interpreter of {program}"),
            Reason::Library { by, how, .. } => write!(f, "needed by {by} [{how}]"),
            Reason::HwcapsVariant { of } => write!(f, "glibc-hwcaps variant of {of}"),
            Reason::DlopenNote {
                by,
                feature,
                priority,
            } => match feature {
                Some(feat) => write!(f, "dlopen note {feat} of {by} ({priority})"),
                None => write!(f, "dlopen note of {by} ({priority})"),
            },
            Reason::DlopenOption => f.write_str("--dlopen"),
            Reason::Glibc(GlibcRule::Nss { service }) => write!(f, "glibc NSS service {service}"),
            Reason::Glibc(GlibcRule::Gconv) => f.write_str("glibc gconv (iconv_open)"),
            Reason::Glibc(GlibcRule::LibgccS { symbol }) => {
                write!(f, "glibc unwinder ({symbol})")
            }
            Reason::DataFile { library, what } => write!(f, "{what} of {library}"),
            Reason::OptInData { what } => write!(f, "--data {what}"),
            Reason::Runtime {
                runtime,
                home,
                found_by,
            } => write!(f, "runtime: {runtime} ({home}, found by {found_by})"),
            Reason::Probe { command } => write!(f, "probe: {command}"),
            Reason::Include { arg } => write!(f, "--include {arg}"),
            Reason::ImageCommand { arg } => write!(f, "named by the image's command ({arg})"),
            Reason::IncludedElfDependency { of } => write!(f, "needed by included {of}"),
            Reason::SetProvider {
                member,
                set,
                soname,
                to,
            } => {
                // The members are named by file name: they share the set's directories.
                let names: Vec<&str> = to
                    .iter()
                    .map(|p| p.rsplit('/').next().unwrap_or(p))
                    .collect();
                let shown = names.len().min(3);
                write!(
                    f,
                    "{member}; loaded first, as the member of {set} that provides {soname} to {} member{}: {}",
                    to.len(),
                    if to.len() == 1 { "" } else { "s" },
                    names[..shown].join(", ")
                )?;
                if names.len() > shown {
                    write!(f, " and {} more", names.len() - shown)?;
                }
                Ok(())
            }
            Reason::Symlink { to } => write!(f, "symlink to {to}"),
            Reason::Parent => f.write_str("parent directory"),
            Reason::Base { what } => write!(f, "base file: {what}"),
            Reason::PackageDb { package } => write!(f, "package database entry of {package}"),
            Reason::Copyright { package } => write!(f, "copyright file of package {package}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        let lib = Reason::Library {
            by: "/usr/bin/x".into(),
            how: Via::Rpath {
                of: "/usr/bin/x".into(),
                entry: "$ORIGIN/../lib".into(),
            },
            dir: "/usr/lib/".into(),
        };
        assert_eq!(
            lib.to_string(),
            "needed by /usr/bin/x [rpath of /usr/bin/x]"
        );
        assert_eq!(
            serde_json::to_value(&lib).unwrap()["how"],
            "rpath of /usr/bin/x"
        );
        let note = Reason::DlopenNote {
            by: "/usr/lib/libx.so.1".into(),
            feature: Some("zstd".into()),
            priority: Priority::Suggested,
        };
        assert_eq!(
            note.to_string(),
            "dlopen note zstd of /usr/lib/libx.so.1 (suggested)"
        );
        let provider = Reason::SetProvider {
            member: Box::new(Reason::Include { arg: "/jdk".into() }),
            set: PluginSet::Runtime {
                runtime: "OpenJDK".into(),
                home: "/jdk".into(),
            },
            soname: "libjvm.so".into(),
            to: ["a", "b", "c", "d"]
                .iter()
                .map(|n| format!("/jdk/lib/lib{n}.so"))
                .collect(),
        };
        assert_eq!(
            provider.to_string(),
            "--include /jdk; loaded first, as the member of OpenJDK's plugin set (/jdk) that provides libjvm.so to 4 members: liba.so, libb.so, libc.so and 1 more"
        );
        let json = serde_json::to_value(&provider).unwrap();
        assert_eq!(json["kind"], "set_provider");
        assert_eq!(json["member"]["kind"], "include");
        assert_eq!(json["set"]["of"], "runtime");
        assert_eq!(json["to"].as_array().unwrap().len(), 4);
        let v = Via::Runpath {
            of: "/a".into(),
            entry: "$ORIGIN".into(),
        };
        assert_eq!(format!("{v} / {v:#}"), "runpath / runpath $ORIGIN");
    }
}
