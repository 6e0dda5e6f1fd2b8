//! `minroot pack` on fake roots built here (synthetic ELF files, no podman): the layer is
//! byte-reproducible, GNU tar reads it as DESIGN.md ("The layer") says, and the exit
//! status and the output file agree (nothing written on an incomplete closure or an
//! error, no temporary file left behind).
//!
//! Reproducibility is tested by changing one thing at a time that must not matter (a
//! second run, a copy of the root made in reverse order with other mtimes and inodes, the
//! order of BINs and --include, the thread count, the cwd) and comparing the diff_id and
//! the gzip and zstd blob digests; SOURCE_DATE_EPOCH is the one input that must matter.
//! The digests printed are checked against sha256 of the file and of its decompressed
//! tar, computed here. This file owns no helper that other test files need.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::FakeRoot;
use minroot::arch::Arch;
use minroot::elf::synth::Synth;
use sha2::{Digest, Sha256};

const X86: Arch = Arch::X86_64;
const TRIPLET_DIR: &str = "/usr/lib/x86_64-linux-gnu";
/// The programs of the test root, and what is included besides them.
const BINS: &[&str] = &["/usr/bin/app", "/usr/bin/tool", "/usr/bin/suid"];
const INCLUDES: &[&str] = &["/usr/share/app", "/usr/share/other"];
/// A directory chain long enough that the path needs a PAX record (> 255 bytes).
fn long_dir() -> String {
    let seg = "segment-of-a-long-path-0123456789";
    format!("/usr/share/app/{}", [seg; 8].join("/"))
}

// ---------------------------------------------------------------------------------------
// The test root, described once and built in either order.

enum Op {
    /// A file with its bytes and mode.
    File(String, Vec<u8>, u32),
    /// A symlink and its target as stored.
    Link(String, String),
    /// Two names of one inode (the first is written, the second linked to it).
    Hard(String, String, Vec<u8>),
}

/// How to build one copy of the root.
struct Build {
    /// Create everything in reverse order (other inode numbers, other readdir order).
    reverse: bool,
    /// mtime given to every path.
    mtime: i64,
    /// Size of the big data file (several gzip chunks).
    big: usize,
}

/// Low-entropy pseudo-random bytes (compressible, not trivially).
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b"abcdefgh    \n.,;"[(x % 16) as usize]
        })
        .collect()
}

fn lib(soname: &str) -> Synth {
    Synth::lib(X86.elf_machine(), soname)
}

fn exe() -> Synth {
    Synth::exe(X86.elf_machine(), X86.loader_path()).needs("libc.so.6")
}

fn ops(big: usize) -> Vec<Op> {
    let t = TRIPLET_DIR;
    let cache = minroot::ldso::cache::write_new_format(
        &[
            (
                "libfoo.so.1",
                &format!("{t}/libfoo.so.1"),
                X86.cache_flags(),
                None,
            ),
            (
                "libc.so.6",
                &format!("{t}/libc.so.6"),
                X86.cache_flags(),
                None,
            ),
            (
                "libunused.so.1",
                &format!("{t}/libunused.so.1"),
                X86.cache_flags(),
                None,
            ),
        ],
        X86.char_is_signed(),
    );
    vec![
        Op::Link("/lib".into(), "usr/lib".into()),
        Op::Link("/lib64".into(), "usr/lib64".into()),
        Op::Link("/bin".into(), "usr/bin".into()),
        Op::File(
            "/usr/lib64/ld-linux-x86-64.so.2".into(),
            lib(X86.loader_soname()).build(),
            0o755,
        ),
        Op::File(format!("{t}/libc.so.6"), lib("libc.so.6").build(), 0o644),
        Op::File(
            format!("{t}/libfoo.so.1.2.3"),
            lib("libfoo.so.1").needs("libc.so.6").build(),
            0o644,
        ),
        Op::Link(format!("{t}/libfoo.so.1"), "libfoo.so.1.2.3".into()),
        Op::File(
            format!("{t}/libunused.so.1"),
            lib("libunused.so.1").build(),
            0o644,
        ),
        Op::File(
            "/usr/bin/app".into(),
            exe().needs("libfoo.so.1").build(),
            0o755,
        ),
        Op::File("/usr/bin/tool".into(), exe().build(), 0o755),
        Op::File("/usr/bin/suid".into(), exe().build(), 0o4755),
        Op::File("/usr/share/app/big.dat".into(), noise(big, 7), 0o644),
        Op::File(
            "/usr/share/app/data/a.txt".into(),
            b"alpha\n".to_vec(),
            0o644,
        ),
        Op::File(
            "/usr/share/app/data/b.txt".into(),
            b"beta\n".to_vec(),
            0o640,
        ),
        Op::Hard(
            "/usr/share/app/data/h1".into(),
            "/usr/share/app/data/h2".into(),
            b"one inode, two names\n".to_vec(),
        ),
        // A hard link whose other name stays out of the layer.
        Op::Hard(
            "/usr/share/app/data/h3".into(),
            "/usr/share/outside/h3-twin".into(),
            b"twin outside\n".to_vec(),
        ),
        Op::Link("/usr/share/app/current".into(), "data".into()),
        Op::Link(
            "/usr/share/app/abs".into(),
            "/usr/share/other/x.conf".into(),
        ),
        Op::File(
            format!("{}/deep.txt", long_dir()),
            b"deep\n".to_vec(),
            0o644,
        ),
        Op::File("/usr/share/other/x.conf".into(), b"x=1\n".to_vec(), 0o600),
        Op::File(
            "/etc/passwd".into(),
            b"root:x:0:0:root:/root:/bin/sh\nfromroot:x:7:7::/:/bin/false\n".to_vec(),
            0o644,
        ),
        Op::File(
            "/etc/ssl/certs/ca-certificates.crt".into(),
            b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".to_vec(),
            0o644,
        ),
        Op::File("/etc/ld.so.cache".into(), cache, 0o644),
    ]
}

/// Owners that are not root's, set after the build (kept numerically in the layer).
const OWNED: &[(&str, u32, u32)] = &[
    ("/usr/share/app/data", 1000, 1000),
    ("/usr/share/app/data/a.txt", 1000, 1001),
];
/// Directory modes other than 0755.
const DIR_MODES: &[(&str, u32)] = &[("/usr/share/app/data", 0o750)];

fn host(root: &Path, inside: &str) -> PathBuf {
    root.join(inside.trim_start_matches('/'))
}

fn write_file(root: &Path, inside: &str, bytes: &[u8], mode: u32) {
    let p = host(root, inside);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Builds the test root into `root`.
fn build_root(root: &Path, b: &Build) {
    let mut list = ops(b.big);
    if b.reverse {
        list.reverse();
    }
    for op in &list {
        match op {
            Op::File(p, bytes, mode) => write_file(root, p, bytes, *mode),
            Op::Link(p, t) => {
                let h = host(root, p);
                std::fs::create_dir_all(h.parent().unwrap()).unwrap();
                std::os::unix::fs::symlink(t, h).unwrap();
            }
            Op::Hard(a, z, bytes) => {
                // Which name is written first changes with the order; the layer must not.
                let (first, second) = if b.reverse { (z, a) } else { (a, z) };
                write_file(root, first, bytes, 0o644);
                let h = host(root, second);
                std::fs::create_dir_all(h.parent().unwrap()).unwrap();
                std::fs::hard_link(host(root, first), h).unwrap();
            }
        }
    }
    // Every directory 0755 (whatever the umask), then the exceptions and the owners.
    for e in walkdir::WalkDir::new(root).min_depth(1) {
        let e = e.unwrap();
        if e.file_type().is_dir() {
            std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    for (p, m) in DIR_MODES {
        std::fs::set_permissions(host(root, p), std::fs::Permissions::from_mode(*m)).unwrap();
    }
    if is_root() {
        for (p, u, g) in OWNED {
            std::os::unix::fs::chown(host(root, p), Some(*u), Some(*g)).unwrap();
        }
    }
    // Every path gets this build's mtime (symlinks too: touch -h).
    let st = Command::new("touch")
        .arg("-h")
        .arg("-d")
        .arg(format!("@{}", b.mtime))
        .args(
            walkdir::WalkDir::new(root)
                .min_depth(1)
                .into_iter()
                .map(|e| e.unwrap().into_path()),
        )
        .status()
        .expect("touch");
    assert!(st.success());
}

/// Whether the tests run as root (needed for other owners, setcap and mknod).
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn test_root(b: &Build) -> FakeRoot {
    let r = FakeRoot::new();
    build_root(r.path(), b);
    r
}

/// The usual root: forward order, small big file.
fn std_root() -> FakeRoot {
    test_root(&Build {
        reverse: false,
        mtime: 1_600_000_000,
        big: 2_500_000,
    })
}

// ---------------------------------------------------------------------------------------
// Running pack.

/// One `minroot pack` run.
struct Packed {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Packed {
    fn ok(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "minroot pack failed: stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
    /// The layer summary of `--json` (flat, or under "layer").
    fn json(&self) -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("--json output: {e}: {}", self.stdout));
        match v.get("layer") {
            Some(l) => l.clone(),
            None => v,
        }
    }
    fn field(&self, k: &str) -> String {
        self.json()[k]
            .as_str()
            .unwrap_or_else(|| panic!("{k} in {}", self.stdout))
            .to_string()
    }
    fn diff_id(&self) -> String {
        self.field("diff_id")
    }
    fn blob(&self) -> String {
        self.field("blob_digest")
    }
}

/// How to run pack.
#[derive(Default)]
struct Run<'a> {
    args: Vec<String>,
    env: Vec<(&'a str, &'a str)>,
    cwd: Option<&'a Path>,
}

impl<'a> Run<'a> {
    fn new(root: &Path, out: &Path) -> Run<'a> {
        Run {
            args: vec![
                "pack".into(),
                "--root".into(),
                root.to_str().unwrap().into(),
                "-o".into(),
                out.to_str().unwrap().into(),
            ],
            ..Run::default()
        }
    }
    /// The usual selection: --json, the includes, the programs.
    fn std(root: &Path, out: &Path) -> Run<'a> {
        let mut r = Run::new(root, out);
        r.arg("--json");
        for i in INCLUDES {
            r.arg("--include").arg(i);
        }
        for b in BINS {
            r.arg(b);
        }
        r
    }
    fn arg(&mut self, a: &str) -> &mut Self {
        self.args.push(a.into());
        self
    }
    fn env(&mut self, k: &'a str, v: &'a str) -> &mut Self {
        self.env.push((k, v));
        self
    }
    fn go(&self) -> Packed {
        let mut c = common::minroot();
        // Only what the test sets: no time or thread count from the developer's shell.
        c.env_remove("SOURCE_DATE_EPOCH")
            .env_remove("RAYON_NUM_THREADS");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        if let Some(d) = self.cwd {
            c.current_dir(d);
        }
        let out = c.args(&self.args).output().expect("run minroot");
        Packed {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

fn tmpdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("minroot-pack-")
        .tempdir()
        .unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The uncompressed tar of a layer file (by its name).
fn untar_bytes(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap();
    let name = path.to_string_lossy();
    let mut out = Vec::new();
    if name.ends_with(".gz") {
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
    } else if name.ends_with(".zst") {
        out = zstd::stream::decode_all(&raw[..]).unwrap();
    } else {
        out = raw;
    }
    out
}

/// Names in a directory (to prove no temporary file is left).
fn dir_names(d: &Path) -> BTreeSet<String> {
    std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Digests of the usual layer in the three formats: (diff_id, gz blob, zst blob), each
/// checked against the file itself.
fn digests<'a>(root: &Path, configure: impl Fn(&mut Run<'a>)) -> (String, String, String) {
    let d = tmpdir();
    let mut got = Vec::new();
    for ext in ["tar", "tar.gz", "tar.zst"] {
        let out = d.path().join(format!("layer.{ext}"));
        let mut r = Run::std(root, &out);
        configure(&mut r);
        let p = r.go();
        p.ok();
        let file = std::fs::read(&out).unwrap();
        assert_eq!(p.blob(), sha256(&file), "blob_digest of {ext}");
        assert_eq!(
            p.diff_id(),
            sha256(&untar_bytes(&out)),
            "diff_id of {ext} is the sha256 of the uncompressed tar"
        );
        got.push((p.diff_id(), p.blob()));
    }
    assert_eq!(got[0].0, got[1].0, "tar and tar.gz have one diff_id");
    assert_eq!(got[0].0, got[2].0, "tar and tar.zst have one diff_id");
    assert_eq!(
        got[0].0, got[0].1,
        "an uncompressed layer's blob is its diff_id"
    );
    assert_eq!(
        dir_names(d.path()),
        ["layer.tar", "layer.tar.gz", "layer.tar.zst"]
            .map(String::from)
            .into(),
        "nothing but the outputs"
    );
    (got[0].0.clone(), got[1].1.clone(), got[2].1.clone())
}

// ---------------------------------------------------------------------------------------
// Reproducibility.

#[test]
fn same_command_twice_same_digests() {
    let r = std_root();
    let a = digests(r.path(), |_| {});
    let b = digests(r.path(), |_| {});
    assert_eq!(a, b);
    // The summary has the counts too.
    let d = tmpdir();
    let out = d.path().join("l.tar");
    let p = Run::std(r.path(), &out).go();
    p.ok();
    let j = p.json();
    assert!(j["entries"].as_u64().unwrap() > 20, "{}", p.stdout);
    // The gzip header carries no time and no name: ID1 ID2 CM FLG=0 MTIME=0.
    let gz = d.path().join("l.tar.gz");
    Run::std(r.path(), &gz).go().ok();
    let head = std::fs::read(&gz).unwrap()[..10].to_vec();
    assert_eq!(head[..8], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0], "{head:x?}");
}

#[test]
fn copied_root_in_reverse_order_with_new_mtimes_same_digests() {
    let a = test_root(&Build {
        reverse: false,
        mtime: 1_600_000_000,
        big: 2_500_000,
    });
    let b = test_root(&Build {
        reverse: true,
        mtime: 1_234_567_890,
        big: 2_500_000,
    });
    // The copy really differs in what must not matter (mtimes here; inode numbers and
    // the creation order by construction).
    assert_ne!(
        std::fs::metadata(a.host("/usr/bin/app")).unwrap().mtime(),
        std::fs::metadata(b.host("/usr/bin/app")).unwrap().mtime()
    );
    assert_eq!(digests(a.path(), |_| {}), digests(b.path(), |_| {}));
}

#[test]
fn bin_and_include_order_shuffled_same_digests() {
    let r = std_root();
    let a = digests(r.path(), |_| {});
    let b = digests(r.path(), |run| {
        // Same words, other order: includes reversed, programs rotated.
        let root = run.args[2].clone();
        let out = run.args[4].clone();
        *run = Run::new(Path::new(&root), Path::new(&out));
        run.arg("--json");
        for b in [BINS[2], BINS[0]] {
            run.arg(b);
        }
        for i in INCLUDES.iter().rev() {
            run.arg("--include").arg(i);
        }
        run.arg(BINS[1]);
    });
    assert_eq!(a, b);
}

#[test]
fn thread_count_does_not_change_digests() {
    // 20 MB: many gzip chunks and more than one zstd job.
    let r = test_root(&Build {
        reverse: false,
        mtime: 1_600_000_000,
        big: 20_000_000,
    });
    let one = digests(r.path(), |run| {
        run.env("RAYON_NUM_THREADS", "1");
    });
    let four = digests(r.path(), |run| {
        run.env("RAYON_NUM_THREADS", "4");
    });
    assert_eq!(one, four);
}

#[test]
fn cwd_does_not_change_digests() {
    let r = std_root();
    let a = digests(r.path(), |_| {});
    let elsewhere = tmpdir();
    let b = digests(r.path(), |run| run.cwd = Some(elsewhere.path()));
    assert_eq!(a, b);
    // A relative --root and a relative -o, from the root's parent and from the root.
    let parent = r.path().parent().unwrap();
    let name = r.path().file_name().unwrap().to_str().unwrap();
    let d = tmpdir();
    let mut ids = Vec::new();
    for (cwd, root_arg, out_arg) in [
        (
            parent.to_path_buf(),
            name.to_string(),
            d.path().join("x.tar"),
        ),
        (
            r.path().to_path_buf(),
            ".".to_string(),
            d.path().join("y.tar"),
        ),
    ] {
        let mut run = Run::std(Path::new(&root_arg), &out_arg);
        run.cwd = Some(&cwd);
        let p = run.go();
        p.ok();
        ids.push(p.diff_id());
    }
    assert_eq!(ids, [a.0.clone(), a.0]);
}

#[test]
fn source_date_epoch_env_and_option() {
    let r = std_root();
    let env = |v: &'static str| {
        move |run: &mut Run| {
            run.env("SOURCE_DATE_EPOCH", v);
        }
    };
    let none = digests(r.path(), |_| {});
    let zero = digests(r.path(), env("0"));
    let t1 = digests(r.path(), env("1000000000"));
    let t2 = digests(r.path(), env("2000000000"));
    assert_eq!(none, zero, "the default time is 0");
    assert_ne!(t1.0, t2.0);
    assert_ne!(t1.1, t2.1);
    assert_ne!(t1.2, t2.2);
    assert_ne!(none.0, t1.0);
    // The option wins over the environment.
    let opt = digests(r.path(), |run| {
        run.env("SOURCE_DATE_EPOCH", "2000000000");
        run.arg("--source-date-epoch").arg("1000000000");
    });
    assert_eq!(opt, t1);
    // A bad value is an error, and nothing is written.
    let d = tmpdir();
    let out = d.path().join("bad.tar");
    let mut run = Run::std(r.path(), &out);
    run.env("SOURCE_DATE_EPOCH", "yesterday");
    let p = run.go();
    assert_eq!(p.code, 2, "{}", p.stderr);
    assert!(p.stderr.contains("SOURCE_DATE_EPOCH"), "{}", p.stderr);
    assert!(dir_names(d.path()).is_empty());
}

// ---------------------------------------------------------------------------------------
// What GNU tar sees.

/// One line of `tar -tv --full-time`: type+mode, owner, size, date, time, name, link.
#[derive(Debug, Clone)]
struct TarLine {
    mode: String,
    owner: String,
    mtime: String,
    name: String,
    link: Option<String>,
}

fn gnu_tar_list(layer: &Path) -> Vec<TarLine> {
    let out = Command::new("tar")
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .args(["--full-time", "-tvf"])
        .arg(layer)
        .output()
        .expect("run GNU tar");
    assert!(
        out.status.success(),
        "tar -tvf: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.splitn(6, char::is_whitespace).collect();
            // Owner and size columns are padded: split the rest again.
            let mut it = l.split_whitespace();
            let mode = it.next().unwrap().to_string();
            let owner = it.next().unwrap().to_string();
            let _size = it.next().unwrap();
            let date = it.next().unwrap();
            let time = it.next().unwrap();
            let rest: Vec<&str> = it.collect();
            let rest = rest.join(" ");
            let (name, link) = if let Some((n, t)) = rest.split_once(" -> ") {
                (n.to_string(), Some(t.to_string()))
            } else if let Some((n, t)) = rest.split_once(" link to ") {
                (n.to_string(), Some(t.to_string()))
            } else {
                (rest, None)
            };
            let _ = f;
            TarLine {
                mode,
                owner,
                mtime: format!("{date} {time}"),
                name,
                link,
            }
        })
        .collect()
}

fn pack_std(root: &Path, dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut run = Run::std(root, &out);
    for a in extra {
        run.arg(a);
    }
    run.go().ok();
    out
}

#[test]
fn gnu_tar_reads_the_layer() {
    if !common::require("GNU tar", common::have("tar"))
        || !common::require("root (the root's files owned by other users)", is_root())
    {
        return;
    }
    let r = std_root();
    let d = tmpdir();
    let out = pack_std(
        r.path(),
        d.path(),
        "layer.tar",
        &["--source-date-epoch", "1700000000"],
    );
    let list = gnu_tar_list(&out);
    let by_name: BTreeMap<&str, &TarLine> = list.iter().map(|l| (l.name.as_str(), l)).collect();

    // Names: no leading '/' or './', no '..', sorted bytewise by path, each once.
    let paths: Vec<&str> = list.iter().map(|l| l.name.trim_end_matches('/')).collect();
    for p in &paths {
        assert!(
            !p.starts_with('/') && !p.starts_with("./") && !p.split('/').any(|c| c == ".."),
            "{p}"
        );
    }
    let mut sorted = paths.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(paths, sorted, "entries sorted bytewise, no duplicates");

    // Every parent is present, as a directory.
    for p in &paths {
        let parts: Vec<&str> = p.split('/').collect();
        for i in 1..parts.len() {
            let parent = format!("{}/", parts[..i].join("/"));
            let l = by_name
                .get(parent.as_str())
                .unwrap_or_else(|| panic!("parent {parent} of {p} missing"));
            assert!(l.mode.starts_with('d'), "{parent}: {}", l.mode);
        }
    }

    // Every mtime is the epoch.
    for l in &list {
        assert_eq!(l.mtime, "2023-11-14 22:13:20", "{}", l.name);
    }

    // The whole listing: what the root holds and the rules of DESIGN.md say, derived by
    // hand: (name, type+mode, owner, link target).
    let mut want: Vec<(String, &str, &str, Option<&str>)> = vec![
        // Base files (generated, or the root's CA bundle); the root's /etc/passwd is
        // not included, so the generated one is used.
        ("etc/".into(), "drwxr-xr-x", "0/0", None),
        ("etc/group".into(), "-rw-r--r--", "0/0", None),
        // The root's ld.so.cache, trimmed to the layer (libunused is dropped).
        ("etc/ld.so.cache".into(), "-rw-r--r--", "0/0", None),
        ("etc/nsswitch.conf".into(), "-rw-r--r--", "0/0", None),
        ("etc/os-release".into(), "-rw-r--r--", "0/0", None),
        ("etc/passwd".into(), "-rw-r--r--", "0/0", None),
        ("etc/ssl/".into(), "drwxr-xr-x", "0/0", None),
        ("etc/ssl/certs/".into(), "drwxr-xr-x", "0/0", None),
        (
            "etc/ssl/certs/ca-certificates.crt".into(),
            "-rw-r--r--",
            "0/0",
            None,
        ),
        ("home/".into(), "drwxr-xr-x", "0/0", None),
        ("home/nonroot/".into(), "drwx------", "65532/65532", None),
        // PT_INTERP /lib64/ld-linux-x86-64.so.2 goes through the usrmerge link; the
        // libraries are found through ld.so.cache under /usr/lib, so no `lib` link.
        ("lib64".into(), "lrwxrwxrwx", "0/0", Some("usr/lib64")),
        ("root/".into(), "drwx------", "0/0", None),
        ("tmp/".into(), "drwxrwxrwt", "0/0", None),
        ("usr/".into(), "drwxr-xr-x", "0/0", None),
        ("usr/bin/".into(), "drwxr-xr-x", "0/0", None),
        ("usr/bin/app".into(), "-rwxr-xr-x", "0/0", None),
        ("usr/bin/suid".into(), "-rwsr-xr-x", "0/0", None),
        ("usr/bin/tool".into(), "-rwxr-xr-x", "0/0", None),
        ("usr/lib/".into(), "drwxr-xr-x", "0/0", None),
        (
            "usr/lib/x86_64-linux-gnu/".into(),
            "drwxr-xr-x",
            "0/0",
            None,
        ),
        (
            "usr/lib/x86_64-linux-gnu/libc.so.6".into(),
            "-rw-r--r--",
            "0/0",
            None,
        ),
        (
            "usr/lib/x86_64-linux-gnu/libfoo.so.1".into(),
            "lrwxrwxrwx",
            "0/0",
            Some("libfoo.so.1.2.3"),
        ),
        (
            "usr/lib/x86_64-linux-gnu/libfoo.so.1.2.3".into(),
            "-rw-r--r--",
            "0/0",
            None,
        ),
        ("usr/lib64/".into(), "drwxr-xr-x", "0/0", None),
        (
            "usr/lib64/ld-linux-x86-64.so.2".into(),
            "-rwxr-xr-x",
            "0/0",
            None,
        ),
        ("usr/share/".into(), "drwxr-xr-x", "0/0", None),
        ("usr/share/app/".into(), "drwxr-xr-x", "0/0", None),
        (
            "usr/share/app/abs".into(),
            "lrwxrwxrwx",
            "0/0",
            Some("/usr/share/other/x.conf"),
        ),
        ("usr/share/app/big.dat".into(), "-rw-r--r--", "0/0", None),
        (
            "usr/share/app/current".into(),
            "lrwxrwxrwx",
            "0/0",
            Some("data"),
        ),
        // The root's owners and modes, numeric.
        (
            "usr/share/app/data/".into(),
            "drwxr-x---",
            "1000/1000",
            None,
        ),
        (
            "usr/share/app/data/a.txt".into(),
            "-rw-r--r--",
            "1000/1001",
            None,
        ),
        ("usr/share/app/data/b.txt".into(), "-rw-r-----", "0/0", None),
        ("usr/share/app/data/h1".into(), "-rw-r--r--", "0/0", None),
        // One inode: the second name is a hard link to the first, inside the layer.
        (
            "usr/share/app/data/h2".into(),
            "hrw-r--r--",
            "0/0",
            Some("usr/share/app/data/h1"),
        ),
        // Its twin is outside the layer: a plain file.
        ("usr/share/app/data/h3".into(), "-rw-r--r--", "0/0", None),
    ];
    let long = long_dir();
    let segs: Vec<&str> = long
        .trim_start_matches("/usr/share/app/")
        .split('/')
        .collect();
    for i in 1..=segs.len() {
        want.push((
            format!("usr/share/app/{}/", segs[..i].join("/")),
            "drwxr-xr-x",
            "0/0",
            None,
        ));
    }
    want.push((
        format!("{}/deep.txt", long.trim_start_matches('/')),
        "-rw-r--r--",
        "0/0",
        None,
    ));
    want.push(("usr/share/other/".into(), "drwxr-xr-x", "0/0", None));
    want.push(("usr/share/other/x.conf".into(), "-rw-------", "0/0", None));
    let got: Vec<(String, &str, &str, Option<&str>)> = list
        .iter()
        .map(|l| {
            (
                l.name.clone(),
                l.mode.as_str(),
                l.owner.as_str(),
                l.link.as_deref(),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert!(long.len() > 255, "the long path needs PAX");
}

/// The raw headers of a tar: (typeflag, name as in the ustar fields, uname, gname).
fn raw_headers(tar_bytes: &[u8]) -> Vec<(u8, String, String, String)> {
    let mut v = Vec::new();
    let mut off = 0;
    let cstr = |b: &[u8]| {
        String::from_utf8_lossy(&b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())])
            .into_owned()
    };
    while off + 512 <= tar_bytes.len() {
        let h = &tar_bytes[off..off + 512];
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let size = u64::from_str_radix(cstr(&h[124..136]).trim(), 8).unwrap_or(0) as usize;
        let prefix = cstr(&h[345..500]);
        let name = cstr(&h[0..100]);
        let full = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        v.push((h[156], full, cstr(&h[265..297]), cstr(&h[297..329])));
        off += 512 + size.div_ceil(512) * 512;
    }
    v
}

/// Whether a name fits the ustar name (100) and prefix (155) fields, split at a '/'.
fn fits_ustar(name: &str) -> bool {
    name.len() <= 100
        || name
            .char_indices()
            .any(|(i, c)| c == '/' && i <= 155 && name.len() - i - 1 <= 100 && i + 1 < name.len())
}

/// The keys of the PAX records of entry `name`, in the order they are stored.
fn pax_keys(tar_bytes: &[u8], name: &str) -> Vec<String> {
    let mut ar = tar::Archive::new(tar_bytes);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_string_lossy() == name {
            return match e.pax_extensions().unwrap() {
                Some(x) => x.map(|r| r.unwrap().key().unwrap().to_string()).collect(),
                None => vec![],
            };
        }
    }
    panic!("{name} not in the layer")
}

/// Number of PAX extended headers.
fn pax_count(heads: &[(u8, String, String, String)]) -> usize {
    heads.iter().filter(|h| h.0 == b'x').count()
}

/// Number of entries whose real name (as a PAX reader sees it) does not fit ustar.
fn long_names(tar_bytes: &[u8]) -> usize {
    tar::Archive::new(tar_bytes)
        .entries()
        .unwrap()
        .filter(|e| {
            let e = e.as_ref().unwrap();
            let mut n = e.path().unwrap().to_string_lossy().into_owned();
            if e.header().entry_type().is_dir() && !n.ends_with('/') {
                n.push('/');
            }
            !fits_ustar(&n)
        })
        .count()
}

#[test]
fn long_path_uses_pax_and_no_names_are_stored() {
    let r = std_root();
    let d = tmpdir();
    let out = pack_std(r.path(), d.path(), "layer.tar", &[]);
    let bytes = std::fs::read(&out).unwrap();
    let heads = raw_headers(&bytes);
    // No user or group names: owners are numeric only.
    for (t, n, u, g) in &heads {
        assert!(
            u.is_empty() && g.is_empty(),
            "{n} ({}) has {u}:{g}",
            *t as char
        );
    }
    // PAX ('x') headers only where ustar cannot hold the name: here the long paths.
    let pax = pax_count(&heads);
    let long_names = long_names(&bytes);
    assert!(long_names >= 3, "the deep file and its two deepest parents");
    assert_eq!(pax, long_names);
    // A reader that knows PAX gets the whole name back.
    let deep = format!("{}/deep.txt", long_dir().trim_start_matches('/'));
    let mut ar = tar::Archive::new(&bytes[..]);
    let mut found = false;
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_string_lossy() == deep {
            let keys: Vec<String> = e
                .pax_extensions()
                .unwrap()
                .expect("a PAX header")
                .map(|x| x.unwrap().key().unwrap().to_string())
                .collect();
            assert_eq!(keys, ["path"]);
            let mut s = String::new();
            e.read_to_string(&mut s).unwrap();
            assert_eq!(s, "deep\n");
            found = true;
        }
    }
    assert!(found, "{deep} not in the layer");
}

/// Extracts a layer with GNU tar (as root: modes, owners and xattrs kept).
fn extract(layer: &Path, into: &Path) {
    let out = Command::new("tar")
        .args(["--xattrs", "--xattrs-include=*", "-xpf"])
        .arg(layer)
        .arg("-C")
        .arg(into)
        .output()
        .expect("run GNU tar");
    assert!(
        out.status.success(),
        "tar -x: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn getcap(p: &Path) -> String {
    let out = Command::new("getcap").arg(p).output().expect("getcap");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn file_capability_and_setuid_kept_and_setuid_stripped() {
    if !common::require(
        "setcap and getcap (libcap2-bin)",
        common::have("setcap") && common::have("getcap"),
    ) || !common::require("GNU tar", common::have("tar"))
        || !common::require("root (setcap)", is_root())
    {
        return;
    }
    let r = std_root();
    let st = Command::new("setcap")
        .arg("cap_net_bind_service=+ep")
        .arg(r.host("/usr/bin/tool"))
        .status()
        .unwrap();
    assert!(st.success(), "setcap");
    assert!(getcap(&r.host("/usr/bin/tool")).contains("cap_net_bind_service"));
    // A long name and a capability on one file: one PAX header, records sorted by key.
    let deep = format!("{}/deep.txt", long_dir());
    let st = Command::new("setcap")
        .arg("cap_net_raw=+ep")
        .arg(r.host(&deep))
        .status()
        .unwrap();
    assert!(st.success(), "setcap");
    let d = tmpdir();
    for (name, extra, setuid) in [
        ("kept.tar", &[][..], true),
        ("stripped.tar", &["--strip-setuid"][..], false),
    ] {
        let out = pack_std(r.path(), d.path(), name, extra);
        let x = tmpdir();
        extract(&out, x.path());
        let tool = x.path().join("usr/bin/tool");
        assert!(
            getcap(&tool).contains("cap_net_bind_service=ep"),
            "{name}: getcap {}",
            getcap(&tool)
        );
        let mode = std::fs::metadata(x.path().join("usr/bin/suid"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777;
        assert_eq!(mode, if setuid { 0o4755 } else { 0o755 }, "{name}");
        // Only the capability is kept as an xattr.
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(
            pax_keys(&bytes, deep.trim_start_matches('/')),
            ["SCHILY.xattr.security.capability", "path"]
        );
        assert!(getcap(&x.path().join(deep.trim_start_matches('/'))).contains("cap_net_raw=ep"));
        assert_eq!(
            pax_count(&raw_headers(&bytes)),
            long_names(&bytes) + 1,
            "{name}: PAX for the long paths and the capability"
        );
    }
    // The capability changes the layer.
    let plain = std_root();
    let a = digests(plain.path(), |_| {});
    let b = digests(r.path(), |_| {});
    assert_ne!(a.0, b.0);
}

#[test]
fn hardlinks_only_inside_the_layer() {
    if !common::require("GNU tar", common::have("tar")) {
        return;
    }
    let r = std_root();
    let d = tmpdir();
    let out = pack_std(r.path(), d.path(), "layer.tar", &[]);
    let x = tmpdir();
    extract(&out, x.path());
    let m = |p: &str| std::fs::metadata(x.path().join(p)).unwrap();
    let (h1, h2, h3) = (
        m("usr/share/app/data/h1"),
        m("usr/share/app/data/h2"),
        m("usr/share/app/data/h3"),
    );
    assert_eq!(h1.ino(), h2.ino(), "h1 and h2 are one inode again");
    assert_eq!(h1.nlink(), 2);
    assert_eq!(h3.nlink(), 1, "h3's twin is not in the layer");
    assert_eq!(
        std::fs::read(x.path().join("usr/share/app/data/h3")).unwrap(),
        b"twin outside\n"
    );
    assert!(!x.path().join("usr/share/outside").exists());
    // Only h2 is stored as a link ('1'), to a name inside the layer.
    let bytes = std::fs::read(&out).unwrap();
    let links: Vec<(String, u8)> = raw_headers(&bytes)
        .into_iter()
        .filter(|h| h.0 == b'1')
        .map(|h| (h.1, h.0))
        .collect();
    assert_eq!(links, [("usr/share/app/data/h2".to_string(), b'1')]);
}

// ---------------------------------------------------------------------------------------
// Exit status and the output file.

/// The usual root plus a program whose library is missing.
fn broken_root() -> FakeRoot {
    let r = std_root();
    r.write("/usr/bin/broken", &exe().needs("libmissing.so.3").build());
    r
}

#[test]
fn missing_library_exits_1_names_it_and_writes_nothing() {
    let r = broken_root();
    let d = tmpdir();
    for ext in ["tar", "tar.gz", "tar.zst"] {
        let out = d.path().join(format!("layer.{ext}"));
        let p = Run::new(r.path(), &out).arg("/usr/bin/broken").go();
        assert_eq!(p.code, 1, "{}", p.stderr);
        assert!(
            p.stderr.contains("libmissing.so.3") && p.stderr.contains("needed by /usr/bin/broken"),
            "the message names the library and what needs it: {}",
            p.stderr
        );
        assert!(p.stderr.contains("--allow-missing"), "{}", p.stderr);
        assert!(p.stdout.is_empty(), "{}", p.stdout);
    }
    assert!(
        dir_names(d.path()).is_empty(),
        "no output and no temporary file: {:?}",
        dir_names(d.path())
    );
}

/// A refused pack leaves the file it would have replaced as it was, although the run
/// dropped that file's cached pages at its start (pack::forget_cached_output): its bytes
/// are read back here from the disk, not from the cache.
#[test]
fn a_refused_pack_leaves_the_old_output_as_it_was() {
    let r = broken_root();
    let d = tmpdir();
    let out = d.path().join("layer.tar");
    let old: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&out, &old).unwrap();
    let p = Run::new(r.path(), &out).arg("/usr/bin/broken").go();
    assert_eq!(p.code, 1, "{}", p.stderr);
    assert!(
        std::fs::read(&out).unwrap() == old,
        "the old output changed"
    );
    assert_eq!(dir_names(d.path()), ["layer.tar".to_string()].into());
}

#[test]
fn allow_missing_writes_the_layer() {
    let r = broken_root();
    let d = tmpdir();
    let out = d.path().join("layer.tar.gz");
    let p = Run::new(r.path(), &out)
        .arg("--allow-missing")
        .arg("/usr/bin/broken")
        .go();
    // Still incomplete (1), but written.
    assert_eq!(p.code, 1, "{}", p.stderr);
    assert!(p.stderr.contains("libmissing.so.3"), "{}", p.stderr);
    assert_eq!(dir_names(d.path()), ["layer.tar.gz".to_string()].into());
    let names: Vec<String> = tar::Archive::new(&untar_bytes(&out)[..])
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"usr/bin/broken".to_string()), "{names:?}");
    assert!(names.contains(&"usr/lib/x86_64-linux-gnu/libc.so.6".to_string()));
}

#[test]
fn failing_write_exits_2_and_leaves_nothing() {
    let r = std_root();
    let d = tmpdir();
    // The output directory does not exist.
    let out = d.path().join("no/such/dir/layer.tar.gz");
    let p = Run::std(r.path(), &out).go();
    assert_eq!(p.code, 2, "{}", p.stderr);
    assert!(p.stderr.contains("no/such/dir"), "{}", p.stderr);
    assert!(dir_names(d.path()).is_empty());
    // The output is an existing directory: the rename fails at the very end.
    std::fs::create_dir(d.path().join("taken.tar")).unwrap();
    std::fs::write(d.path().join("taken.tar/keep"), b"k").unwrap();
    let p = Run::std(r.path(), &d.path().join("taken.tar")).go();
    assert_eq!(p.code, 2, "{}", p.stderr);
    assert!(p.stderr.contains("taken.tar"), "{}", p.stderr);
    assert_eq!(dir_names(d.path()), ["taken.tar".to_string()].into());
    assert_eq!(
        dir_names(&d.path().join("taken.tar")),
        ["keep".to_string()].into()
    );
}

#[test]
fn existing_output_is_replaced_whole() {
    let r = std_root();
    let d = tmpdir();
    let out = d.path().join("layer.tar");
    std::fs::write(&out, vec![b'x'; 50_000_000]).unwrap();
    let p = Run::std(r.path(), &out).go();
    p.ok();
    assert_eq!(p.diff_id(), sha256(&std::fs::read(&out).unwrap()));
    assert_eq!(dir_names(d.path()), ["layer.tar".to_string()].into());
}

/// Entry names and contents of a plain layer.
fn layer_files(out: &Path) -> BTreeMap<String, Vec<u8>> {
    let bytes = untar_bytes(out);
    let mut ar = tar::Archive::new(&bytes[..]);
    let mut m = BTreeMap::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut v = Vec::new();
        e.read_to_end(&mut v).unwrap();
        m.insert(name, v);
    }
    m
}

const BASE: &[&str] = &[
    "etc/passwd",
    "etc/group",
    "etc/nsswitch.conf",
    "etc/os-release",
    "etc/ssl/certs/ca-certificates.crt",
    "etc/ld.so.cache",
    "tmp/",
    "root/",
    "home/nonroot/",
];

#[test]
fn base_files_by_default_and_absent_with_no_base() {
    let r = std_root();
    let d = tmpdir();
    let with = layer_files(&pack_std(r.path(), d.path(), "with.tar", &[]));
    for b in BASE {
        assert!(with.contains_key(*b), "{b} in {:?}", with.keys());
    }
    let passwd = String::from_utf8(with["etc/passwd"].clone()).unwrap();
    for user in [
        "root:x:0:0:",
        "nobody:x:65534:65534:",
        "nonroot:x:65532:65532:",
    ] {
        assert!(passwd.contains(user), "{passwd}");
    }
    assert!(String::from_utf8_lossy(&with["etc/group"]).contains("nonroot:x:65532:"));
    // The root's CA bundle, as it is.
    assert_eq!(
        with["etc/ssl/certs/ca-certificates.crt"],
        std::fs::read(r.host("/etc/ssl/certs/ca-certificates.crt")).unwrap()
    );
    let without = layer_files(&pack_std(r.path(), d.path(), "without.tar", &["--no-base"]));
    for b in BASE {
        assert!(!without.contains_key(*b), "{b} with --no-base");
    }
    assert!(
        !without.keys().any(|k| k.starts_with("etc/")),
        "{:?}",
        without.keys()
    );
    assert!(without.contains_key("usr/bin/app"));
}

#[test]
fn file_included_from_the_root_wins_over_the_generated_one() {
    let r = std_root();
    r.write("/etc/os-release", b"ID=fromroot\n");
    let d = tmpdir();
    let files = layer_files(&pack_std(
        r.path(),
        d.path(),
        "layer.tar",
        &["--include", "/etc/passwd"],
    ));
    assert_eq!(
        files["etc/passwd"],
        std::fs::read(r.host("/etc/passwd")).unwrap(),
        "the root's /etc/passwd, not the generated one"
    );
    // The root's os-release is used as the base file when it has one.
    assert_eq!(files["etc/os-release"], b"ID=fromroot\n");
    // The generated group file is still there.
    assert!(String::from_utf8_lossy(&files["etc/group"]).contains("nonroot"));
}

#[test]
fn output_to_a_fifo_or_device_is_written_in_place() {
    if !common::require("mkfifo", common::have("mkfifo")) {
        return;
    }
    let r = std_root();
    let d = tmpdir();
    let reference = digests(r.path(), |_| {});
    // A FIFO: the layer streams through it; the node stays a FIFO.
    let fifo = d.path().join("pipe.tar.gz");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // The reader is a child process, so a writer that never opens the FIFO fails the
    // test instead of hanging it.
    let mut reader = Command::new("cat")
        .arg(&fifo)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("cat");
    let mut stdout = reader.stdout.take().unwrap();
    let collect = std::thread::spawn(move || {
        let mut v = Vec::new();
        stdout.read_to_end(&mut v).unwrap();
        v
    });
    let p = Run::std(r.path(), &fifo).go();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while reader.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            reader.kill().unwrap();
            reader.wait().unwrap();
            panic!("minroot never wrote to the FIFO: {}", p.stderr);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    p.ok();
    let streamed = collect.join().unwrap();
    assert_eq!(sha256(&streamed), reference.1, "the gzip blob, streamed");
    assert_eq!(p.blob(), reference.1);
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert_eq!(dir_names(d.path()), ["pipe.tar.gz".to_string()].into());
    // A character device (a private copy of /dev/null, made as root): still a device.
    let dev = d.path().join("null");
    let made = Command::new("mknod")
        .arg(&dev)
        .args(["c", "1", "3"])
        .status()
        .is_ok_and(|s| s.success());
    if common::require("mknod (root)", made) {
        let p = Run::std(r.path(), &dev).go();
        p.ok();
        assert_eq!(p.diff_id(), reference.0);
        assert!(
            std::fs::symlink_metadata(&dev)
                .unwrap()
                .file_type()
                .is_char_device()
        );
    }
}

#[test]
fn output_through_a_symlink_replaces_the_file_it_names() {
    let r = std_root();
    let d = tmpdir();
    std::fs::write(d.path().join("real.tar"), b"old").unwrap();
    std::os::unix::fs::symlink("real.tar", d.path().join("link.tar")).unwrap();
    let p = Run::std(r.path(), &d.path().join("link.tar")).go();
    p.ok();
    assert!(
        std::fs::symlink_metadata(d.path().join("link.tar"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        sha256(&std::fs::read(d.path().join("real.tar")).unwrap()),
        p.diff_id()
    );
    assert_eq!(
        dir_names(d.path()),
        ["link.tar".to_string(), "real.tar".to_string()].into()
    );
}

#[test]
fn bin_order_does_not_change_what_dlopen_resolves() {
    // /usr/bin/a has RUNPATH /opt/a, /usr/bin/b has none; libx.so.1 is in both places.
    // Whichever program dlopens it, the layer must not depend on the order they are typed.
    let r = FakeRoot::new();
    r.write(X86.loader_path(), &lib(X86.loader_soname()).build());
    r.write(
        &format!("{TRIPLET_DIR}/libc.so.6"),
        &lib("libc.so.6").build(),
    );
    r.write("/usr/bin/a", &exe().runpath("/opt/a").build());
    r.write("/usr/bin/b", &exe().build());
    r.write("/opt/a/libx.so.1", &lib("libx.so.1").build());
    r.write(
        &format!("{TRIPLET_DIR}/libx.so.1"),
        &lib("libx.so.1").build(),
    );
    let d = tmpdir();
    let mut ids = Vec::new();
    for (i, bins) in [["/usr/bin/a", "/usr/bin/b"], ["/usr/bin/b", "/usr/bin/a"]]
        .iter()
        .enumerate()
    {
        let out = d.path().join(format!("{i}.tar"));
        let mut run = Run::new(r.path(), &out);
        run.arg("--json").arg("--dlopen").arg("libx.so.1");
        for b in bins {
            run.arg(b);
        }
        ids.push(run.go().ok().diff_id());
    }
    assert_eq!(ids[0], ids[1]);
}
