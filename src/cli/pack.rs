//! `minroot pack`: the options to a job with outputs, the run, and its summary as text or
//! JSON.

use anyhow::{Result, bail};
use serde::Serialize;

use super::args::{CompressionArg, PackArgs};
use super::config::{self, HostEnv};
use super::{Status, human};
use crate::job::{self, Goal, Outputs, WrittenImage};
use crate::pack::{Compression, LayerInfo};

/// The options as a job.
pub fn job(args: &PackArgs, env: &HostEnv) -> Result<job::Job> {
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
    let mtime = config::source_date_epoch(args.source_date_epoch.as_deref(), env)?;
    let outputs = Outputs {
        layer: args.output.clone(),
        rootfs: args.rootfs.clone(),
        dockerfile: args.dockerfile.clone(),
        oci: args.oci.clone(),
        oci_archive: args.oci_archive.clone(),
        compression: match args.compression {
            CompressionArg::Gzip => Compression::Gzip,
            CompressionArg::Zstd => Compression::Zstd,
            CompressionArg::None => Compression::None,
        },
        sboms: config::sboms(&args.sboms)?,
        report: args.report,
        image: config::image_config(&args.image)?,
        command: "pack",
    };
    let mut job = config::job(
        Goal::Pack(Box::new(outputs)),
        &args.select,
        &args.bins,
        config::packages(args.no_package_db, args.no_copyright),
        mtime,
        env,
    )?;
    job.allow_missing = args.allow_missing;
    Ok(job)
}

pub fn run(args: PackArgs, env: &HostEnv) -> Result<Status> {
    let job = job(&args, env)?;
    let outcome = job::run(&job)?;
    let w = &outcome.written;
    let mut summary = JsonPack {
        layer: None,
        oci: None,
        oci_archive: None,
        rootfs: None,
        dockerfile: None,
        sbom: Vec::new(),
        report: None,
    };
    if let Some((out, info)) = &w.layer {
        if !args.json {
            print_summary(&out.to_string_lossy(), info);
        }
        summary.layer = Some(info);
    }
    if let Some((dir, entries)) = &w.rootfs {
        if !args.json {
            println!("wrote {} (rootfs, {entries} entries)", dir.display());
        }
        summary.rootfs = Some(dir.to_string_lossy().into_owned());
    }
    if let Some((dir, info)) = &w.dockerfile {
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
    for (written, slot) in [
        (&w.oci, &mut summary.oci),
        (&w.oci_archive, &mut summary.oci_archive),
    ] {
        let Some((out, images)) = written else {
            continue;
        };
        if !args.json {
            for i in images {
                println!(
                    "wrote {} ({} {}, manifest {})",
                    out.display(),
                    i.tag,
                    i.platform,
                    i.manifest_digest
                );
            }
        }
        *slot = Some(images);
    }
    for info in &w.sboms {
        if !args.json {
            println!(
                "wrote {} ({:?} SBOM: {} packages, {} files, {} from no package)",
                info.path, info.format, info.packages, info.files, info.unattributed
            );
        }
    }
    summary.sbom = w.sboms.iter().collect();
    if let Some(r) = &outcome.report {
        if !args.json {
            print!("{}", super::report::render(r));
        }
        summary.report = Some(r);
    }
    if args.json && outcome.refused.is_none() {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    }
    Ok(super::finish(&outcome))
}

#[derive(Serialize)]
struct JsonPack<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    layer: Option<&'a LayerInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oci: Option<&'a Vec<WrittenImage>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oci_archive: Option<&'a Vec<WrittenImage>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rootfs: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dockerfile: Option<&'a LayerInfo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    sbom: Vec<&'a crate::sbom::layer::SbomInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<&'a crate::sbom::report::Report>,
}

/// The text summary of a written layer.
pub fn print_summary(out: &str, info: &LayerInfo) {
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
}
