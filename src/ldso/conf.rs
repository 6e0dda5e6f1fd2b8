//! Reader for the root's `/etc/ld.so.conf` (with `include` globs), as ldconfig reads it.
//!
//! The loader never reads this file: only ldconfig does, to build ld.so.cache. minroot uses
//! it for one diagnosis: a library that is missing for the loader but present in a
//! configured directory means the cache is stale (ldconfig was not run).
//!
//! The files are read carried (`Root::read_carried`): a directory named `/opt/caf\xe9`
//! (Latin-1) is the path of that directory in the root, not a name with U+FFFD.

use crate::sysroot::Root;

/// The directories named by ld.so.conf, in order, each without a trailing '/'.
pub fn configured_dirs(root: &Root) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen_files = Vec::new();
    read_conf(root, "/etc/ld.so.conf", &mut out, &mut seen_files, 0);
    out
}

/// Most configuration files read. Real configurations are a few files naming a few
/// dozen directories; a hostile root must not make a diagnostic cost minutes.
const MAX_FILES: usize = 256;
/// Most directories collected (deduplication is a scan: keep it short).
const MAX_DIRS: usize = 1024;

fn read_conf(root: &Root, path: &str, out: &mut Vec<String>, seen: &mut Vec<String>, depth: usize) {
    if depth > 16 || seen.len() >= MAX_FILES || seen.iter().any(|s| s == path) {
        return;
    }
    seen.push(path.to_string());
    let Ok(text) = root.read_carried(path, 1 << 20) else {
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
                if out.len() >= MAX_DIRS {
                    return;
                }
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
    // Iterative, backtracking only to the last '*': O(pattern x name). Trying every split
    // at every '*' recursively was exponential: "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"
    // against a 60-byte name of 'a's ran for hours.
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                // The last '*' takes one more byte.
                Some((sp, ss)) => {
                    star = Some((sp, ss + 1));
                    pi = sp + 1;
                    si = ss + 1;
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_matches() {
        assert!(wildcard(b"*.conf", b"x86_64-linux-gnu.conf"));
        assert!(!wildcard(b"*.conf", b"x.conf.bak"));
        assert!(wildcard(b"a?c", b"abc"));
        assert!(wildcard(b"*", b""));
        assert!(wildcard(b"**", b"x"));
        assert!(wildcard(b"a*b*c", b"aXbYbZc"));
        assert!(!wildcard(b"a*b*c", b"aXbYbZ"));
        assert!(!wildcard(b"", b"x"));
        assert!(!wildcard(b"?", b""));
    }

    #[test]
    fn r_wildcard_is_not_exponential() {
        let start = std::time::Instant::now();
        let p = b"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        assert!(!wildcard(p, &[b'a'; 200]));
        assert!(wildcard(p, &[&[b'a'; 200][..], b"b"].concat()));
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn r_huge_configuration_is_capped() {
        // 100000 distinct directories: deduplicating them was (n^2 / 2) comparisons.
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("etc")).unwrap();
        let text: String = (0..100_000).map(|i| format!("/d{i}\n")).collect();
        std::fs::write(t.path().join("etc/ld.so.conf"), text).unwrap();
        let root = Root::new(t.path()).unwrap();
        let start = std::time::Instant::now();
        let dirs = configured_dirs(&root);
        assert_eq!(dirs.len(), MAX_DIRS);
        assert_eq!(dirs[0], "/d0");
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
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
