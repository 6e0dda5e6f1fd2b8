//! `minroot bundle` end to end: bundles of the host's curl and python3 (with its
//! standard library) are unpacked into a random directory of a bare chroot that holds
//! only a static busybox and its applet links (no /lib, no /usr, no loader), and run
//! there with bwrap: `curl --version`, `curl file://`, `python3 -c 'import ssl, sqlite3,
//! json'`, a child process that execs another bundled program by name, Python re-running
//! `sys.executable`, a launcher reached through a symlink, and LD_LIBRARY_PATH absent from
//! every child's environment; pip3, a `#!/usr/bin/python3` script, runs through the
//! python3 launcher. An aarch64 bundle from the arm64 sysroot runs its launcher, whose
//! exec of the aarch64 loader goes to qemu-user through a binfmt_misc instance of the
//! test's own user namespace, and prints the root's curl version. A bundle with a missing library exits 1 and writes nothing; a .tar.gz is
//! byte-reproducible.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::FakeRoot;
use minroot::arch::Arch;
use minroot::elf::synth::Synth;

/// A bare root: /bin/busybox (static) with its applet links, /tmp, /proc, /dev.
struct Chroot {
    dir: tempfile::TempDir,
}

impl Chroot {
    fn new() -> Chroot {
        let dir = tempfile::Builder::new()
            .prefix("minroot-bare-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        for sub in ["bin", "tmp", "proc", "dev"] {
            std::fs::create_dir(d.join(sub)).unwrap();
        }
        std::fs::copy("/bin/busybox", d.join("bin/busybox")).unwrap();
        let list = Command::new("/bin/busybox").arg("--list").output().unwrap();
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            if applet != "busybox" && !applet.contains('/') {
                std::os::unix::fs::symlink("busybox", d.join("bin").join(applet)).unwrap();
            }
        }
        Chroot { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A fresh directory with a random name at the top of the chroot; returns its path
    /// inside the chroot.
    fn random_dir(&self) -> String {
        let d = tempfile::Builder::new()
            .prefix("unpacked-")
            .tempdir_in(self.path())
            .unwrap()
            .keep();
        format!("/{}", d.file_name().unwrap().to_string_lossy())
    }

    /// Runs `args` inside the chroot with PATH=/bin and nothing else in the environment.
    fn run(&self, args: &[&str], extra: &[&str]) -> Output {
        self.bwrap(Command::new("bwrap"), args, extra)
    }

    /// [`Chroot::run`] in a user namespace of its own whose binfmt_misc instance (Linux
    /// 6.7 and later) hands `arch` programs to the host's qemu-user: a program of that
    /// architecture then starts by execve, as on a host where qemu-user-static is
    /// registered, and nothing of the host's binfmt_misc is touched.
    fn run_with_binfmt(&self, arch: Arch, args: &[&str]) -> Output {
        let (magic, mask) = arch.binfmt_magic_mask();
        let rule = format!(
            ":minroot-test:M::{magic}:{mask}:/usr/bin/{}:F",
            arch.qemu_static()
        );
        let mut c = Command::new("unshare");
        c.args([
            "--user",
            "--map-root-user",
            "--mount",
            "--fork",
            "sh",
            "-c",
            "mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
             && printf %s \"$1\" > /proc/sys/fs/binfmt_misc/register && shift && exec \"$@\"",
            "sh",
            &rule,
            "bwrap",
        ]);
        self.bwrap(c, args, &[])
    }

    /// `c` (bwrap, or a command ending in bwrap) with the chroot's bwrap arguments.
    fn bwrap(&self, mut c: Command, args: &[&str], extra: &[&str]) -> Output {
        c.arg("--bind").arg(self.path()).arg("/");
        c.args([
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--chdir",
            "/",
            "--unshare-pid",
            "--die-with-parent",
        ]);
        c.args(["--clearenv", "--setenv", "PATH", "/bin"]);
        c.args(extra);
        c.args(args);
        c.output().unwrap()
    }

    fn run_ok(&self, args: &[&str]) -> String {
        let o = self.run(args, &[]);
        assert!(
            o.status.success(),
            "{args:?} exited {:?}\nstdout: {}\nstderr: {}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

/// Whether a user namespace of the test's own can mount a binfmt_misc instance
/// ([`Chroot::run_with_binfmt`]).
fn binfmt_in_userns() -> bool {
    Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
        .arg("mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn can_chroot() -> bool {
    common::require("bwrap", common::have("bwrap"))
        && common::require(
            "a static /bin/busybox (apt package busybox-static)",
            std::fs::read("/bin/busybox").is_ok_and(|b| {
                minroot::elf::inspect(&b, minroot::elf::Options::default())
                    .is_ok_and(|i| i.is_static())
            }),
        )
}

fn host_programs() -> bool {
    Arch::host() == Some(Arch::X86_64)
        && common::require(
            "the host's /usr/bin/curl and /usr/bin/python3 with its standard library",
            Path::new("/usr/bin/curl").is_file()
                && common::python_name(Path::new("/"))
                    .is_some_and(|py| Path::new(&format!("/usr/lib/{py}/os.py")).is_file()),
        )
}

/// The host's Python standard library (`/usr/lib/python3.X`), which the bundles include.
fn host_stdlib() -> String {
    format!(
        "/usr/lib/{}",
        common::python_name(Path::new("/")).expect("checked by host_programs")
    )
}

/// What a host program prints (trimmed): what the bundled copy of the same program must
/// print, whichever release the host has.
fn host_says(prog: &str, args: &[&str]) -> String {
    let o = Command::new(prog).args(args).output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn bundle(args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["bundle"];
    all.extend_from_slice(args);
    common::run(&all)
}

fn untar(tarball: &Path, into: &Path) {
    let o = Command::new("tar")
        .arg("-xzf")
        .arg(tarball)
        .arg("-C")
        .arg(into)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn curl_and_python3_run_from_a_bare_busybox_chroot() {
    if !can_chroot() || !host_programs() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let tarball = out.path().join("apps.tar.gz");
    let stdlib = host_stdlib();
    let (code, stdout, err) = bundle(&[
        "-o",
        tarball.to_str().unwrap(),
        "--include",
        &stdlib,
        "/usr/bin/curl",
        "/usr/bin/python3",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        stdout.contains("apps/bin/curl") && stdout.contains("apps/bin/python3"),
        "{stdout}"
    );

    let ch = Chroot::new();
    let at = ch.random_dir();
    untar(&tarball, &ch.path().join(&at[1..]));
    let bin = format!("{at}/apps/bin");
    assert!(
        !ch.path().join("lib64").exists() && !ch.path().join("usr").exists(),
        "bare"
    );

    // curl: version and a file:// URL.
    let v = ch.run_ok(&[&format!("{bin}/curl"), "--version"]);
    assert!(v.starts_with("curl ") && v.contains("OpenSSL"), "{v}");
    std::fs::write(ch.path().join("tmp/hello.txt"), "hello from the chroot\n").unwrap();
    let got = ch.run_ok(&[&format!("{bin}/curl"), "-s", "file:///tmp/hello.txt"]);
    assert_eq!(got, "hello from the chroot\n");

    // python3: its standard library, ssl (with the bundled CA bundle), sqlite3, json.
    let py = format!("{bin}/python3");
    let got = ch.run_ok(&[
        &py,
        "-c",
        "import ssl, sqlite3, json, sys; c = ssl.create_default_context(); \
         print(json.dumps({'ssl': ssl.OPENSSL_VERSION, 'sqlite': sqlite3.sqlite_version, \
         'cas': len(c.get_ca_certs()), 'prefix': sys.prefix, 'exe': sys.executable}))",
    ]);
    let v: serde_json::Value = serde_json::from_str(got.trim()).unwrap();
    // The host's own OpenSSL, as the host's python3 reports it.
    let host_ssl = host_says(
        "/usr/bin/python3",
        &["-c", "import ssl; print(ssl.OPENSSL_VERSION)"],
    );
    assert_eq!(v["ssl"], host_ssl.as_str(), "{v}");
    assert!(!v["sqlite"].as_str().unwrap().is_empty());
    assert!(
        v["cas"].as_u64().unwrap() > 10,
        "the bundled CA bundle is used: {v}"
    );
    assert_eq!(v["prefix"], format!("{at}/apps"), "{v}");
    assert_eq!(v["exe"], py, "sys.executable is the launcher: {v}");

    // A child that execs a bundled program by name, and one that re-runs sys.executable;
    // no child sees LD_LIBRARY_PATH.
    let got = ch.run_ok(&[
        &py,
        "-c",
        "import os, subprocess, sys\n\
         print('parent', os.environ.get('LD_LIBRARY_PATH', 'unset'))\n\
         print('curl', subprocess.run(['curl', '--version'], capture_output=True, text=True).stdout.split()[1])\n\
         print('again', subprocess.run([sys.executable, '-c', 'print(6 * 7)'], capture_output=True, text=True).stdout.strip())\n\
         print('shell', subprocess.run(['sh', '-c', 'echo ${LD_LIBRARY_PATH-unset}'], capture_output=True, text=True).stdout.strip())\n\
         print('env', 'LD_LIBRARY_PATH' in subprocess.run(['env'], capture_output=True, text=True).stdout)\n",
    ]);
    // The version the host's own curl prints ("curl 7.88.1 (x86_64-pc-linux-gnu) ...").
    let host_curl = host_says("/usr/bin/curl", &["--version"]);
    let host_curl: Vec<&str> = host_curl.split_whitespace().take(2).collect();
    let curl_line = format!("curl {}", host_curl[1]);
    assert_eq!(
        got.lines().collect::<Vec<_>>(),
        [
            "parent unset",
            curl_line.as_str(),
            "again 42",
            "shell unset",
            "env False"
        ],
        "{got}"
    );

    // /proc/self/exe names the bundled loader, which sits next to the programs.
    let got = ch.run_ok(&[&py, "-c", "import os; print(os.readlink('/proc/self/exe'))"]);
    assert_eq!(
        got.trim(),
        format!("{at}/apps/libexec/ld-linux-x86-64.so.2")
    );

    // A launcher reached through a symlink elsewhere finds its bundle (no readlink -f).
    std::os::unix::fs::symlink(format!("{at}/apps/bin/python3"), ch.path().join("bin/py")).unwrap();
    let got = ch.run_ok(&["py", "-c", "import sys; print(sys.prefix)"]);
    assert_eq!(got.trim(), format!("{at}/apps"));
}

#[test]
fn a_directory_bundle_runs_after_being_moved() {
    if !can_chroot() || !host_programs() {
        return;
    }
    let ch = Chroot::new();
    let first = ch.path().join("first");
    let (code, _, err) = bundle(&["-o", first.to_str().unwrap(), "/usr/bin/curl"]);
    assert_eq!(code, 0, "{err}");
    assert!(first.join("bin/curl").is_file() && first.join("libexec/curl").is_file());
    let at = ch.random_dir();
    let moved = ch.path().join(&at[1..]).join("curl bundle: moved");
    std::fs::rename(&first, &moved).unwrap();
    let got = ch.run_ok(&[&format!("{at}/curl bundle: moved/bin/curl"), "--version"]);
    assert!(got.starts_with("curl "), "{got}");
    let launcher = std::fs::read_to_string(moved.join("bin/curl")).unwrap();
    assert!(!launcher.contains("LD_LIBRARY_PATH"), "{launcher}");
    assert!(launcher.contains("--library-path '$ORIGIN/"), "{launcher}");
}

#[test]
fn an_aarch64_bundle_runs_under_qemu() {
    let Some(arm) = common::sysroot("arm64") else {
        common::require("the arm64 sysroot (scripts/make-sysroot.sh)", false);
        return;
    };
    if !can_chroot()
        || !common::require(
            "qemu-aarch64-static",
            Path::new("/usr/bin/qemu-aarch64-static").is_file(),
        )
        || !common::require(
            "binfmt_misc in a user namespace (Linux 6.7 or later, unshare)",
            binfmt_in_userns(),
        )
    {
        return;
    }
    let ch = Chroot::new();
    let at = ch.random_dir();
    let dir = ch.path().join(&at[1..]).join("curl");
    let (code, _, err) = bundle(&[
        "--root",
        arm.to_str().unwrap(),
        "-o",
        dir.to_str().unwrap(),
        "/usr/bin/curl",
    ]);
    assert_eq!(code, 0, "{err}");
    let launcher = std::fs::read_to_string(dir.join("bin/curl")).unwrap();
    assert!(launcher.contains("ld-linux-aarch64.so.1"), "{launcher}");
    // The launcher itself runs, with the chroot's (the host's) sh: its exec of the
    // aarch64 loader goes through a binfmt_misc registration of qemu-user made in a user
    // namespace of the test's own (`F`: qemu is opened at registration, from the host),
    // as a host with qemu-user-static registered runs it; nothing is rebuilt by hand.
    let o = ch.run_with_binfmt(
        Arch::Aarch64,
        &[&format!("{at}/curl/bin/curl"), "--version"],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && out.starts_with("curl "),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("aarch64"), "{out}");
    // The upstream version of the root's curl package, which it prints.
    let v = common::package_upstream_version(&arm, "curl").expect("the root's curl version");
    assert!(out.starts_with(&format!("curl {v} ")), "{out} (dpkg: {v})");
}

/// A fake root with a program that needs a library the root does not have.
fn broken_root() -> FakeRoot {
    let r = FakeRoot::new();
    let m = Arch::X86_64.elf_machine();
    r.write(
        "/usr/lib64/ld-linux-x86-64.so.2",
        &Synth::lib(m, "ld-linux-x86-64.so.2").build(),
    );
    r.symlink("/lib64", "usr/lib64");
    r.write(
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        &Synth::lib(m, "libc.so.6").build(),
    );
    let exe = Synth::exe(m, Arch::X86_64.loader_path())
        .needs("libmissing.so.1")
        .needs("libc.so.6");
    r.write("/usr/bin/app", &exe.build());
    r
}

#[test]
fn a_missing_library_fails_and_writes_nothing() {
    let r = broken_root();
    let out = tempfile::tempdir().unwrap();
    for name in ["app.tar.gz", "app-dir"] {
        let dest = out.path().join(name);
        let (code, _, err) = bundle(&[
            "--root",
            r.path().to_str().unwrap(),
            "-o",
            dest.to_str().unwrap(),
            "/usr/bin/app",
        ]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("libmissing.so.1"), "{err}");
        assert!(err.contains("nothing written"), "{err}");
        assert!(!dest.exists(), "{name} was written");
    }
    assert!(
        std::fs::read_dir(out.path()).unwrap().next().is_none(),
        "no temporary file left"
    );
}

#[test]
fn a_complete_fake_bundle_is_laid_out_and_reproducible() {
    let r = broken_root();
    let m = Arch::X86_64.elf_machine();
    r.write(
        "/usr/lib/x86_64-linux-gnu/libmissing.so.1.0",
        &Synth::lib(m, "libmissing.so.1").needs("libc.so.6").build(),
    );
    r.symlink(
        "/usr/lib/x86_64-linux-gnu/libmissing.so.1",
        "libmissing.so.1.0",
    );
    // A program that mentions /proc/self/exe gets a warning.
    let mut selfexec = Synth::exe(m, Arch::X86_64.loader_path())
        .needs("libc.so.6")
        .build();
    selfexec.extend_from_slice(b"\0/proc/self/exe\0");
    r.write("/usr/bin/reexec", &selfexec);
    let out = tempfile::tempdir().unwrap();
    let digest = |name: &str| -> (String, String) {
        let dest = out.path().join(name);
        let o = common::minroot()
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .args([
                "bundle",
                "--json",
                "--name",
                "app",
                "--root",
                r.path().to_str().unwrap(),
                "-o",
            ])
            .arg(&dest)
            .args(["/usr/bin/app", "/usr/bin/reexec"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (
            v["tarball"]["blob_digest"].as_str().unwrap().to_string(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (a, warn) = digest("one.tar.gz");
    let (b, _) = digest("two.tar.gz");
    assert_eq!(a, b, "two runs, one digest");
    assert!(
        warn.contains("/usr/bin/reexec mentions /proc/self/exe"),
        "{warn}"
    );

    let list = Command::new("tar")
        .env("TZ", "UTC")
        .arg("-tvzf")
        .arg(out.path().join("one.tar.gz"))
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    let names: Vec<&str> = list
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .collect();
    let expect: Vec<PathBuf> = [
        "app/bin/app",
        "app/bin/reexec",
        "app/libexec/app",
        "app/libexec/ld-linux-x86-64.so.2",
        "app/lib/x86_64-linux-gnu/libc.so.6",
        "app/lib/x86_64-linux-gnu/libmissing.so.1.0",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    for e in &expect {
        assert!(names.iter().any(|n| Path::new(n) == e), "{e:?} in {list}");
    }
    assert!(
        list.contains("app/lib/x86_64-linux-gnu/libmissing.so.1 -> libmissing.so.1.0"),
        "{list}"
    );
    // The loader's file is in libexec/, next to the programs, not at its PT_INTERP path.
    assert!(!list.contains("app/lib64/ld-linux-x86-64.so.2"), "{list}");
    assert!(
        list.lines()
            .all(|l| l.contains("0/0") && l.contains("2023-11-14")),
        "{list}"
    );
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries sorted");
}

#[test]
fn a_python_script_runs_through_its_interpreter_launcher() {
    if !can_chroot()
        || !host_programs()
        || !common::require(
            "the host's pip3 (apt package python3-pip)",
            Path::new("/usr/bin/pip3").is_file()
                && Path::new("/usr/lib/python3/dist-packages/pip").is_dir(),
        )
    {
        return;
    }
    let ch = Chroot::new();
    let at = ch.random_dir();
    let dir = ch.path().join(&at[1..]).join("pip");
    let stdlib = host_stdlib();
    let (code, _, err) = bundle(&[
        "-o",
        dir.to_str().unwrap(),
        "--include",
        &stdlib,
        "--include",
        "/usr/lib/python3/dist-packages/pip",
        "/usr/bin/pip3",
    ]);
    assert_eq!(code, 0, "{err}");
    // pip3 is a `#!/usr/bin/python3` script: its launcher runs the python3 launcher.
    let launcher = std::fs::read_to_string(dir.join("bin/pip3")).unwrap();
    assert!(
        launcher.ends_with("exec \"$here\"/'python3' \"$here\"/'../libexec/pip3' \"$@\"\n"),
        "{launcher}"
    );
    assert!(dir.join("bin/python3").is_file());
    let got = ch.run_ok(&[&format!("{at}/pip/bin/pip3"), "--version"]);
    assert!(
        got.starts_with("pip ") && got.contains(&format!("{at}/pip/lib/python3/dist-packages/pip")),
        "{got}"
    );
}
