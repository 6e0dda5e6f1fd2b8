//! Stage benchmarks (divan): ELF inspection, ld.so.cache lookups, a whole trace, the tar
//! writer and the gzip/zstd encoders. Whole-command comparisons with libtree, lddtree and
//! GNU tar live in scripts/bench.sh; results are recorded in benches/README.md.
//!
//! Inputs come from the host (libc, /etc/ld.so.cache, /usr/bin/curl) and from the
//! synthetic ELF writer, so nothing opaque is checked in. Run: `cargo bench --bench stages`.

use std::path::Path;
use std::sync::Arc;

use minroot::arch::{Arch, EM_X86_64};
use minroot::closure::{ObjectCache, Tracer};
use minroot::elf::{self, Options, synth::Synth};
use minroot::ldso::Loader;
use minroot::ldso::cache::LdCache;
use minroot::ldso::hwcaps::{CpuLevel, CpuProfile};
use minroot::sysroot::Root;

fn main() {
    divan::main();
}

fn host_libc() -> Option<Vec<u8>> {
    std::fs::read("/lib/x86_64-linux-gnu/libc.so.6").ok()
}

#[divan::bench]
fn inspect_synthetic_library(b: divan::Bencher) {
    let bytes = Synth::lib(EM_X86_64, "libx.so.1")
        .needs("liba.so.1")
        .needs("libb.so.2")
        .runpath("$ORIGIN/../lib")
        .build();
    b.bench(|| elf::inspect(divan::black_box(&bytes), Options::default()).unwrap());
}

#[divan::bench]
fn inspect_libc_loader_view(b: divan::Bencher) {
    let Some(bytes) = host_libc() else { return };
    b.bench(|| elf::inspect(divan::black_box(&bytes), Options::default()).unwrap());
}

#[divan::bench]
fn inspect_libc_with_symbols(b: divan::Bencher) {
    let Some(bytes) = host_libc() else { return };
    b.bench(|| elf::inspect(divan::black_box(&bytes), Options { symbols: true }).unwrap());
}

#[divan::bench]
fn inspect_libc_from_file(b: divan::Bencher) {
    let p = Path::new("/lib/x86_64-linux-gnu/libc.so.6");
    if !p.exists() {
        return;
    }
    b.bench(|| {
        minroot::objects::inspect_path(divan::black_box(p), Options::default())
            .unwrap()
            .unwrap()
    });
}

#[divan::bench]
fn ld_so_cache_parse(b: divan::Bencher) {
    let Ok(data) = std::fs::read("/etc/ld.so.cache") else {
        return;
    };
    b.bench(|| LdCache::parse(divan::black_box(data.clone())));
}

#[divan::bench]
fn ld_so_cache_lookup(b: divan::Bencher) {
    let Ok(data) = std::fs::read("/etc/ld.so.cache") else {
        return;
    };
    let (cache, _) = LdCache::parse(data);
    let cpu = CpuProfile::for_level(Arch::X86_64, CpuLevel::X86_64V3);
    b.bench(|| cache.lookup(divan::black_box("libz.so.1"), &cpu));
}

/// A whole trace of a host program, from a cold process-level cache each time.
#[divan::bench(sample_count = 30)]
fn trace_curl_cold(b: divan::Bencher) {
    if !Path::new("/usr/bin/curl").exists() {
        return;
    }
    b.bench(|| {
        let root = Arc::new(Root::new(Path::new("/")).unwrap());
        let cache = Arc::new(ObjectCache::new(Options::default()));
        let loader = Loader::with_objects(
            root,
            Arch::X86_64,
            CpuProfile::for_level(Arch::X86_64, CpuLevel::X86_64V3),
            None,
            cache.clone(),
        );
        Tracer::new(&loader, &cache).trace("/usr/bin/curl").unwrap()
    });
}

fn sample_data(n: usize) -> Vec<u8> {
    // Executable-like data: the host's libc repeated, else a synthetic pattern.
    let base = host_libc().unwrap_or_else(|| {
        (0..1 << 20)
            .map(|i: u32| (i.wrapping_mul(2654435761) >> 24) as u8)
            .collect()
    });
    base.iter().copied().cycle().take(n).collect()
}

#[divan::bench(sample_count = 10)]
fn gzip_8mib(b: divan::Bencher) {
    use std::io::Write;
    let data = sample_data(8 << 20);
    b.counter(divan::counter::BytesCount::new(data.len()))
        .bench(|| {
            let mut w = minroot::pack::gz::ParGzWriter::new(Vec::new(), minroot::pack::GZIP_LEVEL);
            w.write_all(&data).unwrap();
            w.finish().unwrap()
        });
}

#[divan::bench(sample_count = 10)]
fn zstd_8mib(b: divan::Bencher) {
    let data = sample_data(8 << 20);
    b.counter(divan::counter::BytesCount::new(data.len()))
        .bench(|| zstd::encode_all(&data[..], minroot::pack::ZSTD_LEVEL).unwrap());
}

#[divan::bench(sample_count = 10)]
fn sha256_8mib(b: divan::Bencher) {
    use std::io::Write;
    let data = sample_data(8 << 20);
    b.counter(divan::counter::BytesCount::new(data.len()))
        .bench(|| {
            let mut w = minroot::pack::digest::DigestWriter::new(std::io::sink());
            w.write_all(&data).unwrap();
            w.finish().1
        });
}

/// Speed and size per gzip level (the size is printed once per level).
#[divan::bench(args = [1, 3, 4, 5, 6], sample_count = 5)]
fn gzip_level_8mib(b: divan::Bencher, level: u32) {
    use std::io::Write;
    let data = sample_data(8 << 20);
    let mut w = minroot::pack::gz::ParGzWriter::new(Vec::new(), level);
    w.write_all(&data).unwrap();
    eprintln!(
        "gzip level {level}: {} -> {} bytes",
        data.len(),
        w.finish().unwrap().len()
    );
    b.counter(divan::counter::BytesCount::new(data.len()))
        .bench(|| {
            let mut w = minroot::pack::gz::ParGzWriter::new(Vec::new(), level);
            w.write_all(&data).unwrap();
            w.finish().unwrap()
        });
}
