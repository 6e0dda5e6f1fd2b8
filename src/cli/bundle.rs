//! `minroot bundle`: select and plan the closure as `pack` does (no base files), lay it
//! out relocatably with launchers (`src/bundle/`), and write a directory or a
//! reproducible .tar.gz. A missing library means nothing is written (exit 1).

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::Status;
use super::args::{BundleArgs, SelectArgs};
use super::config::HostEnv;
use crate::bundle::{self, BundleInfo, BundleOptions};
use crate::pack::{self, Compression, LayerInfo};

/// The folder name of a tarball output (`x.tar.gz` -> `x`), or None for a directory.
fn tarball_stem(out: &Path) -> Option<String> {
    let name = out.file_name()?.to_str()?;
    [".tar.gz", ".tgz"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .map(str::to_string)
}

pub fn run(args: BundleArgs, env: &HostEnv) -> Result<Status> {
    let mtime = super::pack::source_date_epoch(args.source_date_epoch.as_deref(), env)?;
    let out = &args.output;
    let stem = tarball_stem(out);
    let prefix = match (&stem, &args.name) {
        (None, Some(_)) => bail!(
            "--name is for a .tar.gz output; a directory output is the bundle's folder itself"
        ),
        (None, None) => None,
        (Some(s), None) => Some(s.clone()),
        (Some(_), Some(n)) => Some(n.clone()),
    };
    if let Some(p) = &prefix
        && (p.is_empty() || p.contains('/') || p == "." || p == "..")
    {
        bail!("the bundle's folder name {p:?} is not a plain name; use --name NAME");
    }
    if stem.is_none()
        && out.exists()
        && (!out.is_dir()
            || std::fs::read_dir(out)
                .map(|mut d| d.next().is_some())
                .unwrap_or(true))
    {
        bail!(
            "{}: exists and is not an empty directory (a bundle directory is written whole)",
            out.display()
        );
    }
    let select = SelectArgs {
        closure: args.closure.clone(),
        no_base: true,
        strip_setuid: true,
        chown: None,
    };
    let layer = super::layer::build(&select, &args.bins, env)?;
    super::pack::report_problems(&layer, env);
    if layer.selection.problems.iter().any(|p| p.error) {
        eprintln!(
            "minroot: nothing written: the bundle would be incomplete (see above); a bundle never leaves a library out"
        );
        return Ok(Status::Incomplete);
    }
    let b = bundle::build(
        &layer.session.root,
        &layer.selection,
        &layer.plan,
        &layer.bins,
        &BundleOptions { prefix },
    )?;
    for w in &b.info.warnings {
        eprintln!("minroot: warning: {w}");
    }
    let written = if stem.is_some() {
        let info = pack::write_layer(&b.plan, mtime, Compression::Gzip, out)
            .with_context(|| format!("writing {}", out.display()))?;
        Some(info)
    } else {
        pack::rootfs::write_rootfs(&b.plan, mtime, out)
            .with_context(|| format!("writing {}", out.display()))?;
        None
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&JsonBundle {
                output: &out.to_string_lossy(),
                bundle: &b.info,
                tarball: written.as_ref(),
            })?
        );
    } else {
        println!(
            "wrote {} ({} entries): {}",
            out.display(),
            b.info.entries,
            b.info
                .launchers
                .iter()
                .map(|l| match &stem {
                    Some(_) => format!(
                        "{}/{l}",
                        args.name.as_deref().or(stem.as_deref()).unwrap_or("")
                    ),
                    None => l.clone(),
                })
                .collect::<Vec<_>>()
                .join(" ")
        );
        if let Some(i) = &written {
            println!("  sha256   {}", i.blob_digest);
        }
    }
    Ok(Status::Ok)
}

#[derive(Serialize)]
struct JsonBundle<'a> {
    output: &'a str,
    #[serde(flatten)]
    bundle: &'a BundleInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    tarball: Option<&'a LayerInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tarball_names() {
        assert_eq!(
            tarball_stem(Path::new("out/curl.tar.gz")).as_deref(),
            Some("curl")
        );
        assert_eq!(tarball_stem(Path::new("py.tgz")).as_deref(), Some("py"));
        assert_eq!(tarball_stem(Path::new("bundle")), None);
        assert_eq!(tarball_stem(Path::new("x.tar")), None);
    }
}
