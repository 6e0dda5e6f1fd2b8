//! CPython's bytecode caches (`.pyc`) in a layer: whether a cache is still valid for its
//! source in the root, and the header that keeps it valid once the layer has normalised
//! every mtime. The plan asks this for every `.pyc` it lays out, whatever brought it in
//! (the CPython profile, `--include`, a probe record); this module only reads headers and
//! stats sources, it writes nothing.
//!
//! Why: a timestamp-based `.pyc` (PEP 552, flags word 0) records the mtime and size of the
//! source it was compiled from, and `SourceLoader.get_code` (importlib's
//! `_bootstrap_external.py`, `_validate_timestamp_pyc`) uses the cache only when both
//! match `stat()` of the source: `recorded_mtime == int(st_mtime) & 0xFFFFFFFF` and
//! `recorded_size == st_size & 0xFFFFFFFF`. The layer sets every mtime to
//! SOURCE_DATE_EPOCH, so a `.pyc` copied as it is would be stale in the image, and CPython
//! would recompile every module it imports at every start (and, in a read-only image,
//! never get to write the result). Measured on bookworm: an import-heavy start took 81 ms
//! in the root and 330 ms from such a layer.
//!
//! So, for `D/__pycache__/NAME.TAG[.opt-N].pyc` (PEP 3147; the source is `D/NAME.py`,
//! symlinks followed, as CPython's `stat` follows them):
//! - valid for the source in the root: shipped with the recorded mtime rewritten to the
//!   layer's (32 bits): the first 16 bytes of the file are replaced, nothing else;
//! - stale (the source changed after compiling): never shipped, since CPython would ignore
//!   it anyway and it only costs bytes; the plan reports all of them in one warning;
//! - hash-based (PEP 552 flags bit 0): independent of mtimes, kept as it is;
//! - anything else (no source in the root, not in `__pycache__`, an unknown magic or
//!   header, a legacy `NAME.pyc` next to its source): kept as it is, since nothing here
//!   can say how CPython would judge it. A sourceless `.pyc` is loaded without any check.
//!
//! Worked example: `usr/lib/python3.11/__pycache__/os.cpython-311.pyc` of bookworm starts
//! `a7 0d 0d 0a | 00 00 00 00 | e7 b7 02 6a | 50 9a 00 00`: magic 3495 (3.11), flags 0,
//! mtime 0x6a02b7e7 (= os.py's st_mtime), size 39504 (= os.py's size). With
//! SOURCE_DATE_EPOCH 1700000000 the layer's copy starts `a7 0d 0d 0a 00 00 00 00 00 f1 53
//! 65 50 9a 00 00`, and `os.py` in the layer has mtime 1700000000.

use std::os::unix::fs::MetadataExt;

use crate::sysroot::{Kind, Root};

/// The first magic number with the PEP 552 header (3.7a4): magic, flags, then the
/// source's mtime and size (16 bytes). 3.3 (3230) to 3.7a3 wrote magic, mtime, size.
const PEP552_MAGIC: u16 = 3392;
/// The first magic number that records the source size (3.3).
const SIZE_MAGIC: u16 = 3230;

/// What the layer does with a `.pyc`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Ship it as it is (not a timestamp cache of a source in the root, hash-based, or its
    /// recorded mtime already is the layer's).
    Keep,
    /// Ship it with its first bytes replaced by these (the header with the layer's mtime).
    Rewrite(Vec<u8>),
    /// Its source in the root changed after it was compiled: CPython ignores it.
    Stale {
        /// The source it is a cache of (canonical path in the root).
        source: String,
    },
}

/// The source a cache file stands for, as importlib's `source_from_cache` computes it:
/// `D/__pycache__/NAME.TAG.pyc` or `D/__pycache__/NAME.TAG.opt-N.pyc` -> `D/NAME.py`.
/// None for any other path.
pub fn source_of(path: &str) -> Option<String> {
    let (dir, file) = path.rsplit_once('/')?;
    let (d, cache) = dir.rsplit_once('/')?;
    if cache != "__pycache__" {
        return None;
    }
    let stem = file.strip_suffix(".pyc")?;
    // NAME.TAG (one dot) or NAME.TAG.opt-N (two, the last part starting with "opt-").
    let parts: Vec<&str> = stem.split('.').collect();
    let ok = match parts.as_slice() {
        [name, tag] => !name.is_empty() && !tag.is_empty(),
        [name, tag, opt] => {
            !name.is_empty() && !tag.is_empty() && opt.strip_prefix("opt-").is_some()
        }
        _ => false,
    };
    ok.then(|| format!("{d}/{}.py", parts[0]))
}

/// What to do with the `.pyc` at `canonical` (a regular file of the root) in a layer
/// whose mtime is `mtime`.
pub fn judge(root: &Root, canonical: &str, mtime: u64) -> Verdict {
    let Some(source) = source_of(canonical) else {
        return Verdict::Keep;
    };
    let Ok(head) = root.head_canonical(canonical, 16) else {
        return Verdict::Keep;
    };
    let Some(at) = stamp_offset(&head) else {
        return Verdict::Keep;
    };
    // CPython stats the source through its symlinks.
    let Some(src) = root.resolve(&source).ok().flatten() else {
        return Verdict::Keep;
    };
    if src.kind != Kind::File {
        return Verdict::Keep;
    }
    let Ok(meta) = root.lstat_meta(&src.path) else {
        return Verdict::Keep;
    };
    let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let (rec_mtime, rec_size) = (word(at), word(at + 4));
    if rec_mtime != meta.mtime() as u32 || rec_size != meta.len() as u32 {
        return Verdict::Stale { source: src.path };
    }
    let new = mtime as u32;
    if rec_mtime == new {
        return Verdict::Keep;
    }
    let mut out = head[..at + 8].to_vec();
    out[at..at + 4].copy_from_slice(&new.to_le_bytes());
    Verdict::Rewrite(out)
}

/// Where the recorded source mtime is in a `.pyc` header (the size follows it), or None
/// when the header is not a timestamp-based one minroot knows.
fn stamp_offset(head: &[u8]) -> Option<usize> {
    if head.len() < 16 || head[2..4] != *b"\r\n" {
        return None;
    }
    let magic = u16::from_le_bytes([head[0], head[1]]);
    if magic >= PEP552_MAGIC {
        let flags = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        // Bit 0: hash-based (checked against the source's hash, or not at all).
        return (flags == 0).then_some(8);
    }
    (magic >= SIZE_MAGIC).then_some(4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn cache_names_map_to_sources_as_importlib_does() {
        let s = |p: &str| source_of(p);
        assert_eq!(
            s("/usr/lib/python3.11/__pycache__/os.cpython-311.pyc").as_deref(),
            Some("/usr/lib/python3.11/os.py")
        );
        assert_eq!(
            s("/a/__pycache__/m.cpython-311.opt-2.pyc").as_deref(),
            Some("/a/m.py")
        );
        assert_eq!(s("/a/__pycache__/m.cpython-311.x.pyc"), None);
        assert_eq!(s("/a/__pycache__/m.pyc"), None, "no tag");
        assert_eq!(s("/a/m.cpython-311.pyc"), None, "not in __pycache__");
        assert_eq!(s("/a/__pycache__/m.cpython-311.py"), None);
    }

    fn header(magic: u16, flags: u32, mtime: u32, size: u32) -> Vec<u8> {
        let mut h = magic.to_le_bytes().to_vec();
        h.extend_from_slice(b"\r\n");
        h.extend_from_slice(&flags.to_le_bytes());
        h.extend_from_slice(&mtime.to_le_bytes());
        h.extend_from_slice(&size.to_le_bytes());
        h.extend_from_slice(b"code");
        h
    }

    /// A root with `m.py` (mtime 1000, 5 bytes) and a cache header.
    fn root_with(cache: &[u8]) -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir_all(t.path().join("__pycache__")).unwrap();
        let py = t.path().join("m.py");
        fs::write(&py, b"x = 1").unwrap();
        let when = filetime::FileTime::from_unix_time(1000, 0);
        filetime::set_file_mtime(&py, when).unwrap();
        fs::write(t.path().join("__pycache__/m.cpython-311.pyc"), cache).unwrap();
        let r = Root::new(t.path()).unwrap();
        (t, r)
    }

    const PYC: &str = "/__pycache__/m.cpython-311.pyc";

    #[test]
    fn valid_cache_gets_the_layer_mtime() {
        let (_t, r) = root_with(&header(3495, 0, 1000, 5));
        let Verdict::Rewrite(h) = judge(&r, PYC, 1_700_000_000) else {
            panic!("valid cache is rewritten")
        };
        assert_eq!(h, header(3495, 0, 1_700_000_000, 5)[..16]);
        // Already the layer's mtime: nothing to replace.
        assert_eq!(judge(&r, PYC, 1000), Verdict::Keep);
    }

    #[test]
    fn stale_cache_is_stale_and_hash_based_kept() {
        let (_t, r) = root_with(&header(3495, 0, 999, 5));
        assert_eq!(
            judge(&r, PYC, 0),
            Verdict::Stale {
                source: "/m.py".into()
            }
        );
        let (_t, r) = root_with(&header(3495, 0, 1000, 6));
        assert!(matches!(judge(&r, PYC, 0), Verdict::Stale { .. }), "size");
        for flags in [1, 3] {
            let (_t, r) = root_with(&header(3495, flags, 0, 0));
            assert_eq!(judge(&r, PYC, 0), Verdict::Keep, "hash-based {flags}");
        }
    }

    #[test]
    fn old_headers_and_unknown_files() {
        // 3.6 (3379): magic, mtime, size.
        let mut h = 3379u16.to_le_bytes().to_vec();
        h.extend_from_slice(b"\r\n");
        h.extend_from_slice(&1000u32.to_le_bytes());
        h.extend_from_slice(&5u32.to_le_bytes());
        h.extend_from_slice(b"codecode");
        let (_t, r) = root_with(&h);
        let Verdict::Rewrite(new) = judge(&r, PYC, 7) else {
            panic!("3.6 cache is rewritten")
        };
        assert_eq!(new[4..8], 7u32.to_le_bytes());
        assert_eq!(new.len(), 12);
        let (_t, r) = root_with(b"not a pyc at all, really");
        assert_eq!(judge(&r, PYC, 7), Verdict::Keep);
        // No source in the root.
        let (t, r) = root_with(&header(3495, 0, 1, 1));
        fs::remove_file(t.path().join("m.py")).unwrap();
        assert_eq!(judge(&r, PYC, 7), Verdict::Keep);
    }
}
