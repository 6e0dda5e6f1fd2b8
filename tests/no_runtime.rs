//! `--no-runtime` is the layer minroot made before language runtimes existed, byte for
//! byte: for every runtime program of both test roots, `pack --no-runtime` is compared
//! with the layer of the minroot of the last commit before runtime profiles
//! (`scripts/baseline.sh`, MINROOT_BASELINE), in a plain tar, a gzip tar and an OCI
//! archive (its layer uncompressed), without the package database; with it, entry by
//! entry, the md5sums naming each file where the layer has it (issue 13, item 9:
//! `usr/bin/ls`, not `bin/ls`, in a usrmerged root), every other entry the same. The gzip
//! tar is compared once decompressed: its compression changed since (libdeflate, a
//! member per MiB), the tar inside it did not.

mod common;

use std::path::Path;

fn pack(bin: &Path, root: &Path, out: &Path, extra: &[&str], program: &str) {
    let o = std::process::Command::new(bin)
        .env_remove("SOURCE_DATE_EPOCH")
        .arg("pack")
        .arg("--root")
        .arg(root)
        .args(extra)
        .arg(program)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{} pack {program}: {}",
        bin.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.exists());
}

#[test]
fn no_runtime_layers_are_the_layers_of_before_runtimes() {
    let Some(old) = common::baseline() else {
        return;
    };
    let new = Path::new(env!("CARGO_BIN_EXE_minroot"));
    let mut compared = 0;
    for (name, programs) in [
        (
            "amd64",
            &[
                "/usr/bin/python3",
                "/usr/bin/perl",
                "/usr/bin/node",
                "/usr/bin/java",
            ][..],
        ),
        ("arm64", &["/usr/bin/python3", "/usr/bin/perl"][..]),
    ] {
        let Some(root) = common::sysroot(name) else {
            common::require(&format!("the {name} sysroot"), false);
            continue;
        };
        for program in programs {
            let d = tempfile::tempdir().unwrap();
            for out in ["l.tar", "l.tar.gz", "o.tar"] {
                let (a, b) = (
                    d.path().join(format!("old-{out}")),
                    d.path().join(format!("new-{out}")),
                );
                let flag: &[&str] = if out == "o.tar" {
                    &["--compression", "none", "--oci-archive"]
                } else {
                    &["-o"]
                };
                // Byte for byte without the package database: since issue 13 (item 9) its
                // md5sums name files where the layer has them (compared below).
                let (a_s, b_s) = (a.to_str().unwrap(), b.to_str().unwrap());
                let old_args = [&["--no-package-db"][..], flag, &[a_s]].concat();
                pack(&old, &root, &a, &old_args, program);
                let new_args = [&["--no-runtime", "--no-package-db"][..], flag, &[b_s]].concat();
                pack(new, &root, &b, &new_args, program);
                let bytes = |p: &Path| -> Vec<u8> {
                    let raw = std::fs::read(p).unwrap();
                    if !out.ends_with(".gz") {
                        return raw;
                    }
                    let mut tar = Vec::new();
                    std::io::Read::read_to_end(
                        &mut flate2::read::MultiGzDecoder::new(&raw[..]),
                        &mut tar,
                    )
                    .unwrap();
                    tar
                };
                assert!(
                    bytes(&a) == bytes(&b),
                    "{name} {program} {out}: --no-runtime differs from the layer of before runtimes"
                );
                compared += 1;
            }
            // With the package database: entry by entry the same, but for each md5sums
            // path, which is the old one with its directory canonical in the root
            // (`bin/ls` is `usr/bin/ls` in a usrmerged root).
            let (a, b) = (d.path().join("old-db.tar"), d.path().join("new-db.tar"));
            pack(&old, &root, &a, &["-o", a.to_str().unwrap()], program);
            pack(
                new,
                &root,
                &b,
                &["--no-runtime", "-o", b.to_str().unwrap()],
                program,
            );
            let (old_entries, new_entries) = (entries(&a), entries(&b));
            assert_eq!(
                old_entries.keys().collect::<Vec<_>>(),
                new_entries.keys().collect::<Vec<_>>(),
                "{name} {program}: the same entries"
            );
            for (path, (head, body)) in &old_entries {
                let (new_head, new_body) = &new_entries[path];
                if path.ends_with(".md5sums") {
                    assert_eq!(
                        &in_layer(&root, body),
                        new_body,
                        "{name} {program} {path}: the old lines, paths where the layer has them"
                    );
                } else {
                    assert_eq!(
                        (head, body),
                        (new_head, new_body),
                        "{name} {program} {path}"
                    );
                }
            }
        }
    }
    assert!(
        compared >= 18 || !common::require_all(),
        "{compared} layers compared"
    );
}

/// path -> (type, mode, uid, gid, mtime, link target; contents) of a plain tar.
type Entries = std::collections::BTreeMap<String, ((u8, u32, u64, u64, u64, Vec<u8>), Vec<u8>)>;

fn entries(tar: &Path) -> Entries {
    use std::io::Read;
    let bytes = std::fs::read(tar).unwrap();
    let mut ar = tar::Archive::new(&bytes[..]);
    let mut out = Entries::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header();
        let head = (
            h.entry_type().as_byte(),
            h.mode().unwrap(),
            h.uid().unwrap(),
            h.gid().unwrap(),
            h.mtime().unwrap(),
            e.link_name_bytes()
                .map(|l| l.into_owned())
                .unwrap_or_default(),
        );
        let path = String::from_utf8(e.path_bytes().into_owned()).unwrap();
        let mut body = Vec::new();
        e.read_to_end(&mut body).unwrap();
        out.insert(path, (head, body));
    }
    out
}

/// md5sums lines with each path's directory made canonical in `root`.
fn in_layer(root: &Path, md5sums: &[u8]) -> Vec<u8> {
    let root = std::fs::canonicalize(root).unwrap();
    let mut out = String::new();
    for line in std::str::from_utf8(md5sums).unwrap().lines() {
        let (sum, path) = line.split_once("  ").unwrap();
        let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
        let dir = std::fs::canonicalize(root.join(dir)).unwrap();
        let dir = dir.strip_prefix(&root).unwrap().to_str().unwrap();
        let at = if dir.is_empty() {
            file.to_string()
        } else {
            format!("{dir}/{file}")
        };
        out.push_str(&format!("{sum}  {at}\n"));
    }
    out.into_bytes()
}
