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
use crate::sysroot::read::{FileSource, read_file};

/// Parses the ELF file at host path `path`. Without symbols only the few regions the
/// loader needs are read (header and program headers, dynamic section, its string table,
/// notes), with plain reads: no mapping to set up and tear down for every library. With
/// symbols the whole file is mapped.
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
    if opts.symbols {
        let bytes = read_file(path)?;
        return Ok(elf::inspect(&bytes, opts));
    }
    let src = FileSource::open_sized(path, size)?;
    Ok(elf::inspect_source(&src, None, opts))
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
        if verdict == Verdict::Ok && !self.opts.symbols {
            self.cell(real).get_or_init(|| {
                elf::inspect_source(&src, None, self.opts)
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
}
