//! Dynamic string tokens and search-path strings, as glibc 2.36 expands and splits them
//! (`is_dst`, `_dl_dst_substitute`, `fillin_rpath` in elf/dl-load.c).
//!
//! `$ORIGIN`, `$LIB` and `$PLATFORM` (also `${...}`) are recognised only when the name is
//! not followed by an identifier character: `$ORIGINAL` is not a DST and is kept as
//! written. A path element whose known DST cannot be replaced is dropped.
//! An empty element means the current directory; trailing slashes are reduced to one.

/// Values the DSTs expand to for one object.
#[derive(Clone, Copy, Debug)]
pub struct DstValues<'a> {
    /// `$ORIGIN`: the directory of the path the object was found under (for the main
    /// program: of its real path). None when unknown.
    pub origin: Option<&'a str>,
    pub platform: &'a str,
    pub lib: &'a str,
}

/// One element of a search path: as written and as the loader uses it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SearchDir {
    /// The element as written (unexpanded), e.g. `$ORIGIN/../lib`.
    pub entry: String,
    /// The expanded directory with one trailing '/', or "" for the current directory.
    pub dir: String,
}

/// Length of the DST `name` at the start of `input` (after the '$'), 0 if none.
fn is_dst(input: &[u8], name: &str) -> usize {
    let (curly, body) = match input.first() {
        Some(b'{') => (true, &input[1..]),
        _ => (false, input),
    };
    let n = name.len();
    if !body.starts_with(name.as_bytes()) {
        return 0;
    }
    let next = body.get(n).copied();
    if curly && next != Some(b'}') {
        return 0;
    }
    if !curly && next.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_') {
        return 0;
    }
    if curly { n + 2 } else { n }
}

/// True when `s` contains a DST the loader would expand.
pub fn has_dst(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        c == b'$' && {
            let rest = &b[i + 1..];
            is_dst(rest, "ORIGIN") != 0 || is_dst(rest, "PLATFORM") != 0 || is_dst(rest, "LIB") != 0
        }
    })
}

/// Expands the DSTs of `input`; None when a recognised DST has no value (the loader then
/// treats the result as empty and drops the element).
pub fn expand(input: &str, v: &DstValues) -> Option<String> {
    if !input.contains('$') {
        return Some(input.to_string());
    }
    let b = input.as_bytes();
    let mut out = Vec::with_capacity(b.len() + 32);
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let rest = &b[i + 1..];
            let (len, repl) = if let l @ 1.. = is_dst(rest, "ORIGIN") {
                (l, v.origin)
            } else if let l @ 1.. = is_dst(rest, "PLATFORM") {
                (l, Some(v.platform))
            } else if let l @ 1.. = is_dst(rest, "LIB") {
                (l, Some(v.lib))
            } else {
                (0, None)
            };
            match (len, repl) {
                (0, _) => {
                    out.push(b'$');
                    i += 1;
                }
                (_, None) => return None,
                (l, Some(r)) => {
                    out.extend_from_slice(r.as_bytes());
                    i += 1 + l;
                }
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Splits and expands a DT_RPATH/DT_RUNPATH (`seps` = ":") or LD_LIBRARY_PATH (":;")
/// string as `fillin_rpath` does: DSTs expanded, elements that expand to nothing dropped,
/// trailing slashes normalised, duplicates within the list dropped.
pub fn decompose(path: &str, seps: &[char], v: &DstValues) -> Vec<SearchDir> {
    let mut out: Vec<SearchDir> = Vec::new();
    if path.is_empty() {
        return out;
    }
    for elem in path.split(|c| seps.contains(&c)) {
        let dir = if elem.is_empty() {
            String::new()
        } else {
            let Some(mut d) = expand(elem, v) else {
                continue;
            };
            if d.is_empty() {
                continue;
            }
            while d.len() > 1 && d.ends_with('/') {
                d.pop();
            }
            if !d.ends_with('/') {
                d.push('/');
            }
            d
        };
        if out.iter().any(|s| s.dir == dir) {
            continue;
        }
        out.push(SearchDir {
            entry: elem.to_string(),
            dir,
        });
    }
    out
}

/// The `$ORIGIN` of an object opened as `path` (absolute, or relative to `cwd`):
/// its directory, keeping a lone leading '/'.
pub fn origin_of(path: &str, cwd: &str) -> String {
    // One allocation for an absolute path (every object's, in a trace): the slice's copy.
    let full: std::borrow::Cow<'_, str> = if path.starts_with('/') {
        path.into()
    } else if cwd.ends_with('/') {
        format!("{cwd}{path}").into()
    } else {
        format!("{cwd}/{path}").into()
    };
    match full.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => full[..i].to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: DstValues = DstValues {
        origin: Some("/opt/app/bin"),
        platform: "x86_64",
        lib: "lib/x86_64-linux-gnu",
    };

    #[test]
    fn expands_all_three_tokens_and_curly_forms() {
        assert_eq!(expand("$ORIGIN/../lib", &V).unwrap(), "/opt/app/bin/../lib");
        assert_eq!(expand("${ORIGIN}/x", &V).unwrap(), "/opt/app/bin/x");
        assert_eq!(
            expand("/usr/$LIB/p/$PLATFORM", &V).unwrap(),
            "/usr/lib/x86_64-linux-gnu/p/x86_64"
        );
        assert_eq!(
            expand("/a/${LIB}b", &V).unwrap(),
            "/a/lib/x86_64-linux-gnub"
        );
    }

    #[test]
    fn identifier_characters_end_no_token() {
        assert_eq!(expand("$ORIGINAL/x", &V).unwrap(), "$ORIGINAL/x");
        assert_eq!(expand("$LIBS", &V).unwrap(), "$LIBS");
        assert_eq!(expand("${ORIGIN", &V).unwrap(), "${ORIGIN");
        assert_eq!(expand("$HOME/x", &V).unwrap(), "$HOME/x");
        assert!(!has_dst("$ORIGINAL") && has_dst("a${PLATFORM}") && has_dst("$LIB/"));
    }

    #[test]
    fn unknown_origin_drops_the_element() {
        let v = DstValues { origin: None, ..V };
        assert_eq!(expand("$ORIGIN/x", &v), None);
        let d = decompose("$ORIGIN/x:/usr/lib", &[':'], &v);
        assert_eq!(
            d.iter().map(|s| s.dir.as_str()).collect::<Vec<_>>(),
            ["/usr/lib/"]
        );
    }

    #[test]
    fn decompose_normalises_like_fillin_rpath() {
        let d = decompose("/a//:/b:::/a:$ORIGIN/", &[':'], &V);
        let dirs: Vec<_> = d.iter().map(|s| s.dir.as_str()).collect();
        assert_eq!(dirs, ["/a/", "/b/", "", "/opt/app/bin/"]);
        assert_eq!(d[3].entry, "$ORIGIN/");
        assert_eq!(decompose("/", &[':'], &V)[0].dir, "/");
        assert!(decompose("", &[':'], &V).is_empty());
        let llp = decompose("/x;/y", &[':', ';'], &V);
        assert_eq!(llp.len(), 2);
    }

    #[test]
    fn origin_of_paths() {
        assert_eq!(origin_of("/usr/lib/libx.so", "/"), "/usr/lib");
        assert_eq!(origin_of("/libx.so", "/"), "/");
        assert_eq!(origin_of("sub/libx.so", "/"), "/sub");
        assert_eq!(origin_of("libx.so", "/work"), "/work");
    }
}
