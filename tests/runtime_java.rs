//! End to end: the OpenJDK profile (`src/runtime/java.rs`) and plugin sets (issue 10).
//!
//! - A bare `minroot pack --root R -o l.tar /usr/bin/java` (no --include) is a layer in
//!   which `java -version` runs, and a class using java.util, java.security, the time-zone
//!   database, the trust store and ProcessBuilder (testdata/src/Hello.java, compiled by
//!   scripts/make-fixtures.sh into target/fixtures/java/) runs too. The class comes in a
//!   second layer: `podman build` of `FROM <the minroot layer>` + `COPY Hello.class /app/`
//!   (the root is read-only and the class is no program minroot packs; a build layer on
//!   top is how an application's jar reaches such an image).
//! - The JDK packed with `--include` of its home passes `pack` and `check` and runs.
//! - `check` of the amd64 root has no libjvm.so false positive and still reports what is
//!   genuinely missing; `check` of a layer packed `--no-runtime` names the runtime without
//!   its files (`runtime_incomplete`), for java and for python3.
//! - `trace` of the JDK's `lib/libjava.so` shows libjvm.so as satisfied by the plugin-set
//!   member the JVM loads first.
//!
//! Paths and versions come from the root: the JDK's home is the realpath of
//! `/usr/bin/java` minus `bin/java`. Every resource goes through `common::require`.

mod common;
use common::amd64_root;
use common::have_podman;
use common::podman::podman;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use serde_json::Value;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn tmpdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("minroot-java-")
        .tempdir()
        .unwrap()
}

/// The JDK's home in `root`: the realpath of /usr/bin/java (inside the root) minus
/// `bin/java`, as the launcher finds it; None when the root has no java.
fn java_home(root: &Path) -> Option<String> {
    let r = minroot::sysroot::Root::new(root).ok()?;
    let real = r.resolve("/usr/bin/java").ok()??.path;
    real.strip_suffix("/bin/java").map(str::to_string)
}

fn jdk(root: &Path) -> Option<String> {
    let h = java_home(root);
    common::require(
        "openjdk-17-jre-headless in the amd64 sysroot (scripts/make-sysroot.sh)",
        h.is_some(),
    )
    .then(|| h.unwrap())
}

/// `minroot ARGS...`: status, stdout, stderr.
fn minroot(args: &[&str]) -> (i32, String, String) {
    let o = common::minroot()
        .env_remove("SOURCE_DATE_EPOCH")
        .args(args)
        .output()
        .expect("run minroot");
    (
        o.status.code().unwrap_or(-1),
        text(&o.stdout),
        text(&o.stderr),
    )
}

/// `minroot pack --root ROOT -o OUT ARGS...`, which must succeed.
fn pack(root: &Path, out: &Path, args: &[&str]) -> PathBuf {
    let t = Instant::now();
    let mut all = vec![
        "pack",
        "--root",
        root.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    all.extend(args);
    let (code, stdout, stderr) = minroot(&all);
    assert_eq!(code, 0, "minroot {all:?}:\n{stdout}{stderr}");
    eprintln!(
        "timing: pack {args:?}: {:.2}s, {} bytes\n{stderr}",
        t.elapsed().as_secs_f64(),
        std::fs::metadata(out).unwrap().len()
    );
    out.to_path_buf()
}

/// An image in podman's store, removed on drop.
struct Image {
    name: String,
}

impl Image {
    fn name(test: &str) -> String {
        format!("localhost/minroot-java-{test}-{}", std::process::id())
    }

    /// `podman import LAYER`: the layer is the image's only content.
    fn import(layer: &Path, test: &str) -> Image {
        let name = Image::name(test);
        let o = podman()
            .arg("import")
            .arg(layer)
            .arg(&name)
            .output()
            .expect("podman import");
        assert!(o.status.success(), "podman import: {}", text(&o.stderr));
        Image { name }
    }

    /// `FROM self` + `COPY` of every file of `files` (name, bytes) to `dir`.
    fn with_files(&self, test: &str, dir: &str, files: &[(&str, &[u8])]) -> Image {
        let ctx = tmpdir();
        let mut containerfile = format!("FROM {}\n", self.name);
        for (n, bytes) in files {
            std::fs::write(ctx.path().join(n), bytes).unwrap();
            containerfile.push_str(&format!("COPY {n} {dir}/{n}\n"));
        }
        std::fs::write(ctx.path().join("Containerfile"), containerfile).unwrap();
        let name = Image::name(test);
        let o = podman()
            .args([
                "build",
                "--runtime",
                "runc",
                "--network",
                "none",
                "-t",
                &name,
                "-f",
            ])
            .arg(ctx.path().join("Containerfile"))
            .arg(ctx.path())
            .output()
            .expect("podman build");
        assert!(
            o.status.success(),
            "podman build: {}{}",
            text(&o.stdout),
            text(&o.stderr)
        );
        Image { name }
    }

    fn run(&self, cmd: &[&str]) -> Output {
        let t = Instant::now();
        let o = podman()
            .args(["run", "--rm", "--runtime", "runc", "--network", "none"])
            .args([
                "--ulimit",
                "nofile=20000:20000",
                "--ulimit",
                "nproc=1024:1024",
            ])
            .arg(&self.name)
            .args(cmd)
            .stdin(Stdio::null())
            .output()
            .expect("podman run");
        eprintln!(
            "timing: podman run {cmd:?}: {:.2}s",
            t.elapsed().as_secs_f64()
        );
        o
    }

    fn run_ok(&self, cmd: &[&str]) -> Output {
        let o = self.run(cmd);
        assert!(
            o.status.success(),
            "{cmd:?} in {} exited {:?}:\nstdout: {}\nstderr: {}",
            self.name,
            o.status.code(),
            text(&o.stdout),
            text(&o.stderr)
        );
        o
    }

    fn assert_no_shell(&self) {
        let o = self.run(&["/bin/sh", "-c", "true"]);
        assert!(!o.status.success(), "/bin/sh ran in {}", self.name);
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

/// Names in a layer (GNU tar).
fn layer_names(layer: &Path) -> Vec<String> {
    let o = Command::new("tar").arg("-tf").arg(layer).output().unwrap();
    assert!(o.status.success());
    text(&o.stdout).lines().map(str::to_string).collect()
}

/// `minroot files --format json`'s entries.
fn files_json(root: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec![
        "files",
        "--root",
        root.to_str().unwrap(),
        "--format",
        "json",
    ];
    all.extend(args);
    let (code, out, err) = minroot(&all);
    assert_eq!(code, 0, "{all:?}: {err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    v["entries"].as_array().unwrap().clone()
}

/// `minroot check --json TARGET`: status and report.
fn check_json(target: &Path) -> (i32, Value) {
    let (code, out, err) = minroot(&["check", "--json", target.to_str().unwrap()]);
    assert!(code == 0 || code == 1, "check {target:?}: {code} {err}");
    (code, serde_json::from_str(&out).unwrap())
}

fn findings(report: &Value) -> Vec<Value> {
    report["findings"].as_array().unwrap().clone()
}

/// The class of testdata/src/Hello.java.
fn hello_class() -> Option<Vec<u8>> {
    let f = common::fixture("java").map(|d| d.join("Hello.class"));
    let f = f.filter(|f| f.is_file());
    common::require(
        "target/fixtures/java/Hello.class (scripts/make-fixtures.sh java, with openjdk-17-jdk-headless)",
        f.is_some(),
    )
    .then(|| std::fs::read(f.unwrap()).unwrap())
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

#[test]
fn r_issue_10_a_bare_java_layer_runs_java_util_and_java_security() {
    let (true, Some(root)) = (have_podman(), amd64_root()) else {
        return;
    };
    let (Some(home), Some(class)) = (jdk(&root), hello_class()) else {
        return;
    };
    let t = Instant::now();
    let d = tmpdir();
    let layer = pack(&root, &d.path().join("java.tar"), &["/usr/bin/java"]);
    let names = layer_names(&layer);
    let has = |p: &str| names.iter().any(|n| n == p.trim_start_matches('/'));
    let rel = |p: &str| format!("{home}/{p}");
    for p in [
        "lib/libjava.so",
        "lib/server/libjvm.so",
        "lib/modules",
        "lib/jvm.cfg",
        "lib/tzdb.dat",
        "lib/jspawnhelper",
        "conf/security/java.security",
        "release",
    ] {
        assert!(has(&rel(p)), "{p} is not in the layer");
    }
    // What a JRE never reads at run time stays out.
    for p in ["lib/ct.sym", "lib/jexec", "bin/keytool", "legal", "man"] {
        assert!(!has(&rel(p)), "{p} is in the layer");
    }
    // Debian's links into /etc/java-17-openjdk are kept, with their targets.
    let cfg = root.join(rel("lib/jvm.cfg").trim_start_matches('/'));
    if let Ok(target) = std::fs::read_link(&cfg) {
        assert!(
            has(target.to_str().unwrap()),
            "{target:?} (jvm.cfg's target)"
        );
    }
    // The trust store a maintainer script made, when the root has it.
    let cacerts_link = root.join(rel("lib/security/cacerts").trim_start_matches('/'));
    let cacerts = minroot::sysroot::Root::new(&root)
        .unwrap()
        .resolve(&rel("lib/security/cacerts"))
        .unwrap()
        .map(|r| r.path);
    assert!(cacerts_link.symlink_metadata().is_ok());
    if let Some(c) = &cacerts {
        assert!(has(c), "{c} (cacerts' target)");
    }

    let base = Image::import(&layer, "bare");
    let o = base.run_ok(&["/usr/bin/java", "-version"]);
    let version = text(&o.stderr);
    assert!(version.contains("OpenJDK"), "{version}");
    base.assert_no_shell();

    let img = base.with_files("hello", "/app", &[("Hello.class", &class)]);
    let o = img.run_ok(&["/usr/bin/java", "-cp", "/app", "Hello"]);
    let out = text(&o.stdout);
    let want = [
        format!("hello from {home}"),
        "map: {a=1, b=2}".to_string(),
        format!("sha256: {}", sha256_hex(b"minroot")),
        "securerandom: 16 bytes".to_string(),
        "zone: +01:00".to_string(),
    ];
    for w in &want {
        assert!(out.lines().any(|l| l == w), "missing {w:?} in:\n{out}");
    }
    let certs = out
        .lines()
        .find_map(|l| l.strip_prefix("cacerts: "))
        .unwrap_or_else(|| panic!("{out}"));
    if cacerts.is_some() {
        let n: u64 = certs
            .strip_suffix(" certificates")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{certs}"));
        assert!(n > 0, "{out}");
    } else {
        assert_eq!(certs, "absent");
    }
    assert!(out.lines().any(|l| l == "spawn: exit 0"), "{out}");
    eprintln!(
        "timing: java bare total {:.2}s ({} entries)",
        t.elapsed().as_secs_f64(),
        names.len()
    );
}

#[test]
fn r_issue_10_files_says_why_each_jdk_file_is_there() {
    let Some(root) = amd64_root() else {
        return;
    };
    let Some(home) = jdk(&root) else {
        return;
    };
    let entries = files_json(&root, &["/usr/bin/java"]);
    let reason = |p: &str| -> Value {
        entries
            .iter()
            .find(|e| e["path"] == p)
            .map(|e| e["reason"].clone())
            .unwrap_or_else(|| panic!("{p} not selected"))
    };
    let modules = reason(&format!("{home}/lib/modules"));
    assert_eq!(modules["kind"], "runtime");
    assert_eq!(modules["runtime"], "OpenJDK");
    assert_eq!(modules["home"], home.as_str());
    // libjvm.so is the plugin-set member loaded first; it satisfies libjava.so & co.
    let jvm = reason(&format!("{home}/lib/server/libjvm.so"));
    assert_eq!(jvm["kind"], "set_provider", "{jvm}");
    assert_eq!(jvm["soname"], "libjvm.so");
    assert_eq!(jvm["member"]["kind"], "runtime");
    assert_eq!(jvm["set"]["of"], "runtime");
    let to: Vec<&str> = jvm["to"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        to.contains(&format!("{home}/lib/libjava.so").as_str()),
        "{to:?}"
    );
    assert!(
        to.contains(&format!("{home}/lib/libzip.so").as_str()),
        "{to:?}"
    );
    // jspawnhelper is a program of the runtime: traced, not dropped as an undlopenable PIE.
    assert_eq!(
        reason(&format!("{home}/lib/jspawnhelper"))["kind"],
        "runtime"
    );
    // With --include of the home the same member says so, for the included set.
    let entries = files_json(&root, &["--include", &home, "/usr/bin/java"]);
    let jvm = entries
        .iter()
        .find(|e| e["path"] == format!("{home}/lib/server/libjvm.so").as_str())
        .unwrap();
    assert_eq!(jvm["reason"]["kind"], "set_provider");
    assert_eq!(jvm["reason"]["set"]["of"], "includes");
    assert_eq!(jvm["reason"]["member"]["kind"], "include");
}

#[test]
fn r_issue_10_the_jdk_home_included_passes_pack_and_check_and_runs() {
    let (true, Some(root)) = (have_podman(), amd64_root()) else {
        return;
    };
    let Some(home) = jdk(&root) else {
        return;
    };
    let d = tmpdir();
    // Before plugin sets: exit 1, "lib/libzip.so needs libjvm.so, which is not found".
    let layer = pack(
        &root,
        &d.path().join("jdk.tar"),
        &["--include", &home, "/usr/bin/java"],
    );
    let (code, report) = check_json(&layer);
    let errors: Vec<Value> = findings(&report)
        .into_iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    assert_eq!(code, 0, "{errors:#?}");
    let img = Image::import(&layer, "jdk");
    let o = img.run_ok(&["/usr/bin/java", "-version"]);
    assert!(text(&o.stderr).contains("OpenJDK"));

    // A library the set genuinely misses is still reported, and only that: remove the
    // zlib that lib/libzip.so needs from the unpacked layer.
    let dir = d.path().join("unpacked");
    std::fs::create_dir(&dir).unwrap();
    let st = Command::new("tar")
        .arg("-xf")
        .arg(&layer)
        .arg("-C")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(st.success());
    let r = minroot::sysroot::Root::new(&dir).unwrap();
    let zlib = r
        .resolve("/lib/x86_64-linux-gnu/libz.so.1")
        .unwrap()
        .unwrap()
        .path;
    std::fs::remove_file(dir.join(zlib.trim_start_matches('/'))).unwrap();
    let (code, report) = check_json(&dir);
    assert_eq!(code, 1);
    let missing: Vec<(String, String)> = findings(&report)
        .iter()
        .filter(|f| f["kind"] == "missing_library")
        .map(|f| {
            (
                f["elf"].as_str().unwrap().to_string(),
                f["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        missing.contains(&(format!("{home}/lib/libzip.so"), "libz.so.1".into())),
        "{missing:?}"
    );
    assert!(
        missing.iter().all(|(_, n)| n == "libz.so.1"),
        "only libz.so.1 is missing: {missing:?}"
    );
}

#[test]
fn r_issue_10_check_of_the_root_has_no_libjvm_false_positive() {
    let Some(root) = amd64_root() else {
        return;
    };
    let Some(home) = jdk(&root) else {
        return;
    };
    let (_, report) = check_json(&root);
    let missing: Vec<(String, String)> = findings(&report)
        .iter()
        .filter(|f| f["kind"] == "missing_library")
        .map(|f| {
            (
                f["elf"].as_str().unwrap().to_string(),
                f["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        !missing.iter().any(|(_, n)| n == "libjvm.so"),
        "libjvm.so false positives: {missing:?}"
    );
    assert!(
        !missing
            .iter()
            .any(|(e, _)| e.starts_with(&format!("{home}/"))),
        "{missing:?}"
    );
    assert!(
        !findings(&report)
            .iter()
            .any(|f| f["kind"] == "runtime_incomplete"),
        "the root's runtimes are complete"
    );
    // What check still names is genuinely missing: the loader alone (trace) misses it too.
    for (elf, name) in &missing {
        let (code, out, _) = minroot(&[
            "trace",
            "--root",
            root.to_str().unwrap(),
            "--format",
            "list",
            elf,
        ]);
        assert_eq!(code, 1, "{elf}");
        assert!(
            out.lines().any(|l| l == format!("{name} => not found")),
            "{elf}: {out}"
        );
    }
    // And a plain trace of a JDK library still shows what the loader alone would do.
    let (code, out, _) = minroot(&[
        "trace",
        "--root",
        root.to_str().unwrap(),
        "--format",
        "list",
        &format!("{home}/lib/server/libjvm.so"),
    ]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn r_issue_10_trace_of_libjava_shows_the_set_member() {
    let Some(root) = amd64_root() else {
        return;
    };
    let Some(home) = jdk(&root) else {
        return;
    };
    let libjava = format!("{home}/lib/libjava.so");
    let jvm = format!("{home}/lib/server/libjvm.so");
    let r = root.to_str().unwrap();
    let (code, out, err) = minroot(&["trace", "--root", r, &libjava]);
    assert_eq!(code, 0, "{out}{err}");
    let line = out
        .lines()
        .find(|l| l.contains("libjvm.so ["))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.ends_with(&format!(
            "libjvm.so [loaded first by the host: a member of OpenJDK's plugin set ({home})] {jvm}"
        )),
        "{line}"
    );
    assert!(!out.contains("not found"), "{out}");
    assert!(out.contains("note: traced as a member of"), "{out}");

    let (code, out, _) = minroot(&["trace", "--root", r, "--format", "json", &libjava]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    let p = &v["programs"][0];
    assert_eq!(p["complete"], true);
    assert_eq!(p["missing"].as_array().unwrap().len(), 0);
    assert_eq!(p["plugin_set"]["runtime"], "OpenJDK");
    assert_eq!(p["plugin_set"]["home"], home.as_str());
    assert_eq!(p["plugin_set"]["loaded_first"][0], jvm.as_str());
    let sat = &p["plugin_set"]["satisfied"][0];
    assert_eq!(sat["name"], "libjvm.so");
    assert_eq!(sat["requested_by"], libjava.as_str());
    assert_eq!(sat["path"], jvm.as_str());
}

#[test]
fn r_issue_10_check_names_a_runtime_without_its_files() {
    let Some(root) = amd64_root() else {
        return;
    };
    let Some(home) = jdk(&root) else {
        return;
    };
    let d = tmpdir();
    // java: the old layer (--no-runtime) has the launcher and libjli.so, no class library.
    let layer = pack(
        &root,
        &d.path().join("java.tar"),
        &["--no-runtime", "/usr/bin/java"],
    );
    let (code, report) = check_json(&layer);
    assert_eq!(code, 1);
    let rt: Vec<Value> = findings(&report)
        .into_iter()
        .filter(|f| f["kind"] == "runtime_incomplete")
        .collect();
    assert_eq!(rt.len(), 1, "{rt:#?}");
    assert_eq!(rt[0]["severity"], "error");
    assert_eq!(rt[0]["program"], format!("{home}/bin/java").as_str());
    assert_eq!(rt[0]["runtime"], "OpenJDK");
    assert!(
        rt[0]["looked_for"]
            .as_array()
            .unwrap()
            .contains(&Value::from(format!("{home}/lib/libjava.so"))),
        "{rt:#?}"
    );
    // The full layer is complete.
    let full = pack(&root, &d.path().join("full.tar"), &["/usr/bin/java"]);
    let (code, report) = check_json(&full);
    assert_eq!(code, 0, "{:#?}", findings(&report));

    // python3: check agrees with pack on whether it is a runtime with a profile (the
    // CPython profile is runtime/python.rs). When pack adds its standard library,
    // check of the --no-runtime layer must say it is missing.
    let python = "/usr/bin/python3";
    let has_profile = files_json(&root, &[python])
        .iter()
        .any(|e| e["reason"]["kind"] == "runtime");
    let layer = pack(
        &root,
        &d.path().join("python.tar"),
        &["--no-runtime", python],
    );
    let (_, report) = check_json(&layer);
    let named: Vec<Value> = findings(&report)
        .into_iter()
        .filter(|f| f["kind"] == "runtime_incomplete")
        .collect();
    if has_profile {
        assert_eq!(named.len(), 1, "{named:#?}");
        assert!(
            named[0]["program"]
                .as_str()
                .unwrap()
                .contains("/bin/python3"),
            "{named:#?}"
        );
    } else {
        eprintln!("python3: no runtime profile in this build; check names nothing: {named:?}");
        assert!(named.is_empty(), "{named:#?}");
    }
}

#[test]
fn r_issue_10_no_runtime_is_the_layer_of_before_runtimes() {
    let Some(root) = amd64_root() else {
        return;
    };
    let Some(home) = jdk(&root) else {
        return;
    };
    let d = tmpdir();
    let old = pack(
        &root,
        &d.path().join("old.tar"),
        &["--no-runtime", "/usr/bin/java"],
    );
    let new = pack(&root, &d.path().join("new.tar"), &["/usr/bin/java"]);
    let (old_names, new_names) = (layer_names(&old), layer_names(&new));
    let modules = format!("{home}/lib/modules");
    assert!(!old_names.iter().any(|n| *n == modules[1..]));
    assert!(new_names.iter().any(|n| *n == modules[1..]));
    for n in &old_names {
        assert!(new_names.contains(n), "{n} only in the --no-runtime layer");
    }
    // Byte for byte the layer of a minroot from before runtime profiles
    // (scripts/test.sh sets MINROOT_BASELINE: scripts/baseline.sh).
    let Some(baseline) = common::baseline() else {
        return;
    };
    let keytool = format!("{home}/bin/keytool");
    for (name, program) in [("java", "/usr/bin/java"), ("keytool", keytool.as_str())] {
        let a = d.path().join(format!("{name}-baseline.tar"));
        let o = Command::new(&baseline)
            .env_remove("SOURCE_DATE_EPOCH")
            .args([
                "pack",
                "--no-package-db",
                "--root",
                root.to_str().unwrap(),
                "-o",
                a.to_str().unwrap(),
            ])
            .arg(program)
            .output()
            .expect("run MINROOT_BASELINE");
        assert!(o.status.success(), "{}", text(&o.stderr));
        // Without the package database, whose md5sums name files where the layer has
        // them since issue 13, item 9 (tests/no_runtime.rs compares those entry by entry).
        let b = pack(
            &root,
            &d.path().join(format!("{name}-no-runtime.tar")),
            &["--no-runtime", "--no-package-db", program],
        );
        assert!(
            std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
            "{name}: --no-runtime differs from {baseline:?}"
        );
    }
}
