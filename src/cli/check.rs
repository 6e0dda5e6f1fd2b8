//! `minroot check`: options to [`crate::check::CheckOptions`], the report as text or JSON,
//! and the exit status (errors make it 1; notes only with `--strict`). Finding things is
//! the library's job (`src/check/`); this file renders the typed findings.

use std::io::Write;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::Status;
use super::args::CheckArgs;
use super::config::HostEnv;
use crate::arch::Arch;
use crate::check::untar::{Contents, Limits};
use crate::check::{self, CheckOptions, Finding, Severity, TargetKind, TargetOptions};
use crate::sysroot::name;

pub fn run(args: CheckArgs, env: &HostEnv) -> Result<Status> {
    let platform = match &args.platform {
        None => None,
        Some(p) => Some(Arch::parse(p).with_context(|| {
            format!("--platform {p}: unknown platform; use linux/amd64 or linux/arm64")
        })?),
    };
    let cpu_level = args
        .cpu_level
        .as_deref()
        .map(super::config::cpu_level)
        .transpose()?;
    let max_bytes = crate::job::parse::size(&args.max_image_size)
        .with_context(|| format!("--max-image-size {}", args.max_image_size))?;
    if !args.target.exists() {
        bail!("{}: no such file or directory", args.target.display());
    }
    let opts = CheckOptions {
        target: TargetOptions {
            platform,
            scratch_parent: env.tmpdir.clone(),
            scratch_prefix: "minroot-check-",
            limits: Limits {
                contents: Contents::Checked,
                max_total_bytes: max_bytes,
                ..Limits::default()
            },
            progress: env.progress.clone(),
        },
        cpu_level,
    };
    let checked = check::check(&args.target, &opts)
        .with_context(|| format!("checking {}", args.target.display()))?;
    let report = &checked.report;
    let errors = count(&report.findings, Severity::Error);
    let notes = count(&report.findings, Severity::Note);

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.json {
        let findings: Vec<JsonFinding> = report
            .findings
            .iter()
            .map(|f| JsonFinding {
                severity: f.severity(),
                finding: f,
            })
            .collect();
        // A name that is not UTF-8 is shown `\xNN` (`sysroot::name`).
        let text = serde_json::to_string_pretty(&JsonReport {
            target: &checked.target,
            arch: report.arch,
            stats: &report.stats,
            errors,
            notes,
            strict: args.strict,
            findings,
        })?;
        writeln!(out, "{}", name::json(&text))?;
    } else {
        for f in &report.findings {
            let sev = match f.severity() {
                Severity::Error => "error",
                Severity::Note => "note",
            };
            // One line each: names escaped as fields (`sysroot::name::field`).
            writeln!(
                out,
                "{sev}: {}: {}",
                f.kind(),
                name::field(&super::plain(&message(f)))
            )?;
        }
        let s = &report.stats;
        let what = match &checked.target.kind {
            TargetKind::Directory => "directory".to_string(),
            TargetKind::Layer => "layer".to_string(),
            TargetKind::Image { platform, layers } => {
                format!(
                    "image {platform}, {}",
                    super::count(*layers as u64, "layer", "layers")
                )
            }
        };
        let arch = report
            .arch
            .map(|a| a.to_string())
            .unwrap_or_else(|| "no ELF".into());
        let c = super::count;
        writeln!(
            out,
            "checked {} ({what}, {arch}): {}, {}, {} ELF ({}, {}, {} static): {}, {}",
            checked.target.path,
            c(s.files, "file", "files"),
            c(s.symlinks, "symlink", "symlinks"),
            s.elf,
            c(s.programs, "program", "programs"),
            c(s.libraries, "library", "libraries"),
            s.static_programs,
            c(errors, "error", "errors"),
            c(notes, "note", "notes"),
        )?;
    }
    out.flush()?;
    Ok(Status::of(report.clean(args.strict)))
}

fn count(f: &[Finding], s: Severity) -> u64 {
    f.iter().filter(|f| f.severity() == s).count() as u64
}

#[derive(Serialize)]
struct JsonReport<'a> {
    target: &'a check::TargetInfo,
    arch: Option<Arch>,
    stats: &'a check::Stats,
    errors: u64,
    notes: u64,
    strict: bool,
    findings: Vec<JsonFinding<'a>>,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    severity: Severity,
    #[serde(flatten)]
    finding: &'a Finding,
}

/// One finding in words.
fn message(f: &Finding) -> String {
    match f {
        Finding::MissingInterpreter { elf, interp } => {
            format!("{elf}: its interpreter {interp} is not in the image")
        }
        Finding::MissingLibrary {
            elf,
            name,
            needed_by,
            tried,
            skipped,
        } => {
            let by = if needed_by == elf {
                String::new()
            } else {
                format!("needed by {needed_by}; ")
            };
            let skipped = if skipped.is_empty() {
                String::new()
            } else {
                format!("; skipped {}", skipped.join(", "))
            };
            let tried = if tried.is_empty() {
                "nothing to search".to_string()
            } else {
                format!("searched {}", tried.join(" "))
            };
            format!("{elf}: {name} not found ({by}{tried}{skipped})")
        }
        Finding::LoaderError { elf, name, error } => {
            format!("{elf}: the loader stops at {name}: {error}")
        }
        Finding::WrongClassOrMachine {
            path,
            found,
            expected,
            reachable,
        } => {
            let where_ = if *reachable {
                ""
            } else {
                " (where the image's loader does not look)"
            };
            format!("{path}: a {found} ELF file in a {expected} image{where_}")
        }
        Finding::BadElf { path, error } => format!("{path}: {error}"),
        Finding::DanglingSymlink {
            path,
            target,
            runtime_mount,
        } => {
            let mount = if *runtime_mount {
                " (a run-time mount fills it)"
            } else {
                ""
            };
            format!("{path} -> {target}: the target is not in the image{mount}")
        }
        Finding::EscapingSymlink { path, target } => format!(
            "{path} -> {target}: climbs above the image's root (it only resolves inside under chroot)"
        ),
        Finding::SymlinkLoop { path, target } => format!("{path} -> {target}: a symlink loop"),
        Finding::GconvMissing { elf, dir } => format!(
            "{elf}: calls iconv_open, but {dir} has no gconv modules (only UTF-8 and built-in charsets convert)"
        ),
        Finding::NssModuleMissing {
            service,
            module,
            error: None,
        } => format!(
            "/etc/nsswitch.conf names service {service}, but {module} is not in the image (glibc skips that source)"
        ),
        Finding::NssModuleMissing {
            service,
            module,
            error: Some(e),
        } => format!(
            "/etc/nsswitch.conf names service {service}, but {module} cannot be loaded: {e}"
        ),
        Finding::CaBundleMissing { library, tried } => format!(
            "{library}: a TLS library, but no CA bundle (looked for {}): certificate checks will fail",
            tried.join(" ")
        ),
        Finding::RuntimeIncomplete {
            program,
            runtime,
            looked_for,
            hint,
        } => format!(
            "{program} is {runtime}, but its own files are not in the image (looked for {}): it cannot start; {hint}",
            looked_for.join(", ")
        ),
        Finding::Unreadable { path, error } => format!("{path}: not checked: {error}"),
    }
}
