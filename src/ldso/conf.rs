//! Reader for the root's `/etc/ld.so.conf` (with `include` globs), as ldconfig reads it.
//!
//! The loader never reads this file: only ldconfig does, to build ld.so.cache. minroot uses
//! it for one diagnosis: a library that is missing for the loader but present in a
//! configured directory means the cache is stale (ldconfig was not run).

use crate::sysroot::Root;

/// The directories named by ld.so.conf, in order, each without a trailing '/'.
pub fn configured_dirs(root: &Root) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen_files = Vec::new();
    read_conf(root, "/etc/ld.so.conf", &mut out, &mut seen_files, 0);
    out
}

fn read_conf(root: &Root, path: &str, out: &mut Vec<String>, seen: &mut Vec<String>, depth: usize) {
    if depth > 16 || seen.iter().any(|s| s == path) {
        return;
    }
    seen.push(path.to_string());
    let Ok(text) = root.read_to_string(path, 1 << 20) else {
        return;
    };
    let base = path
        .rsplit_once('/')
        .map(|(d, _)| if d.is_empty() { "/" } else { d })
        .unwrap_or("/")
        .to_string();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line
            .strip_prefix("include")
            .filter(|r| r.starts_with([' ', '\t']))
        {
            for pat in rest.split_whitespace() {
                let pat = if pat.starts_with('/') {
                    pat.to_string()
                } else {
                    format!("{base}/{pat}")
                };
                for f in glob(root, &pat) {
                    read_conf(root, &f, out, seen, depth + 1);
                }
            }
        } else if line.starts_with("hwcap") && line[5..].starts_with([' ', '\t']) {
            continue;
        } else {
            // Legacy "dir=TYPE" suffixes are ignored by ldconfig; so are they here.
            let d = line.split('=').next().unwrap_or("").trim();
            let mut d = d.to_string();
            while d.len() > 1 && d.ends_with('/') {
                d.pop();
            }
            if !d.is_empty() && !out.contains(&d) {
                out.push(d);
            }
        }
    }
}

/// Expands a glob with `*` and `?` in its last component, sorted like glob(3).
fn glob(root: &Root, pattern: &str) -> Vec<String> {
    let Some((dir, pat)) = pattern.rsplit_once('/') else {
        return Vec::new();
    };
    let dir = if dir.is_empty() { "/" } else { dir };
    if !pat.contains(['*', '?', '[']) {
        return vec![pattern.to_string()];
    }
    let mut names: Vec<String> = root
        .list_dir(dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|n| !n.starts_with('.') && wildcard(pat.as_bytes(), n.as_bytes()))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            if dir == "/" {
                format!("/{n}")
            } else {
                format!("{dir}/{n}")
            }
        })
        .collect()
}

/// `*` and `?` matching (no character classes: `[` matches itself).
fn wildcard(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => wildcard(&p[1..], s) || (!s.is_empty() && wildcard(p, &s[1..])),
        (Some(b'?'), Some(_)) => wildcard(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => wildcard(&p[1..], &s[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_matches() {
        assert!(wildcard(b"*.conf", b"x86_64-linux-gnu.conf"));
        assert!(!wildcard(b"*.conf", b"x.conf.bak"));
        assert!(wildcard(b"a?c", b"abc"));
    }

    #[test]
    fn reads_includes_in_sorted_order() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::create_dir_all(d.join("etc/ld.so.conf.d")).unwrap();
        std::fs::write(
            d.join("etc/ld.so.conf"),
            "# comment\ninclude /etc/ld.so.conf.d/*.conf\n/opt/first/\n",
        )
        .unwrap();
        std::fs::write(d.join("etc/ld.so.conf.d/b.conf"), "/usr/local/b\n").unwrap();
        std::fs::write(
            d.join("etc/ld.so.conf.d/a.conf"),
            "/usr/local/a # trailing\nhwcap 1 x\n",
        )
        .unwrap();
        std::fs::write(d.join("etc/ld.so.conf.d/skip.txt"), "/nope\n").unwrap();
        let root = Root::new(d).unwrap();
        assert_eq!(
            configured_dirs(&root),
            ["/usr/local/a", "/usr/local/b", "/opt/first"]
        );
    }
}
