//! Fuzz target: `elf::inspect` (with and without imported symbols) and the loader's
//! candidate check `elf::verify_candidate`, on arbitrary bytes. Any panic, hang or huge
//! allocation is a bug: ELF files in a sysroot are untrusted input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use minroot::arch::Arch;
use minroot::elf::{self, Options};

fuzz_target!(|data: &[u8]| {
    let with = elf::inspect(data, Options { symbols: true });
    let without = elf::inspect(data, Options { symbols: false });
    // Symbols are extra: they never change what the loader-relevant parse says.
    if let (Ok(a), Ok(b)) = (&with, &without) {
        assert_eq!(a.deps, b.deps);
        assert_eq!(a.interp, b.interp);
        assert!(b.imports.is_empty());
    }
    for arch in Arch::ALL {
        let _ = elf::verify_candidate(data, arch.elf_machine(), arch.libc_abi_max());
    }
});
