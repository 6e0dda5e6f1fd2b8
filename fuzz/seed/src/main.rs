//! Writes seed corpora for the fuzz targets into `<dir>/<target>/`: the generated seeds of
//! `seeds.rs` (synthetic ELF files from `elf::synth::Synth`, ld.so.caches from
//! `cache::write_new_format` / `write_old_format`, `.note.dlopen` payloads) plus the
//! host's `/usr/bin/true` and `/etc/ld.so.cache`. Corpora are never committed: run
//! `fuzz/seed.sh`.
//!
//! With `--regressions DIR` it writes only the generated seeds, as `DIR/<target>/seed-NAME`
//! (DIR is `testdata/fuzz-regressions`, where they are committed and replayed by
//! `tests/fuzz_regressions.rs`, which checks they are these bytes); stale `seed-*` files
//! there are removed.

use std::path::Path;

mod seeds;

fn put(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).expect("write seed");
}

/// Host files that add real GNU_HASH tables, notes, section layouts and cache contents.
fn host_seeds(target: &str, dir: &Path) {
    match target {
        "elf_inspect" => {
            for host in ["/usr/bin/true", "/bin/true"] {
                if let Ok(b) = std::fs::read(host)
                    && b.len() <= 64 << 10
                {
                    put(dir, "host-true", &b);
                    break;
                }
            }
        }
        "ldcache" => {
            if let Ok(b) = std::fs::read("/etc/ld.so.cache") {
                put(dir, "host-ld.so.cache", &b);
            }
        }
        _ => {}
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (regressions, out) = match args.as_slice() {
        [flag, dir] if flag == "--regressions" => (true, dir.clone()),
        [dir] => (false, dir.clone()),
        [] => (false, "fuzz/corpus".to_string()),
        _ => {
            eprintln!("usage: minroot-fuzz-seed [--regressions] [DIR]");
            std::process::exit(2);
        }
    };
    let out = Path::new(&out);
    for (target, seeds) in seeds::all() {
        let d = out.join(target);
        std::fs::create_dir_all(&d).expect("mkdir");
        let prefix = if regressions { "seed-" } else { "" };
        if regressions {
            for e in std::fs::read_dir(&d).expect("list").flatten() {
                if e.file_name().to_string_lossy().starts_with("seed-") {
                    std::fs::remove_file(e.path()).expect("remove a stale seed");
                }
            }
        } else {
            host_seeds(target, &d);
        }
        for (name, bytes) in &seeds {
            put(&d, &format!("{prefix}{name}"), bytes);
        }
        println!(
            "{}: {} files",
            d.display(),
            std::fs::read_dir(&d).map(|r| r.count()).unwrap_or(0)
        );
    }
}
