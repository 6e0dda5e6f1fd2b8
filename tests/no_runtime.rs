//! `--no-runtime` is the layer minroot made before language runtimes existed, byte for
//! byte: for every runtime program of both test roots, `pack --no-runtime` is compared
//! with the layer of the minroot of the last commit before runtime profiles
//! (`scripts/baseline.sh`, MINROOT_BASELINE), in a plain tar, a gzip tar and an OCI
//! archive.

mod common;

use std::path::Path;

fn pack(bin: &Path, root: &Path, out: &Path, extra: &[&str], program: &str) {
    let o = std::process::Command::new(bin)
        .env_remove("SOURCE_DATE_EPOCH")
        .arg("pack")
        .arg("--root")
        .arg(root)
        .args(extra)
        .arg(program)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{} pack {program}: {}",
        bin.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.exists());
}

#[test]
fn no_runtime_layers_are_the_layers_of_before_runtimes() {
    let Some(old) = common::baseline() else {
        return;
    };
    let new = Path::new(env!("CARGO_BIN_EXE_minroot"));
    let mut compared = 0;
    for (name, programs) in [
        (
            "amd64",
            &[
                "/usr/bin/python3",
                "/usr/bin/perl",
                "/usr/bin/node",
                "/usr/bin/java",
            ][..],
        ),
        ("arm64", &["/usr/bin/python3", "/usr/bin/perl"][..]),
    ] {
        let Some(root) = common::sysroot(name) else {
            common::require(&format!("the {name} sysroot"), false);
            continue;
        };
        for program in programs {
            let d = tempfile::tempdir().unwrap();
            for out in ["l.tar", "l.tar.gz", "o.tar"] {
                let (a, b) = (
                    d.path().join(format!("old-{out}")),
                    d.path().join(format!("new-{out}")),
                );
                let flag = if out == "o.tar" {
                    "--oci-archive"
                } else {
                    "-o"
                };
                pack(&old, &root, &a, &[flag, a.to_str().unwrap()], program);
                pack(
                    new,
                    &root,
                    &b,
                    &["--no-runtime", flag, b.to_str().unwrap()],
                    program,
                );
                assert!(
                    std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
                    "{name} {program} {out}: --no-runtime differs from the layer of before runtimes"
                );
                compared += 1;
            }
        }
    }
    assert!(
        compared >= 18 || !common::require_all(),
        "{compared} layers compared"
    );
}
