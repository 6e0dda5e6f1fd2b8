//! Parsed ELF files by canonical path, shared by everything traced in one run: each file
//! is opened and parsed at most once, whatever the number of programs or threads.
//!
//! The loader's candidate check (`open_verify`) and the parse use one open and one first
//! read: [`ObjectCache::verify`] looks at the header the way glibc does and, when the
//! candidate is usable, parses the rest from the same open file.
//!
//! This is where file reading (`sysroot::read`) meets parsing (`elf`, which does no I/O):
//! [`inspect_path`] opens one file and parses it.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use crate::elf::{self, ElfError, ElfInfo, Verdict};
use crate::sysroot::Root;
use crate::sysroot::read::FileSource;

/// Parses the ELF file at host path `path`. Only the few regions the loader and the hints
/// need are read (header and program headers, dynamic section, its string table, notes,
/// and with symbols the dynamic symbol table and its strings), with positioned reads: no
/// mapping to set up and tear down for every library. A mapping per file cost more than
/// the reads, its page faults and unmap taking a fifth of `pack`'s planning.
pub fn inspect_path(path: &Path, opts: elf::Options) -> std::io::Result<Result<ElfInfo, ElfError>> {
    inspect_sized(path, None, opts)
}

/// [`inspect_path`] of a file whose size is known (from the root's lstat): one system
/// call fewer.
fn inspect_sized(
    path: &Path,
    size: Option<u64>,
    opts: elf::Options,
) -> std::io::Result<Result<ElfInfo, ElfError>> {
    let src = FileSource::open_sized(path, size)?;
    Ok(elf::inspect_source(&src, opts))
}

/// A file parsed at most once: its info or the error.
type Parsed = Arc<OnceLock<Result<Arc<ElfInfo>, String>>>;

pub struct ObjectCache {
    map: crate::memo::Memo<String, Parsed>,
    opts: elf::Options,
}

impl ObjectCache {
    pub fn new(opts: elf::Options) -> ObjectCache {
        ObjectCache {
            map: Default::default(),
            opts,
        }
    }

    fn cell(&self, real: &str) -> Parsed {
        self.map.get_or_insert_with(real, Parsed::default)
    }

    /// The parsed file at canonical `real` (parsed at most once).
    pub fn get(&self, root: &Root, real: &str) -> Result<Arc<ElfInfo>, String> {
        // Parsed before: the answer, without a clone of the cell.
        if let Some(Some(r)) = self.map.get_with(real, |cell| cell.get().cloned()) {
            return r;
        }
        self.cell(real)
            .get_or_init(|| {
                inspect_sized(&root.host_path(real), root.file_size(real), self.opts)
                    .map_err(|e| e.to_string())?
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
    }

    /// glibc's verdict on the regular file at canonical `real` as a candidate library for
    /// `machine`; a usable file is parsed on the way (from the same open file).
    pub fn verify(
        &self,
        root: &Root,
        real: &str,
        machine: u16,
        abi_max: u8,
    ) -> std::io::Result<Verdict> {
        let src = FileSource::open_sized(&root.host_path(real), root.file_size(real))?;
        let verdict = elf::verify_candidate(src.head(), machine, abi_max);
        if verdict == Verdict::Ok {
            self.cell(real).get_or_init(|| {
                elf::inspect_source(&src, self.opts)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            });
        }
        Ok(verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ElfInfo::is_static` on what gcc really writes (skipped without gcc and libc.a).
    #[test]
    fn static_definition_on_real_gcc_output() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::write(d.join("m.c"), "int main(void) { return 0; }\n").unwrap();
        std::fs::write(d.join("f.c"), "int f(void) { return 1; }\n").unwrap();
        let builds: [(&str, &[&str]); 4] = [
            ("static-pie", &["-static-pie", "m.c"]),
            ("static", &["-static", "m.c"]),
            ("dynamic", &["m.c"]),
            ("libfree.so", &["-shared", "-nostdlib", "f.c"]),
        ];
        for (out, args) in builds {
            let ok = std::process::Command::new("gcc")
                .current_dir(d)
                .args(args)
                .arg("-o")
                .arg(out)
                .output()
                .is_ok_and(|o| o.status.success());
            if !ok {
                eprintln!("skipped: gcc {args:?} failed or gcc is missing");
                return;
            }
        }
        let info = |name: &str| {
            inspect_path(&d.join(name), elf::Options::default())
                .unwrap()
                .unwrap()
        };
        let sp = info("static-pie");
        assert!(sp.dynamic && sp.is_pie(), "{sp:?}");
        assert!(sp.is_static() && sp.is_executable());
        let st = info("static");
        assert!(st.is_static() && st.is_executable());
        let dy = info("dynamic");
        assert!(!dy.is_static() && dy.is_executable());
        let lib = info("libfree.so");
        assert!(lib.is_static() && !lib.is_executable(), "{lib:?}");
    }

    /// The dynamic symbols `readelf --dyn-syms` lists for `path`, undefined ones or
    /// (`defined`) those other objects can bind to, without versions, sorted: the ground
    /// truth for [`ElfInfo::imports`] and [`elf::exports`].
    fn readelf_symbols(path: &Path, defined: bool) -> Vec<String> {
        let out = std::process::Command::new("readelf")
            .args(["-W", "--dyn-syms"])
            .arg(path)
            .output()
            .expect("readelf runs");
        assert!(out.status.success(), "readelf {}", path.display());
        let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                if f.len() < 8 || !f[0].ends_with(':') {
                    return None;
                }
                let bind = ["GLOBAL", "WEAK", "UNIQUE"].contains(&f[4]);
                let wanted = if defined {
                    f[6] != "UND" && bind
                } else {
                    f[6] == "UND"
                };
                wanted.then(|| f[7].split('@').next().unwrap().to_string())
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Imports read with positioned reads are readelf's undefined dynamic symbols, and
    /// exports its defined ones: from the section headers (with the hash tables zeroed,
    /// so that nothing else can count the symbols), and with the section headers
    /// cut off (as `sstrip` leaves a file) from DT_SYMTAB sized by DT_GNU_HASH, which is
    /// all gcc writes on Debian (the exports need its chains walked to their end). For a
    /// gcc-built library and for each library this test process has loaded (libc is 2
    /// MB: its tables lie far past the first block).
    #[test]
    fn imports_match_readelf_with_and_without_section_headers() {
        let required = std::env::var_os("MINROOT_REQUIRE_ALL").is_some_and(|v| v == "1");
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let src = "#include <stdio.h>\n#include <iconv.h>\n\
                   int f(void) { iconv_t c = iconv_open(\"a\", \"b\"); puts(\"x\"); \
                   return c == 0; }\n";
        std::fs::write(d.join("l.c"), src).unwrap();
        let built = std::process::Command::new("gcc")
            .current_dir(d)
            .args([
                "-shared",
                "-fPIC",
                "-Wl,--hash-style=gnu",
                "l.c",
                "-o",
                "libl.so",
            ])
            .status()
            .is_ok_and(|s| s.success());
        let readelf = std::process::Command::new("readelf")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !(built && readelf) {
            assert!(!required, "required test resource missing: gcc and readelf");
            eprintln!("SKIP: gcc or readelf is missing");
            return;
        }
        let mut files = vec![d.join("libl.so")];
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        for l in maps.lines() {
            if let Some(p) = l.split_whitespace().nth(5)
                && p.contains(".so")
                && !files.iter().any(|f| f.as_os_str() == p)
            {
                files.push(p.into());
            }
        }
        assert!(files.len() >= 2, "a library of this process: {maps}");
        let opts = elf::Options { symbols: true };
        // The imports of an altered copy, read from a file as the others are.
        let copy = d.join("altered.so");
        let imports_of = |bytes: &[u8]| {
            std::fs::write(&copy, bytes).unwrap();
            inspect_path(&copy, opts).unwrap().unwrap().imports
        };
        for f in &files {
            let want = readelf_symbols(f, false);
            let defined = readelf_symbols(f, true);
            if f == &files[0] {
                assert!(
                    ["iconv_open", "puts"]
                        .iter()
                        .all(|n| want.iter().any(|w| w == n))
                );
            }
            let info = inspect_path(f, opts).unwrap().unwrap();
            assert_eq!(info.imports, want, "{}", f.display());
            // Zero the hash tables: the symbols are found through the section headers,
            // not counted through DT_GNU_HASH (whose count is wrong for a program that
            // exports nothing: aarch64's ld writes symoffset 1 there).
            let mut bytes = std::fs::read(f).unwrap();
            let elf = goblin::elf::Elf::parse(&bytes).unwrap();
            let hashes: Vec<(usize, usize)> = elf
                .section_headers
                .iter()
                .filter(|s| {
                    let t = s.sh_type;
                    t == goblin::elf::section_header::SHT_GNU_HASH
                        || t == goblin::elf::section_header::SHT_HASH
                })
                .map(|s| (s.sh_offset as usize, s.sh_size as usize))
                .collect();
            assert!(!hashes.is_empty(), "{} has a hash table", f.display());
            let mut hashless = bytes.clone();
            for (off, len) in hashes {
                hashless[off..off + len].fill(0);
            }
            assert_eq!(
                imports_of(&hashless),
                want,
                "{} with its hash tables zeroed",
                f.display()
            );
            // Cut the section headers off: e_shoff, e_shnum (64-bit ELF header).
            bytes[0x28..0x30].fill(0);
            bytes[0x3c..0x3e].fill(0);
            assert_eq!(
                imports_of(&bytes),
                want,
                "{} without section headers",
                f.display()
            );
            assert_eq!(elf::exports(&bytes).unwrap(), defined, "{}", f.display());
        }
    }

    /// A file without section headers whose DT_GNU_HASH hashes nothing, as aarch64's ld
    /// writes it for a program that exports nothing (symoffset 1, empty buckets: Debian
    /// arm64's curl): its imports are the symbols before the string table, not none.
    #[test]
    fn imports_of_a_stripped_file_whose_gnu_hash_hashes_nothing() {
        let required = std::env::var_os("MINROOT_REQUIRE_ALL").is_some_and(|v| v == "1");
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::write(
            d.join("m.c"),
            "#include <stdio.h>\nint main(void) { puts(\"x\"); return 0; }\n",
        )
        .unwrap();
        let built = std::process::Command::new("gcc")
            .current_dir(d)
            .args(["-Wl,--hash-style=gnu", "m.c", "-o", "m"])
            .status()
            .is_ok_and(|s| s.success());
        if !built {
            assert!(!required, "required test resource missing: gcc");
            eprintln!("SKIP: gcc is missing");
            return;
        }
        let path = d.join("m");
        let want = readelf_symbols(&path, false);
        assert!(want.iter().any(|w| w == "puts"), "{want:?}");
        let mut bytes = std::fs::read(&path).unwrap();
        let elf = goblin::elf::Elf::parse(&bytes).unwrap();
        let gnu = elf
            .section_headers
            .iter()
            .find(|s| s.sh_type == goblin::elf::section_header::SHT_GNU_HASH)
            .map(|s| (s.sh_offset as usize, s.sh_size as usize))
            .expect("gcc writes a DT_GNU_HASH");
        assert!(
            !elf.section_headers
                .iter()
                .any(|s| s.sh_type == goblin::elf::section_header::SHT_HASH),
            "no DT_HASH to count the symbols instead"
        );
        // symoffset 1, every bucket empty (the bloom filter and chains left as they are).
        let (off, len) = gnu;
        let nbuckets = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
        let bloom = u32::from_le_bytes(bytes[off + 8..off + 12].try_into().unwrap()) as usize;
        bytes[off + 4..off + 8].copy_from_slice(&1u32.to_le_bytes());
        let buckets = off + 16 + 8 * bloom;
        assert!(buckets + 4 * nbuckets <= off + len);
        bytes[buckets..buckets + 4 * nbuckets].fill(0);
        // Cut the section headers off: e_shoff, e_shnum (64-bit ELF header).
        bytes[0x28..0x30].fill(0);
        bytes[0x3c..0x3e].fill(0);
        let copy = d.join("stripped");
        std::fs::write(&copy, &bytes).unwrap();
        let opts = elf::Options { symbols: true };
        let info = inspect_path(&copy, opts).unwrap().unwrap();
        assert_eq!(info.imports, want);
    }
}
