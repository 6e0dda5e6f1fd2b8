//! Every spelling of a supported architecture, in one typed place.
//!
//! minroot supports the two 64-bit little-endian glibc architectures Debian ships most:
//! x86_64 and aarch64. Everything that differs between them (ELF machine number, loader
//! path, ld.so.cache flags, multiarch triplet, OCI names, the loader's default search
//! directories, `$LIB`, `$PLATFORM`, the highest accepted ELF ABI version) lives here and
//! nowhere else. It does not own CPU-level facts (see `ldso::hwcaps`).

use std::fmt;

/// A supported target architecture.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    X86_64,
    Aarch64,
}

/// `EM_X86_64` from elf.h.
pub const EM_X86_64: u16 = 62;
/// `EM_AARCH64` from elf.h.
pub const EM_AARCH64: u16 = 183;

impl Arch {
    /// Both architectures, in a stable order.
    pub const ALL: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

    /// The architecture of an ELF `e_machine` value, if supported.
    pub fn from_elf_machine(machine: u16) -> Option<Arch> {
        match machine {
            EM_X86_64 => Some(Arch::X86_64),
            EM_AARCH64 => Some(Arch::Aarch64),
            _ => None,
        }
    }

    /// The architecture this minroot binary runs on, if supported.
    pub fn host() -> Option<Arch> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Arch::X86_64),
            "aarch64" => Some(Arch::Aarch64),
            _ => None,
        }
    }

    /// Parses any common spelling: `x86_64`, `amd64`, `aarch64`, `arm64`, `linux/amd64`, ...
    pub fn parse(s: &str) -> Option<Arch> {
        let s = s.strip_prefix("linux/").unwrap_or(s);
        let s = s.split('/').next().unwrap_or(s);
        match s {
            "x86_64" | "amd64" | "x86-64" => Some(Arch::X86_64),
            "aarch64" | "arm64" => Some(Arch::Aarch64),
            _ => None,
        }
    }

    /// ELF `e_machine`.
    pub fn elf_machine(self) -> u16 {
        match self {
            Arch::X86_64 => EM_X86_64,
            Arch::Aarch64 => EM_AARCH64,
        }
    }

    /// The canonical kernel/uname name, also used by qemu-user (`qemu-aarch64-static`).
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// OCI / Go `GOARCH` name.
    pub fn oci_arch(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 => "arm64",
        }
    }

    /// OCI platform variant.
    pub fn oci_variant(self) -> Option<&'static str> {
        match self {
            Arch::X86_64 => None,
            Arch::Aarch64 => Some("v8"),
        }
    }

    /// Debian architecture name (dpkg `Architecture:` field).
    pub fn debian_arch(self) -> &'static str {
        self.oci_arch()
    }

    /// Debian multiarch triplet.
    pub fn triplet(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-linux-gnu",
            Arch::Aarch64 => "aarch64-linux-gnu",
        }
    }

    /// The glibc program interpreter path (PT_INTERP written by the linker).
    pub fn loader_path(self) -> &'static str {
        match self {
            Arch::X86_64 => "/lib64/ld-linux-x86-64.so.2",
            Arch::Aarch64 => "/lib/ld-linux-aarch64.so.1",
        }
    }

    /// The loader's DT_SONAME.
    pub fn loader_soname(self) -> &'static str {
        match self {
            Arch::X86_64 => "ld-linux-x86-64.so.2",
            Arch::Aarch64 => "ld-linux-aarch64.so.1",
        }
    }

    /// `AT_PLATFORM` as the kernel (and qemu-user) report it; `$PLATFORM` expands to it
    /// (on Intel CPUs with AVX2 glibc 2.36 replaces it by `haswell`, see `ldso::hwcaps`).
    pub fn at_platform(self) -> &'static str {
        self.name()
    }

    /// The ld.so.cache flags value of a library of this architecture
    /// (`_DL_CACHE_DEFAULT_ID`: FLAG_ELF_LIBC6 | FLAG_X8664_LIB64 / FLAG_AARCH64_LIB64).
    pub fn cache_flags(self) -> i32 {
        match self {
            Arch::X86_64 => 0x0303,
            Arch::Aarch64 => 0x0a03,
        }
    }

    /// Whether C `char` is signed (x86_64) or unsigned (aarch64): the loader's
    /// `_dl_cache_libcmp` compares bytes as `char`, so the cache order depends on it.
    pub fn char_is_signed(self) -> bool {
        matches!(self, Arch::X86_64)
    }

    /// `LIBC_ABI_MAX` from glibc's libc-abis: the highest ELF ABI version + 1 accepted with
    /// ELFOSABI_GNU (UNIQUE, IFUNC on x86_64 only, ABSOLUTE).
    pub fn libc_abi_max(self) -> u8 {
        match self {
            Arch::X86_64 => 4,
            Arch::Aarch64 => 3,
        }
    }

    /// The vDSO's soname: it is in the loader's object list before any library.
    pub fn vdso_soname(self) -> &'static str {
        "linux-vdso.so.1"
    }

    /// The binfmt_misc magic and mask (as the kernel's register file parses them, `\x`
    /// escapes) of this architecture's ELF executables, from qemu's qemu-binfmt-conf.sh.
    pub fn binfmt_magic_mask(self) -> (&'static str, &'static str) {
        match self {
            Arch::X86_64 => (
                r"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00",
                r"\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff",
            ),
            Arch::Aarch64 => (
                r"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00",
                r"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff",
            ),
        }
    }

    /// The qemu-user static binary that runs this architecture on another host.
    pub fn qemu_static(self) -> &'static str {
        match self {
            Arch::X86_64 => "qemu-x86_64-static",
            Arch::Aarch64 => "qemu-aarch64-static",
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The directory layout a glibc build was configured with: its default ("trusted")
/// search directories and the `$LIB` expansion. Both are compiled into ld.so; `ld.so
/// --help` prints the directories.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemDirs {
    /// Default directories, each with a trailing '/', in search order.
    pub dirs: Vec<String>,
    /// `$LIB`.
    pub lib: String,
}

impl SystemDirs {
    /// Debian/Ubuntu multiarch layout (glibc's `local-ld-multiarch.diff`).
    pub fn debian(arch: Arch) -> SystemDirs {
        let t = arch.triplet();
        SystemDirs {
            dirs: vec![
                format!("/lib/{t}/"),
                format!("/usr/lib/{t}/"),
                "/lib/".to_string(),
                "/usr/lib/".to_string(),
            ],
            lib: format!("lib/{t}"),
        }
    }

    /// Upstream glibc's layout for 64-bit targets with `slibdir=/lib64` (Fedora, RHEL, SUSE).
    pub fn lib64() -> SystemDirs {
        SystemDirs {
            dirs: vec!["/lib64/".to_string(), "/usr/lib64/".to_string()],
            lib: "lib64".to_string(),
        }
    }

    /// Upstream glibc's layout with `slibdir=/lib` (Arch Linux and most source builds).
    pub fn lib() -> SystemDirs {
        SystemDirs {
            dirs: vec!["/lib/".to_string(), "/usr/lib/".to_string()],
            lib: "lib".to_string(),
        }
    }

    /// Reads the layout out of the loader binary itself: glibc stores its system
    /// directories as one NUL-separated string (`"/lib/x86_64-linux-gnu/\0/usr/lib/..."`).
    /// Returns None when none of the known layouts is found in `ldso`.
    pub fn from_loader_bytes(arch: Arch, ldso: &[u8]) -> Option<SystemDirs> {
        for candidate in [
            SystemDirs::debian(arch),
            SystemDirs::lib64(),
            SystemDirs::lib(),
        ] {
            let mut needle = Vec::new();
            for d in &candidate.dirs {
                needle.extend_from_slice(d.as_bytes());
                needle.push(0);
            }
            // The string must start right after a NUL (or the start of a section).
            if find_after_nul(ldso, &needle) {
                return Some(candidate);
            }
        }
        None
    }
}

fn find_after_nul(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return false;
    }
    crate::bytes::find_all(hay, needle).any(|at| at == 0 || hay[at - 1] == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for a in Arch::ALL {
            assert_eq!(Arch::from_elf_machine(a.elf_machine()), Some(a));
            assert_eq!(Arch::parse(a.oci_arch()), Some(a));
            assert_eq!(Arch::parse(a.name()), Some(a));
            assert_eq!(Arch::parse(&format!("linux/{}", a.oci_arch())), Some(a));
        }
        assert_eq!(Arch::parse("linux/arm64/v8"), Some(Arch::Aarch64));
        assert_eq!(Arch::parse("riscv64"), None);
    }

    #[test]
    fn system_dirs_found_in_loader_strings() {
        let mut blob = b"junk\0".to_vec();
        blob.extend_from_slice(
            b"/lib/aarch64-linux-gnu/\0/usr/lib/aarch64-linux-gnu/\0/lib/\0/usr/lib/\0",
        );
        let d = SystemDirs::from_loader_bytes(Arch::Aarch64, &blob).unwrap();
        assert_eq!(d, SystemDirs::debian(Arch::Aarch64));
        let fedora = b"x\0/lib64/\0/usr/lib64/\0".to_vec();
        assert_eq!(
            SystemDirs::from_loader_bytes(Arch::X86_64, &fedora).unwrap(),
            SystemDirs::lib64()
        );
        assert!(SystemDirs::from_loader_bytes(Arch::X86_64, b"nothing here").is_none());
    }
}
