//! Issue 13, item 9: the dpkg metadata minroot writes into a layer names each file where
//! the layer has it, so the layer read back as a root (`report --root UNPACKED`)
//! attributes every packaged file, as the root it came from did. And the CA bundle that
//! ca-certificates' maintainer script makes is attributed to that generator.
//!
//! Needs the amd64 sysroot (usrmerged bookworm, maintainer scripts run): coreutils lists
//! `bin/ls`, which the layer holds as `usr/bin/ls`; nginx-common's files in the layer are
//! all conffiles, which dpkg leaves out of md5sums.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

fn amd64() -> Option<std::path::PathBuf> {
    let r = common::sysroot("amd64");
    common::require("the amd64 sysroot", r.is_some()).then_some(r?)
}

/// `report --json` of the layer of `args` in `root`: (unowned paths, layer packages).
fn report(root: &Path, args: &[&str]) -> (BTreeSet<String>, BTreeSet<String>) {
    let o = common::minroot()
        .args(["report", "--json", "--root", root.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let unowned = r["unowned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["path"].as_str().unwrap().to_string())
        .collect();
    let packages = r["layer_packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    (unowned, packages)
}

#[test]
fn r_issue_13_a_layer_read_back_as_a_root_attributes_every_packaged_file() {
    let Some(root) = amd64() else { return };
    let args = [
        "--include",
        "/etc/nginx",
        "/usr/bin/ls",
        "/usr/sbin/nginx",
        "/usr/bin/curl",
    ];
    let t = tempfile::Builder::new()
        .prefix("minroot-readback-")
        .tempdir()
        .unwrap();
    let fs = t.path().join("fs");
    let (code, _, err) = common::run(
        &[
            &["pack", "--root", root.to_str().unwrap()][..],
            &["--rootfs", fs.to_str().unwrap()],
            &args,
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{err}");

    // The metadata names the files where the layer has them.
    let sums = std::fs::read_to_string(fs.join("var/lib/dpkg/status.d/coreutils.md5sums")).unwrap();
    assert!(
        sums.lines().any(|l| l.ends_with("  usr/bin/ls")),
        "coreutils.md5sums: {sums}"
    );
    assert!(!fs.join("bin").exists(), "the layer has no /bin");
    for line in sums.lines() {
        let path = line.split_once("  ").unwrap().1;
        assert!(
            fs.join(path).symlink_metadata().is_ok(),
            "md5sums names {path}, which the layer does not hold"
        );
    }

    let (src_unowned, src_packages) = report(&root, &args);
    let (back_unowned, back_packages) = report(&fs, &args);
    assert!(
        !back_unowned.contains("/usr/bin/ls"),
        "read back, /usr/bin/ls is attributed: {back_unowned:?}"
    );
    assert_eq!(
        back_unowned, src_unowned,
        "read back, the same files are attributed to no package"
    );
    assert_eq!(
        back_packages, src_packages,
        "and the same packages are in it"
    );
    assert!(src_packages.contains("nginx-common") && src_packages.contains("coreutils"));
}

#[test]
fn r_issue_13_the_ca_bundle_is_attributed_to_its_generator() {
    let Some(root) = amd64() else { return };
    let t = tempfile::tempdir().unwrap();
    let sbom = t.path().join("curl.spdx.json");
    let (code, _, err) = common::run(&[
        "pack",
        "--root",
        root.to_str().unwrap(),
        "-o",
        t.path().join("curl.tar").to_str().unwrap(),
        "--sbom",
        sbom.to_str().unwrap(),
        "/usr/bin/curl",
    ]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&sbom).unwrap()).unwrap();
    let bundle = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fileName"] == "./etc/ssl/certs/ca-certificates.crt")
        .expect("the CA bundle is in the SBOM");
    let comment = bundle["comment"].as_str().unwrap();
    assert!(
        comment.contains("maintainer script of package ca-certificates"),
        "{comment}"
    );

    let o = common::minroot()
        .args(["report", "--json", "--root", root.to_str().unwrap()])
        .arg("/usr/bin/curl")
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let bundle = r["unowned"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["path"] == "/etc/ssl/certs/ca-certificates.crt")
        .expect("the CA bundle is listed by no package");
    assert_eq!(bundle["generated_by"], "ca-certificates", "{bundle}");
    let why = bundle["why"].as_str().unwrap();
    assert!(
        why.contains("maintainer script of package ca-certificates")
            && why.contains("update-ca-certificates"),
        "{why}"
    );
}
