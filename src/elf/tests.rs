//! Unit tests of ELF inspection against files written by `synth`.

use super::synth::Synth;
use super::*;
use crate::arch::{EM_AARCH64, EM_X86_64};

#[test]
fn reads_needed_filters_and_paths_in_dynamic_order() {
    let bytes = Synth::lib(EM_X86_64, "libx.so.1")
        .needs("liba.so")
        .filter("libf.so")
        .needs("libb.so")
        .auxiliary("libaux.so")
        .rpath("$ORIGIN/r")
        .runpath("/run")
        .flags_1(DF_1_NODEFLIB)
        .build();
    let info = inspect(&bytes, Options::default()).unwrap();
    assert!(info.class64 && info.little_endian && info.dynamic);
    assert_eq!(info.machine, EM_X86_64);
    let deps: Vec<_> = info
        .deps
        .iter()
        .map(|d| (d.kind, d.name.as_str()))
        .collect();
    assert_eq!(
        deps,
        [
            (DepKind::Needed, "liba.so"),
            (DepKind::Filter, "libf.so"),
            (DepKind::Needed, "libb.so"),
            (DepKind::Auxiliary, "libaux.so")
        ]
    );
    assert_eq!(info.soname.as_deref(), Some("libx.so.1"));
    assert_eq!(info.rpath.as_deref(), Some("$ORIGIN/r"));
    assert_eq!(info.effective_rpath(), None, "RUNPATH hides RPATH");
    assert!(info.nodeflib());
    assert!(info.imports.is_empty(), "symbols are only read on request");
}

#[test]
fn reads_interp_and_imports() {
    let bytes = Synth::exe(EM_AARCH64, "/lib/ld-linux-aarch64.so.1")
        .needs("libc.so.6")
        .imports(&["pthread_cancel", "iconv_open"])
        .build();
    let info = inspect(&bytes, Options { symbols: true }).unwrap();
    assert_eq!(info.interp.as_deref(), Some("/lib/ld-linux-aarch64.so.1"));
    assert_eq!(info.imports, ["iconv_open", "pthread_cancel"]);
    assert!(info.imports_symbol("iconv_open"));
    assert!(!info.imports_symbol("printf"));
    assert!(info.is_pie());
}

#[test]
fn imports_without_section_headers_use_dt_hash() {
    let mut s = Synth::lib(EM_X86_64, "liby.so").imports(&["backtrace"]);
    s.section_headers = false;
    let info = inspect(&s.build(), Options { symbols: true }).unwrap();
    assert_eq!(info.imports, ["backtrace"]);
}

/// Exports are the defined dynamic symbols only: an import of the same name, or the name
/// as bytes elsewhere in the file, is not one.
#[test]
fn exports_are_defined_dynamic_symbols() {
    for section_headers in [true, false] {
        let mut s = Synth::exe(EM_X86_64, "/lib64/ld-linux-x86-64.so.2")
            .needs("libc.so.6")
            .imports(&["printf"])
            .exports(&["Py_BytesMain", "main"])
            .dlopen_note(r#"[{"soname":["perl_parse"],"priority":"required"}]"#);
        s.section_headers = section_headers;
        let bytes = s.build();
        assert_eq!(exports(&bytes).unwrap(), ["Py_BytesMain", "main"]);
        let info = inspect(&bytes, Options { symbols: true }).unwrap();
        assert_eq!(info.imports, ["printf"], "exports are not imports");
    }
    assert_eq!(exports(b"not elf"), Err(ElfError::NotElf));
    assert!(exports(b"\x7fELF\x02\x01").is_err());
}

#[test]
fn reads_dlopen_notes() {
    let json =
        r#"[{"soname":["libfoo.so.1","libfoo.so.0"],"feature":"foo","priority":"required"}]"#;
    let info = inspect(
        &Synth::lib(EM_X86_64, "liby.so").dlopen_note(json).build(),
        Options::default(),
    )
    .unwrap();
    assert_eq!(info.dlopen.len(), 1);
    assert_eq!(info.dlopen[0].soname, ["libfoo.so.1", "libfoo.so.0"]);
    assert_eq!(info.dlopen[0].priority, Priority::Required);
    let bad = inspect(
        &Synth::lib(EM_X86_64, "liby.so")
            .dlopen_note("{not json")
            .build(),
        Options::default(),
    )
    .unwrap();
    assert!(bad.dlopen.is_empty());
    assert_eq!(bad.note_errors.len(), 1);
}

#[test]
fn static_file_has_no_dynamic() {
    // Build a library, then turn its PT_DYNAMIC into PT_NULL: a static ELF.
    let mut bytes = Synth::lib(EM_X86_64, "x").build();
    let phoff = 64;
    for i in 0..8 {
        let at = phoff + 56 * i;
        if at + 4 <= bytes.len() && bytes[at..at + 4] == 2u32.to_le_bytes() {
            bytes[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
        }
    }
    let info = inspect(&bytes, Options::default()).unwrap();
    assert!(info.is_static());
}

#[test]
fn static_pie_is_static_and_a_dependency_free_library_is_not_a_program() {
    // What `gcc -static-pie` writes: ET_DYN, PT_DYNAMIC, DF_1_PIE, no PT_INTERP, no
    // DT_NEEDED. PT_DYNAMIC is there for its self-relocation, not for a loader.
    let static_pie = Synth {
        interp: None,
        soname: None,
        flags_1: DF_1_PIE,
        ..Synth::lib(EM_X86_64, "")
    }
    .build();
    let info = inspect(&static_pie, Options::default()).unwrap();
    assert!(info.dynamic && info.interp.is_none() && info.deps.is_empty());
    assert!(info.is_static(), "ldd: statically linked");
    assert!(info.is_executable(), "the kernel runs it without a loader");

    // A library that needs nothing (ld.so itself): nothing to load, but no program.
    let lib = inspect(
        &Synth::lib(EM_X86_64, "libfree.so").build(),
        Options::default(),
    )
    .unwrap();
    assert!(lib.is_static() && !lib.is_executable());

    // A dynamic PIE, and a "static" file that still names a library: not static.
    let pie = Synth::exe(EM_X86_64, "/lib64/ld-linux-x86-64.so.2").build();
    let pie = inspect(&pie, Options::default()).unwrap();
    assert!(!pie.is_static() && pie.is_executable());
    let needs = Synth {
        interp: None,
        flags_1: DF_1_PIE,
        ..Synth::lib(EM_X86_64, "").needs("libc.so.6")
    }
    .build();
    assert!(!inspect(&needs, Options::default()).unwrap().is_static());
}

#[test]
fn rejects_non_elf_and_truncated() {
    assert_eq!(
        inspect(b"#!/bin/sh\necho hi\n", Options::default()),
        Err(ElfError::NotElf)
    );
    assert_eq!(inspect(b"", Options::default()), Err(ElfError::NotElf));
    let bytes = Synth::lib(EM_X86_64, "libx.so").needs("liba.so").build();
    for cut in [5, 20, 63, 64, 100, 200, bytes.len() / 2, bytes.len() - 1] {
        // Any prefix is either an error or a consistent (possibly partial) parse: never a panic.
        let _ = inspect(&bytes[..cut], Options { symbols: true });
    }
    assert!(inspect(&bytes[..40], Options::default()).is_err());
}

#[test]
fn every_single_byte_corruption_is_handled() {
    let bytes = Synth::exe(EM_X86_64, "/lib64/ld-linux-x86-64.so.2")
        .needs("liba.so")
        .rpath("/x")
        .imports(&["f"])
        .build();
    for i in 0..bytes.len() {
        for v in [0u8, 0xff, 0x7f, 0x80] {
            let mut b = bytes.clone();
            b[i] = v;
            let _ = inspect(&b, Options { symbols: true });
            let _ = verify_candidate(&b, EM_X86_64, 4);
        }
    }
}

#[test]
fn verify_follows_open_verify() {
    let ok = Synth::lib(EM_X86_64, "l").build();
    assert_eq!(verify_candidate(&ok, EM_X86_64, 4), Verdict::Ok);
    assert_eq!(verify_candidate(&ok, EM_AARCH64, 3), Verdict::OtherMachine);
    let mut s32 = Synth::lib(EM_X86_64, "l");
    s32.class64 = false;
    assert_eq!(
        verify_candidate(&s32.build(), EM_X86_64, 4),
        Verdict::OtherClass
    );
    let mut be = Synth::lib(EM_AARCH64, "l");
    be.big_endian = true;
    assert_eq!(
        verify_candidate(&be.build(), EM_X86_64, 4),
        Verdict::OtherMachine
    );
    // e_machine is read little-endian, as the loader does: a big-endian file of the same
    // machine is another machine to it.
    let mut be_same = Synth::lib(EM_X86_64, "l");
    be_same.big_endian = true;
    assert_eq!(
        verify_candidate(&be_same.build(), EM_X86_64, 4),
        Verdict::OtherMachine
    );
    let mut wrong_data = Synth::lib(EM_X86_64, "l").build();
    wrong_data[5] = 2; // ELFDATA2MSB, e_machine still little-endian EM_X86_64
    assert!(
        matches!(verify_candidate(&wrong_data, EM_X86_64, 4), Verdict::Fatal(m) if m.contains("little-endian"))
    );
    assert_eq!(
        verify_candidate(b"short", EM_X86_64, 4),
        Verdict::Fatal("file too short".into())
    );
    let text = vec![b'x'; 100];
    assert_eq!(
        verify_candidate(&text, EM_X86_64, 4),
        Verdict::Fatal("invalid ELF header".into())
    );
    let mut rel = ok.clone();
    rel[16] = 1; // ET_REL
    assert!(
        matches!(verify_candidate(&rel, EM_X86_64, 4), Verdict::Fatal(m) if m.contains("ET_DYN"))
    );
    let mut gnu = ok.clone();
    gnu[7] = 3; // ELFOSABI_GNU
    gnu[8] = 3; // ABI version 3 (ABSOLUTE) is accepted on x86_64, not on aarch64
    assert_eq!(verify_candidate(&gnu, EM_X86_64, 4), Verdict::Ok);
    gnu[8] = 4;
    assert!(
        matches!(verify_candidate(&gnu, EM_X86_64, 4), Verdict::Fatal(m) if m.contains("ABI version"))
    );
}
