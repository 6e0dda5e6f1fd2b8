//! The `-dev` variant's extra layer: a shell and the basic tools, as the dev/debug
//! variants of distroless images have. With busybox in the root: busybox and a link per
//! applet (read from busybox's own applet table, so only applets it has); without: `sh`
//! and the usual coreutils/grep/sed/find programs that the root has, traced as usual.
//! The production layer never gets any of this.
//!
//! [`plan()`] makes the dev layer's plan: the tools traced as programs are, minus what the
//! production layer already holds (the dev image is the production layer plus this one).

use crate::plan::{self, Plan, PlanOptions};
use crate::problem::Problem;
use crate::reason::Reason;
use crate::select::{self, SelectError, SelectOptions};
use crate::session::Session;
use crate::sysroot::{Kind, Root};

/// Why the dev layer cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    #[error(
        "--dev: the root has neither busybox nor a shell (sh, bash) to put in the -dev image; install one in the root, or leave --dev out"
    )]
    NoTools,
    #[error(
        "--dev: the production layer already holds every tool the root has ({tools}): the -dev image would be the same image; leave --dev out"
    )]
    NothingToAdd { tools: String },
    #[error("--dev: {0}")]
    Incomplete(Problem),
    #[error("--dev: {0}")]
    Select(#[from] SelectError),
}

/// The dev layer's plan: the root's busybox (with applet links) or shell and tools, minus
/// what the production layer `prod` already has. `opts` are the production selection's
/// options (its hints); its includes and dlopens are not repeated.
pub fn plan(session: &Session, prod: &Plan, opts: &SelectOptions) -> Result<Plan, DevError> {
    let root = session.root();
    let tools = find(root);
    // A -dev image is for a shell in the container: tools without one are not it.
    let shell = |b: &String| b.ends_with("/sh") || b.ends_with("/bash") || b.ends_with("/busybox");
    if !tools.bins.iter().any(shell) {
        return Err(DevError::NoTools);
    }
    let sel = select::select(
        session,
        &tools.bins,
        &SelectOptions {
            includes: vec![],
            command_files: vec![],
            dlopens: vec![],
            ..opts.clone()
        },
    )?;
    if let Some(p) = sel.problems().iter().find(|p| p.is_error()) {
        return Err(DevError::Incomplete(p.clone()));
    }
    let mut plan = plan::build(
        root,
        &sel,
        &PlanOptions {
            base: false,
            mtime: prod.mtime(),
            ..Default::default()
        },
    );
    plan.add_symlinks(tools.links);
    let plan = plan.on_top_of(prod);
    if plan
        .entries()
        .values()
        .all(|e| matches!(e.content, crate::plan::Content::Dir))
    {
        return Err(DevError::NothingToAdd {
            tools: tools.bins.join(" "),
        });
    }
    Ok(plan)
}

/// Where busybox may be.
const BUSYBOX: &[&str] = &[
    "/usr/bin/busybox",
    "/bin/busybox",
    "/usr/sbin/busybox",
    "/sbin/busybox",
];

/// Without busybox: a shell and these tools, when present (first found wins per name).
const TOOLS: &[&str] = &[
    "sh", "bash", "ls", "cat", "echo", "env", "mkdir", "rm", "rmdir", "cp", "mv", "ln", "wc",
    "head", "tail", "sort", "uniq", "tr", "cut", "id", "sleep", "true", "false", "pwd", "chmod",
    "chown", "date", "du", "df", "touch", "basename", "dirname", "readlink", "realpath", "tee",
    "test", "uname", "printf", "stat", "grep", "sed", "find", "xargs", "ps", "less", "more",
    "which",
];
const TOOL_DIRS: &[&str] = &["/usr/bin", "/bin", "/usr/sbin", "/sbin"];

/// What the dev layer holds.
#[derive(Debug, Default)]
pub struct DevTools {
    /// Programs to trace (paths inside the root).
    pub bins: Vec<String>,
    /// Symlinks to create: (path inside the root, target, reason).
    pub links: Vec<(String, String, Reason)>,
}

/// Finds the dev tools in `root`.
pub fn find(root: &Root) -> DevTools {
    for b in BUSYBOX {
        let Ok(Some(r)) = root.resolve(b) else {
            continue;
        };
        if r.kind != Kind::File {
            continue;
        }
        let Ok(bytes) = root.read_canonical(&r.path) else {
            continue;
        };
        let applets = applets(&bytes);
        if applets.is_empty() {
            continue;
        }
        let dir = r
            .path
            .rsplit_once('/')
            .map(|(d, _)| if d.is_empty() { "/" } else { d })
            .unwrap_or("/")
            .to_string();
        let name = r.path.rsplit('/').next().unwrap_or("busybox").to_string();
        let links = applets
            .into_iter()
            .filter(|a| a != &name)
            .map(|a| {
                (
                    crate::sysroot::join(&dir, &a),
                    name.clone(),
                    Reason::Base {
                        what: format!("busybox applet {a} (dev)"),
                    },
                )
            })
            .collect();
        return DevTools {
            bins: vec![b.to_string()],
            links,
        };
    }
    let mut bins = Vec::new();
    for t in TOOLS {
        if let Some(p) = TOOL_DIRS.iter().map(|d| format!("{d}/{t}")).find(|p| {
            root.resolve(p)
                .ok()
                .flatten()
                .is_some_and(|r| r.kind == Kind::File)
        }) {
            bins.push(p);
        }
    }
    DevTools {
        bins,
        links: Vec::new(),
    }
}

/// busybox's applet names: the NUL-separated sorted table that starts with `[` and `[[`.
pub fn applets(bytes: &[u8]) -> Vec<String> {
    let Some(start) = bytes.windows(6).position(|w| w == b"\0[\0[[\0") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in bytes[start + 1..].split(|&b| b == 0) {
        let ok = !name.is_empty()
            && name.len() <= 32
            && name
                .iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"[-_.".contains(&c));
        if !ok {
            break;
        }
        out.push(String::from_utf8_lossy(name).into_owned());
        if out.len() > 1000 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_applet_table() {
        let blob = b"junk\0[\0[[\0ash\0cat\0ls\0sh\0\0\x01\x02more";
        assert_eq!(applets(blob), ["[", "[[", "ash", "cat", "ls", "sh"]);
        assert!(applets(b"no table here").is_empty());
    }
}
