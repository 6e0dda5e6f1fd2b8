//! `minroot build SPEC`: one image per platform of the spec, written as one OCI index.

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
    let job = spec::load(
        &args.spec,
        BuildOutputs {
            oci: args.oci.clone(),
            oci_archive: args.oci_archive.clone(),
            allow_missing: args.allow_missing,
        },
        env,
    )?;
    let outcome = job::run(&job)?;
    let w = &outcome.written;
    let written = w
        .oci
        .as_ref()
        .or(w.oci_archive.as_ref())
        .map(|(_, images)| images.as_slice())
        .unwrap_or_default();
    if outcome.refused.is_none() {
        if args.json {
            println!("{}", serde_json::to_string_pretty(written)?);
        } else {
            let mut indexes: Vec<(&str, &str)> = Vec::new();
            for w in written {
                println!(
                    "{} {} manifest {} ({} layers)",
                    w.platform,
                    w.tag,
                    w.manifest_digest,
                    w.layers.len()
                );
                if let Some(d) = &w.index_digest
                    && !indexes.contains(&(&w.tag, d))
                {
                    indexes.push((&w.tag, d));
                }
            }
            // What each tag names in a registry once pushed with `skopeo copy --all`.
            for (tag, digest) in indexes {
                println!("{tag} index {digest}");
            }
        }
    }
    Ok(super::finish(&outcome))
}
