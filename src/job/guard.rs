//! Outputs never land on what the run reads: `pack --root R -o R/usr/bin/ls /usr/bin/ls`
//! would otherwise rename the layer onto the program it packs. Checked twice, before
//! anything is written: [`sources`] before the selection (an output inside a root
//! directory, on the image given as the root, on a probe record), [`plan`] before the
//! outputs are written (an output that is one of the files the layer is made of, which
//! for the host's `/` is the only way an output can be an input).
//!
//! Paths are compared where they lead, not as typed: an output that exists is its
//! device and inode (a symlink or a second hard link to an input is the input); one that
//! does not exist yet is its nearest existing parent made canonical, with the rest of
//! the name after it (`R/new/x.tar` with `R/new` missing is still inside `R`).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::plan::{Content, Plan};

use super::error::JobError;
use super::{Goal, Job, Made};

/// An output as named on the command line, and where it would go.
struct Output {
    flag: &'static str,
    typed: PathBuf,
    /// Canonical where it exists, else its nearest existing parent's canonical path
    /// joined with the rest.
    canonical: PathBuf,
    /// Device and inode, when it exists (symlinks followed, as the writers follow them).
    id: Option<(u64, u64)>,
}

impl Output {
    fn new(flag: &'static str, typed: &Path, cwd: &Path) -> Output {
        let abs = cwd.join(typed);
        Output {
            flag,
            typed: typed.to_path_buf(),
            canonical: where_it_goes(&abs),
            id: std::fs::metadata(&abs).ok().map(|m| (m.dev(), m.ino())),
        }
    }

    fn is(&self, input: &Path) -> bool {
        let m = std::fs::metadata(input).ok();
        match (self.id, m) {
            (Some(id), Some(m)) => id == (m.dev(), m.ino()),
            _ => std::fs::canonicalize(input).is_ok_and(|c| c == self.canonical),
        }
    }

    fn inside(&self, dir: &Path) -> bool {
        self.canonical.starts_with(dir)
    }

    fn refuse(&self, input: String) -> JobError {
        JobError::OutputIsInput {
            flag: self.flag,
            path: self.typed.display().to_string(),
            input,
        }
    }
}

/// `abs` made canonical as far as it exists, the rest appended as typed (`..` and `.`
/// in the missing rest are kept out of the comparison by being compared literally).
pub fn where_it_goes(abs: &Path) -> PathBuf {
    let mut rest = Vec::new();
    let mut p = abs;
    loop {
        if let Ok(c) = std::fs::canonicalize(p) {
            let mut out = c;
            for r in rest.iter().rev() {
                out.push(r);
            }
            return out;
        }
        match (p.parent(), p.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                p = parent;
            }
            _ => return abs.to_path_buf(),
        }
    }
}

/// Every output path of the job, with its flag. `DIR` of `--dockerfile` counts as the
/// two files written in it.
fn outputs(job: &Job) -> Vec<Output> {
    let cwd = &job.cwd;
    let mut v = Vec::new();
    match &job.goal {
        Goal::Pack(o) => {
            if let Some(super::LayerDest::File(p)) = &o.layer {
                v.push(Output::new("-o", p, cwd));
            }
            for (flag, p) in [
                ("--rootfs", &o.rootfs),
                ("--oci", &o.oci),
                ("--oci-archive", &o.oci_archive),
            ] {
                if let Some(p) = p {
                    v.push(Output::new(flag, p, cwd));
                }
            }
            if let Some(d) = &o.dockerfile {
                v.push(Output::new("--dockerfile", d, cwd));
                v.push(Output::new("--dockerfile", &d.join("layer.tar"), cwd));
                v.push(Output::new("--dockerfile", &d.join("Dockerfile"), cwd));
            }
            for (p, _) in &o.sboms {
                v.push(Output::new("--sbom", p, cwd));
            }
        }
        Goal::Bundle(b) => v.push(Output::new("-o", &b.path, cwd)),
        Goal::Files | Goal::Report => {}
    }
    v
}

/// Before the selection: no output inside a root directory, on the image given as the
/// root (or inside an image layout), or on a probe record.
pub fn sources(job: &Job) -> Result<(), JobError> {
    let outs = outputs(job);
    if outs.is_empty() {
        return Ok(());
    }
    for o in &outs {
        for p in &job.platforms {
            match &p.image {
                None if !p.is_host() && o.inside(&p.root) => {
                    return Err(JobError::OutputInRoot {
                        flag: o.flag,
                        path: o.typed.display().to_string(),
                        root: p.root.display().to_string(),
                    });
                }
                Some(img) => {
                    let given = job.cwd.join(img.reference());
                    let layout = std::fs::canonicalize(&given).ok().filter(|c| c.is_dir());
                    if o.is(&given) || layout.is_some_and(|l| o.inside(&l)) {
                        return Err(o.refuse(format!("the image --root {}", img.reference())));
                    }
                }
                None => {}
            }
        }
        for (name, _) in &job.select.probes {
            if o.is(&job.cwd.join(name)) {
                return Err(o.refuse(format!("the probe record --probe {name}")));
            }
        }
    }
    Ok(())
}

/// Refuses an output that is `input` (named `what` in the message): for inputs the
/// job does not know (the build spec).
pub fn not_onto(job: &Job, input: &Path, what: &str) -> Result<(), JobError> {
    for o in outputs(job) {
        if o.is(input) {
            return Err(o.refuse(what.to_string()));
        }
    }
    Ok(())
}

/// Before writing: no output that exists is one of the files a layer is made of (the
/// program itself, a library, an included file).
pub fn plan(job: &Job, made: &[Made]) -> Result<(), JobError> {
    let outs: Vec<Output> = outputs(job)
        .into_iter()
        .filter(|o| o.id.is_some())
        .collect();
    if outs.is_empty() {
        return Ok(());
    }
    for m in made {
        for o in &outs {
            if let Some(path) = input_file(&m.plan, o) {
                return Err(o.refuse(format!("{path}, a file of the layer")));
            }
        }
    }
    Ok(())
}

/// The layer path of an entry of `plan` whose file is the output `o`.
fn input_file(plan: &Plan, o: &Output) -> Option<String> {
    plan.entries()
        .iter()
        .find_map(|(path, e)| match &e.content {
            Content::File { host, .. } => {
                let m = std::fs::metadata(host).ok()?;
                (o.id == Some((m.dev(), m.ino()))).then(|| format!("/{path}"))
            }
            _ => None,
        })
}
