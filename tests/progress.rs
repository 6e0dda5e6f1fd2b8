//! Progress bars: drawn on stderr only when it is a terminal (here a pseudo-terminal made
//! by util-linux `script`), never into a pipe, a file or stdout, and not with `--quiet`.
//! `MINROOT_PROGRESS_DELAY_MS=0` shows them for work shorter than the usual second.

mod common;

use std::path::Path;
use std::process::Command;

/// What a progress bar leaves in a byte stream: a stage's name at the start of a line
/// redrawn with a carriage return or an escape sequence.
fn has_progress(bytes: &str) -> bool {
    ["packing [", "checking [", "unpacking ["]
        .iter()
        .any(|s| bytes.contains(s))
}

fn amd64() -> Option<std::path::PathBuf> {
    let r = common::sysroot("amd64");
    common::require("the amd64 sysroot", r.is_some()).then(|| r.unwrap())
}

/// Runs `args` under a pseudo-terminal (stdin, stdout and stderr are the terminal) and
/// returns everything the terminal got.
fn on_a_terminal(args: &[&str]) -> String {
    let bin = env!("CARGO_BIN_EXE_minroot");
    let quoted: Vec<String> = std::iter::once(bin)
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect();
    let out = Command::new("script")
        .args(["-qec", &quoted.join(" "), "/dev/null"])
        .env("MINROOT_PROGRESS_DELAY_MS", "0")
        .env("COLUMNS", "120")
        .output()
        .expect("run script");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn no_progress_bytes_when_stderr_is_not_a_terminal() {
    let Some(root) = amd64() else { return };
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("l.tar");
    let root = root.to_str().unwrap();
    for args in [
        vec![
            "pack",
            "--root",
            root,
            "-o",
            out.to_str().unwrap(),
            "/usr/bin/perl",
        ],
        vec!["check", out.to_str().unwrap()],
        vec!["check", "--json", root],
    ] {
        let o = common::minroot()
            .args(&args)
            .env("MINROOT_PROGRESS_DELAY_MS", "0")
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
        );
        assert!(!has_progress(&stderr), "{args:?}: {stderr}");
        assert!(
            !stderr.contains('\r') && !stderr.contains('\x1b'),
            "{args:?}"
        );
        assert!(
            !has_progress(&stdout) && !stdout.contains('\x1b'),
            "{args:?}"
        );
    }
    assert!(Path::new(&out).is_file());
}

#[test]
fn progress_appears_on_a_terminal_and_not_with_quiet() {
    let Some(root) = amd64() else { return };
    if !common::require("util-linux script", common::have("script")) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("l.tar");
    let (root, out) = (root.to_str().unwrap(), out.to_str().unwrap());
    let pack = ["pack", "--root", root, "-o", out, "/usr/bin/perl"];
    let shown = on_a_terminal(&pack);
    assert!(shown.contains("packing ["), "{shown}");
    assert!(
        shown.contains("wrote "),
        "the summary is still printed: {shown}"
    );
    let quiet = on_a_terminal(&[&pack[..], &["--quiet"]].concat());
    assert!(!has_progress(&quiet), "{quiet}");
    assert!(quiet.contains("wrote "), "{quiet}");

    // check of a layer: unpacking, then checking; --quiet before the command works too.
    let shown = on_a_terminal(&["check", out]);
    assert!(shown.contains("unpacking ["), "{shown}");
    assert!(shown.contains("checking ["), "{shown}");
    let quiet = on_a_terminal(&["--quiet", "check", out]);
    assert!(!has_progress(&quiet), "{quiet}");
}
