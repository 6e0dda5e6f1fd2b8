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

/// The files an image's exec-form command names, besides its program: every argument of
/// Entrypoint and Cmd that is a path (absolute, or relative to WorkingDir) of a regular
/// file in `root` (`python3 /app/main.py`, `nginx -c /etc/nginx/alt.conf`,
/// `tini -- /app/server`, `node server.js` in WORKDIR /app). Options (`-c`, `--x=y`) and
/// words that name nothing are not files; a directory is not taken (`/` would be all of
/// it). A shell-form command is one string for the shell: nothing is taken from it.
pub fn command_files(config: &ContainerConfig, root: &crate::sysroot::Root) -> Vec<String> {
    let argv = command(config);
    if argv.is_empty() || entry_program(config).is_some_and(|(_, shell)| shell) {
        return Vec::new();
    }
    let cwd = config.working_dir.as_deref().unwrap_or("/");
    let mut out: Vec<String> = Vec::new();
    for a in &argv[1..] {
        if a.is_empty() || a.starts_with('-') || a.contains('\0') {
            continue;
        }
        let path = if a.starts_with('/') {
            a.clone()
        } else {
            format!("{}/{a}", cwd.trim_end_matches('/'))
        };
        let is_file = matches!(
            root.resolve(&path),
            Ok(Some(r)) if r.kind == crate::sysroot::Kind::File
        );
        if is_file && !out.contains(&path) {
            out.push(path);
        }
    }
    out
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

    #[test]
    fn command_files_are_the_arguments_naming_regular_files() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::create_dir_all(d.join("app/lib")).unwrap();
        std::fs::write(d.join("app/main.py"), b"print(1)").unwrap();
        std::fs::write(d.join("app/conf"), b"x").unwrap();
        std::os::unix::fs::symlink("main.py", d.join("app/link.py")).unwrap();
        let root = crate::sysroot::Root::new(d).unwrap();
        let cfg = |e: &[&str], m: &[&str], wd: Option<&str>| ContainerConfig {
            entrypoint: Some(e.iter().map(|s| s.to_string()).collect()),
            cmd: Some(m.iter().map(|s| s.to_string()).collect()),
            working_dir: wd.map(String::from),
            ..ContainerConfig::default()
        };
        // Absolute, relative to WorkingDir, through a symlink; not options, directories,
        // absent paths or the program itself; each once.
        assert_eq!(
            command_files(
                &cfg(
                    &["/app/main.py", "/app/main.py", "-c", "conf"],
                    &[
                        "/app/lib",
                        "link.py",
                        "absent",
                        "--x=/app/conf",
                        "/app/conf"
                    ],
                    Some("/app/")
                ),
                &root
            ),
            ["/app/main.py", "/app/conf", "/app/link.py"]
        );
        // Without a WorkingDir a relative word is relative to /.
        assert!(command_files(&cfg(&["python3", "main.py"], &[], None), &root).is_empty());
        // The shell form is one string for the shell.
        assert!(
            command_files(&cfg(&["/bin/sh", "-c", "/app/main.py"], &[], None), &root).is_empty()
        );
    }
}
