//! `minroot probe`: run a program once inside the root, record every path it touched, and
//! write that as a [`Record`] that `pack --probe` reads. Static tracing cannot know what a
//! program decides at run time (the modules an app imports, the programs a script runs,
//! the config a server reads); one observed run can, and the record keeps the pack
//! hermetic and byte-reproducible.
//!
//! The engine is seccomp user notification (through the libseccomp crate, no strace): the
//! run's init installs a filter on the calls of [`syscalls::CALLS`] and hands the listener
//! to this process (the supervisor), which reads each call's path from the caller's
//! memory (`process_vm_readv`), resolves it against the caller's cwd or dirfd
//! (`/proc/PID/cwd`, `/proc/PID/fd/N`), lets the call go on, and classifies the paths
//! against the root at the end (`classify.rs`). No ptrace: the filter follows every fork,
//! thread, vfork and exec by itself, a static program is seen like any other, and nothing
//! stops but the calls of interest. The supervisor and the run share one CPU: on this
//! kind of virtual machine a notification that wakes another CPU costs ~180 us, one that
//! stays on the same CPU ~17 us (measured; the run sees one CPU).
//!
//! Where the run happens is `sandbox.rs`; the record format `record.rs`.

pub mod classify;
pub mod record;
pub mod sandbox;
pub mod syscalls;

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, IoSliceMut, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use libseccomp::{ScmpNotifReq, ScmpNotifResp, ScmpNotifRespFlags, ScmpSyscall};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::sys::socket::sockopt;
use nix::sys::uio::{RemoteIoVec, process_vm_readv};
use nix::unistd::Pid;

pub use record::{Exit, Record, RecordError, Run};

use crate::arch::Arch;
use crate::sysroot::Root;
use classify::Event;
use syscalls::{Access, CALLS, Call, Flags, at_flags, open_writes};

/// What to run, and how.
#[derive(Clone, Debug)]
pub struct ProbeOptions {
    /// The root (host directory, canonical).
    pub root: PathBuf,
    /// The program and its arguments (the program as given: a path inside the root, or a
    /// name looked up on the run's PATH).
    pub command: Vec<String>,
    /// The run's whole environment (`KEY=VALUE`).
    pub env: Vec<String>,
    /// The working directory inside the root.
    pub workdir: String,
    pub user: Option<(u32, u32)>,
    pub network: bool,
    /// After this, the program gets SIGTERM, and SIGKILL `grace` later.
    pub timeout: Option<Duration>,
    pub grace: Duration,
    /// Most processes the run may create (a fork bomb gets EAGAIN beyond it).
    pub max_processes: u64,
    /// Where the private directory goes (the host's TMPDIR).
    pub tmpdir: PathBuf,
    /// What the record says about the root (os-release, an image digest).
    pub root_info: record::RootInfo,
    /// Told how the run goes (file system calls seen).
    pub progress: crate::progress::Observer,
}

/// Why a probe could not run or record (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{0}: not found in the root (looked on PATH {1})")]
    NoProgram(String, String),
    #[error("{0}: {1}")]
    NotAProgram(String, String),
    #[error(
        "{program} is for {arch}; running it on this {host} machine needs {qemu} (install qemu-user-static)"
    )]
    NoQemu {
        program: String,
        arch: Arch,
        host: &'static str,
        qemu: &'static str,
    },
    #[error("setting up the run: {0}")]
    Setup(String),
    #[error("the program could not be started: {0}")]
    NotStarted(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn setup<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> ProbeError {
    move |e| ProbeError::Setup(format!("{what}: {e}"))
}

/// The probed program's architecture: the program as the run's PATH finds it (or its
/// script's interpreter), read in the root.
pub fn program_arch(
    root: &Root,
    command0: &str,
    env: &[String],
) -> Result<(String, Arch), ProbeError> {
    let path_var = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(crate::facts::DEFAULT_PATH)
        .to_string();
    let found = if command0.contains('/') {
        Some(crate::session::inside_path(command0, false, Path::new("/")))
    } else {
        path_var
            .split(':')
            .filter(|d| d.starts_with('/'))
            .map(|d| classify::join(d, command0))
            .find(|p| {
                root.resolve(p)
                    .ok()
                    .flatten()
                    .is_some_and(|r| r.kind == crate::sysroot::Kind::File)
            })
    };
    let Some(path) = found else {
        return Err(ProbeError::NoProgram(command0.into(), path_var));
    };
    let mut cur = path.clone();
    for _ in 0..5 {
        let r = root
            .resolve(&cur)
            .ok()
            .flatten()
            .filter(|r| r.kind == crate::sysroot::Kind::File)
            .ok_or_else(|| ProbeError::NoProgram(cur.clone(), path_var.clone()))?;
        let head = root
            .head_canonical(&r.path, 4096)
            .map_err(|e| ProbeError::NotAProgram(cur.clone(), e.to_string()))?;
        if let Some(s) = crate::select::Shebang::parse(&head) {
            let s =
                s.ok_or_else(|| ProbeError::NotAProgram(cur.clone(), "empty #! line".into()))?;
            cur = s.interpreter;
            continue;
        }
        if !crate::elf::is_elf(&head) || head.len() < 20 {
            return Err(ProbeError::NotAProgram(
                cur,
                "neither an ELF program nor a #! script".into(),
            ));
        }
        let machine = u16::from_le_bytes([head[18], head[19]]);
        let arch = Arch::from_elf_machine(machine).ok_or_else(|| {
            ProbeError::NotAProgram(
                cur.clone(),
                format!("machine {machine} is not x86_64 or aarch64"),
            )
        })?;
        return Ok((path, arch));
    }
    Err(ProbeError::NotAProgram(
        path,
        "a chain of #! interpreters".into(),
    ))
}

/// The binfmt_misc registration for running `arch` here, if it is not the host's.
fn binfmt(
    arch: Arch,
    program: &str,
) -> Result<Option<(String, String, PathBuf, String)>, ProbeError> {
    if Arch::host() == Some(arch) {
        return Ok(None);
    }
    let (magic, mask) = arch.binfmt_magic_mask();
    // Debian's own handler name keeps argv[0] (`P`); the plain binary does not.
    let debian = PathBuf::from(format!("/usr/libexec/qemu-binfmt/{}-binfmt-P", arch.name()));
    let (interp, flags) = if debian.exists() {
        (debian, "OPF")
    } else {
        let p = ["/usr/bin", "/usr/local/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(arch.qemu_static()))
            .find(|p| p.exists())
            .ok_or(ProbeError::NoQemu {
                program: program.into(),
                arch,
                host: std::env::consts::ARCH,
                qemu: arch.qemu_static(),
            })?;
        (p, "F")
    };
    Ok(Some((magic.into(), mask.into(), interp, flags.into())))
}

/// What a probe returns: the record, and what the run's init said if it failed to start
/// the program.
#[derive(Debug)]
pub struct Probed {
    pub record: Record,
    /// System calls seen (for the summary).
    pub notifications: u64,
}

/// Runs the program under observation and returns the record.
pub fn run(opts: &ProbeOptions) -> Result<Probed, ProbeError> {
    let root = Root::new(&opts.root).map_err(|e| ProbeError::Setup(e.to_string()))?;
    let (_, arch) = program_arch(&root, &opts.command[0], &opts.env)?;
    let binfmt = binfmt(arch, &opts.command[0])?;
    // Removed when dropped, and on a signal (`cleanup`): the run's mounts are in its own
    // mount namespace, so here it is a plain tree; the run's stages die with this process
    // (PR_SET_PDEATHSIG) and never make the directory again (`sandbox::mount_all`).
    // The guard declared first, so dropped last: unregistered once the tree is removed.
    let _dir_guard;
    let dir;
    (dir, _dir_guard) = crate::cleanup::track(
        || {
            tempfile::Builder::new()
                .prefix("minroot-probe-")
                .tempdir_in(&opts.tmpdir)
        },
        |d| d.path().to_path_buf(),
    )
    .map_err(setup("creating the private directory"))?;
    let config = sandbox::Config {
        root: opts.root.clone(),
        dir: dir.path().to_path_buf(),
        command: opts.command.clone(),
        env: opts.env.clone(),
        workdir: opts.workdir.clone(),
        user: opts.user,
        network: opts.network,
        binfmt,
    };
    let config_path = dir.path().join("config.json");
    std::fs::write(
        &config_path,
        serde_json::to_vec(&config).expect("configs serialise"),
    )
    .map_err(setup("writing the run's configuration"))?;
    let listener = UnixListener::bind(config.socket()).map_err(setup("binding the socket"))?;
    listener
        .set_nonblocking(true)
        .map_err(setup("binding the socket"))?;
    let cpus = pin_to_one_cpu();
    let exe = std::env::current_exe().map_err(setup("finding minroot's own executable"))?;
    let mut child = std::process::Command::new(exe)
        .arg("__probe-sandbox")
        .arg(&config_path)
        .spawn()
        .map_err(setup("starting the sandbox"))?;
    let mut sup = Supervisor {
        table: call_table(),
        merged: config.merged().to_string_lossy().into_owned(),
        events: BTreeSet::new(),
        spawns: 0,
        max_processes: opts.max_processes,
        main: None,
        notifications: 0,
        cwds: HashMap::new(),
        dirfds: HashMap::new(),
        progress: opts.progress.clone(),
    };
    let probing = opts.progress.stage(crate::progress::Stage::Probe, None);
    let outcome = sup.supervise(&listener, &mut child, opts);
    drop(probing);
    let status = child.wait().map_err(setup("waiting for the sandbox"))?;
    let exit = match outcome {
        Ok(exit) => exit,
        Err(e) => {
            return Err(match status.code() {
                Some(125) => {
                    ProbeError::Setup(format!("the sandbox failed ({e}); its message is above"))
                }
                _ => e,
            });
        }
    };
    restore_cpus(&cpus);
    let c = classify::classify(&root, &config.upper(), &sup.events);
    let record = Record {
        minroot_probe: record::VERSION,
        arch,
        root: opts.root_info.clone(),
        runs: vec![Run {
            command: opts.command.clone(),
            env: opts.env.clone(),
            workdir: opts.workdir.clone(),
            user: opts
                .user
                .map(|(u, g)| format!("{u}:{g}"))
                .unwrap_or_else(|| "0:0".into()),
            network: opts.network,
            exit,
        }],
        paths: c.paths,
        links: c.links,
        missing: c.missing,
    };
    Ok(Probed {
        record,
        notifications: sup.notifications,
    })
}

/// Pins this process (and so the run it starts) to the CPU it is on: notifications then
/// hand over without waking another CPU. Returns the CPUs it had.
fn pin_to_one_cpu() -> Option<nix::sched::CpuSet> {
    use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
    let current = sched_getaffinity(Pid::from_raw(0)).ok()?;
    let cpu = (0..CpuSet::count()).find(|&i| current.is_set(i).unwrap_or(false))?;
    let mut one = CpuSet::new();
    one.set(cpu).ok()?;
    sched_setaffinity(Pid::from_raw(0), &one).ok()?;
    Some(current)
}

/// Gives this process back the CPUs it had (the classification after the run is parallel).
fn restore_cpus(cpus: &Option<nix::sched::CpuSet>) {
    if let Some(c) = cpus {
        let _ = nix::sched::sched_setaffinity(Pid::from_raw(0), c);
    }
}

/// Syscall number -> its entry of [`CALLS`], for the host.
fn call_table() -> HashMap<i32, &'static Call> {
    CALLS
        .iter()
        .filter_map(|c| Some((ScmpSyscall::from_name(c.name).ok()?.as_raw_syscall(), c)))
        .collect()
}

struct Supervisor {
    table: HashMap<i32, &'static Call>,
    /// Where the root is mounted for the run (host path in the run's mount namespace):
    /// what `/proc/PID/cwd` links start with.
    merged: String,
    events: BTreeSet<Event>,
    spawns: u64,
    max_processes: u64,
    /// The program's pid (the first process to call execve).
    main: Option<Pid>,
    notifications: u64,
    progress: crate::progress::Observer,
    /// Working directories by pid (inside the root), read once from `/proc/PID/cwd`:
    /// forgotten on any chdir or fchdir (threads share theirs).
    cwds: HashMap<i32, Option<String>>,
    /// Directory fds by (pid, fd), read once from `/proc/PID/fd/N`: forgotten on any
    /// open or dup, the calls that give an fd number a new file (a `find` stats every
    /// entry of a directory through one fd). An fd made by another call (socket, pipe,
    /// fcntl F_DUPFD) over a closed directory fd's number may be named wrongly; the
    /// cost is a wrong path among the missing ones, never a wrong content.
    dirfds: HashMap<(i32, i32), Option<String>>,
}

/// A connection from a stage of the sandbox.
struct Conn {
    stream: UnixStream,
    reader: BufReader<UnixStream>,
}

impl Conn {
    fn new(stream: UnixStream) -> std::io::Result<Conn> {
        stream.set_nonblocking(false)?;
        let reader = BufReader::new(stream.try_clone()?);
        Ok(Conn { stream, reader })
    }
    fn line(&mut self) -> std::io::Result<String> {
        let mut s = String::new();
        self.reader.read_line(&mut s)?;
        Ok(s.trim_end().to_string())
    }
}

impl Supervisor {
    /// Serves the sandbox until the run ends; returns how the program ended.
    fn supervise(
        &mut self,
        listener: &UnixListener,
        child: &mut std::process::Child,
        opts: &ProbeOptions,
    ) -> Result<Exit, ProbeError> {
        // 1. The connections: the sandbox asking for its user namespace's id maps (for a
        //    foreign root), and the run's init sending the seccomp listener.
        let mut init: Option<(Conn, OwnedFd, Pid)> = None;
        while init.is_none() {
            if let Some(st) = child.try_wait()? {
                return Err(ProbeError::Setup(format!(
                    "the sandbox ended early ({})",
                    sandbox::describe(st)
                )));
            }
            let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
            let _ = poll(&mut fds, PollTimeout::from(50u8));
            let stream = match listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e.into()),
            };
            stream.set_nonblocking(false)?;
            let (hello, fd) = receive_hello(&stream)?;
            match (hello.as_str(), fd) {
                (sandbox::HELLO_MAP, None) => {
                    for f in ["uid_map", "gid_map"] {
                        std::fs::write(format!("/proc/{}/{f}", child.id()), "0 0 4294967295\n")
                            .map_err(setup("mapping the run's user namespace"))?;
                    }
                    (&stream)
                        .write_all(b"mapped\n")
                        .map_err(setup("answering the sandbox"))?;
                }
                (sandbox::HELLO_INIT, Some(fd)) => {
                    let pid = nix::sys::socket::getsockopt(&stream, sockopt::PeerCredentials)
                        .map(|c| Pid::from_raw(c.pid()))
                        .map_err(setup("reading the init's pid"))?;
                    init = Some((Conn::new(stream)?, fd, pid));
                }
                (other, _) => {
                    return Err(ProbeError::Setup(format!("unexpected message {other:?}")));
                }
            }
        }
        let (mut conn, notify, init_pid) = init.expect("set above");
        // 2. Notifications until every process of the run is gone.
        let deadline = opts.timeout.map(|t| Instant::now() + t);
        let mut term_sent: Option<Instant> = None;
        let mut status: Option<String> = None;
        let mut hup = false;
        while !(hup && status.is_some()) {
            let wait_ms = match (deadline, term_sent) {
                (_, Some(t)) => Some((t + opts.grace).saturating_duration_since(Instant::now())),
                (Some(d), None) => Some(d.saturating_duration_since(Instant::now())),
                (None, None) => None,
            };
            let timeout = match wait_ms {
                None => PollTimeout::NONE,
                Some(d) => PollTimeout::try_from(d.as_millis().min(60_000) as i32)
                    .unwrap_or(PollTimeout::MAX),
            };
            let mut fds = [
                PollFd::new(notify.as_fd(), PollFlags::POLLIN),
                PollFd::new(conn.stream.as_fd(), PollFlags::POLLIN),
            ];
            if hup {
                fds[0] = PollFd::new(conn.stream.as_fd(), PollFlags::POLLIN);
            }
            match poll(&mut fds, timeout) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(ProbeError::Setup(format!("poll: {e}"))),
            }
            let n_ev = fds[0].revents().unwrap_or(PollFlags::empty());
            let c_ev = fds[1].revents().unwrap_or(PollFlags::empty());
            if !hup && n_ev.contains(PollFlags::POLLIN) {
                self.notification(notify.as_raw_fd());
            } else if !hup && n_ev.intersects(PollFlags::POLLHUP | PollFlags::POLLERR) {
                hup = true;
            }
            if (c_ev | if hup { n_ev } else { PollFlags::empty() })
                .intersects(PollFlags::POLLIN | PollFlags::POLLHUP)
                && status.is_none()
            {
                let line = conn.line().unwrap_or_default();
                if let Some(e) = line.strip_prefix("notstarted ") {
                    return Err(ProbeError::NotStarted(format!("{}: {e}", opts.command[0])));
                }
                status = Some(line);
            }
            // The timeout: SIGTERM to the program, then SIGKILL to the whole run.
            let now = Instant::now();
            match (deadline, term_sent) {
                (Some(d), None) if now >= d => {
                    if let Some(p) = self.main {
                        let _ = kill(p, Signal::SIGTERM);
                    }
                    term_sent = Some(now);
                }
                (_, Some(t)) if now >= t + opts.grace => {
                    let _ = kill(init_pid, Signal::SIGKILL);
                    if status.is_none() {
                        status = Some(format!("signal {}", Signal::SIGKILL as i32));
                    }
                    hup = true;
                }
                _ => {}
            }
        }
        let status = status.unwrap_or_default();
        let exit = parse_status(&status);
        Ok(match (term_sent, exit) {
            (Some(_), Exit::Signal(s)) => Exit::TimedOut { signal: s },
            (Some(_), Exit::Code(_)) => Exit::TimedOut {
                signal: Signal::SIGTERM as i32,
            },
            (_, e) => e,
        })
    }

    /// One notification: read the call's path, let the call go on, remember the path.
    fn notification(&mut self, fd: RawFd) {
        let Ok(req) = ScmpNotifReq::receive(fd) else {
            return;
        };
        self.notifications += 1;
        self.progress.add(1);
        let nr = req.data.syscall.as_raw_syscall();
        let Some(call) = self.table.get(&nr).copied() else {
            let _ = ScmpNotifResp::new_continue(req.id, ScmpNotifRespFlags::empty()).respond(fd);
            return;
        };
        let pid = Pid::from_raw(req.pid as i32);
        match call.access {
            Access::Open | Access::Create | Access::Fd => self.dirfds.clear(),
            Access::Cwd => self.cwds.clear(),
            _ => {}
        }
        if matches!(call.access, Access::Fd | Access::Cwd) {
            let _ = ScmpNotifResp::new_continue(req.id, ScmpNotifRespFlags::empty()).respond(fd);
            return;
        }
        if call.name == "chdir" {
            self.cwds.clear();
        }
        if call.access == Access::Spawn {
            self.spawns += 1;
            let resp = if self.spawns > self.max_processes {
                ScmpNotifResp::new_error(
                    req.id,
                    -(nix::errno::Errno::EAGAIN as i32),
                    ScmpNotifRespFlags::empty(),
                )
            } else {
                ScmpNotifResp::new_continue(req.id, ScmpNotifRespFlags::empty())
            };
            let _ = resp.respond(fd);
            return;
        }
        let event = self.event(pid, call, &req.data.args);
        // The path was read while the caller waited in the call: the memory was the
        // caller's if the notification is still valid, which the response tells (it
        // fails for a caller that died meanwhile, whose pid may be another process's).
        let valid = ScmpNotifResp::new_continue(req.id, ScmpNotifRespFlags::empty())
            .respond(fd)
            .is_ok();
        if call.access == Access::Exec && self.main.is_none() {
            self.main = Some(pid);
        }
        if let (true, Some(e)) = (valid, event) {
            self.events.insert(e);
        }
    }

    /// The event of one call, with its path made absolute inside the root.
    fn event(&mut self, pid: Pid, call: &Call, args: &[u64; 6]) -> Option<Event> {
        let path = read_string(pid, args[call.path])?;
        let (flags, at) = match call.flags {
            Flags::Open(i) => (args[i], 0),
            Flags::OpenHow(i) => (read_u64(pid, args[i]).unwrap_or(0), 0),
            Flags::At(i) => (0, args[i]),
            Flags::None | Flags::NoFollow => (0, 0),
        };
        if path.is_empty() {
            // AT_EMPTY_PATH: the call is on the fd itself, seen when it was opened.
            return None;
        }
        let abs = if path.starts_with('/') {
            path
        } else {
            let base = match call.dirfd {
                Some(i) if args[i] as i32 as i64 != at_flags::AT_FDCWD => {
                    let key = (pid.as_raw(), args[i] as i32);
                    match self.dirfds.get(&key) {
                        Some(b) => b.clone()?,
                        None => {
                            let b = self.inside(&format!("/proc/{pid}/fd/{}", key.1));
                            self.dirfds.insert(key, b.clone());
                            b?
                        }
                    }
                }
                _ => match self.cwds.get(&pid.as_raw()) {
                    Some(b) => b.clone()?,
                    None => {
                        let b = self.inside(&format!("/proc/{pid}/cwd"));
                        self.cwds.insert(pid.as_raw(), b.clone());
                        b?
                    }
                },
            };
            classify::join(&base, &path)
        };
        let directory =
            matches!(call.flags, Flags::Open(_) | Flags::OpenHow(_)) && flags & 0o200000 != 0;
        Some(Event {
            access: call.access,
            path: abs,
            nofollow: call.flags == Flags::NoFollow || at & at_flags::AT_SYMLINK_NOFOLLOW != 0,
            writes: matches!(call.flags, Flags::Open(_) | Flags::OpenHow(_)) && open_writes(flags),
            directory,
        })
    }

    /// A `/proc/PID/...` link as a path inside the root (None when it is outside it).
    fn inside(&self, link: &str) -> Option<String> {
        let target = std::fs::read_link(link).ok()?;
        let t = crate::sysroot::name::from_bytes(target.as_os_str().as_bytes());
        let rest = t.strip_prefix(&self.merged)?;
        if rest.is_empty() {
            Some("/".into())
        } else if rest.starts_with('/') {
            Some(rest.to_string())
        } else {
            None
        }
    }
}

/// `code N` / `signal N` from the run's init.
fn parse_status(s: &str) -> Exit {
    let mut w = s.split_whitespace();
    match (w.next(), w.next().and_then(|n| n.parse::<i32>().ok())) {
        (Some("code"), Some(c)) => Exit::Code(c),
        (Some("signal"), Some(n)) => Exit::Signal(n),
        _ => Exit::Signal(Signal::SIGKILL as i32),
    }
}

/// The first message of a connection: its line, and the fd it carries, if any.
fn receive_hello(stream: &UnixStream) -> Result<(String, Option<OwnedFd>), ProbeError> {
    use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
    let mut buf = [0u8; 64];
    let mut space = [std::mem::MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut ancillary = RecvAncillaryBuffer::new(&mut space);
    let got = rustix::net::recvmsg(
        stream,
        &mut [IoSliceMut::new(&mut buf)],
        &mut ancillary,
        RecvFlags::CMSG_CLOEXEC,
    )
    .map_err(setup("reading from the sandbox"))?;
    let mut fd = None;
    for m in ancillary.drain() {
        if let RecvAncillaryMessage::ScmRights(mut fds) = m {
            fd = fd.or(fds.next());
        }
    }
    let line = String::from_utf8_lossy(&buf[..got.bytes.min(buf.len())]);
    Ok((line.trim_end().to_string(), fd))
}

/// Reads a NUL-terminated string from another process (at most PATH_MAX bytes).
fn read_string(pid: Pid, addr: u64) -> Option<String> {
    let mut out: Vec<u8> = Vec::with_capacity(256);
    let mut at = addr;
    while out.len() < record::MAX_PATH {
        // Never across a page boundary in one read: the next page may not be mapped.
        let page_left = 4096 - (at as usize & 4095);
        let len = page_left.min(512);
        let mut buf = vec![0u8; len];
        let n = process_vm_readv(
            pid,
            &mut [IoSliceMut::new(&mut buf)],
            &[RemoteIoVec {
                base: at as usize,
                len,
            }],
        )
        .ok()?;
        if n == 0 {
            return None;
        }
        if let Some(z) = buf[..n].iter().position(|&b| b == 0) {
            out.extend_from_slice(&buf[..z]);
            // A name that is not UTF-8 is carried, byte for byte (`sysroot::name`): a
            // lossy copy would name another file, which the record would call missing.
            return Some(crate::sysroot::name::from_bytes(&out).into_owned());
        }
        out.extend_from_slice(&buf[..n]);
        at += n as u64;
    }
    None
}

fn read_u64(pid: Pid, addr: u64) -> Option<u64> {
    let mut buf = [0u8; 8];
    let n = process_vm_readv(
        pid,
        &mut [IoSliceMut::new(&mut buf)],
        &[RemoteIoVec {
            base: addr as usize,
            len: 8,
        }],
    )
    .ok()?;
    (n == 8).then(|| u64::from_ne_bytes(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(parse_status("code 3"), Exit::Code(3));
        assert_eq!(parse_status("signal 15"), Exit::Signal(15));
        assert_eq!(parse_status(""), Exit::Signal(9));
    }
}
