//! Image outputs of `pack` and `build`: OCI layout, OCI archive, Dockerfile directory,
//! and the `-dev` variant. Turns `ImageArgs` into a run configuration once.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::args::ImageArgs;
use super::layer::Layer;
use crate::arch::Arch;
use crate::oci::layout::{Staging, docker_manifest};
use crate::oci::{self, IndexEntry, LayerRef, RunConfig};
use crate::pack::{Compression, LayerInfo};
use crate::plan::{Content, Entry, Plan, PlanOptions};
use crate::select::{self, SelectOptions};

/// The validated image options.
#[derive(Clone, Debug)]
pub struct ImageSpec {
    pub run: RunConfig,
    /// NAME:TAG.
    pub tag: String,
    pub dev: bool,
}

/// Validates image options; `first_bin` is the default entrypoint and name.
pub fn image_spec(a: &ImageArgs, first_bin: &str) -> Result<ImageSpec> {
    for e in &a.env {
        if !e.contains('=') || e.starts_with('=') {
            bail!("--env {e}: expected KEY=VALUE");
        }
    }
    let mut labels = BTreeMap::new();
    for l in &a.labels {
        let (k, v) = l
            .split_once('=')
            .with_context(|| format!("--label {l}: expected KEY=VALUE"))?;
        if k.is_empty() {
            bail!("--label {l}: empty key");
        }
        labels.insert(k.to_string(), v.to_string());
    }
    let entrypoint = if a.entrypoint.is_empty() {
        vec![first_bin.to_string()]
    } else {
        a.entrypoint.clone()
    };
    let tag = match &a.tag {
        Some(t) => {
            if t.is_empty() || t.contains(char::is_whitespace) {
                bail!("--tag {t:?}: expected NAME:TAG without spaces");
            }
            // The tag is after the last ':' of the last path component: in
            // `localhost:5000/app` the ':' belongs to the registry, which has no tag yet.
            let last = t.rsplit('/').next().unwrap_or(t);
            if last.contains(':') && !last.ends_with(':') {
                t.clone()
            } else {
                format!("{}:latest", t.trim_end_matches(':'))
            }
        }
        None => {
            let base = first_bin.rsplit('/').next().unwrap_or("minroot");
            let base: String = base
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "._-".contains(c) {
                        c.to_ascii_lowercase()
                    } else {
                        '-'
                    }
                })
                .collect();
            format!(
                "{}:latest",
                if base.is_empty() {
                    "minroot".into()
                } else {
                    base
                }
            )
        }
    };
    Ok(ImageSpec {
        run: RunConfig {
            entrypoint,
            cmd: a.cmd.clone(),
            env: RunConfig::with_env(&a.env),
            user: a.user.clone().unwrap_or_else(|| oci::DEFAULT_USER.into()),
            workdir: a.workdir.clone(),
            labels,
        },
        tag,
        dev: a.dev,
    })
}

/// The `-dev` tag of a NAME:TAG.
pub fn dev_tag(tag: &str) -> String {
    format!("{tag}-dev")
}

/// The dev layer's plan: the root's busybox (with applet links) or shell and tools, minus
/// what the production layer already has.
pub fn dev_plan(layer: &Layer, opts: &SelectOptions) -> Result<Plan> {
    let tools = crate::dev::find(&layer.session.root);
    if tools.bins.is_empty() {
        bail!("--dev: the root has neither busybox nor a shell to put in the dev image");
    }
    let sel = select::select(
        &layer.session,
        &tools.bins,
        &SelectOptions {
            includes: vec![],
            dlopens: vec![],
            ..opts.clone()
        },
    )?;
    if let Some(p) = sel.problems.iter().find(|p| p.error) {
        bail!("--dev: {}", p.message);
    }
    let mut plan = crate::plan::build(
        &layer.session.root,
        &sel,
        &PlanOptions {
            base: false,
            ..Default::default()
        },
    );
    for (path, target, reason) in tools.links {
        let k = path.trim_start_matches('/').to_string();
        plan.entries.entry(k).or_insert(Entry {
            content: Content::Symlink(target),
            mode: 0o777,
            uid: 0,
            gid: 0,
            xattrs: vec![],
            reason,
            source: None,
        });
    }
    plan.entries
        .retain(|k, e| matches!(e.content, Content::Dir) || !layer.plan.entries.contains_key(k));
    // Keep only directories that hold something of the dev layer.
    let keep: Vec<String> = plan
        .entries
        .iter()
        .filter(|(_, e)| !matches!(e.content, Content::Dir))
        .map(|(k, _)| k.clone())
        .collect();
    plan.entries.retain(|k, e| {
        !matches!(e.content, Content::Dir) || keep.iter().any(|f| f.starts_with(&format!("{k}/")))
    });
    plan.arch = layer.plan.arch;
    Ok(plan)
}

/// One platform's image(s) to write: production plan, optional dev plan.
pub struct PlatformImage<'a> {
    pub arch: Arch,
    pub prod: &'a Plan,
    pub dev: Option<&'a Plan>,
    pub created_by: String,
}

/// What was written for one image.
#[derive(Clone, Debug, serde::Serialize)]
pub struct WrittenImage {
    pub platform: String,
    pub tag: String,
    pub manifest_digest: String,
    pub config_digest: String,
    pub layers: Vec<LayerInfo>,
}

/// Staged images: the index, Docker manifest entries (config, tag, layers), and what was written.
pub type Staged = (
    serde_json::Value,
    Vec<(String, String, Vec<String>)>,
    Vec<WrittenImage>,
);

/// Stages every image of `platforms` and returns the index and a Docker manifest.
pub fn stage_images(
    st: &mut Staging,
    platforms: &[PlatformImage],
    spec: &ImageSpec,
    mtime: u64,
    compression: Compression,
) -> Result<Staged> {
    let mut entries = Vec::new();
    let mut docker = Vec::new();
    let mut written = Vec::new();
    for p in platforms {
        let prod = st
            .add_layer(p.prod, mtime, compression, p.created_by.clone())
            .context("writing the layer")?;
        let mut images: Vec<(String, Vec<LayerRef>)> = vec![(spec.tag.clone(), vec![prod.clone()])];
        if let Some(dev) = p.dev {
            let d = st
                .add_layer(
                    dev,
                    mtime,
                    compression,
                    format!("{} (dev tools)", p.created_by),
                )
                .context("writing the dev layer")?;
            images.push((dev_tag(&spec.tag), vec![prod.clone(), d]));
        }
        for (tag, layers) in images {
            let config = oci::config(p.arch, &spec.run, &layers, mtime);
            let manifest = oci::manifest(&config, &layers, mtime);
            st.add_blob(&config)?;
            st.add_blob(&manifest)?;
            docker.push((
                config.digest.clone(),
                tag.clone(),
                layers.iter().map(|l| l.info.blob_digest.clone()).collect(),
            ));
            written.push(WrittenImage {
                platform: format!(
                    "linux/{}{}",
                    p.arch.oci_arch(),
                    p.arch
                        .oci_variant()
                        .map(|v| format!("/{v}"))
                        .unwrap_or_default()
                ),
                tag: tag.clone(),
                manifest_digest: manifest.digest.clone(),
                config_digest: config.digest.clone(),
                layers: layers.iter().map(|l| l.info.clone()).collect(),
            });
            entries.push(IndexEntry {
                manifest,
                arch: p.arch,
                ref_name: Some(tag),
            });
        }
    }
    let (index, nested) = oci::index(&entries);
    for b in &nested {
        st.add_blob(b)?;
    }
    Ok((index, docker, written))
}

/// Writes an OCI layout directory and/or an OCI archive (the layout in one tar, with
/// Docker's manifest.json for one platform). The layers are compressed once for both.
pub fn write_oci(
    dir: Option<&Path>,
    archive: Option<&Path>,
    platforms: &[PlatformImage],
    spec: &ImageSpec,
    mtime: u64,
    compression: Compression,
) -> Result<Vec<WrittenImage>> {
    let Some(first) = dir.or(archive) else {
        return Ok(Vec::new());
    };
    let mut st = Staging::new(first)?;
    let (index, docker, written) = stage_images(&mut st, platforms, spec, mtime, compression)?;
    st.finish_layout(&index)?;
    if let Some(file) = archive {
        // Docker's manifest.json cannot tell platforms apart: only for single-platform archives.
        let dm = (platforms.len() == 1).then(|| docker_manifest(&docker));
        st.write_archive(file, dm.as_ref(), mtime)
            .with_context(|| format!("writing {}", file.display()))?;
    }
    if let Some(dir) = dir {
        st.commit_dir(dir)
            .with_context(|| format!("writing {}", dir.display()))?;
    }
    Ok(written)
}

/// Writes DIR/Dockerfile and DIR/layer.tar.
pub fn write_dockerfile_dir(
    dest: &Path,
    plan: &Plan,
    spec: &ImageSpec,
    mtime: u64,
    bins: &[String],
) -> Result<LayerInfo> {
    if dest.exists()
        && std::fs::read_dir(dest)?.next().is_some()
        && !dest.join("Dockerfile").exists()
    {
        bail!("{} exists and is not empty", dest.display());
    }
    std::fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
    let info = crate::pack::write_layer(plan, mtime, Compression::None, &dest.join("layer.tar"))
        .context("writing layer.tar")?;
    let df = dockerfile(spec, bins);
    let tmp = crate::pack::AtomicFile::create(&dest.join("Dockerfile"))?;
    std::fs::write(tmp.path(), df)?;
    tmp.commit()?;
    Ok(info)
}

/// The Dockerfile text.
pub fn dockerfile(spec: &ImageSpec, bins: &[String]) -> String {
    // The builder expands `$VAR` in ENV, LABEL, WORKDIR and USER, also inside double
    // quotes: `\$` keeps `--env PRICE=$5` literal, as it is in the OCI config (a JSON
    // string's `\\` and `\"` are already the Dockerfile's escapes).
    let q = |s: &str| {
        serde_json::to_string(s)
            .expect("strings serialise")
            .replace('$', "\\$")
    };
    let mut out = format!(
        "# Generated by minroot {}: the minimal root filesystem of {}.\nFROM scratch\nADD layer.tar /\n",
        env!("CARGO_PKG_VERSION"),
        bins.join(" ")
    );
    for e in &spec.run.env {
        let (k, v) = e.split_once('=').unwrap_or((e, ""));
        out.push_str(&format!("ENV {k}={}\n", q(v)));
    }
    for (k, v) in &spec.run.labels {
        out.push_str(&format!("LABEL {}={}\n", q(k), q(v)));
    }
    if let Some(w) = &spec.run.workdir {
        out.push_str(&format!("WORKDIR {}\n", q(w)));
    }
    if !spec.run.user.is_empty() {
        out.push_str(&format!("USER {}\n", q(&spec.run.user)));
    }
    if !spec.run.entrypoint.is_empty() {
        out.push_str(&format!(
            "ENTRYPOINT {}\n",
            serde_json::to_string(&spec.run.entrypoint).expect("serialise")
        ));
    }
    if !spec.run.cmd.is_empty() {
        out.push_str(&format!(
            "CMD {}\n",
            serde_json::to_string(&spec.run.cmd).expect("serialise")
        ));
    }
    out
}
