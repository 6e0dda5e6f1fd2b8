//! The run's side of a probe: two re-executions of minroot itself that set up the place
//! where the program runs, then start it.
//!
//! 1. `minroot __probe-sandbox CONFIG` (the supervisor's child): new mount, pid, IPC and
//!    UTS namespaces (and network, unless `--network`; and user, for a foreign
//!    architecture); the root under an overlay (the root itself is never written: what the
//!    run writes lands in a tmpfs upper layer, which is how the supervisor tells created
//!    files from contents), a minimal `/dev`, a private `/tmp`; for an aarch64 root, a
//!    binfmt_misc instance of the run's own user namespace that hands aarch64 programs to
//!    the host's qemu-user (opened at registration: qemu is never put in the root, and
//!    every `execve` of the guest goes through it, with no `-L` prefix to fall back to the
//!    host's files). Then it starts stage 2 and waits for it.
//! 2. `minroot __probe-init CONFIG` (pid 1 of the new pid namespace): mounts `/proc`,
//!    chroots into the root, installs the seccomp filter whose notifications go to the
//!    supervisor (the listener fd is sent over a unix socket), starts the program with the
//!    given environment, directory and user, reaps orphans as an init does, and when the
//!    program ends, kills what is left and reports how it ended.
//!
//! Both stages die with their parent (PR_SET_PDEATHSIG), so a killed supervisor leaves no
//! run behind. Everything here uses safe wrappers (nix, libseccomp, std).

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use libseccomp::{ScmpAction, ScmpFilterContext, ScmpSyscall};
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use nix::sys::signal::Signal;
use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use super::syscalls::CALLS;

/// What the two stages need, written by the supervisor into its private directory.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Config {
    /// The root (host path, canonical).
    pub root: PathBuf,
    /// The supervisor's private directory (host path): mount points and the socket.
    pub dir: PathBuf,
    pub command: Vec<String>,
    pub env: Vec<String>,
    pub workdir: String,
    pub user: Option<(u32, u32)>,
    pub network: bool,
    /// For a foreign root: binfmt_misc `(magic, mask, interpreter, flags)`.
    pub binfmt: Option<(String, String, PathBuf, String)>,
}

impl Config {
    /// Where the root is mounted for the run (host path, in the run's mount namespace).
    pub fn merged(&self) -> PathBuf {
        self.dir.join("merged")
    }
    /// The overlay's upper layer: what the run wrote.
    pub fn upper(&self) -> PathBuf {
        self.dir.join("rw/upper")
    }
    pub fn socket(&self) -> PathBuf {
        self.dir.join("socket")
    }
    fn read(path: &Path) -> Result<Config, String> {
        let b = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_slice(&b).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// The first message of each connection, so the supervisor knows which is which: stage 1
/// asking for its user namespace's id maps, and stage 2 sending the seccomp listener (in
/// the same message, so that no buffered read can swallow the fd).
pub const HELLO_MAP: &str = "map";
pub const HELLO_INIT: &str = "init";

fn err<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

fn send_line(s: &mut UnixStream, line: &str) -> Result<(), String> {
    s.write_all(format!("{line}\n").as_bytes())
        .map_err(err("writing to the supervisor"))
}

fn read_line(s: &UnixStream) -> Result<String, String> {
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line)
        .map_err(err("reading from the supervisor"))?;
    Ok(line.trim_end().to_string())
}

/// Stage 1, as a process of its own (`minroot __probe-sandbox CONFIG`); returns its exit
/// status: stage 2's, or 125 with a message on stderr when setting up failed.
pub fn sandbox_main(config: &Path) -> i32 {
    match sandbox(config) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("minroot probe: setting up the run: {e}");
            125
        }
    }
}

fn sandbox(config_path: &Path) -> Result<i32, String> {
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(err("PR_SET_PDEATHSIG"))?;
    let c = Config::read(config_path)?;
    let mut flags = CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWUTS;
    if !c.network {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    if c.binfmt.is_some() {
        // A binfmt_misc instance of our own: only a new user namespace has one. The
        // supervisor, in the parent namespace, maps every id to itself (a process may
        // only map its own id).
        let mut sock =
            UnixStream::connect(c.socket()).map_err(err("connecting to the supervisor"))?;
        unshare(CloneFlags::CLONE_NEWUSER).map_err(err("unshare(CLONE_NEWUSER)"))?;
        send_line(&mut sock, HELLO_MAP)?;
        if read_line(&sock)? != "mapped" {
            return Err("the supervisor did not map the user namespace".into());
        }
    }
    unshare(flags).map_err(err("unshare"))?;
    let _ = nix::unistd::sethostname("minroot-probe");
    mount_all(&c)?;
    if let Some((magic, mask, interp, fl)) = &c.binfmt {
        register_binfmt(magic, mask, interp, fl)?;
    }
    let exe = std::env::current_exe().map_err(err("finding minroot's own executable"))?;
    let mut init = Command::new(exe)
        .arg("__probe-init")
        .arg(config_path)
        .spawn()
        .map_err(err("starting the run's init"))?;
    let st = init.wait().map_err(err("waiting for the run's init"))?;
    Ok(st.code().unwrap_or(125))
}

fn mnt(
    src: Option<&str>,
    target: &Path,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<(), String> {
    mount(src, target, fstype, flags, data).map_err(|e| {
        format!(
            "mounting {} on {}: {e}",
            src.or(fstype).unwrap_or("-"),
            target.display()
        )
    })
}

fn mkdir(p: &Path) -> Result<(), String> {
    std::fs::create_dir_all(p).map_err(|e| format!("creating {}: {e}", p.display()))
}

/// The root under an overlay, a minimal /dev, a private /tmp.
fn mount_all(c: &Config) -> Result<(), String> {
    mnt(
        None,
        Path::new("/"),
        None,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None,
    )?;
    let rw = c.dir.join("rw");
    let lower = c.dir.join("lower");
    let merged = c.merged();
    // create_dir, not create_dir_all: the supervisor's private directory must exist; if a
    // signal made the supervisor remove it, the setup fails rather than making it again.
    for d in [&rw, &lower, &merged] {
        std::fs::create_dir(d).map_err(|e| format!("creating {}: {e}", d.display()))?;
    }
    // The root is bound to a plain path first: overlay options cannot hold ':' or ','.
    mnt(
        Some(c.root.to_str().ok_or("the root's path is not UTF-8")?),
        &lower,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )?;
    mnt(
        Some("tmpfs"),
        &rw,
        Some("tmpfs"),
        MsFlags::empty(),
        Some("mode=0755"),
    )?;
    mkdir(&rw.join("upper"))?;
    mkdir(&rw.join("work"))?;
    let opts = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        rw.join("upper").display(),
        rw.join("work").display()
    );
    mnt(
        Some("overlay"),
        &merged,
        Some("overlay"),
        MsFlags::empty(),
        Some(&opts),
    )?;
    // /dev: a tmpfs with the few nodes programs expect, bound from the host's.
    let dev = merged.join("dev");
    mkdir(&dev)?;
    mnt(
        Some("tmpfs"),
        &dev,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("mode=0755"),
    )?;
    for node in ["null", "zero", "full", "random", "urandom", "tty"] {
        let target = dev.join(node);
        std::fs::write(&target, b"").map_err(|e| format!("{}: {e}", target.display()))?;
        mnt(
            Some(&format!("/dev/{node}")),
            &target,
            None,
            MsFlags::MS_BIND,
            None,
        )?;
    }
    for (link, to) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ] {
        std::os::unix::fs::symlink(to, dev.join(link))
            .map_err(|e| format!("{}: {e}", dev.join(link).display()))?;
    }
    mkdir(&dev.join("pts"))?;
    mnt(
        Some("devpts"),
        &dev.join("pts"),
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620"),
    )?;
    mkdir(&dev.join("shm"))?;
    mnt(
        Some("tmpfs"),
        &dev.join("shm"),
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=1777"),
    )?;
    let tmp = merged.join("tmp");
    mkdir(&tmp)?;
    mnt(
        Some("tmpfs"),
        &tmp,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=1777"),
    )?;
    mkdir(&merged.join("proc"))?;
    Ok(())
}

/// Registers the foreign architecture's interpreter in the user namespace's own
/// binfmt_misc instance (`F`: the interpreter is opened now, from the host).
fn register_binfmt(magic: &str, mask: &str, interp: &Path, flags: &str) -> Result<(), String> {
    let dir = Path::new("/proc/sys/fs/binfmt_misc");
    mnt(
        Some("binfmt_misc"),
        dir,
        Some("binfmt_misc"),
        MsFlags::empty(),
        None,
    )?;
    let rule = format!(
        ":minroot-probe:M::{magic}:{mask}:{}:{flags}",
        interp.display()
    );
    std::fs::write(dir.join("register"), rule).map_err(|e| {
        format!(
            "registering {} with binfmt_misc: {e} (the kernel needs binfmt_misc in user namespaces, Linux 6.7 or later)",
            interp.display()
        )
    })
}

/// Stage 2, pid 1 of the run (`minroot __probe-init CONFIG`).
pub fn init_main(config: &Path) -> i32 {
    match init(config) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("minroot probe: starting the program: {e}");
            125
        }
    }
}

fn init(config_path: &Path) -> Result<i32, String> {
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(err("PR_SET_PDEATHSIG"))?;
    let c = Config::read(config_path)?;
    // Connected before the chroot hides the socket; the first message goes after the filter.
    let mut sock = UnixStream::connect(c.socket()).map_err(err("connecting to the supervisor"))?;
    if !c.network {
        // Servers bind to 127.0.0.1: bring the new namespace's loopback up with the
        // host's `ip` (best effort), before the root hides the host's programs. (Not in
        // stage 1: the first process it started would be the pid namespace's init.)
        let _ = Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .stderr(std::process::Stdio::null())
            .status();
    }
    let merged = c.merged();
    mnt(
        Some("proc"),
        &merged.join("proc"),
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None,
    )?;
    nix::unistd::chroot(&merged).map_err(err("chroot"))?;
    std::env::set_current_dir("/").map_err(err("chdir /"))?;
    let notify = install_filter()?;
    send_fd(&sock, notify)?;
    let mut cmd = Command::new(&c.command[0]);
    cmd.args(&c.command[1..])
        .env_clear()
        .current_dir(&c.workdir);
    for e in &c.env {
        if let Some((k, v)) = e.split_once('=') {
            cmd.env(k, v);
        }
    }
    if let Some((u, g)) = c.user {
        cmd.uid(u).gid(g);
    }
    let child = match cmd.spawn() {
        Ok(ch) => ch,
        Err(e) => {
            send_line(&mut sock, &format!("notstarted {e}"))?;
            return Ok(127);
        }
    };
    let main = Pid::from_raw(child.id() as i32);
    // As init: reap every orphan until the program itself ends.
    let status = loop {
        match waitpid(None, None) {
            Ok(WaitStatus::Exited(p, code)) if p == main => break format!("code {code}"),
            Ok(WaitStatus::Signaled(p, sig, _)) if p == main => {
                break format!("signal {}", sig as i32);
            }
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(format!("waiting for the program: {e}")),
        }
    };
    // What the program left running (daemons, a forked server) ends with it.
    let _ = nix::sys::signal::kill(Pid::from_raw(-1), Signal::SIGKILL);
    while let Ok(st) = waitpid(None, Some(WaitPidFlag::__WALL)) {
        if matches!(st, WaitStatus::StillAlive) {
            break;
        }
    }
    drop(child);
    send_line(&mut sock, &status)?;
    Ok(0)
}

/// The seccomp filter: every call of [`CALLS`] the host has notifies the supervisor; the
/// rest run on. Returns the listener fd.
fn install_filter() -> Result<RawFd, String> {
    let mut f = ScmpFilterContext::new(ScmpAction::Allow).map_err(err("seccomp"))?;
    // minroot runs as root: no_new_privs would change what setuid programs do in the run.
    f.set_ctl_nnp(false).map_err(err("seccomp"))?;
    for c in CALLS {
        let Ok(s) = ScmpSyscall::from_name(c.name) else {
            continue;
        };
        f.add_rule(ScmpAction::Notify, s)
            .map_err(|e| format!("seccomp rule for {}: {e}", c.name))?;
    }
    f.load().map_err(err("loading the seccomp filter"))?;
    f.get_notify_fd().map_err(err("seccomp notify fd"))
}

fn send_fd(sock: &UnixStream, fd: RawFd) -> Result<(), String> {
    let fds = [fd];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(
        sock.as_raw_fd(),
        &[std::io::IoSlice::new(format!("{HELLO_INIT}\n").as_bytes())],
        &cmsg,
        MsgFlags::empty(),
        None,
    )
    .map_err(err("sending the notify fd"))?;
    Ok(())
}

/// How a stage's exit status reads, for errors.
pub fn describe(st: std::process::ExitStatus) -> String {
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => "an unknown status".into(),
    }
}
