//! What `check` was given, turned into one directory to scan.
//!
//! - a directory is used in place (nothing is copied or changed), unless it is an OCI
//!   image layout (`oci-layout` and `index.json`): then its layers are applied;
//! - a file is a tar (plain, gzip or zstd, told apart by magic bytes). It is extracted
//!   into a private temporary directory with the safe applier of `untar.rs`; when what
//!   comes out is an OCI layout (`podman save --format oci-archive`, `minroot pack
//!   --oci-archive`) or a `docker save` archive, the image's layers are applied in order
//!   into a second directory, else the extracted tree is the image (one layer).
//!
//! The temporary directory is made under the directory the caller names (the CLI passes
//! $TMPDIR, read once), mode 0700 with an unpredictable name (`tempfile`), and removed
//! when the [`Target`] is dropped, or on a signal (`cleanup`).

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::CheckError;
use super::oci::{self, VerifyingReader};
use super::untar::{self, Budget, Contents, Limits};
use crate::arch::Arch;
use crate::cleanup;
use crate::progress::{Observer, ReadProgress, Stage};

/// Options for materialising a target.
#[derive(Clone, Debug)]
pub struct TargetOptions {
    /// `--platform`: the architecture to take from a multi-platform image.
    pub platform: Option<Arch>,
    /// Where the temporary directory is made.
    pub scratch_parent: PathBuf,
    /// The start of its name (`minroot-check-`, `minroot-image-`), then random characters.
    pub scratch_prefix: &'static str,
    pub limits: Limits,
    /// Told how the unpacking goes.
    pub progress: Observer,
}

/// What kind of target it was.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum TargetKind {
    /// A directory, used in place.
    Directory,
    /// One layer tar.
    Layer,
    /// An OCI layout (directory or archive) or a Docker archive, with the platform taken.
    Image { platform: String, layers: usize },
}

/// The summary of a materialised target.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TargetInfo {
    pub path: String,
    #[serde(flatten)]
    pub kind: TargetKind,
    /// The architecture the image says it is for (OCI config), if any.
    pub arch: Option<Arch>,
    /// What extraction did (zero for a directory).
    pub extracted: Budget,
}

/// A directory holding the image, and the temporary directory that owns it (if any).
pub struct Target {
    pub info: TargetInfo,
    /// The image's root directory.
    pub root: PathBuf,
    /// For an image: its config and what identifies it (manifest or config digest).
    pub image: Option<(crate::oci::spec::ImageConfig, String)>,
    _scratch: Option<Scratch>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("info", &self.info)
            .field("root", &self.root)
            .finish()
    }
}

/// A private temporary directory (mode 0700, an unpredictable name made by `tempfile`),
/// removed on drop and on a signal (`cleanup`).
struct Scratch {
    dir: tempfile::TempDir,
    // After `dir`: unregistered once removed.
    _guard: cleanup::Guard,
}

impl Scratch {
    fn new(parent: &Path, prefix: &str) -> Result<Scratch, CheckError> {
        let (dir, _guard) = cleanup::track(
            || {
                tempfile::Builder::new()
                    .prefix(prefix)
                    .permissions(fs::Permissions::from_mode(0o700))
                    .tempdir_in(parent)
            },
            |d| d.path().to_path_buf(),
        )
        .map_err(|e| CheckError::Io {
            path: parent.display().to_string(),
            source: e,
        })?;
        Ok(Scratch { dir, _guard })
    }

    fn subdir(&self, name: &str) -> Result<PathBuf, CheckError> {
        let p = self.dir.path().join(name);
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&p)
            .map_err(|e| CheckError::Io {
                path: p.display().to_string(),
                source: e,
            })?;
        Ok(p)
    }
}

impl Target {
    /// Materialises `path` (see the module doc).
    pub fn open(path: &Path, opts: &TargetOptions) -> Result<Target, CheckError> {
        let shown = path.display().to_string();
        let meta = fs::metadata(path).map_err(|e| CheckError::Io {
            path: shown.clone(),
            source: e,
        })?;
        let mut budget = Budget::default();
        if meta.is_dir() {
            if oci::is_layout(path) {
                let image = oci::read_layout(path, opts.platform, Arch::host())?;
                let scratch = Scratch::new(&opts.scratch_parent, opts.scratch_prefix)?;
                let root = scratch.subdir("rootfs")?;
                apply_image(&image, &root, opts, &mut budget)?;
                return Ok(Target {
                    info: image_info(shown, &image, budget),
                    root,
                    image: Some((image.config, image.digest)),
                    _scratch: Some(scratch),
                });
            }
            return Ok(Target {
                info: TargetInfo {
                    path: shown,
                    kind: TargetKind::Directory,
                    arch: None,
                    extracted: budget,
                },
                root: path.to_path_buf(),
                image: None,
                _scratch: None,
            });
        }
        if !meta.is_file() {
            return Err(CheckError::UnknownTarget { path: shown });
        }
        let scratch = Scratch::new(&opts.scratch_parent, opts.scratch_prefix)?;
        let outer = scratch.subdir("archive")?;
        let f = fs::File::open(path).map_err(|e| CheckError::Io {
            path: shown.clone(),
            source: e,
        })?;
        let unpacking = opts.progress.stage(Stage::Unpack, Some(meta.len()));
        let f = ReadProgress::new(f, &*unpacking);
        let r = untar::decompress(io::BufReader::new(f), &shown)?;
        // What may be an archive's blobs is kept whole until the layers are applied.
        let outer_limits = Limits {
            contents: match opts.limits.contents {
                Contents::Checked => Contents::CheckedOrArchive,
                c => c,
            },
            ..opts.limits
        };
        untar::apply(r, &outer, &shown, &outer_limits, &mut budget)?;
        drop(unpacking);
        // Errors name the archive's members, not where they were unpacked.
        let member = |e: CheckError| e.in_archive(&outer, &shown);
        let image = if oci::is_layout(&outer) {
            Some(oci::read_layout(&outer, opts.platform, Arch::host()).map_err(member)?)
        } else if oci::is_docker_archive(&outer) {
            Some(oci::read_docker_archive(&outer, opts.platform, Arch::host()).map_err(member)?)
        } else {
            None
        };
        match image {
            None => Ok(Target {
                info: TargetInfo {
                    path: shown,
                    kind: TargetKind::Layer,
                    arch: None,
                    extracted: budget,
                },
                root: outer,
                image: None,
                _scratch: Some(scratch),
            }),
            Some(image) => {
                let root = scratch.subdir("rootfs")?;
                // The archive's files count once; the layers are what the image holds.
                let mut layers_budget = Budget::default();
                apply_image(&image, &root, opts, &mut layers_budget).map_err(member)?;
                // The unpacked archive is not needed any more: free the space now.
                let _ = fs::remove_dir_all(&outer);
                Ok(Target {
                    info: image_info(shown, &image, layers_budget),
                    root,
                    image: Some((image.config, image.digest)),
                    _scratch: Some(scratch),
                })
            }
        }
    }
}

fn image_info(path: String, image: &oci::Image, extracted: Budget) -> TargetInfo {
    TargetInfo {
        path,
        kind: TargetKind::Image {
            platform: image.platform.clone(),
            layers: image.layers.len(),
        },
        arch: image.arch,
        extracted,
    }
}

/// Applies the layers of `image` onto `root`, bottom first, verifying each digest.
fn apply_image(
    image: &oci::Image,
    root: &Path,
    opts: &TargetOptions,
    budget: &mut Budget,
) -> Result<(), CheckError> {
    let total = image
        .layers
        .iter()
        .filter_map(|b| fs::metadata(&b.path).ok())
        .map(|m| m.len())
        .sum();
    let unpacking = opts.progress.stage(Stage::Unpack, Some(total));
    for (k, blob) in image.layers.iter().enumerate() {
        let name = match &blob.digest {
            Some(d) => format!("layer {d}"),
            None => format!("layer {}", blob.path.display()),
        };
        let meta = fs::symlink_metadata(&blob.path).map_err(|e| CheckError::Io {
            path: match &blob.digest {
                Some(_) => format!("{name} ({})", blob.path.display()),
                None => name.clone(),
            },
            source: e,
        })?;
        if !meta.is_file() {
            return Err(CheckError::Layer {
                layer: name,
                why: "the blob is not a regular file".into(),
            });
        }
        let f = fs::File::open(&blob.path).map_err(|e| CheckError::Io {
            path: blob.path.display().to_string(),
            source: e,
        })?;
        let mut vr = VerifyingReader {
            inner: io::BufReader::new(ReadProgress::new(f, &*unpacking)),
            verifier: oci::Verifier::new(blob.digest.as_deref().unwrap_or("")),
        };
        // The diff_id covers the uncompressed tar, its end blocks and what follows.
        let applied = (|| {
            let r = untar::decompress(&mut vr, &name)?;
            let diff_id = image
                .config
                .rootfs
                .diff_ids
                .get(k)
                .map_or("", String::as_str);
            let mut tar = VerifyingReader {
                inner: r,
                verifier: oci::Verifier::new(diff_id),
            };
            untar::apply(&mut tar, root, &name, &opts.limits, budget)?;
            io::copy(&mut tar, &mut io::sink()).map_err(|e| CheckError::Io {
                path: blob.path.display().to_string(),
                source: e,
            })?;
            let VerifyingReader { verifier, .. } = tar;
            verifier.check().map_err(|why| CheckError::Layer {
                layer: name.clone(),
                why: format!("its uncompressed content does not match the config's diff_id: {why}"),
            })
        })();
        if let Err(e) = applied {
            // A blob that is not what its digest says is the cause of whatever its
            // content then did (a bad tar header, a diff_id mismatch): say that. Limits
            // and refused entries of a blob that is what it says stay as they are.
            let _ = io::copy(&mut vr, &mut io::sink());
            let VerifyingReader { verifier, .. } = vr;
            return Err(match verifier.check() {
                Err(why) if blob.digest.is_some() => CheckError::Layer {
                    layer: name,
                    why: format!("{why} (the blob is corrupt or was changed)"),
                },
                _ => e,
            });
        }
        // The digest covers the whole blob, also what follows the tar's end blocks.
        io::copy(&mut vr, &mut io::sink()).map_err(|e| CheckError::Io {
            path: blob.path.display().to_string(),
            source: e,
        })?;
        let VerifyingReader { verifier, .. } = vr;
        verifier
            .check()
            .map_err(|why| CheckError::Layer { layer: name, why })?;
    }
    Ok(())
}
