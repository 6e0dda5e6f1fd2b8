//! The pipeline, in one place: for each platform, open the root, select, plan and run the
//! package step; then, unless the closure is incomplete and the job does not allow it,
//! write the outputs. Every stage's problems are collected, none printed.

use crate::bundle::{self, BundleOptions};
use crate::check::Finding;
use crate::dev;
use crate::facts::NSSWITCH_CONF;
use crate::hints::HintOptions;
use crate::ldso::hwcaps::CpuLevel;
use crate::pack::{self, Compression};
use crate::plan::{self, PlanOptions};
use crate::problem::Problem;
use crate::sbom::layer;
use crate::sbom::report::{Report, scan_root};
use crate::select::{self, SelectOptions};
use crate::session::{CpuChoice, Session};

use super::error::JobError;
use super::image::{ImageSpec, PlatformImage, write_dockerfile_dir, write_oci};
use super::outcome::WrittenBundle;
use super::{
    BundleOutput, Goal, Job, LayerDest, Made, Outcome, Outputs, Platform, Refusal, Written,
};

/// Runs `job`: every platform, then the outputs.
pub fn run(job: &Job) -> Result<Outcome, JobError> {
    let mut outcome = Outcome {
        made: Vec::new(),
        refused: None,
        written: Written::default(),
        report: None,
    };
    super::guard::sources(job)?;
    if let Goal::Pack(o) = &job.goal
        && let Some(LayerDest::File(out)) = &o.layer
    {
        pack::forget_cached_output(out);
    }
    for p in &job.platforms {
        let in_platform = |e: JobError| match &p.name {
            Some(name) => JobError::Platform {
                name: name.clone(),
                source: Box::new(e),
            },
            None => e,
        };
        let (mut made, session, opts) = select_and_plan(job, p).map_err(in_platform)?;
        if !made.complete() {
            let refusal = match &job.goal {
                Goal::Pack(_) if !job.allow_missing => Some(Refusal::Incomplete {
                    platform: p.name.clone(),
                }),
                Goal::Bundle(_) => Some(Refusal::IncompleteBundle),
                _ => None,
            };
            if refusal.is_some() {
                made.notes.extend(session.root_problems());
                outcome.made.push(made);
                outcome.refused = refusal;
                return Ok(outcome);
            }
        }
        if p.arch.is_some() && made.plan.arch() != p.arch {
            return Err(JobError::WrongArch {
                name: p.name.clone().unwrap_or_default(),
                root: p.root.display().to_string(),
                found: made
                    .plan
                    .arch()
                    .map(|a| a.oci_arch())
                    .unwrap_or("an unknown architecture"),
            });
        }
        let report = finish(job, &session, &opts, &mut made).map_err(in_platform)?;
        outcome.report = outcome.report.or(report);
        outcome.made.push(made);
    }
    super::guard::plan(job, &outcome.made)?;
    match &job.goal {
        Goal::Pack(outputs) => outcome.written = write(job, outputs, &outcome.made)?,
        Goal::Bundle(out) => {
            let made = outcome.made.last_mut().expect("a bundle has one platform");
            let b = write_bundle(job, out, made)?;
            made.notes.extend(b.info.warnings.iter().cloned());
            outcome.written.bundle = Some(b);
        }
        Goal::Files | Goal::Report => {}
    }
    Ok(outcome)
}

/// Opens the root of `p`, selects and plans.
fn select_and_plan(job: &Job, p: &Platform) -> Result<(Made, Session, SelectOptions), JobError> {
    // A layer must not depend on the CPU of the machine that builds it: without a CPU
    // level, trace as a baseline CPU and add every glibc-hwcaps build.
    let level = p.cpu.unwrap_or(CpuLevel::Baseline);
    let session = Session::new(
        &p.root,
        CpuChoice::Level(level),
        p.library_path.clone(),
        true,
    )
    .map_err(|source| JobError::Root {
        path: p.root.display().to_string(),
        source,
    })?;
    let root = session.root().clone();
    let mut programs: Vec<String> = job.programs.iter().map(|b| p.inside(b, &job.cwd)).collect();
    let mut notes = Vec::new();
    let mut command_files = Vec::new();
    if programs.is_empty()
        && let Some((_, rec)) = job.select.probes.first()
    {
        // No BIN: the first recorded run's program, found as the run found it.
        let run = &rec.runs[0];
        let (path, _) = crate::probe::program_arch(&root, &run.command[0], &run.env)
            .map_err(JobError::Probe)?;
        programs.push(path);
    }
    if programs.is_empty()
        && let Some(img) = &p.image
    {
        // No BIN: the image's Entrypoint (else the first word of its Cmd), found through
        // its PATH inside the root, as the container runtime finds it.
        let cfg = img.config();
        let (prog, shell) =
            crate::image::entry_program(&cfg).ok_or_else(|| JobError::NoEntrypoint {
                image: img.reference().to_string(),
            })?;
        let env = cfg.env.clone().unwrap_or_default();
        let (path, _) = crate::probe::program_arch(&root, &prog, &env).map_err(JobError::Probe)?;
        if shell {
            notes.push(crate::problem::Problem::ShellEntrypoint {
                shell: path.clone(),
                command: crate::image::command(&cfg).join(" "),
            });
        }
        programs.push(path);
        command_files = crate::image::command_files(&cfg, &root);
    }
    if programs.is_empty() {
        return Err(JobError::NoProgram);
    }
    let probes = job
        .select
        .probes
        .iter()
        .map(|(name, rec)| crate::select::ProbeInput {
            name: name.clone(),
            arch: rec.arch,
            reason: crate::reason::Reason::Probe {
                command: rec.commands(),
            },
            // The symlinks the run followed too: a library opened as libz.so.1 needs that
            // name in the layer, not only the file it names.
            paths: rec
                .paths
                .contents()
                .into_iter()
                .map(String::from)
                .chain(rec.links.iter().map(|l| l.path.clone()))
                .collect(),
        })
        .collect();
    let includes: Vec<String> = job
        .select
        .includes
        .iter()
        .map(|i| p.inside(i, &job.cwd))
        .collect();
    let base = job.layer.base;
    let included_nsswitch = includes
        .iter()
        .any(|i| i == NSSWITCH_CONF || i == "/etc" || i == "/");
    let opts = SelectOptions {
        includes,
        command_files,
        dlopens: job.select.dlopens.clone(),
        hints: HintOptions {
            dlopen_priority: job.select.dlopen_priority,
            gconv: job.select.gconv,
            nsswitch: plan::layer_nsswitch(&root, base, included_nsswitch),
            data: job.select.data.iter().map(|d| d.name.to_string()).collect(),
        },
        hwcaps_variants: p.cpu.is_none(),
        runtimes: job.select.runtimes,
        env: runtime_env(job, p),
        probes,
    };
    let selection = select::select(&session, &programs, &opts)?;
    // `--data NAME` that finds none of its files would do nothing: say so. (Opt-in
    // paths name no `{lib}`: `known::OPT_IN`.)
    for d in &job.select.data {
        let present = d
            .files
            .iter()
            .any(|f| root.resolve(f).ok().flatten().is_some());
        if !present {
            return Err(JobError::DataNotInRoot {
                name: d.name,
                what: d.what,
                files: d.files.join(", "),
            });
        }
    }
    let plan_options = PlanOptions {
        base,
        strip_setuid: job.layer.strip_setuid,
        chown: job.layer.chown,
        mtime: job.layer.mtime,
    };
    let plan = plan::build(&root, &selection, &plan_options);
    let made = Made {
        platform: p.clone(),
        root,
        programs,
        selection,
        plan,
        plan_options,
        packages: None,
        dev: None,
        notes,
    };
    Ok((made, session, opts))
}

/// The environment the programs will run with, as the runtime profiles read it: the
/// source image's, or the defaults, with `--env` over them.
fn runtime_env(job: &Job, p: &Platform) -> Vec<String> {
    let extra = match &job.goal {
        Goal::Pack(o) => o.image.env.clone(),
        _ => Vec::new(),
    };
    match p.image.as_ref().and_then(|i| i.config().env) {
        Some(base) => crate::oci::RunConfig::env_over(&base, &extra),
        None => crate::oci::RunConfig::with_env(&extra),
    }
}

/// The package step, the dev layer and the report, as the goal wants them.
fn finish(
    job: &Job,
    session: &Session,
    opts: &SelectOptions,
    made: &mut Made,
) -> Result<Option<Report>, JobError> {
    // Whether the package step runs, and whether the database must then be readable.
    let step = match &job.goal {
        // The plan of the layer pack would write: attributed only when pack's would be.
        Goal::Files if job.packages.package_db || job.packages.copyright => Some(false),
        Goal::Files => None,
        Goal::Report => Some(true),
        Goal::Pack(o) if o.wants_packages(job.packages) => Some(o.needs_database()),
        Goal::Pack(_) | Goal::Bundle(_) => None,
    };
    if let Some(required) = step {
        made.packages = Some(layer::attribute_layer(
            &made.root,
            &mut made.plan,
            &made.plan_options,
            job.packages,
            required,
            &mut made.notes,
        )?);
    }
    if let Goal::Pack(_) = &job.goal {
        // What `check` will report in this layer, said now (check's own rules on the plan).
        let loader = made.plan.arch().and_then(|a| session.loader(a).ok());
        let flagged = crate::check::layer::flagged(&made.plan, loader.as_deref());
        let said = made.selection.problems();
        made.notes
            .extend(flagged.into_iter().filter_map(layer_problem).filter(|p| {
                match p {
                    // The hints said it already if the search failed (their words).
                    Problem::NssModule { service, .. } => !said.iter().any(
                        |q| matches!(q, Problem::NssModule { service: s, .. } if s == service),
                    ),
                    _ => true,
                }
            }));
    }
    if let Goal::Pack(o) = &job.goal
        && o.image.dev
        && (o.oci.is_some() || o.oci_archive.is_some())
    {
        made.dev = Some(dev::plan(session, &made.plan, opts)?);
    }
    let wants_report = match &job.goal {
        Goal::Report => true,
        Goal::Pack(o) => o.report,
        _ => false,
    };
    let report = match (&made.packages, wants_report) {
        (Some(pk), true) => {
            let scan = scan_root(&made.root, &*job.progress).map_err(JobError::Scan)?;
            let mut r = Report::new(pk.db.as_ref(), &made.plan, &pk.attribution, &scan);
            r.image = made.platform.image.as_ref().map(|i| match i.digest() {
                Some(d) => format!("{}@{d}", i.reference()),
                None => i.reference().to_string(),
            });
            if !job.select.probes.is_empty() {
                let missing: std::collections::BTreeSet<String> = job
                    .select
                    .probes
                    .iter()
                    .flat_map(|(_, rec)| rec.missing.iter().cloned())
                    .collect();
                r.probe = Some(crate::sbom::report::ProbeAdded::of(
                    &made.plan,
                    missing.into_iter().collect(),
                ));
            }
            Some(r)
        }
        _ => None,
    };
    made.notes.splice(0..0, session.root_problems());
    Ok(report)
}

/// A finding `check` would report in the layer, as the problem `pack` says it with. An
/// escaping symlink is said already, as `SymlinkAboveRoot`: the plan resolved each of its
/// symlinks in the root, where the climb was seen.
fn layer_problem(f: Finding) -> Option<Problem> {
    Some(match f {
        Finding::DanglingSymlink {
            path,
            target,
            runtime_mount,
        } => Problem::LinkDanglingInLayer {
            link: path,
            target,
            runtime_mount,
        },
        Finding::SymlinkLoop { path, target } => Problem::LinkLoopsInLayer { link: path, target },
        Finding::CaBundleMissing { library, tried } => Problem::CaBundleAbsent { library, tried },
        Finding::NssModuleMissing {
            service,
            module,
            error: None,
        } => Problem::NssModuleAbsent { service, module },
        Finding::NssModuleMissing {
            service,
            module,
            error: Some(error),
        } => Problem::NssModule {
            service,
            module,
            error,
        },
        _ => return None,
    })
}

fn write_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> JobError {
    let path = path.display().to_string();
    move |source| JobError::Write {
        what: "writing".into(),
        path,
        source,
    }
}

/// Writes the outputs of `pack` and `build` from the made platforms.
fn write(job: &Job, o: &Outputs, made: &[Made]) -> Result<Written, JobError> {
    let mut w = Written::default();
    let mtime = job.layer.mtime;
    let first = &made[0];
    let spec = ImageSpec::new(
        &o.image,
        &first.programs[0],
        first.platform.image.as_deref(),
    );
    match &o.layer {
        Some(LayerDest::File(out)) => {
            let info = pack::write_layer(
                &first.plan,
                mtime,
                Compression::from_path(out),
                out,
                &*job.progress,
            )
            .map_err(write_err(out))?;
            w.layer = Some((LayerDest::File(out.clone()), info));
        }
        Some(LayerDest::Stdout) => {
            // The bytes of `-o layer.tar`, streamed; nothing else of the run goes to stdout.
            let (mut out, info) = pack::write_layer_to(
                &first.plan,
                mtime,
                Compression::None,
                std::io::stdout(),
                &*job.progress,
            )
            .map_err(write_err(std::path::Path::new("standard output")))?;
            std::io::Write::flush(&mut out)
                .map_err(write_err(std::path::Path::new("standard output")))?;
            w.layer = Some((LayerDest::Stdout, info));
        }
        None => {}
    }
    if let Some(dir) = &o.rootfs {
        pack::rootfs::write_rootfs(&first.plan, mtime, dir).map_err(write_err(dir))?;
        w.rootfs = Some((dir.clone(), first.plan.entries().len()));
    }
    if let Some(dir) = &o.dockerfile {
        let info = write_dockerfile_dir(
            dir,
            &first.plan,
            &spec,
            mtime,
            &first.programs,
            &*job.progress,
        )?;
        w.dockerfile = Some((dir.clone(), info));
    }
    if o.oci.is_some() || o.oci_archive.is_some() {
        let platforms = made
            .iter()
            .map(|m| {
                Ok(PlatformImage {
                    arch: m.plan.arch().ok_or(JobError::NoArch)?,
                    prod: &m.plan,
                    dev: m.dev.as_ref(),
                    created_by: format!("minroot {} {}", o.command, m.programs.join(" ")),
                })
            })
            .collect::<Result<Vec<_>, JobError>>()?;
        let images = write_oci(
            o.oci.as_deref(),
            o.oci_archive.as_deref(),
            &platforms,
            &spec,
            mtime,
            o.compression,
            &job.progress,
        )?;
        w.oci = o.oci.clone().map(|d| (d, images.clone()));
        w.oci_archive = o.oci_archive.clone().map(|f| (f, images));
    }
    if let (false, Some(packages)) = (o.sboms.is_empty(), &first.packages) {
        let name = format!("minroot layer of {}", first.programs.join(" "));
        let base = first
            .platform
            .image
            .as_ref()
            .and_then(|i| i.digest().map(|d| format!("{}@{d}", i.reference())));
        w.sboms = layer::write_sboms(
            &o.sboms,
            &name,
            base.as_deref(),
            &first.plan,
            packages,
            mtime,
        )?;
    }
    Ok(w)
}

/// Lays out and writes the bundle.
fn write_bundle(job: &Job, out: &BundleOutput, made: &Made) -> Result<WrittenBundle, JobError> {
    let b = bundle::build(
        &made.root,
        &made.selection,
        &made.plan,
        &made.programs,
        &BundleOptions {
            prefix: out.tarball.clone(),
        },
    )?;
    let tarball = match &out.tarball {
        Some(_) => Some(
            pack::write_layer(
                &b.plan,
                job.layer.mtime,
                Compression::Gzip,
                &out.path,
                &*job.progress,
            )
            .map_err(write_err(&out.path))?,
        ),
        None => {
            pack::rootfs::write_rootfs(&b.plan, job.layer.mtime, &out.path)
                .map_err(write_err(&out.path))?;
            None
        }
    };
    Ok(WrittenBundle {
        path: out.path.clone(),
        info: b.info,
        tarball,
    })
}
