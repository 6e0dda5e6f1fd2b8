//! `minroot build SPEC`: one image per platform of the spec, written as one OCI index.

use anyhow::{Context, Result, bail};

use super::Status;
use super::args::{BuildArgs, ClosureArgs, ImageArgs, RootArgs, SelectArgs};
use super::config::HostEnv;
use super::image::{self, PlatformImage};
use crate::pack::Compression;

pub fn run(args: BuildArgs, env: &HostEnv) -> Result<Status> {
    if args.oci.is_none() && args.oci_archive.is_none() {
        bail!("build needs an output: --oci DIR or --oci-archive FILE");
    }
    let checked = super::spec::load(&args.spec)?;
    let spec = &checked.spec;
    let mtime = match &spec.source_date_epoch {
        Some(s) => *s.get_ref(),
        None => super::pack::source_date_epoch(None, env)?,
    };
    let compression = match spec.compression.get_ref().as_str() {
        "zstd" => Compression::Zstd,
        "none" => Compression::None,
        _ => Compression::Gzip,
    };
    let bins: Vec<String> = spec.bins.get_ref().clone();
    let mut layers = Vec::new();
    let mut devs = Vec::new();
    let mut status = Status::Ok;
    for (i, (arch, root)) in checked.platforms.iter().enumerate() {
        let p = &spec.platform.get_ref()[i];
        let sel = SelectArgs {
            closure: ClosureArgs {
                root: RootArgs {
                    root: root.clone(),
                    library_path: p.library_path.clone(),
                    cpu_level: p.cpu_level.clone(),
                },
                includes: spec.include.clone(),
                dlopens: spec.dlopen.clone(),
                dlopen_priority: spec.dlopen_priority.get_ref().clone(),
                no_gconv: !spec.gconv,
                data: spec.data.clone(),
            },
            no_base: spec.no_base,
            strip_setuid: spec.strip_setuid,
            chown: spec.chown.clone(),
        };
        let mut layer = super::layer::build(&sel, &bins, env)
            .with_context(|| format!("platform {}", p.name.get_ref()))?;
        super::sbom::attribute_layer(
            &mut layer,
            crate::sbom::pkgdb::PkgDbOptions {
                package_db: spec.package_db,
                copyright: spec.copyright,
            },
            false,
        )?;
        super::pack::report_problems(&layer, env);
        if layer.selection.problems.iter().any(|x| x.error) {
            if !args.allow_missing {
                eprintln!(
                    "minroot: nothing written: the closure for {} is incomplete (see above); --allow-missing writes it anyway",
                    p.name.get_ref()
                );
                return Ok(Status::Incomplete);
            }
            status = Status::Incomplete;
        }
        if layer.plan.arch != Some(*arch) {
            bail!(
                "platform {}: the programs in {} are for {}",
                p.name.get_ref(),
                root.display(),
                layer
                    .plan
                    .arch
                    .map(|a| a.oci_arch())
                    .unwrap_or("an unknown architecture")
            );
        }
        let dev = if spec.dev {
            Some(image::dev_plan(&layer, &layer.options)?)
        } else {
            None
        };
        devs.push(dev);
        layers.push((*arch, layer));
    }
    let img = ImageArgs {
        entrypoint: spec.image.entrypoint.clone(),
        cmd: spec.image.cmd.clone(),
        env: spec.image.env.iter().map(|e| e.get_ref().clone()).collect(),
        user: spec.image.user.clone(),
        workdir: spec.image.workdir.clone(),
        labels: spec
            .image
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        tag: spec.image.tag.clone(),
        dev: spec.dev,
    };
    let first = layers[0].1.bins[0].clone();
    let ispec = image::image_spec(&img, &first)?;
    let platforms: Vec<PlatformImage> = layers
        .iter()
        .zip(&devs)
        .map(|((arch, l), d)| PlatformImage {
            arch: *arch,
            prod: &l.plan,
            dev: d.as_ref(),
            created_by: format!("minroot build {}", bins.join(" ")),
        })
        .collect();
    let written = image::write_oci(
        args.oci.as_deref(),
        args.oci_archive.as_deref(),
        &platforms,
        &ispec,
        mtime,
        compression,
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&written)?);
    } else {
        for w in &written {
            println!(
                "{} {} manifest {} ({} layers)",
                w.platform,
                w.tag,
                w.manifest_digest,
                w.layers.len()
            );
        }
    }
    Ok(status)
}
