//! `minroot bundle`: select and plan the closure as `pack` does (no base files), lay it
//! out relocatably with launchers (`src/bundle/`), and write a directory or a
//! reproducible .tar.gz. A missing library means nothing is written (exit 1).

use std::io::Write;
use std::path::Path;

use anyhow::{Result, bail};
use serde::Serialize;

use super::Status;
use super::args::{BundleArgs, SelectArgs};
use super::config::{self, HostEnv};
use crate::bundle::BundleInfo;
use crate::job::{self, BundleOutput, Goal};
use crate::pack::LayerInfo;

/// The folder name of a tarball output (`x.tar.gz` -> `x`), or None for a directory.
fn tarball_stem(out: &Path) -> Option<String> {
    let name = out.file_name()?.to_str()?;
    [".tar.gz", ".tgz"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .map(str::to_string)
}

/// The options as a job.
pub fn job(args: &BundleArgs, env: &HostEnv) -> Result<job::Job> {
    super::outputs::bundle(&args.output)?;
    let mtime = config::source_date_epoch(args.source_date_epoch.as_deref(), env)?;
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
    // A bundle has no base files, no setuid bits and the root's owners do not matter.
    let select = SelectArgs {
        closure: args.closure.clone(),
        no_base: true,
        strip_setuid: true,
        chown: None,
    };
    config::job(
        Goal::Bundle(BundleOutput {
            path: out.clone(),
            tarball: prefix,
        }),
        &select,
        &args.bins,
        config::packages(true, true),
        mtime,
        env,
    )
}

pub fn run(args: BundleArgs, env: &HostEnv) -> Result<Status> {
    let job = job(&args, env)?;
    let outcome = job::run(&job)?;
    let mut out = std::io::stdout().lock();
    if let Some(b) = &outcome.written.bundle {
        if args.json {
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&JsonBundle {
                    output: &b.path.to_string_lossy(),
                    bundle: &b.info,
                    tarball: b.tarball.as_ref(),
                })?
            )?;
        } else {
            let folder = args.name.clone().or_else(|| tarball_stem(&b.path));
            writeln!(
                out,
                "wrote {} ({}): {}",
                b.path.display(),
                super::count(b.info.entries as u64, "entry", "entries"),
                b.info
                    .launchers
                    .iter()
                    .map(|l| match (&b.tarball, &folder) {
                        (Some(_), Some(f)) => format!("{f}/{l}"),
                        _ => l.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            )?;
            if let Some(i) = &b.tarball {
                writeln!(out, "  sha256   {}", i.blob_digest)?;
            }
        }
    }
    out.flush()?;
    Ok(super::finish(&outcome))
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
