//! End to end: `minroot probe` records what one real run touches inside a root, `pack
//! --probe` packs from the record (with no BIN), and the packed program runs in podman
//! (x86_64) or under qemu-user (aarch64). Plus the record's determinism, and hostile
//! runs and records.
//!
//! Apps live in copies of the Debian test roots made with hard links (`cp -al`, no data
//! copied; nothing writes them: the probe runs the root under an overlay and pack only
//! reads), with the app's own files added. Every external resource goes through
//! `common::require`.

mod common;
use common::have_podman;
use common::podman::podman;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use minroot::arch::Arch;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A copy of a test sysroot (hard links) with `files` added: (path inside, bytes, mode).
struct AppRoot {
    dir: tempfile::TempDir,
}

impl AppRoot {
    fn new(name: &str, files: &[(&str, &[u8], u32)]) -> Option<AppRoot> {
        let base = common::sysroot(name);
        if !common::require(
            &format!("the {name} sysroot (scripts/make-sysroot.sh)"),
            base.is_some(),
        ) {
            return None;
        }
        let base = base.unwrap();
        // Next to the sysroots: hard links need the same file system.
        let dir = tempfile::Builder::new()
            .prefix("probe-app-")
            .tempdir_in(base.parent().unwrap())
            .unwrap();
        let root = dir.path().join("root");
        let st = Command::new("cp")
            .arg("-al")
            .arg(&base)
            .arg(&root)
            .status()
            .unwrap();
        assert!(st.success(), "cp -al {}", base.display());
        for (p, bytes, mode) in files {
            let host = root.join(p.trim_start_matches('/'));
            std::fs::create_dir_all(host.parent().unwrap()).unwrap();
            std::fs::write(&host, bytes).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&host, std::fs::Permissions::from_mode(*mode)).unwrap();
        }
        Some(AppRoot { dir })
    }
    fn path(&self) -> PathBuf {
        self.dir.path().join("root")
    }
}

/// `minroot probe --root ROOT -o OUT ARGS... -- CMD...`, which must succeed.
fn probe(root: &Path, out: &Path, args: &[&str], cmd: &[&str]) -> Output {
    let o = common::minroot()
        .arg("probe")
        .arg("--root")
        .arg(root)
        .arg("-o")
        .arg(out)
        .args(args)
        .arg("--")
        .args(cmd)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "probe {cmd:?}: {:?}\n{}{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    o
}

/// `minroot pack --root ROOT --probe REC... -o OUT ARGS...`, which must succeed.
fn pack(root: &Path, records: &[&Path], out: &Path, args: &[&str]) -> Output {
    let mut c = common::minroot();
    c.env_remove("SOURCE_DATE_EPOCH")
        .arg("pack")
        .arg("--root")
        .arg(root);
    for r in records {
        c.arg("--probe").arg(r);
    }
    let o = c.arg("-o").arg(out).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "pack: {:?}\n{}{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    o
}

fn record(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn listed(rec: &serde_json::Value, kind: &str) -> Vec<String> {
    rec["paths"][kind]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// Runs CMD in an image made of `layer` alone (podman import), returns its output.
fn run_layer(layer: &Path, test: &str, cmd: &[&str]) -> Output {
    let name = format!("localhost/minroot-probe-{test}-{}", std::process::id());
    let o = podman()
        .arg("import")
        .arg(layer)
        .arg(&name)
        .output()
        .unwrap();
    assert!(o.status.success(), "podman import: {}", text(&o.stderr));
    let out = podman()
        .args(["run", "--rm", "--runtime", "runc", "--network", "none"])
        .args([
            "--ulimit",
            "nofile=20000:20000",
            "--ulimit",
            "nproc=1024:1024",
        ])
        .arg(&name)
        .args(cmd)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = podman()
        .args(["rmi", "--force", &name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    out
}

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("minroot-probe-t-")
        .tempdir()
        .unwrap()
}

// ---------------------------------------------------------------------------------------

#[test]
fn shell_script_pipeline_packed_from_its_probe_runs() {
    if !have_podman() {
        return;
    }
    let script = b"#!/bin/sh\nset -e\nprintf 'b\\na\\nc\\n' | sort | grep -v c | tr a-z A-Z | wc -l\nbasename /x/y/z\n";
    let Some(app) = AppRoot::new("amd64", &[("/app/run.sh", script, 0o755)]) else {
        return;
    };
    let t = tmp();
    let rec = t.path().join("run.json");
    let o = probe(&app.path(), &rec, &[], &["/app/run.sh"]);
    assert!(text(&o.stdout).contains("wrote"), "{}", text(&o.stdout));
    let r = record(&rec);
    let executed = listed(&r, "executed");
    for p in ["sort", "grep", "tr", "wc", "basename", "dash"] {
        assert!(
            executed.iter().any(|e| e.ends_with(&format!("/{p}"))),
            "{p} in {executed:?}"
        );
    }
    let layer = t.path().join("l.tar");
    pack(&app.path(), &[&rec], &layer, &[]);
    let out = run_layer(&layer, "pipeline", &["/app/run.sh"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "2\nz\n");
}

/// A file whose name is not UTF-8, opened by the run, is recorded under that name (carried
/// byte for byte, `sysroot::name`), not as a lossy copy the root does not hold (which the
/// record called missing), and the layer packed from the record holds it.
#[test]
fn a_file_whose_name_is_not_utf8_is_recorded_and_packed() {
    use std::os::unix::ffi::OsStrExt;
    let Some(app) = AppRoot::new("amd64", &[]) else {
        return;
    };
    let raw = b"/app/data/caf\xe9.txt";
    let host = app.path().join(std::ffi::OsStr::from_bytes(&raw[1..]));
    std::fs::create_dir_all(host.parent().unwrap()).unwrap();
    std::fs::write(&host, b"latin-1\n").unwrap();
    let t = tmp();
    let rec = t.path().join("run.json");
    let o = probe(
        &app.path(),
        &rec,
        &[],
        &["/bin/sh", "-c", "cat /app/data/*"],
    );
    assert_eq!(text(&o.stdout).lines().next(), Some("latin-1"));
    let r = record(&rec);
    let carried = minroot::sysroot::name::from_bytes(raw).into_owned();
    assert!(
        listed(&r, "opened").contains(&carried),
        "{:?}",
        listed(&r, "opened")
    );
    let missing: Vec<String> = r["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(
        !missing.iter().any(|m| m.starts_with("/app/")),
        "{missing:?}"
    );
    let tree = t.path().join("tree");
    let o = common::minroot()
        .arg("pack")
        .arg("--root")
        .arg(app.path())
        .arg("--probe")
        .arg(&rec)
        .arg("--rootfs")
        .arg(&tree)
        .output()
        .unwrap();
    assert!(o.status.success(), "pack: {}", text(&o.stderr));
    let packed = tree.join(std::ffi::OsStr::from_bytes(&raw[1..]));
    assert_eq!(std::fs::read(&packed).unwrap(), b"latin-1\n");
}

#[test]
fn python_app_with_a_dist_packages_module_packed_from_its_probe_runs() {
    if !have_podman() {
        return;
    }
    let app_py = b"import yaml, json\nprint(json.dumps(yaml.safe_load('a: [1, 2]')), yaml.__with_libyaml__)\n";
    let Some(app) = AppRoot::new("amd64", &[("/app/main.py", app_py, 0o644)]) else {
        return;
    };
    let t = tmp();
    let rec = t.path().join("py.json");
    probe(
        &app.path(),
        &rec,
        &[],
        &["/usr/bin/python3", "/app/main.py"],
    );
    let r = record(&rec);
    assert!(
        listed(&r, "opened")
            .iter()
            .any(|p| p.contains("dist-packages/yaml")),
        "the probe saw the module"
    );
    let probed = t.path().join("probed.tar");
    pack(&app.path(), &[&rec], &probed, &[]);
    let out = run_layer(&probed, "python", &["/usr/bin/python3", "/app/main.py"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "{\"a\": [1, 2]} True\n",
        "the C extension _yaml is traced too"
    );
    // Size: against --include of the whole standard library.
    let whole = t.path().join("whole.tar");
    let o = common::minroot()
        .args(["pack", "--no-runtime", "--root"])
        .arg(app.path())
        .args([
            "--include",
            &format!(
                "/usr/lib/{}",
                common::python_name(&app.path()).expect("/usr/bin/python3 in the root")
            ),
            "--include",
            "/usr/lib/python3/dist-packages",
            "--include",
            "/app",
            "-o",
        ])
        .arg(&whole)
        .arg("/usr/bin/python3")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let (a, b) = (
        std::fs::metadata(&probed).unwrap().len(),
        std::fs::metadata(&whole).unwrap().len(),
    );
    eprintln!(
        "size: probed {a} bytes, --include of the standard library {b} bytes ({:.0}%)",
        100.0 * a as f64 / b as f64
    );
}

#[test]
fn node_app_with_a_debian_module_packed_from_its_probe_runs() {
    if !have_podman() {
        return;
    }
    let js = b"const acorn = require('acorn');\nconsole.log(acorn.parse('x = 1 + 1', {ecmaVersion: 2020}).body[0].expression.type);\n";
    let Some(app) = AppRoot::new("amd64", &[("/app/main.js", js, 0o644)]) else {
        return;
    };
    let t = tmp();
    let rec = t.path().join("node.json");
    probe(&app.path(), &rec, &[], &["/usr/bin/node", "/app/main.js"]);
    assert!(
        listed(&record(&rec), "opened")
            .iter()
            .any(|p| p.starts_with("/usr/share/nodejs/acorn/"))
    );
    let layer = t.path().join("l.tar");
    pack(&app.path(), &[&rec], &layer, &[]);
    let out = run_layer(&layer, "node", &["/usr/bin/node", "/app/main.js"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "AssignmentExpression\n");
}

#[test]
fn server_under_timeout_passes_its_own_config_test_when_packed_from_its_probe() {
    if !have_podman() {
        return;
    }
    let Some(root) = common::sysroot("amd64") else {
        common::require("the amd64 sysroot", false);
        return;
    };
    let t = tmp();
    let rec = t.path().join("nginx.json");
    let o = probe(
        &root,
        &rec,
        &["--timeout", "3"],
        &["/usr/sbin/nginx", "-g", "daemon off;"],
    );
    assert!(
        text(&o.stderr).contains("did not succeed"),
        "a server stopped by the timeout says so"
    );
    let r = record(&rec);
    assert!(
        r["runs"][0]["exit"]["timed_out"].is_object(),
        "{}",
        r["runs"][0]["exit"]
    );
    assert!(listed(&r, "opened").contains(&"/etc/nginx/nginx.conf".to_string()));
    assert!(
        listed(&r, "checked")
            .iter()
            .chain(&listed(&r, "listed"))
            .any(|p| p.starts_with("/var/lib/nginx") || p.starts_with("/var/log/nginx")),
        "the directories it checks"
    );
    let layer = t.path().join("l.tar");
    pack(&root, &[&rec], &layer, &[]);
    let out = run_layer(&layer, "nginx", &["/usr/sbin/nginx", "-t"]);
    assert!(out.status.success(), "nginx -t: {}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("test is successful"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn python_app_in_the_arm64_root_under_qemu_packed_from_its_probe_runs() {
    if !common::require(
        "bwrap and qemu-aarch64-static",
        common::can_run_loader(Arch::Aarch64),
    ) {
        return;
    }
    let app_py = b"import yaml, json, sqlite3\nprint(json.dumps(yaml.safe_load('b: 3')), sqlite3.connect(':memory:').execute('select 6*7').fetchone()[0])\n";
    let Some(app) = AppRoot::new("arm64", &[("/app/main.py", app_py, 0o644)]) else {
        return;
    };
    let t = tmp();
    let rec = t.path().join("arm.json");
    probe(
        &app.path(),
        &rec,
        &[],
        &["/usr/bin/python3", "/app/main.py"],
    );
    let r = record(&rec);
    assert_eq!(r["arch"], "aarch64");
    assert!(
        !serde_json::to_string(&r).unwrap().contains("qemu"),
        "qemu's own lookups are not the program's"
    );
    let layer = t.path().join("l.tar");
    pack(&app.path(), &[&rec], &layer, &[]);
    let dir = t.path().join("unpacked");
    std::fs::create_dir(&dir).unwrap();
    let st = Command::new("tar")
        .arg("-xf")
        .arg(&layer)
        .arg("-C")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(st.success());
    let out = common::run_in_root(
        &dir,
        Arch::Aarch64,
        "/usr/bin/python3",
        &["/app/main.py"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "{\"b\": 3} 42\n");
}

#[test]
fn probes_and_packs_from_records_are_deterministic() {
    let Some(root) = common::sysroot("amd64") else {
        common::require("the amd64 sysroot", false);
        return;
    };
    let t = tmp();
    let cmd = [
        "/usr/bin/python3",
        "-c",
        "import json, email.parser; print(1)",
    ];
    let a = t.path().join("a.json");
    let b = t.path().join("b.json");
    probe(&root, &a, &[], &cmd);
    probe(&root, &b, &[], &cmd);
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "the same run, the same bytes"
    );
    let c = t.path().join("c.json");
    probe(
        &root,
        &c,
        &["--env", "LANG=C.UTF-8"],
        &["/usr/bin/perl", "-MPOSIX", "-e", "print 1"],
    );
    let digest = |records: &[&Path], threads: &str| {
        let out = t.path().join("l.tar");
        let mut cmd = common::minroot();
        cmd.env("RAYON_NUM_THREADS", threads)
            .env_remove("SOURCE_DATE_EPOCH")
            .args(["pack", "--json", "--root"])
            .arg(&root);
        for r in records {
            cmd.arg("--probe").arg(r);
        }
        let o = cmd.arg("-o").arg(&out).output().unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["layer"]["diff_id"].as_str().unwrap().to_string()
    };
    let d1 = digest(&[&a, &c], "1");
    assert_eq!(d1, digest(&[&a, &c], "2"), "thread count");
    assert_eq!(d1, digest(&[&c, &a], "2"), "record order");
}

#[test]
fn hostile_runs_and_records() {
    let Some(root) = common::sysroot("amd64") else {
        common::require("the amd64 sysroot", false);
        return;
    };
    let t = tmp();
    // A fork bomb is bounded, a program that never exits is stopped, the record is written.
    let rec = t.path().join("bomb.json");
    let started = std::time::Instant::now();
    let o = probe(
        &root,
        &rec,
        &["--timeout", "3", "--max-processes", "200"],
        &["/bin/sh", "-c", "f(){ f | f & }; f; sleep 100"],
    );
    assert!(started.elapsed().as_secs() < 20, "stopped in time");
    assert!(text(&o.stderr).contains("did not succeed"));
    let ps = Command::new("pgrep")
        .args(["-f", "f(){ f | f & }"])
        .output()
        .unwrap();
    assert!(
        ps.stdout.is_empty(),
        "nothing of the run is left: {}",
        text(&ps.stdout)
    );
    // A symlink that climbs out of the root resolves inside it.
    let Some(app) = AppRoot::new("amd64", &[]) else {
        return;
    };
    std::os::unix::fs::symlink(
        "../../../../../../etc/os-release",
        app.path().join("escape"),
    )
    .unwrap();
    let esc = t.path().join("esc.json");
    probe(&app.path(), &esc, &[], &["/bin/cat", "/escape"]);
    let r = record(&esc);
    assert!(
        listed(&r, "opened").contains(&"/usr/lib/os-release".to_string()),
        "{:?}",
        listed(&r, "opened")
    );
    // Edited records are refused: `..`, relative, and paths that are not in the root.
    for (bad, what) in [
        ("/usr/../etc/shadow", "not canonical"),
        ("etc/passwd", "not an absolute path"),
        ("/work/main/target/release/minroot", "not in this root"),
    ] {
        let mut v = record(&esc);
        v["paths"]["opened"]
            .as_array_mut()
            .unwrap()
            .push(bad.into());
        let edited = t.path().join("edited.json");
        std::fs::write(&edited, serde_json::to_vec(&v).unwrap()).unwrap();
        let o = common::minroot()
            .args(["pack", "--root"])
            .arg(app.path())
            .arg("--probe")
            .arg(&edited)
            .arg("-o")
            .arg(t.path().join("x.tar"))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains(what), "{bad}: {}", text(&o.stderr));
        assert!(!t.path().join("x.tar").exists());
    }
    // A program that is not there: exit 2, a clear message, no record.
    let o = common::minroot()
        .args(["probe", "--root"])
        .arg(&root)
        .arg("-o")
        .arg(t.path().join("none.json"))
        .args(["--", "/usr/bin/no-such-program"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("/usr/bin/no-such-program: not found in the root"),
        "{}",
        text(&o.stderr)
    );
    assert!(!t.path().join("none.json").exists());
}
