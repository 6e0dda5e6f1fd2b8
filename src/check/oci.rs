//! From an OCI image layout (or a `docker save` archive's `manifest.json`) to the layer
//! blobs of one platform, bottom first. Reads the JSON documents into `oci::spec`'s types
//! (the ones minroot writes images with) and picks; extracting the layers is `untar.rs`'s
//! job, deciding what the target is `target.rs`'s. The types ignore unknown fields and
//! take missing ones as absent; what is needed and missing is an error here, naming the
//! file.
//!
//! `index.json` may list one manifest, several (one per platform, or several tags), or
//! nested indexes (a multi-platform image under one tag, as `minroot build` writes). Every
//! manifest reachable is a candidate; attestation manifests (platform `unknown/unknown`)
//! are not. With one candidate it is taken; with several, the one for `--platform`, else
//! the host's architecture; otherwise the error lists what there is. Every blob is read
//! from `blobs/<algorithm>/<hex>` (names checked, regular files only) and its sha256 or
//! sha512 digest verified, layers while they are extracted.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use sha2::Digest;

use super::CheckError;
use crate::arch::Arch;
use crate::oci::spec::{self, Descriptor, DockerManifestEntry, ImageConfig, Index, Manifest};

/// Largest JSON document read (index, manifest, config).
const MAX_JSON: u64 = 16 << 20;
/// Deepest nesting of indexes followed.
const MAX_DEPTH: usize = 4;

/// The layers of the chosen image.
#[derive(Clone, Debug)]
pub struct Image {
    /// From the image config (`architecture`), when it names a supported one.
    pub arch: Option<Arch>,
    /// `os/architecture[/variant]` as the image says it.
    pub platform: String,
    /// Layer blobs, bottom first.
    pub layers: Vec<Blob>,
    /// The image config (its `config` is the run configuration: Entrypoint, Env, ...).
    pub config: ImageConfig,
    /// What identifies the image: the manifest's digest for an OCI image, the config's
    /// digest (the image ID) for a `docker save` archive.
    pub digest: String,
}

/// A blob file and the digest it must have.
#[derive(Clone, Debug)]
pub struct Blob {
    pub path: PathBuf,
    /// `sha256:<hex>` (or sha512); None for Docker archive paths, which carry no digest.
    pub digest: Option<String>,
}

/// Whether `dir` is an OCI image layout.
pub fn is_layout(dir: &Path) -> bool {
    is_file(&dir.join("oci-layout")) && is_file(&dir.join("index.json"))
}

/// Whether `dir` holds a `docker save` archive (a `manifest.json` array with `Layers`).
pub fn is_docker_archive(dir: &Path) -> bool {
    let p = dir.join("manifest.json");
    is_file(&p)
        && read_bytes(&p, "manifest.json").is_ok_and(|b| spec::looks_like_docker_manifest(&b))
}

fn is_file(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| m.is_file())
}

fn oci_err(path: &Path, why: impl Into<String>) -> CheckError {
    CheckError::Oci {
        path: path.display().to_string(),
        why: why.into(),
    }
}

/// Reads a JSON document (a regular file, not a symlink, at most [`MAX_JSON`] bytes) into
/// its typed form (`oci::spec`: unknown fields ignored, missing ones left to the caller).
fn read_json<T: DeserializeOwned>(path: &Path, what: &str) -> Result<T, CheckError> {
    let bytes = read_bytes(path, what)?;
    parse(path, what, &bytes)
}

fn parse<T: DeserializeOwned>(path: &Path, what: &str, bytes: &[u8]) -> Result<T, CheckError> {
    spec::from_slice(bytes).map_err(|why| oci_err(path, format!("{what}: {why}")))
}

/// The bytes of a regular file of at most [`MAX_JSON`] bytes (not a symlink).
fn read_bytes(path: &Path, what: &str) -> Result<Vec<u8>, CheckError> {
    let meta = fs::symlink_metadata(path).map_err(|e| oci_err(path, format!("{what}: {e}")))?;
    if !meta.is_file() {
        return Err(oci_err(path, format!("{what}: not a regular file")));
    }
    if meta.len() > MAX_JSON {
        return Err(oci_err(
            path,
            format!("{what}: larger than {MAX_JSON} bytes"),
        ));
    }
    fs::read(path).map_err(|e| oci_err(path, format!("{what}: {e}")))
}

/// The file of a blob digest inside a layout: `blobs/<alg>/<encoded>`, with both parts
/// checked so that a digest can never name a path outside `blobs/`.
pub fn blob_path(layout: &Path, digest: &str) -> Result<PathBuf, CheckError> {
    let (alg, enc) = digest
        .split_once(':')
        .ok_or_else(|| oci_err(layout, format!("bad digest {digest:?}")))?;
    let alg_ok = !alg.is_empty()
        && alg
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
    let enc_ok = !enc.is_empty()
        && enc
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b));
    if !alg_ok || !enc_ok || alg.starts_with('.') {
        return Err(oci_err(layout, format!("bad digest {digest:?}")));
    }
    Ok(layout.join("blobs").join(alg).join(enc))
}

/// Reads a JSON blob, checks its digest and parses it.
fn read_blob_json<T: DeserializeOwned>(
    layout: &Path,
    digest: &str,
    what: &str,
) -> Result<T, CheckError> {
    let p = blob_path(layout, digest)?;
    let meta = fs::symlink_metadata(&p).map_err(|e| oci_err(&p, format!("{what}: {e}")))?;
    if !meta.is_file() || meta.len() > MAX_JSON {
        return Err(oci_err(
            &p,
            format!("{what}: not a regular file of at most {MAX_JSON} bytes"),
        ));
    }
    let bytes = fs::read(&p).map_err(|e| oci_err(&p, format!("{what}: {e}")))?;
    let mut v = Verifier::new(digest);
    v.update(&bytes);
    v.check()
        .map_err(|why| oci_err(&p, format!("{what}: {why}")))?;
    parse(&p, what, &bytes)
}

/// A digest being computed, for the algorithms minroot knows.
pub struct Verifier {
    want: String,
    kind: Hasher,
}

enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
    /// An algorithm minroot does not know: not verified.
    None,
}

impl Verifier {
    pub fn new(digest: &str) -> Verifier {
        let kind = match digest.split_once(':').map(|x| x.0) {
            Some("sha256") => Hasher::Sha256(sha2::Sha256::new()),
            Some("sha512") => Hasher::Sha512(sha2::Sha512::new()),
            _ => Hasher::None,
        };
        Verifier {
            want: digest.to_string(),
            kind,
        }
    }
    pub fn update(&mut self, b: &[u8]) {
        match &mut self.kind {
            Hasher::Sha256(h) => h.update(b),
            Hasher::Sha512(h) => h.update(b),
            Hasher::None => {}
        }
    }
    /// Ok when the bytes seen have the wanted digest (or the algorithm is unknown).
    pub fn check(self) -> Result<(), String> {
        let (alg, got) = match self.kind {
            Hasher::Sha256(h) => ("sha256", hex(&h.finalize())),
            Hasher::Sha512(h) => ("sha512", hex(&h.finalize())),
            Hasher::None => return Ok(()),
        };
        let got = format!("{alg}:{got}");
        if got == self.want {
            Ok(())
        } else {
            Err(format!(
                "digest mismatch: the content is {got}, the image says {}",
                self.want
            ))
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A reader that feeds a [`Verifier`] with everything read through it.
pub struct VerifyingReader<R> {
    pub inner: R,
    pub verifier: Verifier,
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.verifier.update(&buf[..n]);
        Ok(n)
    }
}

/// One manifest reachable from the index.
struct Candidate {
    digest: String,
    /// From the descriptor: (os, architecture, variant).
    platform: Option<(String, String, Option<String>)>,
}

/// The platform a descriptor says, when it says both os and architecture.
fn platform_of(d: &Descriptor) -> Option<(String, String, Option<String>)> {
    let p = d.platform.as_ref()?;
    if p.os.is_empty() || p.architecture.is_empty() {
        return None;
    }
    Some((p.os.clone(), p.architecture.clone(), p.variant.clone()))
}

/// The digest of a descriptor, which must have one.
fn digest_of<'a>(layout: &Path, d: &'a Descriptor, what: &str) -> Result<&'a str, CheckError> {
    if d.digest.is_empty() {
        return Err(oci_err(layout, format!("{what} without a digest")));
    }
    Ok(&d.digest)
}

fn show_platform(p: &(String, String, Option<String>)) -> String {
    match &p.2 {
        Some(v) => format!("{}/{}/{v}", p.0, p.1),
        None => format!("{}/{}", p.0, p.1),
    }
}

fn collect(
    layout: &Path,
    index: &Index,
    depth: usize,
    out: &mut Vec<Candidate>,
) -> Result<(), CheckError> {
    let Some(manifests) = &index.manifests else {
        return Err(oci_err(layout, "an index without a manifests list"));
    };
    for d in manifests {
        let digest = digest_of(layout, d, "a descriptor")?;
        let mt = d.media_type.as_str();
        let nested = mt.ends_with("image.index.v1+json") || mt.ends_with("manifest.list.v2+json");
        if nested {
            if depth >= MAX_DEPTH {
                return Err(oci_err(layout, "indexes nested too deeply"));
            }
            let v: Index = read_blob_json(layout, digest, "nested index")?;
            collect(layout, &v, depth + 1, out)?;
            continue;
        }
        let platform = platform_of(d);
        if platform
            .as_ref()
            .is_some_and(|p| p.0 == "unknown" || p.1 == "unknown")
        {
            continue; // an attestation manifest, not an image
        }
        if out.iter().any(|c| c.digest == digest) {
            continue;
        }
        out.push(Candidate {
            digest: digest.to_string(),
            platform,
        });
    }
    Ok(())
}

/// The layers of the image in the layout at `layout` for `want` (or the host's
/// architecture when there are several platforms).
pub fn read_layout(
    layout: &Path,
    want: Option<Arch>,
    host: Option<Arch>,
) -> Result<Image, CheckError> {
    let index: Index = read_json(&layout.join("index.json"), "index.json")?;
    let mut cands = Vec::new();
    collect(layout, &index, 0, &mut cands)?;
    if cands.is_empty() {
        return Err(oci_err(layout, "index.json lists no image manifest"));
    }
    // Read each candidate's config only when its descriptor does not say the platform.
    let mut known: Vec<(Candidate, Manifest, String, Option<Arch>)> = Vec::new();
    for c in cands {
        let m: Manifest = read_blob_json(layout, &c.digest, "manifest")?;
        let (platform, arch) = match &c.platform {
            Some(p) => (show_platform(p), Arch::parse(&p.1)),
            None => {
                let cfg = config_of(layout, &m)?;
                let (os, a) = os_arch(&cfg);
                (format!("{os}/{a}"), Arch::parse(a))
            }
        };
        known.push((c, m, platform, arch));
    }
    let pick = choose(
        &known
            .iter()
            .map(|k| (k.2.as_str(), k.3))
            .collect::<Vec<_>>(),
        want,
        host,
    )
    .map_err(|why| oci_err(layout, why))?;
    let (cand, manifest, platform, arch) = &known[pick];
    let cfg = config_of(layout, manifest)?;
    let arch = Arch::parse(&cfg.architecture).or(*arch);
    let digest = cand.digest.clone();
    let layers = manifest
        .layers
        .as_ref()
        .ok_or_else(|| oci_err(layout, "a manifest without layers"))?
        .iter()
        .map(|l| {
            let digest = digest_of(layout, l, "a layer")?;
            Ok(Blob {
                path: blob_path(layout, digest)?,
                digest: Some(digest.to_string()),
            })
        })
        .collect::<Result<Vec<_>, CheckError>>()?;
    check_diff_ids(layout, &cfg, layers.len())?;
    Ok(Image {
        arch,
        platform: platform.clone(),
        layers,
        config: cfg,
        digest,
    })
}

/// The config names one diff_id per layer: each is checked as the layer is applied. (A
/// config that names none, which the spec does not allow but some tools write, leaves
/// the layers checked by their blob digests only.)
fn check_diff_ids(at: &Path, cfg: &ImageConfig, layers: usize) -> Result<(), CheckError> {
    if !cfg.rootfs.diff_ids.is_empty() && cfg.rootfs.diff_ids.len() != layers {
        return Err(oci_err(
            at,
            format!(
                "the image config lists {} diff_ids for {layers} layers",
                cfg.rootfs.diff_ids.len()
            ),
        ));
    }
    Ok(())
}

fn config_of(layout: &Path, manifest: &Manifest) -> Result<ImageConfig, CheckError> {
    let d = manifest
        .config
        .as_ref()
        .filter(|c| !c.digest.is_empty())
        .ok_or_else(|| oci_err(layout, "a manifest without a config"))?;
    read_blob_json(layout, &d.digest, "image config")
}

/// The os and architecture an image config says (`linux` and `unknown` when it does not).
fn os_arch(cfg: &ImageConfig) -> (&str, &str) {
    fn or<'a>(default: &'a str, v: &'a str) -> &'a str {
        if v.is_empty() { default } else { v }
    }
    (or("linux", &cfg.os), or("unknown", &cfg.architecture))
}

/// Index of the image to take among `(platform, arch)` candidates.
fn choose(
    c: &[(&str, Option<Arch>)],
    want: Option<Arch>,
    host: Option<Arch>,
) -> Result<usize, String> {
    let list = || c.iter().map(|x| x.0).collect::<Vec<_>>().join(", ");
    if let Some(w) = want {
        return c
            .iter()
            .position(|x| x.1 == Some(w))
            .ok_or_else(|| format!("no image for {}; the image has {}", w.oci_arch(), list()));
    }
    if c.len() == 1 {
        return Ok(0);
    }
    if let Some(i) = host.and_then(|h| c.iter().position(|x| x.1 == Some(h))) {
        return Ok(i);
    }
    Err(format!(
        "several platforms ({}); choose one with --platform",
        list()
    ))
}

/// The layers of a `docker save` archive unpacked at `dir` (`manifest.json` names layer
/// files by relative path).
pub fn read_docker_archive(
    dir: &Path,
    want: Option<Arch>,
    host: Option<Arch>,
) -> Result<Image, CheckError> {
    let entries: Vec<DockerManifestEntry> = read_json(&dir.join("manifest.json"), "manifest.json")?;
    let mut known = Vec::new();
    let mut configs = Vec::new();
    for e in &entries {
        if e.config.is_empty() {
            return Err(oci_err(dir, "manifest.json: an entry without Config"));
        }
        let path = relative(dir, &e.config)?;
        let bytes = read_bytes(&path, "image config")?;
        let cfg: ImageConfig = parse(&path, "image config", &bytes)?;
        let (os, a) = os_arch(&cfg);
        known.push((format!("{os}/{a}"), Arch::parse(a)));
        // The image ID is the digest of the config as stored.
        configs.push((cfg, crate::pack::digest::sha256_digest(&bytes)));
    }
    let pick = choose(
        &known
            .iter()
            .map(|k| (k.0.as_str(), k.1))
            .collect::<Vec<_>>(),
        want,
        host,
    )
    .map_err(|why| oci_err(dir, why))?;
    let layers = entries[pick]
        .layers
        .iter()
        .map(|p| {
            Ok(Blob {
                path: relative(dir, p)?,
                digest: None,
            })
        })
        .collect::<Result<Vec<_>, CheckError>>()?;
    let (config, digest) = configs.swap_remove(pick);
    check_diff_ids(dir, &config, layers.len())?;
    Ok(Image {
        arch: known[pick].1,
        platform: known[pick].0.clone(),
        layers,
        config,
        digest,
    })
}

/// `dir/rel`, refusing absolute paths and `..`.
fn relative(dir: &Path, rel: &str) -> Result<PathBuf, CheckError> {
    if rel.starts_with('/') || rel.split('/').any(|c| c == "..") || rel.contains('\0') {
        return Err(oci_err(
            dir,
            format!("manifest.json names {rel:?}, outside the archive"),
        ));
    }
    Ok(dir.join(rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_never_name_paths_outside_blobs() {
        let l = Path::new("/x");
        assert_eq!(
            blob_path(l, "sha256:abc").unwrap(),
            Path::new("/x/blobs/sha256/abc")
        );
        for bad in [
            "sha256:../../etc/passwd",
            "../x:abc",
            "sha256:",
            "nocolon",
            "sha256:a/b",
            ".:a",
        ] {
            assert!(blob_path(l, bad).is_err(), "{bad}");
        }
        assert!(relative(l, "../x").is_err());
        assert!(relative(l, "/etc/passwd").is_err());
        assert!(relative(l, "abc/layer.tar").is_ok());
    }

    #[test]
    fn platform_choice() {
        let c = [
            ("linux/amd64", Some(Arch::X86_64)),
            ("linux/arm64/v8", Some(Arch::Aarch64)),
        ];
        assert_eq!(choose(&c, Some(Arch::Aarch64), None), Ok(1));
        assert_eq!(choose(&c, None, Some(Arch::X86_64)), Ok(0));
        assert!(choose(&c, None, None).unwrap_err().contains("--platform"));
        assert_eq!(
            choose(&c[..1], None, Some(Arch::Aarch64)),
            Ok(0),
            "one image: taken"
        );
        let e = choose(&c[..1], Some(Arch::Aarch64), None).unwrap_err();
        assert!(e.contains("linux/amd64"), "{e}");
    }

    fn sha(b: &[u8]) -> String {
        format!("sha256:{}", hex(&sha2::Sha256::digest(b)))
    }

    /// A layout of one image whose config and manifest are given as JSON text (`{C}` in the
    /// manifest is the config's digest, `{L}` the layer's), with one empty layer.
    fn layout(config: &str, manifest: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let blobs = d.path().join("blobs/sha256");
        fs::create_dir_all(&blobs).unwrap();
        let put = |b: &[u8]| {
            let dg = sha(b);
            fs::write(blobs.join(&dg[7..]), b).unwrap();
            dg
        };
        let l = put(&[0; 1024]);
        let c = put(config.as_bytes());
        let m = manifest.replace("{C}", &c).replace("{L}", &l);
        let md = put(m.as_bytes());
        fs::write(
            d.path().join("oci-layout"),
            r#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        fs::write(
            d.path().join("index.json"),
            format!(
                r#"{{"schemaVersion":2,"manifests":[{{"digest":"{md}","size":{}}}]}}"#,
                m.len()
            ),
        )
        .unwrap();
        d
    }

    const MANIFEST: &str = r#"{"config":{"digest":"{C}"},"layers":[{"digest":"{L}"}]}"#;

    #[test]
    fn a_config_with_unknown_fields_and_nulls_is_read() {
        let d = layout(
            r#"{"architecture":"arm64","variant":"v8","os":"linux","docker_version":"x",
                "config":{"Cmd":null,"Labels":null,"Healthcheck":{"Test":["NONE"]}},
                "rootfs":null,"history":null,"future":{"a":[1,2]}}"#,
            r#"{"schemaVersion":2,"annotations":null,"whatever":1,
                "config":{"digest":"{C}","mediaType":"x"},"layers":[{"digest":"{L}","size":1024}]}"#,
        );
        let img = read_layout(d.path(), None, None).unwrap();
        assert_eq!(img.arch, Some(Arch::Aarch64));
        assert_eq!(img.platform, "linux/arm64");
        assert_eq!(img.layers.len(), 1);
        // Without architecture and os: `linux/unknown`, taken as the only image.
        let d = layout("{}", MANIFEST);
        let img = read_layout(d.path(), None, None).unwrap();
        assert_eq!((img.arch, img.platform.as_str()), (None, "linux/unknown"));
    }

    #[test]
    fn a_manifest_with_a_bad_digest_is_refused_naming_the_layout() {
        for bad in [
            "sha256:../../etc/passwd",
            "nocolon",
            "../x:abc",
            "sha256:a/b",
        ] {
            let d = layout(
                r#"{"architecture":"amd64","os":"linux"}"#,
                &MANIFEST.replace("{L}", bad),
            );
            let e = read_layout(d.path(), None, None).unwrap_err().to_string();
            assert_eq!(
                e,
                format!("{}: bad digest {bad:?}", d.path().display()),
                "{bad}"
            );
        }
        // A config digest of another algorithm than sha256 is checked with it.
        let d = layout(
            r#"{"architecture":"amd64"}"#,
            &MANIFEST.replace("{C}", &format!("sha512:{}", "0".repeat(128))),
        );
        let e = read_layout(d.path(), None, None).unwrap_err().to_string();
        assert!(e.contains("blobs/sha512/000"), "{e}");
    }

    #[test]
    fn what_a_manifest_needs_is_named_when_missing() {
        let cfg = r#"{"architecture":"amd64"}"#;
        for (manifest, want) in [
            (r#"{"layers":[]}"#, "a manifest without a config"),
            (
                r#"{"config":{"digest":"{C}"}}"#,
                "a manifest without layers",
            ),
            (
                r#"{"config":{"digest":"{C}"},"layers":[{"size":1}]}"#,
                "a layer without a digest",
            ),
            (
                r#"{"config":{"digest":"{C}"},"layers":[{"digest":5}]}"#,
                "manifest: invalid type: integer `5`, expected a string",
            ),
        ] {
            let d = layout(cfg, manifest);
            let e = read_layout(d.path(), None, None).unwrap_err().to_string();
            assert!(e.contains(want), "{manifest}: {e}");
            assert!(e.starts_with(&d.path().display().to_string()), "{e}");
        }
        let d = layout(cfg, MANIFEST);
        fs::write(d.path().join("index.json"), r#"{"manifests":[{"size":1}]}"#).unwrap();
        let e = read_layout(d.path(), None, None).unwrap_err().to_string();
        assert!(e.ends_with("a descriptor without a digest"), "{e}");
        fs::write(d.path().join("index.json"), r#"{"schemaVersion":2}"#).unwrap();
        let e = read_layout(d.path(), None, None).unwrap_err().to_string();
        assert!(e.ends_with("an index without a manifests list"), "{e}");
        fs::write(d.path().join("index.json"), r#"{"manifests":["#).unwrap();
        let e = read_layout(d.path(), None, None).unwrap_err().to_string();
        assert!(e.contains("index.json: invalid JSON"), "{e}");
    }

    #[test]
    fn verifier_checks_sha256() {
        let mut v = Verifier::new(
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        );
        v.update(b"hello");
        assert!(v.check().is_ok());
        let mut v = Verifier::new("sha256:00");
        v.update(b"hello");
        assert!(v.check().unwrap_err().contains("mismatch"));
    }
}
