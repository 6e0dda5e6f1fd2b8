//! Replays every input kept under `testdata/fuzz-regressions/<target>/` through the same
//! calls as the fuzz target of that name (fuzz/fuzz_targets/<target>.rs): each file once
//! made a target crash, hang or blow up, and must now just give an answer. The fuzzing
//! itself, and how to add a file here, is described in fuzz/README.md.
//!
//! Overflow checks are on in the default test profile, so `cargo test` (not `--release`)
//! is the run that catches an arithmetic overflow coming back.
//!
//! Every target has inputs: besides the files that once broke it, each directory holds the
//! generated seeds of the target (`seed-*`, written by `fuzz/seed.sh --regressions` from
//! `fuzz/seed/src/seeds.rs`, which this file includes as a module and checks the files
//! against), and a target with no input at all fails: a replay of nothing proves nothing.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use minroot::arch::Arch;
use minroot::elf::{self, Options};
use minroot::ldso::cache::LdCache;
use minroot::ldso::hwcaps::{CpuLevel, CpuProfile};

/// The generated seeds, shared with the fuzz seed binary.
#[path = "../fuzz/seed/src/seeds.rs"]
mod seeds;

/// Per input; generous for a debug build (the fuzzers ran with a 10 s timeout in release).
const LIMIT: Duration = Duration::from_secs(10);

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/fuzz-regressions")
        .join(target);
    let mut v: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// Replays every input of `target`; fails when it has none.
fn replay(target: &str, f: impl Fn(&[u8])) -> usize {
    let files = inputs(target);
    assert!(
        !files.is_empty(),
        "testdata/fuzz-regressions/{target}/ holds no input: run fuzz/seed.sh --regressions"
    );
    for p in &files {
        let bytes = std::fs::read(p).expect("read regression input");
        let start = Instant::now();
        f(&bytes);
        assert!(
            start.elapsed() < LIMIT,
            "{}: took {:?}",
            p.display(),
            start.elapsed()
        );
    }
    files.len()
}

/// As fuzz/fuzz_targets/elf_inspect.rs.
fn elf_inspect(data: &[u8]) {
    let with = elf::inspect(data, Options { symbols: true });
    let without = elf::inspect(data, Options { symbols: false });
    if let (Ok(a), Ok(b)) = (&with, &without) {
        assert_eq!(a.deps, b.deps);
        assert_eq!(a.interp, b.interp);
        assert!(b.imports.is_empty());
    }
    for arch in Arch::ALL {
        let _ = elf::verify_candidate(data, arch.elf_machine(), arch.libc_abi_max());
    }
}

/// As fuzz/fuzz_targets/ldcache.rs (without the Intel cpuinfo profile).
fn ldcache(data: &[u8]) {
    let (cache, _) = LdCache::parse(data.to_vec());
    for arch in Arch::ALL {
        let _ = cache.issue_for(arch);
    }
    let mut names: Vec<String> = cache.entries().take(8).map(|e| e.name).collect();
    names.extend(["libc.so.6", "libfoo.so.1", "", "a"].map(String::from));
    for (arch, level) in [
        (Arch::X86_64, CpuLevel::Baseline),
        (Arch::X86_64, CpuLevel::X86_64V2),
        (Arch::X86_64, CpuLevel::X86_64V3),
        (Arch::X86_64, CpuLevel::X86_64V4),
        (Arch::Aarch64, CpuLevel::Baseline),
        (Arch::Aarch64, CpuLevel::Atomics),
    ] {
        let p = CpuProfile::for_level(arch, level);
        for n in &names {
            let _ = cache.lookup(n, &p);
        }
    }
}

/// As fuzz/fuzz_targets/dlopen_note.rs.
fn dlopen_note(data: &[u8]) {
    if let Ok(notes) = elf::parse_dlopen_json(data) {
        // What is accepted is usable: no empty soname lists, no empty names, no paths.
        for n in notes {
            assert!(!n.soname.is_empty());
            assert!(n.soname.iter().all(|s| !s.is_empty() && !s.contains('/')));
        }
    }
}

#[test]
fn generated_seeds_are_kept_as_regression_inputs() {
    // The committed seed-* files are exactly what fuzz/seed.sh --regressions writes: no
    // seed missing, changed or left over from an older generator.
    for (target, generated) in seeds::all() {
        let want: std::collections::BTreeMap<String, Vec<u8>> = generated
            .into_iter()
            .map(|(n, b)| (format!("seed-{n}"), b))
            .collect();
        let got: std::collections::BTreeMap<String, Vec<u8>> = inputs(target)
            .into_iter()
            .filter_map(|p| {
                let n = p.file_name()?.to_str()?.to_string();
                n.starts_with("seed-")
                    .then(|| (n, std::fs::read(&p).expect("read seed")))
            })
            .collect();
        assert!(!want.is_empty(), "{target}: no generated seed");
        assert!(
            got == want,
            "testdata/fuzz-regressions/{target}/seed-*: {:?} on disk, {:?} generated, {:?} differ; \
             rewrite them with fuzz/seed.sh --regressions",
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            want.iter()
                .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
                .map(|(k, _)| k)
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn fuzz_regressions_elf_inspect() {
    let n = replay("elf_inspect", elf_inspect);
    eprintln!("replayed {n} elf_inspect inputs");
}

#[test]
fn fuzz_regressions_ldcache() {
    let n = replay("ldcache", ldcache);
    eprintln!("replayed {n} ldcache inputs");
}

#[test]
fn fuzz_regressions_dlopen_note() {
    let n = replay("dlopen_note", dlopen_note);
    eprintln!("replayed {n} dlopen_note inputs");
}

/// An x86_64 ET_DYN file built for amplification: a string table `strtab` (offset 0 is
/// its first byte), `needed` DT_NEEDED entries and `syms` undefined dynamic symbols (via
/// DT_SYMTAB and a DT_HASH giving their count), all naming the string at offset 1.
/// These inputs are megabytes, so they are made here instead of kept as files.
fn amplifying_elf(strtab: &[u8], needed: usize, syms: usize) -> Vec<u8> {
    let phoff = 64usize;
    let str_off = phoff + 2 * 56;
    let hash_off = (str_off + strtab.len()).next_multiple_of(8);
    let sym_off = hash_off + 16;
    let dyn_off = sym_off + 24 * syms;
    let mut dyns: Vec<(u64, u64)> = vec![(1, 1); needed];
    dyns.extend([
        (5, str_off as u64),       // DT_STRTAB
        (10, strtab.len() as u64), // DT_STRSZ
        (6, sym_off as u64),       // DT_SYMTAB
        (4, hash_off as u64),      // DT_HASH
        (0, 0),
    ]);
    let total = dyn_off + 16 * dyns.len();
    let mut b = Vec::with_capacity(total);
    b.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    b.extend_from_slice(&3u16.to_le_bytes()); // ET_DYN
    b.extend_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes()); // e_entry
    b.extend_from_slice(&(phoff as u64).to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    b.extend_from_slice(&0u32.to_le_bytes());
    for v in [64u16, 56, 2, 64, 0, 0] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    for (ty, off, size) in [
        (1u32, 0usize, total),         // PT_LOAD: the whole file at vaddr 0
        (2, dyn_off, 16 * dyns.len()), // PT_DYNAMIC
    ] {
        b.extend_from_slice(&ty.to_le_bytes());
        b.extend_from_slice(&4u32.to_le_bytes());
        for v in [off, off, off, size, size, 8] {
            b.extend_from_slice(&(v as u64).to_le_bytes());
        }
    }
    b.extend_from_slice(strtab);
    b.resize(hash_off, 0);
    for v in [1u32, syms as u32, 0, 0] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    for _ in 0..syms {
        b.extend_from_slice(&1u32.to_le_bytes()); // st_name
        b.extend_from_slice(&[0x12, 0, 0, 0]); // global func, SHN_UNDEF
        b.extend_from_slice(&[0; 16]);
    }
    for (t, v) in dyns {
        b.extend_from_slice(&t.to_le_bytes());
        b.extend_from_slice(&v.to_le_bytes());
    }
    assert_eq!(b.len(), total);
    b
}

/// A string table holding one 65535-byte name at offset 1.
fn long_name_table() -> Vec<u8> {
    let mut t = vec![0u8];
    t.extend(std::iter::repeat_n(b'a', 65535));
    t.push(0);
    t
}

fn bounded<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let r = f();
    assert!(
        start.elapsed() < LIMIT,
        "{what}: took {:?}",
        start.elapsed()
    );
    r
}

#[test]
fn r_many_needed_entries_naming_one_long_string_are_refused() {
    // 1.1 MB of file made 4 GiB of DT_NEEDED names (and a trace that ran for minutes).
    let b = amplifying_elf(&long_name_table(), 65_000, 0);
    let r = bounded("inspect", || elf::inspect(&b, Options { symbols: false }));
    let e = r.expect_err("refused").to_string();
    assert!(e.contains("1 MiB of dynamic strings"), "{e}");
}

#[test]
fn r_many_symbols_naming_one_long_string_are_refused() {
    // 2^20 imports of one 64 KiB name: 64 GiB of names out of a 25 MB file.
    let b = amplifying_elf(&long_name_table(), 1, 1 << 20);
    assert_eq!(
        elf::inspect(&b, Options { symbols: false })
            .expect("no symbols read")
            .deps
            .len(),
        1
    );
    let r = bounded("inspect", || elf::inspect(&b, Options { symbols: true }));
    let e = r.expect_err("refused").to_string();
    assert!(e.contains("16 MiB of symbol names"), "{e}");
}

#[test]
fn r_symbols_in_a_table_without_nul_cost_one_search() {
    // Every symbol name ran to the end of a 1 MiB table with no NUL, and the error was
    // dropped, so the next symbol searched again: (2^18 x 1 MiB) bytes.
    let b = amplifying_elf(&vec![b'a'; 1 << 20], 0, 1 << 18);
    let r = bounded("inspect", || elf::inspect(&b, Options { symbols: true }));
    assert!(r.is_err(), "{r:?}");
}
