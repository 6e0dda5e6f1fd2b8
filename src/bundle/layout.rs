//! Where each file of the root goes in a bundle, and symlinks re-pointed to match.
//!
//! The bundle mirrors the root's `/usr` at its top, because that is where programs find
//! their data relative to themselves: Python looks for `lib/python3.11/os.py` above the
//! directory of `argv[0]`, so with the launcher at `OUT/bin/python3` the standard library
//! must be at `OUT/lib/python3.11`, which is `/usr/lib/python3.11` with `/usr` removed.
//! Rules, applied to canonical paths inside the root:
//! - `/usr/X` becomes `X`, anything else keeps its path (`/etc/ssl/...` is `etc/ssl/...`,
//!   `/lib/x86_64-linux-gnu/` of a root without usrmerge merges with `/usr/lib/...`);
//! - then `bin/` and `sbin/` become `libexec/`: `OUT/bin` holds only the launchers;
//! - an explicit override wins (the loader goes to `libexec/`, next to the programs, so
//!   that `/proc/self/exe`, which names the loader when it is run as a command, points
//!   into the programs' directory).
//!
//! Symlinks keep working under new names: each link is re-pointed, relatively, to where
//! its final target went (`lib/x86_64-linux-gnu/libz.so.1 -> libz.so.1.2.13`). A link
//! that maps onto its own target (`/lib -> usr/lib` both become `lib`) disappears.

use std::collections::HashMap;

/// Maps canonical root paths (without the leading `/`) to bundle paths.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    overrides: HashMap<String, String>,
}

impl Layout {
    /// Puts the root path `from` (no leading `/`) at bundle path `to`.
    pub fn put(&mut self, from: &str, to: &str) {
        self.overrides
            .insert(from.trim_start_matches('/').to_string(), to.to_string());
    }

    /// The bundle path of a root path (both without leading `/`; "" is the top).
    pub fn map(&self, path: &str) -> String {
        let path = path.trim_start_matches('/');
        if let Some(o) = self.overrides.get(path) {
            return o.clone();
        }
        let rest = if path == "usr" {
            ""
        } else {
            path.strip_prefix("usr/").unwrap_or(path)
        };
        for exe_dir in ["bin", "sbin"] {
            if rest == exe_dir {
                return "libexec".into();
            }
            if let Some(r) = rest.strip_prefix(exe_dir).and_then(|r| r.strip_prefix('/')) {
                return format!("libexec/{r}");
            }
        }
        rest.to_string()
    }
}

/// The relative path from directory `from_dir` to `to` (both bundle paths, "" the top):
/// `relative("lib/x86_64-linux-gnu", "libexec/ld.so")` is `../../libexec/ld.so`.
pub fn relative(from_dir: &str, to: &str) -> String {
    let a: Vec<&str> = from_dir.split('/').filter(|c| !c.is_empty()).collect();
    let b: Vec<&str> = to.split('/').filter(|c| !c.is_empty()).collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<&str> = vec![".."; a.len() - common];
    parts.extend_from_slice(&b[common..]);
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// The directory part of a bundle path ("" for a top-level name).
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// A library directory without the glibc-hwcaps or legacy platform subdirectory it was
/// found in: the loader adds those itself to every `--library-path` entry.
pub fn strip_subdirs(dir: &str) -> &str {
    let mut d = dir.trim_end_matches('/');
    if let Some((base, _)) = d.rsplit_once("/glibc-hwcaps/") {
        return base;
    }
    const LEGACY: &[&str] = &["tls", "haswell", "x86_64", "aarch64", "avx512_1"];
    while let Some((base, last)) = d.rsplit_once('/') {
        // `/usr/lib/x86_64` alone is a real directory name only as a legacy subdir of a
        // library directory; never strip the first component.
        if LEGACY.contains(&last) && !base.is_empty() && base.contains('/') {
            d = base;
        } else {
            break;
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usr_is_the_top_and_programs_go_to_libexec() {
        let mut l = Layout::default();
        assert_eq!(l.map("usr/lib/python3.11/os.py"), "lib/python3.11/os.py");
        assert_eq!(l.map("/usr/bin/python3.11"), "libexec/python3.11");
        assert_eq!(l.map("usr/sbin/nginx"), "libexec/nginx");
        assert_eq!(l.map("bin/bash"), "libexec/bash", "a root without usrmerge");
        assert_eq!(
            l.map("lib/x86_64-linux-gnu/libc.so.6"),
            "lib/x86_64-linux-gnu/libc.so.6"
        );
        assert_eq!(
            l.map("etc/ssl/certs/ca-certificates.crt"),
            "etc/ssl/certs/ca-certificates.crt"
        );
        assert_eq!(l.map("usr"), "");
        assert_eq!(l.map("usr/bin"), "libexec");
        assert_eq!(l.map("usr/binx/y"), "binx/y");
        l.put(
            "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            "libexec/ld-linux-x86-64.so.2",
        );
        assert_eq!(
            l.map("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
            "libexec/ld-linux-x86-64.so.2"
        );
    }

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative(
                "lib/x86_64-linux-gnu",
                "lib/x86_64-linux-gnu/libz.so.1.2.13"
            ),
            "libz.so.1.2.13"
        );
        assert_eq!(relative("lib64", "libexec/ld.so"), "../libexec/ld.so");
        assert_eq!(relative("", "lib/a"), "lib/a");
        assert_eq!(relative("a/b", "a"), "..");
        assert_eq!(relative("a", "a"), ".");
        assert_eq!(parent("lib/x/y"), "lib/x");
        assert_eq!(parent("y"), "");
    }

    #[test]
    fn hwcaps_and_legacy_subdirs_are_stripped() {
        assert_eq!(
            strip_subdirs("/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/"),
            "/usr/lib/x86_64-linux-gnu"
        );
        assert_eq!(
            strip_subdirs("/usr/lib/x86_64-linux-gnu/tls/haswell/x86_64/"),
            "/usr/lib/x86_64-linux-gnu"
        );
        assert_eq!(
            strip_subdirs("/usr/lib/x86_64-linux-gnu/"),
            "/usr/lib/x86_64-linux-gnu"
        );
        assert_eq!(strip_subdirs("/x86_64"), "/x86_64");
    }
}
