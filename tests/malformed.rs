//! Bad input end to end: the built `minroot trace` on truncated and corrupted ELF files,
//! non-ELF files, unsupported ELF flavours, symlink loops and escapes, unreadable files,
//! corrupt ld.so.caches, bad `--root`s, library candidates the loader rejects (directory,
//! empty file, FIFO), FIFOs and hostile contents in the root's configuration, and inputs
//! built to make the work explode (huge DT_NEEDED lists, thousands of RPATH entries).
//!
//! Every case asserts the contract of STYLE.md rules 6, 7 and 10 as a user sees it:
//! - exit 2 when the program or the command line is bad, exit 1 when only a library is
//!   (the loader's verdict: the closure is incomplete, the run still reports);
//! - a message that names the offending file (on stderr for exit 2; in the report for a
//!   library, which is a result, not an error);
//! - no panic text, and completion within [`LIMIT`] (a FIFO or a loop must never hang).
//!
//! The files are made by `elf::synth::Synth` and patched here, so every corruption is
//! spelled out next to its test. This file does not check what a good trace finds (see
//! tests/rules.rs and tests/oracle.rs).

mod common;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{FakeRoot, have, minroot, require};
use minroot::arch::EM_X86_64;
use minroot::elf::synth::Synth;

/// How long one minroot run may take on bad input before it counts as a hang.
const LIMIT: Duration = Duration::from_secs(20);

const LDSO: &str = "/lib64/ld-linux-x86-64.so.2";
const LIBDIR: &str = "/usr/lib/x86_64-linux-gnu";

/// What one bounded run of minroot did.
#[derive(Debug)]
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn both(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `cmd` to completion, killing it (and failing the test) after [`LIMIT`].
fn run_cmd(mut cmd: Command) -> Ran {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn minroot");
    // Drain both pipes on threads so a chatty child cannot block on a full pipe.
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = so.read_to_end(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = se.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("minroot did not finish within {LIMIT:?}: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = String::from_utf8_lossy(&t_out.join().expect("stdout thread")).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().expect("stderr thread")).into_owned();
    let r = Ran {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
    };
    assert!(
        !r.both().contains("panicked") && !r.both().contains("RUST_BACKTRACE"),
        "minroot panicked: {cmd:?}\n{r:?}"
    );
    r
}

/// `minroot ARGS`, bounded.
fn run(args: &[&str]) -> Ran {
    let mut c = minroot();
    c.args(args);
    run_cmd(c)
}

/// `minroot trace --root ROOT BIN` (tree format), bounded.
fn trace(root: &Path, bin: &str) -> Ran {
    run(&["trace", "--root", root.to_str().expect("utf-8 path"), bin])
}

/// Asserts a program-level error: exit 2 and a stderr message naming `file`.
fn assert_error(r: &Ran, file: &str, what: &str) {
    assert_eq!(r.code, 2, "{what}: want exit 2\n{r:?}");
    assert!(
        r.stderr.contains(file),
        "{what}: stderr does not name {file}\n{r:?}"
    );
}

/// Asserts a library-level failure: exit 1 and a report naming `file`.
fn assert_incomplete(r: &Ran, file: &str, what: &str) {
    assert_eq!(r.code, 1, "{what}: want exit 1\n{r:?}");
    assert!(
        r.both().contains(file),
        "{what}: the report does not name {file}\n{r:?}"
    );
}

/// A root with a loader and libc, where a program needing only libc traces completely.
fn base_root() -> FakeRoot {
    let r = FakeRoot::new();
    r.write(LDSO, &Synth::lib(EM_X86_64, "ld-linux-x86-64.so.2").build());
    r.write(
        &format!("{LIBDIR}/libc.so.6"),
        &Synth::lib(EM_X86_64, "libc.so.6").build(),
    );
    r
}

/// A program with every part inspect reads: interpreter, needed entries, rpath, a
/// dlopen note, imports and section headers.
fn full_program() -> Vec<u8> {
    Synth::exe(EM_X86_64, LDSO)
        .needs("libc.so.6")
        .rpath("$ORIGIN/../lib")
        .imports(&["malloc", "iconv_open"])
        .dlopen_note(r#"[{"soname":["libz.so.1"]}]"#)
        .build()
}

// --- little-endian ELF64 field access for patching -------------------------------------

fn rd16(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes(b[o..o + 2].try_into().unwrap())
}
fn rd64(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}
fn wr16(b: &mut [u8], o: usize, v: u16) {
    b[o..o + 2].copy_from_slice(&v.to_le_bytes());
}
fn wr64(b: &mut [u8], o: usize, v: u64) {
    b[o..o + 8].copy_from_slice(&v.to_le_bytes());
}

const E_PHOFF: usize = 32;
const E_PHENTSIZE: usize = 54;
const E_PHNUM: usize = 56;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const P_OFFSET: usize = 8;
const P_FILESZ: usize = 32;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_STRSZ: u64 = 10;

/// File offset of the first program header of type `ty`.
fn phdr(b: &[u8], ty: u32) -> usize {
    let phoff = rd64(b, E_PHOFF) as usize;
    (0..rd16(b, E_PHNUM) as usize)
        .map(|i| phoff + 56 * i)
        .find(|&o| u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) == ty)
        .expect("program header present")
}

/// File offset of the first dynamic entry with `tag`.
fn dyn_entry(b: &[u8], tag: u64) -> usize {
    let ph = phdr(b, PT_DYNAMIC);
    let (off, size) = (
        rd64(b, ph + P_OFFSET) as usize,
        rd64(b, ph + P_FILESZ) as usize,
    );
    (off..off + size)
        .step_by(16)
        .find(|&o| rd64(b, o) == tag)
        .expect("dynamic entry present")
}

/// End of the PT_DYNAMIC contents: every cut before it loses something the loader needs.
fn dynamic_end(b: &[u8]) -> usize {
    let ph = phdr(b, PT_DYNAMIC);
    (rd64(b, ph + P_OFFSET) + rd64(b, ph + P_FILESZ)) as usize
}

// --- truncated and corrupted programs ---------------------------------------------------

#[test]
fn truncated_program_at_many_cut_points_is_an_error() {
    let root = base_root();
    let full = full_program();
    let dyn_end = dynamic_end(&full);
    // Every byte of the identification and header, then every 8 bytes up to the end.
    let mut cuts: Vec<usize> = (0..=72).collect();
    cuts.extend((72..full.len()).step_by(8));
    cuts.push(full.len() - 1);
    for &cut in &cuts {
        let bin = format!("/usr/bin/cut{cut}");
        root.write(&bin, &full[..cut]);
        let r = trace(root.path(), &bin);
        if cut < dyn_end {
            assert_error(&r, &bin, &format!("program cut at {cut} of {}", full.len()));
        } else {
            // Only section headers and their names are gone: the loader needs neither.
            assert_eq!(r.code, 0, "cut at {cut} (after PT_DYNAMIC): {r:?}");
        }
    }
}

#[test]
fn truncation_messages_say_what_is_missing() {
    let root = base_root();
    let full = full_program();
    for (cut, want) in [
        (0, "not an ELF file"),
        (3, "not an ELF file"),
        (10, "truncated"),
        (40, "truncated"),
        (64, "truncated"),
        (dynamic_end(&full) - 1, "truncated"),
    ] {
        let bin = format!("/usr/bin/cut{cut}");
        root.write(&bin, &full[..cut]);
        let r = trace(root.path(), &bin);
        assert_error(&r, &bin, &format!("cut at {cut}"));
        assert!(
            r.stderr.contains(want),
            "cut at {cut}: want {want:?}: {r:?}"
        );
    }
}

/// One corruption of a good program: a name and the patch.
type Patch = (&'static str, fn(&mut Vec<u8>));

fn corruptions() -> Vec<Patch> {
    vec![
        ("e_phoff past the end of the file", |b| {
            wr64(b, E_PHOFF, 0xffff_ffff_ffff_0000)
        }),
        ("e_phnum huge", |b| wr16(b, E_PHNUM, 0xffff)),
        ("e_phentsize wrong", |b| wr16(b, E_PHENTSIZE, 32)),
        ("EI_CLASS invalid", |b| b[4] = 7),
        ("EI_DATA invalid", |b| b[5] = 9),
        ("PT_DYNAMIC offset outside the file", |b| {
            let ph = phdr(b, PT_DYNAMIC);
            wr64(b, ph + P_OFFSET, 0x7fff_ffff_0000)
        }),
        ("PT_DYNAMIC size huge", |b| {
            let ph = phdr(b, PT_DYNAMIC);
            wr64(b, ph + P_FILESZ, 1 << 40)
        }),
        ("PT_DYNAMIC size overflows with its offset", |b| {
            let ph = phdr(b, PT_DYNAMIC);
            wr64(b, ph + P_FILESZ, u64::MAX - 8)
        }),
        ("PT_INTERP offset outside the file", |b| {
            let ph = phdr(b, PT_INTERP);
            wr64(b, ph + P_OFFSET, 1 << 50)
        }),
        ("PT_INTERP size past the end", |b| {
            let ph = phdr(b, PT_INTERP);
            let len = b.len() as u64;
            wr64(b, ph + P_FILESZ, len)
        }),
        ("DT_STRTAB outside every PT_LOAD", |b| {
            let e = dyn_entry(b, DT_STRTAB);
            wr64(b, e + 8, 0x7777_0000_0000)
        }),
        ("DT_NEEDED offset past the string table", |b| {
            let e = dyn_entry(b, DT_NEEDED);
            wr64(b, e + 8, 0xffff_ff00)
        }),
        ("DT_NEEDED string unterminated (DT_STRSZ cuts it)", |b| {
            let e = dyn_entry(b, DT_STRSZ);
            wr64(b, e + 8, 3)
        }),
        (
            "dynamic strings unterminated up to the end of the file",
            |b| {
                // The string table moves to the last 100 bytes, which hold no NUL, and
                // DT_STRSZ claims more than the file has.
                let n = b.len();
                b[n - 100..].fill(b'A');
                let e = dyn_entry(b, DT_STRTAB);
                wr64(b, e + 8, (n - 100) as u64);
                let e = dyn_entry(b, DT_STRSZ);
                wr64(b, e + 8, u64::MAX);
            },
        ),
    ]
}

#[test]
fn corrupted_headers_are_errors_naming_the_file() {
    let root = base_root();
    for (i, (what, patch)) in corruptions().into_iter().enumerate() {
        let mut b = full_program();
        patch(&mut b);
        let bin = format!("/usr/bin/corrupt{i}");
        root.write(&bin, &b);
        let r = trace(root.path(), &bin);
        eprintln!("{what}: {}", r.stderr.trim());
        assert_error(&r, &bin, what);
    }
}

// --- programs that are not (usable) ELF files -------------------------------------------

#[test]
fn non_elf_programs_are_errors() {
    let root = base_root();
    root.write("/usr/bin/script", b"#!/bin/sh\necho hello\n");
    root.write("/usr/bin/text", b"just some text, no magic here\n");
    root.write("/usr/bin/empty", b"");
    root.write("/usr/bin/magic-only", b"\x7fELF");
    root.mkdir("/usr/bin/adir");
    for (bin, want) in [
        ("/usr/bin/script", "script"),
        ("/usr/bin/text", "not an ELF file"),
        ("/usr/bin/empty", "not an ELF file"),
        ("/usr/bin/magic-only", "truncated"),
        ("/usr/bin/adir", "directory"),
        ("/usr/bin/absent", "no such file"),
    ] {
        let r = trace(root.path(), bin);
        assert_error(&r, bin, bin);
        assert!(r.stderr.contains(want), "{bin}: want {want:?}: {r:?}");
    }
}

#[test]
fn fifo_as_program_is_an_error_not_a_hang() {
    let root = base_root();
    root.mkdir("/usr/bin");
    let fifo = root.host("/usr/bin/fifo");
    let ok = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if !require("mkfifo", ok) {
        return;
    }
    let r = trace(root.path(), "/usr/bin/fifo");
    assert_error(&r, "/usr/bin/fifo", "FIFO as BIN");
    assert!(r.stderr.contains("not a regular file"), "{r:?}");
}

#[test]
fn unsupported_elf_flavours_are_errors() {
    let root = base_root();
    let mut elf32 = Synth::lib(3, "lib32.so"); // EM_386
    elf32.class64 = false;
    let mut be = Synth::exe(EM_X86_64, LDSO).needs("libc.so.6");
    be.big_endian = true;
    let riscv = Synth::exe(243, "/lib/ld-linux-riscv64-lp64d.so.1"); // EM_RISCV
    root.write("/usr/bin/elf32", &elf32.build());
    root.write("/usr/bin/bigendian", &be.build());
    root.write("/usr/bin/riscv", &riscv.build());
    for (bin, want) in [
        ("/usr/bin/elf32", "32-bit"),
        ("/usr/bin/bigendian", "BE"),
        ("/usr/bin/riscv", "machine 243"),
    ] {
        let r = trace(root.path(), bin);
        assert_error(&r, bin, bin);
        assert!(
            r.stderr.contains("unsupported") && r.stderr.contains(want),
            "{bin}: want unsupported ({want}): {r:?}"
        );
    }
}

#[test]
fn every_format_reports_a_bad_program() {
    let root = base_root();
    root.write("/usr/bin/text", b"hello\n");
    for format in ["tree", "list", "json"] {
        let r = run(&[
            "trace",
            "--root",
            root.path().to_str().unwrap(),
            "--format",
            format,
            "/usr/bin/text",
        ]);
        assert_error(&r, "/usr/bin/text", format);
    }
}

#[test]
fn one_bad_program_does_not_hide_the_good_ones() {
    let root = base_root();
    root.write(
        "/usr/bin/good",
        &Synth::exe(EM_X86_64, LDSO).needs("libc.so.6").build(),
    );
    root.write("/usr/bin/bad", b"\x7fELF\x02\x01\x01");
    let r = run(&[
        "trace",
        "--root",
        root.path().to_str().unwrap(),
        "--format",
        "list",
        "/usr/bin/bad",
        "/usr/bin/good",
    ]);
    assert_error(&r, "/usr/bin/bad", "bad + good");
    assert!(r.stdout.contains("libc.so.6 => "), "{r:?}");
}

// --- symlinks: loops and escapes ---------------------------------------------------------

#[test]
fn program_that_is_a_symlink_loop_is_an_error() {
    let root = base_root();
    root.symlink("/usr/bin/loop1", "loop2");
    root.symlink("/usr/bin/loop2", "/usr/bin/loop1");
    root.symlink("/usr/bin/self", "self");
    for bin in ["/usr/bin/loop1", "/usr/bin/self"] {
        let r = trace(root.path(), bin);
        assert_error(&r, bin, bin);
        assert!(r.stderr.contains("symbolic links"), "{bin}: {r:?}");
    }
}

#[test]
fn library_through_a_symlink_loop_is_missing() {
    let root = base_root();
    // A library file that is a loop, in a default directory.
    root.symlink(&format!("{LIBDIR}/libloop.so.1"), "libloop.so.1");
    // A DT_NEEDED path whose directory is a loop.
    root.symlink("/opt/loopdir", "/opt/loopdir");
    root.write(
        "/usr/bin/a",
        &Synth::exe(EM_X86_64, LDSO)
            .needs("libc.so.6")
            .needs("libloop.so.1")
            .build(),
    );
    root.write(
        "/usr/bin/b",
        &Synth::exe(EM_X86_64, LDSO)
            .needs("libc.so.6")
            .needs("/opt/loopdir/libx.so")
            .build(),
    );
    let r = trace(root.path(), "/usr/bin/a");
    assert_incomplete(&r, "libloop.so.1", "library is a loop");
    assert!(r.stdout.contains("libloop.so.1 not found"), "{r:?}");
    let r = trace(root.path(), "/usr/bin/b");
    assert_incomplete(&r, "/opt/loopdir/libx.so", "library path through a loop");
}

/// A directory outside the root holding a file that would change the result if minroot
/// read it: a valid program, and a valid library whose DT_NEEDED is a marker name.
struct Outside {
    dir: tempfile::TempDir,
}

const MARKER: &str = "libHOST-FILE-WAS-READ.so";

impl Outside {
    fn new() -> Outside {
        let dir = tempfile::Builder::new()
            .prefix("minroot-outside-")
            .tempdir()
            .expect("tempdir");
        let lib = Synth::lib(EM_X86_64, "libesc.so.1").needs(MARKER).build();
        std::fs::write(dir.path().join("libesc.so.1"), lib).unwrap();
        let prog = Synth::exe(EM_X86_64, LDSO).needs(MARKER).build();
        std::fs::write(dir.path().join("prog"), prog).unwrap();
        Outside { dir }
    }
    /// The outside directory as a relative path from `/` ("tmp/minroot-outside-XXXX").
    fn rel(&self) -> String {
        self.dir
            .path()
            .to_str()
            .unwrap()
            .trim_start_matches('/')
            .to_string()
    }
}

#[test]
fn symlinks_leaving_the_root_resolve_inside_it() {
    let out = Outside::new();
    let root = base_root();
    let up = "../../../../../../../../..";
    // The program: relative escape, absolute escape, and the classic /etc/passwd.
    root.symlink("/usr/bin/rel", &format!("{up}/{}/prog", out.rel()));
    root.symlink("/usr/bin/abs", &format!("/{}/prog", out.rel()));
    root.symlink("/usr/bin/passwd", "../../../../etc/passwd");
    assert!(
        Path::new("/etc/passwd").is_file(),
        "the host has /etc/passwd"
    );
    for bin in ["/usr/bin/rel", "/usr/bin/abs", "/usr/bin/passwd"] {
        let r = trace(root.path(), bin);
        assert_error(&r, bin, bin);
        assert!(
            r.stderr.contains("no such file in the root"),
            "{bin} must resolve inside the root, where there is nothing: {r:?}"
        );
        assert!(!r.both().contains(MARKER), "{bin}: host file read: {r:?}");
    }

    // A library whose symlink leaves the root: missing, never the host's file.
    root.symlink(
        &format!("{LIBDIR}/libesc.so.1"),
        &format!("{up}/{}/libesc.so.1", out.rel()),
    );
    root.write(
        "/usr/bin/app",
        &Synth::exe(EM_X86_64, LDSO)
            .needs("libc.so.6")
            .needs("libesc.so.1")
            .build(),
    );
    let r = trace(root.path(), "/usr/bin/app");
    assert_incomplete(&r, "libesc.so.1", "library symlink leaving the root");
    assert!(r.stdout.contains("libesc.so.1 not found"), "{r:?}");
    assert!(!r.both().contains(MARKER), "host library read: {r:?}");
    assert!(
        r.stderr.contains("above the root"),
        "the escape attempt is reported: {r:?}"
    );

    // Once the root has the file at the in-root path, that one is used.
    root.write(
        &format!("/{}/libesc.so.1", out.rel()),
        &Synth::lib(EM_X86_64, "libesc.so.1").build(),
    );
    let r = trace(root.path(), "/usr/bin/app");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.both().contains(MARKER), "host library read: {r:?}");
}

// --- unreadable files -------------------------------------------------------------------

/// Whether this process is root (uid 0), where permission bits do not stop reads.
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// minroot run as the unprivileged `nobody` (65534) through setpriv, from a copy of the
/// binary in a world-readable temporary directory (the build directory may be under a
/// 0700 home). None when not root or without setpriv.
struct Nobody {
    _dir: tempfile::TempDir,
    exe: std::path::PathBuf,
}

impl Nobody {
    fn new() -> Option<Nobody> {
        if !is_root() || !have("setpriv") {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("minroot-nobody-")
            .tempdir()
            .ok()?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).ok()?;
        let exe = dir.path().join("minroot");
        std::fs::copy(env!("CARGO_BIN_EXE_minroot"), &exe).ok()?;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).ok()?;
        let n = Nobody { _dir: dir, exe };
        let probe = n.cmd().arg("--version").output().ok()?;
        probe.status.success().then_some(n)
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(&self.exe);
        c
    }
}

#[test]
fn directory_where_a_file_is_expected() {
    // Works for any uid: a directory cannot be read as a file, even by root.
    let root = base_root();
    root.mkdir("/usr/bin/prog.d");
    let r = trace(root.path(), "/usr/bin/prog.d");
    assert_error(&r, "/usr/bin/prog.d", "directory as BIN");
}

#[test]
fn unreadable_files_as_an_unprivileged_user() {
    // Tests run as root, and root reads a chmod 000 file anyway (CAP_DAC_OVERRIDE), so a
    // 000 mode alone would prove nothing. As root, minroot runs here as `nobody` through
    // setpriv; as another user, the modes work as they are. Without setpriv (as root) the
    // test says it is skipped; the directory-as-file tests still cover "cannot read".
    if !is_root() {
        unreadable_checks(run);
        return;
    }
    let Some(nobody) = Nobody::new() else {
        require("setpriv, to run minroot as nobody", false);
        return;
    };
    unreadable_checks(|args| {
        let mut c = nobody.cmd();
        c.args(args);
        run_cmd(c)
    });
}

fn unreadable_checks(run_as: impl Fn(&[&str]) -> Ran) {
    let root = base_root();
    // The temporary root is 0700: open it up so that only the 000 modes below deny.
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let chmod = |inside: &str, mode: u32| {
        std::fs::set_permissions(root.host(inside), std::fs::Permissions::from_mode(mode))
            .expect("chmod")
    };
    let exe = Synth::exe(EM_X86_64, LDSO).needs("libc.so.6");
    root.write("/usr/bin/noread", &exe.build());
    chmod("/usr/bin/noread", 0o000);
    root.write("/secret/prog", &exe.build());
    chmod("/secret", 0o000);
    root.write(
        &format!("{LIBDIR}/libsecret.so.1"),
        &Synth::lib(EM_X86_64, "libsecret.so.1").build(),
    );
    chmod(&format!("{LIBDIR}/libsecret.so.1"), 0o000);
    root.write(
        "/usr/bin/app",
        &Synth::exe(EM_X86_64, LDSO)
            .needs("libc.so.6")
            .needs("libsecret.so.1")
            .build(),
    );
    let rootdir = root.path().to_str().unwrap();
    root.write("/usr/bin/ok", &exe.build());
    let r = run_as(&["trace", "--root", rootdir, "/usr/bin/ok"]);
    assert_eq!(
        r.code, 0,
        "the unprivileged user must reach the root (is TMPDIR private?): {r:?}"
    );

    let r = run_as(&["trace", "--root", rootdir, "/usr/bin/noread"]);
    assert_error(&r, "/usr/bin/noread", "program mode 000");
    assert!(
        r.stderr.to_lowercase().contains("permission denied"),
        "{r:?}"
    );

    let r = run_as(&["trace", "--root", rootdir, "/secret/prog"]);
    assert_error(&r, "/secret/prog", "program in a mode-000 directory");
    assert!(
        r.stderr.to_lowercase().contains("permission denied"),
        "{r:?}"
    );

    // glibc's open_path skips a candidate it may not open (EACCES) and searches on.
    let r = run_as(&["trace", "--root", rootdir, "/usr/bin/app"]);
    assert_incomplete(&r, "libsecret.so.1", "library mode 000");

    chmod("/secret", 0o755);
}

// --- ld.so.cache and --root ------------------------------------------------------------

#[test]
fn corrupt_ld_so_cache_falls_back_to_the_default_dirs() {
    let root = base_root();
    root.write(
        "/usr/bin/app",
        &Synth::exe(EM_X86_64, LDSO).needs("libc.so.6").build(),
    );
    let mut huge_count = b"glibc-ld.so.cache1.1".to_vec();
    huge_count.extend_from_slice(&u32::MAX.to_le_bytes());
    huge_count.resize(200, 0);
    // An old-format header followed by a new one claiming 2^32-1 entries.
    let mut compat = b"ld.so-1.7.0\0".to_vec();
    compat.extend_from_slice(&0u32.to_le_bytes());
    compat.extend_from_slice(b"glibc-ld.so.cache1.1");
    compat.extend_from_slice(&u32::MAX.to_le_bytes());
    compat.resize(16 + 48 + 64, 0);
    let caches: [(&str, Vec<u8>); 6] = [
        ("garbage", b"this is not a cache at all".to_vec()),
        ("empty", Vec::new()),
        ("magic only", b"glibc-ld.so.cache1.1".to_vec()),
        ("huge entry count", huge_count),
        ("compat with a huge new entry count", compat),
        (
            "random bytes",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
        ),
    ];
    for (what, bytes) in caches {
        root.write("/etc/ld.so.cache", &bytes);
        let r = run(&[
            "trace",
            "--root",
            root.path().to_str().unwrap(),
            "--format",
            "list",
            "/usr/bin/app",
        ]);
        assert_eq!(r.code, 0, "cache {what}: {r:?}");
        assert!(
            r.stdout
                .contains(&format!("libc.so.6 => {LIBDIR}/libc.so.6")),
            "cache {what}: libc from the default dirs: {r:?}"
        );
        // Said once, naming the file (a compat cache with a count too big still parses,
        // and then has no entries for this architecture).
        assert!(
            r.stderr.contains("warning: /etc/ld.so.cache"),
            "cache {what}: warned about: {r:?}"
        );
    }
    // A directory where the cache should be: as if there were none.
    std::fs::remove_file(root.host("/etc/ld.so.cache")).unwrap();
    root.mkdir("/etc/ld.so.cache");
    let r = trace(root.path(), "/usr/bin/app");
    assert_eq!(r.code, 0, "cache is a directory: {r:?}");
}

#[test]
fn missing_root_is_an_error() {
    let t = tempfile::tempdir().unwrap();
    let missing = t.path().join("no-such-root");
    let r = trace(&missing, "/usr/bin/app");
    assert_error(&r, missing.to_str().unwrap(), "missing --root");
}

#[test]
fn root_that_is_a_file_is_an_error() {
    let t = tempfile::tempdir().unwrap();
    let file = t.path().join("root-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let r = trace(&file, "/usr/bin/app");
    assert_error(&r, file.to_str().unwrap(), "--root is a file");
    assert!(r.stderr.contains("not a directory"), "{r:?}");
}

// --- library candidates the loader rejects ----------------------------------------------

/// A root where `libbad.so.1` in the first default directory is made by `make`, and a
/// program needs it. The loader stops at the first candidate it cannot use as ELF.
fn bad_candidate(make: impl FnOnce(&FakeRoot, &Path)) -> (FakeRoot, Ran) {
    let root = base_root();
    // A good copy later in the search: the loader must not get there.
    root.write(
        "/usr/lib/libbad.so.1",
        &Synth::lib(EM_X86_64, "libbad.so.1").build(),
    );
    root.mkdir(LIBDIR);
    make(&root, &root.host(&format!("{LIBDIR}/libbad.so.1")));
    root.write(
        "/usr/bin/app",
        &Synth::exe(EM_X86_64, LDSO)
            .needs("libc.so.6")
            .needs("libbad.so.1")
            .build(),
    );
    let r = trace(root.path(), "/usr/bin/app");
    (root, r)
}

const BAD: &str = "/usr/lib/x86_64-linux-gnu/libbad.so.1";

#[test]
fn candidate_that_is_a_directory_stops_the_loader() {
    let (_r, r) = bad_candidate(|_, p| std::fs::create_dir(p).unwrap());
    assert_incomplete(&r, BAD, "candidate is a directory");
    assert!(r.stdout.contains("cannot read file data"), "{r:?}");
}

#[test]
fn candidate_that_is_empty_stops_the_loader() {
    let (_r, r) = bad_candidate(|_, p| std::fs::write(p, b"").unwrap());
    assert_incomplete(&r, BAD, "candidate is empty");
    assert!(r.stdout.contains("file too short"), "{r:?}");
}

#[test]
fn candidate_that_is_not_elf_stops_the_loader() {
    let (_r, r) = bad_candidate(|_, p| std::fs::write(p, [b'x'; 200]).unwrap());
    assert_incomplete(&r, BAD, "candidate is text");
    assert!(r.stdout.contains("invalid ELF header"), "{r:?}");
}

#[test]
fn candidate_that_is_a_fifo_is_an_error_not_a_hang() {
    let mut made = false;
    let (_r, r) = bad_candidate(|_, p| {
        made = Command::new("mkfifo")
            .arg(p)
            .status()
            .is_ok_and(|s| s.success());
    });
    if !require("mkfifo", made) {
        return;
    }
    // The real loader would block in open(2) on the FIFO; minroot reports instead.
    assert_incomplete(&r, BAD, "candidate is a FIFO");
    assert!(r.stdout.contains("not a regular file"), "{r:?}");
}

#[test]
fn library_with_a_corrupt_dynamic_section_is_reported() {
    let (_r, r) = bad_candidate(|_, p| {
        let mut b = Synth::lib(EM_X86_64, "libbad.so.1")
            .needs("libc.so.6")
            .build();
        let e = dyn_entry(&b, DT_NEEDED);
        wr64(&mut b, e + 8, 0xffff_0000);
        std::fs::write(p, b).unwrap();
    });
    assert_incomplete(&r, BAD, "library with a bad DT_NEEDED offset");
    assert!(r.stdout.contains("outside the string table"), "{r:?}");
}

#[test]
fn truncated_library_is_reported() {
    let full = Synth::lib(EM_X86_64, "libbad.so.1")
        .needs("libc.so.6")
        .build();
    for cut in [64, 100, 200, dynamic_end(&full) - 1] {
        let (_r, r) = bad_candidate(|_, p| std::fs::write(p, &full[..cut]).unwrap());
        assert_incomplete(&r, BAD, &format!("library cut at {cut}"));
    }
}

#[test]
fn huge_needed_list_is_bounded() {
    // 20000 distinct DT_NEEDED names, none present: every one is searched and reported,
    // in bounded time (each directory lookup is memoised).
    let root = base_root();
    let mut exe = Synth::exe(EM_X86_64, LDSO).needs("libc.so.6");
    let n = 20_000;
    for i in 0..n {
        exe = exe.needs(&format!("libmissing{i}.so"));
    }
    root.write("/usr/bin/many", &exe.build());
    let start = Instant::now();
    let r = run(&[
        "trace",
        "--root",
        root.path().to_str().unwrap(),
        "--format",
        "list",
        "/usr/bin/many",
    ]);
    assert_incomplete(
        &r,
        &format!("libmissing{}.so", n - 1),
        "many missing libraries",
    );
    assert_eq!(r.stdout.matches("=> not found").count(), n, "{}", r.stderr);
    eprintln!("{n} missing libraries traced in {:?}", start.elapsed());
}

#[test]
fn hostile_ld_so_conf_does_not_hang_the_stale_cache_hint() {
    // ld.so.conf is read only to explain a missing library ("the cache is stale"), but
    // it is the root's file: an include pattern that made the glob matcher exponential,
    // and 1 MiB of distinct directories (a quadratic deduplication), each took minutes.
    let root = base_root();
    root.write(
        "/usr/bin/app",
        &Synth::exe(EM_X86_64, LDSO)
            .needs("libc.so.6")
            .needs("libmissing.so.1")
            .build(),
    );
    root.write(
        "/etc/ld.so.conf",
        b"include /etc/ld.so.conf.d/*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b\ninclude big.conf\n",
    );
    root.write(&format!("/etc/ld.so.conf.d/{}", "a".repeat(60)), b"/x\n");
    let big: String = (0..100_000).map(|i| format!("/d{i}\n")).collect();
    root.write("/etc/big.conf", big.as_bytes());
    let r = trace(root.path(), "/usr/bin/app");
    assert_incomplete(&r, "libmissing.so.1", "hostile ld.so.conf");
}

#[test]
fn many_absent_rpath_directories_are_cheap() {
    // 4000 RPATH directories that do not exist and 500 names to find: the loader stats
    // each directory once and skips it afterwards; minroot looked up every candidate
    // path (2 million of them, with subdirectories) and took minutes at this scale x 4.
    let root = base_root();
    let rpath: Vec<String> = (0..4000).map(|i| format!("/n{i}")).collect();
    let mut exe = Synth::exe(EM_X86_64, LDSO)
        .needs("libc.so.6")
        .rpath(&rpath.join(":"));
    for i in 0..500 {
        exe = exe.needs(&format!("libm{i}.so"));
    }
    root.write("/usr/bin/x", &exe.build());
    let start = Instant::now();
    let r = run(&[
        "trace",
        "--root",
        root.path().to_str().unwrap(),
        "--format",
        "list",
        "/usr/bin/x",
    ]);
    assert_incomplete(&r, "libm499.so", "4000 absent RPATH directories");
    assert!(
        r.stdout
            .contains(&format!("libc.so.6 => {LIBDIR}/libc.so.6")),
        "{r:?}"
    );
    eprintln!("traced in {:?}", start.elapsed());
}

#[test]
fn fifos_where_the_root_has_its_configuration_do_not_hang() {
    // open(2) on a FIFO blocks until a writer comes. The root's ld.so.conf (read to
    // explain a missing library), a file it includes, and ld.so.cache are all FIFOs.
    let root = base_root();
    root.write(
        "/usr/bin/app",
        &Synth::exe(EM_X86_64, LDSO)
            .needs("libc.so.6")
            .needs("libmissing.so.1")
            .build(),
    );
    root.write("/etc/ld.so.conf.d/.keep", b"");
    let mut made = true;
    for f in [
        "/etc/ld.so.cache",
        "/etc/ld.so.conf.d/fifo.conf",
        "/etc/fifo-include.conf",
    ] {
        made &= Command::new("mkfifo")
            .arg(root.host(f))
            .status()
            .is_ok_and(|s| s.success());
    }
    if !require("mkfifo", made) {
        return;
    }
    root.write(
        "/etc/ld.so.conf",
        b"include /etc/ld.so.conf.d/*.conf\ninclude /etc/fifo-include.conf\n",
    );
    let r = trace(root.path(), "/usr/bin/app");
    assert_incomplete(
        &r,
        "libmissing.so.1",
        "FIFO ld.so.cache and ld.so.conf includes",
    );
    // And ld.so.conf itself.
    std::fs::remove_file(root.host("/etc/ld.so.conf")).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(root.host("/etc/ld.so.conf"))
            .status()
            .unwrap()
            .success()
    );
    let r = trace(root.path(), "/usr/bin/app");
    assert_incomplete(&r, "libmissing.so.1", "FIFO ld.so.conf");
}
