//! What `check` would flag in a layer, found by `pack` on the plan before writing it, with
//! check's own rules: each symlink of the plan resolved inside the plan
//! (`scan::symlink_finding`, the walk of `sysroot::walk`), and the NSS services of the
//! layer's nsswitch.conf searched as libc searches them ([`rules::nss_in`]), and a CA
//! bundle where a TLS library of the layer looks for one (`facts::CA_BUNDLES`).
//!
//! The NSS search runs in the root the layer is made from: pack adds every module it finds
//! there (`hints`), so a module that is not in the root is the one that is not in the
//! layer. Like `check`, it applies only when the layer holds libc. So a layer minroot
//! writes passes `check --strict`, or `pack` said beforehand what check will report.

use std::io::Read;

use super::findings::{self, Finding};
use super::rules;
use super::scan::{Resolves, symlink_finding};
use crate::facts::{CA_BUNDLES, LIBC_SONAME, NSSWITCH_CONF, is_tls_library};
use crate::ldso::Loader;
use crate::plan::{Content, Entry as PlanEntry, Plan};
use crate::sysroot::Kind;
use crate::sysroot::name;
use crate::sysroot::walk::{self, Entry, Lookup, WalkError};

/// Largest nsswitch.conf read (as `check` reads it).
const MAX_NSSWITCH: u64 = 1 << 20;

/// The findings `check` would report in the layer of `plan` (sorted as check sorts them).
/// `loader` searches the root the plan was made from (None: no NSS rule, as for an image
/// without a loader).
pub fn flagged(plan: &Plan, loader: Option<&Loader>) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut layer = InPlan(plan);
    for (k, e) in plan.entries() {
        let Content::Symlink(target) = &e.content else {
            continue;
        };
        let inside = format!("/{k}");
        let resolves = match walk::walk(&name::to_bytes(&inside), &mut layer) {
            Ok(found) => Resolves::from(found.is_some()),
            Err(WalkError::Loop) => Resolves::Loop,
            Err(WalkError::Lookup(never)) => match never {},
        };
        out.extend(symlink_finding(&inside, target, resolves));
    }
    if let Some(loader) = loader
        && holds_libc(plan)
        && let Some(conf) = read(plan, NSSWITCH_CONF)
    {
        out.extend(rules::nss_in(loader, &conf));
    }
    if let Some(library) = tls_library(plan) {
        let found = CA_BUNDLES.iter().any(|p| {
            walk::walk(p.as_bytes(), &mut InPlan(plan))
                .ok()
                .flatten()
                .and_then(|w| entry_at(plan, &w.path))
                .is_some_and(|e| !matches!(e.content, Content::Dir) && e.size() > 0)
        });
        if !found {
            out.push(Finding::CaBundleMissing {
                library,
                tried: CA_BUNDLES.iter().map(|s| s.to_string()).collect(),
            });
        }
    }
    findings::sort(&mut out);
    out
}

/// The entry at a walked path ("/usr/lib/x").
fn entry_at<'p>(plan: &'p Plan, walked: &[u8]) -> Option<&'p PlanEntry> {
    let key = name::from_bytes(walked.strip_prefix(b"/")?);
    plan.entries().get(key.as_ref())
}

/// The first TLS library of the layer (check: an ELF file with a TLS soname), by the
/// canonical path of the file its soname names.
fn tls_library(plan: &Plan) -> Option<String> {
    plan.entries().keys().find_map(|k| {
        if !is_tls_library(k.rsplit('/').next()?) {
            return None;
        }
        let w = walk::walk(format!("/{k}").as_bytes(), &mut InPlan(plan)).ok()??;
        (w.kind == Kind::File).then(|| name::from_bytes(&w.path).into_owned())
    })
}

/// Whether the layer holds a file named as libc (check: an ELF file with that soname).
fn holds_libc(plan: &Plan) -> bool {
    plan.entries().iter().any(|(k, e)| {
        k.rsplit('/').next() == Some(LIBC_SONAME) && !matches!(e.content, Content::Dir)
    })
}

/// The text of the file at `path` in the layer (symlinks followed in the layer).
fn read(plan: &Plan, path: &str) -> Option<String> {
    let w = walk::walk(path.as_bytes(), &mut InPlan(plan)).ok()??;
    let mut bytes = Vec::new();
    match &entry_at(plan, &w.path)?.content {
        Content::Data(d) => bytes.extend_from_slice(d),
        Content::File { host, .. } => {
            std::fs::File::open(host)
                .ok()?
                .take(MAX_NSSWITCH)
                .read_to_end(&mut bytes)
                .ok()?;
        }
        _ => return None,
    }
    String::from_utf8(bytes).ok()
}

/// The plan's entries as the walk looks them up: the layer as it will be unpacked.
struct InPlan<'a>(&'a Plan);

impl Lookup for InPlan<'_> {
    type Target = Vec<u8>;
    type Error = std::convert::Infallible;

    fn entry(&mut self, path: &[u8]) -> Result<Entry<Vec<u8>>, Self::Error> {
        let key = name::from_bytes(path.strip_prefix(b"/").unwrap_or(path));
        Ok(
            match self.0.entries().get(key.as_ref()).map(|e| &e.content) {
                None => Entry::Missing,
                Some(Content::Symlink(t)) => Entry::Symlink(name::to_bytes(t).into_owned()),
                Some(Content::Dir) => Entry::Is(Kind::Dir),
                Some(_) => Entry::Is(Kind::File),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reason::Reason;
    use std::collections::BTreeMap;

    fn entry(content: Content) -> PlanEntry {
        PlanEntry {
            content,
            mode: 0o644,
            uid: 0,
            gid: 0,
            xattrs: vec![],
            reason: Reason::Input,
            source: None,
        }
    }

    #[test]
    fn symlinks_are_judged_inside_the_layer() {
        let link = |t: &str| entry(Content::Symlink(t.into()));
        let mut m = BTreeMap::new();
        m.insert("etc".to_string(), entry(Content::Dir));
        m.insert("etc/ok".to_string(), link("real"));
        m.insert("etc/real".to_string(), entry(Content::Data(b"x".to_vec())));
        m.insert("etc/mtab".to_string(), link("../proc/self/mounts"));
        m.insert("etc/gone".to_string(), link("/usr/share/nothing"));
        m.insert("etc/a".to_string(), link("b"));
        m.insert("etc/b".to_string(), link("a"));
        let f = flagged(&Plan::from_entries(m, None), None);
        assert_eq!(
            f,
            [
                Finding::SymlinkLoop {
                    path: "/etc/a".into(),
                    target: "b".into()
                },
                Finding::SymlinkLoop {
                    path: "/etc/b".into(),
                    target: "a".into()
                },
                Finding::DanglingSymlink {
                    path: "/etc/gone".into(),
                    target: "/usr/share/nothing".into(),
                    runtime_mount: false
                },
                Finding::DanglingSymlink {
                    path: "/etc/mtab".into(),
                    target: "../proc/self/mounts".into(),
                    runtime_mount: true
                },
            ]
        );
    }
}
