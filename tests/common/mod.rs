//! Shared helpers of the integration tests: running the built `minroot`, building fake
//! roots, and asking the real glibc loader of a root what it loads (the ground truth).
//!
//! External resources (bwrap, qemu-user, the sysroots made by scripts/make-sysroot.sh,
//! podman) are optional for a developer's plain `cargo test`, which skips what is missing
//! and says so; scripts/test.sh sets MINROOT_REQUIRE_ALL=1, which turns a missing resource
//! into a failure so that CI never passes vacuously.
#![allow(dead_code)]

pub mod podman;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use minroot::arch::Arch;

/// The `minroot` binary under test.
pub fn minroot() -> Command {
    Command::new(env!("CARGO_BIN_EXE_minroot"))
}

/// Runs minroot with `args`; returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = minroot().args(args).output().expect("run minroot");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether tests must have every external resource (set by scripts/test.sh).
pub fn require_all() -> bool {
    std::env::var_os("MINROOT_REQUIRE_ALL").is_some_and(|v| v == "1")
}

/// Returns `available`; when a resource is missing, fails under MINROOT_REQUIRE_ALL=1 and
/// otherwise prints why the test is skipped.
pub fn require(what: &str, available: bool) -> bool {
    if !available {
        if require_all() {
            panic!(
                "required test resource missing: {what} (run scripts/test.sh, which installs and builds it)"
            );
        }
        eprintln!("SKIP: {what} is not available (scripts/test.sh provides it)");
    }
    available
}

/// Whether a program is on PATH.
pub fn have(prog: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {prog} >/dev/null 2>&1"))
        .status()
        .is_ok_and(|s| s.success())
}

/// Where scripts/make-sysroot.sh puts its roots.
pub fn sysroots_dir() -> PathBuf {
    std::env::var_os("MINROOT_SYSROOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/sysroots"))
}

/// A built sysroot (`arm64`, `amd64`), or None.
pub fn sysroot(name: &str) -> Option<PathBuf> {
    let d = sysroots_dir().join(name);
    let stamp = sysroots_dir().join(format!("{name}.stamp"));
    (d.is_dir() && stamp.is_file()).then_some(d)
}

/// A temporary root directory built by a test.
pub struct FakeRoot {
    pub dir: tempfile::TempDir,
}

impl FakeRoot {
    pub fn new() -> FakeRoot {
        FakeRoot {
            dir: tempfile::Builder::new()
                .prefix("minroot-fake-")
                .tempdir()
                .expect("tempdir"),
        }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn host(&self, inside: &str) -> PathBuf {
        self.path().join(inside.trim_start_matches('/'))
    }
    pub fn mkdir(&self, inside: &str) -> &Self {
        std::fs::create_dir_all(self.host(inside)).expect("mkdir");
        self
    }
    /// Writes a file (parents created), mode 0755.
    pub fn write(&self, inside: &str, bytes: &[u8]) -> &Self {
        let p = self.host(inside);
        std::fs::create_dir_all(p.parent().unwrap()).expect("mkdir");
        std::fs::write(&p, bytes).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        self
    }
    /// Creates a symlink at `inside` pointing to `target` (as stored).
    pub fn symlink(&self, inside: &str, target: &str) -> &Self {
        let p = self.host(inside);
        std::fs::create_dir_all(p.parent().unwrap()).expect("mkdir");
        std::os::unix::fs::symlink(target, &p).expect("symlink");
        self
    }
    /// Copies the real glibc loader of `arch` into the root at its PT_INTERP path:
    /// the host's for x86_64, Debian's arm64 build (libc6-arm64-cross) for aarch64.
    pub fn install_loader(&self, arch: Arch) -> bool {
        let Some(src) = host_loader(arch) else {
            return false;
        };
        let dst = self.host(arch.loader_path());
        std::fs::create_dir_all(dst.parent().unwrap()).expect("mkdir");
        std::fs::copy(src, &dst).is_ok()
    }
}

/// A real ld.so for `arch` on this machine.
pub fn host_loader(arch: Arch) -> Option<PathBuf> {
    let p = match arch {
        Arch::X86_64 => PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
        Arch::Aarch64 => PathBuf::from("/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1"),
    };
    p.is_file().then_some(p)
}

/// Whether the real loader of `arch` can be run in a root here (bwrap, and qemu-user for
/// a foreign architecture).
pub fn can_run_loader(arch: Arch) -> bool {
    have("bwrap")
        && (Arch::host() == Some(arch)
            || Path::new(&format!("/usr/bin/{}", arch.qemu_static())).is_file())
}

/// Runs `prog` (a path inside `root`) inside the root with bwrap, under qemu-user when
/// `arch` is not the host's, with `env` set. Returns the process output.
pub fn run_in_root(
    root: &Path,
    arch: Arch,
    prog: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let mut cmd = Command::new("bwrap");
    cmd.arg("--bind").arg(root).arg("/").args([
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--chdir",
        "/",
        "--unshare-pid",
        "--die-with-parent",
    ]);
    cmd.arg("--clearenv");
    for (k, v) in env {
        cmd.args(["--setenv", k, v]);
    }
    // qemu-user must be visible inside the root. It is bind-mounted read-only onto an
    // empty file with a private name: nothing is copied (so no process can hold the file
    // open for writing when it is executed, "Text file busy"), parallel tests stay apart,
    // and the mount point is removed afterwards.
    let mount_point = if Arch::host() != Some(arch) {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let name = format!(
            "/.minroot-qemu-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let host = root.join(&name[1..]);
        std::fs::write(&host, b"").expect("create the qemu mount point in the root");
        cmd.arg("--ro-bind")
            .arg(format!("/usr/bin/{}", arch.qemu_static()))
            .arg(&name);
        cmd.arg(&name);
        Some(host)
    } else {
        None
    };
    cmd.arg(prog).args(args);
    let out = cmd.output().expect("run bwrap");
    if let Some(q) = mount_point {
        let _ = std::fs::remove_file(q);
    }
    out
}

/// One line of a loader's list: (name, path) or (name, "not found").
pub type Line = (String, String);

/// What the real loader of the root lists for `prog` with LD_TRACE_LOADED_OBJECTS=1
/// (vDSO and interpreter lines dropped), paths as printed. None if it failed to run.
pub fn real_loader_list(
    root: &Path,
    arch: Arch,
    prog: &str,
    env: &[(&str, &str)],
) -> Result<Vec<Line>, String> {
    let mut e = vec![("LD_TRACE_LOADED_OBJECTS", "1")];
    e.extend_from_slice(env);
    let out = run_in_root(root, arch, prog, &[], &e);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "loader exited with {:?}: {}{}",
            out.status.code(),
            stdout,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(parse_trace_output(&stdout, arch))
}

/// Parses glibc's LD_TRACE_LOADED_OBJECTS output.
pub fn parse_trace_output(s: &str, arch: Arch) -> Vec<Line> {
    let mut v = Vec::new();
    for line in s.lines() {
        let l = line.trim();
        if l.is_empty() || l.contains("statically linked") || l.contains("not a dynamic executable")
        {
            continue;
        }
        if let Some((name, rest)) = l.split_once(" => ") {
            let path = rest.split(" (0x").next().unwrap_or(rest).trim().to_string();
            v.push((name.to_string(), path));
        } else {
            let name = l.split(" (0x").next().unwrap_or(l).trim().to_string();
            if name.starts_with("linux-vdso")
                || name.starts_with("linux-gate")
                || name == arch.loader_path()
                || name.ends_with(arch.loader_soname())
            {
                continue;
            }
            v.push((name.clone(), name));
        }
    }
    v
}

/// Parses `minroot trace --format list` output of one program.
pub fn parse_list(s: &str) -> Vec<Line> {
    s.lines()
        .filter_map(|l| l.split_once(" => "))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Makes paths comparable: resolved inside `root` (relative = relative to `/`).
pub fn canonical_lines(root: &Path, lines: &[Line]) -> Vec<Line> {
    let r = minroot::sysroot::Root::new(root).expect("root");
    lines
        .iter()
        .map(|(n, p)| {
            if p == "not found" {
                return (n.clone(), p.clone());
            }
            let abs = if p.starts_with('/') {
                p.clone()
            } else {
                format!("/{p}")
            };
            let c = r
                .resolve(&abs)
                .ok()
                .flatten()
                .map(|x| x.path)
                .unwrap_or(abs);
            (n.clone(), c)
        })
        .collect()
}

/// Where scripts/make-fixtures.sh puts its fixture roots.
pub fn fixtures_dir() -> PathBuf {
    std::env::var_os("MINROOT_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fixtures"))
}

/// A fixture root of scripts/make-fixtures.sh (`x86_64`, `x86_64-cache`, `aarch64`,
/// `aarch64-cache`; see testdata/README.md), or None when it was not built.
pub fn fixture(name: &str) -> Option<PathBuf> {
    let d = fixtures_dir().join(name);
    let arch = name.strip_suffix("-cache").unwrap_or(name);
    (d.is_dir() && fixtures_dir().join(format!("{arch}.stamp")).is_file()).then_some(d)
}

/// A minroot built from an older commit (`scripts/baseline.sh` builds it; scripts/test.sh
/// sets MINROOT_BASELINE to its path), for tests that show a change kept every byte.
pub fn baseline() -> Option<PathBuf> {
    let p = std::env::var_os("MINROOT_BASELINE").map(PathBuf::from);
    let ok = p.as_ref().is_some_and(|p| p.is_file());
    require(
        "MINROOT_BASELINE, a minroot of the commit before runtimes (scripts/baseline.sh)",
        ok,
    )
    .then(|| p.unwrap())
}

/// What a program run opened, observed from outside: the paths (as the program named
/// them) of every open/openat that succeeded in the program, its threads and its
/// children, in order, once each.
pub struct Opened {
    pub output: Output,
    pub paths: Vec<String>,
}

/// Runs `prog` inside `root` as [`run_in_root`] does (but the root bound read-only), under
/// the host's strace, and returns what it opened: ground truth for what a real program
/// loads at run time (dlopen'ed modules, data files), independent of minroot. For a
/// foreign `arch` the traced process is qemu-user, whose file system calls carry the
/// guest's own paths (it runs without `-L`). Only what happens after the program's
/// execve is kept (bwrap's own opens are not the program's).
pub fn opened_in_root(
    root: &Path,
    arch: Arch,
    prog: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Opened {
    let log = tempfile::NamedTempFile::new().expect("strace log");
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-s", "4096", "-e"])
        .arg("trace=execve,open,openat,clone,clone3,fork,vfork")
        .arg("-o")
        .arg(log.path())
        .arg("bwrap");
    cmd.arg("--ro-bind").arg(root).arg("/").args([
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--chdir",
        "/",
        "--unshare-pid",
        "--die-with-parent",
        "--clearenv",
    ]);
    for (k, v) in env {
        cmd.args(["--setenv", k, v]);
    }
    // qemu-user bound onto an empty file with a private name, as in run_in_root.
    let (exec, mount_point) = if Arch::host() != Some(arch) {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let name = format!(
            "/.minroot-observe-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let host = root.join(&name[1..]);
        std::fs::write(&host, b"").expect("create the qemu mount point in the root");
        cmd.arg("--ro-bind")
            .arg(format!("/usr/bin/{}", arch.qemu_static()))
            .arg(&name);
        cmd.arg(&name);
        (name, Some(host))
    } else {
        (prog.to_string(), None)
    };
    cmd.arg(prog).args(args);
    let output = cmd.output().expect("run strace");
    if let Some(q) = mount_point {
        let _ = std::fs::remove_file(q);
    }
    let text = std::fs::read_to_string(log.path()).expect("read the strace log");
    Opened {
        output,
        paths: parse_strace_opens(&text, &exec),
    }
}

/// The successful opens of the process that execve'd `exec` and of the threads and
/// processes it started, from `strace -f` output (calls split into `<unfinished ...>` and
/// `<... resumed>` lines included).
pub fn parse_strace_opens(log: &str, exec: &str) -> Vec<String> {
    use std::collections::{HashMap, HashSet};
    let mut tracked: HashSet<u32> = HashSet::new();
    // Per pid: the call left unfinished (name, its first quoted argument).
    let mut pending: HashMap<u32, (String, Option<String>)> = HashMap::new();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let quoted = |s: &str| -> Option<String> {
        let start = s.find('"')? + 1;
        let end = start + s[start..].find('"')?;
        Some(s[start..end].to_string())
    };
    let result = |s: &str| -> Option<i64> {
        let r = s.rsplit_once(") = ")?.1;
        r.split_whitespace().next()?.parse().ok()
    };
    for line in log.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let rest = rest.trim_start();
        let (call, arg, ret) = if let Some(r) = rest.strip_prefix("<... ") {
            let Some((name, tail)) = r.split_once(" resumed>") else {
                continue;
            };
            let (_, arg) = pending.remove(&pid).unwrap_or((name.to_string(), None));
            (name.to_string(), arg, result(tail))
        } else {
            let Some((name, tail)) = rest.split_once('(') else {
                continue;
            };
            if tail.ends_with("<unfinished ...>") {
                pending.insert(pid, (name.to_string(), quoted(tail)));
                continue;
            }
            (name.to_string(), quoted(tail), result(tail))
        };
        match call.as_str() {
            "execve" if arg.as_deref() == Some(exec) && ret == Some(0) => {
                tracked.insert(pid);
            }
            "clone" | "clone3" | "fork" | "vfork" if tracked.contains(&pid) => {
                if let Some(child) = ret.filter(|&r| r > 0) {
                    tracked.insert(child as u32);
                }
            }
            "open" | "openat" if tracked.contains(&pid) && ret.is_some_and(|r| r >= 0) => {
                if let Some(p) = arg
                    && seen.insert(p.clone())
                {
                    out.push(p);
                }
            }
            _ => {}
        }
    }
    out
}

/// The canonical path of `path` inside `root`, as the kernel resolves it under chroot
/// (openat2 with RESOLVE_IN_ROOT: an absolute symlink restarts at the root, `..` stays in
/// it; the final symlink is followed), read back from the descriptor's /proc link; None
/// when it does not exist. minroot's own resolver is not asked: tests derive names from
/// the root with it instead of writing one release's file names.
pub fn kernel_canonical(root: &Path, path: &str) -> Option<String> {
    use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
    use std::os::fd::AsRawFd;
    let dir = std::fs::File::open(root).ok()?;
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT);
    let fd = openat2(&dir, path.trim_start_matches('/'), how).ok()?;
    let host = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
    let top = std::fs::canonicalize(root).ok()?;
    let rel = host.strip_prefix(&top).ok()?;
    Some(format!("/{}", rel.to_string_lossy()))
}

/// What the root's Python is called (`python3.11` on bookworm): the file name of
/// /usr/bin/python3's realpath in `root`, which also names its standard library
/// (/usr/lib/python3.X).
pub fn python_name(root: &Path) -> Option<String> {
    let real = kernel_canonical(root, "/usr/bin/python3")?;
    Some(real.rsplit('/').next()?.to_string())
}

/// The upstream part of `pkg`'s installed version in `root` (`7.88.1` of
/// `7.88.1-10+deb12u14`, without an epoch): what the program says its version is. From
/// the dpkg status, or, in a root unpacked without dpkg configuring it (mmdebstrap
/// `--variant=extract`, whose status is empty), from the first line of the package's
/// `/usr/share/doc/PKG/changelog.Debian.gz`: `PKG (VERSION) DIST; urgency=...`.
pub fn package_upstream_version(root: &Path, pkg: &str) -> Option<String> {
    let status = std::fs::read_to_string(root.join("var/lib/dpkg/status")).unwrap_or_default();
    let from_status = status
        .split("\n\n")
        .find(|p| p.lines().any(|l| l == format!("Package: {pkg}")))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("Version: ")))
        .map(str::to_string);
    let version = from_status.or_else(|| {
        use std::io::Read;
        let gz = std::fs::File::open(root.join(format!("usr/share/doc/{pkg}/changelog.Debian.gz")))
            .ok()?;
        let mut head = Vec::new();
        flate2::read::MultiGzDecoder::new(gz)
            .take(4096)
            .read_to_end(&mut head)
            .ok()?;
        let text = String::from_utf8_lossy(&head);
        let first = text.lines().next()?;
        let rest = first.strip_prefix(pkg)?.trim_start().strip_prefix('(')?;
        Some(rest.split_once(')')?.0.to_string())
    })?;
    let v = version
        .split_once(':')
        .map_or(version.as_str(), |(_, rest)| rest);
    let upstream = v.rsplit_once('-').map_or(v, |(up, _)| up);
    Some(upstream.split('+').next().unwrap_or(upstream).to_string())
}

/// The amd64 Debian test root, required (`None` only when resources may be missing).
pub fn amd64_root() -> Option<PathBuf> {
    let r = sysroot("amd64");
    require("the amd64 sysroot (scripts/make-sysroot.sh)", r.is_some()).then(|| r.unwrap())
}

/// Whether podman and runc are here (required under MINROOT_REQUIRE_ALL=1).
pub fn have_podman() -> bool {
    require("podman and runc", have("podman") && have("runc"))
}
