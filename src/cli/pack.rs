//! `minroot pack`: select, plan and write the layer, then print a summary.

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::Status;
use super::args::PackArgs;
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
    let Some(out) = args.output.clone() else {
        bail!("pack needs an output: -o layer.tar (or .tar.gz, .tar.zst)")
    };
    let mtime = source_date_epoch(args.source_date_epoch.as_deref(), env)?;
    let layer = super::layer::build(&args.select, &args.bins, env)?;
    report_problems(&layer, env);
    if layer.selection.problems.iter().any(|p| p.error) && !args.allow_missing {
        eprintln!(
            "minroot: nothing written: the closure is incomplete (see above); --allow-missing writes it anyway"
        );
        return Ok(Status::Incomplete);
    }
    let compression = Compression::from_path(&out);
    let info = pack::write_layer(&layer.plan, mtime, compression, &out)
        .with_context(|| format!("writing {}", out.display()))?;
    print_summary(&out.to_string_lossy(), &info, args.json)?;
    Ok(if layer.selection.problems.iter().any(|p| p.error) {
        Status::Incomplete
    } else {
        Status::Ok
    })
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
