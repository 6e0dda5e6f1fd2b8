//! The image outputs of a job: an OCI layout and/or archive (one manifest per platform and
//! variant, the layers compressed once for both), and a Dockerfile directory. The bytes
//! come from `oci/` (config, manifest, index) and `pack/` (layers); this file decides
//! which images there are and writes them.

use std::collections::BTreeMap;
use std::path::Path;

use crate::arch::Arch;
use crate::image::ImageRoot;
use crate::oci::layout::{Staging, docker_manifest};
use crate::oci::{self, IndexEntry, LayerRef, RunConfig};
use crate::pack::{Compression, LayerInfo};
use crate::plan::Plan;

use super::ImageConfig;
use super::error::JobError;

/// The image options with every default filled in.
#[derive(Clone, Debug)]
pub struct ImageSpec {
    pub run: RunConfig,
    /// NAME:TAG.
    pub tag: String,
    /// Manifest annotations: the source image's digest and name, when there is one.
    pub annotations: BTreeMap<String, String>,
}

impl ImageSpec {
    /// Fills in the defaults: `first_program` is the entrypoint and the name. With a
    /// source image, every field comes from its config unless a flag set it (Entrypoint
    /// and Cmd together: a new entrypoint does not keep the image's arguments).
    pub fn new(c: &ImageConfig, first_program: &str, base: Option<&ImageRoot>) -> ImageSpec {
        let Some(img) = base else {
            return ImageSpec {
                run: RunConfig {
                    entrypoint: if c.entrypoint.is_empty() {
                        vec![first_program.to_string()]
                    } else {
                        c.entrypoint.clone()
                    },
                    cmd: c.cmd.clone(),
                    env: RunConfig::with_env(&c.env),
                    user: c.user.clone().unwrap_or_else(|| oci::DEFAULT_USER.into()),
                    workdir: c.workdir.clone(),
                    labels: c.labels.clone(),
                    exposed_ports: None,
                    volumes: None,
                    stop_signal: None,
                },
                tag: c
                    .tag
                    .clone()
                    .unwrap_or_else(|| super::parse::default_tag(first_program)),
                annotations: BTreeMap::new(),
            };
        };
        let b = img.config();
        let (entrypoint, cmd) = if !c.entrypoint.is_empty() {
            (c.entrypoint.clone(), c.cmd.clone())
        } else if !c.cmd.is_empty() {
            (b.entrypoint.clone().unwrap_or_default(), c.cmd.clone())
        } else {
            (
                b.entrypoint.clone().unwrap_or_default(),
                b.cmd.clone().unwrap_or_default(),
            )
        };
        let mut labels = b.labels.clone().unwrap_or_default();
        labels.extend(c.labels.clone());
        let mut annotations = BTreeMap::new();
        if let Some(d) = img.digest() {
            annotations.insert(oci::ANN_BASE_DIGEST.to_string(), d.to_string());
            annotations.insert(oci::ANN_BASE_NAME.to_string(), img.reference().to_string());
        }
        ImageSpec {
            run: RunConfig {
                entrypoint,
                cmd,
                env: RunConfig::env_over(&b.env.clone().unwrap_or_default(), &c.env),
                user: c.user.clone().or(b.user.clone()).unwrap_or_default(),
                workdir: c.workdir.clone().or(b.working_dir.clone()),
                labels,
                exposed_ports: b.exposed_ports.clone(),
                volumes: b.volumes.clone(),
                stop_signal: b.stop_signal.clone(),
            },
            tag: c
                .tag
                .clone()
                .unwrap_or_else(|| super::parse::default_tag(first_program)),
            annotations,
        }
    }
}

/// The `-dev` tag of a NAME:TAG.
pub fn dev_tag(tag: &str) -> String {
    format!("{tag}-dev")
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
    /// The digest of the image index the tag names when the image has several platforms
    /// (one manifest per platform): what a registry stores under the tag after
    /// `skopeo copy --all`, and what `podman pull NAME:TAG` resolves. None with one
    /// platform, where the tag names the manifest itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_digest: Option<String>,
    pub config_digest: String,
    pub layers: Vec<LayerInfo>,
}

/// Staged images: the index, Docker manifest entries (config, tag, layers), and what was
/// written.
type Staged = (
    serde_json::Value,
    Vec<(String, String, Vec<String>)>,
    Vec<WrittenImage>,
);

fn io(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> JobError {
    let what = what.to_string();
    let path = path.display().to_string();
    move |source| JobError::Write { what, path, source }
}

/// Stages every image of `platforms` and returns the index and a Docker manifest.
fn stage_images(
    st: &mut Staging,
    dest: &Path,
    platforms: &[PlatformImage],
    spec: &ImageSpec,
    mtime: u64,
    compression: Compression,
) -> Result<Staged, JobError> {
    let mut entries = Vec::new();
    let mut docker = Vec::new();
    let mut written = Vec::new();
    for p in platforms {
        let prod = st
            .add_layer(p.prod, mtime, compression, p.created_by.clone())
            .map_err(io("writing the layer of", dest))?;
        let mut images: Vec<(String, Vec<LayerRef>)> = vec![(spec.tag.clone(), vec![prod.clone()])];
        if let Some(dev) = p.dev {
            let d = st
                .add_layer(
                    dev,
                    mtime,
                    compression,
                    format!("{} (dev tools)", p.created_by),
                )
                .map_err(io("writing the dev layer of", dest))?;
            images.push((dev_tag(&spec.tag), vec![prod.clone(), d]));
        }
        for (tag, layers) in images {
            let config = oci::config(p.arch, &spec.run, &layers, mtime);
            let manifest = oci::manifest_with(&config, &layers, mtime, &spec.annotations);
            st.add_blob(&config).map_err(io("writing", dest))?;
            st.add_blob(&manifest).map_err(io("writing", dest))?;
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
                index_digest: None,
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
    let (index, nested) = oci::image_index(&entries);
    for b in &nested {
        st.add_blob(b).map_err(io("writing", dest))?;
    }
    // The tags that name a (nested) index rather than a manifest.
    for d in index.manifests.iter().flatten() {
        if d.media_type != oci::MT_INDEX {
            continue;
        }
        let Some(tag) = d.annotations.get(oci::ANN_REF_NAME) else {
            continue;
        };
        for w in written.iter_mut().filter(|w| &w.tag == tag) {
            w.index_digest = Some(d.digest.clone());
        }
    }
    let index = serde_json::to_value(index).expect("indexes serialise");
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
    progress: &crate::progress::Observer,
) -> Result<Vec<WrittenImage>, JobError> {
    let Some(first) = dir.or(archive) else {
        return Ok(Vec::new());
    };
    let mut st = Staging::new(first).map_err(io("writing", first))?;
    st.progress = progress.clone();
    let (index, docker, written) =
        stage_images(&mut st, first, platforms, spec, mtime, compression)?;
    st.finish_layout(&index).map_err(io("writing", first))?;
    if let Some(file) = archive {
        // Docker's manifest.json cannot tell platforms apart: only for single-platform archives.
        let dm = (platforms.len() == 1).then(|| docker_manifest(&docker));
        st.write_archive(file, dm.as_ref(), mtime)
            .map_err(io("writing", file))?;
    }
    if let Some(dir) = dir {
        st.commit_dir(dir).map_err(io("writing", dir))?;
    }
    Ok(written)
}

/// Writes DIR/Dockerfile and DIR/layer.tar.
pub fn write_dockerfile_dir(
    dest: &Path,
    plan: &Plan,
    spec: &ImageSpec,
    mtime: u64,
    programs: &[String],
    progress: &dyn crate::progress::Progress,
) -> Result<LayerInfo, JobError> {
    let not_empty = dest.exists()
        && std::fs::read_dir(dest)
            .map_err(io("reading", dest))?
            .next()
            .is_some();
    if not_empty && !dest.join("Dockerfile").exists() {
        return Err(JobError::NotEmpty(dest.to_path_buf()));
    }
    // The directories this run makes go on a signal until DIR holds the Dockerfile (the
    // temporary files inside go with them): the outermost one that is missing, so that
    // `--dockerfile new/docker` leaves no `new`.
    let outermost = dest
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
        .last()
        .map(Path::to_path_buf);
    let _made = match outermost {
        None => None,
        Some(top) => Some(
            crate::cleanup::track(|| std::fs::create_dir_all(dest), |_| top)
                .map_err(io("creating", dest))?
                .1,
        ),
    };
    let layer = dest.join("layer.tar");
    let info = crate::pack::write_layer(plan, mtime, Compression::None, &layer, progress)
        .map_err(io("writing", &layer))?;
    let path = dest.join("Dockerfile");
    let tmp = crate::pack::AtomicFile::create(&path).map_err(io("writing", &path))?;
    let mut f = tmp.file().map_err(io("writing", &path))?;
    std::io::Write::write_all(&mut f, dockerfile(spec, programs).as_bytes())
        .map_err(io("writing", &path))?;
    drop(f);
    tmp.commit().map_err(io("writing", &path))?;
    Ok(info)
}

/// The Dockerfile text.
pub fn dockerfile(spec: &ImageSpec, programs: &[String]) -> String {
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
        programs.join(" ")
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
