//! CPU-dependent search facts of glibc 2.36: which `glibc-hwcaps/` subdirectories are
//! searched and in which order, the legacy hwcap/platform/`tls` subdirectories, the
//! `$PLATFORM` string and the hwcap bits ld.so.cache entries are filtered by.
//!
//! glibc derives these from CPUID (x86_64) or AT_HWCAP (aarch64) at start-up. minroot
//! cannot ask the CPU the program will run on, so it takes a [`CpuProfile`]: the host's
//! (from /proc/cpuinfo text, read once by the CLI) or one named by `--cpu-level`.
//!
//! Worked example, an AMD x86-64-v4 host (`ld.so --list-diagnostics`: dl_hwcap=0x2,
//! dl_platform="x86_64"): every search directory D is tried as
//! D/glibc-hwcaps/x86-64-v4/, -v3/, -v2/, then the legacy power set of
//! [x86_64 (hwcap), x86_64 (platform), tls] in glibc's order: D/tls/x86_64/x86_64/,
//! D/tls/x86_64/, D/tls/x86_64/, D/tls/, D/x86_64/x86_64/, D/x86_64/, D/x86_64/, and D/.

use crate::arch::Arch;

/// A CPU level as accepted by `--cpu-level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CpuLevel {
    /// x86-64 baseline / ARMv8.0.
    Baseline,
    X86_64V2,
    X86_64V3,
    X86_64V4,
    /// aarch64 with LSE atomics (ARMv8.1+): glibc 2.36 adds the legacy `atomics/` subdir.
    Atomics,
}

impl CpuLevel {
    pub fn parse(s: &str) -> Option<CpuLevel> {
        Some(match s {
            "baseline" | "x86-64" | "v1" | "armv8" | "armv8.0" => CpuLevel::Baseline,
            "x86-64-v2" | "v2" => CpuLevel::X86_64V2,
            "x86-64-v3" | "v3" => CpuLevel::X86_64V3,
            "x86-64-v4" | "v4" => CpuLevel::X86_64V4,
            "atomics" | "armv8.1" => CpuLevel::Atomics,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            CpuLevel::Baseline => "baseline",
            CpuLevel::X86_64V2 => "x86-64-v2",
            CpuLevel::X86_64V3 => "x86-64-v3",
            CpuLevel::X86_64V4 => "x86-64-v4",
            CpuLevel::Atomics => "atomics",
        }
    }
    /// The levels of `arch`, lowest first, as `--cpu-level` spells them.
    pub fn names_for(arch: Arch) -> String {
        [
            CpuLevel::Baseline,
            CpuLevel::X86_64V2,
            CpuLevel::X86_64V3,
            CpuLevel::X86_64V4,
            CpuLevel::Atomics,
        ]
        .into_iter()
        .filter(|l| l.valid_for(arch))
        .map(CpuLevel::name)
        .collect::<Vec<_>>()
        .join(", ")
    }
    /// Whether the level exists on `arch`.
    pub fn valid_for(self, arch: Arch) -> bool {
        match arch {
            Arch::X86_64 => !matches!(self, CpuLevel::Atomics),
            Arch::Aarch64 => matches!(self, CpuLevel::Baseline | CpuLevel::Atomics),
        }
    }
}

/// The x86 legacy hwcap bits (sysdeps/x86/dl-hwcap.h) and their names.
const HWCAP_X86_64: u64 = 1 << 1;
const HWCAP_X86_AVX512_1: u64 = 1 << 2;
const X86_HWCAP_NAMES: [&str; 3] = ["sse2", "x86_64", "avx512_1"];
const X86_HWCAP_IMPORTANT: u64 = HWCAP_X86_64 | HWCAP_X86_AVX512_1;
/// aarch64: HWCAP_ATOMICS is the only "important" bit in 2.36.
const AARCH64_HWCAP_ATOMICS: u64 = 1 << 8;

/// Everything CPU-dependent the loader's search uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuProfile {
    pub arch: Arch,
    /// Human name of the profile (for reports).
    pub level: CpuLevel,
    /// Active glibc-hwcaps subdirectory names, best first.
    pub hwcaps: Vec<&'static str>,
    /// `GLRO(dl_hwcap) & hwcap_mask`: the legacy hwcap bits that count.
    pub hwcap_masked: u64,
    /// `GLRO(dl_platform)`: `$PLATFORM` and a legacy subdirectory.
    pub platform: String,
    /// x86 `cpu_features->isa_1` (bit 0 baseline, 1 v2, 2 v3, 3 v4); 1 on aarch64.
    pub isa_1: u32,
}

impl CpuProfile {
    /// The profile of a CPU at `level`, from a non-Intel vendor (no `haswell`/`avx512_1`
    /// legacy names), which is what `--cpu-level` means.
    pub fn for_level(arch: Arch, level: CpuLevel) -> CpuProfile {
        match arch {
            Arch::X86_64 => {
                let (hwcaps, isa_1): (Vec<&'static str>, u32) = match level {
                    CpuLevel::X86_64V4 => (vec!["x86-64-v4", "x86-64-v3", "x86-64-v2"], 0xf),
                    CpuLevel::X86_64V3 => (vec!["x86-64-v3", "x86-64-v2"], 0x7),
                    CpuLevel::X86_64V2 => (vec!["x86-64-v2"], 0x3),
                    _ => (vec![], 0x1),
                };
                CpuProfile {
                    arch,
                    level,
                    hwcaps,
                    hwcap_masked: HWCAP_X86_64,
                    platform: "x86_64".into(),
                    isa_1,
                }
            }
            Arch::Aarch64 => CpuProfile {
                arch,
                level,
                hwcaps: vec![],
                hwcap_masked: if level == CpuLevel::Atomics {
                    AARCH64_HWCAP_ATOMICS
                } else {
                    0
                },
                platform: "aarch64".into(),
                isa_1: 1,
            },
        }
    }

    /// The profile of the CPU described by Linux's /proc/cpuinfo `text`, as glibc 2.36
    /// would compute it (including Intel's `haswell`/`xeon_phi` platform and `avx512_1`).
    pub fn from_cpuinfo(arch: Arch, text: &str) -> CpuProfile {
        let field = |name: &str| -> Option<&str> {
            text.lines()
                .find(|l| l.split(':').next().map(str::trim) == Some(name))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim())
        };
        match arch {
            Arch::X86_64 => {
                let flags: Vec<&str> = field("flags")
                    .map(|f| f.split_whitespace().collect())
                    .unwrap_or_default();
                let has = |f: &str| flags.contains(&f);
                let all = |fs: &[&str]| fs.iter().all(|f| has(f));
                let v2 = all(&[
                    "cx16", "lahf_lm", "popcnt", "pni", "ssse3", "sse4_1", "sse4_2",
                ]);
                let v3 = v2 && all(&["avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe"]);
                let v4 = v3 && all(&["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"]);
                let level = if v4 {
                    CpuLevel::X86_64V4
                } else if v3 {
                    CpuLevel::X86_64V3
                } else if v2 {
                    CpuLevel::X86_64V2
                } else {
                    CpuLevel::Baseline
                };
                let mut p = CpuProfile::for_level(arch, level);
                // sysdeps/x86/cpu-features.c: Intel only.
                if field("vendor_id") == Some("GenuineIntel") {
                    let mut platform = None;
                    if has("avx512cd") {
                        if has("avx512er") {
                            if has("avx512pf") {
                                platform = Some("xeon_phi");
                            }
                        } else if all(&["avx512bw", "avx512dq", "avx512vl"]) {
                            p.hwcap_masked |= HWCAP_X86_AVX512_1;
                        }
                    }
                    if platform.is_none()
                        && all(&["avx2", "fma", "bmi1", "bmi2", "abm", "movbe", "popcnt"])
                    {
                        platform = Some("haswell");
                    }
                    if let Some(pl) = platform {
                        p.platform = pl.into();
                    }
                }
                p
            }
            Arch::Aarch64 => {
                let atomics = field("Features")
                    .map(|f| f.split_whitespace().any(|x| x == "atomics"))
                    .unwrap_or(false);
                CpuProfile::for_level(
                    arch,
                    if atomics {
                        CpuLevel::Atomics
                    } else {
                        CpuLevel::Baseline
                    },
                )
            }
        }
    }

    /// The names of the legacy hwcap bits that are set, in bit order.
    fn legacy_hwcap_names(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        match self.arch {
            Arch::X86_64 => {
                for (bit, name) in X86_HWCAP_NAMES.iter().enumerate() {
                    if self.hwcap_masked & X86_HWCAP_IMPORTANT & (1 << bit) != 0 {
                        out.push(*name);
                    }
                }
            }
            Arch::Aarch64 => {
                if self.hwcap_masked & AARCH64_HWCAP_ATOMICS != 0 {
                    out.push("atomics");
                }
            }
        }
        out
    }

    /// Every subdirectory tried inside each search directory, in order, each ending in '/'
    /// except the last, which is "" (the directory itself). glibc's `_dl_important_hwcaps`.
    pub fn subdirs(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .hwcaps
            .iter()
            .map(|h| format!("glibc-hwcaps/{h}/"))
            .collect();
        // The legacy power set of [hwcap names..., platform, "tls"]: entry k holds the
        // elements whose bit is set in (2^n - 1 - k), highest index first.
        let mut temp: Vec<&str> = self.legacy_hwcap_names();
        temp.push(&self.platform);
        temp.push("tls");
        let n = temp.len();
        for k in 0..(1usize << n) {
            let mask = (1usize << n) - 1 - k;
            let mut s = String::new();
            for i in (0..n).rev() {
                if mask & (1 << i) != 0 {
                    s.push_str(temp[i]);
                    s.push('/');
                }
            }
            out.push(s);
        }
        out
    }

    /// The hwcap bits ld.so.cache entries must not have (`hwcap_exclude` of search_cache).
    pub fn cache_hwcap_exclude(&self) -> u64 {
        let (platform_bits, tls) = (self.cache_platform_mask(), 1u64 << 63);
        !(self.hwcap_masked | platform_bits | tls)
    }

    /// `_DL_HWCAP_PLATFORM`: x86 keeps 4 platform bits from bit 48; aarch64 none.
    pub fn cache_platform_mask(&self) -> u64 {
        match self.arch {
            Arch::X86_64 => 0xf << 48,
            Arch::Aarch64 => 0,
        }
    }

    /// The platform bit an entry must carry when it carries one (x86_64: haswell = bit
    /// 50, xeon_phi = bit 51; anything else matches no entry with platform bits).
    pub fn cache_platform_bit(&self) -> Option<u64> {
        match (self.arch, self.platform.as_str()) {
            (Arch::X86_64, "haswell") => Some(1 << 50),
            (Arch::X86_64, "xeon_phi") => Some(1 << 51),
            _ => None,
        }
    }

    /// Priority of a glibc-hwcaps subdirectory name (1 = best), 0 when not active.
    pub fn hwcaps_priority(&self, name: &str) -> u32 {
        self.hwcaps
            .iter()
            .position(|h| *h == name)
            .map(|i| i as u32 + 1)
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The order printed by this machine's glibc 2.36 (`LD_DEBUG=libs`, AMD, x86-64-v4).
    #[test]
    fn x86_64_v4_amd_subdirs_match_glibc_order() {
        let p = CpuProfile::for_level(Arch::X86_64, CpuLevel::X86_64V4);
        assert_eq!(
            p.subdirs(),
            [
                "glibc-hwcaps/x86-64-v4/",
                "glibc-hwcaps/x86-64-v3/",
                "glibc-hwcaps/x86-64-v2/",
                "tls/x86_64/x86_64/",
                "tls/x86_64/",
                "tls/x86_64/",
                "tls/",
                "x86_64/x86_64/",
                "x86_64/",
                "x86_64/",
                ""
            ]
        );
    }

    /// `ld.so --help` of Debian's arm64 glibc under qemu: aarch64 (AT_PLATFORM), tls, atomics.
    #[test]
    fn aarch64_atomics_subdirs() {
        let p = CpuProfile::for_level(Arch::Aarch64, CpuLevel::Atomics);
        assert_eq!(
            p.subdirs(),
            [
                "tls/aarch64/atomics/",
                "tls/aarch64/",
                "tls/atomics/",
                "tls/",
                "aarch64/atomics/",
                "aarch64/",
                "atomics/",
                ""
            ]
        );
        let b = CpuProfile::for_level(Arch::Aarch64, CpuLevel::Baseline);
        assert_eq!(b.subdirs(), ["tls/aarch64/", "tls/", "aarch64/", ""]);
    }

    #[test]
    fn intel_haswell_gets_platform_and_avx512_1() {
        let info = "vendor_id\t: GenuineIntel\nflags\t\t: fpu cx16 lahf_lm popcnt pni ssse3 sse4_1 sse4_2 avx avx2 bmi1 bmi2 f16c fma abm movbe avx512f avx512bw avx512cd avx512dq avx512vl\n";
        let p = CpuProfile::from_cpuinfo(Arch::X86_64, info);
        assert_eq!(p.level, CpuLevel::X86_64V4);
        assert_eq!(p.platform, "haswell");
        assert_eq!(p.legacy_hwcap_names(), ["x86_64", "avx512_1"]);
        assert_eq!(p.subdirs()[3], "tls/haswell/avx512_1/x86_64/");
        assert_eq!(p.cache_platform_bit(), Some(1 << 50));
    }

    #[test]
    fn amd_cpuinfo_levels() {
        let v2 =
            "vendor_id\t: AuthenticAMD\nflags\t\t: cx16 lahf_lm popcnt pni ssse3 sse4_1 sse4_2\n";
        let p = CpuProfile::from_cpuinfo(Arch::X86_64, v2);
        assert_eq!(
            (p.level, p.platform.as_str()),
            (CpuLevel::X86_64V2, "x86_64")
        );
        assert_eq!(p.hwcaps, ["x86-64-v2"]);
        let none = CpuProfile::from_cpuinfo(Arch::X86_64, "");
        assert_eq!(none.level, CpuLevel::Baseline);
        assert_eq!(
            CpuProfile::from_cpuinfo(Arch::Aarch64, "Features\t: fp asimd atomics\n").level,
            CpuLevel::Atomics
        );
    }

    #[test]
    fn hwcaps_priorities() {
        let p = CpuProfile::for_level(Arch::X86_64, CpuLevel::X86_64V3);
        assert_eq!(p.hwcaps_priority("x86-64-v3"), 1);
        assert_eq!(p.hwcaps_priority("x86-64-v2"), 2);
        assert_eq!(p.hwcaps_priority("x86-64-v4"), 0);
    }
}
