//! Images as the root: `--root IMAGE` for every command that reads a root. IMAGE is an
//! OCI image layout directory, an OCI archive, or a docker-archive (what `podman save` and
//! `docker save` write), with gzip, zstd or uncompressed layers; a plain layer tarball
//! works too (a root without a config). The layers are applied in order into a private
//! temporary root by `check`'s bounded, root-confined reader (`check/untar.rs`: whiteouts
//! and opaque directories honoured, paths that leave the root refused, sizes bounded);
//! every blob's digest and every layer's diff_id is verified (`check/target.rs`,
//! `check/oci.rs`). The root is removed when the [`ImageRoot`] is dropped (and by the
//! cleanup on a signal, `cleanup.rs`).
//!
//! What the image says about how it runs (Entrypoint, Cmd, Env, WorkingDir, User,
//! ExposedPorts, Volumes, Labels, StopSignal) comes with it, for the job: the programs
//! default to its entrypoint, the runtimes read its Env, the output image inherits it.

use std::path::Path;

use crate::arch::Arch;
use crate::check::target::{Target, TargetKind, TargetOptions};
use crate::check::untar::Limits;
use crate::check::{CheckError, oci};
use crate::oci::spec::ContainerConfig;

/// An image applied into a private root.
pub struct ImageRoot {
    target: Target,
    /// The image as it was named (`--root` value).
    reference: String,
}

impl std::fmt::Debug for ImageRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageRoot")
            .field("reference", &self.reference)
            .field("digest", &self.digest())
            .finish()
    }
}

/// The default bound on what an image may unpack to (files' bytes over all layers);
/// `--max-image-size` raises it.
pub const DEFAULT_MAX_BYTES: u64 = 16 << 30;

impl ImageRoot {
    /// The root directory the layers were applied into.
    pub fn root(&self) -> &Path {
        &self.target.root
    }
    /// The image's run configuration (empty for a plain layer tarball).
    pub fn config(&self) -> ContainerConfig {
        self.target
            .image
            .as_ref()
            .map(|(c, _)| c.config.clone())
            .unwrap_or_default()
    }
    /// What identifies the image: its manifest's digest (OCI), its config's (docker);
    /// None for a plain layer tarball.
    pub fn digest(&self) -> Option<&str> {
        self.target.image.as_ref().map(|(_, d)| d.as_str())
    }
    /// The image as it was named.
    pub fn reference(&self) -> &str {
        &self.reference
    }
    /// The architecture its config names, if any.
    pub fn arch(&self) -> Option<Arch> {
        self.target.info.arch
    }
    /// `os/arch[/variant]` of the manifest taken, for an image.
    pub fn platform(&self) -> Option<&str> {
        match &self.target.info.kind {
            TargetKind::Image { platform, .. } => Some(platform),
            _ => None,
        }
    }
    /// How many layers were applied (1 for a plain tarball).
    pub fn layers(&self) -> usize {
        match &self.target.info.kind {
            TargetKind::Image { layers, .. } => *layers,
            _ => 1,
        }
    }
}

/// Whether `path` names an image rather than a root directory: a file (an archive or a
/// layer tarball), or a directory that is an OCI image layout.
pub fn is_image(path: &Path) -> bool {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => true,
        Ok(m) if m.is_dir() => oci::is_layout(path),
        _ => false,
    }
}

/// Opens the image at `path` for `platform` (else the host's, else the only one),
/// unpacking at most `max_bytes` under `tmpdir`.
pub fn open(
    path: &Path,
    platform: Option<Arch>,
    tmpdir: &Path,
    max_bytes: u64,
    progress: &crate::progress::Observer,
) -> Result<ImageRoot, CheckError> {
    let target = Target::open(
        path,
        &TargetOptions {
            platform,
            scratch_parent: tmpdir.to_path_buf(),
            scratch_prefix: "minroot-image-",
            limits: Limits {
                max_total_bytes: max_bytes,
                faithful: true,
                ..Limits::default()
            },
            progress: progress.clone(),
        },
    )?;
    Ok(ImageRoot {
        target,
        reference: path.display().to_string(),
    })
}

/// The programs an image runs: its Entrypoint, else the first word of its Cmd; and
/// whether that is the shell form (`/bin/sh -c ...`: the shell is the program).
pub fn entry_program(config: &ContainerConfig) -> Option<(String, bool)> {
    let argv = match (&config.entrypoint, &config.cmd) {
        (Some(e), _) if !e.is_empty() => e,
        (_, Some(c)) if !c.is_empty() => c,
        _ => return None,
    };
    let shell = argv.len() >= 2 && argv[1] == "-c" && argv[0].ends_with("sh");
    Some((argv[0].clone(), shell))
}

/// The full command an image runs (Entrypoint then Cmd).
pub fn command(config: &ContainerConfig) -> Vec<String> {
    let mut v: Vec<String> = config.entrypoint.clone().unwrap_or_default();
    v.extend(config.cmd.clone().unwrap_or_default());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_programs() {
        let c = |e: &[&str], m: &[&str]| ContainerConfig {
            entrypoint: (!e.is_empty()).then(|| e.iter().map(|s| s.to_string()).collect()),
            cmd: (!m.is_empty()).then(|| m.iter().map(|s| s.to_string()).collect()),
            ..ContainerConfig::default()
        };
        assert_eq!(
            entry_program(&c(&["/app"], &["-x"])),
            Some(("/app".into(), false))
        );
        assert_eq!(
            entry_program(&c(&[], &["python3", "-m", "x"])),
            Some(("python3".into(), false))
        );
        assert_eq!(
            entry_program(&c(&["/bin/sh", "-c", "exec app"], &[])),
            Some(("/bin/sh".into(), true))
        );
        assert_eq!(entry_program(&c(&[], &[])), None);
        assert_eq!(command(&c(&["/a", "b"], &["c"])), ["/a", "b", "c"]);
    }
}
