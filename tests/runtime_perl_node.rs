//! End to end: Perl and Node.js run from a bare layer (`minroot pack --root R -o l.tar
//! BIN`, no `--include`), because their runtime profiles add what the interpreter loads by
//! itself: Perl's `@INC` with its XS modules, Node's externalized builtins. Each test also
//! proves the profile is what makes it work: the `--no-runtime` layer of the same program
//! fails the same way the issue reported (`Can't locate POSIX.pm`, `Cannot load
//! externalized builtin`), and the root made of that layer alone makes `pack` refuse
//! (`RuntimeNotFound`, exit 1, nothing written).
//!
//! x86_64 layers run in podman with nothing else in the image; the aarch64 one is unpacked
//! into an empty directory and run there under bwrap and qemu-user
//! (`common::run_in_root`). Versions and triplets come from the roots, never from here.
//! Every external resource goes through `common::require`.

mod common;
use common::amd64_root;
use common::have_podman;
use common::podman::podman;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use minroot::arch::Arch;
use sha2::{Digest, Sha256};

/// The Perl command of every Perl test: an XS module of perl-base (POSIX) and one of
/// libperl (Digest::SHA), each loaded from its `auto/` directory.
const PERL_ARGS: [&str; 4] = [
    "-MPOSIX",
    "-MDigest::SHA=sha256_hex",
    "-e",
    r#"print POSIX::floor(2.5), " ", sha256_hex("x"), "\n""#,
];

/// What it prints.
fn perl_expected() -> String {
    format!("2 {}\n", sha256_hex(b"x"))
}

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
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

fn tmpdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("minroot-rt-")
        .tempdir()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `minroot pack --root ROOT -o OUT ARGS...`.
fn pack_output(root: &Path, out: &Path, args: &[&str]) -> Output {
    common::minroot()
        .env_remove("SOURCE_DATE_EPOCH")
        .arg("pack")
        .arg("--root")
        .arg(root)
        .arg("-o")
        .arg(out)
        .args(args)
        .output()
        .expect("run minroot")
}

/// Packs, which must succeed; returns the layer's path.
fn pack(root: &Path, out: &Path, args: &[&str]) -> PathBuf {
    let t = Instant::now();
    let o = pack_output(root, out, args);
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

/// Unpacks a layer into a new directory (GNU tar, keeping modes and xattrs).
fn unpack(layer: &Path) -> tempfile::TempDir {
    let into = tmpdir();
    let o = Command::new("tar")
        .args(["--xattrs", "-xpf"])
        .arg(layer)
        .arg("-C")
        .arg(into.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "tar -x: {}", text(&o.stderr));
    into
}

/// The names in a layer.
fn layer_names(layer: &Path) -> Vec<String> {
    let o = Command::new("tar").arg("-tf").arg(layer).output().unwrap();
    assert!(o.status.success());
    text(&o.stdout).lines().map(str::to_string).collect()
}

/// One file of a layer.
fn layer_file(layer: &Path, name: &str) -> String {
    let o = Command::new("tar")
        .arg("-xOf")
        .arg(layer)
        .arg(name)
        .output()
        .unwrap();
    assert!(o.status.success(), "{name} in {}", layer.display());
    text(&o.stdout)
}

/// An image imported from one layer; removed on drop.
struct Image {
    name: String,
}

impl Image {
    fn import(layer: &Path, test: &str) -> Image {
        let name = format!("localhost/minroot-rt-{test}-{}", std::process::id());
        let o = podman()
            .arg("import")
            .arg(layer)
            .arg(&name)
            .output()
            .expect("podman import");
        assert!(o.status.success(), "podman import: {}", text(&o.stderr));
        Image { name }
    }

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
            child.stdin.take().unwrap().write_all(bytes).unwrap();
        }
        let out = child.wait_with_output().expect("podman run");
        eprintln!(
            "timing: podman run {:?}: {:.2}s",
            cmd[0],
            t.elapsed().as_secs_f64()
        );
        out
    }

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

    /// Runs `cmd`, which must fail; returns its stderr.
    fn run_fails(&self, cmd: &[&str]) -> String {
        let o = self.run(cmd, None);
        assert!(
            !o.status.success(),
            "{cmd:?} ran in {}: {}",
            self.name,
            text(&o.stdout)
        );
        text(&o.stderr)
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

/// Programs of the root's `/usr/bin` whose name matches, sorted.
fn programs(root: &Path, matches: impl Fn(&str) -> bool) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root.join("usr/bin"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| matches(n))
        .map(|n| format!("/usr/bin/{n}"))
        .collect();
    v.sort();
    v
}

/// Packing the program again from a root made of its `--no-runtime` layer alone (the
/// program and its libraries, none of its runtime's files): pack refuses, exit 1, writes
/// nothing, and says what it looked for.
fn refuses_without_runtime_files(bare: &Path, program: &str, says: &[&str]) {
    let root = unpack(bare);
    let d = tmpdir();
    let out = d.path().join("refused.tar");
    let o = pack_output(root.path(), &out, &[program]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!out.exists(), "pack wrote a layer: {err}");
    for s in says {
        assert!(err.contains(s), "{s:?} not in: {err}");
    }
}

// ---------------------------------------------------------------------------------------
// Perl
// ---------------------------------------------------------------------------------------

#[test]
fn perl_runs_posix_and_digest_sha_from_a_bare_layer() {
    let (true, Some(root)) = (have_podman(), amd64_root()) else {
        return;
    };
    let d = tmpdir();
    let layer = pack(&root, &d.path().join("perl.tar"), &["/usr/bin/perl"]);
    let image = Image::import(&layer, "perl");
    let mut cmd = vec!["/usr/bin/perl"];
    cmd.extend(PERL_ARGS);
    assert_eq!(image.run_ok(&cmd, None), perl_expected());

    // What the profile took, and left out, by the root's own names.
    let names = layer_names(&layer);
    assert!(
        names.iter().any(|n| n.ends_with("/auto/POSIX/POSIX.so"))
            && names.iter().any(|n| n.ends_with("/auto/Digest/SHA/SHA.so")),
        "XS modules"
    );
    assert!(
        names.iter().any(|n| n.ends_with("/pod/perldiag.pod")),
        "perldiag.pod, read by diagnostics"
    );
    assert!(
        !names
            .iter()
            .any(|n| n.contains("/CORE/") && n.ends_with(".h")),
        "ARCHLIB/CORE's C headers are build-time only"
    );
    assert!(
        !names.iter().any(|n| n.ends_with("/POSIX.pod")),
        "documentation"
    );

    // Without the profile: the issue's failure, and a root without @INC is refused.
    let bare = pack(
        &root,
        &d.path().join("bare.tar"),
        &["--no-runtime", "/usr/bin/perl"],
    );
    let image = Image::import(&bare, "perl-bare");
    let err = image.run_fails(&cmd);
    assert!(err.contains("Can't locate POSIX.pm in @INC"), "{err}");
    let version = perl_version(&root);
    refuses_without_runtime_files(
        &bare,
        "/usr/bin/perl",
        &[
            "/usr/bin/perl is Perl, but its files are not in the root",
            "Config.pm",
            &format!("perl-modules-{version}"),
        ],
    );
}

/// `5.36` of the root's `/usr/share/perl/5.36.0`.
fn perl_version(root: &Path) -> String {
    let mut v: Vec<String> = std::fs::read_dir(root.join("usr/share/perl"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.matches('.').count() == 2)
        .collect();
    v.sort();
    let full = v.pop().expect("a perl version in /usr/share/perl");
    full.rsplit_once('.').unwrap().0.to_string()
}

#[test]
fn perl_linked_to_libperl_runs_from_a_bare_layer() {
    let (true, Some(root)) = (have_podman(), amd64_root()) else {
        return;
    };
    // Debian's perl5.XX-<triplet>: recognised by libperl.so, not by its name.
    let linked = programs(&root, |n| {
        n.starts_with("perl5.") && n.ends_with("-linux-gnu")
    });
    let Some(program) = linked.first() else {
        panic!("no perl5.*-linux-gnu in the root");
    };
    let d = tmpdir();
    let layer = pack(&root, &d.path().join("perl.tar"), &[program]);
    let image = Image::import(&layer, "perl-libperl");
    let mut cmd = vec![program.as_str()];
    cmd.extend(PERL_ARGS);
    assert_eq!(image.run_ok(&cmd, None), perl_expected());
}

/// `minroot files --root ROOT PROGRAM`: (path, why) lines.
fn files(root: &Path, program: &str) -> Vec<(String, String)> {
    let o = common::minroot()
        .arg("files")
        .arg("--root")
        .arg(root)
        .arg(program)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    text(&o.stdout)
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(p, w)| (p.to_string(), w.to_string()))
        .collect()
}

/// The regular files `files` lists for `program` with the reason `runtime: NAME`.
fn runtime_files(root: &Path, program: &str, name: &str) -> Vec<String> {
    files(root, program)
        .into_iter()
        .filter(|(p, w)| {
            w.starts_with(&format!("runtime: {name} (")) && !p.ends_with('/') && !p.contains(" -> ")
        })
        .map(|(p, _)| p)
        .collect()
}

#[test]
fn perl_files_say_runtime_perl_found_by_config_pm() {
    let Some(root) = amd64_root() else { return };
    let listed = files(&root, "/usr/bin/perl");
    let line = listed
        .iter()
        .find(|(p, _)| p.ends_with("/auto/POSIX/POSIX.so"))
        .map(|(_, w)| w)
        .expect("POSIX.so listed");
    assert!(
        line.contains("runtime: Perl (/usr, found by /usr/lib/") && line.contains("/Config.pm)"),
        "{line}"
    );
}

#[test]
fn aarch64_perl_runs_posix_and_digest_sha_from_a_bare_layer() {
    let Some(root) = arm64_root() else { return };
    let d = tmpdir();
    let layer = pack(&root, &d.path().join("perl.tar"), &["/usr/bin/perl"]);
    let dir = unpack(&layer);
    assert!(
        !dir.path().join("bin/sh").exists() && !dir.path().join("usr/bin/sh").exists(),
        "a shell in the layer"
    );
    let t = Instant::now();
    let o = common::run_in_root(dir.path(), Arch::Aarch64, "/usr/bin/perl", &PERL_ARGS, &[]);
    eprintln!(
        "timing: qemu-aarch64 perl: {:.2}s",
        t.elapsed().as_secs_f64()
    );
    assert!(
        o.status.success(),
        "perl exited {:?}:\nstdout: {}\nstderr: {}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    assert_eq!(text(&o.stdout), perl_expected());
}

// ---------------------------------------------------------------------------------------
// Node.js
// ---------------------------------------------------------------------------------------

/// An ES module using crypto and fs (compiled into libnode), cjs-module-lexer (the named
/// exports of a CommonJS file `import()`ed from ESM) and undici (`Response`).
const NODE_MODULE: &str = r#"
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
writeFileSync('/tmp/m.cjs', 'exports.answer = 42;');
const m = await import('/tmp/m.cjs');
console.log(createHash('sha256').update('x').digest('hex'));
console.log(readFileSync('/etc/passwd', 'utf8').split('\n')[0]);
console.log(Object.keys(m).sort().join(','), m.answer);
console.log(await new Response('undici').text());
"#;

#[test]
fn node_runs_crypto_fs_and_externalized_builtins_from_a_bare_layer() {
    let (true, Some(root)) = (have_podman(), amd64_root()) else {
        return;
    };
    let d = tmpdir();
    let layer = pack(&root, &d.path().join("node.tar"), &["/usr/bin/node"]);
    let image = Image::import(&layer, "node");
    let passwd = layer_file(&layer, "etc/passwd");
    let out = image.run_ok(
        &["/usr/bin/node", "--input-type=module", "-e", NODE_MODULE],
        None,
    );
    assert_eq!(
        out,
        format!(
            "{}\n{}\nanswer,default 42\nundici\n",
            sha256_hex(b"x"),
            passwd.lines().next().unwrap()
        )
    );
    // The REPL's top-level await parses with acorn and walks with acorn-walk.
    let repl = image.run_ok(
        &["/usr/bin/node", "-i"],
        Some(b"await Promise.resolve(6 * 7)\n"),
    );
    assert!(repl.contains("> 42\n"), "{repl}");

    // Without the profile: libnode aborts at start, and a root without the builtins is
    // refused, naming the missing file.
    let bare = pack(
        &root,
        &d.path().join("bare.tar"),
        &["--no-runtime", "/usr/bin/node"],
    );
    let image = Image::import(&bare, "node-bare");
    let err = image.run_fails(&["/usr/bin/node", "-e", "1"]);
    assert!(err.contains("Cannot load externalized builtin"), "{err}");
    let builtins = runtime_files(&root, "/usr/bin/node", "Node.js");
    assert!(!builtins.is_empty());
    let mut says = vec!["/usr/bin/node is Node.js, but its files are not in the root"];
    says.extend(builtins.iter().map(String::as_str));
    refuses_without_runtime_files(&bare, "/usr/bin/node", &says);
}
