//! The generated seed inputs of every fuzz target, by code only (no host file): shared by
//! the seed binary (`main.rs`, which writes them as corpora and adds a few host files) and
//! by `tests/fuzz_regressions.rs` (`#[path]`), which checks that the `seed-*` files kept
//! under `testdata/fuzz-regressions/<target>/` are exactly these bytes and replays them.
//! Rebuild those files with `fuzz/seed.sh --regressions`.
//!
//! Only minroot's public API is used, so both users compile this file as a module of
//! their own crate.

use minroot::arch::{Arch, EM_AARCH64, EM_X86_64};
use minroot::elf::synth::Synth;
use minroot::ldso::cache::{write_new_format, write_old_format};

/// Named inputs of one target: (file name, bytes).
pub type Seeds = Vec<(String, Vec<u8>)>;

/// The fuzz targets, each with its generated seeds, in a fixed order.
pub fn all() -> Vec<(&'static str, Seeds)> {
    vec![
        ("elf_inspect", elf_seeds()),
        ("ldcache", cache_seeds()),
        ("dlopen_note", note_seeds()),
    ]
}

/// Synthetic ELF files: libraries and executables of both arches, RPATH/RUNPATH, filters,
/// imports, `.note.dlopen`, no section headers, ET_EXEC, 32-bit, big-endian.
pub fn elf_seeds() -> Seeds {
    const X86: &str = "/lib64/ld-linux-x86-64.so.2";
    const NOTE: &str = r#"[{"soname":["libzstd.so.1"],"feature":"zstd","priority":"suggested"}]"#;
    let seeds: Vec<(&str, Synth)> = vec![
        ("lib", Synth::lib(EM_X86_64, "libfoo.so.1")),
        (
            "lib-aarch64",
            Synth::lib(EM_AARCH64, "libbar.so.2").needs("libc.so.6"),
        ),
        (
            "exe",
            Synth::exe(EM_X86_64, X86)
                .needs("libfoo.so.1")
                .needs("libc.so.6")
                .rpath("$ORIGIN/../lib:/opt/lib")
                .imports(&["iconv_open", "pthread_cancel", "getpwnam"]),
        ),
        (
            "exe-runpath",
            Synth::exe(EM_X86_64, X86)
                .needs("libm.so.6")
                .runpath("$LIB:$PLATFORM")
                .filter("libfilt.so")
                .auxiliary("libaux.so")
                .flags_1(minroot::elf::DF_1_NODEFLIB),
        ),
        (
            "exe-dlopen",
            Synth::exe(EM_AARCH64, "/lib/ld-linux-aarch64.so.1")
                .needs("libc.so.6")
                .dlopen_note(NOTE)
                .dlopen_note("not json"),
        ),
        ("lib-nosections", {
            let mut s = Synth::lib(EM_X86_64, "libns.so").imports(&["malloc", "free"]);
            s.section_headers = false;
            s
        }),
        ("exe-static-like", {
            let mut s = Synth::lib(EM_X86_64, "").no_soname();
            s.e_type = minroot::elf::ET_EXEC;
            s
        }),
        ("elf32", {
            let mut s = Synth::lib(3, "lib32.so");
            s.class64 = false;
            s
        }),
        ("big-endian", {
            let mut s = Synth::lib(EM_AARCH64, "libbe.so").needs("libc.so.6");
            s.big_endian = true;
            s
        }),
    ];
    seeds
        .into_iter()
        .map(|(name, s)| (format!("synth-{name}"), s.build()))
        .collect()
}

/// ld.so.caches: new format (plain, glibc-hwcaps, mixed arches with unsigned `char`
/// order), old, compat, empty; and small forms of the two crafted caches that once made
/// the parser loop or search quadratically (src/ldso/cache.rs, tests `r_*`).
pub fn cache_seeds() -> Seeds {
    let x = Arch::X86_64.cache_flags();
    let a = Arch::Aarch64.cache_flags();
    let mut v = vec![
        (
            "new-x86",
            write_new_format(
                &[
                    ("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", x, None),
                    ("libm.so.6", "/lib/x86_64-linux-gnu/libm.so.6", x, None),
                    ("libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1", x, None),
                ],
                true,
            ),
        ),
        (
            "new-hwcaps",
            write_new_format(
                &[
                    (
                        "libfoo.so.1",
                        "/usr/lib/glibc-hwcaps/x86-64-v3/libfoo.so.1",
                        x,
                        Some("x86-64-v3"),
                    ),
                    (
                        "libfoo.so.1",
                        "/usr/lib/glibc-hwcaps/x86-64-v2/libfoo.so.1",
                        x,
                        Some("x86-64-v2"),
                    ),
                    ("libfoo.so.1", "/usr/lib/libfoo.so.1", x, None),
                    ("libc.so.6", "/lib/libc.so.6", x, None),
                ],
                true,
            ),
        ),
        (
            "new-mixed-arch",
            write_new_format(
                &[
                    ("libm.so.6", "/lib/aarch64-linux-gnu/libm.so.6", a, None),
                    ("libm.so.6", "/lib/x86_64-linux-gnu/libm.so.6", x, None),
                    (
                        "lib\u{e9}.so.10",
                        "/lib/aarch64-linux-gnu/lib\u{e9}.so.10",
                        a,
                        None,
                    ),
                ],
                false,
            ),
        ),
    ];
    let old = [
        ("libz.so.1", "/usr/lib/libz.so.1", x),
        ("libc.so.6", "/lib/libc.so.6", x),
    ];
    v.push(("old", write_old_format(&old, true, false)));
    v.push(("compat", write_old_format(&old, true, true)));
    v.push(("empty-new", write_new_format(&[], true)));
    v.push(("compat-huge-new-count", compat_with_huge_new_count()));
    v.push(("strings-without-nul", strings_without_nul(64, 4096)));
    v.into_iter().map(|(n, b)| (n.to_string(), b)).collect()
}

/// An old header with no entries, then a new header claiming 2^32 - 1 entries, and room
/// for two: `issue_for` once looped 2^32 times over it.
fn compat_with_huge_new_count() -> Vec<u8> {
    let mut d = b"ld.so-1.7.0".to_vec();
    d.push(0);
    d.extend_from_slice(&0u32.to_le_bytes());
    d.extend_from_slice(b"glibc-ld.so.cache1.1");
    d.extend_from_slice(&u32::MAX.to_le_bytes());
    d.resize(16 + 48 + 2 * 24, 0);
    d
}

/// A new-format cache of `n` x86_64 entries whose names and paths all start in one run of
/// `run` bytes without a NUL: each string was once searched to the end of the file.
fn strings_without_nul(n: usize, run: usize) -> Vec<u8> {
    let strings = 48 + 24 * n;
    let mut d = b"glibc-ld.so.cache1.1".to_vec();
    d.extend_from_slice(&(n as u32).to_le_bytes());
    d.extend_from_slice(&(run as u32).to_le_bytes());
    d.push(2);
    d.resize(48, 0);
    for i in 0..n {
        let off = (strings + i) as u32;
        d.extend_from_slice(&Arch::X86_64.cache_flags().to_le_bytes());
        d.extend_from_slice(&off.to_le_bytes());
        d.extend_from_slice(&off.to_le_bytes());
        d.extend_from_slice(&[0; 12]);
    }
    d.resize(strings + run, b'a');
    d
}

/// `.note.dlopen` payloads: good ones, ones the parser must refuse, and shapes that
/// stress a JSON parser (deep nesting, invalid UTF-8, a huge number, duplicate keys).
pub fn note_seeds() -> Seeds {
    let mut notes: Vec<Vec<u8>> = [
        r#"[{"soname":["libzstd.so.1"],"feature":"zstd","description":"Support zstd compression","priority":"suggested"},{"soname":["libcrypt.so.2","libcrypt.so.1"]}]"#,
        r#"[{"soname":["libfido2.so.1"],"priority":"required"}]"#,
        r#"[{"soname":[]}]"#,
        r#"[{"soname":["/abs/lib.so"]}]"#,
        r#"[]"#,
        r#"{"soname":["x"]}"#,
        r#"[{"soname":["a.so"],"soname":["b.so"],"priority":"recommended"}]"#,
        r#"[{"soname":[""]},{"soname":["ok.so"],"priority":1e999}]"#,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    notes.push([b"[".repeat(4096), b"]".repeat(4096)].concat());
    notes.push(b"[{\"soname\":[\"lib\xff\xfe.so\"]}]".to_vec());
    notes.push(b"[{\"soname\":[\"libz.so.1\"]}]\0\0\0\0".to_vec());
    notes
        .into_iter()
        .enumerate()
        .map(|(i, b)| (format!("note-{i}"), b))
        .collect()
}
