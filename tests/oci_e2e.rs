//! End to end: the images `minroot pack` and `minroot build` write, as real OCI tools read
//! and run them. skopeo reads the layout's index, manifest and config (every field the
//! options set, the defaults, `created` from SOURCE_DATE_EPOCH, diff_ids, history, ref
//! names); the layer blob's media type follows `--compression` and its diff_id is checked
//! here by decompressing it; umoci unpacks the layout and refuses one whose layer does not
//! match its diff_id (so its check is real); podman loads the `--oci-archive`, builds the
//! `--dockerfile` directory (with the same configuration as the OCI image, `$` included)
//! and a Dockerfile that COPYs the `--rootfs` tree, and runs them; the `-dev` image has a
//! busybox shell on top of the very same production layer, which has none; a
//! two-platform `minroot build` is one index whose amd64 image runs in podman and whose
//! arm64 image runs under qemu-user. Outputs are byte-reproducible across directories,
//! cwd and time; spec errors name the key and the line; a failed `pack --oci` or `build`
//! leaves nothing behind; `--oci` with `--oci-archive` leaves no Docker `manifest.json` in
//! the layout directory.
//!
//! Every external tool and sysroot is required through `common::require`, so a missing
//! one fails under MINROOT_REQUIRE_ALL=1 (scripts/test.sh) and skips otherwise. Images
//! and containers are named per test and process and removed when the test ends, even
//! when it fails. Each test prints how long its steps took (`--nocapture` shows it).

mod common;
use common::amd64_root;
use common::have_podman;

use common::podman::{Podman, assert_no_shell, text, tool};
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use minroot::arch::Arch;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const MT_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MT_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const MT_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const MT_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
const MT_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const MT_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
const REF_NAME: &str = "org.opencontainers.image.ref.name";
const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const SSL_ENV: &str = "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt";

// ---------------------------------------------------------------------------------------
// Resources

fn arm64_root() -> Option<PathBuf> {
    let r = common::sysroot("arm64");
    common::require("the arm64 sysroot (scripts/make-sysroot.sh)", r.is_some()).then(|| r.unwrap())
}

fn have_skopeo() -> bool {
    common::require("skopeo", common::have("skopeo"))
}

fn have_umoci() -> bool {
    common::require("umoci", common::have("umoci"))
}

fn have_qemu() -> bool {
    common::require(
        "bwrap and qemu-aarch64-static",
        common::can_run_loader(Arch::Aarch64),
    )
}

fn tmpdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("minroot-oci-")
        .tempdir()
        .unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

// ---------------------------------------------------------------------------------------
// minroot

/// `minroot ARGS...` with no SOURCE_DATE_EPOCH from the test's environment.
fn minroot(args: &[&str]) -> Command {
    let mut c = common::minroot();
    c.env_remove("SOURCE_DATE_EPOCH").args(args);
    c
}

/// Runs a minroot command, which must succeed; returns its stdout.
fn minroot_ok(mut c: Command) -> String {
    let t = Instant::now();
    let o = c.output().expect("run minroot");
    assert!(
        o.status.success(),
        "{c:?} failed ({:?}):\n{}{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    eprintln!("timing: {c:?}: {:.2}s", t.elapsed().as_secs_f64());
    text(&o.stdout)
}

/// `minroot pack --root ROOT ARGS...`, which must succeed.
fn pack(root: &Path, args: &[&str]) -> String {
    let mut c = minroot(&["pack"]);
    c.arg("--root").arg(root).args(args);
    minroot_ok(c)
}

/// A unique image name for this test and process.
fn image_name(test: &str) -> String {
    format!("localhost/minroot-oci-e2e-{test}-{}:1", std::process::id())
}

// ---------------------------------------------------------------------------------------
// Reading a layout (independently of minroot's code)

/// An OCI image layout directory.
struct Layout {
    dir: PathBuf,
}

impl Layout {
    fn new(dir: &Path) -> Layout {
        Layout {
            dir: dir.to_path_buf(),
        }
    }

    /// Unpacks an OCI archive into `into` and reads it as a layout.
    fn from_archive(archive: &Path, into: &Path) -> Layout {
        let f = std::fs::File::open(archive).unwrap();
        tar::Archive::new(f).unpack(into).unwrap();
        Layout::new(into)
    }

    fn index_bytes(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("index.json")).unwrap()
    }

    fn index(&self) -> Value {
        serde_json::from_slice(&self.index_bytes()).unwrap()
    }

    /// A blob's bytes, checked against its digest.
    fn blob(&self, digest: &str) -> Vec<u8> {
        let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
        let b = std::fs::read(self.dir.join("blobs/sha256").join(hex))
            .unwrap_or_else(|e| panic!("blob {digest}: {e}"));
        assert_eq!(sha256(&b), digest, "blob content does not match its name");
        b
    }

    /// A blob named by a descriptor, checked against the descriptor's size.
    fn described(&self, desc: &Value) -> Vec<u8> {
        let b = self.blob(desc["digest"].as_str().unwrap());
        assert_eq!(desc["size"].as_u64(), Some(b.len() as u64), "{desc}");
        b
    }

    /// The descriptor of index.json tagged `tag`.
    fn tagged(&self, tag: &str) -> Value {
        let idx = self.index();
        let found: Vec<&Value> = idx["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["annotations"][REF_NAME] == tag)
            .collect();
        assert_eq!(found.len(), 1, "one entry tagged {tag} in {idx}");
        found[0].clone()
    }

    /// The (manifest, config) of the single-platform image tagged `tag`.
    fn image(&self, tag: &str) -> (Value, Value) {
        let d = self.tagged(tag);
        assert_eq!(d["mediaType"], MT_MANIFEST);
        let m: Value = serde_json::from_slice(&self.described(&d)).unwrap();
        let c: Value = serde_json::from_slice(&self.described(&m["config"])).unwrap();
        (m, c)
    }

    /// Every blob file name.
    fn blob_names(&self) -> BTreeSet<String> {
        std::fs::read_dir(self.dir.join("blobs/sha256"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }
}

/// The uncompressed tar of a layer blob, by its media type.
fn uncompressed(media_type: &str, blob: &[u8]) -> Vec<u8> {
    match media_type {
        MT_TAR => blob.to_vec(),
        MT_GZIP => {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(blob)
                .read_to_end(&mut out)
                .unwrap();
            out
        }
        MT_ZSTD => zstd::stream::decode_all(blob).unwrap(),
        other => panic!("unexpected layer media type {other}"),
    }
}

/// One entry of a tar, as a runtime would create it.
#[derive(Debug)]
struct TarEntry {
    /// Without a trailing `/`.
    path: String,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    dir: bool,
}

/// Every entry of a tar.
fn tar_entries(tar_bytes: &[u8]) -> Vec<TarEntry> {
    let mut a = tar::Archive::new(tar_bytes);
    a.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            TarEntry {
                path: e
                    .path()
                    .unwrap()
                    .to_string_lossy()
                    .trim_start_matches("./")
                    .trim_end_matches('/')
                    .to_string(),
                mode: h.mode().unwrap() & 0o7777,
                uid: h.uid().unwrap(),
                gid: h.gid().unwrap(),
                mtime: h.mtime().unwrap(),
                dir: h.entry_type().is_dir(),
            }
        })
        .collect()
}

/// The entry at `path`, which must be there.
fn entry<'a>(entries: &'a [TarEntry], path: &str) -> &'a TarEntry {
    entries
        .iter()
        .find(|e| e.path == path)
        .unwrap_or_else(|| panic!("{path} is not in the layer"))
}

/// (mode, uid, gid) of the entry at `path`.
fn mode_owner(entries: &[TarEntry], path: &str) -> (u32, u64, u64) {
    let e = entry(entries, path);
    (e.mode, e.uid, e.gid)
}

/// `skopeo inspect [FLAGS] oci:DIR:TAG` as JSON.
fn skopeo_inspect(dir: &Path, tag: &str, flags: &[&str]) -> Value {
    let out = tool(
        Command::new("skopeo")
            .arg("inspect")
            .args(flags)
            .arg(format!("oci:{}:{tag}", dir.display())),
    );
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("skopeo output {out}: {e}"))
}

/// `umoci unpack --rootless --image DIR:TAG OUT`.
fn umoci_unpack(dir: &Path, tag: &str, out: &Path) -> Output {
    let t = Instant::now();
    let o = Command::new("umoci")
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:{tag}", dir.display()))
        .arg(out)
        .output()
        .expect("run umoci");
    eprintln!("timing: umoci unpack: {:.2}s", t.elapsed().as_secs_f64());
    o
}

// ---------------------------------------------------------------------------------------
// The image as skopeo reads it

/// Every option of `pack` lands in the config, the manifest and the index, as skopeo
/// reports them; the blobs match their digests and sizes; the diff_id is the sha256 of
/// the decompressed layer; every entry's mtime is SOURCE_DATE_EPOCH.
#[test]
fn image_options_reach_config_manifest_and_index() {
    let (Some(root), true) = (amd64_root(), have_skopeo()) else {
        return;
    };
    let d = tmpdir();
    let oci = d.path().join("img");
    pack(
        &root,
        &[
            "--oci",
            oci.to_str().unwrap(),
            "--tag",
            "example.org/tools/bb:1.36",
            "--entrypoint",
            "/usr/bin/busybox",
            "--entrypoint",
            "sh",
            "--cmd",
            "-c",
            "--cmd",
            "echo hi",
            "--env",
            "GREETING=hello world",
            "--env",
            "PATH=/usr/bin",
            "--user",
            "1000:1000",
            "--workdir",
            "/srv",
            "--label",
            "org.opencontainers.image.source=https://example.org/bb",
            "--label",
            "tier=tools",
            "--source-date-epoch",
            "1700000000",
            "/usr/bin/busybox",
        ],
    );
    let tag = "example.org/tools/bb:1.36";
    let lay = Layout::new(&oci);

    // The layout: oci-layout, an index with one manifest tagged --tag, with its platform.
    let ol: Value =
        serde_json::from_slice(&std::fs::read(oci.join("oci-layout")).unwrap()).unwrap();
    assert_eq!(ol, json!({"imageLayoutVersion": "1.0.0"}));
    let idx = lay.index();
    assert_eq!(idx["schemaVersion"], 2);
    assert_eq!(idx["mediaType"], MT_INDEX);
    assert_eq!(idx["manifests"].as_array().unwrap().len(), 1);
    let desc = lay.tagged(tag);
    assert_eq!(desc["annotations"][REF_NAME], tag);
    assert_eq!(desc["mediaType"], MT_MANIFEST);
    assert_eq!(
        desc["platform"],
        json!({"architecture": "amd64", "os": "linux"})
    );

    // The manifest, as skopeo reads it raw, is the blob the index names.
    let (m, c) = lay.image(tag);
    let raw = tool(
        Command::new("skopeo")
            .args(["inspect", "--raw"])
            .arg(format!("oci:{}:{tag}", oci.display())),
    );
    assert_eq!(raw.as_bytes(), lay.described(&desc), "skopeo --raw");
    assert_eq!(m["schemaVersion"], 2);
    assert_eq!(m["mediaType"], MT_MANIFEST);
    assert_eq!(m["config"]["mediaType"], MT_CONFIG);
    assert_eq!(
        m["annotations"]["org.opencontainers.image.created"],
        "2023-11-14T22:13:20Z"
    );
    let layers = m["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0]["mediaType"], MT_GZIP, "gzip is the default");

    // The config, as skopeo reads it raw and parsed.
    let raw_cfg = tool(
        Command::new("skopeo")
            .args(["inspect", "--config", "--raw"])
            .arg(format!("oci:{}:{tag}", oci.display())),
    );
    assert_eq!(raw_cfg.as_bytes(), lay.described(&m["config"]));
    assert_eq!(c["os"], "linux");
    assert_eq!(c["architecture"], "amd64");
    assert!(c.get("variant").is_none(), "{c}");
    assert_eq!(c["created"], "2023-11-14T22:13:20Z");
    let cfg = &c["config"];
    assert_eq!(cfg["Entrypoint"], json!(["/usr/bin/busybox", "sh"]));
    assert_eq!(cfg["Cmd"], json!(["-c", "echo hi"]));
    assert_eq!(
        cfg["Env"],
        json!([SSL_ENV, "GREETING=hello world", "PATH=/usr/bin"]),
        "--env adds to the defaults and replaces PATH"
    );
    assert_eq!(cfg["User"], "1000:1000");
    assert_eq!(cfg["WorkingDir"], "/srv");
    assert_eq!(
        cfg["Labels"],
        json!({"org.opencontainers.image.source": "https://example.org/bb", "tier": "tools"})
    );
    let sk = skopeo_inspect(&oci, tag, &[]);
    assert_eq!(sk["Architecture"], "amd64");
    assert_eq!(sk["Os"], "linux");
    assert_eq!(sk["Created"], "2023-11-14T22:13:20Z");
    assert_eq!(sk["Env"], cfg["Env"]);
    assert_eq!(sk["Labels"], cfg["Labels"]);
    assert_eq!(sk["Layers"], json!([layers[0]["digest"]]));

    // rootfs and history: the diff_id is the sha256 of the decompressed blob.
    let blob = lay.described(&layers[0]);
    let tar_bytes = uncompressed(MT_GZIP, &blob);
    assert_eq!(c["rootfs"]["type"], "layers");
    assert_eq!(c["rootfs"]["diff_ids"], json!([sha256(&tar_bytes)]));
    let hist = c["history"].as_array().unwrap();
    assert_eq!(hist.len(), 1);
    assert_eq!(hist[0]["created"], "2023-11-14T22:13:20Z");
    assert!(
        hist[0]["created_by"]
            .as_str()
            .unwrap()
            .contains("/usr/bin/busybox"),
        "{hist:?}"
    );
    let entries = tar_entries(&tar_bytes);
    assert!(entries.iter().all(|e| e.mtime == 1_700_000_000), "mtimes");
    entry(&entries, "usr/bin/busybox");
}

/// Without image options: the entrypoint is the first BIN, PATH and SSL_CERT_FILE are
/// set, the user is 65532, no Cmd/WorkingDir/Labels, the tag is `<first BIN>:latest`, and
/// `created` comes from $SOURCE_DATE_EPOCH when no option gives it.
#[test]
fn image_defaults_and_created_from_the_environment() {
    let (Some(root), true) = (amd64_root(), have_skopeo()) else {
        return;
    };
    let d = tmpdir();
    let oci = d.path().join("img");
    let mut c = minroot(&["pack", "--root"]);
    c.arg(&root)
        .arg("--oci")
        .arg(&oci)
        .args(["/usr/bin/busybox", "/usr/bin/dash"])
        .env("SOURCE_DATE_EPOCH", "951782400");
    minroot_ok(c);
    let lay = Layout::new(&oci);
    let (m, c) = lay.image("busybox:latest");
    assert_eq!(c["created"], "2000-02-29T00:00:00Z");
    assert_eq!(
        m["annotations"]["org.opencontainers.image.created"],
        "2000-02-29T00:00:00Z"
    );
    let cfg = &c["config"];
    assert_eq!(cfg["Entrypoint"], json!(["/usr/bin/busybox"]));
    assert_eq!(cfg["Env"], json!([PATH_ENV, SSL_ENV]));
    assert_eq!(cfg["User"], "65532");
    for absent in ["Cmd", "WorkingDir", "Labels"] {
        assert!(cfg.get(absent).is_none(), "{absent} in {cfg}");
    }
    let sk = skopeo_inspect(&oci, "busybox:latest", &[]);
    assert_eq!(sk["Created"], "2000-02-29T00:00:00Z");
    assert_eq!(sk["Env"], json!([PATH_ENV, SSL_ENV]));
    // Without any time input, 1970.
    let oci0 = d.path().join("img0");
    pack(
        &root,
        &["--oci", oci0.to_str().unwrap(), "/usr/bin/busybox"],
    );
    let (_, c0) = Layout::new(&oci0).image("busybox:latest");
    assert_eq!(c0["created"], "1970-01-01T00:00:00Z");
}

/// `--tag` without a tag gets `:latest`, also when its registry has a port
/// (`localhost:5000/tools/app`: that ':' is not a tag), and the -dev image is a tag of
/// the same repository; skopeo finds each by its ref name.
#[test]
fn tag_names_get_latest_and_dev_tags() {
    let (Some(root), true) = (amd64_root(), have_skopeo()) else {
        return;
    };
    let d = tmpdir();
    for (given, want) in [
        (
            "localhost:5000/tools/app",
            "localhost:5000/tools/app:latest",
        ),
        ("localhost:5000/tools/app:2", "localhost:5000/tools/app:2"),
        ("app", "app:latest"),
        ("app:", "app:latest"),
    ] {
        let oci = d.path().join(given.replace(['/', ':'], "_"));
        pack(
            &root,
            &[
                "--oci",
                oci.to_str().unwrap(),
                "--tag",
                given,
                "--dev",
                "/usr/bin/dash",
            ],
        );
        let lay = Layout::new(&oci);
        let refs: Vec<String> = lay.index()["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["annotations"][REF_NAME].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            refs,
            [want.to_string(), format!("{want}-dev")],
            "--tag {given}"
        );
        for r in &refs {
            assert_eq!(skopeo_inspect(&oci, r, &[])["Architecture"], "amd64");
        }
    }
}

/// The layer's media type and bytes follow `--compression`; the diff_id is the sha256 of
/// the uncompressed tar in every case (equal to the blob digest when uncompressed), and
/// skopeo copies each image, which checks every blob against its digest.
#[test]
fn layer_media_type_follows_compression() {
    let (Some(root), true) = (amd64_root(), have_skopeo()) else {
        return;
    };
    let d = tmpdir();
    let mut diff_ids = BTreeSet::new();
    for (comp, mt, magic) in [
        ("gzip", MT_GZIP, &b"\x1f\x8b"[..]),
        ("zstd", MT_ZSTD, &b"\x28\xb5\x2f\xfd"[..]),
        ("none", MT_TAR, &b""[..]),
    ] {
        let oci = d.path().join(comp);
        pack(
            &root,
            &[
                "--oci",
                oci.to_str().unwrap(),
                "--compression",
                comp,
                "--tag",
                "bb:1",
                "/usr/bin/busybox",
            ],
        );
        let lay = Layout::new(&oci);
        let (m, c) = lay.image("bb:1");
        let l = &m["layers"][0];
        assert_eq!(l["mediaType"], mt, "--compression {comp}");
        let blob = lay.described(l);
        assert!(blob.starts_with(magic), "{comp} magic");
        let tar_bytes = uncompressed(mt, &blob);
        assert_eq!(&tar_bytes[257..262], b"ustar", "{comp}: a tar inside");
        let diff_id = sha256(&tar_bytes);
        assert_eq!(c["rootfs"]["diff_ids"], json!([diff_id]), "{comp}");
        if comp == "none" {
            assert_eq!(l["digest"], diff_id.as_str());
        } else {
            assert_ne!(l["digest"], diff_id.as_str());
        }
        diff_ids.insert(diff_id);
        let sk = skopeo_inspect(&oci, "bb:1", &[]);
        assert_eq!(sk["Layers"], json!([l["digest"]]));
        tool(
            Command::new("skopeo")
                .arg("copy")
                .arg(format!("oci:{}:bb:1", oci.display()))
                .arg(format!(
                    "oci:{}:bb:1",
                    d.path().join(format!("{comp}-copy")).display()
                )),
        );
    }
    assert_eq!(diff_ids.len(), 1, "the same tar whatever the compression");
}

// ---------------------------------------------------------------------------------------
// umoci

/// umoci unpacks the layout (checking the layer against its diff_id) into the tree of the
/// layer; a flipped byte in the blob, and a changed layer whose blob digest was
/// re-recorded consistently in the manifest and index (only the diff_id is now wrong),
/// both make it fail: the check passed by the good layout is real.
#[test]
fn umoci_unpacks_the_layout_and_rejects_a_corrupted_layer() {
    let (Some(root), true) = (amd64_root(), have_umoci()) else {
        return;
    };
    let d = tmpdir();
    let oci = d.path().join("img");
    pack(
        &root,
        &[
            "--oci",
            oci.to_str().unwrap(),
            "--tag",
            "bb:1",
            "/usr/bin/busybox",
        ],
    );
    let out = d.path().join("unpacked");
    let o = umoci_unpack(&oci, "bb:1", &out);
    assert!(o.status.success(), "umoci: {}", text(&o.stderr));
    let rootfs = out.join("rootfs");
    assert!(rootfs.join("usr/bin/busybox").is_file());
    assert!(rootfs.join("etc/passwd").is_file());
    let cfg: Value =
        serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["process"]["args"], json!(["/usr/bin/busybox"]));

    let lay = Layout::new(&oci);
    let (m, _) = lay.image("bb:1");
    let layer_digest = m["layers"][0]["digest"].as_str().unwrap().to_string();
    let blob_path = |dir: &Path, digest: &str| {
        dir.join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };

    // 1. A flipped byte in the gzip stream.
    let bad1 = d.path().join("bad1");
    copy_dir(&oci, &bad1);
    let mut b = std::fs::read(blob_path(&bad1, &layer_digest)).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0xff;
    std::fs::write(blob_path(&bad1, &layer_digest), &b).unwrap();
    let o = umoci_unpack(&bad1, "bb:1", &d.path().join("out1"));
    assert!(!o.status.success(), "umoci took a corrupted blob");

    // 2. One byte of busybox changed, recompressed, the new blob digest and size written
    // into the manifest and the new manifest into the index: only the diff_id is wrong.
    let bad2 = d.path().join("bad2");
    copy_dir(&oci, &bad2);
    let mut tar_bytes = uncompressed(MT_GZIP, &lay.blob(&layer_digest));
    let at = find(&tar_bytes, b"usr/bin/busybox").expect("busybox in the tar") + 512 + 4096;
    tar_bytes[at] ^= 0x01;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar_bytes).unwrap();
    let blob2 = gz.finish().unwrap();
    let blob2_digest = sha256(&blob2);
    std::fs::write(blob_path(&bad2, &blob2_digest), &blob2).unwrap();
    let mut m2 = m.clone();
    m2["layers"][0]["digest"] = json!(blob2_digest);
    m2["layers"][0]["size"] = json!(blob2.len());
    let m2_bytes = serde_json::to_vec(&m2).unwrap();
    std::fs::write(blob_path(&bad2, &sha256(&m2_bytes)), &m2_bytes).unwrap();
    let mut idx = lay.index();
    idx["manifests"][0]["digest"] = json!(sha256(&m2_bytes));
    idx["manifests"][0]["size"] = json!(m2_bytes.len());
    std::fs::write(bad2.join("index.json"), serde_json::to_vec(&idx).unwrap()).unwrap();
    let o = umoci_unpack(&bad2, "bb:1", &d.path().join("out2"));
    let err = text(&o.stderr);
    assert!(
        !o.status.success(),
        "umoci took a layer with a wrong diff_id"
    );
    assert!(err.contains("diffid mismatch"), "{err}");
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn copy_dir(from: &Path, to: &Path) {
    let st = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(st.success());
}

// ---------------------------------------------------------------------------------------
// podman

/// `podman load` takes the `--oci-archive` under its tag; `podman run` runs the program
/// with the image's entrypoint and cmd, and podman sees the config.
#[test]
fn oci_archive_loads_into_podman_and_runs() {
    let (Some(root), true) = (amd64_root(), have_podman()) else {
        return;
    };
    let t = Instant::now();
    let d = tmpdir();
    let name = image_name("archive");
    let archive = d.path().join("curl.tar");
    pack(
        &root,
        &[
            "--oci-archive",
            archive.to_str().unwrap(),
            "--tag",
            &name,
            "--cmd",
            "--version",
            "--label",
            "tier=net",
            "/usr/bin/curl",
        ],
    );
    let mut p = Podman::default();
    p.load(&archive, &[&name]);
    let out = p.run_ok(&[], &name, &[]);
    assert!(out.starts_with("curl ") && out.contains("OpenSSL"), "{out}");
    let i = p.inspect(&name);
    assert_eq!(i["Config"]["User"], "65532");
    assert_eq!(i["Config"]["Entrypoint"], json!(["/usr/bin/curl"]));
    assert_eq!(i["Config"]["Cmd"], json!(["--version"]));
    assert_eq!(i["Labels"]["tier"], "net");
    assert_eq!(i["Architecture"], "amd64");
    assert_no_shell(&p, &name);
    eprintln!("timing: archive total {:.2}s", t.elapsed().as_secs_f64());
}

/// `--dev` adds a `-dev` image: the production layer plus a layer with busybox and its
/// applet links. The dev image runs `sh -c 'ls /usr/bin | wc -l'` as the configured user,
/// in the configured directory, with the configured environment; the production image
/// has no shell. Both manifests list the very same production layer blob.
#[test]
fn dev_image_has_a_shell_on_the_same_production_layer() {
    let (Some(root), true) = (amd64_root(), have_podman()) else {
        return;
    };
    let t = Instant::now();
    let d = tmpdir();
    let name = image_name("dev");
    let dev = format!("{name}-dev");
    let archive = d.path().join("curl.tar");
    pack(
        &root,
        &[
            "--oci-archive",
            archive.to_str().unwrap(),
            "--tag",
            &name,
            "--dev",
            "--workdir",
            "/tmp",
            "--env",
            "GREETING=hello",
            "/usr/bin/curl",
        ],
    );

    // Layout: two images; the dev one is the production layer plus one.
    let lay = Layout::from_archive(&archive, &d.path().join("x"));
    let (pm, pc) = lay.image(&name);
    let (dm, dc) = lay.image(&dev);
    assert_eq!(lay.index()["manifests"].as_array().unwrap().len(), 2);
    assert_eq!(pm["layers"].as_array().unwrap().len(), 1);
    assert_eq!(dm["layers"].as_array().unwrap().len(), 2);
    assert_eq!(
        dm["layers"][0], pm["layers"][0],
        "the same production layer"
    );
    assert_ne!(dm["layers"][1]["digest"], pm["layers"][0]["digest"]);
    assert_eq!(dc["rootfs"]["diff_ids"][0], pc["rootfs"]["diff_ids"][0]);
    assert_eq!(dc["history"].as_array().unwrap().len(), 2);
    assert_eq!(dc["config"], pc["config"], "the same run configuration");
    // The dev layer has busybox and its links; no file of the production layer.
    let prod_tar = uncompressed(MT_GZIP, &lay.described(&pm["layers"][0]));
    let dev_tar = uncompressed(MT_GZIP, &lay.described(&dm["layers"][1]));
    let prod_entries = tar_entries(&prod_tar);
    let dev_entries = tar_entries(&dev_tar);
    assert!(!prod_entries.iter().any(|e| e.path.contains("busybox")));
    entry(&dev_entries, "usr/bin/busybox");
    entry(&dev_entries, "usr/bin/sh");
    for e in dev_entries.iter().filter(|e| !e.dir) {
        assert!(
            !prod_entries.iter().any(|p| p.path == e.path),
            "{} is in both layers",
            e.path
        );
    }

    let mut p = Podman::default();
    p.load(&archive, &[&name, &dev]);
    let out = p.run_ok(
        &["--entrypoint", "sh"],
        &dev,
        &[
            "-c",
            "ls /usr/bin | wc -l; id -u; pwd; echo \"$GREETING\"; curl --version",
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    let n: usize = lines[0].trim().parse().unwrap_or(0);
    assert!(n > 10, "ls /usr/bin | wc -l: {out}");
    assert_eq!(lines[1..4], ["65532", "/tmp", "hello"], "{out}");
    assert!(lines[4].starts_with("curl "), "{out}");
    // The production image: the program runs, no shell does.
    let out = p.run_ok(&[], &name, &["--version"]);
    assert!(out.starts_with("curl "), "{out}");
    assert_no_shell(&p, &name);
    eprintln!("timing: dev total {:.2}s", t.elapsed().as_secs_f64());
}

/// `podman build` of the `--dockerfile` directory gives an image with the configuration
/// `--oci` writes for the same options (as `podman image inspect` shows it), values with
/// `$`, `\\`, `"` and spaces included (the builder expands `$VAR`: they must come through
/// literally); its layer keeps the modes and owners (ADD of a tar); the program runs.
#[test]
fn dockerfile_output_builds_with_podman_and_runs() {
    let (Some(root), true) = (amd64_root(), have_podman()) else {
        return;
    };
    let t = Instant::now();
    let d = tmpdir();
    let name = image_name("dockerfile");
    let dir = d.path().join("ctx");
    let oci = d.path().join("oci");
    let opts = [
        "--cmd",
        "--version",
        "--env",
        "GREETING=hello world",
        "--env",
        "PRICE=$5 a\\b \"q\" ${HOME}",
        "--label",
        "tier=net",
        "--label",
        "note=$HOME",
        "--workdir",
        "/srv/$app dir",
        "/usr/bin/curl",
    ];
    let mut args = vec![
        "--dockerfile",
        dir.to_str().unwrap(),
        "--oci",
        oci.to_str().unwrap(),
    ];
    args.extend(opts);
    pack(&root, &args);
    let df = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
    assert!(df.contains("FROM scratch\nADD layer.tar /\n"), "{df}");
    let mut p = Podman::default();
    p.build(&dir, &name);
    let out = p.run_ok(&[], &name, &[]);
    assert!(out.starts_with("curl ") && out.contains("OpenSSL"), "{out}");
    assert_no_shell(&p, &name);

    let i = p.inspect(&name);
    let c = &i["Config"];
    let (_, oc) = Layout::new(&oci).image("curl:latest");
    let want = &oc["config"];
    assert_eq!(
        want["Env"],
        json!([
            PATH_ENV,
            SSL_ENV,
            "GREETING=hello world",
            "PRICE=$5 a\\b \"q\" ${HOME}"
        ])
    );
    for key in ["User", "Entrypoint", "Cmd", "WorkingDir", "Env"] {
        assert_eq!(c[key], want[key], "{key}:\n{df}");
    }
    for (k, v) in want["Labels"].as_object().unwrap() {
        assert_eq!(&c["Labels"][k], v, "label {k}:\n{df}");
    }
    let fs = p.export(&name, &d.path().join("export.tar"));
    let e = tar_entries(&fs);
    assert_eq!(mode_owner(&e, "tmp"), (0o1777, 0, 0));
    assert_eq!(mode_owner(&e, "home/nonroot"), (0o700, 65532, 65532));
    assert_eq!(mode_owner(&e, "root"), (0o700, 0, 0));
    eprintln!("timing: dockerfile total {:.2}s", t.elapsed().as_secs_f64());
}

/// The `--rootfs` tree has the layer's modes and owners (/tmp 1777, /home/nonroot 0700
/// owned 65532, /root 0700, usrmerge links as links); a Dockerfile that COPYs it into
/// `FROM scratch` runs the program and keeps the modes. (COPY gives everything to root
/// unless --chown: that is Dockerfile semantics, not the tree's.)
#[test]
fn rootfs_tree_copied_in_a_dockerfile_runs() {
    let (Some(root), true) = (amd64_root(), have_podman()) else {
        return;
    };
    use std::os::unix::fs::MetadataExt;
    let t = Instant::now();
    let d = tmpdir();
    let ctx = d.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    let tree = ctx.join("rootfs");
    pack(
        &root,
        &[
            "--rootfs",
            tree.to_str().unwrap(),
            "--source-date-epoch",
            "1700000000",
            "/usr/bin/curl",
        ],
    );
    let meta = |p: &str| std::fs::symlink_metadata(tree.join(p)).unwrap();
    let on_disk = |p: &str| {
        let m = meta(p);
        (m.mode() & 0o7777, m.uid(), m.gid())
    };
    assert_eq!(on_disk("tmp"), (0o1777, 0, 0));
    assert_eq!(on_disk("home/nonroot"), (0o700, 65532, 65532));
    assert_eq!(on_disk("root"), (0o700, 0, 0));
    assert_eq!(on_disk("etc/passwd"), (0o644, 0, 0));
    assert_eq!(on_disk("usr/bin/curl"), (0o755, 0, 0));
    assert!(meta("lib").file_type().is_symlink());
    assert_eq!(
        std::fs::read_link(tree.join("lib")).unwrap(),
        Path::new("usr/lib")
    );
    assert_eq!(meta("usr/bin/curl").mtime(), 1_700_000_000);
    let passwd = std::fs::read_to_string(tree.join("etc/passwd")).unwrap();
    assert!(passwd.contains("nonroot:x:65532:65532"), "{passwd}");

    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM scratch\nCOPY rootfs/ /\nUSER 65532\nENTRYPOINT [\"/usr/bin/curl\"]\n",
    )
    .unwrap();
    let name = image_name("rootfs");
    let mut p = Podman::default();
    p.build(&ctx, &name);
    let out = p.run_ok(&[], &name, &["--version"]);
    assert!(out.starts_with("curl ") && out.contains("OpenSSL"), "{out}");
    assert_no_shell(&p, &name);
    let fs = p.export(&name, &d.path().join("export.tar"));
    let e = tar_entries(&fs);
    assert_eq!(entry(&e, "tmp").mode, 0o1777);
    assert_eq!(entry(&e, "home/nonroot").mode, 0o700);
    assert_eq!(entry(&e, "root").mode, 0o700);
    eprintln!("timing: rootfs total {:.2}s", t.elapsed().as_secs_f64());
}

// ---------------------------------------------------------------------------------------
// minroot build: two platforms

/// A spec for curl on linux/amd64 and linux/arm64, with the sysroots reached through a
/// `roots` link next to it (roots are relative to the spec file). Returns the spec path.
fn two_platform_spec(dir: &Path, extra: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::os::unix::fs::symlink(common::sysroots_dir(), dir.join("roots")).unwrap();
    let spec = dir.join("minroot.toml");
    std::fs::write(
        &spec,
        format!(
            "bins = [\"/usr/bin/curl\"]\n{extra}\n[image]\ntag = \"curl:8\"\ncmd = [\"--version\"]\n\
             [image.labels]\ntier = \"net\"\n\
             [[platform]]\nname = \"linux/amd64\"\nroot = \"roots/amd64\"\n\
             [[platform]]\nname = \"linux/arm64\"\nroot = \"roots/arm64\"\n"
        ),
    )
    .unwrap();
    spec
}

/// `minroot build SPEC --oci DIR`, which must succeed; returns stdout.
fn build(spec: &Path, args: &[&str], cwd: Option<&Path>) -> String {
    let mut c = minroot(&["build"]);
    c.arg(spec).args(args);
    if let Some(d) = cwd {
        c.current_dir(d);
    }
    minroot_ok(c)
}

/// The two-platform index: each tag (the image's and, with `dev = true`, its -dev one)
/// names a nested index with one manifest per platform, linux/amd64 and linux/arm64
/// variant v8, each with its own config and layer; skopeo picks either; each platform's
/// dev image sits on that platform's production layer.
#[test]
fn two_platform_build_indexes_amd64_and_arm64_v8() {
    let (Some(_), Some(_), true) = (amd64_root(), arm64_root(), have_skopeo()) else {
        return;
    };
    let d = tmpdir();
    let spec = two_platform_spec(
        &d.path().join("spec"),
        "source_date_epoch = 1700000000\ndev = true",
    );
    let oci = d.path().join("img");
    let out = build(&spec, &["--oci", oci.to_str().unwrap(), "--json"], None);
    let written: Value = serde_json::from_str(&out).unwrap();
    let platforms: Vec<(&str, &str)> = written
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["platform"].as_str().unwrap(), w["tag"].as_str().unwrap()))
        .collect();
    assert_eq!(
        platforms,
        [
            ("linux/amd64", "curl:8"),
            ("linux/amd64", "curl:8-dev"),
            ("linux/arm64/v8", "curl:8"),
            ("linux/arm64/v8", "curl:8-dev")
        ]
    );

    let lay = Layout::new(&oci);
    assert_eq!(lay.index()["manifests"].as_array().unwrap().len(), 2);
    // Per tag, per platform: (manifest, config).
    let mut images = Vec::new();
    for tag in ["curl:8", "curl:8-dev"] {
        let top = lay.tagged(tag);
        assert_eq!(top["mediaType"], MT_INDEX);
        assert!(top.get("platform").is_none(), "{top}");
        let nested: Value = serde_json::from_slice(&lay.described(&top)).unwrap();
        assert_eq!(nested["mediaType"], MT_INDEX);
        assert_eq!(nested["schemaVersion"], 2);
        let raw = tool(
            Command::new("skopeo")
                .args(["inspect", "--raw"])
                .arg(format!("oci:{}:{tag}", oci.display())),
        );
        assert_eq!(raw.as_bytes(), lay.described(&top), "skopeo --raw {tag}");
        let ms = nested["manifests"].as_array().unwrap();
        let plats: Vec<&Value> = ms.iter().map(|m| &m["platform"]).collect();
        assert_eq!(
            plats,
            [
                &json!({"architecture": "amd64", "os": "linux"}),
                &json!({"architecture": "arm64", "os": "linux", "variant": "v8"})
            ],
            "{tag}"
        );
        for (m, (arch, variant)) in ms.iter().zip([("amd64", None), ("arm64", Some("v8"))]) {
            assert_eq!(m["mediaType"], MT_MANIFEST);
            let man: Value = serde_json::from_slice(&lay.described(m)).unwrap();
            let cfg: Value = serde_json::from_slice(&lay.described(&man["config"])).unwrap();
            assert_eq!(cfg["architecture"], arch);
            assert_eq!(cfg["variant"].as_str(), variant);
            assert_eq!(cfg["os"], "linux");
            assert_eq!(cfg["created"], "2023-11-14T22:13:20Z");
            assert_eq!(cfg["config"]["Entrypoint"], json!(["/usr/bin/curl"]));
            assert_eq!(cfg["config"]["Cmd"], json!(["--version"]));
            assert_eq!(cfg["config"]["Labels"], json!({"tier": "net"}));
            let diff_ids: Vec<Value> = man["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| json!(sha256(&uncompressed(MT_GZIP, &lay.described(l)))))
                .collect();
            assert_eq!(cfg["rootfs"]["diff_ids"], json!(diff_ids));
            let sk = skopeo_inspect(&oci, tag, &["--override-arch", arch]);
            assert_eq!(sk["Architecture"], arch);
            let blobs: Vec<&Value> = man["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| &l["digest"])
                .collect();
            assert_eq!(sk["Layers"], json!(blobs));
            images.push((tag, arch, man));
        }
    }
    let layers = |tag: &str, arch: &str| -> Vec<Value> {
        let (_, _, m) = images
            .iter()
            .find(|(t, a, _)| *t == tag && *a == arch)
            .unwrap();
        m["layers"].as_array().unwrap().clone()
    };
    let (amd, arm) = (layers("curl:8", "amd64"), layers("curl:8", "arm64"));
    assert_eq!(amd.len(), 1);
    assert_ne!(amd[0]["digest"], arm[0]["digest"], "one layer per platform");
    for arch in ["amd64", "arm64"] {
        let (prod, dev) = (layers("curl:8", arch), layers("curl:8-dev", arch));
        assert_eq!(dev.len(), 2, "{arch}");
        assert_eq!(
            dev[0], prod[0],
            "{arch}: the dev image is on the production layer"
        );
    }
}

/// A platform whose root holds programs of another architecture is refused, naming the
/// platform, with exit code 2 and nothing written.
#[test]
fn platform_root_of_another_architecture_is_refused() {
    let Some(_) = amd64_root() else {
        return;
    };
    let d = tmpdir();
    std::os::unix::fs::symlink(common::sysroots_dir(), d.path().join("roots")).unwrap();
    let spec = d.path().join("minroot.toml");
    std::fs::write(
        &spec,
        "bins = [\"/usr/bin/curl\"]\n[[platform]]\nname = \"linux/arm64\"\nroot = \"roots/amd64\"\n",
    )
    .unwrap();
    let before = listing(d.path());
    let out = d.path().join("img");
    let (code, _, err) = common::run(&[
        "build",
        spec.to_str().unwrap(),
        "--oci",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("linux/arm64") && err.contains("amd64"),
        "{err}"
    );
    assert_eq!(listing(d.path()), before, "something was written");
}

/// The two-platform image runs: its amd64 image, copied out by skopeo as a Docker
/// archive, in podman; its arm64 image, copied out by skopeo with --override-arch arm64
/// and unpacked by umoci (diff_ids checked), under bwrap and qemu-user.
#[test]
fn two_platform_build_runs_on_amd64_and_arm64() {
    let (Some(_), Some(_), true, true, true, true) = (
        amd64_root(),
        arm64_root(),
        have_skopeo(),
        have_umoci(),
        have_podman(),
        have_qemu(),
    ) else {
        return;
    };
    let t = Instant::now();
    let d = tmpdir();
    let spec = two_platform_spec(&d.path().join("spec"), "");
    let oci = d.path().join("img");
    build(&spec, &["--oci", oci.to_str().unwrap()], None);
    let src = format!("oci:{}:curl:8", oci.display());

    // amd64 in podman.
    let name = image_name("multi");
    let docker = d.path().join("amd64.tar");
    tool(
        Command::new("skopeo")
            .args(["copy", &src])
            .arg(format!("docker-archive:{}:{name}", docker.display())),
    );
    let mut p = Podman::default();
    p.load(&docker, &[&name]);
    let out = p.run_ok(&[], &name, &[]);
    assert!(out.starts_with("curl ") && out.contains("x86_64"), "{out}");

    // arm64 under qemu.
    let arm = d.path().join("arm64");
    tool(
        Command::new("skopeo")
            .args(["copy", "--override-arch", "arm64", &src])
            .arg(format!("oci:{}:curl:8", arm.display())),
    );
    let unpacked = d.path().join("arm64-unpacked");
    let o = umoci_unpack(&arm, "curl:8", &unpacked);
    assert!(o.status.success(), "umoci: {}", text(&o.stderr));
    let rootfs = unpacked.join("rootfs");
    let elf = std::fs::read(rootfs.join("usr/bin/curl")).unwrap();
    assert_eq!(u16::from_le_bytes([elf[18], elf[19]]), 183, "EM_AARCH64");
    let o = common::run_in_root(&rootfs, Arch::Aarch64, "/usr/bin/curl", &["--version"], &[]);
    let out = text(&o.stdout);
    assert!(
        o.status.success() && out.starts_with("curl ") && out.contains("aarch64"),
        "{out}{}",
        text(&o.stderr)
    );
    eprintln!(
        "timing: two platforms total {:.2}s",
        t.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------
// Reproducibility

/// Asserts that two layouts are the same bytes: index.json and every blob (blobs are
/// named by their digest, and `Layout::blob` checks the content against the name).
fn assert_same_layout(a: &Path, b: &Path) {
    let (la, lb) = (Layout::new(a), Layout::new(b));
    assert_eq!(
        text(&la.index_bytes()),
        text(&lb.index_bytes()),
        "index.json differs"
    );
    assert_eq!(la.blob_names(), lb.blob_names(), "blobs differ");
    for n in la.blob_names() {
        lb.blob(&format!("sha256:{n}"));
    }
    assert_eq!(
        std::fs::read(a.join("oci-layout")).unwrap(),
        std::fs::read(b.join("oci-layout")).unwrap()
    );
}

/// Manifest digests listed by index.json.
fn manifest_digests(l: &Layout) -> Vec<String> {
    l.index()["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap().to_string())
        .collect()
}

/// Two packs (with --dev) into different directories, from different working
/// directories, with the root given absolute and relative, a second apart, give the same
/// layout and archive bytes; SOURCE_DATE_EPOCH from the environment equals the option;
/// another SOURCE_DATE_EPOCH gives other manifest digests.
#[test]
fn pack_is_reproducible_across_directories_cwd_and_time() {
    let Some(root) = amd64_root() else {
        return;
    };
    let d = tmpdir();
    let a = d.path().join("a");
    let b = d.path().join("b/deeper");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let common_args = ["--dev", "--tag", "curl:1", "/usr/bin/curl"];
    let mut c = minroot(&["pack", "--root"]);
    c.arg(&root)
        .args(["--oci", "img", "--oci-archive", "img.tar"])
        .args(["--source-date-epoch", "1700000000"])
        .args(common_args)
        .current_dir(&a);
    minroot_ok(c);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // The root relative to the other cwd, the time from the environment.
    let rel_root = pathdiff(&root, &b);
    let mut c = minroot(&["pack", "--root"]);
    c.arg(&rel_root)
        .args(["--oci", "out", "--oci-archive", "out.tar"])
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(common_args)
        .current_dir(&b);
    minroot_ok(c);
    assert_same_layout(&a.join("img"), &b.join("out"));
    assert!(
        std::fs::read(a.join("img.tar")).unwrap() == std::fs::read(b.join("out.tar")).unwrap(),
        "the archives differ"
    );
    // Another time: other digests.
    let e = d.path().join("e");
    pack(
        &root,
        &[
            "--oci",
            e.to_str().unwrap(),
            "--source-date-epoch",
            "1700000001",
            "--dev",
            "--tag",
            "curl:1",
            "/usr/bin/curl",
        ],
    );
    let (same, other) = (Layout::new(&a.join("img")), Layout::new(&e));
    assert_ne!(same.index_bytes(), other.index_bytes());
    let (x, y) = (manifest_digests(&same), manifest_digests(&other));
    assert_eq!(x.len(), 2);
    assert!(x.iter().all(|m| !y.contains(m)), "{x:?} {y:?}");
}

/// `..`-relative path of `target` from `base` (both absolute).
fn pathdiff(target: &Path, base: &Path) -> PathBuf {
    let t: Vec<_> = target.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = t.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut p = PathBuf::new();
    for _ in common..b.len() {
        p.push("..");
    }
    for c in &t[common..] {
        p.push(c);
    }
    p
}

/// Two `minroot build`s of the same spec kept in different directories, run from
/// different working directories a second apart, write the same index.json and
/// manifests; another source_date_epoch writes other ones.
#[test]
fn build_is_reproducible_across_directories_cwd_and_time() {
    let (Some(_), Some(_)) = (amd64_root(), arm64_root()) else {
        return;
    };
    let d = tmpdir();
    let s1 = two_platform_spec(&d.path().join("one"), "source_date_epoch = 1700000000");
    two_platform_spec(
        &d.path().join("two/deeper"),
        "source_date_epoch = 1700000000",
    );
    let s3 = two_platform_spec(&d.path().join("three"), "source_date_epoch = 1600000000");
    let o1 = d.path().join("o1");
    build(&s1, &["--oci", o1.to_str().unwrap()], Some(d.path()));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let o2_dir = d.path().join("two");
    build(
        Path::new("deeper/minroot.toml"),
        &["--oci", "o2"],
        Some(&o2_dir),
    );
    let o2 = o2_dir.join("o2");
    assert_same_layout(&o1, &o2);
    let o3 = d.path().join("o3");
    build(&s3, &["--oci", o3.to_str().unwrap()], None);
    let (l1, l3) = (Layout::new(&o1), Layout::new(&o3));
    assert_ne!(l1.index_bytes(), l3.index_bytes());
    let nested = |l: &Layout| -> Vec<String> {
        let top = l.tagged("curl:8");
        let n: Value = serde_json::from_slice(&l.described(&top)).unwrap();
        n["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["digest"].as_str().unwrap().to_string())
            .collect()
    };
    let (x, y) = (nested(&l1), nested(&l3));
    assert_eq!(x.len(), 2);
    assert!(x.iter().all(|m| !y.contains(m)), "{x:?} {y:?}");
}

// ---------------------------------------------------------------------------------------
// Errors

/// Each bad spec fails with exit code 2, a message naming the key and its line, and
/// writes nothing.
#[test]
fn spec_errors_name_the_key_and_the_line() {
    let head = "bins = [\"/usr/bin/curl\"]\n";
    let plat = "[[platform]]\nname = \"linux/amd64\"\nroot = \"r\"\n";
    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            "unknown key",
            format!("{head}compresion = \"zstd\"\n{plat}"),
            &["line 2", "compresion"],
        ),
        (
            "unknown [image] key",
            format!("{head}[image]\ntag = \"x:1\"\ncolour = \"red\"\n{plat}"),
            &["line 4", "colour"],
        ),
        (
            "unknown [[platform]] key",
            format!("{head}{plat}arch = \"amd64\"\n"),
            &["line 5", "arch"],
        ),
        (
            "bad platform name",
            format!("{head}[[platform]]\nname = \"linux/riscv64\"\nroot = \"r\"\n"),
            &["line 3", "platform.name", "linux/riscv64"],
        ),
        (
            "platform given twice",
            format!("{head}{plat}{plat}"),
            &["line 6", "platform.name", "twice"],
        ),
        (
            "root that does not exist",
            format!("{head}[[platform]]\nname = \"linux/amd64\"\nroot = \"nope\"\n"),
            &["line 4", "platform.root", "nope"],
        ),
        (
            "root key missing",
            format!("{head}\n[[platform]]\nname = \"linux/amd64\"\n"),
            &["line 3", "root"],
        ),
        (
            "bad compression",
            format!("{head}compression = \"lz4\"\n{plat}"),
            &["line 2", "compression", "lz4"],
        ),
        (
            "bad dlopen_priority",
            format!("{head}\ndlopen_priority = \"maybe\"\n{plat}"),
            &["line 3", "dlopen_priority", "maybe"],
        ),
        (
            "image env without =",
            format!("{head}[image]\nenv = [\"A=1\",\n  \"JUSTKEY\"]\n{plat}"),
            &["line 4", "image.env", "JUSTKEY"],
        ),
        (
            "wrong type",
            format!("{head}dev = \"yes\"\n{plat}"),
            &["line 2", "dev"],
        ),
        (
            "source_date_epoch negative",
            format!("{head}source_date_epoch = -1\n{plat}"),
            &["line 2", "source_date_epoch"],
        ),
    ];
    for (what, spec_text, expect) in cases {
        let d = tmpdir();
        std::fs::create_dir(d.path().join("r")).unwrap();
        let spec = d.path().join("minroot.toml");
        std::fs::write(&spec, &spec_text).unwrap();
        let out = d.path().join("out");
        let (code, stdout, stderr) = common::run(&[
            "build",
            spec.to_str().unwrap(),
            "--oci",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 2, "{what}: exit code\n{spec_text}\n{stderr}");
        for e in expect {
            assert!(
                stderr.contains(e),
                "{what}: {e:?} not in the message:\n{stderr}"
            );
        }
        assert!(stderr.contains("minroot.toml"), "{what}: {stderr}");
        assert!(stdout.is_empty(), "{what}: {stdout}");
        let left: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            BTreeSet::from_iter(left),
            BTreeSet::from(["minroot.toml".to_string(), "r".to_string()]),
            "{what}: something was written"
        );
    }
}

/// Names in a directory.
fn listing(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// `pack --oci DIR` refuses a non-empty directory that is not an OCI layout (exit 2, the
/// directory untouched, no staging left next to it), and so do an archive path that is a
/// directory and an output in a missing directory; an earlier layout is replaced whole,
/// again with nothing left over.
#[test]
fn pack_oci_refuses_a_foreign_directory_and_leaves_nothing_behind() {
    let Some(root) = amd64_root() else {
        return;
    };
    let d = tmpdir();
    let keep = d.path().join("keep");
    std::fs::create_dir(&keep).unwrap();
    std::fs::write(keep.join("notes.txt"), "mine").unwrap();
    let before = listing(d.path());
    let run = |args: &[&str]| {
        let mut c = minroot(&["pack", "--root"]);
        c.arg(&root).args(args);
        let o = c.output().unwrap();
        (o.status.code(), text(&o.stderr))
    };

    let (code, err) = run(&["--oci", keep.to_str().unwrap(), "/usr/bin/busybox"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("not an OCI layout"), "{err}");
    assert_eq!(listing(&keep), BTreeSet::from(["notes.txt".to_string()]));
    assert_eq!(
        std::fs::read_to_string(keep.join("notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(listing(d.path()), before, "left behind");

    let (code, err) = run(&["--oci-archive", keep.to_str().unwrap(), "/usr/bin/busybox"]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(listing(&keep), BTreeSet::from(["notes.txt".to_string()]));
    assert_eq!(listing(d.path()), before, "left behind");

    let missing = d.path().join("no/such/dir/img");
    let (code, err) = run(&["--oci", missing.to_str().unwrap(), "/usr/bin/busybox"]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(listing(d.path()), before, "left behind");

    // A program that is not there: nothing written either (exit 1 or 2).
    let img = d.path().join("img");
    let (code, err) = run(&["--oci", img.to_str().unwrap(), "/usr/bin/no-such-program"]);
    assert!(matches!(code, Some(1 | 2)), "{code:?} {err}");
    assert_eq!(listing(d.path()), before, "left behind");

    // An earlier layout is replaced whole.
    pack(
        &root,
        &[
            "--oci",
            img.to_str().unwrap(),
            "--tag",
            "a:1",
            "/usr/bin/busybox",
        ],
    );
    pack(
        &root,
        &[
            "--oci",
            img.to_str().unwrap(),
            "--tag",
            "b:1",
            "/usr/bin/dash",
        ],
    );
    let lay = Layout::new(&img);
    let idx = lay.index();
    let tags: Vec<&Value> = idx["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["annotations"][REF_NAME])
        .collect();
    assert_eq!(tags, [&json!("b:1")]);
    let mut expect = before.clone();
    expect.insert("img".into());
    assert_eq!(listing(d.path()), expect, "left behind");
    // Only the new image's blobs: manifest, config, layer.
    assert_eq!(lay.blob_names().len(), 3);
}

/// `--oci DIR --oci-archive FILE` in one run: the layout directory is the OCI layout
/// alone, byte for byte what `--oci DIR` alone writes (no Docker `manifest.json`, which
/// once stayed behind in it), and skopeo reads it; the archive holds the same layout plus
/// Docker's `manifest.json`, and `podman load` takes it and runs its program.
#[test]
fn oci_and_oci_archive_together_write_a_clean_layout() {
    let (Some(root), true, true) = (amd64_root(), have_skopeo(), have_podman()) else {
        return;
    };
    let d = tmpdir();
    let both = d.path().join("both");
    let archive = d.path().join("both.tar");
    let alone = d.path().join("alone");
    let name = image_name("oci-and-archive");
    let args = ["--tag", name.as_str(), "/usr/bin/busybox"];
    let mut with_archive = vec![
        "--oci",
        both.to_str().unwrap(),
        "--oci-archive",
        archive.to_str().unwrap(),
    ];
    with_archive.extend(args);
    pack(&root, &with_archive);
    let mut only = vec!["--oci", alone.to_str().unwrap()];
    only.extend(args);
    pack(&root, &only);

    let files = |dir: &Path| -> BTreeSet<String> {
        walkdir::WalkDir::new(dir)
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| !e.file_type().is_dir())
            .map(|e| {
                e.path()
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    };
    assert!(
        !both.join("manifest.json").exists(),
        "a Docker manifest.json in the layout directory: {:?}",
        files(&both)
    );
    assert_eq!(
        files(&both),
        files(&alone),
        "the layout written with an archive"
    );
    assert_same_layout(&both, &alone);
    assert_eq!(skopeo_inspect(&both, &name, &[])["Architecture"], "amd64");

    // The archive: the layout's files and Docker's manifest.json, which podman loads.
    let mut in_archive = BTreeSet::new();
    let mut ar = tar::Archive::new(std::fs::File::open(&archive).unwrap());
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        if !e.header().entry_type().is_dir() {
            in_archive.insert(e.path().unwrap().to_string_lossy().into_owned());
        }
    }
    let mut want = files(&alone);
    want.insert("manifest.json".into());
    assert_eq!(in_archive, want, "the archive's files");
    let mut p = Podman::default();
    p.load(&archive, &[&name]);
    let out = p.run_ok(
        &["--entrypoint", "/usr/bin/busybox"],
        &name,
        &["echo", "loaded"],
    );
    assert_eq!(out, "loaded\n");
}
