//! Golden digests: the exact bytes minroot writes for one fixed input, pinned as sha256
//! literals, so that a change of output bytes (a dependency bump of tar, flate2, zstd or
//! serde_json, a new field, another entry order, and also minroot's own version, which the
//! SBOMs name as their creator) is noticed instead of silently accepted.
//!
//! The input is a small usrmerged root built here, by code, from fixed bytes: ELF files
//! written by `minroot::elf::synth` (no compiler, no host file), a dpkg database naming
//! their packages (with md5sums), a DEP-5 copyright file, an os-release and a data file; every mode is
//! set explicitly and every owner is replaced (`--chown 0:0`), so neither the umask nor the
//! user running the tests nor the temporary directory's name reaches the output. The
//! root's own digest ([`INPUT`]: paths, types, modes, link targets and contents) is pinned
//! too, so a change of the input is told apart from a change of minroot's output.
//!
//! Pinned: the layer as `.tar`, `.tar.gz` and `.tar.zst`; the OCI layout's `index.json`
//! (which names the manifest by digest, hence the config and the layer blob too); the
//! SBOMs, SPDX 2.3 and CycloneDX 1.5. Each is built with RAYON_NUM_THREADS=1 and =4, and
//! twice with 4 (each time in a new root directory), and all must be equal.
//!
//! When a digest changes: first find out why the bytes changed (compare the new output
//! with the old one: `scripts/same-bytes.sh OLD_MINROOT NEW_MINROOT`, or unpack both and
//! diff them), and say so in the commit message ("tar 0.4.47 writes ... ", "the SBOM now
//! lists ..."). Only when the change is intended, replace the literal with the digest the
//! failure message prints (it prints every digest, ready to paste). A failure of the
//! thread or rerun comparison is never fixed by updating a literal: the output is not
//! reproducible, and that is the bug. If [`INPUT`] fails, the root built here changed
//! (the test's code or `minroot::elf::synth`): update it, and then the outputs, in the
//! same commit, saying why.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::FakeRoot;
use minroot::arch::Arch;
use minroot::elf::synth::Synth;
use sha2::{Digest, Sha256};

/// The root built by [`golden_root`]: see [`listing`].
const INPUT: &str = "6a7ad62b14ac283157bddf006b496d9b08d2cbaeffd16a3accaf2f92423ea35e";
const LAYER_TAR: &str = "b9478144e4ffbbf8491d41bb892cae9ac1f49eed4aaac48cb3a6490faf068087";
const LAYER_TAR_GZ: &str = "df0bce52e83516fc3d482b90931a125a025fb43b84113722a1fd8020d7fee65c";
const LAYER_TAR_ZST: &str = "e2d46d4a62f85570e842b488d6a5b53acf5d5a2449d105ef9ab49f67b04d541a";
const OCI_INDEX: &str = "7d5221fa12e2530ebe5a54f0292310b129861b2b268a5f0a88d1b08f595b02ce";
const SPDX: &str = "e870361a2c5e8ad8c6a50bad642608c5199e6f1b39252f392543ee9d6cc77542";
const CYCLONEDX: &str = "a1a9abc3ae997df3b72c669492752d2131e8b9750fe4f6ea33d276b77351af31";

/// Every entry's mtime (2023-11-14T22:13:20Z).
const EPOCH: &str = "1700000000";

const X86: Arch = Arch::X86_64;

const STATUS: &str = "Package: libc6\nStatus: install ok installed\nPriority: required\n\
Architecture: amd64\nMulti-Arch: same\nVersion: 2.36-9+deb12u4\nSource: glibc\n\
Description: GNU C Library: Shared libraries\n\n\
Package: libgreet1\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0.0-2\n\
Source: greet\nDepends: libc6 (>= 2.34)\nDescription: greeting library\n\n\
Package: hello\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.1-1+b1\n\
Depends: libc6 (>= 2.34), libgreet1\nDescription: says hello\n";

const LISTS: &[(&str, &str)] = &[
    (
        "libc6:amd64",
        "/.\n/usr\n/usr/lib\n/usr/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu/libc.so.6\n\
         /usr/lib64\n/usr/lib64/ld-linux-x86-64.so.2\n",
    ),
    (
        "libgreet1:amd64",
        "/.\n/usr\n/usr/lib\n/usr/lib/x86_64-linux-gnu\n\
         /usr/lib/x86_64-linux-gnu/libgreet.so.1\n/usr/lib/x86_64-linux-gnu/libgreet.so.1.0.0\n",
    ),
    (
        "hello",
        "/.\n/usr\n/usr/bin\n/usr/bin/hello\n/usr/share/hello\n/usr/share/hello/greeting.txt\n\
         /usr/share/hello/words.txt\n\
         /usr/share/doc/hello\n/usr/share/doc/hello/copyright\n",
    ),
];

const HELLO_COPYRIGHT: &str = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
Upstream-Name: hello\n\nFiles: *\nCopyright: 2023 Someone\nLicense: Expat\n";

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 10 MiB of text from a fixed xorshift sequence: a layer of more than one gzip chunk
/// (`pack::gz::CHUNK`, 1 MiB) and more than one zstd job (8 MiB at level 3), so that the
/// thread counts compared below really compress in parallel.
fn words() -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(10 << 20);
    let mut i = 0u64;
    while out.len() < 10 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Half of the bits: compressible, but not trivially.
        out.extend_from_slice(format!("{i:08} {:08x}\n", x >> 32).as_bytes());
        i += 1;
    }
    out.truncate(10 << 20);
    out
}

/// md5 of `bytes` (dpkg's md5sums), through the host's md5sum: no md5 crate for tests.
fn md5_hex(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut c = std::process::Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("md5sum");
    c.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = c.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)[..32].to_string()
}

/// The fixed root, in a new temporary directory.
fn golden_root() -> FakeRoot {
    let r = FakeRoot::new();
    let m = X86.elf_machine();
    let file = |p: &str, bytes: &[u8], mode: u32| {
        r.write(p, bytes);
        std::fs::set_permissions(r.host(p), std::fs::Permissions::from_mode(mode)).unwrap();
    };
    r.symlink("/lib", "usr/lib")
        .symlink("/lib64", "usr/lib64")
        .symlink("/bin", "usr/bin");
    file(
        "/usr/lib64/ld-linux-x86-64.so.2",
        &Synth::lib(m, X86.loader_soname()).build(),
        0o755,
    );
    file(
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        &Synth::lib(m, "libc.so.6").build(),
        0o644,
    );
    file(
        "/usr/lib/x86_64-linux-gnu/libgreet.so.1.0.0",
        &Synth::lib(m, "libgreet.so.1").needs("libc.so.6").build(),
        0o644,
    );
    r.symlink(
        "/usr/lib/x86_64-linux-gnu/libgreet.so.1",
        "libgreet.so.1.0.0",
    );
    let hello = Synth::exe(m, X86.loader_path())
        .needs("libgreet.so.1")
        .needs("libc.so.6")
        .build();
    file("/usr/bin/hello", &hello, 0o755);
    file("/usr/share/hello/greeting.txt", b"hello, world\n", 0o644);
    file("/usr/share/hello/words.txt", &words(), 0o644);
    file(
        "/usr/share/doc/hello/copyright",
        HELLO_COPYRIGHT.as_bytes(),
        0o644,
    );
    file(
        "/usr/lib/os-release",
        b"PRETTY_NAME=\"Golden 12\"\nNAME=\"Golden\"\nID=debian\nVERSION_ID=\"12\"\n",
        0o644,
    );
    r.symlink("/etc/os-release", "../usr/lib/os-release");
    file("/var/lib/dpkg/status", STATUS.as_bytes(), 0o644);
    for (name, list) in LISTS {
        file(
            &format!("/var/lib/dpkg/info/{name}.list"),
            list.as_bytes(),
            0o644,
        );
    }
    let sums: String = [
        "usr/bin/hello",
        "usr/share/hello/greeting.txt",
        "usr/share/hello/words.txt",
    ]
    .iter()
    .map(|p| format!("{}  {p}\n", md5_hex(&std::fs::read(r.host(p)).unwrap())))
    .collect();
    file("/var/lib/dpkg/info/hello.md5sums", sums.as_bytes(), 0o644);
    // Directories: whatever the umask made them.
    for e in walkdir::WalkDir::new(r.path()) {
        let e = e.unwrap();
        if e.file_type().is_dir() {
            std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    r
}

/// The root as its digest sees it: one line per entry below `root`, in path order, with
/// its type, mode and content digest (or link target).
fn listing(root: &Path) -> String {
    let mut out = String::new();
    for e in walkdir::WalkDir::new(root).sort_by_file_name() {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(root).unwrap().to_string_lossy();
        let md = e.path().symlink_metadata().unwrap();
        let mode = md.permissions().mode() & 0o7777;
        let what = if md.file_type().is_symlink() {
            format!("l -> {}", std::fs::read_link(e.path()).unwrap().display())
        } else if md.is_dir() {
            format!("d {mode:o}")
        } else {
            format!("f {mode:o} {}", hex(&std::fs::read(e.path()).unwrap()))
        };
        out.push_str(&format!("/{rel} {what}\n"));
    }
    out
}

/// The digests of one build.
#[derive(Debug, PartialEq, Eq)]
struct Digests {
    input: String,
    layer_tar: String,
    layer_tar_gz: String,
    layer_tar_zst: String,
    oci_index: String,
    spdx: String,
    cyclonedx: String,
}

impl Digests {
    /// The literals, as Rust source (what a failure prints).
    fn as_source(&self) -> String {
        [
            ("INPUT", &self.input),
            ("LAYER_TAR", &self.layer_tar),
            ("LAYER_TAR_GZ", &self.layer_tar_gz),
            ("LAYER_TAR_ZST", &self.layer_tar_zst),
            ("OCI_INDEX", &self.oci_index),
            ("SPDX", &self.spdx),
            ("CYCLONEDX", &self.cyclonedx),
        ]
        .iter()
        .map(|(k, v)| format!("const {k}: &str = \"{v}\";\n"))
        .collect()
    }
}

/// Runs `minroot pack` on `root` with `args`, RAYON_NUM_THREADS=`threads` and no
/// SOURCE_DATE_EPOCH in the environment; it must succeed.
fn pack(root: &Path, threads: usize, args: &[&str]) {
    let o = common::minroot()
        .arg("pack")
        .arg("--root")
        .arg(root)
        .args(["--source-date-epoch", EPOCH, "--cpu-level", "baseline"])
        .args(["--chown", "0:0", "--include", "/usr/share/hello"])
        .args(args)
        .arg("/usr/bin/hello")
        .env("RAYON_NUM_THREADS", threads.to_string())
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "minroot pack {args:?} exited {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Builds the root in a new directory and writes every pinned output from it.
fn build(threads: usize) -> Digests {
    let root = golden_root();
    let out = tempfile::tempdir().unwrap();
    let o = |name: &str| out.path().join(name).to_str().unwrap().to_string();
    let read = |name: &str| hex(&std::fs::read(out.path().join(name)).unwrap());
    pack(
        root.path(),
        threads,
        &[
            "-o",
            &o("layer.tar"),
            "--oci",
            &o("oci"),
            "--tag",
            "golden/hello:1",
            "--sbom",
            &o("layer.spdx.json"),
            "--sbom",
            &o("layer.cdx.json"),
        ],
    );
    pack(root.path(), threads, &["-o", &o("layer.tar.gz")]);
    pack(root.path(), threads, &["-o", &o("layer.tar.zst")]);
    Digests {
        input: hex(listing(root.path()).as_bytes()),
        layer_tar: read("layer.tar"),
        layer_tar_gz: read("layer.tar.gz"),
        layer_tar_zst: read("layer.tar.zst"),
        oci_index: read("oci/index.json"),
        spdx: read("layer.spdx.json"),
        cyclonedx: read("layer.cdx.json"),
    }
}

fn pinned() -> Digests {
    Digests {
        input: INPUT.into(),
        layer_tar: LAYER_TAR.into(),
        layer_tar_gz: LAYER_TAR_GZ.into(),
        layer_tar_zst: LAYER_TAR_ZST.into(),
        oci_index: OCI_INDEX.into(),
        spdx: SPDX.into(),
        cyclonedx: CYCLONEDX.into(),
    }
}

/// The outputs of the fixed root are the pinned bytes, with one thread and with four.
#[test]
fn golden_layer_oci_index_and_sbom_digests_are_pinned() {
    for threads in [1, 4] {
        let got = build(threads);
        assert_eq!(
            got.input,
            INPUT,
            "the input root changed (the test's code or minroot::elf::synth); see the \
             module doc. Its listing:\n{}",
            listing(golden_root().path())
        );
        assert_eq!(
            got,
            pinned(),
            "RAYON_NUM_THREADS={threads}: minroot's output bytes changed; find out why (see \
             the module doc) before pasting the new digests:\n{}",
            got.as_source()
        );
    }
}

/// Whatever the literals say: the same bytes with 1 and 4 threads, and twice with 4, each
/// time from a root in another directory.
#[test]
fn golden_outputs_are_the_same_across_threads_and_runs() {
    let one = build(1);
    let four = build(4);
    let again = build(4);
    assert_eq!(one, four, "RAYON_NUM_THREADS=1 against 4");
    assert_eq!(four, again, "two runs with RAYON_NUM_THREADS=4");
}
