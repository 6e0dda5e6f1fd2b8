//! The `minroot build` spec file (TOML): what to select, the image configuration, and one
//! root per platform. Parsing errors name the key and the line; so do semantic errors
//! (a platform that is not linux/amd64 or linux/arm64, a root that does not exist, ...).
//!
//! ```toml
//! bins = ["/usr/bin/curl"]
//! include = ["/etc/ssl/certs"]
//! [image]
//! tag = "curl:8"
//! [[platform]]
//! name = "linux/amd64"
//! root = "roots/amd64"      # relative to this file
//! [[platform]]
//! name = "linux/arm64"
//! root = "roots/arm64"
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use serde::Deserialize;
use toml::Spanned;

use super::config::HostEnv;
use crate::arch::Arch;
use crate::job::{Goal, ImageConfig, Job, LayerPolicy, Outputs, Platform, Selecting, parse};
use crate::sbom::pkgdb::PkgDbOptions;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub bins: Spanned<Vec<String>>,
    #[serde(default)]
    pub include: Vec<String>,
    #[serde(default)]
    pub dlopen: Vec<String>,
    #[serde(default = "default_priority")]
    pub dlopen_priority: Spanned<String>,
    #[serde(default)]
    pub data: Vec<Spanned<String>>,
    #[serde(default)]
    pub no_base: bool,
    #[serde(default)]
    pub strip_setuid: bool,
    #[serde(default = "yes")]
    pub gconv: bool,
    /// As pack --no-runtime when false: no language runtime files.
    #[serde(default = "yes")]
    pub runtime: bool,
    #[serde(default)]
    pub chown: Option<Spanned<String>>,
    pub source_date_epoch: Option<Spanned<u64>>,
    #[serde(default = "default_compression")]
    pub compression: Spanned<String>,
    #[serde(default)]
    pub dev: bool,
    /// As pack: package database entries (status.d, apk) for the layer's packages.
    #[serde(default = "yes")]
    pub package_db: bool,
    /// As pack: the copyright files of the layer's packages.
    #[serde(default = "yes")]
    pub copyright: bool,
    #[serde(default)]
    pub image: ImageSection,
    pub platform: Spanned<Vec<PlatformSpec>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSection {
    pub tag: Option<Spanned<String>>,
    #[serde(default)]
    pub entrypoint: Vec<String>,
    #[serde(default)]
    pub cmd: Vec<String>,
    #[serde(default)]
    pub env: Vec<Spanned<String>>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub labels: Option<Spanned<std::collections::BTreeMap<String, String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformSpec {
    pub name: Spanned<String>,
    pub root: Spanned<String>,
    pub cpu_level: Option<Spanned<String>>,
    pub library_path: Option<Spanned<String>>,
}

fn default_priority() -> Spanned<String> {
    Spanned::new(0..0, "recommended".into())
}
fn default_compression() -> Spanned<String> {
    Spanned::new(0..0, "gzip".into())
}
fn yes() -> bool {
    true
}

/// Line (1-based) of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// What `minroot build` writes (from its command line).
pub struct BuildOutputs {
    pub oci: Option<PathBuf>,
    pub oci_archive: Option<PathBuf>,
    pub allow_missing: bool,
}

/// Reads and checks the spec at `path` and makes the job: one platform per
/// `[[platform]]`, roots relative to the spec file.
pub fn load(path: &Path, out: BuildOutputs, env: &HostEnv) -> Result<Job> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let spec: Spec = toml::from_str(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let at = |key: &str, span: std::ops::Range<usize>| {
        format!(
            "{}: line {}: `{key}`",
            path.display(),
            line_of(&text, span.start)
        )
    };
    // A value check that failed, named by its key and line.
    let bad = |key: &str, span: std::ops::Range<usize>, value: &str, e: parse::ValueError| {
        anyhow!("{}: {value:?}: {e}", at(key, span))
    };
    if spec.bins.get_ref().is_empty() {
        bail!("{}: no programs", at("bins", spec.bins.span()));
    }
    let dlopen_priority = parse::priority(spec.dlopen_priority.get_ref()).map_err(|_| {
        anyhow!(
            "{}: {:?} is not required, recommended or suggested",
            at("dlopen_priority", spec.dlopen_priority.span()),
            spec.dlopen_priority.get_ref()
        )
    })?;
    let compression = parse::compression(spec.compression.get_ref()).map_err(|_| {
        anyhow!(
            "{}: {:?} is not gzip, zstd or none",
            at("compression", spec.compression.span()),
            spec.compression.get_ref()
        )
    })?;
    let mut env_entries = Vec::new();
    for e in &spec.image.env {
        env_entries.push(parse::env_entry(e.get_ref()).map_err(|_| {
            anyhow!(
                "{}: {:?} is not KEY=VALUE",
                at("image.env", e.span()),
                e.get_ref()
            )
        })?);
    }
    let mut data = Vec::new();
    for d in &spec.data {
        data.push(parse::data_set(d.get_ref()).map_err(|e| bad("data", d.span(), d.get_ref(), e))?);
    }
    let chown = match &spec.chown {
        None => None,
        Some(c) => {
            Some(parse::chown(c.get_ref()).map_err(|e| bad("chown", c.span(), c.get_ref(), e))?)
        }
    };
    let tag = match &spec.image.tag {
        None => None,
        Some(t) => {
            Some(parse::tag(t.get_ref()).map_err(|e| bad("image.tag", t.span(), t.get_ref(), e))?)
        }
    };
    let labels = match &spec.image.labels {
        Some(l) if l.get_ref().keys().any(String::is_empty) => {
            bail!("{}: a label has an empty key", at("image.labels", l.span()))
        }
        Some(l) => l.get_ref().clone(),
        None => Default::default(),
    };
    let mtime = match &spec.source_date_epoch {
        Some(s) if *s.get_ref() > parse::MAX_EPOCH => bail!(
            "{}: {}: {}",
            at("source_date_epoch", s.span()),
            s.get_ref(),
            parse::ValueError::EpochTooLarge
        ),
        Some(s) => *s.get_ref(),
        None => super::config::source_date_epoch(None, env)?,
    };
    if spec.platform.get_ref().is_empty() {
        bail!(
            "{}: at least one [[platform]] is needed",
            at("platform", spec.platform.span())
        );
    }
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut platforms: Vec<Platform> = Vec::new();
    for p in spec.platform.get_ref() {
        let name = p.name.get_ref();
        let arch = match name.as_str() {
            "linux/amd64" => Arch::X86_64,
            "linux/arm64" | "linux/arm64/v8" => Arch::Aarch64,
            _ => bail!(
                "{}: {name:?} is not linux/amd64 or linux/arm64",
                at("platform.name", p.name.span())
            ),
        };
        if platforms.iter().any(|q| q.arch == Some(arch)) {
            bail!(
                "{}: {name} is given twice",
                at("platform.name", p.name.span())
            );
        }
        let root = base.join(p.root.get_ref());
        // A directory, or an image (its manifest for this platform).
        let image = if crate::image::is_image(&root) {
            let img = crate::image::open(
                &root,
                Some(arch),
                &env.tmpdir,
                crate::image::DEFAULT_MAX_BYTES,
                &env.progress,
            )
            .map_err(|e| {
                anyhow!(
                    "{}: {}: {e}",
                    at("platform.root", p.root.span()),
                    root.display()
                )
            })?;
            Some(std::sync::Arc::new(img))
        } else {
            if !root.is_dir() {
                bail!(
                    "{}: {} is not a directory",
                    at("platform.root", p.root.span()),
                    root.display()
                );
            }
            None
        };
        let dir = image
            .as_ref()
            .map(|i| i.root().to_path_buf())
            .unwrap_or(root);
        let root = std::fs::canonicalize(&dir).map_err(|e| {
            anyhow!(
                "{}: {}: {e}",
                at("platform.root", p.root.span()),
                dir.display()
            )
        })?;
        let cpu = match &p.cpu_level {
            None => None,
            Some(l) => Some(crate::ldso::hwcaps::CpuLevel::parse(l.get_ref()).ok_or_else(|| {
                anyhow!(
                    "{}: {:?} is not a CPU level (baseline, x86-64-v2, x86-64-v3, x86-64-v4; aarch64: baseline, atomics)",
                    at("platform.cpu_level", l.span()),
                    l.get_ref()
                )
            })?),
        };
        if let Some(l) = &p.library_path
            && l.get_ref().contains('\0')
        {
            bail!(
                "{}: contains a NUL byte",
                at("platform.library_path", l.span())
            );
        }
        platforms.push(Platform {
            name: Some(name.clone()),
            arch: Some(arch),
            root,
            image,
            library_path: p.library_path.as_ref().map(|l| l.get_ref().clone()),
            cpu,
        });
    }
    let image = ImageConfig {
        entrypoint: spec.image.entrypoint.clone(),
        cmd: spec.image.cmd.clone(),
        env: env_entries,
        user: spec.image.user.clone(),
        workdir: spec.image.workdir.clone(),
        labels,
        tag,
        dev: spec.dev,
    };
    let outputs = Outputs {
        layer: None,
        rootfs: None,
        dockerfile: None,
        oci: out.oci,
        oci_archive: out.oci_archive,
        compression,
        sboms: Vec::new(),
        report: false,
        image,
        command: "build",
    };
    Ok(Job {
        goal: Goal::Pack(Box::new(outputs)),
        platforms,
        programs: spec.bins.get_ref().clone(),
        select: Selecting {
            includes: spec.include.clone(),
            dlopens: spec.dlopen.clone(),
            dlopen_priority,
            gconv: spec.gconv,
            data,
            runtimes: spec.runtime,
            probes: Vec::new(),
        },
        layer: LayerPolicy {
            base: !spec.no_base,
            strip_setuid: spec.strip_setuid,
            chown,
            mtime,
        },
        packages: PkgDbOptions {
            package_db: spec.package_db,
            copyright: spec.copyright,
        },
        allow_missing: out.allow_missing,
        cwd: env.cwd.clone(),
        progress: env.progress.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("r")).unwrap();
        let p = d.path().join("minroot.toml");
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    fn load(p: &Path) -> Result<Job> {
        super::load(
            p,
            BuildOutputs {
                oci: Some("out".into()),
                oci_archive: None,
                allow_missing: false,
            },
            &HostEnv::read(),
        )
    }

    #[test]
    fn good_spec() {
        let (_d, p) = write(
            "bins = [\"/bin/x\"]\n[image]\ntag = \"x:1\"\n[[platform]]\nname = \"linux/amd64\"\nroot = \"r\"\n",
        );
        let c = load(&p).unwrap();
        assert_eq!(c.platforms.len(), 1);
        let Goal::Pack(o) = &c.goal else {
            panic!("a build is a pack")
        };
        assert_eq!(o.image.tag.as_deref(), Some("x:1"));
    }

    #[test]
    fn errors_name_key_and_line() {
        let (_d, p) =
            write("bins = [\"/bin/x\"]\n\n[[platform]]\nname = \"linux/s390x\"\nroot = \"r\"\n");
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("line 4") && e.contains("platform.name"), "{e}");
        let (_d, p) =
            write("bins = [\"/bin/x\"]\n[[platform]]\nname = \"linux/amd64\"\nroot = \"nope\"\n");
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("line 4") && e.contains("platform.root"), "{e}");
        let (_d, p) = write(
            "bins = [\"/bin/x\"]\nbogus = 1\n[[platform]]\nname = \"linux/amd64\"\nroot = \"r\"\n",
        );
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("bogus") && e.contains("line 2"), "{e}");
        let (_d, p) = write(
            "bins = [\"/bin/x\"]\ncompression = \"lz4\"\n[[platform]]\nname = \"linux/amd64\"\nroot = \"r\"\n",
        );
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("compression"), "{e}");
        let (_d, p) = write(
            "bins = [\"/bin/x\"]\n\nchown = \"a:b\"\n[[platform]]\nname = \"linux/amd64\"\nroot = \"r\"\n",
        );
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("`chown`"), "{e}");
        let (_d, p) = write(
            "bins = [\"/bin/x\"]\ndata = [\"tzdata\", \"fonts\"]\n[[platform]]\nname = \"linux/amd64\"\nroot = \"r\"\n",
        );
        let e = load(&p).unwrap_err().to_string();
        assert!(
            e.contains("line 2") && e.contains("`data`") && e.contains("fonts"),
            "{e}"
        );
    }
}
