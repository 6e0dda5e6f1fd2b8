//! Issue 13, item 3: file names are lossless. A name that is not UTF-8 (`a\xff`), and names
//! with a tab, a newline or a terminal escape, are packed byte for byte into the tar
//! (read back with GNU tar and with the `tar` crate), the rootfs tree and the OCI layer;
//! `files` shows them escaped (text: one field each, never a raw control char; JSON:
//! `\xNN`), with no false "not in the root" warning and exit status 0; GNU tar lists the
//! exact bytes, and `check` reads the layer back (every name checked).
//!
//! The root is a real one: the host's `ls` packed as a rootfs by minroot, plus a
//! directory `/d` of hostile names that the tests include.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

/// The hostile names under `/d` (raw bytes) and what each entry is.
enum Kind {
    File(&'static [u8]),
    Link(&'static [u8]),
}

/// A name of more than 100 bytes that is not UTF-8: a PAX `path` record is needed anyway.
const LONG: &[u8] = b"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\xfe\xff";

fn names() -> Vec<(&'static [u8], Kind)> {
    vec![
        (b"a\xff", Kind::File(b"contents \xff\n")),
        (b"caf\xe9", Kind::File(b"latin-1 name\n")),
        (b"tab\there", Kind::File(b"t\n")),
        (b"nl\nx", Kind::File(b"n\n")),
        (b"esc\x1b[31mred", Kind::File(b"e\n")),
        (b"back\\slash", Kind::File(b"b\n")),
        (b"link\xfe", Kind::Link(b"a\xff")),
        (LONG, Kind::File(b"long\n")),
    ]
}

/// The root: the host's /usr/bin/ls as minroot packs it, and `/d` with the names.
fn hostile_root() -> tempfile::TempDir {
    let t = tempfile::Builder::new()
        .prefix("minroot-names-")
        .tempdir()
        .unwrap();
    let r = t.path().join("root");
    let (code, _, err) = common::run(&[
        "pack",
        "--no-package-db",
        "--rootfs",
        r.to_str().unwrap(),
        "/usr/bin/ls",
    ]);
    assert_eq!(code, 0, "{err}");
    let d = r.join("d");
    std::fs::create_dir(&d).unwrap();
    for (n, k) in names() {
        let p = d.join(OsStr::from_bytes(n));
        match k {
            Kind::File(bytes) => std::fs::write(&p, bytes).unwrap(),
            Kind::Link(target) => {
                std::os::unix::fs::symlink(OsStr::from_bytes(target), &p).unwrap()
            }
        }
    }
    t
}

fn pack(root: &Path, out_flag: &str, out: &Path) -> (i32, String) {
    let (code, _, err) = common::run(&[
        "pack",
        "--root",
        root.to_str().unwrap(),
        out_flag,
        out.to_str().unwrap(),
        "--include",
        "/d",
        "/usr/bin/ls",
    ]);
    (code, err)
}

/// `d/NAME` -> (content or link target, is a link), from a tar stream, with the `tar` crate.
fn tar_names(bytes: &[u8]) -> BTreeMap<Vec<u8>, (Vec<u8>, bool)> {
    let mut out = BTreeMap::new();
    let mut ar = tar::Archive::new(bytes);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path_bytes().into_owned();
        let Some(rel) = path.strip_prefix(b"d/") else {
            continue;
        };
        if rel.is_empty() {
            continue;
        }
        let rel = rel.to_vec();
        if e.header().entry_type().is_symlink() {
            let t = e.link_name_bytes().unwrap().into_owned();
            out.insert(rel, (t, true));
        } else {
            let mut c = Vec::new();
            e.read_to_end(&mut c).unwrap();
            out.insert(rel, (c, false));
        }
    }
    out
}

/// `NAME` -> (content or link target, is a link) of a directory tree's `d/`.
fn dir_names(dir: &Path) -> BTreeMap<Vec<u8>, (Vec<u8>, bool)> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir.join("d")).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let n = e.file_name().as_bytes().to_vec();
        if e.file_type().unwrap().is_symlink() {
            let t = std::fs::read_link(&p).unwrap();
            out.insert(n, (t.as_os_str().as_bytes().to_vec(), true));
        } else {
            out.insert(n, (std::fs::read(&p).unwrap(), false));
        }
    }
    out
}

fn expected() -> BTreeMap<Vec<u8>, (Vec<u8>, bool)> {
    names()
        .into_iter()
        .map(|(n, k)| {
            let v = match k {
                Kind::File(b) => (b.to_vec(), false),
                Kind::Link(t) => (t.to_vec(), true),
            };
            (n.to_vec(), v)
        })
        .collect()
}

fn no_false_warning(err: &str) {
    assert!(
        !err.contains("not in the root, left out") && !err.contains('\u{fffd}'),
        "a false warning or a replaced byte: {err}"
    );
}

#[test]
fn r_issue_13_non_utf8_names_are_byte_exact_in_the_tar() {
    let t = hostile_root();
    let tarball = t.path().join("o.tar");
    let (code, err) = pack(&t.path().join("root"), "-o", &tarball);
    assert_eq!(code, 0, "{err}");
    no_false_warning(&err);
    let bytes = std::fs::read(&tarball).unwrap();
    assert_eq!(
        tar_names(&bytes),
        expected(),
        "the tar crate reads the exact bytes"
    );

    // As GNU tar writes such names: a PAX path record holding the bytes.
    let rec = b" path=d/a\xff\n";
    assert!(
        bytes.windows(rec.len()).any(|w| w == rec),
        "a PAX path record for d/a\\xff"
    );

    // GNU tar extracts the same bytes.
    let x = t.path().join("x");
    std::fs::create_dir(&x).unwrap();
    let o = Command::new("tar")
        .arg("-xf")
        .arg(&tarball)
        .arg("-C")
        .arg(&x)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        dir_names(&x),
        expected(),
        "GNU tar extracts the exact bytes"
    );

    // GNU tar lists the exact bytes (no quoting), one name a line but the one with \n.
    let o = Command::new("tar")
        .args(["--quoting-style=literal", "-tf"])
        .arg(&tarball)
        .output()
        .unwrap();
    assert!(o.status.success());
    for n in [
        &b"d/a\xff"[..],
        b"d/caf\xe9",
        b"d/link\xfe",
        b"d/esc\x1b[31mred",
    ] {
        assert!(
            o.stdout.split(|&b| b == b'\n').any(|l| l == n),
            "GNU tar lists {:?}",
            String::from_utf8_lossy(n)
        );
    }
    let mut long = b"d/".to_vec();
    long.extend_from_slice(LONG);
    assert!(o.stdout.split(|&b| b == b'\n').any(|l| l == long));

    // check reads the layer back: every name is checked, none is unreadable.
    let (code, out, err) = common::run(&["check", "--json", tarball.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let findings = v["findings"].as_array().unwrap();
    assert!(
        !findings.iter().any(|f| f.to_string().contains("/d/")),
        "{findings:#?}"
    );
    assert_eq!(
        v["stats"]["symlinks"].as_u64().unwrap(),
        tar_symlinks(&bytes),
        "every symlink is seen"
    );
}

/// The number of symlinks in a tar stream.
fn tar_symlinks(bytes: &[u8]) -> u64 {
    let mut ar = tar::Archive::new(bytes);
    ar.entries()
        .unwrap()
        .filter(|e| e.as_ref().unwrap().header().entry_type().is_symlink())
        .count() as u64
}

#[test]
fn r_issue_13_non_utf8_names_are_byte_exact_in_the_rootfs() {
    let t = hostile_root();
    let fs = t.path().join("fs");
    let (code, err) = pack(&t.path().join("root"), "--rootfs", &fs);
    assert_eq!(code, 0, "{err}");
    no_false_warning(&err);
    assert_eq!(dir_names(&fs), expected());
}

#[test]
fn r_issue_13_non_utf8_names_are_byte_exact_in_the_oci_layer() {
    let t = hostile_root();
    let oci = t.path().join("img");
    let (code, err) = pack(&t.path().join("root"), "--oci", &oci);
    assert_eq!(code, 0, "{err}");
    no_false_warning(&err);
    let blob = |digest: &str| {
        let hex = digest.strip_prefix("sha256:").unwrap();
        std::fs::read(oci.join("blobs/sha256").join(hex)).unwrap()
    };
    let json = |b: &[u8]| -> serde_json::Value { serde_json::from_slice(b).unwrap() };
    let index = json(&std::fs::read(oci.join("index.json")).unwrap());
    let manifest = json(&blob(index["manifests"][0]["digest"].as_str().unwrap()));
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    let media = layers[0]["mediaType"].as_str().unwrap();
    let raw = blob(layers[0]["digest"].as_str().unwrap());
    let tarball = if media.ends_with("+gzip") {
        let mut v = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut v)
            .unwrap();
        v
    } else if media.ends_with("+zstd") {
        zstd::decode_all(&raw[..]).unwrap()
    } else {
        raw
    };
    assert_eq!(tar_names(&tarball), expected());
}

#[test]
fn r_issue_13_files_escapes_names_in_text_and_json() {
    let t = hostile_root();
    let root = t.path().join("root");
    let args = |format: &str| {
        let o = common::minroot()
            .args([
                "files",
                "--root",
                root.to_str().unwrap(),
                "--format",
                format,
            ])
            .args(["--include", "/d", "/usr/bin/ls"])
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        no_false_warning(&String::from_utf8_lossy(&o.stderr));
        o.stdout
    };

    // Text: valid UTF-8, one tab per line, no control char but the tab and the newline.
    let text = args("list");
    let text = String::from_utf8(text).expect("the text output is UTF-8");
    for line in text.lines() {
        assert_eq!(
            line.matches('\t').count(),
            1,
            "one field separator: {line:?}"
        );
        assert!(
            !line.chars().any(|c| c.is_control() && c != '\t'),
            "a raw control char: {line:?}"
        );
    }
    let d: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split('\t').next())
        .filter(|p| p.starts_with("/d/"))
        .collect();
    let long = format!("/d/{}\\xfe\\xff", "n".repeat(LONG.len() - 2));
    for want in [
        "/d/a\\xff",
        "/d/caf\\xe9",
        "/d/tab\\there",
        "/d/nl\\nx",
        "/d/esc\\x1b[31mred",
        "/d/back\\\\slash",
        "/d/link\\xfe -> a\\xff",
        long.as_str(),
    ] {
        assert!(d.contains(&want), "{want:?} in {d:?}");
    }

    // JSON: valid, the bytes that are not UTF-8 shown as \xNN, the rest as JSON has it.
    let json: serde_json::Value = serde_json::from_slice(&args("json")).unwrap();
    let entries = json["entries"].as_array().unwrap();
    let paths: Vec<&str> = entries
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    for want in [
        "/d/a\\xff",
        "/d/caf\\xe9",
        "/d/tab\there",
        "/d/nl\nx",
        "/d/esc\u{1b}[31mred",
        "/d/back\\slash",
        "/d/link\\xfe",
    ] {
        assert!(paths.contains(&want), "{want:?} in {paths:?}");
    }
    let link = entries
        .iter()
        .find(|e| e["path"] == "/d/link\\xfe")
        .unwrap();
    assert_eq!(link["target"], "a\\xff");
    assert!(
        json["warnings"].as_array().unwrap().is_empty(),
        "{}",
        json["warnings"]
    );
}

#[test]
fn r_issue_13_check_escapes_names_in_text_and_json() {
    let t = tempfile::tempdir().unwrap();
    let img = t.path().join("img");
    std::fs::create_dir_all(img.join("d")).unwrap();
    std::os::unix::fs::symlink(
        OsStr::from_bytes(b"nowhere\xfe"),
        img.join("d").join(OsStr::from_bytes(b"x\xff\x1b[31m")),
    )
    .unwrap();
    let o = common::minroot().arg("check").arg(&img).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "a dangling symlink is an error");
    let text = String::from_utf8(o.stdout).expect("the text output is UTF-8");
    assert!(
        text.contains("/d/x\\xff\\x1b[31m -> nowhere\\xfe"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "no raw escape: {text:?}");

    let o = common::minroot()
        .args(["check", "--json"])
        .arg(&img)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = &v["findings"][0];
    assert_eq!(f["kind"], "dangling_symlink");
    assert_eq!(f["path"], "/d/x\\xff\u{1b}[31m");
    assert_eq!(f["target"], "nowhere\\xfe");
}
