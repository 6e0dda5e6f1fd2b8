//! Images made and shipped as users make and ship them, end to end.
//!
//! - Inside a build engine: the multi-stage Containerfile of `examples/containerfile/`
//!   (the one the README shows, checked to be the same bytes) is built by `podman build`
//!   with a build stage made from the amd64 test sysroot; minroot comes into that stage as
//!   its own relocatable bundle and packs a Python script into `/out`, which the final
//!   `FROM scratch` stage copies. The image runs, prints what the script computes, as
//!   nonroot, and has no shell. The bundle also runs in a root with no glibc at all.
//! - Out to a registry: a two-platform `minroot build` is pushed with `skopeo copy --all`
//!   to a real registry (Debian's `docker-registry`, started here on 127.0.0.1 and
//!   stopped when the test ends, even when it fails); the digests the registry serves
//!   for the tag and for each platform are the ones minroot printed; `podman pull
//!   --platform` takes each platform's image back, and the amd64 one runs.
//!
//! Images are named `minroot-test-build-*` (with the process id) and removed when each
//! test ends, through `common::podman::Podman`. Each test prints its steps' times and
//! sizes (`--nocapture` shows them).

mod common;
use common::amd64_root;
use common::have_podman;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::podman::{Podman, assert_no_shell};
use serde_json::Value;
use sha2::{Digest, Sha256};

const MT_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MT_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

// ---------------------------------------------------------------------------------------
// Resources

fn arm64_root() -> Option<PathBuf> {
    let r = common::sysroot("arm64");
    common::require("the arm64 sysroot (scripts/make-sysroot.sh)", r.is_some()).then(|| r.unwrap())
}

fn have(prog: &str, package: &str) -> bool {
    common::require(
        &format!("{prog} (Debian's {package}, scripts/deps.sh)"),
        common::have(prog),
    )
}

fn tmpdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("minroot-image-build-")
        .tempdir()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn sha256(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Runs an external command, which must succeed; returns its stdout.
fn tool(cmd: &mut Command) -> Vec<u8> {
    let t = Instant::now();
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?} exited {:?}:\nstdout: {}\nstderr: {}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    eprintln!("timing: {:?}: {:.2}s", cmd, t.elapsed().as_secs_f64());
    o.stdout
}

/// `minroot ARGS...`, which must succeed; returns stdout.
fn minroot_ok(args: &[&str]) -> String {
    let mut c = common::minroot();
    c.env_remove("SOURCE_DATE_EPOCH").args(args);
    text(&tool(&mut c))
}

/// A podman image name of this test file and process.
fn image_name(what: &str) -> String {
    format!(
        "localhost/minroot-test-build-{what}-{}:1",
        std::process::id()
    )
}

// ---------------------------------------------------------------------------------------
// minroot as a bundle

/// Bundles the minroot under test into `dest` (a directory), as the README says.
fn bundle_minroot(dest: &Path) {
    let exe = env!("CARGO_BIN_EXE_minroot");
    let out = minroot_ok(&["bundle", "-o", dest.to_str().unwrap(), exe]);
    assert!(out.contains("bin/minroot"), "{out}");
}

/// minroot is no language runtime: its binary holds the name of every symbol the
/// runtime profiles look for (`Py_BytesMain`, `perl_parse`...), which made `files`
/// and `bundle` of minroot itself take it for CPython and fail (exit 1, "names no
/// version") before the profiles looked at exported symbols only. Its bundle runs in a
/// root that has no glibc at all (a static busybox as /bin/sh for the launcher).
#[test]
fn minroot_bundles_itself_and_runs_without_a_libc() {
    let exe = env!("CARGO_BIN_EXE_minroot");
    let (code, out, err) = common::run(&["files", exe]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("runtime:"), "{out}");
    assert!(out.contains("libc.so.6"), "{out}");

    let d = tmpdir();
    let bare = d.path().join("bare");
    std::fs::create_dir_all(bare.join("opt")).unwrap();
    bundle_minroot(&bare.join("opt/minroot"));
    let busybox = Path::new("/bin/busybox");
    let (true, true) = (
        common::require("bwrap", common::have("bwrap")),
        common::require("a static /bin/busybox (busybox-static)", busybox.is_file()),
    ) else {
        return;
    };
    std::fs::create_dir_all(bare.join("bin")).unwrap();
    std::fs::copy(busybox, bare.join("bin/sh")).unwrap();
    let o = Command::new("bwrap")
        .arg("--bind")
        .arg(&bare)
        .args(["/", "--proc", "/proc", "--dev", "/dev", "--unshare-all"])
        .args(["--clearenv", "/opt/minroot/bin/minroot", "--version"])
        .output()
        .unwrap();
    assert!(
        o.status.success() && text(&o.stdout).starts_with("minroot "),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    // Nothing of the root's but the shell: the loader and libc came with the bundle.
    assert!(!bare.join("lib").exists() && !bare.join("usr").exists());
}

// ---------------------------------------------------------------------------------------
// Inside a build engine

/// The example's directory.
fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/containerfile")
}

/// The body of the first fenced block of `lang` in README.md's section `heading`.
fn readme_block(heading: &str, lang: &str) -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README.md has no section {heading:?}"));
    let section = &readme[start + heading.len() + 2..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let fence = format!("```{lang}\n");
    let body = &section[section
        .find(&fence)
        .unwrap_or_else(|| panic!("{heading} has no {lang} block"))
        + fence.len()..];
    body[..body.find("```\n").expect("a closed block")].to_string()
}

/// The README shows the very files the build test builds.
#[test]
fn readme_shows_the_tested_containerfile() {
    let dir = example_dir();
    for (lang, file) in [("dockerfile", "Containerfile"), ("python", "app/hello.py")] {
        assert_eq!(
            readme_block("## In a Dockerfile", lang),
            std::fs::read_to_string(dir.join(file)).unwrap(),
            "README.md's {lang} block is not examples/containerfile/{file}"
        );
    }
}

/// `tar` of the amd64 sysroot on stdout, as a fat build stage: everything but what no
/// build reads (the JVM, documentation, manual pages, translations), which only makes
/// the import slower.
fn sysroot_tar(root: &Path) -> Command {
    let mut c = Command::new("tar");
    c.arg("-C").arg(root).args(["--numeric-owner", "-c"]);
    for skip in [
        "./usr/lib/jvm",
        "./usr/share/doc",
        "./usr/share/man",
        "./usr/share/locale",
        "./proc",
        "./sys",
        "./dev",
    ] {
        c.arg(format!("--exclude={skip}"));
    }
    c.arg(".");
    c
}

/// The multi-stage Containerfile of the README builds with `podman build` from a fat
/// Debian stage (the amd64 sysroot imported as an image), with minroot as its bundle in
/// the build context, and the `FROM scratch` result runs the script as nonroot and has
/// no shell.
#[test]
fn containerfile_multi_stage_build_runs() {
    let (Some(root), true) = (amd64_root(), have_podman()) else {
        return;
    };
    let t = Instant::now();
    let d = tmpdir();
    // The build context: the example as documented, and minroot's bundle.
    let ctx = d.path().join("context");
    std::fs::create_dir_all(ctx.join("app")).unwrap();
    for f in ["Containerfile", "app/hello.py"] {
        std::fs::copy(example_dir().join(f), ctx.join(f)).unwrap();
    }
    bundle_minroot(&ctx.join("minroot"));

    let mut p = Podman::default();
    let base = image_name("base");
    p.import_from(sysroot_tar(&root), &base);
    let image = image_name("hello");
    let containerfile = ctx.join("Containerfile");
    let base_arg = format!("BASE={base}");
    // --layers=false: no cached intermediate images are left behind.
    p.build_with(
        &ctx,
        &image,
        &[
            "--network",
            "none",
            "--layers=false",
            "--build-arg",
            &base_arg,
            "-f",
            containerfile.to_str().unwrap(),
        ],
    );

    let out = p.run_ok(&[], &image, &[]);
    let v: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{out}: {e}"));
    assert_eq!(v["hello"], "from scratch", "{v}");
    assert_eq!(v["uid"], 65532, "{v}");
    assert!(v["python"].as_str().unwrap().starts_with("3.11."), "{v}");
    assert_eq!(
        format!("sha256:{}", v["sha256"].as_str().unwrap()),
        sha256(b"minroot"),
        "{v}"
    );
    assert_no_shell(&p, &image);

    let (fat, small) = (p.inspect(&base), p.inspect(&image));
    assert_eq!(
        small["Config"]["Entrypoint"],
        serde_json::json!(["python3", "/app/hello.py"])
    );
    assert_eq!(small["Config"]["User"], "65532");
    assert_eq!(small["RootFS"]["Layers"].as_array().unwrap().len(), 1);
    eprintln!(
        "size: build stage {} bytes, final image {} bytes",
        fat["Size"], small["Size"]
    );
    eprintln!(
        "timing: containerfile total {:.2}s",
        t.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------
// Out to a registry

/// A `docker-registry serve` on 127.0.0.1 with its storage in a temporary directory;
/// killed when dropped.
struct Registry {
    child: Child,
    /// `127.0.0.1:PORT`.
    addr: String,
    _dir: tempfile::TempDir,
}

impl Registry {
    /// Starts a registry on a free port (another port if the one found was taken in the
    /// meantime), and waits until it answers `GET /v2/`.
    fn start() -> Registry {
        let mut dir = tmpdir();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .unwrap()
                .port();
            let addr = format!("127.0.0.1:{port}");
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
                     http:\n  addr: {addr}\n",
                    dir.path().join("storage").display()
                ),
            )
            .unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start docker-registry");
            let mut reg = Registry {
                child,
                addr,
                _dir: dir,
            };
            if reg.wait_ready() {
                return reg;
            }
            let log = std::fs::read_to_string(reg._dir.path().join("registry.log")).unwrap();
            eprintln!("registry on {} did not start: {log}", reg.addr);
            dir = std::mem::replace(&mut reg._dir, tmpdir());
        }
        panic!("docker-registry did not start on any of 5 ports");
    }

    /// Whether the registry answers, within 30 s, while it runs.
    fn wait_ready(&mut self) -> bool {
        let url = format!("http://{}/v2/", self.addr);
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(30) {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            let ok = Command::new("curl")
                .args(["-sf", "-o", "/dev/null", &url])
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                eprintln!(
                    "timing: registry up on {} in {:.2}s",
                    self.addr,
                    t.elapsed().as_secs_f64()
                );
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// `GET /v2/REPO/manifests/REFERENCE` with `Accept: ACCEPT`: the
    /// Docker-Content-Digest and Content-Type headers, and the body.
    fn manifest(&self, repo: &str, reference: &str, accept: &[&str]) -> (String, String, Vec<u8>) {
        let d = tmpdir();
        let (headers, body) = (d.path().join("headers"), d.path().join("body"));
        let mut c = Command::new("curl");
        c.args(["-sf", "-D"]).arg(&headers).arg("-o").arg(&body);
        for a in accept {
            c.args(["-H", &format!("Accept: {a}")]);
        }
        c.arg(format!(
            "http://{}/v2/{repo}/manifests/{reference}",
            self.addr
        ));
        tool(&mut c);
        let headers = std::fs::read_to_string(&headers).unwrap();
        let header = |name: &str| -> String {
            headers
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                })
                .unwrap_or_else(|| panic!("no {name} header in {headers}"))
        };
        (
            header("Docker-Content-Digest"),
            header("Content-Type"),
            std::fs::read(&body).unwrap(),
        )
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A two-platform image from `minroot build` goes to a real registry with `skopeo copy
/// --all` and comes back with `podman pull --platform`: the registry serves, under the
/// tag, the index minroot printed (`index_digest`), and under each platform's manifest
/// digest that manifest; podman resolves each platform through it to the image whose id
/// is that platform's config digest; the amd64 image runs.
#[test]
fn two_platform_build_pushed_to_a_registry_and_pulled_per_platform() {
    let (Some(_), Some(_), true, true, true, true) = (
        amd64_root(),
        arm64_root(),
        have("skopeo", "skopeo"),
        have_podman(),
        have("docker-registry", "docker-registry"),
        have("curl", "curl"),
    ) else {
        return;
    };
    let t = Instant::now();
    let d = tmpdir();
    let pid = std::process::id();
    let spec_dir = d.path().join("spec");
    std::fs::create_dir_all(&spec_dir).unwrap();
    std::os::unix::fs::symlink(common::sysroots_dir(), spec_dir.join("roots")).unwrap();
    let spec = spec_dir.join("minroot.toml");
    // The label makes the configs (and so podman's image ids) this process's own.
    std::fs::File::create(&spec)
        .unwrap()
        .write_all(
            format!(
                "bins = [\"/usr/bin/curl\"]\n[image]\ntag = \"curl:8\"\ncmd = [\"--version\"]\n\
                 [image.labels]\n\"minroot.test\" = \"image-build-{pid}\"\n\
                 [[platform]]\nname = \"linux/amd64\"\nroot = \"roots/amd64\"\n\
                 [[platform]]\nname = \"linux/arm64\"\nroot = \"roots/arm64\"\n"
            )
            .as_bytes(),
        )
        .unwrap();
    let oci = d.path().join("img");
    let out = minroot_ok(&[
        "build",
        spec.to_str().unwrap(),
        "--oci",
        oci.to_str().unwrap(),
        "--json",
    ]);
    let written: Vec<Value> = serde_json::from_str(&out).unwrap();
    let printed = |platform: &str, key: &str| -> String {
        written
            .iter()
            .find(|w| w["platform"] == platform)
            .and_then(|w| w[key].as_str())
            .unwrap_or_else(|| panic!("no {key} for {platform} in {out}"))
            .to_string()
    };
    let index_digest = printed("linux/amd64", "index_digest");
    assert_eq!(printed("linux/arm64/v8", "index_digest"), index_digest);
    let platforms = [
        ("linux/amd64", "amd64", "x86_64"),
        ("linux/arm64/v8", "arm64", "aarch64"),
    ];

    let reg = Registry::start();
    let repo = format!("minroot-test-build-curl-{pid}");
    let remote = format!("{}/{repo}:8", reg.addr);
    tool(
        Command::new("skopeo")
            .args(["copy", "--all", "--dest-tls-verify=false"])
            .arg(format!("oci:{}:curl:8", oci.display()))
            .arg(format!("docker://{remote}")),
    );

    // Under the tag: the index, the very bytes minroot wrote.
    let raw = tool(
        Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{remote}")),
    );
    assert_eq!(sha256(&raw), index_digest, "skopeo inspect --raw");
    let (digest, media_type, body) = reg.manifest(&repo, "8", &[MT_INDEX, MT_MANIFEST]);
    assert_eq!(digest, index_digest, "Docker-Content-Digest of the tag");
    assert_eq!(media_type, MT_INDEX);
    assert_eq!(body, raw);
    let index: Value = serde_json::from_slice(&body).unwrap();
    let listed: Vec<(String, String)> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let p = &m["platform"];
            let mut name = format!("linux/{}", p["architecture"].as_str().unwrap());
            if let Some(v) = p["variant"].as_str() {
                name = format!("{name}/{v}");
            }
            (name, m["digest"].as_str().unwrap().to_string())
        })
        .collect();
    let want: Vec<(String, String)> = platforms
        .iter()
        .map(|(p, _, _)| (p.to_string(), printed(p, "manifest_digest")))
        .collect();
    assert_eq!(listed, want, "the index lists minroot's manifests");
    // Under each manifest digest: that manifest, naming minroot's config.
    for (platform, _, _) in platforms {
        let m = printed(platform, "manifest_digest");
        let (digest, media_type, body) = reg.manifest(&repo, &m, &[MT_MANIFEST]);
        assert_eq!(
            (digest.as_str(), media_type.as_str()),
            (m.as_str(), MT_MANIFEST)
        );
        assert_eq!(sha256(&body), m);
        let man: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(man["config"]["digest"], printed(platform, "config_digest"));
    }

    // Pulled back per platform: podman's image id is the platform's config digest.
    let mut p = Podman::default();
    for (platform, arch, uname) in platforms {
        let id = p.pull(
            &remote,
            &["--tls-verify=false", "--platform", &format!("linux/{arch}")],
        );
        let config = printed(platform, "config_digest");
        assert_eq!(format!("sha256:{id}"), config, "{platform}");
        let i = p.inspect(&remote);
        assert_eq!(i["Architecture"], arch, "{platform}");
        assert_eq!(
            i["Digest"],
            index_digest.as_str(),
            "{platform}: pulled by the tag"
        );
        if arch == "amd64" {
            let out = p.run_ok(&[], &remote, &[]);
            assert!(out.starts_with("curl ") && out.contains(uname), "{out}");
        }
    }
    eprintln!(
        "timing: registry round trip total {:.2}s",
        t.elapsed().as_secs_f64()
    );
}
