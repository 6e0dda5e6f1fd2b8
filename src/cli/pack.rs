//! `minroot pack`: the options to a job with outputs, the run, and its summary as text or
//! JSON.

use std::io::Write;

use anyhow::{Result, bail};
use serde::Serialize;

use super::args::{CompressionArg, PackArgs};
use super::config::{self, HostEnv};
use super::{Status, human, outputs};
use crate::job::{self, Goal, LayerDest, Outputs, WrittenImage};
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
    let layer = args
        .output
        .as_deref()
        .map(|o| outputs::layer(o, env))
        .transpose()?;
    let dirs = [
        (
            "--rootfs",
            &args.rootfs,
            "--rootfs writes the tree; -o OUT.tar writes it as a layer",
        ),
        (
            "--oci",
            &args.oci,
            "--oci writes an OCI layout directory; --oci-archive FILE.tar writes it as one file",
        ),
        (
            "--dockerfile",
            &args.dockerfile,
            "--dockerfile DIR writes DIR/Dockerfile and DIR/layer.tar",
        ),
    ];
    for (flag, d, instead) in dirs {
        if let Some(d) = d {
            outputs::dir(flag, d, instead)?;
        }
    }
    if let Some(a) = &args.oci_archive {
        outputs::oci_archive(a)?;
    }
    for s in &args.sboms {
        outputs::file("--sbom", s)?;
    }
    for w in outputs::pack_options(args)? {
        super::say("warning", &w);
    }
    let mtime = config::source_date_epoch(args.source_date_epoch.as_deref(), env)?;
    let outputs = Outputs {
        layer,
        rootfs: args.rootfs.clone(),
        dockerfile: args.dockerfile.clone(),
        oci: args.oci.clone(),
        oci_archive: args.oci_archive.clone(),
        compression: match args.compression {
            None | Some(CompressionArg::Gzip) => Compression::Gzip,
            Some(CompressionArg::Zstd) => Compression::Zstd,
            Some(CompressionArg::None) => Compression::None,
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
    // With the layer on standard output, the summary goes to stderr: stdout holds the
    // layer's bytes and nothing else.
    let to_stdout = matches!(&outcome.written.layer, Some((LayerDest::Stdout, _)));
    let mut out: Box<dyn Write> = if to_stdout {
        Box::new(std::io::stderr().lock())
    } else {
        Box::new(std::io::BufWriter::new(std::io::stdout().lock()))
    };
    let out = &mut out;
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
    if let Some((out_name, info)) = &w.layer {
        if !args.json {
            print_summary(out, &out_name.to_string(), info)?;
        }
        summary.layer = Some(info);
    }
    if let Some((dir, entries)) = &w.rootfs {
        if !args.json {
            writeln!(
                out,
                "wrote {} (rootfs, {})",
                dir.display(),
                super::count(*entries as u64, "entry", "entries")
            )?;
        }
        summary.rootfs = Some(dir.to_string_lossy().into_owned());
    }
    if let Some((dir, info)) = &w.dockerfile {
        if !args.json {
            writeln!(
                out,
                "wrote {}/Dockerfile and {}/layer.tar (diff_id {})",
                dir.display(),
                dir.display(),
                info.diff_id
            )?;
        }
        summary.dockerfile = Some(info);
    }
    for (written, slot) in [
        (&w.oci, &mut summary.oci),
        (&w.oci_archive, &mut summary.oci_archive),
    ] {
        let Some((path, images)) = written else {
            continue;
        };
        if !args.json {
            for i in images {
                writeln!(
                    out,
                    "wrote {} ({} {}, manifest {})",
                    path.display(),
                    i.tag,
                    i.platform,
                    i.manifest_digest
                )?;
            }
        }
        *slot = Some(images);
    }
    for info in &w.sboms {
        if !args.json {
            writeln!(
                out,
                "wrote {} ({} SBOM: {}, {}, {} from no package)",
                info.path,
                info.format,
                super::count(info.packages as u64, "package", "packages"),
                super::count(info.files as u64, "file", "files"),
                info.unattributed
            )?;
        }
    }
    summary.sbom = w.sboms.iter().collect();
    if let Some(r) = &outcome.report {
        if !args.json {
            write!(out, "{}", super::report::render(r))?;
        }
        summary.report = Some(r);
    }
    if args.json && outcome.refused.is_none() {
        writeln!(out, "{}", serde_json::to_string_pretty(&summary)?)?;
    }
    out.flush()?;
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
pub fn print_summary(out: &mut impl Write, name: &str, info: &LayerInfo) -> std::io::Result<()> {
    let s = &info.stats;
    let c = super::count;
    writeln!(out, "wrote {name} ({})", info.compression)?;
    writeln!(
        out,
        "  entries  {} ({}, {}, {}, {})",
        s.entries,
        c(s.files as u64, "file", "files"),
        c(s.symlinks as u64, "symlink", "symlinks"),
        c(s.dirs as u64, "dir", "dirs"),
        c(s.hardlinks as u64, "hard link", "hard links")
    )?;
    writeln!(
        out,
        "  content  {} in files, tar {}",
        human(s.content_bytes),
        human(info.tar_bytes)
    )?;
    writeln!(out, "  diff_id  {}", info.diff_id)?;
    if info.compression != Compression::None {
        writeln!(
            out,
            "  blob     {} ({})",
            info.blob_digest,
            human(info.blob_bytes)
        )?;
    }
    Ok(())
}
