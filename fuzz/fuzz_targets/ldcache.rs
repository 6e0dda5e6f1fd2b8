//! Fuzz target: `/etc/ld.so.cache` parsing and lookups (`LdCache::parse`, `issue_for`,
//! `entries`, `lookup`) for both architectures and several CPU profiles. A corrupt cache
//! must give no answer, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use minroot::arch::Arch;
use minroot::ldso::cache::LdCache;
use minroot::ldso::hwcaps::{CpuLevel, CpuProfile};

const NAMES: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libz.so.1",
    "libfoo.so.1",
    "",
    "a",
];
const INTEL_CPUINFO: &str = "vendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n\
flags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt cx16 lahf_lm avx avx2 bmi1 bmi2 fma movbe \
xsave f16c lzcnt avx512f avx512bw avx512cd avx512dq avx512vl\n";

fuzz_target!(|data: &[u8]| {
    let (cache, _issue) = LdCache::parse(data.to_vec());
    let profiles = [
        CpuProfile::for_level(Arch::X86_64, CpuLevel::Baseline),
        CpuProfile::for_level(Arch::X86_64, CpuLevel::X86_64V2),
        CpuProfile::for_level(Arch::X86_64, CpuLevel::X86_64V3),
        CpuProfile::for_level(Arch::X86_64, CpuLevel::X86_64V4),
        CpuProfile::from_cpuinfo(Arch::X86_64, INTEL_CPUINFO),
        CpuProfile::for_level(Arch::Aarch64, CpuLevel::Baseline),
        CpuProfile::for_level(Arch::Aarch64, CpuLevel::Atomics),
    ];
    for arch in Arch::ALL {
        let _ = cache.issue_for(arch);
    }
    // Names that are in the cache exercise the equal-name scan; a few fixed ones the misses.
    let mut names: Vec<String> = cache.entries().take(8).map(|e| e.name).collect();
    names.extend(NAMES.iter().map(|s| s.to_string()));
    for p in &profiles {
        for n in &names {
            let _ = cache.lookup(n, p);
        }
    }
});
