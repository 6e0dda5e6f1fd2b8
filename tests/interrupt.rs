//! Interrupted runs leave nothing behind (issue 13, item 1; issue 12, `--root IMAGE`).
//!
//! Each command that makes temporary paths is started on an input big enough that it is
//! still working when its temporary path appears (the test polls for it: no sleep decides
//! anything), then sent SIGINT, SIGTERM or SIGHUP. It must end by that signal (or exit
//! 128+N), leave nothing new in its output directory or in its TMPDIR, and leave an earlier
//! output where the run would have written untouched:
//! - `pack -o OUT.tar.gz` (`.OUT.minroot-XXXXXX.tmp`), `--rootfs DIR` and `--oci DIR`
//!   (`.DIR.minroot-XXXXXX.staging`), `--dockerfile DIR` (the directory it makes);
//! - `check` of a big layer (`$TMPDIR/minroot-check-XXXXXX`);
//! - `pack --root IMAGE` (`$TMPDIR/minroot-image-XXXXXX`, the unpacked image root);
//! - `probe` (`$TMPDIR/minroot-probe-XXXXXX`; the probed program, its sandbox and its
//!   mounts go too: no process of the run is left).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use sha2::{Digest, Sha256};

const SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

fn amd64() -> Option<PathBuf> {
    let r = common::sysroot("amd64");
    common::require("the amd64 sysroot (scripts/make-sysroot.sh)", r.is_some()).then_some(r?)
}

/// Inputs made once: a big plain layer (for `check`) and a big OCI archive (for `--root`).
struct Inputs {
    _dir: tempfile::TempDir,
    layer: PathBuf,
    image: PathBuf,
}

fn inputs(root: &Path) -> &'static Inputs {
    static I: OnceLock<Inputs> = OnceLock::new();
    I.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let layer = dir.path().join("big.tar");
        let image = dir.path().join("big-oci.tar");
        let r = root.to_str().unwrap();
        for out in [
            ["-o", layer.to_str().unwrap()],
            ["--oci-archive", image.to_str().unwrap()],
        ] {
            let (code, _, err) = common::run(&[
                "pack",
                "--root",
                r,
                out[0],
                out[1],
                "--include",
                "/usr/share",
                "/usr/bin/ls",
            ]);
            assert_eq!(code, 0, "{err}");
        }
        Inputs {
            _dir: dir,
            layer,
            image,
        }
    })
}

/// Every file under `dir` with its bytes (directories as empty entries), to tell that an
/// earlier output was left as it was.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<String>> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
            let bytes = e.file_type().is_file().then(|| {
                let b = fs::read(e.path()).unwrap();
                let hex: String = Sha256::digest(&b)
                    .iter()
                    .map(|x| format!("{x:02x}"))
                    .collect();
                format!("{} bytes, sha256 {hex}", b.len())
            });
            (rel, bytes)
        })
        .collect()
}

/// One interrupted run: `args` started in `out` (its cwd) with TMPDIR `tmp`; `ready` says
/// when the temporary path exists (the run is working); then `sig`.
fn interrupt(
    what: &str,
    args: &[&str],
    out: &Path,
    tmp: &Path,
    sig: Signal,
    ready: &dyn Fn() -> bool,
) {
    let before = snapshot(out);
    let mut child: Child = common::minroot()
        .args(args)
        .current_dir(out)
        .env("TMPDIR", tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !ready() {
        if let Some(st) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("{what}: ended ({st}) before its temporary path appeared: {err}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "{what}: no temporary path after 300 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    kill(Pid::from_raw(child.id() as i32), sig).unwrap();
    let st = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(
        st.signal() == Some(sig as i32) || st.code() == Some(128 + sig as i32),
        "{what} {sig}: ended with {st}, not by the signal: {err}"
    );
    assert_eq!(
        snapshot(out),
        before,
        "{what} {sig}: the output directory changed (a leftover, or an earlier output damaged)"
    );
    let left: Vec<_> = fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "{what} {sig}: left in TMPDIR: {left:?}");
}

/// Whether `dir` holds an entry whose name has `part`.
fn has(dir: &Path, part: &str) -> bool {
    fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .any(|e| e.file_name().to_string_lossy().contains(part))
        })
        .unwrap_or(false)
}

#[test]
fn signals_during_pack_leave_nothing() {
    let Some(root) = amd64() else { return };
    let r = root.to_str().unwrap();
    for sig in SIGNALS {
        let t = tempfile::tempdir().unwrap();
        let (out, tmp) = (t.path().join("out"), t.path().join("tmp"));
        fs::create_dir_all(&out).unwrap();
        fs::create_dir_all(&tmp).unwrap();
        // Earlier outputs: each must be left as it was.
        fs::write(out.join("o.tar.gz"), "an earlier layer").unwrap();
        fs::create_dir(out.join("oci")).unwrap();
        fs::write(out.join("oci/oci-layout"), "{}").unwrap();
        fs::write(out.join("oci/index.json"), "an earlier image").unwrap();
        fs::create_dir(out.join("fs")).unwrap();
        let common = [
            "pack",
            "--root",
            r,
            "--include",
            "/usr/share",
            "/usr/bin/ls",
        ];
        for (what, flag, dest, part) in [
            ("pack -o", "-o", "o.tar.gz", ".o.tar.gz.minroot-"),
            ("pack --rootfs", "--rootfs", "fs", ".fs.minroot-"),
            ("pack --oci", "--oci", "oci", ".oci.minroot-"),
            ("pack --dockerfile", "--dockerfile", "docker", "docker"),
            // Every directory it makes goes, not only the last.
            (
                "pack --dockerfile a/b",
                "--dockerfile",
                "made/docker",
                "made",
            ),
        ] {
            let mut args = common.to_vec();
            args.extend([flag, dest]);
            interrupt(what, &args, &out, &tmp, sig, &|| has(&out, part));
        }
    }
}

#[test]
fn signals_during_check_leave_nothing() {
    let Some(root) = amd64() else { return };
    let input = inputs(&root);
    for sig in SIGNALS {
        let t = tempfile::tempdir().unwrap();
        let (out, tmp) = (t.path().join("out"), t.path().join("tmp"));
        fs::create_dir_all(&out).unwrap();
        fs::create_dir_all(&tmp).unwrap();
        let layer = input.layer.to_str().unwrap();
        interrupt("check", &["check", layer], &out, &tmp, sig, &|| {
            has(&tmp, "minroot-check-")
        });
    }
}

#[test]
fn signals_during_an_image_root_leave_nothing() {
    let Some(root) = amd64() else { return };
    let input = inputs(&root);
    for sig in SIGNALS {
        let t = tempfile::tempdir().unwrap();
        let (out, tmp) = (t.path().join("out"), t.path().join("tmp"));
        fs::create_dir_all(&out).unwrap();
        fs::create_dir_all(&tmp).unwrap();
        fs::write(out.join("o.tar"), "an earlier layer").unwrap();
        let image = input.image.to_str().unwrap();
        let args = ["pack", "--root", image, "-o", "o.tar", "/usr/bin/ls"];
        interrupt("pack --root IMAGE", &args, &out, &tmp, sig, &|| {
            has(&tmp, "minroot-")
        });
    }
}

/// Pids of the processes whose command line is `argv`.
fn processes(argv: &[&str]) -> Vec<u32> {
    let want: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == want))
        .collect()
}

#[test]
fn signals_during_probe_leave_nothing() {
    let Some(root) = amd64() else { return };
    let r = root.to_str().unwrap();
    for sig in SIGNALS {
        let t = tempfile::tempdir().unwrap();
        let (out, tmp) = (t.path().join("out"), t.path().join("tmp"));
        fs::create_dir_all(&out).unwrap();
        fs::create_dir_all(&tmp).unwrap();
        fs::write(out.join("rec.json"), "an earlier record").unwrap();
        // A command line no other process has.
        let secs = format!("{}.{}", 7000 + sig as i32, std::process::id());
        let program = ["/usr/bin/sleep", secs.as_str()];
        let mut args = vec!["probe", "--root", r, "-o", "rec.json", "--"];
        args.extend(program);
        interrupt("probe", &args, &out, &tmp, sig, &|| {
            !processes(&program).is_empty()
        });
        // The run dies with its supervisor (PR_SET_PDEATHSIG): soon, not at once.
        let start = Instant::now();
        while !processes(&program).is_empty() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "probe {sig}: the probed program is still running"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(
            !mounts.contains(tmp.to_str().unwrap()),
            "probe {sig}: a mount is left: {mounts}"
        );
    }
}

#[test]
fn an_image_root_leaves_nothing_after_a_run_or_an_error() {
    let Some(root) = amd64() else { return };
    let input = inputs(&root);
    let t = tempfile::tempdir().unwrap();
    let tmp = t.path().join("tmp");
    fs::create_dir(&tmp).unwrap();
    let truncated = t.path().join("truncated.tar");
    let bytes = fs::read(&input.image).unwrap();
    fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let image = input.image.to_str().unwrap();
    let out = t.path().join("o.tar");
    for (args, want) in [
        (
            vec![
                "pack",
                "--root",
                image,
                "-o",
                out.to_str().unwrap(),
                "/usr/bin/ls",
            ],
            0,
        ),
        (vec!["files", "--root", image, "/no/such/program"], 2),
        (
            vec![
                "files",
                "--root",
                truncated.to_str().unwrap(),
                "/usr/bin/ls",
            ],
            2,
        ),
        (
            vec![
                "files",
                "--root",
                image,
                "--max-image-size",
                "1M",
                "/usr/bin/ls",
            ],
            2,
        ),
    ] {
        let o = common::minroot()
            .args(&args)
            .env("TMPDIR", &tmp)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(want), "{args:?}: {err}");
        let left: Vec<_> = fs::read_dir(&tmp)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(left.is_empty(), "{args:?}: left in TMPDIR: {left:?}");
    }
}
