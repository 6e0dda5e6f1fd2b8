//! From what was typed to a validated [`Job`], in one place.
//!
//! The process environment (cwd, /proc/cpuinfo, whether stdout is a terminal,
//! SOURCE_DATE_EPOCH, TMPDIR) is read once, in [`HostEnv::read`], and nowhere else. Every
//! option is checked here, once, and each error names the flag; the values themselves are
//! checked by `job::parse`, which the build spec (`spec.rs`) shares.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use std::sync::Arc;

use super::args::{ClosureArgs, ImageArgs, RootArgs, SelectArgs};
use crate::arch::Arch;
use crate::image::{self, ImageRoot};
use crate::job::{self, ImageConfig, Job, LayerPolicy, Platform, Selecting, parse};
use crate::ldso::hwcaps::CpuLevel;
use crate::sbom::layer::SbomFormat;
use crate::sbom::pkgdb::PkgDbOptions;
use crate::sysroot::Root;

/// What minroot reads from its own process environment, once.
#[derive(Clone, Debug)]
pub struct HostEnv {
    pub cwd: PathBuf,
    pub cpuinfo: String,
    pub stdout_tty: bool,
    pub stderr_tty: bool,
    pub source_date_epoch: Option<String>,
    /// Where temporary directories go ($TMPDIR, else /tmp).
    pub tmpdir: PathBuf,
    /// Progress bars on stderr (silent unless stderr is a terminal and not `--quiet`).
    pub progress: crate::progress::Observer,
}

impl HostEnv {
    pub fn read() -> HostEnv {
        use std::io::IsTerminal;
        HostEnv {
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
            cpuinfo: read_proc("/proc/cpuinfo"),
            stdout_tty: std::io::stdout().is_terminal(),
            stderr_tty: std::io::stderr().is_terminal(),
            source_date_epoch: std::env::var("SOURCE_DATE_EPOCH").ok(),
            tmpdir: std::env::temp_dir(),
            progress: Default::default(),
        }
    }
}

/// A file of /proc, read into a buffer large enough for it in one `read` (its size is 0, so
/// `read_to_string` starts from 32 bytes and makes nine reads of /proc/cpuinfo on two
/// CPUs); empty when it cannot be read.
fn read_proc(path: &str) -> String {
    use std::io::Read;
    let mut buf = Vec::with_capacity(64 * 1024);
    match std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut buf)) {
        Ok(_) => String::from_utf8(buf).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// `--cpu-level`.
pub fn cpu_level(s: &str) -> Result<CpuLevel> {
    CpuLevel::parse(s).with_context(|| {
        format!("--cpu-level {s}: unknown level; use baseline, x86-64-v2, x86-64-v3, x86-64-v4 (x86_64) or baseline, atomics (aarch64)")
    })
}

/// `--root`: an existing directory, made canonical.
pub fn root_dir(dir: &Path) -> Result<PathBuf> {
    let r = Root::new(dir).with_context(|| format!("--root {}", dir.display()))?;
    Ok(r.host_dir().to_path_buf())
}

/// `--platform`.
pub fn platform_arch(p: &Option<String>) -> Result<Option<Arch>> {
    p.as_deref()
        .map(|s| {
            Arch::parse(s).with_context(|| {
                format!("--platform {s}: unknown platform; use linux/amd64 or linux/arm64")
            })
        })
        .transpose()
}

/// `--root` as given: a directory, made canonical, or an image, applied into a private
/// root (kept while the returned [`ImageRoot`] lives).
pub fn open_root(
    root: &Path,
    platform: &Option<String>,
    max_image_size: &Option<String>,
    env: &HostEnv,
) -> Result<(PathBuf, Option<Arc<ImageRoot>>)> {
    let max = match max_image_size {
        Some(m) => parse::size(m).with_context(|| format!("--max-image-size {m}"))?,
        None => image::DEFAULT_MAX_BYTES,
    };
    let arch = platform_arch(platform)?;
    if !image::is_image(root) {
        for (flag, given) in [
            ("--platform", arch.is_some()),
            ("--max-image-size", max_image_size.is_some()),
        ] {
            if given {
                bail!(
                    "{flag} is for an image root; {} is a directory",
                    root.display()
                );
            }
        }
        return Ok((root_dir(root)?, None));
    }
    let img = image::open(root, arch, &env.tmpdir, max, &env.progress).with_context(|| {
        if root.is_dir() {
            format!("--root {}: an OCI image layout", root.display())
        } else {
            format!(
                "--root {}: not a directory, so read as an image archive (OCI or docker-archive)",
                root.display()
            )
        }
    })?;
    let dir = root_dir(img.root())?;
    Ok((dir, Some(Arc::new(img))))
}

/// `--library-path`.
pub fn library_path(lp: &Option<String>) -> Result<Option<String>> {
    if let Some(p) = lp
        && p.contains('\0')
    {
        bail!("--library-path contains a NUL byte");
    }
    Ok(lp.clone())
}

/// `--root`, `--platform`, `--library-path` and `--cpu-level` as the one platform of a
/// command.
pub fn platform(args: &RootArgs, env: &HostEnv) -> Result<Platform> {
    let (root, image) = open_root(&args.root, &args.platform, &args.max_image_size, env)?;
    Ok(Platform {
        name: None,
        arch: None,
        root,
        image,
        library_path: library_path(&args.library_path)?,
        cpu: args.cpu_level.as_deref().map(cpu_level).transpose()?,
    })
}

/// The one time input: `--source-date-epoch`, else $SOURCE_DATE_EPOCH, else 0.
pub fn source_date_epoch(arg: Option<&str>, env: &HostEnv) -> Result<u64> {
    let (s, from) = match (arg, &env.source_date_epoch) {
        (Some(a), _) => (a, "--source-date-epoch"),
        (None, Some(e)) if !e.is_empty() => (e.as_str(), "$SOURCE_DATE_EPOCH"),
        _ => return Ok(0),
    };
    parse::epoch(s).with_context(|| format!("{from} {s}"))
}

/// What the selection adds: `--include`, `--dlopen`, `--dlopen-priority`, `--no-gconv`,
/// `--data`.
pub fn selecting(args: &ClosureArgs) -> Result<Selecting> {
    Ok(Selecting {
        includes: args.includes.clone(),
        dlopens: args.dlopens.clone(),
        dlopen_priority: parse::priority(&args.dlopen_priority)
            .with_context(|| format!("--dlopen-priority {}", args.dlopen_priority))?,
        gconv: !args.no_gconv,
        data: args
            .data
            .iter()
            .map(|d| parse::data_set(d).with_context(|| format!("--data {d}")))
            .collect::<Result<_>>()?,
        runtimes: !args.no_runtime,
        probes: args
            .probes
            .iter()
            .map(|p| read_probe(p).with_context(|| format!("--probe {}", p.display())))
            .collect::<Result<_>>()?,
    })
}

/// Largest probe record read.
const MAX_RECORD: u64 = 256 << 20;

/// Reads and checks a probe record.
pub fn read_probe(path: &Path) -> Result<(String, crate::probe::Record)> {
    use std::io::Read;
    let f = std::fs::File::open(path)?;
    if !f.metadata()?.is_file() {
        bail!("not a regular file");
    }
    let mut bytes = Vec::new();
    f.take(MAX_RECORD + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_RECORD {
        bail!("larger than {MAX_RECORD} bytes");
    }
    let record = crate::probe::Record::parse(&bytes)?;
    Ok((path.display().to_string(), record))
}

/// `--no-base`, `--strip-setuid`, `--chown`, with the time input.
pub fn layer_policy(sel: &SelectArgs, mtime: u64) -> Result<LayerPolicy> {
    Ok(LayerPolicy {
        base: !sel.no_base,
        strip_setuid: sel.strip_setuid,
        chown: sel
            .chown
            .as_deref()
            .map(|s| parse::chown(s).with_context(|| format!("--chown {s}")))
            .transpose()?,
        mtime,
    })
}

/// `--no-package-db`, `--no-copyright`.
pub fn packages(no_package_db: bool, no_copyright: bool) -> PkgDbOptions {
    PkgDbOptions {
        package_db: !no_package_db,
        copyright: !no_copyright,
    }
}

/// The image options.
pub fn image_config(a: &ImageArgs) -> Result<ImageConfig> {
    let mut labels = std::collections::BTreeMap::new();
    for l in &a.labels {
        parse::label(l, &mut labels).with_context(|| format!("--label {l}"))?;
    }
    Ok(ImageConfig {
        entrypoint: a.entrypoint.clone(),
        cmd: a.cmd.clone(),
        env: a
            .env
            .iter()
            .map(|e| parse::env_entry(e).with_context(|| format!("--env {e}")))
            .collect::<Result<_>>()?,
        user: a.user.clone(),
        workdir: a.workdir.clone(),
        labels,
        tag: a
            .tag
            .as_deref()
            .map(|t| parse::tag(t).with_context(|| format!("--tag {t:?}")))
            .transpose()?,
        dev: a.dev,
    })
}

/// `--sbom FILE`s, each with the format its name says.
pub fn sboms(paths: &[PathBuf]) -> Result<Vec<(PathBuf, SbomFormat)>> {
    paths
        .iter()
        .map(|p| match SbomFormat::from_path(p) {
            Some(f) => Ok((p.clone(), f)),
            None => bail!(
                "--sbom {}: name the file *.spdx.json (SPDX 2.3) or *.cdx.json (CycloneDX 1.5)",
                p.display()
            ),
        })
        .collect()
}

/// A job of one platform, from the options every selecting command shares.
pub fn job(
    goal: job::Goal,
    sel: &SelectArgs,
    bins: &[String],
    packages: PkgDbOptions,
    mtime: u64,
    env: &HostEnv,
) -> Result<Job> {
    Ok(Job {
        goal,
        platforms: vec![platform(&sel.closure.root, env)?],
        programs: bins.to_vec(),
        select: selecting(&sel.closure)?,
        layer: layer_policy(sel, mtime)?,
        packages,
        allow_missing: false,
        cwd: env.cwd.clone(),
        progress: env.progress.clone(),
    })
}
