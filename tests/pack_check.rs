//! Issue 13, item 8: one rule for `pack` and `check`. Every layer minroot packs from the
//! Debian test roots and from the host either passes `check --strict`, or `pack` said,
//! before writing it, each finding `check --strict` reports in it (the same kind, about
//! the same path or service): the NSS services of nsswitch.conf whose module is absent
//! (`db` and `nis` of Debian's default), a symlink whose target is not in the layer, a
//! TLS library without a CA bundle (the arm64 root was unpacked without maintainer
//! scripts: ca-certificates' bundle was never made).
//!
//! A symlink into /proc (`/etc/mtab -> ../proc/self/mounts`, `--include`d on the host) is
//! packed as the link only, never with what the host's /proc holds: check notes it, and
//! pack says so.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Packs `args` from `root` (None: the host) into a tar; returns (tar, pack's stderr).
fn pack(dir: &Path, name: &str, root: Option<&Path>, args: &[&str]) -> (PathBuf, String) {
    let out = dir.join(format!("{name}.tar"));
    let mut c = common::minroot();
    c.arg("pack");
    if let Some(r) = root {
        c.arg("--root").arg(r);
    }
    let o = c.arg("-o").arg(&out).args(args).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "pack {name}: {err}");
    (out, err)
}

/// The findings of `check --strict --json` on `tar`, and whether it exited 0.
fn check_strict(tar: &Path) -> (bool, Vec<Value>) {
    let (code, out, err) = common::run(&["check", "--strict", "--json", tar.to_str().unwrap()]);
    assert!(code == 0 || code == 1, "check {}: {err}", tar.display());
    let v: Value = serde_json::from_str(&out).unwrap();
    (
        code == 0,
        v["findings"].as_array().cloned().unwrap_or_default(),
    )
}

/// Whether pack's stderr said `f`: a line naming its kind and its path (or service).
fn said(pack_err: &str, f: &Value) -> bool {
    let kind = f["kind"].as_str().unwrap();
    let about = match kind {
        "nss_module_missing" => format!("names service {}", f["service"].as_str().unwrap()),
        "ca_bundle_missing" => "the layer has no CA bundle".to_string(),
        _ => format!("{} ", f["path"].as_str().unwrap_or("?")),
    };
    pack_err
        .lines()
        .any(|l| l.starts_with("minroot: ") && l.contains(kind) && l.contains(&about))
}

/// Every finding of `check --strict` on the layer was said by pack; returns them.
fn agree(dir: &Path, name: &str, root: Option<&Path>, args: &[&str]) -> Vec<Value> {
    let (tar, err) = pack(dir, name, root, args);
    let (clean, findings) = check_strict(&tar);
    let unsaid: Vec<&Value> = findings.iter().filter(|f| !said(&err, f)).collect();
    assert!(
        unsaid.is_empty(),
        "{name}: check --strict reports what pack did not say: {unsaid:#?}\npack said:\n{err}"
    );
    assert_eq!(clean, findings.is_empty(), "{name}");
    findings
}

#[test]
fn r_issue_13_pack_says_what_check_strict_reports() {
    let t = tempfile::Builder::new()
        .prefix("minroot-pack-check-")
        .tempdir()
        .unwrap();
    let dir = t.path();

    // The host: its nsswitch.conf (and /etc/mtab, a link into /proc).
    agree(dir, "host-ls", None, &["/usr/bin/ls"]);
    let (tar, _) = pack(
        dir,
        "host-mtab",
        None,
        &["--include", "/etc/mtab", "/usr/bin/ls"],
    );
    let listed = std::process::Command::new("tar")
        .arg("-tvf")
        .arg(&tar)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(
        listed.lines().any(|l| l.contains("etc/mtab -> ")),
        "the link is in the layer: {listed}"
    );
    assert!(
        !listed.lines().any(|l| l.contains(" proc/")),
        "nothing of the host's /proc is: {listed}"
    );
    let mtab = agree(
        dir,
        "host-mtab",
        None,
        &["--include", "/etc/mtab", "/usr/bin/ls"],
    );
    assert!(
        mtab.iter()
            .any(|f| f["kind"] == "dangling_symlink" && f["path"] == "/etc/mtab"),
        "{mtab:#?}"
    );

    // The Debian roots: Debian's nsswitch.conf names db and nis, which are not installed.
    let sysroots = [
        ("amd64", common::sysroot("amd64")),
        ("arm64", common::sysroot("arm64")),
    ];
    for (arch, root) in sysroots {
        if !common::require(&format!("the {arch} sysroot"), root.is_some()) {
            continue;
        }
        let root = root.unwrap();
        let r = Some(root.as_path());
        if arch == "amd64" {
            let nginx = agree(
                dir,
                "amd64-nginx",
                r,
                &["--include", "/etc/nginx", "/usr/sbin/nginx"],
            );
            assert!(
                nginx.iter().any(|f| f["kind"] == "nss_module_missing"),
                "Debian's nsswitch.conf names db and nis: {nginx:#?}"
            );
        } else {
            agree(dir, "arm64-busybox", r, &["/bin/busybox"]);
        }
        agree(dir, &format!("{arch}-curl"), r, &["/usr/bin/curl"]);
        agree(
            dir,
            &format!("{arch}-python3"),
            r,
            &["--include", "/etc/ssl", "/usr/bin/python3"],
        );
    }
}

/// An included library whose DT_NEEDED another included member provides (loaded first,
/// by its path) must still find that name through the search in the layer, as a program
/// that dlopens it on its own does: `--include /etc` on Debian brings liblapack and
/// libblas through /etc/alternatives, and liblapack's `libblas.so.3` is found as
/// `/usr/lib/x86_64-linux-gnu/libblas.so.3`, a link the layer lacked (check of the layer
/// reported liblapack unloadable). The ground truth is the real loader of the packed
/// tree (`ld.so --list`), and check of the same layer agrees with pack.
#[test]
fn r_an_included_library_finds_its_needed_names_through_the_search() {
    let Some(fixture) = common::fixture("x86_64") else {
        common::require("the x86_64 loader fixtures", false);
        return;
    };
    let t = tempfile::Builder::new()
        .prefix("minroot-include-alone-")
        .tempdir()
        .unwrap();
    let root = t.path().join("root");
    let cp = std::process::Command::new("cp")
        .arg("-a")
        .arg(&fixture)
        .arg(&root)
        .status()
        .unwrap();
    assert!(cp.success());
    let lib = fixture.join("app/lib");
    std::fs::create_dir_all(root.join("plug")).unwrap();
    std::fs::create_dir_all(root.join("opt/alt")).unwrap();
    std::fs::create_dir_all(root.join("etc/alt")).unwrap();
    // libfoo.so.1 needs libbar.so.1 (no RUNPATH): the search's default directories.
    std::fs::copy(lib.join("libfoo.so.1.2.3"), root.join("plug/libfoo.so.1")).unwrap();
    std::fs::copy(
        lib.join("libbar.so.1.0"),
        root.join("opt/alt/libbar.so.1.0"),
    )
    .unwrap();
    let link = |target: &str, at: &str| std::os::unix::fs::symlink(target, root.join(at)).unwrap();
    link("/opt/alt/libbar.so.1.0", "etc/alt/libbar.so.1");
    link(
        "/etc/alt/libbar.so.1",
        "usr/lib/x86_64-linux-gnu/libbar.so.1",
    );
    // The member that provides libbar.so.1 to libfoo when the set is loaded by paths.
    link("/opt/alt/libbar.so.1.0", "plug/libbar.so.1");
    let list = |tree: &Path| {
        let out = common::run_in_root(
            tree,
            minroot::arch::Arch::X86_64,
            "/lib64/ld-linux-x86-64.so.2",
            &["--list", "/plug/libfoo.so.1"],
            &[],
        );
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    let in_root = list(&root);
    assert!(
        in_root.contains("libbar.so.1 => /usr/lib/x86_64-linux-gnu/libbar.so.1"),
        "the root's loader finds it through the search: {in_root}"
    );

    let tree = t.path().join("tree");
    let o = common::minroot()
        .arg("pack")
        .arg("--root")
        .arg(&root)
        .args(["--include", "/plug", "--rootfs"])
        .arg(&tree)
        .arg("/app/bin/app-rpath")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let packed = list(&tree);
    assert!(
        packed.contains("libbar.so.1 => /usr/lib/x86_64-linux-gnu/libbar.so.1"),
        "the packed tree's loader finds it the same way: {packed}"
    );
    agree(
        t.path(),
        "include-alone",
        Some(&root),
        &["--include", "/plug", "/app/bin/app-rpath"],
    );
}
