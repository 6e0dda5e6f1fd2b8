//! End to end: `--root IMAGE`, images in and images out, as podman makes, loads and runs
//! them.
//!
//! A fat image is built here with `podman build` from the amd64 test root (a hard-link
//! copy, so nothing is copied but what podman copies) with a real config: a Python
//! entrypoint with a script, a Cmd, an Env variable the script prints, WorkingDir, User,
//! ExposedPorts, Volumes, Labels, StopSignal. Saved as a docker-archive, an OCI archive
//! and an OCI layout directory, each is minimised by `minroot pack --root IMAGE` with no
//! BIN, loaded and run with no arguments: it prints exactly what the fat image printed,
//! and `podman inspect` of the two agrees on every run field, except the one a flag
//! changed. One platform of a two-platform index (the arm64 one built from the arm64
//! root) is taken with `--platform`, and the arm64 layer runs under qemu-user. Images made
//! from the fat one: a shell-form entrypoint (the layer keeps the shell and the output
//! says so; `probe --root IMAGE` runs the image's own command and `pack --probe` packs
//! what it used) over a layer whose whiteouts removed files, and an nginx server (probed
//! with no `-- PROG` under `--timeout`) whose packed image passes `nginx -t` and serves
//! its page. `report --root IMAGE` compares the image with the output.
//!
//! Hostile images are written here by code (OCI layouts, docker-archives): a blob whose
//! digest does not match, a layer with `../` or an absolute path, a whiteout reaching
//! outside the root, a hard link out of the layer, a layer bomb over `--max-image-size`,
//! truncated archives. Each exits 2 with a message naming the image and the blob, and
//! leaves nothing in its TMPDIR (a fresh one per case). Every minroot run of this file has
//! its own TMPDIR and must leave it empty.
//!
//! Images are named `minroot-test-image-*` with the process id and removed when the test
//! ends, even when it fails (`common::podman::Podman`). The fat image is shared by the
//! tests that run at the same time and removed when the last of them ends. Each step
//! prints how long it took (`--nocapture`), and the tests print `numbers:` lines (sizes,
//! package counts) for the record.

mod common;
use common::have_podman;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use common::podman::{Podman, assert_no_shell, podman, text, tool};
use minroot::arch::Arch;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The run fields of an image config that the output inherits.
const FIELDS: &[&str] = &[
    "Entrypoint",
    "Cmd",
    "Env",
    "WorkingDir",
    "User",
    "ExposedPorts",
    "Volumes",
    "Labels",
    "StopSignal",
];

/// The fat image's script: what it was given, from where, as whom.
const MAIN_PY: &str = r#"import json, os, sys
print(json.dumps({"greeting": os.environ.get("GREETING"), "args": sys.argv[1:], "cwd": os.getcwd(), "uid": os.getuid()}, sort_keys=True))
"#;

/// What the fat image prints with no arguments.
const FAT_PRINTS: &str =
    r#"{"args": ["world"], "cwd": "/app", "greeting": "bonjour", "uid": 65534}"#;

// ---------------------------------------------------------------------------------------
// Resources

fn sysroot(arch: &str) -> Option<PathBuf> {
    let r = common::sysroot(arch);
    common::require(
        &format!("the {arch} sysroot (scripts/make-sysroot.sh)"),
        r.is_some(),
    )
    .then(|| r.unwrap())
}

fn tmpdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("minroot-image-e2e-")
        .tempdir()
        .unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// `podman build --network none FLAGS... -t NAME DIR`, owned by `p`.
fn build(p: &mut Podman, dir: &Path, name: &str, flags: &[&str]) {
    let mut f = vec!["--network", "none"];
    f.extend_from_slice(flags);
    p.build_with(dir, name, &f);
}

/// `podman save --format FORMAT -o DEST IMAGE`.
fn save(image: &str, format: &str, dest: &Path) {
    tool(
        podman()
            .args(["save", "--format", format, "-o"])
            .arg(dest)
            .arg(image),
    );
}

/// A unique image name for this process.
fn image_name(what: &str) -> String {
    format!(
        "localhost/minroot-test-image-{what}-{}:1",
        std::process::id()
    )
}

/// What a directory holds (names), for the "nothing left behind" checks.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------
// minroot, each run with a fresh TMPDIR that it must leave empty

/// Runs `minroot ARGS...` with its own TMPDIR; asserts the TMPDIR is empty afterwards.
fn minroot(args: &[&str]) -> Output {
    let tmp = tmpdir();
    let t = Instant::now();
    let o = common::minroot()
        .env_remove("SOURCE_DATE_EPOCH")
        .env("TMPDIR", tmp.path())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run minroot");
    eprintln!(
        "timing: minroot {}: {:.2}s",
        args.join(" "),
        t.elapsed().as_secs_f64()
    );
    assert_eq!(
        listing(tmp.path()),
        Vec::<String>::new(),
        "minroot {args:?} left files in its TMPDIR (exit {:?}; {})",
        o.status.code(),
        text(&o.stderr)
    );
    o
}

/// Runs minroot, which must succeed; returns stdout and stderr.
fn minroot_ok(args: &[&str]) -> (String, String) {
    let o = minroot(args);
    assert!(
        o.status.success(),
        "minroot {args:?} failed ({:?}):\n{}{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    (text(&o.stdout), text(&o.stderr))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ---------------------------------------------------------------------------------------
// Reading an OCI archive minroot wrote (independently of minroot's code)

/// Every file of a tar, by path.
fn tar_files(archive: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut a = tar::Archive::new(std::fs::File::open(archive).unwrap());
    let mut out = BTreeMap::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        if e.header().entry_type().is_file() {
            let p = e.path().unwrap().to_string_lossy().into_owned();
            let mut b = Vec::new();
            e.read_to_end(&mut b).unwrap();
            out.insert(p, b);
        }
    }
    out
}

/// The (manifest, config, layer blob sizes) of the only image of an OCI archive.
fn archive_image(archive: &Path) -> (Value, Value, Vec<u64>) {
    let files = tar_files(archive);
    let blob = |d: &str| -> Value {
        let b = &files[&format!("blobs/sha256/{}", d.trim_start_matches("sha256:"))];
        assert_eq!(sha256(b), d, "the blob matches its digest");
        serde_json::from_slice(b).unwrap()
    };
    let index: Value = serde_json::from_slice(&files["index.json"]).unwrap();
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 1, "{index}");
    let manifest = blob(manifests[0]["digest"].as_str().unwrap());
    let config = blob(manifest["config"]["digest"].as_str().unwrap());
    let sizes = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["size"].as_u64().unwrap())
        .collect();
    (manifest, config, sizes)
}

/// The manifest digest of the only image of an OCI layout directory.
fn layout_manifest_digest(dir: &Path) -> String {
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

// ---------------------------------------------------------------------------------------
// The fat image

/// A build context whose `rootfs/` is a hard-link copy of `sysroot` (the sysroot is
/// shared and read-only: nothing here writes into `rootfs/`) and whose `app/` holds the
/// script.
fn context(sysroot: &Path, dir: &Path, containerfile: &str) {
    std::fs::create_dir_all(dir.join("app")).unwrap();
    tool(
        Command::new("cp")
            .arg("-al")
            .arg(sysroot)
            .arg(dir.join("rootfs")),
    );
    std::fs::write(dir.join("app/main.py"), MAIN_PY).unwrap();
    std::fs::write(dir.join("Containerfile"), containerfile).unwrap();
}

/// The fat image's Containerfile: every run field set.
const FAT_CONTAINERFILE: &str = r#"FROM scratch
COPY rootfs/ /
COPY app/ /app/
ENV GREETING=bonjour
WORKDIR /app
USER nobody
EXPOSE 8080/tcp
VOLUME /data
STOPSIGNAL SIGINT
LABEL org.example.test=fat org.example.kind="python app"
ENTRYPOINT ["/usr/bin/python3", "/app/main.py"]
CMD ["world"]
"#;

/// The fat amd64 image, built once for the tests that run at the same time, in podman
/// and saved in every format.
struct Fat {
    /// Owns the image: removed when the last test drops the `Fat`.
    _podman: Podman,
    name: String,
    dir: tempfile::TempDir,
    inspect: Value,
}

impl Fat {
    fn docker_archive(&self) -> PathBuf {
        self.dir.path().join("fat.docker.tar")
    }
    fn oci_archive(&self) -> PathBuf {
        self.dir.path().join("fat.oci.tar")
    }
    fn oci_dir(&self) -> PathBuf {
        self.dir.path().join("fat.oci")
    }
}

/// The shared fat image (built by the first test that asks; removed when the last test
/// holding it drops it, also when that test fails).
fn fat() -> Arc<Fat> {
    static FAT: Mutex<Weak<Fat>> = Mutex::new(Weak::new());
    let mut slot = FAT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(f) = slot.upgrade() {
        return f;
    }
    let root = sysroot("amd64").expect("checked by the caller");
    let dir = tmpdir();
    let ctx = dir.path().join("ctx");
    context(&root, &ctx, FAT_CONTAINERFILE);
    let name = image_name(&format!("fat-{}", N.fetch_add(1, SeqCst)));
    let mut p = Podman::default();
    build(&mut p, &ctx, &name, &[]);
    // The context is no longer needed (it holds hard links only).
    std::fs::remove_dir_all(&ctx).unwrap();
    save(&name, "docker-archive", &dir.path().join("fat.docker.tar"));
    save(&name, "oci-archive", &dir.path().join("fat.oci.tar"));
    save(&name, "oci-dir", &dir.path().join("fat.oci"));
    let inspect = p.inspect(&name);
    let f = Arc::new(Fat {
        _podman: p,
        name,
        dir,
        inspect,
    });
    *slot = Arc::downgrade(&f);
    f
}

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
static N: AtomicUsize = AtomicUsize::new(0);

/// Asserts that the run fields of two `podman inspect`s agree, except `changed`, which
/// must differ.
fn same_config(a: &Value, b: &Value, changed: &[&str], what: &str) {
    for f in FIELDS {
        let (x, y) = (&a["Config"][f], &b["Config"][f]);
        if changed.contains(f) {
            assert_ne!(x, y, "{what}: {f} was changed by a flag");
        } else {
            assert_eq!(x, y, "{what}: {f}");
        }
    }
}

/// Packs `image` (no BIN) into an OCI archive with `extra` flags, loads it and returns
/// its name, the archive and pack's stderr.
fn pack_and_load(
    p: &mut Podman,
    out: &Path,
    image: &Path,
    what: &str,
    extra: &[&str],
) -> (String, PathBuf, String) {
    let name = image_name(&format!("min-{what}-{}", N.fetch_add(1, SeqCst)));
    let archive = out.join(format!("{what}.oci.tar"));
    let mut args = vec![
        "pack",
        "--root",
        s(image),
        "--oci-archive",
        s(&archive),
        "--tag",
        name.as_str(),
    ];
    args.extend_from_slice(extra);
    let (_, err) = minroot_ok(&args);
    p.load(&archive, &[name.as_str()]);
    (name, archive, err)
}

/// Minimised from a docker-archive, an OCI archive and an OCI layout directory with no
/// BIN, the image prints exactly what the fat one prints, inherits every run field, and
/// records the source image's digest in its manifest.
#[test]
fn fat_image_minimised_from_each_format_runs_as_it_did_with_its_config() {
    if !have_podman() || sysroot("amd64").is_none() {
        return;
    }
    let fat = fat();
    let mut p = Podman::default();
    let fat_out = p.run_ok(&[], &fat.name, &[]);
    assert_eq!(fat_out.trim(), FAT_PRINTS);
    let t = tmpdir();
    let docker_digest = fat.inspect["Id"].as_str().map(|i| format!("sha256:{i}"));
    let oci_archive_digest = {
        let files = tar_files(&fat.oci_archive());
        let index: Value = serde_json::from_slice(&files["index.json"]).unwrap();
        index["manifests"][0]["digest"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for (what, image, digest) in [
        (
            "docker-archive",
            fat.docker_archive(),
            docker_digest.unwrap(),
        ),
        ("oci-archive", fat.oci_archive(), oci_archive_digest),
        (
            "oci-dir",
            fat.oci_dir(),
            layout_manifest_digest(&fat.oci_dir()),
        ),
    ] {
        let (name, archive, _) = pack_and_load(&mut p, t.path(), &image, what, &[]);
        let out = p.run_ok(&[], &name, &[]);
        assert_eq!(
            out, fat_out,
            "{what}: the minimised image prints what the fat one does"
        );
        let min = p.inspect(&name);
        same_config(&fat.inspect, &min, &[], what);
        let (manifest, config, sizes) = archive_image(&archive);
        assert_eq!(
            manifest["annotations"]["org.opencontainers.image.base.digest"],
            json!(digest),
            "{what}: the source image's digest"
        );
        assert_eq!(
            manifest["annotations"]["org.opencontainers.image.base.name"],
            json!(image.display().to_string()),
            "{what}"
        );
        assert_eq!(config["architecture"], "amd64");
        assert_no_shell(&p, &name);
        eprintln!(
            "numbers: {what}: fat image {} bytes (podman), minimised {} bytes (podman), layer blob {} bytes (gzip)",
            fat.inspect["Size"], min["Size"], sizes[0]
        );
    }
}

/// Each image flag overrides only its own field: `--env` changes Env (one variable, the
/// others kept), `--cmd` changes Cmd and not the Entrypoint.
#[test]
fn a_flag_overrides_only_its_own_field_of_the_source_config() {
    if !have_podman() || sysroot("amd64").is_none() {
        return;
    }
    let fat = fat();
    let mut p = Podman::default();
    let t = tmpdir();
    let (name, _, _) = pack_and_load(
        &mut p,
        t.path(),
        &fat.docker_archive(),
        "env",
        &["--env", "GREETING=salut"],
    );
    let min = p.inspect(&name);
    same_config(&fat.inspect, &min, &["Env"], "--env");
    let env = |v: &Value| -> Vec<String> {
        v["Config"]["Env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .filter(|e| !e.starts_with("GREETING="))
            .collect()
    };
    assert_eq!(env(&fat.inspect), env(&min), "the other variables are kept");
    let out = p.run_ok(&[], &name, &[]);
    assert_eq!(
        out.trim(),
        FAT_PRINTS.replace("bonjour", "salut"),
        "the script sees the new value"
    );

    let (name, _, _) = pack_and_load(
        &mut p,
        t.path(),
        &fat.docker_archive(),
        "cmd",
        &["--cmd", "moon"],
    );
    let min = p.inspect(&name);
    same_config(&fat.inspect, &min, &["Cmd"], "--cmd");
    assert_eq!(min["Config"]["Cmd"], json!(["moon"]));
    let out = p.run_ok(&[], &name, &[]);
    assert_eq!(out.trim(), FAT_PRINTS.replace("world", "moon"));
}

/// `report --root IMAGE`: the source image against the output, with the image named by
/// its digest, fewer packages, files and bytes, and the attack surface of each.
#[test]
fn report_compares_the_source_image_with_the_output() {
    if !have_podman() || sysroot("amd64").is_none() {
        return;
    }
    let fat = fat();
    let (json_out, _) = minroot_ok(&["report", "--root", s(&fat.docker_archive()), "--json"]);
    let r: Value = serde_json::from_str(&json_out).unwrap();
    let id = fat.inspect["Id"].as_str().unwrap();
    assert_eq!(
        r["image"],
        json!(format!("{}@sha256:{id}", fat.docker_archive().display()))
    );
    for k in ["packages", "files", "bytes"] {
        let (root, layer) = (
            r[k]["root"].as_u64().unwrap(),
            r[k]["layer"].as_u64().unwrap(),
        );
        assert!(layer > 0 && layer < root, "{k}: {r}");
    }
    assert!(
        r["root_surface"]["shells"].as_u64().unwrap() >= 3,
        "dash, bash, sh..."
    );
    assert!(
        r["root_surface"]["package_managers"].as_u64().unwrap() >= 3,
        "dpkg, apt..."
    );
    for k in ["shells", "package_managers", "setuid", "setgid"] {
        assert_eq!(r["layer_surface"][k], json!([]), "{k}: the output has none");
    }
    let paths = |k: &str| -> Vec<String> {
        r["root_surface_paths"][k]
            .as_array()
            .unwrap_or_else(|| panic!("{k}: {r}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        paths("shells").contains(&"/usr/bin/dash".to_string()),
        "{:?}",
        paths("shells")
    );
    assert!(paths("package_managers").contains(&"/usr/bin/dpkg".to_string()));
    assert!(paths("package_managers").contains(&"/usr/bin/apt-get".to_string()));
    assert_eq!(
        paths("shells").len() as u64,
        r["root_surface"]["shells"].as_u64().unwrap()
    );
    let (txt, _) = minroot_ok(&["report", "--root", s(&fat.docker_archive())]);
    assert!(
        txt.starts_with(&format!(
            "source image: {}@sha256:{id}\n",
            fat.docker_archive().display()
        )),
        "{txt}"
    );
    assert!(
        txt.contains("/usr/bin/dash"),
        "the root's shells are named: {txt}"
    );
    eprintln!(
        "numbers: fat python image: packages {} -> {}, files {} -> {}, bytes {} -> {}",
        r["packages"]["root"],
        r["packages"]["layer"],
        r["files"]["root"],
        r["files"]["layer"],
        r["bytes"]["root"],
        r["bytes"]["layer"]
    );
}

/// An image made from the fat one with a shell-form entrypoint, over a layer whose
/// whiteouts removed /usr/share/doc: the whiteouts are honoured; pack keeps the shell and
/// says so; `probe --root IMAGE` with no program runs the image's own command (with its
/// Env, WorkingDir and User), and the image packed from that record prints what the
/// source prints.
#[test]
fn shell_form_entrypoint_keeps_the_shell_and_probe_runs_the_image_command() {
    if !have_podman() || sysroot("amd64").is_none() {
        return;
    }
    let fat = fat();
    let mut p = Podman::default();
    let t = tmpdir();
    let ctx = t.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        format!(
            "FROM {}\nUSER root\nRUN rm -rf /usr/share/doc && rm /etc/debian_version\nUSER nobody\nENTRYPOINT python3 /app/main.py \"$GREETING\"\n",
            fat.name
        ),
    )
    .unwrap();
    let name = image_name(&format!("shell-{}", N.fetch_add(1, SeqCst)));
    build(&mut p, &ctx, &name, &[]);
    let src_out = p.run_ok(&[], &name, &[]);
    assert_eq!(
        src_out.trim(),
        r#"{"args": ["bonjour"], "cwd": "/app", "greeting": "bonjour", "uid": 65534}"#
    );
    let archive = t.path().join("shell.docker.tar");
    save(&name, "docker-archive", &archive);

    // The whiteouts of the second layer are applied: what it removed is not in the root.
    for (img, gone) in [(fat.docker_archive(), false), (archive.clone(), true)] {
        for path in ["/usr/share/doc", "/etc/debian_version"] {
            let o = minroot(&["files", "--root", s(&img), "--include", path]);
            assert_eq!(
                o.status.code(),
                Some(if gone { 2 } else { 0 }),
                "{} {path}: {}",
                img.display(),
                text(&o.stderr)
            );
        }
    }

    // The shell is the program, and the output says so.
    let (files, err) = minroot_ok(&["files", "--root", s(&archive)]);
    assert!(
        err.contains("the image's entrypoint is the shell form"),
        "{err}"
    );
    assert!(files.contains("\n/usr/bin/dash\tinput\n"), "{files}");
    assert!(files.contains("\n/usr/bin/sh -> dash\t"), "{files}");
    assert!(
        !files.contains("/usr/bin/python3.11\t"),
        "what the shell starts is not traced"
    );

    // probe runs the image's command; the record's program and paths are packed.
    let rec = t.path().join("shell.probe.json");
    let (_, _) = minroot_ok(&["probe", "--root", s(&archive), "-o", s(&rec)]);
    let r: Value = serde_json::from_slice(&std::fs::read(&rec).unwrap()).unwrap();
    let run = &r["runs"][0];
    assert_eq!(
        run["command"],
        json!(["/bin/sh", "-c", "python3 /app/main.py \"$GREETING\""])
    );
    assert_eq!(run["workdir"], "/app");
    assert_eq!(run["exit"], json!({"code": 0}));
    assert!(
        run["env"]
            .as_array()
            .unwrap()
            .contains(&json!("GREETING=bonjour")),
        "{run}"
    );
    // (The programs are now the record's, the shell's children too: no note.)
    let (min, _, _) = pack_and_load(&mut p, t.path(), &archive, "shell", &["--probe", s(&rec)]);
    let out = p.run_ok(&[], &min, &[]);
    assert_eq!(out, src_out);
    let src = p.inspect(&name);
    same_config(&src, &p.inspect(&min), &[], "shell form");
}

/// One platform out of a two-platform index: the layout is made here from an amd64 and
/// an arm64 image (the arm64 one from the arm64 root); `--platform` takes either, the
/// default is the host's; the amd64 one runs in podman, the arm64 layer under qemu-user,
/// and both inherit the config.
#[test]
fn one_platform_of_a_two_platform_index() {
    if !have_podman()
        || sysroot("amd64").is_none()
        || sysroot("arm64").is_none()
        || !common::require(
            "bwrap and qemu-aarch64-static",
            common::can_run_loader(Arch::Aarch64),
        )
    {
        return;
    }
    let fat = fat();
    let mut p = Podman::default();
    let t = tmpdir();
    let ctx = t.path().join("ctx");
    context(&sysroot("arm64").unwrap(), &ctx, FAT_CONTAINERFILE);
    let arm = image_name(&format!("arm64-{}", N.fetch_add(1, SeqCst)));
    build(&mut p, &ctx, &arm, &["--platform", "linux/arm64"]);
    std::fs::remove_dir_all(&ctx).unwrap();
    let arm_dir = t.path().join("arm.oci");
    save(&arm, "oci-dir", &arm_dir);

    // The index: both images' blobs, one manifest per platform.
    let idx = t.path().join("index.oci");
    std::fs::create_dir_all(idx.join("blobs/sha256")).unwrap();
    let mut manifests = Vec::new();
    for (dir, arch) in [(fat.oci_dir(), "amd64"), (arm_dir.clone(), "arm64")] {
        for e in std::fs::read_dir(dir.join("blobs/sha256")).unwrap() {
            let e = e.unwrap();
            let dest = idx.join("blobs/sha256").join(e.file_name());
            if !dest.exists() {
                std::fs::copy(e.path(), dest).unwrap();
            }
        }
        let index: Value =
            serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
        let mut m = index["manifests"][0].clone();
        m["platform"] = json!({"os": "linux", "architecture": arch});
        m.as_object_mut().unwrap().remove("annotations");
        manifests.push(m);
    }
    std::fs::write(idx.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        idx.join("index.json"),
        serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": manifests})).unwrap(),
    )
    .unwrap();

    // amd64, by name and by default, runs as the fat image does.
    let (name, archive, _) = pack_and_load(
        &mut p,
        t.path(),
        &idx,
        "index-amd64",
        &["--platform", "linux/amd64"],
    );
    assert_eq!(p.run_ok(&[], &name, &[]).trim(), FAT_PRINTS);
    same_config(&fat.inspect, &p.inspect(&name), &[], "amd64 of the index");
    let (m_amd, _, _) = archive_image(&archive);
    assert_eq!(
        m_amd["annotations"]["org.opencontainers.image.base.digest"],
        manifests[0]["digest"]
    );
    let default = t.path().join("default.oci.tar");
    minroot_ok(&[
        "pack",
        "--root",
        s(&idx),
        "--oci-archive",
        s(&default),
        "--tag",
        name.as_str(),
    ]);
    assert_eq!(
        std::fs::read(&default).unwrap(),
        std::fs::read(&archive).unwrap(),
        "without --platform, the host's"
    );

    // arm64: its config, and its layer runs under qemu-user.
    let arm_archive = t.path().join("arm64.oci.tar");
    let rootfs = t.path().join("arm64.rootfs");
    minroot_ok(&[
        "pack",
        "--root",
        s(&idx),
        "--platform",
        "linux/arm64",
        "--oci-archive",
        s(&arm_archive),
        "--rootfs",
        s(&rootfs),
    ]);
    let (m_arm, c_arm, _) = archive_image(&arm_archive);
    assert_eq!(c_arm["architecture"], "arm64");
    assert_eq!(
        m_arm["annotations"]["org.opencontainers.image.base.digest"],
        manifests[1]["digest"]
    );
    let arm_inspect = p.inspect(&arm);
    for (f, k) in [
        ("Entrypoint", "Entrypoint"),
        ("Cmd", "Cmd"),
        ("Env", "Env"),
        ("WorkingDir", "WorkingDir"),
        ("User", "User"),
        ("ExposedPorts", "ExposedPorts"),
        ("Volumes", "Volumes"),
        ("Labels", "Labels"),
        ("StopSignal", "StopSignal"),
    ] {
        assert_eq!(c_arm["config"][k], arm_inspect["Config"][f], "arm64 {f}");
    }
    let o = common::run_in_root(
        &rootfs,
        Arch::Aarch64,
        "/usr/bin/python3",
        &["/app/main.py", "world"],
        &[("GREETING", "bonjour")],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["greeting"], "bonjour");
    assert_eq!(v["args"], json!(["world"]));
}

/// A server image (nginx of the amd64 root, FROM the fat image with nginx's own config):
/// `probe --root IMAGE` with no program runs its Entrypoint under `--timeout`; the image
/// packed from the record (and the site's files) passes `nginx -t`, keeps the config,
/// and serves its page to a client in its network namespace.
#[test]
fn server_image_minimised_through_probe_passes_its_config_test_and_serves() {
    if !have_podman() || sysroot("amd64").is_none() {
        return;
    }
    let fat = fat();
    let mut p = Podman::default();
    let t = tmpdir();
    let ctx = t.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        format!(
            "FROM {}\nUSER root\nWORKDIR /\nEXPOSE 80/tcp\nSTOPSIGNAL SIGQUIT\nLABEL org.example.test=nginx\nENTRYPOINT [\"/usr/sbin/nginx\", \"-g\", \"daemon off;\"]\nCMD []\n",
            fat.name
        ),
    )
    .unwrap();
    let name = image_name(&format!("nginx-{}", N.fetch_add(1, SeqCst)));
    build(&mut p, &ctx, &name, &[]);
    let archive = t.path().join("nginx.docker.tar");
    save(&name, "docker-archive", &archive);

    let rec = t.path().join("nginx.probe.json");
    let (_, err) = minroot_ok(&[
        "probe",
        "--root",
        s(&archive),
        "--timeout",
        "3",
        "-o",
        s(&rec),
    ]);
    assert!(
        err.contains("did not succeed"),
        "stopped by the timeout: {err}"
    );
    let r: Value = serde_json::from_slice(&std::fs::read(&rec).unwrap()).unwrap();
    assert_eq!(
        r["runs"][0]["command"],
        json!(["/usr/sbin/nginx", "-g", "daemon off;"])
    );
    assert!(
        r["runs"][0]["exit"]["timed_out"].is_object(),
        "{}",
        r["runs"][0]
    );
    let (min, archive_out, _) = pack_and_load(
        &mut p,
        t.path(),
        &archive,
        "nginx",
        &["--probe", s(&rec), "--include", "/var/www/html"],
    );
    let src = p.inspect(&name);
    same_config(&src, &p.inspect(&min), &[], "nginx");
    let o = p.run(&["--entrypoint", "/usr/sbin/nginx"], &min, &["-t"]);
    assert!(
        o.status.success() && text(&o.stderr).contains("test is successful"),
        "nginx -t: {}",
        text(&o.stderr)
    );

    // Served: the packed server runs detached; the fat image's curl asks it from inside
    // its network namespace (no port mapping needed).
    let c = format!(
        "minroot-test-image-srv-{}-{}",
        std::process::id(),
        N.fetch_add(1, SeqCst)
    );
    p.containers.push(c.clone());
    tool(podman().args([
        "run",
        "-d",
        "--name",
        &c,
        "--runtime",
        "runc",
        "--network",
        "none",
        "--ulimit",
        "nofile=20000:20000",
        "--ulimit",
        "nproc=1024:1024",
        &min,
    ]));
    let mut page = String::new();
    for _ in 0..50 {
        // (Not `Podman::run`, whose `--network none` this would contradict.)
        let o = podman()
            .args(["run", "--rm", "--runtime", "runc"])
            .arg(format!("--network=container:{c}"))
            .args([
                "--ulimit",
                "nofile=20000:20000",
                "--ulimit",
                "nproc=1024:1024",
            ])
            .args(["--entrypoint", "/usr/bin/curl"])
            .arg(&fat.name)
            .args(["-sS", "--max-time", "2", "http://127.0.0.1/"])
            .stdin(Stdio::null())
            .output()
            .expect("podman run curl");
        page = format!("{}{}", text(&o.stdout), text(&o.stderr));
        if o.status.success() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(page.contains("Welcome to nginx"), "{page}");
    let report = minroot_ok(&[
        "report",
        "--root",
        s(&archive),
        "--probe",
        s(&rec),
        "--include",
        "/var/www/html",
        "--json",
    ])
    .0;
    let r: Value = serde_json::from_str(&report).unwrap();
    let (_, _, sizes) = archive_image(&archive_out);
    eprintln!(
        "numbers: nginx image: {} bytes (podman) -> {} bytes (podman), layer blob {} bytes (gzip); packages {} -> {}, files {} -> {}, bytes {} -> {}",
        src["Size"],
        p.inspect(&min)["Size"],
        sizes[0],
        r["packages"]["root"],
        r["packages"]["layer"],
        r["files"]["root"],
        r["files"]["layer"],
        r["bytes"]["root"],
        r["bytes"]["layer"]
    );
}

// ---------------------------------------------------------------------------------------
// Hostile images, written by code

/// A tar entry with a raw name (the `tar` builder refuses `..` and absolute names).
enum E<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Sym(&'a str, &'a str),
    Hard(&'a str, &'a str),
    /// A file whose header claims `size` bytes of zeros.
    Zeros(&'a str, u64),
}

/// A ustar layer of `entries`.
fn layer(entries: &[E]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut h = tar::Header::new_ustar();
        let (name, data, size, ty, link): (&str, &[u8], u64, tar::EntryType, Option<&str>) = match e
        {
            E::File(n, d) => (n, d, d.len() as u64, tar::EntryType::Regular, None),
            E::Dir(n) => (n, b"", 0, tar::EntryType::Directory, None),
            E::Sym(n, t) => (n, b"", 0, tar::EntryType::Symlink, Some(t)),
            E::Hard(n, t) => (n, b"", 0, tar::EntryType::Link, Some(t)),
            E::Zeros(n, size) => (n, b"", *size, tar::EntryType::Regular, None),
        };
        let u = h.as_ustar_mut().unwrap();
        u.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(l) = link {
            u.linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
        h.set_size(size);
        h.set_mode(if ty == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_entry_type(ty);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        if let E::Zeros(_, size) = e {
            out.resize(out.len() + (*size as usize).div_ceil(512) * 512, 0);
        } else {
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// An OCI layout of `layers` (uncompressed, or gzip when `gz`), with an Entrypoint
/// naming no file: a root that unpacks is then refused for that, after the unpack. Returns
/// the layers' blob digests.
fn oci_layout(dir: &Path, layers: &[Vec<u8>], gz: bool) -> Vec<String> {
    oci_layout_with(dir, layers, gz, false)
}

/// [`oci_layout`], with a config whose diff_ids are wrong when `bad_diff_id`.
fn oci_layout_with(dir: &Path, layers: &[Vec<u8>], gz: bool, bad_diff_id: bool) -> Vec<String> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |b: &[u8]| -> String {
        let d = sha256(b);
        std::fs::write(blobs.join(d.trim_start_matches("sha256:")), b).unwrap();
        d
    };
    let mut descs = Vec::new();
    let mut diff_ids = Vec::new();
    let mut digests = Vec::new();
    for l in layers {
        diff_ids.push(if bad_diff_id {
            sha256(b"another layer")
        } else {
            sha256(l)
        });
        let blob = if gz { gzip(l) } else { l.clone() };
        let d = put(&blob);
        digests.push(d.clone());
        descs.push(json!({
            "mediaType": if gz { "application/vnd.oci.image.layer.v1.tar+gzip" } else { "application/vnd.oci.image.layer.v1.tar" },
            "digest": d,
            "size": blob.len(),
        }));
    }
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": ["/absent"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let cd = put(&config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()},
        "layers": descs,
    }))
    .unwrap();
    let md = put(&manifest);
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": manifest.len()}
        ]}))
        .unwrap(),
    )
    .unwrap();
    digests
}

/// A tar of `files` (name, bytes), as an archive holds them.
fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// A docker-archive of one layer (as `docker save` writes it: manifest.json, the
/// config, `ID/layer.tar`).
fn docker_archive(layer_tar: &[u8]) -> Vec<u8> {
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": ["/absent"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256(layer_tar)]},
    }))
    .unwrap();
    let cname = format!("{}.json", sha256(&config).trim_start_matches("sha256:"));
    let manifest = serde_json::to_vec(&json!([
        {"Config": cname, "RepoTags": ["localhost/hostile:1"], "Layers": ["0123abcd/layer.tar"]}
    ]))
    .unwrap();
    tar_of(&[
        ("manifest.json", &manifest),
        (&cname, &config),
        ("0123abcd/layer.tar", layer_tar),
    ])
}

/// A hostile (or, for the control, sound) image and what its error must name.
struct Case {
    what: &'static str,
    image: PathBuf,
    /// What the message must name besides the image: the blob.
    blob: String,
    /// The cause the message must give.
    cause: &'static str,
    max: Option<&'static str>,
}

/// Runs `files --root IMAGE` with a fresh TMPDIR (checked empty by `minroot`).
fn refused(c: &Case) {
    let mut args = vec!["files", "--root", s(&c.image)];
    if let Some(m) = c.max {
        args.extend(["--max-image-size", m]);
    }
    let o = minroot(&args);
    let err = text(&o.stderr);
    eprintln!("{}: {}", c.what, err.trim_end());
    assert_eq!(o.status.code(), Some(2), "{}: {err}", c.what);
    assert!(!err.contains("panicked"), "{}: {err}", c.what);
    assert!(
        err.contains(&c.image.display().to_string()),
        "{}: names the image: {err}",
        c.what
    );
    assert!(
        err.contains(&c.blob),
        "{}: names the blob {}: {err}",
        c.what,
        c.blob
    );
    assert!(
        err.contains(c.cause),
        "{}: says {:?}: {err}",
        c.what,
        c.cause
    );
    assert!(
        !err.contains("has no Entrypoint") && !err.contains("/absent"),
        "{}: refused while unpacking, not after: {err}",
        c.what
    );
}

/// Every hostile image exits 2 naming the image and the blob, and leaves nothing behind;
/// the same generator's sound image unpacks (and is refused only for its absent
/// entrypoint), so the refusals are the hostile parts'.
#[test]
fn hostile_images_exit_2_naming_the_image_and_the_blob_and_leave_nothing() {
    let t = tmpdir();
    let dir = |n: &str| t.path().join(n);
    let sound = layer(&[E::Dir("etc/"), E::File("etc/hello", b"hi\n")]);

    // Control: the generator's image is sound.
    oci_layout(&dir("sound"), std::slice::from_ref(&sound), false);
    let o = minroot(&["files", "--root", s(&dir("sound"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("/absent"), "{}", text(&o.stderr));

    let mut cases = Vec::new();

    // A blob whose digest does not match its content.
    let d = oci_layout(&dir("digest"), std::slice::from_ref(&sound), false);
    let blob = dir("digest")
        .join("blobs/sha256")
        .join(d[0].trim_start_matches("sha256:"));
    let mut b = std::fs::read(&blob).unwrap();
    b[600] ^= 1;
    std::fs::write(&blob, b).unwrap();
    cases.push(Case {
        what: "digest mismatch",
        image: dir("digest"),
        blob: d[0].clone(),
        cause: "digest mismatch",
        max: None,
    });

    // The same in a gzip blob, changed in its compressed stream.
    let d = oci_layout(&dir("digest-gz"), std::slice::from_ref(&sound), true);
    let blob = dir("digest-gz")
        .join("blobs/sha256")
        .join(d[0].trim_start_matches("sha256:"));
    let mut b = std::fs::read(&blob).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x55;
    std::fs::write(&blob, b).unwrap();
    cases.push(Case {
        what: "digest mismatch (gzip)",
        image: dir("digest-gz"),
        blob: d[0].clone(),
        cause: "digest mismatch",
        max: None,
    });

    // A layer that is not the one the config's diff_id names (its blob digest is right).
    let d = oci_layout_with(&dir("diffid"), std::slice::from_ref(&sound), true, true);
    cases.push(Case {
        what: "diff_id mismatch",
        image: dir("diffid"),
        blob: d[0].clone(),
        cause: "does not match the config's diff_id",
        max: None,
    });

    // Entries that leave the root.
    for (what, l, cause) in [
        (
            "dotdot entry",
            layer(&[E::File("etc/../../escape", b"x")]),
            "a `..` component",
        ),
        (
            "absolute entry",
            layer(&[E::File("/etc/escape", b"x")]),
            "absolute path",
        ),
        (
            "whiteout outside the root",
            layer(&[E::File("../.wh.victim", b"")]),
            "a `..` component",
        ),
        (
            "hard link out of the layer",
            layer(&[E::Hard("etc/passwd", "../../../../etc/passwd")]),
            "a `..` component",
        ),
        (
            "absolute hard link",
            layer(&[E::Hard("etc/passwd", "/etc/passwd")]),
            "absolute path",
        ),
        (
            "hard link to nothing in the layer",
            layer(&[E::Hard("etc/passwd", "etc/shadow")]),
            "hard link",
        ),
    ] {
        let name = what.replace(' ', "-");
        let d = oci_layout(&dir(&name), &[l], true);
        cases.push(Case {
            what,
            image: dir(&name),
            blob: d[0].clone(),
            cause,
            max: None,
        });
    }

    // A layer bomb: 64 MiB of zeros in a small gzip blob, over a 16 MiB bound.
    let d = oci_layout(&dir("bomb"), &[layer(&[E::Zeros("bomb", 64 << 20)])], true);
    cases.push(Case {
        what: "layer bomb",
        image: dir("bomb"),
        blob: d[0].clone(),
        cause: "the bound on its unpacked size",
        max: Some("16M"),
    });
    // Layers that add up over the bound, each under it.
    let d = oci_layout(
        &dir("bombs"),
        &[
            layer(&[E::Zeros("a", 10 << 20)]),
            layer(&[E::Zeros("b", 10 << 20)]),
        ],
        true,
    );
    cases.push(Case {
        what: "layers over the bound together",
        image: dir("bombs"),
        blob: d[1].clone(),
        cause: "the bound on its unpacked size",
        max: Some("16M"),
    });

    // Truncated archives: a docker-archive cut inside its layer, an OCI archive cut
    // inside its layer blob.
    let big = layer(&[E::File("etc/data", &vec![7u8; 64 << 10])]);
    let da = docker_archive(&big);
    let at = find(&da, b"0123abcd/layer.tar").unwrap();
    std::fs::write(dir("truncated.docker.tar"), &da[..at + 512 + 20_000]).unwrap();
    cases.push(Case {
        what: "truncated docker-archive",
        image: dir("truncated.docker.tar"),
        blob: "0123abcd/layer.tar".into(),
        cause: "truncated",
        max: None,
    });
    let d = oci_layout(&dir("oci-src"), std::slice::from_ref(&big), false);
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for e in walkdir::WalkDir::new(dir("oci-src")).sort_by_file_name() {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let rel = e
                .path()
                .strip_prefix(dir("oci-src"))
                .unwrap()
                .to_string_lossy()
                .into_owned();
            files.push((rel, std::fs::read(e.path()).unwrap()));
        }
    }
    // The layer blob last, so that the cut falls inside it.
    let lname = format!("blobs/sha256/{}", d[0].trim_start_matches("sha256:"));
    files.sort_by_key(|(n, _)| *n == lname);
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let oa = tar_of(&refs);
    std::fs::write(dir("truncated.oci.tar"), &oa[..oa.len() - 1024 - 30_000]).unwrap();
    cases.push(Case {
        what: "truncated OCI archive",
        image: dir("truncated.oci.tar"),
        blob: d[0].trim_start_matches("sha256:").to_string(),
        cause: "truncated",
        max: None,
    });

    for c in &cases {
        refused(c);
    }
}

/// A whiteout reached through a lower layer's symlink to a host path removes nothing
/// outside the root (the symlink resolves inside it).
#[test]
fn whiteout_through_a_symlink_removes_nothing_outside_the_root() {
    let t = tmpdir();
    let outside = t.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("canary"), b"alive").unwrap();
    let target = outside.display().to_string();
    let up = "../".repeat(20) + target.trim_start_matches('/');
    for (n, link) in [("abs", target.as_str()), ("rel", up.as_str())] {
        let img = t.path().join(n);
        oci_layout(
            &img,
            &[
                layer(&[E::Sym("esc", link)]),
                layer(&[E::File("esc/.wh.canary", b""), E::File(".wh.esc", b"")]),
            ],
            false,
        );
        let o = minroot(&["files", "--root", s(&img)]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
        assert_eq!(
            std::fs::read(outside.join("canary")).unwrap(),
            b"alive",
            "{n}"
        );
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
