//! `minroot build SPEC`: one image per platform of the spec, written as one OCI index.

use std::io::Write;

use anyhow::{Result, bail};

use super::Status;
use super::args::BuildArgs;
use super::config::HostEnv;
use super::spec::{self, BuildOutputs};
use crate::job;

pub fn run(args: BuildArgs, env: &HostEnv) -> Result<Status> {
    if args.oci.is_none() && args.oci_archive.is_none() {
        bail!("build needs an output: --oci DIR or --oci-archive FILE");
    }
    if let Some(d) = &args.oci {
        super::outputs::dir(
            "--oci",
            d,
            "--oci writes an OCI layout directory; --oci-archive FILE.tar writes it as one file",
        )?;
    }
    if let Some(a) = &args.oci_archive {
        super::outputs::oci_archive(a)?;
    }
    let job = spec::load(
        &args.spec,
        BuildOutputs {
            oci: args.oci.clone(),
            oci_archive: args.oci_archive.clone(),
            allow_missing: args.allow_missing,
        },
        env,
    )?;
    job::guard::not_onto(
        &job,
        &args.spec,
        &format!("the spec {}", args.spec.display()),
    )?;
    let outcome = job::run(&job)?;
    let w = &outcome.written;
    let written = w
        .oci
        .as_ref()
        .or(w.oci_archive.as_ref())
        .map(|(_, images)| images.as_slice())
        .unwrap_or_default();
    let mut out = std::io::stdout().lock();
    if outcome.refused.is_none() {
        if args.json {
            writeln!(out, "{}", serde_json::to_string_pretty(written)?)?;
        } else {
            let mut indexes: Vec<(&str, &str)> = Vec::new();
            for w in written {
                writeln!(
                    out,
                    "{} {} manifest {} ({})",
                    w.platform,
                    w.tag,
                    w.manifest_digest,
                    super::count(w.layers.len() as u64, "layer", "layers")
                )?;
                if let Some(d) = &w.index_digest
                    && !indexes.contains(&(&w.tag, d))
                {
                    indexes.push((&w.tag, d));
                }
            }
            // What each tag names in a registry once pushed with `skopeo copy --all`.
            for (tag, digest) in indexes {
                writeln!(out, "{tag} index {digest}")?;
            }
        }
    }
    out.flush()?;
    Ok(super::finish(&outcome))
}
