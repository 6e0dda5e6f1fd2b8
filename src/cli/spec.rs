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

use crate::arch::Arch;

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
    pub data: Vec<String>,
    #[serde(default)]
    pub no_base: bool,
    #[serde(default)]
    pub strip_setuid: bool,
    #[serde(default = "yes")]
    pub gconv: bool,
    #[serde(default)]
    pub chown: Option<String>,
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
    pub tag: Option<String>,
    #[serde(default)]
    pub entrypoint: Vec<String>,
    #[serde(default)]
    pub cmd: Vec<String>,
    #[serde(default)]
    pub env: Vec<Spanned<String>>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformSpec {
    pub name: Spanned<String>,
    pub root: Spanned<String>,
    pub cpu_level: Option<String>,
    pub library_path: Option<String>,
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

/// A parsed, checked spec with roots made absolute.
#[derive(Debug)]
pub struct Checked {
    pub spec: Spec,
    pub platforms: Vec<(Arch, PathBuf)>,
}

/// Line (1-based) of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// Reads and checks the spec at `path`.
pub fn load(path: &Path) -> Result<Checked> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let spec: Spec = toml::from_str(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let at = |key: &str, span: std::ops::Range<usize>| {
        format!(
            "{}: line {}: `{key}`",
            path.display(),
            line_of(&text, span.start)
        )
    };
    if spec.bins.get_ref().is_empty() {
        bail!("{}: no programs", at("bins", spec.bins.span()));
    }
    if crate::select::parse_priority(spec.dlopen_priority.get_ref()).is_none() {
        bail!(
            "{}: {:?} is not required, recommended or suggested",
            at("dlopen_priority", spec.dlopen_priority.span()),
            spec.dlopen_priority.get_ref()
        );
    }
    if !["gzip", "zstd", "none"].contains(&spec.compression.get_ref().as_str()) {
        bail!(
            "{}: {:?} is not gzip, zstd or none",
            at("compression", spec.compression.span()),
            spec.compression.get_ref()
        );
    }
    for e in &spec.image.env {
        if !e.get_ref().contains('=') {
            bail!(
                "{}: {:?} is not KEY=VALUE",
                at("image.env", e.span()),
                e.get_ref()
            );
        }
    }
    if spec.platform.get_ref().is_empty() {
        bail!(
            "{}: at least one [[platform]] is needed",
            at("platform", spec.platform.span())
        );
    }
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut platforms = Vec::new();
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
        if platforms.iter().any(|(a, _)| *a == arch) {
            bail!(
                "{}: {name} is given twice",
                at("platform.name", p.name.span())
            );
        }
        let root = base.join(p.root.get_ref());
        if !root.is_dir() {
            bail!(
                "{}: {} is not a directory",
                at("platform.root", p.root.span()),
                root.display()
            );
        }
        platforms.push((arch, root));
    }
    Ok(Checked { spec, platforms })
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

    #[test]
    fn good_spec() {
        let (_d, p) = write(
            "bins = [\"/bin/x\"]\n[image]\ntag = \"x:1\"\n[[platform]]\nname = \"linux/amd64\"\nroot = \"r\"\n",
        );
        let c = load(&p).unwrap();
        assert_eq!(c.platforms.len(), 1);
        assert_eq!(c.spec.image.tag.as_deref(), Some("x:1"));
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
    }
}
