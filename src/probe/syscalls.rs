//! The system calls the probe stops on, and where each one's path is. Everything else
//! (read, write, mmap of an open fd, fstat...) runs without a stop: the files behind fds
//! were seen when they were opened. The names are resolved to numbers for the host's
//! architecture by libseccomp; under qemu-user the traced process is the host's qemu, so
//! the host's numbers are the right ones for guests too.

/// How a call touches its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    /// execve: a program started (the kernel then opens its interpreter itself).
    Exec,
    /// open/openat: read, or written and created when the flags say so.
    Open,
    /// stat, access, readlink, statx, chdir: whether it exists.
    Check,
    /// mkdir: an existing directory is checked, a new one created.
    Mkdir,
    /// creat, truncate, link/symlink/rename targets, mknod: made or written by the run.
    Create,
    /// fork, vfork, clone, clone3: a new process (counted, no path).
    Spawn,
    /// dup, dup2, dup3: an fd number names another file (no path; what the supervisor
    /// remembers of fds is forgotten).
    Fd,
    /// fchdir: the working directory changed (no path; the remembered ones are forgotten).
    Cwd,
}

/// Where the path (and the flags, if any) of one call are.
#[derive(Clone, Copy, Debug)]
pub struct Call {
    pub name: &'static str,
    pub access: Access,
    /// Index of the directory fd argument (`*at` calls); None: relative to the cwd.
    pub dirfd: Option<usize>,
    /// Index of the path argument.
    pub path: usize,
    /// Index of the flags argument, and what it is.
    pub flags: Flags,
}

/// What a call's flags argument is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flags {
    None,
    /// open(2) flags (O_CREAT, O_WRONLY, O_DIRECTORY...) in this argument.
    Open(usize),
    /// openat2(2): the flags are the first u64 of the `struct open_how` this points to.
    OpenHow(usize),
    /// `*at` flags (AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH) in this argument.
    At(usize),
    /// Never follows a final symlink (lstat, readlink).
    NoFollow,
}

const fn call(
    name: &'static str,
    access: Access,
    dirfd: Option<usize>,
    path: usize,
    flags: Flags,
) -> Call {
    Call {
        name,
        access,
        dirfd,
        path,
        flags,
    }
}

/// Every call the probe stops on. Names the host's kernel does not have (aarch64 has no
/// `open` or `stat`) are skipped when the filter is built.
pub const CALLS: &[Call] = &[
    call("execve", Access::Exec, None, 0, Flags::None),
    call("execveat", Access::Exec, Some(0), 1, Flags::At(4)),
    call("open", Access::Open, None, 0, Flags::Open(1)),
    call("openat", Access::Open, Some(0), 1, Flags::Open(2)),
    call("openat2", Access::Open, Some(0), 1, Flags::OpenHow(2)),
    call("creat", Access::Create, None, 0, Flags::None),
    call("stat", Access::Check, None, 0, Flags::None),
    call("lstat", Access::Check, None, 0, Flags::NoFollow),
    call("newfstatat", Access::Check, Some(0), 1, Flags::At(3)),
    call("statx", Access::Check, Some(0), 1, Flags::At(2)),
    call("access", Access::Check, None, 0, Flags::None),
    call("faccessat", Access::Check, Some(0), 1, Flags::None),
    call("faccessat2", Access::Check, Some(0), 1, Flags::At(3)),
    call("readlink", Access::Check, None, 0, Flags::NoFollow),
    call("readlinkat", Access::Check, Some(0), 1, Flags::NoFollow),
    call("chdir", Access::Check, None, 0, Flags::None),
    call("statfs", Access::Check, None, 0, Flags::None),
    call("getxattr", Access::Check, None, 0, Flags::None),
    call("lgetxattr", Access::Check, None, 0, Flags::NoFollow),
    call("inotify_add_watch", Access::Check, None, 1, Flags::None),
    call("mkdir", Access::Mkdir, None, 0, Flags::None),
    call("mkdirat", Access::Mkdir, Some(0), 1, Flags::None),
    call("truncate", Access::Create, None, 0, Flags::None),
    call("mknod", Access::Create, None, 0, Flags::None),
    call("mknodat", Access::Create, Some(0), 1, Flags::None),
    call("link", Access::Create, None, 1, Flags::None),
    call("linkat", Access::Create, Some(2), 3, Flags::None),
    call("symlink", Access::Create, None, 1, Flags::None),
    call("symlinkat", Access::Create, Some(1), 2, Flags::None),
    call("rename", Access::Create, None, 1, Flags::None),
    call("renameat", Access::Create, Some(2), 3, Flags::None),
    call("renameat2", Access::Create, Some(2), 3, Flags::None),
    call("dup", Access::Fd, None, 0, Flags::None),
    call("dup2", Access::Fd, None, 0, Flags::None),
    call("dup3", Access::Fd, None, 0, Flags::None),
    call("fchdir", Access::Cwd, None, 0, Flags::None),
    call("fork", Access::Spawn, None, 0, Flags::None),
    call("vfork", Access::Spawn, None, 0, Flags::None),
    call("clone", Access::Spawn, None, 0, Flags::None),
    call("clone3", Access::Spawn, None, 0, Flags::None),
];

/// open(2) flag bits the probe looks at (the same values on x86_64 and aarch64).
pub mod open_flags {
    pub const O_ACCMODE: u64 = 0o3;
    pub const O_RDONLY: u64 = 0;
    pub const O_CREAT: u64 = 0o100;
    pub const O_TRUNC: u64 = 0o1000;
    /// O_TMPFILE includes O_DIRECTORY's bit.
    pub const O_TMPFILE: u64 = 0o20200000;
}

/// `*at` flag bits.
pub mod at_flags {
    pub const AT_FDCWD: i64 = -100;
    pub const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
    pub const AT_EMPTY_PATH: u64 = 0x1000;
}

/// What an open with these flags does to its path: writes (creates or truncates), or
/// only reads.
pub fn open_writes(flags: u64) -> bool {
    use open_flags::*;
    flags & O_ACCMODE != O_RDONLY
        || flags & (O_CREAT | O_TRUNC) != 0
        || flags & O_TMPFILE == O_TMPFILE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let mut names: Vec<&str> = CALLS.iter().map(|c| c.name).collect();
        names.sort();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len());
        for c in CALLS {
            if !matches!(c.access, Access::Spawn | Access::Fd | Access::Cwd) {
                assert!(c.path < 6 && c.dirfd.is_none_or(|d| d < 6), "{}", c.name);
            }
        }
        assert!(!open_writes(0o0));
        assert!(open_writes(0o1));
        assert!(open_writes(0o100));
        assert!(!open_writes(0o200000)); // O_DIRECTORY
    }
}
