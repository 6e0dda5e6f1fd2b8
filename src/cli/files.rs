//! `minroot files`: the plan, one entry per line with its reason, or as JSON records.
//!
//! A line is `PATH[ -> TARGET]<TAB>REASON`, each part escaped as one field
//! (`sysroot::name::field`: `\\`, `\t`, `\n`, `\xNN` for control chars and bytes that
//! are not UTF-8), so a file name can neither split a line nor write to the terminal.
//! JSON strings show such bytes as `\xNN` (`name::json`); JSON escapes the rest itself.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::Status;
use super::args::{FilesArgs, FilesFormat};
use super::config::{self, HostEnv};
use crate::job::{self, Goal};
use crate::plan::Content;
use crate::problem::Problem;
use crate::reason::Reason;
use crate::sysroot::name;

pub fn run(args: FilesArgs, env: &HostEnv) -> Result<Status> {
    let job = config::job(
        Goal::Files,
        &args.select,
        &args.bins,
        config::packages(args.no_package_db, args.no_copyright),
        0,
        env,
    )?;
    let outcome = job::run(&job)?;
    let made = &outcome.made[0];
    let plan = &made.plan;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format {
        FilesFormat::List => {
            for (path, e) in plan.entries() {
                if e.reason == Reason::Parent {
                    continue;
                }
                let what = match &e.content {
                    Content::Symlink(t) => format!(" -> {}", name::field(t)),
                    Content::Hardlink(t) => format!(" (hard link to /{})", name::field(t)),
                    Content::Dir => "/".to_string(),
                    _ => String::new(),
                };
                writeln!(
                    out,
                    "/{}{what}\t{}",
                    name::field(path),
                    name::field(&e.reason.to_string())
                )?;
            }
        }
        FilesFormat::Json => {
            let entries: Vec<JsonEntry> = plan
                .entries()
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
                    reason: &e.reason,
                    why: e.reason.to_string(),
                })
                .collect();
            let text = serde_json::to_string_pretty(&JsonFiles {
                arch: plan.arch().map(|a| a.to_string()),
                entries,
                problems: made.selection.problems(),
                warnings: plan.warnings(),
            })?;
            writeln!(out, "{}", name::json(&text))?;
        }
    }
    out.flush()?;
    Ok(super::finish(&outcome))
}

#[derive(Serialize)]
struct JsonFiles<'a> {
    arch: Option<String>,
    entries: Vec<JsonEntry<'a>>,
    problems: &'a [Problem],
    #[serde(serialize_with = "crate::problem::as_messages")]
    warnings: &'a [Problem],
}

#[derive(Serialize)]
struct JsonEntry<'a> {
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
    reason: &'a Reason,
    why: String,
}
