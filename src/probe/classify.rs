//! From what the run's system calls named to the record's paths. Every path is made
//! canonical inside the root with the root's own resolver (symlinks followed inside it,
//! `..` never above it) and looked up in the root as it was before the run (the overlay's
//! lower layer): what exists there is a content, by how it was touched; what the run made
//! itself (it is only in the overlay's upper layer) is `created`; what exists nowhere is
//! `missing`. `/proc`, `/sys`, `/dev` and the run's private `/tmp` are never contents.
//!
//! The kernel opens a program's PT_INTERP, and a script's `#!` interpreter, inside
//! `execve`, where no system call shows them: they are added here from the executed file.

use std::collections::BTreeSet;
use std::path::Path;

use rayon::prelude::*;

use super::record::{Link, Paths};
use super::syscalls::Access;
use crate::select::Shebang;
use crate::sysroot::{Kind, Root};

/// One path a system call named, as the run saw it (absolute inside the root, maybe
/// not canonical).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Event {
    pub access: Access,
    pub path: String,
    /// The final component is not followed (lstat, readlink, AT_SYMLINK_NOFOLLOW).
    pub nofollow: bool,
    /// An open that writes, creates or truncates.
    pub writes: bool,
    /// An open of a directory (O_DIRECTORY, or what opendir does).
    pub directory: bool,
}

/// Whether `path` (absolute inside the root) lies where the run's own mounts are, or is
/// qemu-user's own: Debian's qemu looks for the guest's files under its compiled-in
/// prefix `/etc/qemu-binfmt/ARCH` first (absent from a root, so it goes on with the
/// real path); those lookups are qemu's, not the program's.
pub fn is_pseudo(path: &str) -> bool {
    ["/proc", "/sys", "/dev", "/tmp", "/etc/qemu-binfmt"]
        .iter()
        .any(|p| {
            path.strip_prefix(p)
                .is_some_and(|r| r.is_empty() || r.starts_with('/'))
        })
}

/// Lexically joins `base` (absolute) and `rel`, keeping `..` for the resolver.
pub fn join(base: &str, rel: &str) -> String {
    if rel.starts_with('/') {
        rel.to_string()
    } else if base == "/" {
        format!("/{rel}")
    } else {
        format!("{}/{rel}", base.trim_end_matches('/'))
    }
}

/// A path that is not in the root, made canonical as far as the root goes: its longest
/// existing directory prefix resolved inside the root, the rest cleaned lexically (`..`
/// never above the root). Returns the path and that existing directory.
fn absent(root: &Root, path: &str) -> (String, Option<String>) {
    let comps: Vec<&str> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    for k in (0..comps.len()).rev() {
        let prefix = format!("/{}", comps[..k].join("/"));
        let Ok(Some(r)) = root.resolve(&prefix) else {
            continue;
        };
        if r.kind != Kind::Dir {
            break;
        }
        let mut out: Vec<&str> = r.path.split('/').filter(|c| !c.is_empty()).collect();
        for c in &comps[k..] {
            if *c == ".." {
                out.pop();
            } else {
                out.push(c);
            }
        }
        return (format!("/{}", out.join("/")), Some(r.path));
    }
    let mut out: Vec<&str> = Vec::new();
    for c in comps {
        if c == ".." {
            out.pop();
        } else {
            out.push(c);
        }
    }
    (format!("/{}", out.join("/")), None)
}

/// A path found in the root: canonical, the links met, what it is (None: a symlink).
type Found = Option<(String, Vec<crate::sysroot::Link>, Option<Kind>)>;

/// The paths of a run, classified.
pub struct Classified {
    pub paths: Paths,
    pub links: BTreeSet<Link>,
    pub missing: BTreeSet<String>,
}

/// Classifies the events of a run: `root` is the root as it was before the run, `upper`
/// the overlay's upper layer (host path): what the run made.
pub fn classify(root: &Root, upper: &Path, events: &BTreeSet<Event>) -> Classified {
    let mut c = Classified {
        paths: Paths::default(),
        links: BTreeSet::new(),
        missing: BTreeSet::new(),
    };
    let made = |p: &str| {
        let rel = p.trim_start_matches('/');
        std::fs::symlink_metadata(upper.join(rel)).is_ok()
    };
    let mut execs: Vec<String> = Vec::new();
    // Resolving is the slow part and pure (the root's memo is shared): in parallel, then
    // merged in the events' order.
    let events: Vec<&Event> = events.iter().collect();
    let found: Vec<Option<Found>> = events
        .par_iter()
        .map(|e| {
            if is_pseudo(&crate::sysroot::clean(&e.path)) {
                return None;
            }
            Some(if e.nofollow {
                root.resolve_nofollow(&e.path)
                    .ok()
                    .flatten()
                    .map(|(p, links)| {
                        let kind = match root.link_target(&p) {
                            Some(_) => None,
                            None => root.resolve(&p).ok().flatten().map(|r| r.kind),
                        };
                        (p, links, kind)
                    })
            } else {
                root.resolve(&e.path)
                    .ok()
                    .flatten()
                    .map(|r| (r.path, r.links, Some(r.kind)))
            })
        })
        .collect();
    for (e, found) in events.into_iter().zip(found) {
        let Some(found) = found else {
            continue;
        };
        let Some((canonical, links, kind)) = found else {
            // Not in the root: the run's own, or looked for and absent. Its directory, as
            // far as it exists in the root, is what the run needs of it.
            let (canonical, dir) = absent(root, &e.path);
            if is_pseudo(&canonical) {
                continue;
            }
            if e.writes
                || e.access == Access::Create
                || e.access == Access::Mkdir
                || made(&canonical)
            {
                c.paths.created.insert(canonical);
                if let Some(d) = dir
                    && !is_pseudo(&d)
                {
                    c.paths.checked.insert(d);
                }
            } else {
                c.missing.insert(canonical);
            }
            continue;
        };
        if is_pseudo(&canonical) {
            continue;
        }
        c.links.extend(links.into_iter().map(|l| Link {
            path: l.path,
            target: l.target,
        }));
        match (e.access, kind) {
            (Access::Exec, Some(Kind::File)) => {
                execs.push(canonical.clone());
                c.paths.executed.insert(canonical);
            }
            (Access::Open, _) if e.writes => {
                // An existing file the run writes is the run's; its directory is needed.
                c.paths.created.insert(canonical.clone());
                c.paths
                    .checked
                    .insert(crate::runtime::parent(&canonical).to_string());
            }
            (Access::Open, Some(Kind::Dir)) => {
                c.paths.listed.insert(canonical);
            }
            (Access::Open, Some(Kind::File)) => {
                c.paths.opened.insert(canonical);
            }
            (Access::Create, _) => {
                c.paths.created.insert(canonical);
            }
            (_, Some(Kind::Other)) => {}
            _ => {
                c.paths.checked.insert(canonical);
            }
        }
    }
    // What the kernel opened for each executed file: its PT_INTERP, or its #! interpreter
    // (bounded: a script's interpreter may be a script, as the kernel allows a few).
    let mut seen: BTreeSet<String> = BTreeSet::new();
    while let Some(path) = execs.pop() {
        if !seen.insert(path.clone()) || seen.len() > 10_000 {
            continue;
        }
        let Ok(head) = root.head_canonical(&path, 4096) else {
            continue;
        };
        let interp = match Shebang::parse(&head) {
            Some(Some(s)) => Some(s.interpreter),
            Some(None) => None,
            None if crate::elf::is_elf(&head) => root
                .read_canonical(&path)
                .ok()
                .and_then(|b| crate::elf::inspect(&b, crate::elf::Options::default()).ok())
                .and_then(|i| i.interp),
            None => None,
        };
        let Some(interp) = interp else { continue };
        match root.resolve(&interp).ok().flatten() {
            Some(r) if r.kind == Kind::File => {
                c.links.extend(r.links.into_iter().map(|l| Link {
                    path: l.path,
                    target: l.target,
                }));
                if c.paths.executed.insert(r.path.clone()) {
                    execs.push(r.path);
                }
            }
            _ => {
                c.missing.insert(crate::sysroot::clean(&interp));
            }
        }
    }
    // A path found by one call, or made by the run, is not missing because another call
    // looked for it first.
    let found: BTreeSet<String> = c.paths.contents().into_iter().map(String::from).collect();
    c.missing
        .retain(|m| !found.contains(m) && !c.paths.created.contains(m));
    // Listing or checking a directory that is also opened as a file cannot happen; a file
    // that is both opened and executed is executed.
    let executed = c.paths.executed.clone();
    c.paths.opened.retain(|p| !executed.contains(p));
    let strong: BTreeSet<String> = c
        .paths
        .executed
        .iter()
        .chain(&c.paths.opened)
        .chain(&c.paths.listed)
        .cloned()
        .collect();
    c.paths.checked.retain(|p| !strong.contains(p));
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudo_paths_and_joins() {
        assert!(is_pseudo("/proc/self/maps") && is_pseudo("/dev") && is_pseudo("/tmp/x"));
        assert!(!is_pseudo("/devices") && !is_pseudo("/var/tmp/x") && !is_pseudo("/usr"));
        assert_eq!(join("/usr/lib", "x.so"), "/usr/lib/x.so");
        assert_eq!(join("/", "etc"), "/etc");
        assert_eq!(join("/a", "/b"), "/b");
        assert_eq!(join("/a/", "../b"), "/a/../b");
    }

    #[test]
    fn classifies_against_the_root_before_the_run() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("root");
        std::fs::create_dir_all(d.join("usr/bin")).unwrap();
        std::fs::create_dir_all(d.join("etc/app")).unwrap();
        std::os::unix::fs::symlink("usr/bin", d.join("bin")).unwrap();
        std::fs::write(d.join("usr/bin/sh"), b"\x7fELF").unwrap();
        std::fs::write(d.join("usr/bin/run"), b"#!/bin/sh\necho\n").unwrap();
        std::fs::write(d.join("etc/app/conf"), b"x").unwrap();
        let upper = t.path().join("upper");
        std::fs::create_dir_all(upper.join("var")).unwrap();
        std::fs::write(upper.join("var/made"), b"").unwrap();
        let root = Root::new(&d).unwrap();
        let ev = |access, path: &str, writes| Event {
            access,
            path: path.into(),
            nofollow: false,
            writes,
            directory: false,
        };
        let events: BTreeSet<Event> = [
            ev(Access::Exec, "/bin/run", false),
            ev(Access::Open, "/etc/app/conf", false),
            ev(Access::Open, "/etc/app", false),
            ev(Access::Check, "/etc/nope", false),
            ev(Access::Open, "/var/made", false),
            ev(Access::Open, "/etc/app/new.log", true),
            ev(Access::Open, "/proc/self/maps", false),
            ev(Access::Check, "/usr/bin/../../etc/app/conf", false),
        ]
        .into();
        let c = classify(&root, &upper, &events);
        assert_eq!(
            c.paths.executed,
            ["/usr/bin/run".to_string(), "/bin/sh".to_string()]
                .into_iter()
                .map(|p| if p == "/bin/sh" {
                    "/usr/bin/sh".into()
                } else {
                    p
                })
                .collect(),
            "the #! interpreter the kernel opened is added"
        );
        assert!(c.paths.opened.contains("/etc/app/conf"));
        assert!(c.paths.listed.contains("/etc/app"));
        assert!(c.missing.contains("/etc/nope"));
        assert!(
            c.paths.created.contains("/var/made") && c.paths.created.contains("/etc/app/new.log")
        );
        assert!(!c.missing.contains("/var/made"));
        assert!(
            c.links
                .iter()
                .any(|l| l.path == "/bin" && l.target == "usr/bin")
        );
        assert!(
            !c.paths.checked.contains("/etc/app/conf"),
            "opened wins over checked"
        );
        assert!(!c.paths.contents().iter().any(|p| p.starts_with("/proc")));
        assert!(
            c.paths.contents().contains("/etc/app"),
            "the directory of a file the run made"
        );
        assert_eq!(
            absent(&root, "/usr/bin/../lib/glibc-hwcaps/x"),
            (
                "/usr/lib/glibc-hwcaps/x".to_string(),
                Some("/usr".to_string())
            )
        );
        assert_eq!(absent(&root, "/nope/../../x").0, "/x");
    }
}
