//! End to end: the layer `minroot pack` writes is the whole image, and the program runs
//! in it. x86_64 programs of the amd64 sysroot (and one compiled here, packed from the
//! host) are imported with `podman import` and run with podman and runc, with nothing
//! else in the image (no base image, no shell: `/bin/sh` is proved missing). aarch64
//! programs of the arm64 sysroot are unpacked with GNU tar into an empty directory and
//! run there under bwrap and qemu-user (`common::run_in_root`).
//!
//! Every test requires its resources through `common::require`, so a missing podman or
//! sysroot fails under MINROOT_REQUIRE_ALL=1 (scripts/test.sh) instead of passing. Each
//! test prints how long packing and running took (`--nocapture` shows it). Images are
//! named per test and process and removed when the test ends, even when it fails.

mod common;
use common::amd64_root;
use common::have_podman;
use common::podman::podman;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use minroot::arch::Arch;

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

/// The root's Python standard library (`/usr/lib/python3.11` on bookworm).
fn stdlib(root: &Path) -> String {
    let py = common::python_name(root).expect("/usr/bin/python3 in the root");
    format!("/usr/lib/{py}")
}

fn tmpdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("minroot-e2e-")
        .tempdir()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `minroot pack --root ROOT -o OUT ARGS...`, which must succeed; returns the
/// layer's path.
fn pack(root: &Path, out: &Path, args: &[&str]) -> PathBuf {
    let t = Instant::now();
    let o = common::minroot()
        .env_remove("SOURCE_DATE_EPOCH")
        .arg("pack")
        .arg("--root")
        .arg(root)
        .arg("-o")
        .arg(out)
        .args(args)
        .output()
        .expect("run minroot");
    assert!(
        o.status.success(),
        "minroot pack {args:?} failed ({:?}):\n{}{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    eprintln!(
        "timing: pack {args:?}: {:.2}s, {} bytes",
        t.elapsed().as_secs_f64(),
        std::fs::metadata(out).unwrap().len()
    );
    out.to_path_buf()
}

/// An image imported from one layer; removed on drop.
struct Image {
    name: String,
}

impl Image {
    /// `podman import LAYER NAME`: the layer is the image's only content.
    fn import(layer: &Path, test: &str) -> Image {
        let name = format!("localhost/minroot-e2e-{test}-{}", std::process::id());
        let t = Instant::now();
        let o = podman()
            .arg("import")
            .arg(layer)
            .arg(&name)
            .output()
            .expect("podman import");
        assert!(o.status.success(), "podman import: {}", text(&o.stderr));
        eprintln!(
            "timing: podman import {test}: {:.2}s",
            t.elapsed().as_secs_f64()
        );
        Image { name }
    }

    /// `podman run --rm ... IMAGE CMD`, with `stdin` piped in when given.
    fn run(&self, cmd: &[&str], stdin: Option<&[u8]>) -> Output {
        let t = Instant::now();
        let mut c = podman();
        c.args(["run", "--rm"]);
        if stdin.is_some() {
            c.arg("-i");
        }
        c.args([
            "--runtime",
            "runc",
            "--network",
            "none",
            "--ulimit",
            "nofile=20000:20000",
            "--ulimit",
            "nproc=1024:1024",
        ])
        .arg(&self.name)
        .args(cmd)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = c.spawn().expect("podman run");
        if let Some(bytes) = stdin {
            use std::io::Write;
            let mut s = child.stdin.take().unwrap();
            s.write_all(bytes).unwrap();
        }
        let out = child.wait_with_output().expect("podman run");
        eprintln!(
            "timing: podman run {cmd:?}: {:.2}s",
            t.elapsed().as_secs_f64()
        );
        out
    }

    /// Runs `cmd`, which must exit 0; returns its stdout.
    fn run_ok(&self, cmd: &[&str], stdin: Option<&[u8]>) -> String {
        let o = self.run(cmd, stdin);
        assert!(
            o.status.success(),
            "{cmd:?} in {} exited {:?}:\nstdout: {}\nstderr: {}",
            self.name,
            o.status.code(),
            text(&o.stdout),
            text(&o.stderr)
        );
        text(&o.stdout)
    }

    /// The image has no shell: running /bin/sh fails before anything starts.
    fn assert_no_shell(&self) {
        let o = self.run(&["/bin/sh", "-c", "true"], None);
        assert!(!o.status.success(), "/bin/sh ran in {}", self.name);
        let err = text(&o.stderr);
        assert!(
            err.contains("/bin/sh") && (err.contains("no such file") || err.contains("not found")),
            "{err}"
        );
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

/// Lists the names in a layer (GNU tar).
fn layer_names(layer: &Path) -> Vec<String> {
    let o = Command::new("tar").arg("-tf").arg(layer).output().unwrap();
    assert!(o.status.success());
    text(&o.stdout).lines().map(str::to_string).collect()
}

// ---------------------------------------------------------------------------------------
// x86_64 under podman

#[test]
fn nginx_config_test_runs_in_its_layer() {
    let (true, Some(root)) = (have_podman(), amd64_root()) else {
        return;
    };
    let t = Instant::now();
    let d = tmpdir();
    let layer = pack(
        &root,
        &d.path().join("nginx.tar"),
        &[
            "--include",
            "/etc/nginx",
            "--include",
            "/var/lib/nginx",
            "--include",
            "/var/log/nginx",
            // nginx.conf says `user www-data`: the root's users, not the generated ones.
            "--include",
            "/etc/passwd",
            "--include",
            "/etc/group",
            "/usr/sbin/nginx",
        ],
    );
    let img = Image::import(&layer, "nginx");
    let o = img.run(&["/usr/sbin/nginx", "-t"], None);
    let err = text(&o.stderr);
    assert!(o.status.success(), "nginx -t: {err}");
    assert!(
        err.contains("syntax is ok") && err.contains("test is successful"),
        "{err}"
    );
    img.assert_no_shell();
    eprintln!("timing: nginx total {:.2}s", t.elapsed().as_secs_f64());
}

#[test]
fn python3_stdlib_ssl_sqlite_ctypes_hashlib_lzma_run_in_its_layer() {
    let (true, Some(root)) = (have_podman(), amd64_root()) else {
        return;
    };
    let t = Instant::now();
    let d = tmpdir();
    let layer = pack(
        &root,
        &d.path().join("python.tar.zst"),
        &["--include", &stdlib(&root), "/usr/bin/python3"],
    );
    let img = Image::import(&layer, "python3");
    let script = r#"
import ssl, sqlite3, ctypes, hashlib, lzma
db = sqlite3.connect(':memory:')
assert db.execute('select 6 * 7').fetchone()[0] == 42
assert hashlib.sha256(b'abc').hexdigest().startswith('ba7816bf')
assert lzma.decompress(lzma.compress(b'x' * 1000)) == b'x' * 1000
assert ctypes.CDLL('libc.so.6').getpid() > 0
print('cas', ssl.create_default_context().cert_store_stats()['x509_ca'])
print('ok', ssl.OPENSSL_VERSION)
"#;
    let out = img.run_ok(&["/usr/bin/python3", "-c", script], None);
    let cas: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("cas "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(cas > 0, "no CA certificates seen by Python's ssl: {out}");
    assert!(out.contains("ok OpenSSL"), "{out}");
    img.assert_no_shell();
    eprintln!(
        "timing: python3 total {:.2}s ({cas} CAs)",
        t.elapsed().as_secs_f64()
    );
}

#[test]
fn curl_reads_a_file_url_in_its_layer() {
    let (true, Some(root)) = (have_podman(), amd64_root()) else {
        return;
    };
    let t = Instant::now();
    let d = tmpdir();
    let data = "/etc/debian_version";
    let layer = pack(
        &root,
        &d.path().join("curl.tar.gz"),
        &["--include", data, "/usr/bin/curl"],
    );
    let img = Image::import(&layer, "curl");
    let out = img.run_ok(&["/usr/bin/curl", "-sS", &format!("file://{data}")], None);
    let want = std::fs::read_to_string(root.join(data.trim_start_matches('/'))).unwrap();
    assert_eq!(out, want);
    img.assert_no_shell();
    eprintln!("timing: curl total {:.2}s", t.elapsed().as_secs_f64());
}

#[test]
fn getent_finds_the_base_users() {
    let (true, Some(root)) = (have_podman(), amd64_root()) else {
        return;
    };
    let t = Instant::now();
    let d = tmpdir();
    let layer = pack(&root, &d.path().join("getent.tar"), &["/usr/bin/getent"]);
    let img = Image::import(&layer, "getent");
    assert_eq!(
        img.run_ok(&["/usr/bin/getent", "passwd", "nonroot"], None),
        "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
    );
    assert_eq!(
        img.run_ok(&["/usr/bin/getent", "group", "nonroot"], None),
        "nonroot:x:65532:\n"
    );
    img.assert_no_shell();
    eprintln!("timing: getent total {:.2}s", t.elapsed().as_secs_f64());
}

#[test]
fn iconv_converts_with_gconv_modules_of_the_layer() {
    let (true, Some(root)) = (have_podman(), amd64_root()) else {
        return;
    };
    let t = Instant::now();
    let d = tmpdir();
    let layer = pack(&root, &d.path().join("iconv.tar"), &["/usr/bin/iconv"]);
    let img = Image::import(&layer, "iconv");
    // Both charsets live in gconv modules (ISO8859-15.so, EBCDIC-US.so), not in libc.
    let o = img.run(
        &["/usr/bin/iconv", "-f", "UTF-8", "-t", "ISO-8859-15"],
        Some("€uro".as_bytes()),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(o.stdout, [0xa4, b'u', b'r', b'o']);
    let o = img.run(
        &["/usr/bin/iconv", "-f", "UTF-8", "-t", "EBCDIC-US"],
        Some(b"ABC"),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(o.stdout, [0xc1, 0xc2, 0xc3]);
    img.assert_no_shell();
    drop(img);
    // Control: without the gconv hint the same conversion fails, so the hint is what
    // made it work.
    let bare = pack(
        &root,
        &d.path().join("iconv-bare.tar"),
        &["--no-gconv", "/usr/bin/iconv"],
    );
    assert!(!layer_names(&bare).iter().any(|n| n.contains("/gconv/")));
    let img = Image::import(&bare, "iconv-bare");
    let o = img.run(
        &["/usr/bin/iconv", "-f", "UTF-8", "-t", "ISO-8859-15"],
        Some("€uro".as_bytes()),
    );
    assert!(!o.status.success(), "converted without gconv modules");
    eprintln!("timing: iconv total {:.2}s", t.elapsed().as_secs_f64());
}

const CANCEL_C: &str = r#"
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *worker(void *arg) {
    (void)arg;
    for (;;)
        pause(); /* a cancellation point */
    return NULL;
}

int main(void) {
    pthread_t t;
    void *res;
    if (pthread_create(&t, NULL, worker, NULL) != 0) return 2;
    if (pthread_cancel(t) != 0) return 3;
    if (pthread_join(t, &res) != 0) return 4;
    if (res != PTHREAD_CANCELED) return 5;
    puts("thread was cancelled");
    return 0;
}
"#;

#[test]
fn pthread_cancel_program_gets_libgcc_s() {
    let ok = have_podman() && common::require("gcc", common::have("gcc"));
    if !ok {
        return;
    }
    let t = Instant::now();
    let d = tmpdir();
    let src = d.path().join("cancel.c");
    let bin = d.path().join("cancel");
    std::fs::write(&src, CANCEL_C).unwrap();
    let o = Command::new("gcc")
        .args(["-O2", "-pthread", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("gcc");
    assert!(o.status.success(), "gcc: {}", text(&o.stderr));
    // pthread_cancel unwinds the thread with libgcc_s.so.1, which glibc dlopens: no
    // DT_NEEDED names it, the hint must.
    let layer = pack(
        Path::new("/"),
        &d.path().join("cancel.tar"),
        &[bin.to_str().unwrap()],
    );
    assert!(
        layer_names(&layer)
            .iter()
            .any(|n| n.ends_with("/libgcc_s.so.1")),
        "libgcc_s.so.1 not in the layer"
    );
    let img = Image::import(&layer, "cancel");
    let out = img.run_ok(&[bin.to_str().unwrap()], None);
    assert_eq!(out, "thread was cancelled\n");
    img.assert_no_shell();
    eprintln!(
        "timing: pthread_cancel total {:.2}s",
        t.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------
// aarch64 under qemu-user, from the unpacked layer alone

/// Packs `args` from the arm64 sysroot, unpacks the layer with GNU tar into an empty
/// directory and returns it.
fn arm64_layer_dir(root: &Path, name: &str, args: &[&str]) -> tempfile::TempDir {
    let d = tmpdir();
    let layer = pack(root, &d.path().join(format!("{name}.tar")), args);
    let into = tmpdir();
    let t = Instant::now();
    let o = Command::new("tar")
        .args(["--xattrs", "-xpf"])
        .arg(&layer)
        .arg("-C")
        .arg(into.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "tar -x: {}", text(&o.stderr));
    eprintln!("timing: unpack {name}: {:.2}s", t.elapsed().as_secs_f64());
    assert!(
        !into.path().join("bin/sh").exists() && !into.path().join("usr/bin/sh").exists(),
        "a shell in the {name} layer"
    );
    into
}

fn run_arm64(dir: &Path, prog: &str, args: &[&str]) -> String {
    let t = Instant::now();
    let o = common::run_in_root(dir, Arch::Aarch64, prog, args, &[]);
    eprintln!(
        "timing: qemu-aarch64 {prog} {args:?}: {:.2}s",
        t.elapsed().as_secs_f64()
    );
    assert!(
        o.status.success(),
        "{prog} {args:?} exited {:?}:\nstdout: {}\nstderr: {}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}

#[test]
fn aarch64_busybox_echo_runs_from_its_layer() {
    let Some(root) = arm64_root() else { return };
    let dir = arm64_layer_dir(&root, "busybox", &["/bin/busybox"]);
    // busybox is a program here, not a shell: only its name is in the layer.
    assert_eq!(
        run_arm64(dir.path(), "/bin/busybox", &["echo", "hello from aarch64"]),
        "hello from aarch64\n"
    );
}

#[test]
fn aarch64_curl_version_runs_from_its_layer() {
    let Some(root) = arm64_root() else { return };
    let dir = arm64_layer_dir(&root, "curl", &["/usr/bin/curl"]);
    let out = run_arm64(dir.path(), "/usr/bin/curl", &["--version"]);
    assert!(
        out.starts_with("curl ") && out.contains("aarch64") && out.contains("OpenSSL"),
        "{out}"
    );
}

#[test]
fn aarch64_python3_imports_ssl_from_its_layer() {
    let Some(root) = arm64_root() else { return };
    let dir = arm64_layer_dir(
        &root,
        "python3",
        &["--include", &stdlib(&root), "/usr/bin/python3"],
    );
    let out = run_arm64(
        dir.path(),
        "/usr/bin/python3",
        &[
            "-c",
            "import ssl, platform; print(platform.machine(), ssl.OPENSSL_VERSION)",
        ],
    );
    assert!(out.starts_with("aarch64 OpenSSL"), "{out}");
}
