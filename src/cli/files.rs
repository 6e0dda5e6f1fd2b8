//! `minroot files`: the plan, one entry per line with its reason, or as JSON records.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::Status;
use super::args::{FilesArgs, FilesFormat};
use super::config::HostEnv;
use crate::plan::Content;
use crate::reason::Reason;

pub fn run(args: FilesArgs, env: &HostEnv) -> Result<Status> {
    let mut layer = super::layer::build(&args.select, &args.bins, env)?;
    // What pack adds for the layer's packages is part of the layer too.
    super::sbom::attribute_layer(
        &mut layer,
        crate::sbom::pkgdb::PkgDbOptions {
            package_db: !args.no_package_db,
            copyright: !args.no_copyright,
        },
        false,
    )?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format {
        FilesFormat::List => {
            for (path, e) in &layer.plan.entries {
                if e.reason == Reason::Parent {
                    continue;
                }
                let what = match &e.content {
                    Content::Symlink(t) => format!(" -> {t}"),
                    Content::Hardlink(t) => format!(" (hard link to /{t})"),
                    Content::Dir => "/".to_string(),
                    _ => String::new(),
                };
                writeln!(out, "/{path}{what}\t{}", e.reason.label())?;
            }
        }
        FilesFormat::Json => {
            let entries: Vec<JsonEntry> = layer
                .plan
                .entries
                .iter()
                .map(|(p, e)| JsonEntry {
                    path: format!("/{p}"),
                    kind: match e.content {
                        Content::Dir => "dir",
                        Content::File { .. } | Content::Data(_) => "file",
                        Content::Symlink(_) => "symlink",
                        Content::Hardlink(_) => "hardlink",
                    },
                    target: match &e.content {
                        Content::Symlink(t) => Some(t.clone()),
                        Content::Hardlink(t) => Some(format!("/{t}")),
                        _ => None,
                    },
                    size: e.size(),
                    mode: format!("{:04o}", e.mode),
                    uid: e.uid,
                    gid: e.gid,
                    capabilities: !e.xattrs.is_empty(),
                    generated: matches!(e.content, Content::Data(_)),
                    source: e.source.clone(),
                    reason: e.reason.clone(),
                    why: e.reason.label(),
                })
                .collect();
            let problems = &layer.selection.problems;
            serde_json::to_writer_pretty(
                &mut out,
                &JsonFiles {
                    arch: layer.plan.arch.map(|a| a.to_string()),
                    entries,
                    problems,
                    warnings: &layer.plan.warnings,
                },
            )?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    super::pack::report_problems(&layer, env);
    Ok(if layer.selection.problems.iter().any(|p| p.error) {
        Status::Incomplete
    } else {
        Status::Ok
    })
}

#[derive(Serialize)]
struct JsonFiles<'a> {
    arch: Option<String>,
    entries: Vec<JsonEntry>,
    problems: &'a [crate::select::Problem],
    warnings: &'a [String],
}

#[derive(Serialize)]
struct JsonEntry {
    path: String,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    size: u64,
    mode: String,
    uid: u32,
    gid: u32,
    capabilities: bool,
    generated: bool,
    source: Option<String>,
    reason: Reason,
    why: String,
}
