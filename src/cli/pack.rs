//! `minroot pack`: select, plan and write the layer, then print a summary.

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::Status;
use super::args::{CompressionArg, PackArgs};
use super::config::HostEnv;
use super::layer::Layer;
use crate::pack::{self, Compression, LayerInfo};

/// Parses the one time input: `--source-date-epoch`, else $SOURCE_DATE_EPOCH, else 0.
pub fn source_date_epoch(arg: Option<&str>, env: &HostEnv) -> Result<u64> {
    let (s, from) = match (arg, &env.source_date_epoch) {
        (Some(a), _) => (a.to_string(), "--source-date-epoch"),
        (None, Some(e)) if !e.is_empty() => (e.clone(), "$SOURCE_DATE_EPOCH"),
        _ => return Ok(0),
    };
    let v: u64 = s.trim().parse().with_context(|| {
        format!("{from} {s}: expected seconds since 1970 (a non-negative integer)")
    })?;
    if v > 0o77777777777 {
        bail!("{from} {s}: too large for a tar header");
    }
    Ok(v)
}

/// Prints selection problems and plan warnings to stderr.
pub fn report_problems(layer: &Layer, _env: &HostEnv) {
    for p in &layer.selection.problems {
        eprintln!(
            "minroot: {}: {}",
            if p.error { "error" } else { "warning" },
            p.message
        );
    }
    for w in layer
        .plan
        .warnings
        .iter()
        .chain(layer.session.root.warnings().iter())
    {
        eprintln!("minroot: warning: {w}");
    }
}

pub fn run(args: PackArgs, env: &HostEnv) -> Result<Status> {
    if args.output.is_none()
        && args.oci.is_none()
        && args.oci_archive.is_none()
        && args.rootfs.is_none()
        && args.dockerfile.is_none()
    {
        bail!(
            "pack needs an output: -o layer.tar (.tar.gz, .tar.zst), --oci DIR, --oci-archive FILE, --rootfs DIR or --dockerfile DIR"
        );
    }
    let mtime = source_date_epoch(args.source_date_epoch.as_deref(), env)?;
    let sboms = args
        .sboms
        .iter()
        .map(|p| Ok((p.clone(), super::sbom::SbomFormat::from_path(p)?)))
        .collect::<Result<Vec<_>>>()?;
    let mut layer = super::layer::build(&args.select, &args.bins, env)?;
    report_problems(&layer, env);
    if layer.selection.problems.iter().any(|p| p.error) && !args.allow_missing {
        eprintln!(
            "minroot: nothing written: the closure is incomplete (see above); --allow-missing writes it anyway"
        );
        return Ok(Status::Incomplete);
    }
    // Package metadata joins the plan before anything is written: it changes the digest.
    // Reading the root's package database is skipped when nothing needs it.
    let wants_packages =
        !sboms.is_empty() || args.report || !args.no_package_db || !args.no_copyright;
    let packages = if wants_packages {
        Some(super::sbom::attribute_layer(
            &mut layer,
            crate::sbom::pkgdb::PkgDbOptions {
                package_db: !args.no_package_db,
                copyright: !args.no_copyright,
            },
            !sboms.is_empty() || args.report,
        )?)
    } else {
        None
    };
    let spec = super::image::image_spec(&args.image, &layer.bins[0])?;
    let mut summary = JsonPack {
        layer: None,
        oci: None,
        oci_archive: None,
        rootfs: None,
        dockerfile: None,
        sbom: Vec::new(),
        report: None,
    };
    if let Some(out) = &args.output {
        let info = pack::write_layer(&layer.plan, mtime, Compression::from_path(out), out)
            .with_context(|| format!("writing {}", out.display()))?;
        if !args.json {
            print_summary(&out.to_string_lossy(), &info, false)?;
        }
        summary.layer = Some(info);
    }
    if let Some(dir) = &args.rootfs {
        pack::rootfs::write_rootfs(&layer.plan, mtime, dir)
            .with_context(|| format!("writing {}", dir.display()))?;
        if !args.json {
            println!(
                "wrote {} (rootfs, {} entries)",
                dir.display(),
                layer.plan.entries.len()
            );
        }
        summary.rootfs = Some(dir.to_string_lossy().into_owned());
    }
    if let Some(dir) = &args.dockerfile {
        let info = super::image::write_dockerfile_dir(dir, &layer.plan, &spec, mtime, &layer.bins)?;
        if !args.json {
            println!(
                "wrote {}/Dockerfile and {}/layer.tar (diff_id {})",
                dir.display(),
                dir.display(),
                info.diff_id
            );
        }
        summary.dockerfile = Some(info);
    }
    if args.oci.is_some() || args.oci_archive.is_some() {
        let arch = layer
            .plan
            .arch
            .context("cannot tell the image's architecture")?;
        let dev = if spec.dev {
            Some(super::image::dev_plan(&layer, &layer.options)?)
        } else {
            None
        };
        let compression = match args.compression {
            CompressionArg::Gzip => Compression::Gzip,
            CompressionArg::Zstd => Compression::Zstd,
            CompressionArg::None => Compression::None,
        };
        let platforms = [super::image::PlatformImage {
            arch,
            prod: &layer.plan,
            dev: dev.as_ref(),
            created_by: format!("minroot pack {}", layer.bins.join(" ")),
        }];
        let w = super::image::write_oci(
            args.oci.as_deref(),
            args.oci_archive.as_deref(),
            &platforms,
            &spec,
            mtime,
            compression,
        )?;
        for (out, slot) in [
            (&args.oci, &mut summary.oci),
            (&args.oci_archive, &mut summary.oci_archive),
        ] {
            let Some(out) = out else { continue };
            if !args.json {
                for i in &w {
                    println!(
                        "wrote {} ({} {}, manifest {})",
                        out.display(),
                        i.tag,
                        i.platform,
                        i.manifest_digest
                    );
                }
            }
            *slot = Some(w.clone());
        }
    }
    if let (false, Some(packages)) = (sboms.is_empty(), &packages) {
        summary.sbom = super::sbom::write_sboms(&sboms, &layer, packages, mtime)?;
        if !args.json {
            for info in &summary.sbom {
                println!(
                    "wrote {} ({:?} SBOM: {} packages, {} files, {} from no package)",
                    info.path, info.format, info.packages, info.files, info.unattributed
                );
            }
        }
    }
    if let (true, Some(packages)) = (args.report, &packages) {
        let r = super::report::make(&layer, packages)?;
        if !args.json {
            print!("{}", super::report::render(&r));
        }
        summary.report = Some(r);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    }
    Ok(if layer.selection.problems.iter().any(|p| p.error) {
        Status::Incomplete
    } else {
        Status::Ok
    })
}

#[derive(Serialize)]
struct JsonPack {
    #[serde(skip_serializing_if = "Option::is_none")]
    layer: Option<LayerInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oci: Option<Vec<super::image::WrittenImage>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oci_archive: Option<Vec<super::image::WrittenImage>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rootfs: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dockerfile: Option<LayerInfo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    sbom: Vec<super::sbom::SbomInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<crate::sbom::report::Report>,
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    output: &'a str,
    #[serde(flatten)]
    layer: &'a LayerInfo,
}

pub fn print_summary(out: &str, info: &LayerInfo, json: bool) -> Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&JsonSummary {
                output: out,
                layer: info
            })?
        );
        return Ok(());
    }
    let s = &info.stats;
    println!("wrote {out} ({:?})", info.compression);
    println!(
        "  entries  {} ({} files, {} symlinks, {} dirs, {} hard links)",
        s.entries, s.files, s.symlinks, s.dirs, s.hardlinks
    );
    println!(
        "  content  {} in files, tar {}",
        human(s.content_bytes),
        human(info.tar_bytes)
    );
    println!("  diff_id  {}", info.diff_id);
    if info.compression != Compression::None {
        println!(
            "  blob     {} ({})",
            info.blob_digest,
            human(info.blob_bytes)
        );
    }
    Ok(())
}

/// Bytes in B/KB/MB (decimal, one decimal place).
pub fn human(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} kB", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        _ => format!("{:.2} GB", n as f64 / 1e9),
    }
}
