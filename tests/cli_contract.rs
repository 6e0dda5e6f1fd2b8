//! The command line's contract as a user meets it, end to end on the built binary:
//! outputs never land on inputs (issue 13 item 4), output names say what is written and
//! `-o -` is standard output (item 5), a closed pipe ends quietly (item 6), an option that
//! cannot act says so (item 7), and messages say each thing once, in words (item 10).
//!
//! Roots are made here from `elf::synth` files (a loader, a libc, programs), so every case
//! is spelled out next to its test; the host's `/` is used where the case is the host's
//! root (a program of the host packed onto itself). What a good pack holds is not checked
//! here (tests/pack.rs).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{FakeRoot, have, minroot, require};
use minroot::arch::EM_X86_64;
use minroot::elf::synth::Synth;

const LDSO: &str = "/lib64/ld-linux-x86-64.so.2";
const LIBDIR: &str = "/usr/lib/x86_64-linux-gnu";
const APP: &str = "/usr/bin/app";

/// A root whose `/usr/bin/app` packs complete: a loader, a libc and the program.
fn app_root() -> FakeRoot {
    let r = FakeRoot::new();
    r.write(LDSO, &Synth::lib(EM_X86_64, "ld-linux-x86-64.so.2").build());
    r.write(
        &format!("{LIBDIR}/libc.so.6"),
        &Synth::lib(EM_X86_64, "libc.so.6").build(),
    );
    r.write(APP, &Synth::exe(EM_X86_64, LDSO).needs("libc.so.6").build());
    r
}

/// What one run did.
struct Ran {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Ran {
    fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

fn ran(o: Output) -> Ran {
    Ran {
        code: o.status.code().unwrap_or(-1),
        stdout: o.stdout,
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Runs minroot with `args` in `cwd`.
fn run_in(cwd: &Path, args: &[&str]) -> Ran {
    ran(minroot()
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("run minroot"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The names in `dir`.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Asserts exit 2, a `minroot: error:` line naming every one of `words`, and no panic.
fn refused(r: &Ran, words: &[&str]) {
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.starts_with("minroot: error: "), "{}", r.stderr);
    for w in words {
        assert!(r.stderr.contains(w), "{w:?} not in: {}", r.stderr);
    }
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

// --- item 4: an output is never one of the inputs -------------------------------------

#[test]
fn output_onto_the_program_it_packs_is_refused() {
    let r = app_root();
    let d = tempfile::tempdir().unwrap();
    let before = std::fs::read(r.host(APP)).unwrap();
    // The issue's reproducer, and the same with a layer's name: the program stays.
    for out in [r.host(APP), r.host("/usr/bin/app.tar")] {
        let x = run_in(
            d.path(),
            &["pack", "--root", s(r.path()), "-o", s(&out), APP],
        );
        assert_eq!(x.code, 2, "{}", x.stderr);
        assert_eq!(std::fs::read(r.host(APP)).unwrap(), before);
    }
    assert!(!r.host("/usr/bin/app.tar").exists());
    // Inside the root through a symlink from outside; every kind of output.
    std::os::unix::fs::symlink(r.host("/usr/bin"), d.path().join("bin")).unwrap();
    let cases: [(&str, PathBuf); 5] = [
        ("-o", d.path().join("bin/new.tar")),
        ("--rootfs", r.host("/tree")),
        ("--oci", r.host("/usr/oci")),
        ("--oci-archive", r.host("/usr/img.tar")),
        ("--dockerfile", r.host("/df")),
    ];
    for (flag, out) in &cases {
        let x = run_in(
            d.path(),
            &["pack", "--root", s(r.path()), flag, s(out), APP],
        );
        refused(&x, &[flag, "inside the root"]);
        assert!(!out.exists(), "{flag} wrote {}", out.display());
    }
    let sbom = r.host("/x.spdx.json");
    let x = run_in(
        d.path(),
        &[
            "pack",
            "--root",
            s(r.path()),
            "-o",
            s(&d.path().join("ok.tar")),
            "--sbom",
            s(&sbom),
            APP,
        ],
    );
    refused(&x, &["--sbom", "inside the root"]);
    assert!(!sbom.exists() && !d.path().join("ok.tar").exists());
    let bundle = r.host("/b");
    let x = run_in(
        d.path(),
        &["bundle", "--root", s(r.path()), "-o", s(&bundle), APP],
    );
    refused(&x, &["-o", "inside the root"]);
    assert!(!bundle.exists());
    // A probe's record neither (the run never writes the root).
    let rec = r.host("/rec.json");
    let x = run_in(
        d.path(),
        &["probe", "--root", s(r.path()), "-o", s(&rec), "--", APP],
    );
    refused(&x, &["-o", "inside the root"]);
    assert!(!rec.exists());
}

#[test]
fn output_onto_a_program_of_the_host_root_is_refused() {
    // The host's `/` is the root: every output is inside it, so an output that is a file
    // of the layer is what must be refused (here the program itself, named like a layer).
    let d = tempfile::tempdir().unwrap();
    let prog = d.path().join("prog.tar");
    std::fs::copy("/usr/bin/true", &prog).unwrap();
    let before = std::fs::read(&prog).unwrap();
    let x = run_in(d.path(), &["pack", "-o", "prog.tar", s(&prog)]);
    refused(&x, &["-o prog.tar", "a file of the layer"]);
    assert_eq!(std::fs::read(&prog).unwrap(), before);
    // A second hard link to it is the same file.
    std::fs::hard_link(&prog, d.path().join("link.tar")).unwrap();
    let x = run_in(d.path(), &["pack", "-o", "link.tar", "./prog.tar"]);
    refused(&x, &["-o link.tar", "a file of the layer"]);
    assert_eq!(std::fs::read(d.path().join("link.tar")).unwrap(), before);
}

#[test]
fn output_onto_the_image_root_is_refused() {
    let r = app_root();
    let d = tempfile::tempdir().unwrap();
    let img = d.path().join("img.tar");
    let x = run_in(
        d.path(),
        &["pack", "--root", s(r.path()), "--oci-archive", s(&img), APP],
    );
    assert_eq!(x.code, 0, "{}", x.stderr);
    let before = std::fs::read(&img).unwrap();
    let x = run_in(
        d.path(),
        &["pack", "--root", "img.tar", "--oci-archive", "img.tar", APP],
    );
    refused(&x, &["--oci-archive img.tar", "the image --root img.tar"]);
    assert_eq!(std::fs::read(&img).unwrap(), before);
}

// --- item 5: output names -------------------------------------------------------------

#[test]
fn output_names_must_say_what_is_written() {
    let r = app_root();
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("existing")).unwrap();
    let pack = |args: &[&str]| {
        let mut a = vec!["pack", "--root", s(r.path())];
        a.extend_from_slice(args);
        a.push(APP);
        run_in(d.path(), &a)
    };
    refused(
        &pack(&["-o", "x.zip"]),
        &["-o x.zip", ".tar, .tar.gz, .tgz, .tar.zst, .tzst"],
    );
    refused(&pack(&["-o", "existing/"]), &["-o existing/: a directory"]);
    refused(&pack(&["-o", "existing"]), &["-o existing: a directory"]);
    refused(
        &pack(&["--oci", "out.tar"]),
        &["--oci out.tar", "--oci-archive"],
    );
    refused(
        &pack(&["--rootfs", "tree.tar.gz"]),
        &["--rootfs tree.tar.gz"],
    );
    refused(
        &pack(&["--oci-archive", "img.tar.gz"]),
        &["--oci-archive", ".tar"],
    );
    refused(&pack(&["--oci-archive", "-"]), &["--oci-archive -"]);
    refused(
        &run_in(
            d.path(),
            &["bundle", "--root", s(r.path()), "-o", "b.tar.zst", APP],
        ),
        &["-o b.tar.zst", ".tar.gz"],
    );
    assert_eq!(names(d.path()), ["existing"], "something was written");
    assert!(names(&d.path().join("existing")).is_empty());
}

#[test]
fn dash_writes_the_layer_to_standard_output() {
    let r = app_root();
    let d = tempfile::tempdir().unwrap();
    let file = run_in(
        d.path(),
        &["pack", "--root", s(r.path()), "-o", "l.tar", APP],
    );
    assert_eq!(file.code, 0, "{}", file.stderr);
    let piped = run_in(d.path(), &["pack", "--root", s(r.path()), "-o", "-", APP]);
    assert_eq!(piped.code, 0, "{}", piped.stderr);
    assert!(
        piped.stdout == std::fs::read(d.path().join("l.tar")).unwrap(),
        "-o - is not the bytes of -o l.tar"
    );
    // The summary goes to stderr; no file named `-`.
    assert!(
        piped.stderr.contains("wrote standard output (plain tar)"),
        "{}",
        piped.stderr
    );
    assert_eq!(names(d.path()), ["l.tar"]);
    // Not onto a terminal (as tar and zstd refuse).
    if require("script (util-linux)", have("script")) {
        let cmd = format!(
            "{} pack --root {} -o - {APP}",
            env!("CARGO_BIN_EXE_minroot"),
            s(r.path())
        );
        let o = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .current_dir(d.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(2), "{text}");
        assert!(text.contains("standard output is a terminal"), "{text}");
    }
}

// --- item 6: a closed pipe -------------------------------------------------------------

#[test]
fn a_closed_pipe_ends_quietly_with_status_0() {
    let r = app_root();
    let d = tempfile::tempdir().unwrap();
    let root = s(r.path());
    let cases: [&[&str]; 5] = [
        &["trace", "--root", root, APP],
        &["files", "--root", root, APP],
        &["report", "--root", root, APP],
        &["check", root],
        &["pack", "--root", root, "-o", "-", APP],
    ];
    for args in cases {
        // A pipe whose reader is gone before minroot writes: every write fails (EPIPE).
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = minroot()
            .args(args)
            .current_dir(d.path())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
        assert!(
            !err.contains("Broken pipe") && !err.contains("error"),
            "{args:?}: {err}"
        );
    }
    assert!(names(d.path()).is_empty());
}

// --- item 7: options that cannot act ----------------------------------------------------

#[test]
fn image_options_without_an_image_output_are_errors() {
    let r = app_root();
    let d = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 8] = [
        (&["--entrypoint", "/x"], "--entrypoint"),
        (&["--cmd", "x"], "--cmd"),
        (&["--user", "1"], "--user"),
        (&["--workdir", "/"], "--workdir"),
        (&["--label", "a=b"], "--label"),
        (&["--tag", "a:1"], "--tag"),
        (&["--dev"], "--dev"),
        (&["--compression", "zstd"], "--compression"),
    ];
    for (opt, flag) in cases {
        let mut a = vec!["pack", "--root", s(r.path()), "-o", "l.tar"];
        a.extend_from_slice(opt);
        a.push(APP);
        let x = run_in(d.path(), &a);
        refused(&x, &[flag, "--oci"]);
        assert!(names(d.path()).is_empty(), "{flag}: written");
    }
    // The image options act with --dockerfile (its ENTRYPOINT); --tag does not.
    let x = run_in(
        d.path(),
        &[
            "pack",
            "--root",
            s(r.path()),
            "--dockerfile",
            "df",
            "--entrypoint",
            "/x",
            APP,
        ],
    );
    assert_eq!(x.code, 0, "{}", x.stderr);
    let x = run_in(
        d.path(),
        &[
            "pack",
            "--root",
            s(r.path()),
            "--dockerfile",
            "df2",
            "--tag",
            "a:1",
            APP,
        ],
    );
    refused(&x, &["--tag"]);
    // --env still steers the selection: a warning, and the layer is written.
    let x = run_in(
        d.path(),
        &[
            "pack",
            "--root",
            s(r.path()),
            "-o",
            "l.tar",
            "--env",
            "A=b",
            APP,
        ],
    );
    assert_eq!(x.code, 0, "{}", x.stderr);
    assert!(x.stderr.contains("minroot: warning: --env"), "{}", x.stderr);
    // trace's tree options with another format.
    let x = run_in(
        d.path(),
        &["trace", "--root", s(r.path()), "-f", "list", "--all", APP],
    );
    refused(&x, &["--all", "--format tree"]);
    // An image root's bound, given with a directory root.
    for cmd in ["trace", "files"] {
        let x = run_in(
            d.path(),
            &[cmd, "--root", s(r.path()), "--max-image-size", "1G", APP],
        );
        refused(&x, &["--max-image-size is for an image root"]);
    }
}

#[test]
fn data_sets_the_root_does_not_have_are_errors() {
    let r = app_root();
    let d = tempfile::tempdir().unwrap();
    for set in ["tzdata", "C.utf8"] {
        for cmd in ["files", "pack"] {
            let mut a = vec![cmd, "--root", s(r.path()), "--data", set];
            if cmd == "pack" {
                a.extend(["-o", "l.tar"]);
            }
            a.push(APP);
            let x = run_in(d.path(), &a);
            refused(&x, &[&format!("--data {set}"), "install it in the root"]);
        }
    }
    assert!(names(d.path()).is_empty());
    // With the files, it acts.
    r.write("/usr/share/zoneinfo/UTC", b"TZif");
    let x = run_in(
        d.path(),
        &["files", "--root", s(r.path()), "--data", "tzdata", APP],
    );
    assert_eq!(x.code, 0, "{}", x.stderr);
    assert!(x.out().contains("/usr/share/zoneinfo/UTC"), "{}", x.out());
}

#[test]
fn dev_without_a_shell_in_the_root_is_an_error() {
    let r = app_root();
    // Tools, but no shell: a -dev image would have nothing to run them from.
    r.write(
        "/usr/bin/ls",
        &Synth::exe(EM_X86_64, LDSO).needs("libc.so.6").build(),
    );
    let d = tempfile::tempdir().unwrap();
    let x = run_in(
        d.path(),
        &["pack", "--root", s(r.path()), "--oci", "out", "--dev", APP],
    );
    refused(&x, &["--dev", "shell"]);
    assert!(names(d.path()).is_empty());
    // A shell that the production layer already holds adds nothing: said too.
    r.write(
        "/bin/sh",
        &Synth::exe(EM_X86_64, LDSO).needs("libc.so.6").build(),
    );
    let x = run_in(
        d.path(),
        &[
            "pack",
            "--root",
            s(r.path()),
            "--oci",
            "out",
            "--dev",
            APP,
            "/bin/sh",
            "/usr/bin/ls",
        ],
    );
    refused(&x, &["--dev", "already holds"]);
    assert!(names(d.path()).is_empty());
}

// --- item 10: messages ------------------------------------------------------------------

#[test]
fn a_cpu_level_of_another_architecture_names_the_valid_levels() {
    let r = app_root();
    let d = tempfile::tempdir().unwrap();
    for cmd in ["trace", "files"] {
        let x = run_in(
            d.path(),
            &[cmd, "--root", s(r.path()), "--cpu-level", "atomics", APP],
        );
        refused(
            &x,
            &[
                "--cpu-level atomics",
                "not a level of x86_64",
                "baseline, x86-64-v2, x86-64-v3, x86-64-v4",
            ],
        );
        assert!(!x.stderr.contains("unsupported ELF"), "{}", x.stderr);
    }
}

#[test]
fn io_errors_are_said_once_in_words() {
    let r = app_root();
    let d = tempfile::tempdir().unwrap();
    let long = "a".repeat(300);
    let pack = |out: &str| run_in(d.path(), &["pack", "--root", s(r.path()), "-o", out, APP]);
    // No `(os error N)`, no temporary path, no cause said twice.
    let cases = [
        (format!("{long}.tar"), "File name too long"),
        ("missing/x.tar".to_string(), "the directory does not exist"),
    ];
    for (out, words) in &cases {
        let x = pack(out);
        refused(&x, &[words]);
        assert_eq!(x.stderr.matches(words).count(), 1, "{}", x.stderr);
        assert!(!x.stderr.contains("(os error"), "{}", x.stderr);
        assert!(!x.stderr.contains(".minroot-"), "{}", x.stderr);
    }
    // A name too long for the file system is not "permission denied", and a path
    // looked up twice is said once.
    let prog = format!("/usr/bin/{long}");
    let x = run_in(d.path(), &["trace", "--root", s(r.path()), &prog, &prog]);
    assert_eq!(x.code, 2, "{}", x.stderr);
    assert!(!x.stderr.contains("permission denied"), "{}", x.stderr);
    assert_eq!(
        x.stderr
            .lines()
            .filter(|l| *l == format!("minroot: error: {prog}: File name too long"))
            .count(),
        2,
        "{}",
        x.stderr
    );
    let x = run_in(
        d.path(),
        &["files", "--root", s(r.path()), "--include", &prog, APP],
    );
    refused(&x, &["File name too long"]);
    assert!(!x.stderr.contains("permission denied"), "{}", x.stderr);
    assert_eq!(x.stderr.matches(&prog).count(), 1, "{}", x.stderr);
}

#[test]
fn archive_errors_name_the_archive_and_its_member() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(
        src.join("manifest.json"),
        r#"[{"Config":"c.json","Layers":["l.tar"]}]"#,
    )
    .unwrap();
    std::fs::write(src.join("c.json"), "{bad").unwrap();
    let tar = |name: &str, members: &[&str]| {
        let ok = Command::new("tar")
            .arg("-cf")
            .arg(d.path().join(name))
            .arg("-C")
            .arg(&src)
            .args(members)
            .status()
            .unwrap()
            .success();
        assert!(ok);
    };
    tar("bad-config.tar", &["manifest.json", "c.json"]);
    std::fs::write(
        src.join("c.json"),
        r#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:00"]}}"#,
    )
    .unwrap();
    tar("no-layer.tar", &["manifest.json", "c.json"]);
    for (archive, member) in [
        ("bad-config.tar", "member c.json"),
        ("no-layer.tar", "member l.tar"),
    ] {
        for args in [
            vec!["check", archive],
            vec!["files", "--root", archive, APP],
        ] {
            let x = run_in(d.path(), &args);
            refused(&x, &[archive, member]);
            assert!(
                !x.stderr.contains("minroot-check") && !x.stderr.contains("/tmp/"),
                "{}",
                x.stderr
            );
            assert!(!x.stderr.contains("(os error"), "{}", x.stderr);
        }
    }
}

#[test]
fn human_output_says_formats_in_words_and_counts_with_their_nouns() {
    let r = app_root();
    let d = tempfile::tempdir().unwrap();
    let x = run_in(
        d.path(),
        &[
            "pack",
            "--root",
            s(r.path()),
            "-o",
            "l.tar",
            "--sbom",
            "l.spdx.json",
            "--sbom",
            "l.cdx.json",
            APP,
        ],
    );
    assert_eq!(x.code, 0, "{}", x.stderr);
    let out = x.out();
    assert!(out.contains("wrote l.tar (plain tar)"), "{out}");
    assert!(out.contains("(SPDX 2.3 SBOM:"), "{out}");
    assert!(out.contains("(CycloneDX 1.5 SBOM:"), "{out}");
    for debug in ["(None)", "(Gzip)", "(Zstd)", "Spdx", "CycloneDx "] {
        assert!(!out.contains(debug), "{debug}: {out}");
    }
    let x = run_in(
        d.path(),
        &["pack", "--root", s(r.path()), "-o", "l.tar.gz", APP],
    );
    assert!(x.out().contains("wrote l.tar.gz (gzip)"), "{}", x.out());
    // One layer, one platform.
    let spec = d.path().join("minroot.toml");
    std::fs::write(
        &spec,
        format!(
            "bins = [\"{APP}\"]\n[[platform]]\nname = \"linux/amd64\"\nroot = \"{}\"\n",
            s(r.path())
        ),
    )
    .unwrap();
    let x = run_in(d.path(), &["build", "minroot.toml", "--oci", "img"]);
    assert_eq!(x.code, 0, "{}", x.stderr);
    assert!(x.out().contains("(1 layer)"), "{}", x.out());
    assert!(!x.out().contains("1 layers"), "{}", x.out());
    // check's summary: one program, one image layer.
    let x = run_in(d.path(), &["check", "img"]);
    let last = x.out().lines().last().unwrap_or_default().to_string();
    assert!(last.contains("1 layer,"), "{last}");
    assert!(last.contains("(1 program,"), "{last}");
    assert!(
        !last.contains("1 programs") && !last.contains("1 layers"),
        "{last}"
    );
}

#[test]
fn every_command_prints_errors_the_same_way() {
    let r = app_root();
    let d = tempfile::tempdir().unwrap();
    for cmd in ["trace", "files", "report"] {
        let x = run_in(d.path(), &[cmd, "--root", s(r.path()), "/usr/bin/none"]);
        assert_eq!(x.code, 2, "{}", x.stderr);
        assert!(
            x.stderr.lines().all(|l| l.starts_with("minroot: error: ")),
            "{cmd}: {}",
            x.stderr
        );
    }
}

#[test]
fn help_and_readme_say_what_the_commands_do() {
    let help = |cmd: &str| {
        let o = minroot().args([cmd, "--help"]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    // `pack --allow-missing` writes, and the status is still 1.
    let r = FakeRoot::new();
    r.write(LDSO, &Synth::lib(EM_X86_64, "ld-linux-x86-64.so.2").build());
    r.write(
        APP,
        &Synth::exe(EM_X86_64, LDSO).needs("libnone.so.1").build(),
    );
    let d = tempfile::tempdir().unwrap();
    let x = run_in(
        d.path(),
        &[
            "pack",
            "--root",
            s(r.path()),
            "-o",
            "l.tar",
            "--allow-missing",
            APP,
        ],
    );
    assert_eq!(x.code, 1, "{}", x.stderr);
    assert!(d.path().join("l.tar").is_file());
    let pack = help("pack");
    assert!(!pack.contains("1 not written"), "{pack}");
    assert!(pack.contains("unless --allow-missing"), "{pack}");
    assert!(pack.contains("still 1"), "{pack}");
    assert!(pack.contains("-o -") || pack.contains("- writes"), "{pack}");
    assert!(help("build").contains("still 1"));
    // files and report take no --source-date-epoch; the README must not list it for them.
    for cmd in ["files", "report"] {
        let x = run_in(
            d.path(),
            &[cmd, "--source-date-epoch", "0", "/usr/bin/true"],
        );
        assert_eq!(x.code, 2, "{cmd} took --source-date-epoch");
        assert!(!help(cmd).contains("--source-date-epoch"));
    }
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let selection = readme
        .split("Selection options (`files`, `pack`, `report`)")
        .nth(1)
        .and_then(|t| t.split("\n\n").next())
        .expect("README lists the selection options");
    assert!(
        !selection.contains("--source-date-epoch"),
        "README lists --source-date-epoch among the selection options: {selection}"
    );
}

/// Every subcommand's help opens with the line `minroot --help` lists for it, and shows
/// the options it shares with others (their arguments are added only when the subcommand
/// is used: src/cli/args.rs, `defer`).
#[test]
fn each_command_help_opens_with_its_own_description() {
    let out = |args: &[&str]| {
        let o = minroot().args(args).output().unwrap();
        assert!(o.status.success(), "{args:?}");
        String::from_utf8(o.stdout).unwrap()
    };
    // Text compared with its line breaks as spaces: clap wraps long descriptions.
    let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let first_paragraph = |help: &str| words(help.split("\n\n").next().unwrap_or(""));
    let top = out(&["--help"]);
    let mut listed: Vec<(String, String)> = Vec::new();
    let section = top.split("Commands:\n").nth(1).expect("a Commands section");
    for l in section.lines().take_while(|l| !l.is_empty()) {
        let start = &l[2..];
        if start.starts_with(' ') {
            // A wrapped description goes on, indented.
            let last = listed.last_mut().expect("a command before it");
            last.1 = words(&format!("{} {start}", last.1));
        } else if let Some((name, about)) = start.split_once(char::is_whitespace) {
            listed.push((name.to_string(), words(about)));
        }
    }
    listed.retain(|(name, _)| name != "help");
    let names: Vec<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "trace", "files", "pack", "build", "report", "check", "bundle", "probe"
        ]
    );
    for (name, about) in &listed {
        for flag in ["--help", "-h"] {
            let help = out(&[name, flag]);
            assert_eq!(&first_paragraph(&help), about, "{name} {flag}");
            assert!(help.contains("--quiet"), "{name} {flag}: {help}");
        }
        let help = out(&["help", name]);
        assert_eq!(&first_paragraph(&help), about, "help {name}");
    }
    // The options flattened into a subcommand are there (the root's, for trace).
    assert!(out(&["trace", "--help"]).contains("--root"));
    assert!(out(&["pack", "--help"]).contains("--entrypoint"));
}

/// `trace` of many programs: in the order of the command line, across the sets of 2048
/// the programs are traced in (the list is given 7 times: 2107 programs), the same bytes
/// with 1 thread or 4, and a program that cannot be traced is said where it stands and
/// ends with status 2.
#[test]
fn many_programs_are_traced_in_command_line_order_whatever_the_threads() {
    let r = app_root();
    r.write(
        &format!("{LIBDIR}/libz.so.1"),
        &Synth::lib(EM_X86_64, "libz.so.1")
            .needs("libc.so.6")
            .build(),
    );
    let mut progs = Vec::new();
    for i in 0..300 {
        // Named so that the command line's order is not the names' order.
        let p = format!("/usr/bin/p{:03}", (i * 7) % 300);
        let mut exe = Synth::exe(EM_X86_64, LDSO).needs("libc.so.6");
        if i % 3 == 0 {
            exe = exe.needs("libz.so.1");
        }
        if i % 50 == 0 {
            exe = exe.needs("libmissing.so.2");
        }
        r.write(&p, &exe.build());
        progs.push(p);
    }
    r.write("/usr/bin/notelf", b"#!/bin/sh\n");
    progs.insert(200, "/usr/bin/notelf".into());
    let progs: Vec<String> = std::iter::repeat_n(progs, 7).flatten().collect();
    let trace = |format: &str, threads: &str| {
        let mut args = vec!["trace", "--root", s(r.path()), "--format", format];
        args.extend(progs.iter().map(String::as_str));
        let o = minroot()
            .args(&args)
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        (
            o.status.code(),
            o.stdout,
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    for format in ["list", "tree", "json"] {
        let one = trace(format, "1");
        assert_eq!(one.0, Some(2), "{format}: {}", one.2);
        assert!(one.2.contains("/usr/bin/notelf"), "{format}: {}", one.2);
        assert_eq!(one, trace(format, "4"), "{format}: 1 thread against 4");
    }
    let (_, list, _) = trace("list", "4");
    let list = String::from_utf8(list).unwrap();
    let headers: Vec<&str> = list.lines().filter_map(|l| l.strip_suffix(':')).collect();
    assert_eq!(headers, progs, "one header per program, in order");
    let p050 = list.split("/usr/bin/p050:\n").nth(1).unwrap();
    let p050 = p050.split(":\n").next().unwrap();
    assert!(p050.contains("libmissing.so.2 => not found"), "{p050}");
}
