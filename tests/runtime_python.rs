//! End to end: the CPython profile and the bytecode caches. A bare `minroot pack --root R
//! -o l.tar /usr/bin/python3` (no `--include`) must start and use its standard library
//! from that layer alone: under podman for the amd64 sysroot, unpacked and under
//! qemu-user for the arm64 one. A `#!/usr/bin/env python3` script packed as the program
//! runs too. The `.pyc` files of the layer must be valid in the image (CPython imports
//! from them, `-v` shows no stale bytecode and no compile from source), a stale one is
//! never shipped, a hash-based one is kept, and the tar, the rootfs, the bundle and the
//! SBOM all carry the same rewritten bytes.
//!
//! Versions and paths are derived from the roots (`python3.*` in `usr/bin`), never
//! hard-coded; every external resource goes through `common::require`. Images are named
//! per test and process and removed at the end.

mod common;
use common::amd64_root;
use common::have_podman;
use common::podman::podman;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use minroot::arch::Arch;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn tmpdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("minroot-py-")
        .tempdir()
        .unwrap()
}

fn arm64_root() -> Option<PathBuf> {
    let r = common::sysroot("arm64");
    let ok = common::require("the arm64 sysroot (scripts/make-sysroot.sh)", r.is_some())
        && common::require(
            "bwrap and qemu-aarch64-static",
            common::can_run_loader(Arch::Aarch64),
        )
        && common::require("GNU tar", common::have("tar"));
    ok.then(|| r.unwrap())
}

/// The CPython version of a root, from its `usr/bin/python3.X` (`3.11`).
fn version(root: &Path) -> String {
    let mut v: Vec<String> = std::fs::read_dir(root.join("usr/bin"))
        .unwrap()
        .filter_map(|e| {
            let n = e.ok()?.file_name().to_string_lossy().into_owned();
            let minor = n.strip_prefix("python3.")?;
            minor
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| format!("3.{minor}"))
        })
        .collect();
    v.sort();
    v.pop().expect("a usr/bin/python3.X in the root")
}

/// `minroot ARGS`, which must exit 0; (stdout, stderr).
fn minroot_ok(args: &[&str]) -> (String, String) {
    let o = common::minroot()
        .env_remove("SOURCE_DATE_EPOCH")
        .args(args)
        .output()
        .expect("run minroot");
    assert!(
        o.status.success(),
        "minroot {args:?} exited {:?}:\n{}{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    (text(&o.stdout), text(&o.stderr))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every regular file of a tar (GNU-readable), by name, with its bytes.
fn tar_files(layer: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut ar = tar::Archive::new(std::fs::File::open(layer).unwrap());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut b).unwrap();
        out.insert(name, b);
    }
    out
}

/// An image imported from one layer; removed on drop.
struct Image {
    name: String,
}

impl Image {
    fn import(layer: &Path, test: &str) -> Image {
        let name = format!("localhost/minroot-py-{test}-{}", std::process::id());
        let o = podman()
            .arg("import")
            .arg(layer)
            .arg(&name)
            .output()
            .expect("podman import");
        assert!(o.status.success(), "podman import: {}", text(&o.stderr));
        Image { name }
    }

    fn run(&self, cmd: &[&str]) -> Output {
        podman()
            .args(["run", "--rm", "--runtime", "runc", "--network", "none"])
            .args([
                "--ulimit",
                "nofile=20000:20000",
                "--ulimit",
                "nproc=1024:1024",
            ])
            .arg(&self.name)
            .args(cmd)
            .stdin(Stdio::null())
            .output()
            .expect("podman run")
    }

    fn run_ok(&self, cmd: &[&str]) -> Output {
        let o = self.run(cmd);
        assert!(
            o.status.success(),
            "{cmd:?} in {} exited {:?}:\nstdout: {}\nstderr: {}",
            self.name,
            o.status.code(),
            text(&o.stdout),
            text(&o.stderr)
        );
        o
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        let _ = podman()
            .args(["rmi", "--force", &self.name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Uses each of the modules whose extension brings a library of its own: sqlite3
/// (libsqlite3), hashlib (libcrypto), ctypes (libffi; libc through CDLL(None)), lzma
/// (liblzma), decimal (libmpdec), ssl (libssl; `create_default_context` loads the CA
/// bundle the root has), json (pure Python plus `_json`).
const USE_THE_STDLIB: &str = r#"
import ssl, sqlite3, json, ctypes, decimal, lzma, hashlib, sys
db = sqlite3.connect(":memory:")
db.execute("create table t (x)")
db.executemany("insert into t values (?)", [(1,), (2,), (3,)])
assert db.execute("select sum(x) from t").fetchone() == (6,)
assert hashlib.sha256(b"abc").hexdigest().startswith("ba7816bf")
assert ctypes.CDLL(None).getpid() > 0
assert lzma.decompress(lzma.compress(b"minroot" * 100)) == b"minroot" * 100
assert decimal.Decimal("1.1") + decimal.Decimal("2.2") == decimal.Decimal("3.3")
assert json.loads(json.dumps({"a": [1, 2]})) == {"a": [1, 2]}
ctx = ssl.create_default_context()
print("ok", sys.version_info[:2], ssl.OPENSSL_VERSION, ctx.cert_store_stats()["x509_ca"])
"#;

#[test]
fn bare_python3_layer_runs_its_standard_library_in_podman() {
    let (true, Some(root)) = (have_podman(), amd64_root()) else {
        return;
    };
    let v = version(&root);
    let d = tmpdir();
    let layer = d.path().join("l.tar");
    minroot_ok(&[
        "pack",
        "--root",
        s(&root),
        "-o",
        s(&layer),
        "/usr/bin/python3",
    ]);
    let img = Image::import(&layer, "bare");
    let out = text(
        &img.run_ok(&["/usr/bin/python3", "-c", USE_THE_STDLIB])
            .stdout,
    );
    let minor = v.strip_prefix("3.").unwrap();
    assert!(
        out.starts_with(&format!("ok (3, {minor}) OpenSSL")),
        "{out}"
    );
    // The amd64 root ran ca-certificates' script: its bundle is loaded.
    let cas: u64 = out.trim().rsplit(' ').next().unwrap().parse().unwrap();
    assert!(cas > 50, "{cas} CA certificates loaded: {out}");
    // No shell came with it.
    assert!(!img.run(&["/bin/sh", "-c", "true"]).status.success());
}

/// The layer has the standard library and lib-dynload, with the reason naming the
/// profile and how the prefix was found, and not what CPython never runs unless asked.
#[test]
fn bare_python3_layer_takes_the_stdlib_and_leaves_out_what_never_runs() {
    let Some(root) = amd64_root() else { return };
    let v = version(&root);
    let (json, _) = minroot_ok(&[
        "files",
        "--root",
        s(&root),
        "--format",
        "json",
        "/usr/bin/python3",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let entries: BTreeMap<String, String> = doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_string(),
                e["why"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let stdlib = format!("/usr/lib/python{v}");
    let why = format!("runtime: CPython (/usr, found by {stdlib}/os.py)");
    assert_eq!(entries[&format!("{stdlib}/os.py")], why);
    assert_eq!(entries[&format!("{stdlib}/json/decoder.py")], why);
    let tag = format!("cpython-3{}", v.strip_prefix("3.").unwrap());
    assert_eq!(
        entries[&format!("{stdlib}/__pycache__/os.{tag}.pyc")],
        why,
        "the bytecode comes with its sources"
    );
    // Debian's sitecustomize.py links into /etc: the link and its target.
    if root
        .join(format!("etc/python{v}/sitecustomize.py"))
        .is_file()
    {
        assert!(entries.contains_key(&format!("{stdlib}/sitecustomize.py")));
        assert!(entries.contains_key(&format!("/etc/python{v}/sitecustomize.py")));
    }
    // Extension modules, traced as plugins: their libraries are in the layer.
    let ext = |m: &str| {
        entries
            .keys()
            .find(|k| k.starts_with(&format!("{stdlib}/lib-dynload/{m}.")))
            .cloned()
    };
    for m in [
        "_ssl", "_sqlite3", "_ctypes", "_lzma", "_decimal", "_hashlib",
    ] {
        assert!(ext(m).is_some(), "{m} in lib-dynload");
    }
    for lib in [
        "libssl.so.3",
        "libsqlite3.so.0",
        "libffi.so.8",
        "liblzma.so.5",
    ] {
        assert!(
            entries.keys().any(|k| k.ends_with(&format!("/{lib}"))),
            "{lib} in the layer"
        );
    }
    // Left out: the test suite, its extension modules, build files.
    assert!(
        root.join(&stdlib[1..]).join("test").is_dir(),
        "the root has a test dir"
    );
    assert!(!entries.contains_key(&format!("{stdlib}/test")));
    assert!(
        !entries
            .keys()
            .any(|k| k.starts_with(&format!("{stdlib}/test/")))
    );
    assert!(ext("_testcapi").is_none() && ext("xxlimited").is_none());
    assert!(!entries.keys().any(|k| k.contains("/config-3.")));
    assert!(!entries.keys().any(|k| k.contains("dist-packages")));
    assert_eq!(
        doc["problems"].as_array().unwrap().len(),
        0,
        "{}",
        doc["problems"]
    );
}

/// `python3 -v` from the image: every module comes from its cached bytecode, none is
/// compiled from a source that has a `.pyc` in the image, and no cache is stale.
#[test]
fn imports_from_the_packed_image_use_valid_bytecode() {
    let (true, Some(root)) = (have_podman(), amd64_root()) else {
        return;
    };
    let d = tmpdir();
    let layer = d.path().join("l.tar");
    // A layer mtime other than the default, so the rewrite is visible.
    minroot_ok(&[
        "pack",
        "--root",
        s(&root),
        "--source-date-epoch",
        "1700000000",
        "-o",
        s(&layer),
        "/usr/bin/python3",
    ]);
    let files = tar_files(&layer);
    let img = Image::import(&layer, "bytecode");
    let o = img.run_ok(&[
        "/usr/bin/python3",
        "-v",
        "-c",
        "import json, email.parser, http.client, decimal, sqlite3, ssl, argparse, logging, urllib.request",
    ]);
    let err = text(&o.stderr);
    assert!(!err.contains("bytecode is stale"), "{err}");
    let mut from_pyc = 0;
    for line in err.lines().filter(|l| l.starts_with("# code object from ")) {
        let path = line["# code object from ".len()..].trim_matches('\'');
        if path.ends_with(".pyc") {
            from_pyc += 1;
            continue;
        }
        // Compiled from source: only when the image has no cache for it.
        let (dir, file) = path.rsplit_once('/').unwrap();
        let stem = file.strip_suffix(".py").unwrap();
        let cached = files
            .keys()
            .any(|k| k.starts_with(&format!("{}/__pycache__/{stem}.", &dir[1..])));
        assert!(!cached, "{path} compiled although the image caches it");
    }
    assert!(from_pyc > 50, "{from_pyc} modules from bytecode:\n{err}");
}

#[test]
fn aarch64_bare_python3_layer_runs_its_standard_library() {
    let Some(root) = arm64_root() else { return };
    let v = version(&root);
    let d = tmpdir();
    let layer = d.path().join("l.tar");
    minroot_ok(&[
        "pack",
        "--root",
        s(&root),
        "-o",
        s(&layer),
        "/usr/bin/python3",
    ]);
    let into = tmpdir();
    let o = Command::new("tar")
        .args(["--xattrs", "-xpf"])
        .arg(&layer)
        .arg("-C")
        .arg(into.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "tar -x: {}", text(&o.stderr));
    assert!(!into.path().join("usr/bin/sh").exists() && !into.path().join("bin/sh").exists());
    let o = common::run_in_root(
        into.path(),
        Arch::Aarch64,
        "/usr/bin/python3",
        &[
            "-c",
            &format!("{USE_THE_STDLIB}\nimport platform; print(platform.machine())"),
        ],
        &[],
    );
    let out = text(&o.stdout);
    assert!(
        o.status.success(),
        "python3 exited {:?}:\n{out}{}",
        o.status.code(),
        text(&o.stderr)
    );
    let minor = v.strip_prefix("3.").unwrap();
    assert!(
        out.starts_with(&format!("ok (3, {minor}) OpenSSL")),
        "{out}"
    );
    assert!(out.ends_with("aarch64\n"), "{out}");
}

/// A script whose `#!/usr/bin/env python3` is the only hint: env, python3 and the
/// standard library come with it. The sysroots are read-only, so the script goes into a
/// root made for it: the amd64 root's python3 and env, laid out by `minroot pack
/// --rootfs` (a real root of real files, with its package database and valid caches),
/// plus the script; that root is then packed with the script as the program.
#[test]
fn env_python3_script_runs_from_its_layer() {
    let (true, Some(root)) = (have_podman(), amd64_root()) else {
        return;
    };
    let d = tmpdir();
    let staged = d.path().join("root");
    minroot_ok(&[
        "pack",
        "--root",
        s(&root),
        "--rootfs",
        s(&staged),
        "/usr/bin/python3",
        "/usr/bin/env",
    ]);
    let script = staged.join("app/hello.py");
    std::fs::create_dir_all(script.parent().unwrap()).unwrap();
    std::fs::write(
        &script,
        format!("#!/usr/bin/env python3\n{USE_THE_STDLIB}\nprint('hello from', __file__)\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let layer = d.path().join("l.tar");
    let (_, err) = minroot_ok(&[
        "pack",
        "--root",
        s(&staged),
        "-o",
        s(&layer),
        "/app/hello.py",
    ]);
    assert!(!err.contains("stale"), "{err}");
    let names = tar_files(&layer);
    assert!(names.contains_key("usr/bin/env") && names.contains_key("app/hello.py"));
    let img = Image::import(&layer, "script");
    let out = text(&img.run_ok(&["/app/hello.py"]).stdout);
    assert!(out.starts_with("ok (3, "), "{out}");
    assert!(out.ends_with("hello from /app/hello.py\n"), "{out}");
}

/// `--no-runtime` is the layer without the profile: no standard library, none of the
/// libraries only extension modules need. With MINROOT_BASELINE naming a minroot built
/// before runtimes existed, the layer is also compared with its layer byte for byte
/// (`scripts/same-bytes.sh` and the report do that comparison too).
#[test]
fn no_runtime_leaves_the_layer_as_it_was() {
    let Some(root) = amd64_root() else { return };
    let v = version(&root);
    let d = tmpdir();
    let a = d.path().join("a.tar");
    minroot_ok(&[
        "pack",
        "--no-runtime",
        "--root",
        s(&root),
        "-o",
        s(&a),
        "/usr/bin/python3",
    ]);
    let files = tar_files(&a);
    assert!(
        !files
            .keys()
            .any(|k| k.starts_with(&format!("usr/lib/python{v}/")))
    );
    assert!(!files.keys().any(|k| k.contains("libsqlite3")));
    assert!(files.contains_key(&format!("usr/bin/python{v}")));
    if let Some(old) = common::baseline() {
        // Without the package database, whose md5sums name files where the layer has
        // them since issue 13, item 9 (tests/no_runtime.rs compares those entry by entry).
        let (a, b) = (d.path().join("a-no-db.tar"), d.path().join("b.tar"));
        minroot_ok(&[
            "pack",
            "--no-runtime",
            "--no-package-db",
            "--root",
            s(&root),
            "-o",
            s(&a),
            "/usr/bin/python3",
        ]);
        let o = Command::new(old)
            .env_remove("SOURCE_DATE_EPOCH")
            .args(["pack", "--no-package-db", "--root", s(&root), "-o", s(&b)])
            .arg("/usr/bin/python3")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    }
}

// ---------------------------------------------------------------------------------------
// Bytecode caches in a small root, compiled by the host's python3.

/// A root with the host's loader as the program (an ELF with no dependencies) and a
/// package `app` of three modules compiled by the host's python3: `valid` as compiled,
/// `stale` whose source was touched after compiling, `hashed` compiled hash-based.
fn bytecode_root() -> Option<(common::FakeRoot, String)> {
    let ok = common::require("python3 on the host", common::have("python3"))
        && common::require(
            "the host's x86_64 loader",
            common::host_loader(Arch::X86_64).is_some(),
        );
    if !ok {
        return None;
    }
    let r = common::FakeRoot::new();
    assert!(r.install_loader(Arch::X86_64));
    for m in ["valid", "stale", "hashed"] {
        r.write(
            &format!("/app/{m}.py"),
            format!("NAME = {m:?}\n").as_bytes(),
        );
    }
    let compile = |m: &str, mode: &str| {
        let o = Command::new("python3")
            .args(["-c", "import py_compile, sys; py_compile.compile(sys.argv[1], invalidation_mode=py_compile.PycInvalidationMode[sys.argv[2]], doraise=True)"])
            .arg(r.host(&format!("/app/{m}.py")))
            .arg(mode)
            .output()
            .unwrap();
        assert!(o.status.success(), "py_compile: {}", text(&o.stderr));
    };
    compile("valid", "TIMESTAMP");
    compile("stale", "TIMESTAMP");
    compile("hashed", "CHECKED_HASH");
    // Touched after compiling: the recorded mtime no longer matches.
    let later = filetime::FileTime::from_unix_time(2_000_000_000, 0);
    filetime::set_file_mtime(r.host("/app/stale.py"), later).unwrap();
    let o = Command::new("python3")
        .args(["-c", "import sys; print(sys.implementation.cache_tag)"])
        .output()
        .unwrap();
    let tag = text(&o.stdout).trim().to_string();
    Some((r, tag))
}

const EPOCH: u32 = 1_700_000_000;

#[test]
fn stale_pyc_is_left_out_valid_one_rewritten_hash_based_kept() {
    let Some((r, tag)) = bytecode_root() else {
        return;
    };
    let d = tmpdir();
    let layer = d.path().join("l.tar");
    let loader = Arch::X86_64.loader_path();
    let epoch = EPOCH.to_string();
    let common_args = ["--root", s(r.path()), "--source-date-epoch", &epoch];
    let (_, err) = minroot_ok(
        &[
            &["pack"][..],
            &common_args,
            &["-o", s(&layer), "--sbom", s(&d.path().join("l.spdx.json"))],
            &["--include", "/app", loader],
        ]
        .concat(),
    );
    let pyc = |m: &str| format!("app/__pycache__/{m}.{tag}.pyc");
    assert!(
        err.contains(&format!("1 stale .pyc file left out (/{})", pyc("stale"))),
        "{err}"
    );
    let files = tar_files(&layer);
    assert!(
        !files.contains_key(&pyc("stale")),
        "a stale cache is never shipped"
    );
    assert!(files.contains_key("app/stale.py"));
    let root_valid = std::fs::read(r.host(&format!("/{}", pyc("valid")))).unwrap();
    let valid = &files[&pyc("valid")];
    assert_eq!(valid.len(), root_valid.len());
    assert_eq!(valid[..8], root_valid[..8], "magic and flags kept");
    assert_eq!(
        valid[8..12],
        EPOCH.to_le_bytes(),
        "the layer's mtime recorded"
    );
    assert_eq!(valid[12..], root_valid[12..], "size and code kept");
    let root_hashed = std::fs::read(r.host(&format!("/{}", pyc("hashed")))).unwrap();
    assert_eq!(files[&pyc("hashed")], root_hashed, "hash-based: as it is");

    // The rootfs and the bundle carry the same bytes, and the SBOM their digest.
    let fs_dir = d.path().join("fs");
    minroot_ok(
        &[
            &["pack"][..],
            &common_args,
            &["--rootfs", s(&fs_dir), "--include", "/app", loader],
        ]
        .concat(),
    );
    assert_eq!(&std::fs::read(fs_dir.join(pyc("valid"))).unwrap(), valid);
    let b = d.path().join("b");
    minroot_ok(
        &[
            &["bundle"][..],
            &common_args,
            &["-o", s(&b), "--include", "/app", loader],
        ]
        .concat(),
    );
    let in_bundle: Vec<PathBuf> = walk(&b)
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_str() == Some(&format!("valid.{tag}.pyc")))
        .collect();
    assert_eq!(in_bundle.len(), 1, "{in_bundle:?}");
    assert_eq!(&std::fs::read(&in_bundle[0]).unwrap(), valid);
    let spdx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("l.spdx.json")).unwrap()).unwrap();
    let f = spdx["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fileName"] == format!("./{}", pyc("valid")))
        .expect("the cache in the SBOM");
    use sha2::Digest;
    let want = minroot::pack::digest::hex(&sha2::Sha256::digest(valid));
    assert!(
        f["checksums"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["checksumValue"] == want),
        "{f}"
    );

    // CPython itself agrees: in the unpacked rootfs (every mtime the layer's), `valid`
    // is imported from its cache, `stale` compiled from source.
    let o = Command::new("python3")
        .args(["-v", "-B", "-c", "import valid, stale, hashed"])
        .env("PYTHONPATH", fs_dir.join("app"))
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "code object from '{}'",
            s(&fs_dir.join(pyc("valid")))
        )),
        "{err}"
    );
    assert!(!err.contains("bytecode is stale for 'valid'"), "{err}");
    assert!(
        err.contains(&format!(
            "code object from {}",
            s(&fs_dir.join("app/stale.py"))
        )),
        "{err}"
    );
}

/// Every file under `dir` (symlinks not followed).
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                todo.push(e.path());
            } else if t.is_file() {
                out.push(e.path());
            }
        }
    }
    out
}

/// The SBOMs of a python3 layer validate (SPDX with pyspdxtools, CycloneDX 1.5 with its
/// schema); a `.pyc` is GENERATED_FROM the package of its source, and the CA bundle
/// names ca-certificates, whose script made it.
#[test]
fn python3_sboms_attribute_bytecode_and_the_ca_bundle() {
    let Some(root) = amd64_root() else { return };
    let tools = std::env::var_os("MINROOT_PYTOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pytools"));
    let ok = common::require(
        "the SBOM validators in target/pytools (scripts/python-tools.sh)",
        tools.join("bin/pyspdxtools").is_file() && tools.join("bin/python").is_file(),
    ) && common::require("dpkg-query on the host", common::have("dpkg-query"));
    if !ok {
        return;
    }
    let v = version(&root);
    let d = tmpdir();
    let (spdx_path, cdx_path) = (d.path().join("x.spdx.json"), d.path().join("x.cdx.json"));
    minroot_ok(&[
        "pack",
        "--root",
        s(&root),
        "-o",
        s(&d.path().join("l.tar")),
        "--sbom",
        s(&spdx_path),
        "--sbom",
        s(&cdx_path),
        "/usr/bin/python3",
    ]);
    let o = Command::new(tools.join("bin/pyspdxtools"))
        .arg("-i")
        .arg(&spdx_path)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "pyspdxtools: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let script = "import sys\nfrom cyclonedx.validation.json import JsonStrictValidator\nfrom cyclonedx.schema import SchemaVersion\ne = JsonStrictValidator(SchemaVersion.V1_5).validate_str(open(sys.argv[1]).read())\nif e is not None:\n    print(e); sys.exit(1)\n";
    let o = Command::new(tools.join("bin/python"))
        .arg("-c")
        .arg(script)
        .arg(&cdx_path)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "CycloneDX: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );

    let spdx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&spdx_path).unwrap()).unwrap();
    let tag = format!("cpython-3{}", v.strip_prefix("3.").unwrap());
    let name = format!("./usr/lib/python{v}/__pycache__/os.{tag}.pyc");
    let file = |n: &str| {
        spdx["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["fileName"] == n)
            .unwrap_or_else(|| panic!("{n} in the SBOM"))
            .clone()
    };
    let os_pyc = file(&name);
    let id = os_pyc["SPDXID"].as_str().unwrap();
    let rel = spdx["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["spdxElementId"] == id)
        .unwrap();
    assert_eq!(rel["relationshipType"], "GENERATED_FROM");
    // The package dpkg says owns os.py.
    let o = Command::new("dpkg-query")
        .arg(format!("--admindir={}", s(&root.join("var/lib/dpkg"))))
        .args(["-S", &format!("/usr/lib/python{v}/os.py")])
        .output()
        .unwrap();
    let owner = text(&o.stdout).split(':').next().unwrap().to_string();
    let pkg = spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["SPDXID"] == rel["relatedSpdxElement"])
        .unwrap();
    assert_eq!(pkg["name"], owner.as_str());
    let comment = os_pyc["comment"].as_str().unwrap();
    assert!(
        comment.contains(&format!("/usr/lib/python{v}/os.py of package {owner}")),
        "{comment}"
    );
    if root.join("etc/ssl/certs/ca-certificates.crt").is_file() {
        let ca = file("./etc/ssl/certs/ca-certificates.crt");
        let c = ca["comment"].as_str().unwrap();
        assert!(
            c.contains("maintainer script of package ca-certificates"),
            "{c}"
        );
        assert!(c.contains("pkg:deb/debian/ca-certificates@"), "{c}");
    }
}
