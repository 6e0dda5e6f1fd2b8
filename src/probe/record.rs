//! The probe record: what one (or several merged) observed runs touched inside a root, as
//! a reviewable, committable file. It is canonical JSON: every list sorted and without
//! duplicates, no timestamps, pids or host paths, so the same run gives the same bytes and
//! a record can live in version control like a lock file.
//!
//! ```json
//! {
//!   "minroot_probe": 1,
//!   "arch": "x86_64",
//!   "root": {"os": "debian 12"},
//!   "runs": [{"command": ["/bin/sh", "/app/run.sh"], "env": ["PATH=..."], "workdir": "/",
//!             "user": "0:0", "network": false, "exit": {"code": 0}}],
//!   "paths": {"executed": [...], "opened": [...], "listed": [...], "checked": [...],
//!             "created": [...]},
//!   "links": [{"path": "/lib", "target": "usr/lib"}],
//!   "missing": [...]
//! }
//! ```
//!
//! Paths are absolute and canonical inside the root (symlinks resolved; the symlinks met
//! are in `links`). `executed` are programs started with execve (and the interpreters the
//! kernel opened for them); `opened` files opened or mapped; `listed` directories opened
//! (read with getdents); `checked` paths whose existence was asked (stat, access,
//! readlink, an existing mkdir); `created` what the run made or wrote (never packed);
//! `missing` paths looked for and not found (hints, never contents).
//!
//! A record read from a file is untrusted: [`Record::parse`] refuses paths that are not
//! absolute, hold `.` or `..` components, a NUL, or are longer than the kernel's PATH_MAX.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::arch::Arch;

/// The format version written in `minroot_probe`.
pub const VERSION: u32 = 1;
/// Longest path accepted (Linux PATH_MAX).
pub const MAX_PATH: usize = 4096;
/// Most paths a record may hold (all lists together).
pub const MAX_PATHS: usize = 1 << 20;

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exit {
    /// It exited with this status.
    Code(i32),
    /// A signal ended it.
    Signal(i32),
    /// `--timeout` ended it (SIGTERM, then SIGKILL after a grace period).
    TimedOut { signal: i32 },
}

impl Exit {
    /// Whether the run succeeded (exit status 0).
    pub fn success(&self) -> bool {
        *self == Exit::Code(0)
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit status {c}"),
            Exit::Signal(s) => write!(f, "killed by signal {s}"),
            Exit::TimedOut { signal } => write!(f, "stopped after the timeout (signal {signal})"),
        }
    }
}

/// One observed run.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    /// The program and its arguments, as given.
    pub command: Vec<String>,
    /// The environment it ran with (`KEY=VALUE`, as given, in order).
    pub env: Vec<String>,
    /// Its working directory inside the root.
    pub workdir: String,
    /// `UID:GID` it ran as.
    pub user: String,
    /// Whether it had a network.
    pub network: bool,
    pub exit: Exit,
}

impl Run {
    /// The command as one line (for reasons).
    pub fn line(&self) -> String {
        self.command.join(" ")
    }
}

/// A symlink met on the way to a recorded path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub path: String,
    pub target: String,
}

/// The recorded paths, by how they were touched.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paths {
    #[serde(default)]
    pub executed: BTreeSet<String>,
    #[serde(default)]
    pub opened: BTreeSet<String>,
    #[serde(default)]
    pub listed: BTreeSet<String>,
    #[serde(default)]
    pub checked: BTreeSet<String>,
    #[serde(default)]
    pub created: BTreeSet<String>,
}

impl Paths {
    /// Every content path (not `created`), each once, sorted.
    pub fn contents(&self) -> BTreeSet<&str> {
        self.executed
            .iter()
            .chain(&self.opened)
            .chain(&self.listed)
            .chain(&self.checked)
            .map(String::as_str)
            .collect()
    }

    fn all(&self) -> impl Iterator<Item = &String> {
        self.executed
            .iter()
            .chain(&self.opened)
            .chain(&self.listed)
            .chain(&self.checked)
            .chain(&self.created)
    }
}

/// What the record says about the root it was made in (no host path).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootInfo {
    /// `ID VERSION_ID` of its os-release, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// The image it was (a digest), when the root was an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// A probe record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub minroot_probe: u32,
    pub arch: Arch,
    pub root: RootInfo,
    pub runs: Vec<Run>,
    pub paths: Paths,
    #[serde(default)]
    pub links: BTreeSet<Link>,
    #[serde(default)]
    pub missing: BTreeSet<String>,
}

/// Why a record cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("not a probe record: {0}")]
    Json(#[from] serde_json::Error),
    #[error("record format {0}; this minroot reads format {VERSION}")]
    Version(u32),
    #[error("path {0:?}: {1}")]
    BadPath(String, &'static str),
    #[error("more than {MAX_PATHS} paths")]
    TooMany,
    #[error("no run in the record")]
    NoRun,
    #[error("made for {0}, merged with a record made for {1}")]
    MixedArch(Arch, Arch),
}

/// Checks one path of a record: absolute, canonical (no `.`, `..` or empty components),
/// no NUL, not too long.
pub fn check_path(p: &str) -> Result<(), RecordError> {
    let bad = |why| Err(RecordError::BadPath(p.to_string(), why));
    if !p.starts_with('/') {
        return bad("not an absolute path inside the root");
    }
    if p.len() > MAX_PATH {
        return bad("longer than PATH_MAX");
    }
    if p.contains('\0') {
        return bad("holds a NUL byte");
    }
    if p != "/"
        && p[1..]
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return bad(
            "not canonical (empty, . or .. components): it could name a path outside the root",
        );
    }
    Ok(())
}

impl Record {
    /// Parses and checks a record (untrusted input).
    pub fn parse(bytes: &[u8]) -> Result<Record, RecordError> {
        let r: Record = serde_json::from_slice(bytes)?;
        if r.minroot_probe != VERSION {
            return Err(RecordError::Version(r.minroot_probe));
        }
        if r.runs.is_empty() {
            return Err(RecordError::NoRun);
        }
        let n = r.paths.all().count() + r.links.len() + r.missing.len();
        if n > MAX_PATHS {
            return Err(RecordError::TooMany);
        }
        for p in r.paths.all().chain(&r.missing) {
            check_path(p)?;
        }
        for l in &r.links {
            check_path(&l.path)?;
            if l.target.is_empty() || l.target.contains('\0') || l.target.len() > MAX_PATH {
                return Err(RecordError::BadPath(
                    l.target.clone(),
                    "not a symlink target",
                ));
            }
        }
        for run in &r.runs {
            if run.command.is_empty() {
                return Err(RecordError::NoRun);
            }
            check_path(&run.workdir)?;
        }
        Ok(r)
    }

    /// The canonical bytes: pretty JSON (to review and diff), sorted, newline-terminated.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("records serialise");
        v.push(b'\n');
        v
    }

    /// Merges `other` into this record (same architecture): runs and paths are unions.
    pub fn merge(&mut self, other: Record) -> Result<(), RecordError> {
        if other.arch != self.arch {
            return Err(RecordError::MixedArch(self.arch, other.arch));
        }
        if self.root != other.root {
            // Different roots of the same architecture: keep what both say.
            if self.root.os != other.root.os {
                self.root.os = None;
            }
            if self.root.image != other.root.image {
                self.root.image = None;
            }
        }
        for run in other.runs {
            if !self.runs.contains(&run) {
                self.runs.push(run);
            }
        }
        self.runs.sort();
        let Paths {
            executed,
            opened,
            listed,
            checked,
            created,
        } = other.paths;
        self.paths.executed.extend(executed);
        self.paths.opened.extend(opened);
        self.paths.listed.extend(listed);
        self.paths.checked.extend(checked);
        self.paths.created.extend(created);
        self.links.extend(other.links);
        self.missing.extend(other.missing);
        // A path one run found is not missing.
        let found: BTreeSet<String> = self
            .paths
            .contents()
            .into_iter()
            .map(String::from)
            .collect();
        self.missing.retain(|m| !found.contains(m));
        Ok(())
    }

    /// The commands of the runs, for reasons (`probe: sh /app/run.sh`).
    pub fn commands(&self) -> String {
        self.runs
            .iter()
            .map(Run::line)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            minroot_probe: VERSION,
            arch: Arch::X86_64,
            root: RootInfo {
                os: Some("debian 12".into()),
                image: None,
            },
            runs: vec![Run {
                command: vec!["/bin/true".into()],
                env: vec!["PATH=/bin".into()],
                workdir: "/".into(),
                user: "0:0".into(),
                network: false,
                exit: Exit::Code(0),
            }],
            paths: Paths {
                executed: ["/usr/bin/true".to_string()].into(),
                ..Paths::default()
            },
            links: [Link {
                path: "/bin".into(),
                target: "usr/bin".into(),
            }]
            .into(),
            missing: ["/etc/nope".to_string()].into(),
        }
    }

    #[test]
    fn round_trip_is_canonical() {
        let r = record();
        let b = r.to_bytes();
        assert_eq!(Record::parse(&b).unwrap(), r);
        assert_eq!(Record::parse(&b).unwrap().to_bytes(), b);
        let text = String::from_utf8(b).unwrap();
        assert!(text.contains("\"minroot_probe\": 1"), "{text}");
        assert!(!text.contains("pid"), "{text}");
    }

    #[test]
    fn hostile_paths_are_refused() {
        for bad in [
            "etc/passwd",
            "/usr/../etc",
            "/usr/./bin",
            "/usr//bin",
            "/a\0b",
        ] {
            let mut r = record();
            r.paths.opened.insert(bad.into());
            let e = Record::parse(&r.to_bytes()).unwrap_err();
            assert!(matches!(e, RecordError::BadPath(..)), "{bad}: {e}");
        }
        let mut r = record();
        r.runs[0].workdir = "../../".into();
        assert!(Record::parse(&r.to_bytes()).is_err());
        assert!(Record::parse(b"{\"minroot_probe\": 2}").is_err());
        assert!(Record::parse(b"[1, 2]").is_err());
    }

    #[test]
    fn merge_is_a_union() {
        let mut a = record();
        let mut b = record();
        b.runs[0].command = vec!["/bin/false".into()];
        b.runs[0].exit = Exit::Code(1);
        b.paths.opened.insert("/etc/nope".into());
        b.missing.insert("/etc/other".into());
        a.merge(b.clone()).unwrap();
        assert_eq!(a.runs.len(), 2);
        assert!(a.missing.contains("/etc/other") && !a.missing.contains("/etc/nope"));
        let mut c = record();
        c.merge(b).unwrap();
        assert_eq!(c, a, "merging is order-independent");
        let mut arm = record();
        arm.arch = Arch::Aarch64;
        assert!(a.merge(arm).is_err());
    }
}
