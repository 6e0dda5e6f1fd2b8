//! `minroot check` end to end, on images minroot did not build and on its own.
//!
//! - an unpacked Debian root (scripts/make-sysroot.sh: bookworm minbase + nginx, python3,
//!   curl, busybox), used in place: it finishes quickly and does not crash (Debian's
//!   nsswitch.conf names `db` and `nis`: notes); and each Debian root (amd64, arm64 under
//!   qemu-user) is judged independently: every error finding is confirmed by the root's
//!   real loader (`ld.so --list`: the library is not found) or by the kernel's own path
//!   resolution (openat2 RESOLVE_IN_ROOT: the symlink dangles, no CA bundle exists), and
//!   every dynamic ELF file check passes really loads; a false finding or a false pass
//!   fails;
//! - minroot's own layers (`pack -o x.tar`, `--oci DIR`, `--oci-archive`): no errors;
//! - the same layer with one thing taken out (a library, a symlink's target, the
//!   interpreter), with an aarch64 library added, and an OCI layout whose upper layer
//!   whites out a library: each finding is named, exit 1;
//! - an aarch64 layer (the arm64 sysroot packed): checked as aarch64; a two-platform
//!   OCI layout (`minroot build`): the `--platform` asked for; a `docker save` archive;
//! - hostile tars (`..`, absolute paths, a symlink then a file through it): exit 2 or
//!   confined, never a write outside;
//! - a 4 GiB file of zeros in a 4 MB gzip layer: checked with almost nothing written (its
//!   size only: measured on the unpacked tree, and run in a 64 MiB tmpfs); over the size
//!   bound (`--max-image-size`), exit 2 naming the image, the bound and the flag, and
//!   nothing left in TMPDIR.
//!
//! The layers are made once per run by `minroot pack` from the sysroots and rewritten
//! here with the `tar` crate.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use minroot::arch::Arch;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn amd64() -> Option<PathBuf> {
    let r = common::sysroot("amd64");
    common::require("the amd64 sysroot (scripts/make-sysroot.sh)", r.is_some()).then_some(r?)
}

fn arm64() -> Option<PathBuf> {
    let r = common::sysroot("arm64");
    common::require("the arm64 sysroot (scripts/make-sysroot.sh)", r.is_some()).then_some(r?)
}

/// A directory that lives for the whole test run (shared layers).
fn shared_dir() -> &'static Path {
    static D: OnceLock<tempfile::TempDir> = OnceLock::new();
    D.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("minroot-check-test-")
            .tempdir()
            .unwrap()
    })
    .path()
}

/// `minroot pack --root ROOT ARGS`, which must succeed.
fn pack(root: &Path, args: &[&str]) {
    let o = common::minroot()
        .env_remove("SOURCE_DATE_EPOCH")
        .arg("pack")
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "pack {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// What the root's Python is called (`python3.11` on bookworm), from the root.
fn python(root: &Path) -> String {
    common::python_name(root).expect("/usr/bin/python3 in the root")
}

/// The canonical path, without its leading '/' (as a layer names it), of `path` in
/// `root`: the file a release's soname link points to (`libsqlite3.so.0.8.6`, ...).
fn layer_path_of(root: &Path, path: &str) -> String {
    let c = common::kernel_canonical(root, path).unwrap_or_else(|| panic!("{path} in the root"));
    c.trim_start_matches('/').to_string()
}

/// python3 with its standard library, packed from the amd64 sysroot once.
fn python_layer(root: &Path) -> PathBuf {
    static L: OnceLock<PathBuf> = OnceLock::new();
    L.get_or_init(|| {
        let out = shared_dir().join("python.tar");
        let stdlib = format!("/usr/lib/{}", python(root));
        pack(
            root,
            &[
                "-o",
                out.to_str().unwrap(),
                "--include",
                &stdlib,
                "/usr/bin/python3",
            ],
        );
        out
    })
    .clone()
}

/// Runs `minroot check --json ARGS`; returns (exit code, JSON or Null, stderr).
fn check_json(args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["check", "--json"];
    all.extend_from_slice(args);
    let (code, out, err) = common::run(&all);
    let v = serde_json::from_str(&out).unwrap_or(Value::Null);
    (code, v, err)
}

fn findings(v: &Value) -> Vec<Value> {
    v["findings"].as_array().cloned().unwrap_or_default()
}

fn has(v: &Value, kind: &str, key: &str, value: &str) -> bool {
    findings(v)
        .iter()
        .any(|f| f["kind"] == kind && f[key].as_str() == Some(value))
}

fn kinds(v: &Value) -> Vec<String> {
    findings(v)
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["severity"].as_str().unwrap_or(""),
                f["kind"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// Copies the tar at `src` to `dst` without the entries `drop` names and with `extra`
/// files (path, bytes) appended.
fn rewrite(src: &Path, dst: &Path, drop: &[&str], extra: &[(&str, Vec<u8>)]) {
    let mut ar = tar::Archive::new(std::fs::File::open(src).unwrap());
    let mut b = tar::Builder::new(std::fs::File::create(dst).unwrap());
    let mut dropped = 0;
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        if drop.contains(&path.trim_end_matches('/')) {
            dropped += 1;
            continue;
        }
        let mut h = e.header().clone();
        match h.entry_type() {
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let t = e.link_name().unwrap().unwrap().into_owned();
                b.append_link(&mut h, &path, t).unwrap();
            }
            _ => {
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                b.append_data(&mut h, &path, &data[..]).unwrap();
            }
        }
    }
    assert_eq!(
        dropped,
        drop.len(),
        "every entry to drop was in {}",
        src.display()
    );
    for (p, bytes) in extra {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, p, &bytes[..]).unwrap();
    }
    b.finish().unwrap();
}

#[test]
fn debian_root_is_checked_in_place_quickly() {
    let Some(root) = amd64() else { return };
    let t = Instant::now();
    let (code, v, err) = check_json(&[root.to_str().unwrap()]);
    let secs = t.elapsed().as_secs_f64();
    assert!(code == 0 || code == 1, "exit {code}: {err}");
    assert_eq!(v["arch"], "x86_64");
    assert_eq!(v["target"]["kind"], "directory");
    let stats = &v["stats"];
    assert!(stats["programs"].as_u64().unwrap() > 100, "{stats}");
    eprintln!(
        "debian root: {secs:.2}s, {} files, {} ELF ({} programs, {} libraries), {} errors, {} notes",
        stats["files"],
        stats["elf"],
        stats["programs"],
        stats["libraries"],
        v["errors"],
        v["notes"]
    );
    for f in findings(&v) {
        eprintln!("  {f}");
    }
    assert!(secs < 60.0, "took {secs:.1}s");
    // Debian's nsswitch.conf names db and nis; their modules are not installed: notes.
    for service in ["db", "nis"] {
        assert!(
            has(&v, "nss_module_missing", "service", service),
            "{:?}",
            kinds(&v)
        );
    }
    assert!(
        findings(&v)
            .iter()
            .filter(|f| f["kind"] == "nss_module_missing")
            .all(|f| f["severity"] == "note")
    );
    assert!(
        !kinds(&v)
            .iter()
            .any(|k| k.ends_with("bad_elf") || k.ends_with("wrong_class_or_machine")),
        "{:?}",
        kinds(&v)
    );
    // The exit status follows the errors.
    assert_eq!(code == 1, v["errors"].as_u64().unwrap() > 0);
}

#[test]
fn minroot_layers_are_clean() {
    let Some(root) = amd64() else { return };
    let layer = python_layer(&root);
    let (code, v, err) = check_json(&[layer.to_str().unwrap()]);
    assert_eq!(code, 0, "{err} {:?}", kinds(&v));
    assert_eq!(v["target"]["kind"], "layer");
    assert_eq!(v["errors"], 0, "{:?}", kinds(&v));
    assert!(v["stats"]["libraries"].as_u64().unwrap() > 20);

    let oci = shared_dir().join("nginx-oci");
    pack(&root, &["--oci", oci.to_str().unwrap(), "/usr/sbin/nginx"]);
    let (code, v, err) = check_json(&[oci.to_str().unwrap()]);
    assert_eq!(code, 0, "{err} {:?}", kinds(&v));
    assert_eq!(v["target"]["kind"], "image");
    assert_eq!(v["target"]["platform"], "linux/amd64");

    let archive = shared_dir().join("python-oci.tar");
    pack(
        &root,
        &[
            "--oci-archive",
            archive.to_str().unwrap(),
            "/usr/bin/python3",
        ],
    );
    let (code, v, err) = check_json(&[archive.to_str().unwrap()]);
    assert_eq!(code, 0, "{err} {:?}", kinds(&v));
    assert_eq!(v["target"]["layers"], 1);

    // --strict: the NSS notes (db, nis of Debian's nsswitch.conf) count.
    let (code, v, _) = check_json(&["--strict", archive.to_str().unwrap()]);
    assert_eq!(v["notes"].as_u64().unwrap() > 0, code == 1);
    // Text output: one line per finding and a summary.
    let (code, out, _) = common::run(&["check", layer.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.lines().last().unwrap().starts_with("checked "), "{out}");
}

#[test]
fn a_removed_library_is_named() {
    let Some(root) = amd64() else { return };
    let src = python_layer(&root);
    let dst = shared_dir().join("no-sqlite.tar");
    let lib = layer_path_of(&root, "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0");
    rewrite(&src, &dst, &[&lib], &[]);
    let (code, v, err) = check_json(&[dst.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    let m = findings(&v)
        .into_iter()
        .find(|f| f["kind"] == "missing_library" && f["name"] == "libsqlite3.so.0")
        .unwrap_or_else(|| panic!("{:?}", kinds(&v)));
    assert!(
        m["elf"].as_str().unwrap().contains("lib-dynload/_sqlite3"),
        "{m}"
    );
    assert!(
        m["tried"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "/etc/ld.so.cache")
    );
    assert!(has(
        &v,
        "dangling_symlink",
        "path",
        "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0"
    ));
    // Text: the finding names the library and the ELF.
    let (_, out, _) = common::run(&["check", dst.to_str().unwrap()]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("error: missing_library: ")
                && l.contains("libsqlite3.so.0 not found")),
        "{out}"
    );
}

#[test]
fn a_removed_symlink_target_is_named() {
    let Some(root) = amd64() else { return };
    let src = python_layer(&root);
    let py = python(&root);
    let dst = shared_dir().join("no-python3.X.tar");
    rewrite(&src, &dst, &[&format!("usr/bin/{py}")], &[]);
    let (code, v, _) = check_json(&[dst.to_str().unwrap()]);
    assert_eq!(code, 1);
    let f = findings(&v)
        .into_iter()
        .find(|f| f["kind"] == "dangling_symlink" && f["path"] == "/usr/bin/python3")
        .unwrap_or_else(|| panic!("{:?}", kinds(&v)));
    assert_eq!(f["target"], py.as_str());
    assert_eq!(f["severity"], "error");
}

#[test]
fn a_removed_interpreter_is_named() {
    let Some(root) = amd64() else { return };
    let src = python_layer(&root);
    let dst = shared_dir().join("no-loader.tar");
    rewrite(
        &src,
        &dst,
        &["usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"],
        &[],
    );
    let (code, v, _) = check_json(&[dst.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        findings(&v)
            .iter()
            .any(|f| f["kind"] == "missing_interpreter"
                && f["elf"] == format!("/usr/bin/{}", python(&root))
                && f["interp"] == "/lib64/ld-linux-x86-64.so.2"),
        "{:?}",
        kinds(&v)
    );
    assert!(has(
        &v,
        "dangling_symlink",
        "path",
        "/usr/lib64/ld-linux-x86-64.so.2"
    ));
    assert_eq!(
        v["arch"], "x86_64",
        "told by the programs when the loader is gone"
    );
}

#[test]
fn a_library_of_another_machine_is_named() {
    let (Some(root), Some(arm)) = (amd64(), arm64()) else {
        return;
    };
    let src = python_layer(&root);
    let dst = shared_dir().join("with-arm-lib.tar");
    // The soname link, followed: whichever release of libzstd the root has.
    let arm_lib = std::fs::read(arm.join("usr/lib/aarch64-linux-gnu/libzstd.so.1")).unwrap();
    rewrite(
        &src,
        &dst,
        &[],
        &[("usr/lib/x86_64-linux-gnu/libarmz.so.1", arm_lib)],
    );
    let (code, v, _) = check_json(&[dst.to_str().unwrap()]);
    assert_eq!(code, 1);
    let f = findings(&v)
        .into_iter()
        .find(|f| f["kind"] == "wrong_class_or_machine")
        .unwrap_or_else(|| panic!("{:?}", kinds(&v)));
    assert_eq!(f["path"], "/usr/lib/x86_64-linux-gnu/libarmz.so.1");
    assert_eq!(f["found"], "64-bit aarch64");
    assert_eq!(f["expected"], "64-bit x86_64");
    assert_eq!(f["reachable"], true, "in a directory the loader searches");
    assert_eq!(f["severity"], "error");
}

#[test]
fn an_aarch64_layer_is_checked_as_aarch64() {
    let Some(arm) = arm64() else { return };
    let out = shared_dir().join("arm64.tar.gz");
    // busybox: neither a language runtime (whose files a --no-runtime layer lacks, which
    // check reports) nor a TLS client (the arm64 root, where no maintainer script ran,
    // has no CA bundle, which check reports too); this test is about the architecture.
    pack(&arm, &["-o", out.to_str().unwrap(), "/bin/busybox"]);
    let (code, v, err) = check_json(&[out.to_str().unwrap()]);
    assert_eq!(v["arch"], "aarch64", "{err}");
    assert_eq!(code, 0, "{:?}", kinds(&v));
    assert!(v["stats"]["programs"].as_u64().unwrap() >= 1);
}

// ---------------------------------------------------------------------------------------
// An OCI layout with a whiteout in an upper layer.

fn sha256(b: &[u8]) -> String {
    let hex: String = Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    format!("sha256:{hex}")
}

fn write_blob(layout: &Path, bytes: &[u8]) -> String {
    let d = sha256(bytes);
    std::fs::write(layout.join("blobs/sha256").join(&d[7..]), bytes).unwrap();
    d
}

fn read_blob(layout: &Path, digest: &str) -> Value {
    serde_json::from_slice(&std::fs::read(layout.join("blobs/sha256").join(&digest[7..])).unwrap())
        .unwrap()
}

/// Adds `layer` (an uncompressed tar) on top of the single image of `layout`.
fn add_layer(layout: &Path, layer: &[u8]) {
    let mut index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let mdesc = &index["manifests"][0];
    let mut manifest = read_blob(layout, mdesc["digest"].as_str().unwrap());
    let mut config = read_blob(layout, manifest["config"]["digest"].as_str().unwrap());
    let ld = write_blob(layout, layer);
    config["rootfs"]["diff_ids"]
        .as_array_mut()
        .unwrap()
        .push(ld.clone().into());
    let cbytes = serde_json::to_vec(&config).unwrap();
    let cd = write_blob(layout, &cbytes);
    manifest["config"]["digest"] = cd.into();
    manifest["config"]["size"] = cbytes.len().into();
    manifest["layers"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": ld,
            "size": layer.len(),
        }));
    let mbytes = serde_json::to_vec(&manifest).unwrap();
    let md = write_blob(layout, &mbytes);
    index["manifests"][0]["digest"] = md.into();
    index["manifests"][0]["size"] = mbytes.len().into();
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
}

fn tar_with(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (p, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, p, *bytes).unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
fn oci_layout_with_a_whiteout_in_an_upper_layer() {
    let Some(root) = amd64() else { return };
    let oci = shared_dir().join("python-whiteout-oci");
    pack(&root, &["--oci", oci.to_str().unwrap(), "/usr/bin/python3"]);
    let (code, _, err) = check_json(&[oci.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let libz = layer_path_of(&root, "/usr/lib/x86_64-linux-gnu/libz.so.1");
    let (dir, name) = libz.rsplit_once('/').unwrap();
    let whiteout = format!("{dir}/.wh.{name}");
    let upper = tar_with(&[
        (whiteout.as_str(), b""),
        ("etc/.wh..wh..opq", b""),
        ("etc/motd", b"hello from the upper layer\n"),
    ]);
    add_layer(&oci, &upper);
    let (code, v, err) = check_json(&[oci.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(v["target"]["layers"], 2);
    assert_eq!(v["target"]["extracted"]["whiteouts"], 2);
    assert!(
        findings(&v).iter().any(|f| f["kind"] == "missing_library"
            && f["elf"] == format!("/usr/bin/{}", python(&root))
            && f["name"] == "libz.so.1"),
        "{:?}",
        kinds(&v)
    );
    assert!(has(
        &v,
        "dangling_symlink",
        "path",
        "/usr/lib/x86_64-linux-gnu/libz.so.1"
    ));
    // The opaque /etc took the lower nsswitch.conf away: no NSS notes any more.
    assert!(
        !kinds(&v).iter().any(|k| k.ends_with("nss_module_missing")),
        "{:?}",
        kinds(&v)
    );

    // A broken digest is an error (exit 2), not a finding.
    let index: Value =
        serde_json::from_slice(&std::fs::read(oci.join("index.json")).unwrap()).unwrap();
    let manifest = read_blob(&oci, index["manifests"][0]["digest"].as_str().unwrap());
    let top = manifest["layers"][1]["digest"].as_str().unwrap();
    std::fs::write(
        oci.join("blobs/sha256").join(&top[7..]),
        tar_with(&[("x", b"other")]),
    )
    .unwrap();
    let (code, _, err) = common::run(&["check", oci.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("digest mismatch"), "{err}");
}

// ---------------------------------------------------------------------------------------
// Hostile input.

/// A tar with one regular file at `name`, written with raw headers (the tar builder
/// refuses `..` and absolute names).
fn raw_tar(entries: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, ty, link) in entries {
        let mut h = tar::Header::new_ustar();
        let u = h.as_ustar_mut().unwrap();
        u.name[..name.len()].copy_from_slice(name.as_bytes());
        u.linkname[..link.len()].copy_from_slice(link.as_bytes());
        let data: &[u8] = if *ty == tar::EntryType::Regular {
            b"pwned\n"
        } else {
            b""
        };
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(*ty);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0; 1024]);
    out
}

#[test]
fn hostile_layers_are_refused_or_confined() {
    let t = tempfile::tempdir().unwrap();
    let victim = t.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    let victim_s = victim.to_str().unwrap().to_string();
    let up = format!("../../../../../../../..{victim_s}/escaped");
    for (what, entries) in [
        ("dotdot", vec![(up.as_str(), tar::EntryType::Regular, "")]),
        (
            "absolute",
            vec![(&*format!("{victim_s}/abs"), tar::EntryType::Regular, "")],
        ),
    ] {
        let p = t.path().join(format!("{what}.tar"));
        std::fs::write(&p, raw_tar(&entries)).unwrap();
        let (code, _, err) = common::run(&["check", p.to_str().unwrap()]);
        assert_eq!(code, 2, "{what}: {err}");
        assert!(err.contains("refused"), "{what}: {err}");
    }
    // A symlink to the victim directory, then a file through it: written inside the image.
    let p = t.path().join("through.tar");
    std::fs::write(
        &p,
        raw_tar(&[
            ("a", tar::EntryType::Symlink, &victim_s),
            ("a/through", tar::EntryType::Regular, ""),
        ]),
    )
    .unwrap();
    let (code, _, err) = common::run(&["check", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::read_dir(&victim).unwrap().next().is_none(),
        "nothing written outside"
    );
    // Not a tar at all.
    let p = t.path().join("garbage.tar");
    std::fs::write(&p, vec![0x55u8; 2048]).unwrap();
    let (code, _, err) = common::run(&["check", p.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = common::run(&["check", t.path().join("missing").to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn temporary_directories_are_removed() {
    let Some(root) = amd64() else { return };
    let layer = python_layer(&root);
    let tmp = tempfile::tempdir().unwrap();
    let o = common::minroot()
        .env("TMPDIR", tmp.path())
        .args(["check", layer.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(
        std::fs::read_dir(tmp.path()).unwrap().next().is_none(),
        "scratch left behind"
    );
}

#[test]
fn a_multi_platform_image_is_checked_for_the_chosen_platform() {
    let (Some(amd), Some(arm)) = (amd64(), arm64()) else {
        return;
    };
    let dir = shared_dir().join("multi");
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("minroot.toml");
    std::fs::write(
        &spec,
        format!(
            // busybox: see an_aarch64_layer_is_checked_as_aarch64.
            "bins = [\"/bin/busybox\"]\n[image]\ntag = \"bb:1\"\n\
             [[platform]]\nname = \"linux/amd64\"\nroot = \"{}\"\n\
             [[platform]]\nname = \"linux/arm64\"\nroot = \"{}\"\n",
            amd.display(),
            arm.display()
        ),
    )
    .unwrap();
    let oci = dir.join("oci");
    let o = common::minroot()
        .args([
            "build",
            spec.to_str().unwrap(),
            "--oci",
            oci.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (code, v, err) = check_json(&["--platform", "linux/arm64", oci.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["arch"], "aarch64");
    assert_eq!(v["target"]["platform"], "linux/arm64/v8");
    let (_, v, _) = check_json(&["--platform", "amd64", oci.to_str().unwrap()]);
    assert_eq!(v["arch"], "x86_64");
}

#[test]
fn a_docker_save_archive_is_read() {
    let Some(root) = amd64() else { return };
    let layer = std::fs::read(python_layer(&root)).unwrap();
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let manifest = br#"[{"Config":"cfg.json","RepoTags":["py:1"],"Layers":["abc/layer.tar"]}]"#;
    let archive = tar_with(&[
        ("manifest.json", manifest),
        ("cfg.json", config),
        ("abc/layer.tar", &layer),
    ]);
    let p = shared_dir().join("docker-save.tar");
    std::fs::write(&p, archive).unwrap();
    let (code, v, err) = check_json(&[p.to_str().unwrap()]);
    assert_eq!(code, 0, "{err} {:?}", kinds(&v));
    assert_eq!(v["target"]["kind"], "image");
    assert_eq!(v["target"]["platform"], "linux/amd64");
    assert!(v["stats"]["programs"].as_u64().unwrap() >= 1);
}

// ---------------------------------------------------------------------------------------
// An independent judge: every finding on a Debian root, and every ELF file passed, against
// the root's real loader and the kernel's own path resolution.

/// Whether `path` exists in `root` as the kernel resolves it under chroot (openat2 with
/// RESOLVE_IN_ROOT: absolute symlinks restart at the root, `..` stays in it), following a
/// final symlink: minroot's resolver is not asked.
fn exists_in_root(root: &Path, path: &str) -> bool {
    common::kernel_canonical(root, path).is_some()
}

/// The root's loader on `elf` (a program or a library), `ld.so --list` with `preload`
/// loaded first (what a plugin's host loads before it): (success, stdout, stderr).
fn loader_list(root: &Path, arch: Arch, elf: &str, preload: &[String]) -> (bool, String, String) {
    let joined = preload.join(":");
    let mut args: Vec<&str> = Vec::new();
    if !preload.is_empty() {
        args.extend(["--preload", &joined]);
    }
    args.extend(["--list", elf]);
    let out = common::run_in_root(root, arch, arch.loader_path(), &args, &[]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The dynamic ELF files of `arch` in `root` (regular files, not through symlinks), as
/// paths inside it, sorted.
fn dynamic_elf_files(root: &Path, arch: Arch) -> Vec<String> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(root).sort_by_file_name() {
        let Ok(e) = e else { continue };
        if !e.file_type().is_file() {
            continue;
        }
        let mut head = [0u8; 4];
        let is_elf = std::fs::File::open(e.path())
            .and_then(|mut f| f.read_exact(&mut head))
            .is_ok()
            && minroot::elf::is_elf(&head);
        if !is_elf {
            continue;
        }
        let Ok(bytes) = std::fs::read(e.path()) else {
            continue;
        };
        let Ok(info) = minroot::elf::inspect(&bytes, minroot::elf::Options { symbols: false })
        else {
            continue;
        };
        if info.machine != arch.elf_machine() || !info.class64 || !info.dynamic || info.is_static()
        {
            continue;
        }
        let rel = e.path().strip_prefix(root).expect("under the root");
        out.push(format!("/{}", rel.to_string_lossy()));
    }
    out
}

/// What a plugin's host loads before each of `elfs` (`plugin_set.loaded_first` of
/// `minroot trace --format json`, one run): the JVM's lib/server/libjvm.so before its
/// lib/*.so. The real loader then judges the rest.
fn loaded_first(root: &Path, elfs: &[String]) -> std::collections::HashMap<String, Vec<String>> {
    let mut args = vec![
        "trace",
        "--root",
        root.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend(elfs.iter().map(String::as_str));
    let (_, out, err) = common::run(&args);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("trace json: {e}: {err}"));
    v["programs"]
        .as_array()
        .expect("programs")
        .iter()
        .filter_map(|p| {
            let first: Vec<String> = p["plugin_set"]["loaded_first"]
                .as_array()?
                .iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect();
            Some((p["program"].as_str()?.to_string(), first))
        })
        .collect()
}

/// Judges `minroot check ROOT` on a Debian root: every error finding is confirmed (a
/// library flagged as missing is missing for the real loader; a dangling symlink, a
/// missing CA bundle or interpreter does not resolve for the kernel), and every dynamic
/// ELF file with no finding really loads. Returns what was judged.
fn judge_check(name: &str, root: &Path, arch: Arch) -> String {
    let (code, v, err) = check_json(&[root.to_str().unwrap()]);
    assert!(code == 0 || code == 1, "{name}: exit {code}: {err}");
    let elfs = dynamic_elf_files(root, arch);
    assert!(elfs.len() > 100, "{name}: only {} ELF files", elfs.len());
    let first = loaded_first(root, &elfs);
    let preload = |elf: &str| first.get(elf).cloned().unwrap_or_default();
    let mut wrong: Vec<String> = Vec::new();
    let mut flagged: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    let mut confirmed = 0;
    for f in findings(&v)
        .into_iter()
        .filter(|f| f["severity"] == "error")
    {
        let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
        match f["kind"].as_str().unwrap_or_default() {
            "missing_library" | "loader_error" => {
                flagged.entry(s("elf")).or_default().push(f.clone());
            }
            "missing_interpreter" => {
                if exists_in_root(root, &s("interp")) {
                    wrong.push(format!("{f}: the interpreter exists"));
                }
                flagged.entry(s("elf")).or_default().push(f.clone());
            }
            "gconv_missing" => {
                if exists_in_root(root, &s("dir")) {
                    wrong.push(format!("{f}: the gconv directory exists"));
                }
                flagged.entry(s("elf")).or_default().push(f.clone());
            }
            "dangling_symlink" | "symlink_loop" | "escaping_symlink" => {
                let p = s("path");
                let is_link = std::fs::symlink_metadata(root.join(p.trim_start_matches('/')))
                    .is_ok_and(|m| m.file_type().is_symlink());
                if !is_link || exists_in_root(root, &p) {
                    wrong.push(format!("{f}: the kernel resolves it"));
                }
                confirmed += 1;
            }
            "ca_bundle_missing" => {
                let found: Vec<&str> = f["tried"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str())
                    .filter(|t| exists_in_root(root, t))
                    .collect();
                if !found.is_empty() {
                    wrong.push(format!("{f}: {found:?} exist"));
                }
                confirmed += 1;
            }
            other => panic!("{name}: no judge for the finding kind {other}: {f}"),
        }
    }
    // Every ELF, flagged or passed, before the real loader (two at a time).
    let half = elfs.len().div_ceil(2);
    let results: Vec<(String, (bool, String, String))> = std::thread::scope(|sc| {
        let hs: Vec<_> = elfs
            .chunks(half)
            .map(|chunk| {
                sc.spawn(|| {
                    chunk
                        .iter()
                        .map(|e| (e.clone(), loader_list(root, arch, e, &preload(e))))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let mut passed = 0;
    for (elf, (ok, out, err)) in &results {
        match flagged.remove(elf) {
            None => {
                if !ok || out.contains("not found") {
                    wrong.push(format!(
                        "{elf}: passed by check, but the loader says: {}{}",
                        out.trim(),
                        err.trim()
                    ));
                }
                passed += 1;
            }
            Some(fs) => {
                for f in fs {
                    let lib = f["name"].as_str().unwrap_or_default();
                    let fails = match f["kind"].as_str().unwrap_or_default() {
                        "missing_library" => {
                            out.contains(&format!("{lib} => not found"))
                                || err.contains(&format!("{lib}: cannot open shared object file"))
                        }
                        "loader_error" => !ok,
                        // Judged above, from the file system.
                        _ => true,
                    };
                    if !fails {
                        wrong.push(format!(
                            "{f}: the loader loads it: {}{}",
                            out.trim(),
                            err.trim()
                        ));
                    }
                    confirmed += 1;
                }
            }
        }
    }
    for (elf, fs) in flagged {
        wrong.push(format!(
            "{elf}: flagged ({fs:?}) but not a dynamic {arch} ELF file"
        ));
    }
    assert!(
        wrong.is_empty(),
        "{name}: check and the real loader disagree:\n  {}",
        wrong.join("\n  ")
    );
    assert_eq!(
        code == 1,
        confirmed > 0,
        "{name}: the exit status follows the errors"
    );
    format!("{name}: {confirmed} findings confirmed, {passed} ELF files passed and loaded")
}

#[test]
fn debian_root_findings_are_confirmed_by_the_real_loader() {
    for (name, arch) in [("amd64", Arch::X86_64), ("arm64", Arch::Aarch64)] {
        let Some(root) = (match name {
            "amd64" => amd64(),
            _ => arm64(),
        }) else {
            continue;
        };
        if !common::require(
            &format!("bwrap (and qemu-user for a foreign arch) to run the {arch} loader"),
            common::can_run_loader(arch),
        ) {
            continue;
        }
        eprintln!("{}", judge_check(name, &root, arch));
    }
}

// ---------------------------------------------------------------------------------------
// The size bound, and contents check never reads.

/// A gzip layer holding one 4 GiB file of zeros (about 4 MB), made once.
fn zero_layer() -> &'static Path {
    static L: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, p) = L.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("zero.tar.gz");
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&p).unwrap(),
            flate2::Compression::default(),
        );
        let mut b = tar::Builder::new(gz);
        let mut h = tar::Header::new_gnu();
        h.set_size(4 << 30);
        h.set_mode(0o644);
        b.append_data(&mut h, "data/zero", std::io::repeat(0).take(4 << 30))
            .unwrap();
        b.into_inner().unwrap().finish().unwrap();
        (d, p)
    });
    p
}

#[test]
fn a_4_gib_file_of_zeros_is_checked_without_writing_it() {
    use minroot::check::untar::{Contents, Limits};
    use minroot::check::{Target, TargetOptions};
    use std::os::unix::fs::MetadataExt;
    let layer = zero_layer();
    let gz = std::fs::metadata(layer).unwrap().len();
    assert!(gz < 8 << 20, "{gz} bytes of gzip");
    // The tree check scans, kept alive to be measured: du of the scratch directory.
    let tmp = tempfile::tempdir().unwrap();
    let target = Target::open(
        layer,
        &TargetOptions {
            platform: None,
            scratch_parent: tmp.path().to_path_buf(),
            scratch_prefix: "minroot-check-",
            limits: Limits {
                contents: Contents::Checked,
                max_total_bytes: 16 << 30,
                ..Limits::default()
            },
            progress: Default::default(),
        },
    )
    .unwrap();
    let (mut apparent, mut disk) = (0u64, 0u64);
    for e in walkdir::WalkDir::new(tmp.path()) {
        let m = e.unwrap().metadata().unwrap();
        apparent += m.len();
        disk += m.blocks() * 512;
    }
    eprintln!(
        "zero.tar.gz: {gz} bytes of gzip; scratch: {apparent} bytes apparent, {disk} bytes on disk"
    );
    assert_eq!(
        std::fs::metadata(target.root.join("data/zero"))
            .unwrap()
            .len(),
        4 << 30
    );
    assert!(disk < 1 << 20, "{disk} bytes on disk for the 4 GiB file");
    drop(target);
    assert!(std::fs::read_dir(tmp.path()).unwrap().next().is_none());

    // The command, with its TMPDIR in a 64 MiB tmpfs (a private mount namespace): writing
    // the file would fail with ENOSPC.
    if !common::require("unshare (util-linux)", common::have("unshare")) {
        return;
    }
    let script =
        r#"set -e; mount -t tmpfs -o size=64m tmpfs "$1"; TMPDIR="$1" "$2" check --json "$3""#;
    let out = std::process::Command::new("unshare")
        .args(["--map-root-user", "--mount", "sh", "-c", script, "sh"])
        .arg(tmp.path())
        .arg(env!("CARGO_BIN_EXE_minroot"))
        .arg(layer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["target"]["kind"], "layer", "{v}");
    assert_eq!(v["stats"]["files"], 1, "{v}");
    assert_eq!(v["target"]["extracted"]["bytes"], 4u64 << 30, "{v}");
}

#[test]
fn an_image_over_the_size_bound_fails_and_leaves_nothing() {
    let layer = zero_layer();
    let tmp = tempfile::tempdir().unwrap();
    let out = common::minroot()
        .args(["check", "--max-image-size", "1G"])
        .arg(layer)
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for part in [
        layer.to_str().unwrap(),
        "more than 1G (1073741824 bytes) of files",
        "--max-image-size",
    ] {
        assert!(err.contains(part), "{part:?} not in: {err}");
    }
    assert!(
        std::fs::read_dir(tmp.path()).unwrap().next().is_none(),
        "left in TMPDIR"
    );
    // The default bound (16G) takes it: a_4_gib_file_of_zeros_is_checked_without_writing_it.
}
