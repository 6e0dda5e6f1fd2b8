//! Writes seed corpora for the fuzz targets into `<dir>/<target>/`: synthetic ELF files
//! (`elf::synth::Synth`), ld.so.caches made by `cache::write_new_format` /
//! `write_old_format` plus the host's own `/etc/ld.so.cache`, and `.note.dlopen` payloads.
//! Seeds are generated, never committed: run `fuzz/seed.sh`.

use std::path::Path;

use minroot::arch::{Arch, EM_AARCH64, EM_X86_64};
use minroot::elf::synth::Synth;
use minroot::ldso::cache::{write_new_format, write_old_format};

fn put(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).expect("write seed");
}

fn elf_seeds(dir: &Path) {
    const X86: &str = "/lib64/ld-linux-x86-64.so.2";
    const NOTE: &str = r#"[{"soname":["libzstd.so.1"],"feature":"zstd","priority":"suggested"}]"#;
    let mut seeds: Vec<(&str, Synth)> = vec![
        ("lib", Synth::lib(EM_X86_64, "libfoo.so.1")),
        (
            "lib-aarch64",
            Synth::lib(EM_AARCH64, "libbar.so.2").needs("libc.so.6"),
        ),
        (
            "exe",
            Synth::exe(EM_X86_64, X86)
                .needs("libfoo.so.1")
                .needs("libc.so.6")
                .rpath("$ORIGIN/../lib:/opt/lib")
                .imports(&["iconv_open", "pthread_cancel", "getpwnam"]),
        ),
        (
            "exe-runpath",
            Synth::exe(EM_X86_64, X86)
                .needs("libm.so.6")
                .runpath("$LIB:$PLATFORM")
                .filter("libfilt.so")
                .auxiliary("libaux.so")
                .flags_1(minroot::elf::DF_1_NODEFLIB),
        ),
        (
            "exe-dlopen",
            Synth::exe(EM_AARCH64, "/lib/ld-linux-aarch64.so.1")
                .needs("libc.so.6")
                .dlopen_note(NOTE)
                .dlopen_note("not json"),
        ),
        ("lib-nosections", {
            let mut s = Synth::lib(EM_X86_64, "libns.so").imports(&["malloc", "free"]);
            s.section_headers = false;
            s
        }),
        ("exe-static-like", {
            let mut s = Synth::lib(EM_X86_64, "").no_soname();
            s.e_type = minroot::elf::ET_EXEC;
            s
        }),
        ("elf32", {
            let mut s = Synth::lib(3, "lib32.so");
            s.class64 = false;
            s
        }),
        ("big-endian", {
            let mut s = Synth::lib(EM_AARCH64, "libbe.so").needs("libc.so.6");
            s.big_endian = true;
            s
        }),
    ];
    for (name, s) in seeds.drain(..) {
        put(dir, &format!("synth-{name}"), &s.build());
    }
    // Small real programs add GNU_HASH tables, real notes and section layouts.
    for host in ["/usr/bin/true", "/bin/true"] {
        if let Ok(b) = std::fs::read(host)
            && b.len() <= 64 << 10
        {
            put(dir, "host-true", &b);
            break;
        }
    }
}

fn cache_seeds(dir: &Path) {
    let x = Arch::X86_64.cache_flags();
    let a = Arch::Aarch64.cache_flags();
    put(
        dir,
        "new-x86",
        &write_new_format(
            &[
                ("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", x, None),
                ("libm.so.6", "/lib/x86_64-linux-gnu/libm.so.6", x, None),
                ("libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1", x, None),
            ],
            true,
        ),
    );
    put(
        dir,
        "new-hwcaps",
        &write_new_format(
            &[
                (
                    "libfoo.so.1",
                    "/usr/lib/glibc-hwcaps/x86-64-v3/libfoo.so.1",
                    x,
                    Some("x86-64-v3"),
                ),
                (
                    "libfoo.so.1",
                    "/usr/lib/glibc-hwcaps/x86-64-v2/libfoo.so.1",
                    x,
                    Some("x86-64-v2"),
                ),
                ("libfoo.so.1", "/usr/lib/libfoo.so.1", x, None),
                ("libc.so.6", "/lib/libc.so.6", x, None),
            ],
            true,
        ),
    );
    put(
        dir,
        "new-mixed-arch",
        &write_new_format(
            &[
                ("libm.so.6", "/lib/aarch64-linux-gnu/libm.so.6", a, None),
                ("libm.so.6", "/lib/x86_64-linux-gnu/libm.so.6", x, None),
                (
                    "lib\u{e9}.so.10",
                    "/lib/aarch64-linux-gnu/lib\u{e9}.so.10",
                    a,
                    None,
                ),
            ],
            false,
        ),
    );
    let old = [
        ("libz.so.1", "/usr/lib/libz.so.1", x),
        ("libc.so.6", "/lib/libc.so.6", x),
    ];
    put(dir, "old", &write_old_format(&old, true, false));
    put(dir, "compat", &write_old_format(&old, true, true));
    put(dir, "empty-new", &write_new_format(&[], true));
    if let Ok(b) = std::fs::read("/etc/ld.so.cache") {
        put(dir, "host-ld.so.cache", &b);
    }
}

fn note_seeds(dir: &Path) {
    let notes = [
        r#"[{"soname":["libzstd.so.1"],"feature":"zstd","description":"Support zstd compression","priority":"suggested"},{"soname":["libcrypt.so.2","libcrypt.so.1"]}]"#,
        r#"[{"soname":["libfido2.so.1"],"priority":"required"}]"#,
        r#"[{"soname":[]}]"#,
        r#"[{"soname":["/abs/lib.so"]}]"#,
        r#"[]"#,
        r#"{"soname":["x"]}"#,
    ];
    for (i, n) in notes.iter().enumerate() {
        put(dir, &format!("note-{i}"), n.as_bytes());
    }
}

fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/corpus".into());
    let out = Path::new(&out);
    for (target, f) in [
        ("elf_inspect", elf_seeds as fn(&Path)),
        ("ldcache", cache_seeds),
        ("dlopen_note", note_seeds),
    ] {
        let d = out.join(target);
        std::fs::create_dir_all(&d).expect("mkdir corpus");
        f(&d);
        println!(
            "{}: {} seeds",
            d.display(),
            std::fs::read_dir(&d).map(|r| r.count()).unwrap_or(0)
        );
    }
}
