//! Replays every input kept under `testdata/fuzz-regressions/<target>/` through the same
//! calls as the fuzz target of that name (fuzz/fuzz_targets/<target>.rs): each file once
//! made a target crash, hang or blow up, and must now just give an answer. The fuzzing
//! itself, and how to add a file here, is described in fuzz/README.md.
//!
//! Overflow checks are on in the default test profile, so `cargo test` (not `--release`)
//! is the run that catches an arithmetic overflow coming back.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use minroot::arch::Arch;
use minroot::elf::{self, Options};
use minroot::ldso::cache::LdCache;
use minroot::ldso::hwcaps::{CpuLevel, CpuProfile};

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

fn replay(target: &str, f: impl Fn(&[u8])) -> usize {
    let files = inputs(target);
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
        assert!(notes.iter().all(|n| !n.soname.is_empty()));
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
