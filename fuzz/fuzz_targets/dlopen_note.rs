//! Fuzz target: the `.note.dlopen` JSON payload parser (`elf::parse_dlopen_json`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(notes) = minroot::elf::parse_dlopen_json(data) {
        // What is accepted is usable: no empty soname lists, no paths.
        for n in notes {
            assert!(!n.soname.is_empty());
            assert!(n.soname.iter().all(|s| !s.is_empty() && !s.contains('/')));
        }
    }
});
