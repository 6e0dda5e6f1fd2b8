//! podman as the tests drive it on this machine (as root, cgroupfs, runc): building,
//! loading, pulling and running images, with a guard that removes every image and
//! container a test made when the test ends, even when it fails. Shared by
//! `tests/oci_e2e.rs` and `tests/image_build.rs`.
//!
//! Only what a test names is removed: images by the names the test gave them (each test
//! file uses its own prefix) and by the ids of what it pulled, never by a pattern, since
//! other tests (and other users of the machine's podman) run at the same time.
//!
//! `podman image inspect` reads every image that shares the inspected image's top layer
//! (to name its parent), and podman 4.3 fails it when one of those images is being added
//! or removed at that moment ("locating item named \"manifest\" for image with ID ...:
//! file does not exist", or "image not known"). Minimised images of one source share
//! their layer, so in one test process [`STORE`] keeps inspections apart from loads,
//! builds, pulls, imports and removals (which still run side by side).

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard};
use std::time::Instant;

use serde_json::Value;

/// Bytes a tool printed, as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs an external command, which must succeed; returns its stdout.
pub fn tool(cmd: &mut Command) -> String {
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
    text(&o.stdout)
}

/// podman as it works on this machine (as root, cgroupfs).
pub fn podman() -> Command {
    let mut c = Command::new("podman");
    c.arg("--cgroup-manager=cgroupfs");
    c
}

/// Changes to podman's image store hold it shared, `inspect` holds it alone (see the
/// module doc). A test that panicked while holding it leaves it usable.
static STORE: RwLock<()> = RwLock::new(());

/// A share of [`STORE`], for a command that adds or removes images.
fn changing_images() -> RwLockReadGuard<'static, ()> {
    STORE.read().unwrap_or_else(PoisonError::into_inner)
}

/// Images (and containers) created by a test; removed on drop.
#[derive(Default)]
pub struct Podman {
    /// Names (or ids) to remove.
    pub images: Vec<String>,
    pub containers: Vec<String>,
}

impl Podman {
    /// `podman load -i ARCHIVE`, which must name `expect` (removed at the end).
    pub fn load(&mut self, archive: &Path, expect: &[&str]) {
        self.images.extend(expect.iter().map(|s| s.to_string()));
        let out = {
            let _store = changing_images();
            tool(podman().arg("load").arg("-i").arg(archive))
        };
        for name in expect {
            assert!(out.contains(&format!("Loaded image: {name}")), "{out}");
        }
    }

    /// `podman build -t NAME DIR`.
    pub fn build(&mut self, dir: &Path, name: &str) {
        self.build_with(dir, name, &[]);
    }

    /// `podman build --runtime runc FLAGS... -t NAME DIR` (`-f FILE` among the flags).
    pub fn build_with(&mut self, dir: &Path, name: &str, flags: &[&str]) {
        self.images.push(name.to_string());
        let _store = changing_images();
        tool(
            podman()
                .args(["build", "--runtime", "runc"])
                .args(flags)
                .args(["-t", name])
                .arg(dir),
        );
    }

    /// `podman import - NAME` of the tar `tar` writes to its stdout.
    pub fn import_from(&mut self, mut tar: Command, name: &str) {
        self.images.push(name.to_string());
        let _store = changing_images();
        let t = Instant::now();
        let mut producer = tar
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{tar:?}: {e}"));
        let stdout = producer.stdout.take().expect("piped");
        let o = podman()
            .args(["import", "-", name])
            .stdin(stdout)
            .output()
            .expect("podman import");
        let st = producer.wait().expect("wait for tar");
        assert!(st.success(), "{tar:?} exited {st}");
        assert!(
            o.status.success(),
            "podman import {name}: {}",
            text(&o.stderr)
        );
        eprintln!(
            "timing: podman import {name}: {:.2}s",
            t.elapsed().as_secs_f64()
        );
    }

    /// `podman pull FLAGS... NAME`; returns the pulled image's id, which is removed at
    /// the end too (a later pull of the same name leaves the earlier image untagged).
    pub fn pull(&mut self, name: &str, flags: &[&str]) -> String {
        self.images.push(name.to_string());
        {
            let _store = changing_images();
            tool(podman().arg("pull").args(flags).arg(name));
        }
        let id = self.inspect(name)["Id"]
            .as_str()
            .expect("an image id")
            .to_string();
        self.images.push(id.clone());
        id
    }

    /// `podman run --rm ... PRE... IMAGE ARGS...`.
    pub fn run(&self, pre: &[&str], image: &str, args: &[&str]) -> Output {
        let t = Instant::now();
        let o = podman()
            .args(["run", "--rm", "--runtime", "runc", "--network", "none"])
            .args([
                "--ulimit",
                "nofile=20000:20000",
                "--ulimit",
                "nproc=1024:1024",
            ])
            .args(pre)
            .arg(image)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("podman run");
        eprintln!(
            "timing: podman run {pre:?} {image} {args:?}: {:.2}s",
            t.elapsed().as_secs_f64()
        );
        o
    }

    /// Runs, which must exit 0; returns stdout.
    pub fn run_ok(&self, pre: &[&str], image: &str, args: &[&str]) -> String {
        let o = self.run(pre, image, args);
        assert!(
            o.status.success(),
            "{pre:?} {image} {args:?} exited {:?}:\nstdout: {}\nstderr: {}",
            o.status.code(),
            text(&o.stdout),
            text(&o.stderr)
        );
        text(&o.stdout)
    }

    /// The image's whole filesystem, as `podman export` of a created (never started)
    /// container writes it.
    pub fn export(&mut self, image: &str, dest: &Path) -> Vec<u8> {
        // Unique in the process: tests run in parallel.
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "minroot-test-export-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        self.containers.push(name.clone());
        tool(podman().args(["create", "--name", &name, image]));
        tool(podman().args(["export", &name, "-o"]).arg(dest));
        std::fs::read(dest).unwrap()
    }

    /// `podman image inspect NAME` (the first image).
    pub fn inspect(&self, image: &str) -> Value {
        let out = {
            let _alone = STORE.write().unwrap_or_else(PoisonError::into_inner);
            tool(podman().args(["image", "inspect", image]))
        };
        let v: Value = serde_json::from_str(&out).unwrap();
        v[0].clone()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = podman()
                .args(["rm", "--force", c])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _store = changing_images();
        for i in &self.images {
            let _ = podman()
                .args(["rmi", "--force", i])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Asserts that running `sh` (by name, through PATH, and as /bin/sh) fails in `image`.
pub fn assert_no_shell(p: &Podman, image: &str) {
    for sh in ["sh", "/bin/sh"] {
        let o = p.run(&["--entrypoint", sh], image, &["-c", "true"]);
        assert!(!o.status.success(), "{sh} ran in {image}");
        let err = text(&o.stderr);
        assert!(
            err.contains("not found") || err.contains("no such file"),
            "{sh} in {image}: {err}"
        );
    }
}
