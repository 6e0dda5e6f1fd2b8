//! `minroot probe`: the options to [`crate::probe::ProbeOptions`], the run, the record
//! written atomically, and a summary of what was recorded.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::Status;
use super::args::ProbeArgs;
use super::config::{self, HostEnv};
use crate::job::parse;
use crate::oci::RunConfig;
use crate::probe::{self, ProbeOptions, record::RootInfo};

pub fn run(args: ProbeArgs, env: &HostEnv) -> Result<Status> {
    super::outputs::file("-o", &args.output)?;
    let (root, image) = config::open_root(&args.root, &args.platform, &args.max_image_size, env)?;
    // The run never writes the root; nor does its record.
    if image.is_none()
        && root != std::path::Path::new("/")
        && crate::job::guard::where_it_goes(&env.cwd.join(&args.output)).starts_with(&root)
    {
        bail!(
            "-o {}: inside the root {}, which the run reads; write the record outside the root",
            args.output.display(),
            root.display()
        );
    }
    let timeout = match args.timeout {
        None => None,
        Some(t) if t.is_finite() && t > 0.0 && t < 1e9 => Some(Duration::from_secs_f64(t)),
        Some(t) => bail!("--timeout {t}: expected a positive number of seconds"),
    };
    let extra: Vec<String> = args
        .env
        .iter()
        .map(|e| parse::env_entry(e).with_context(|| format!("--env {e}")))
        .collect::<Result<_>>()?;
    let r = crate::sysroot::Root::new(&root)?;
    // An image runs as it says: its Entrypoint and Cmd, Env, WorkingDir and User, unless
    // told otherwise.
    let icfg = image.as_ref().map(|i| i.config()).unwrap_or_default();
    let command = if !args.command.is_empty() {
        args.command.clone()
    } else {
        let c = crate::image::command(&icfg);
        if c.is_empty() {
            bail!(
                "no program to run: give one after --{}",
                if image.is_some() {
                    " (the image has no Entrypoint or Cmd)"
                } else {
                    ""
                }
            );
        }
        c
    };
    let run_env = match &icfg.env {
        Some(base) if image.is_some() => {
            let mut e = base.clone();
            for x in &extra {
                let k = x.split('=').next().unwrap_or(x);
                e.retain(|y| y.split('=').next() != Some(k));
                e.push(x.clone());
            }
            e
        }
        _ => RunConfig::with_env(&extra),
    };
    let workdir = args
        .workdir
        .clone()
        .or_else(|| icfg.working_dir.clone().filter(|w| !w.is_empty()))
        .unwrap_or_else(|| "/".into());
    if !workdir.starts_with('/') {
        bail!("--workdir {workdir}: expected an absolute path inside the root");
    }
    let user = match args
        .user
        .clone()
        .or_else(|| icfg.user.clone().filter(|u| !u.is_empty()))
    {
        None => None,
        Some(u) => Some(user_ids(&r, &u).with_context(|| format!("user {u}"))?),
    };
    if args.max_processes == 0 {
        bail!("--max-processes 0: the program itself is a process");
    }
    let distro = crate::sbom::Distro::read(&r);
    let root_info = RootInfo {
        os: match (distro.id, distro.version_id) {
            (Some(id), Some(v)) => Some(format!("{id} {v}")),
            (Some(id), None) => Some(id),
            _ => None,
        },
        image: image.as_ref().and_then(|i| i.digest().map(String::from)),
    };
    let opts = ProbeOptions {
        root,
        command,
        env: run_env,
        workdir,
        user,
        network: args.network,
        timeout,
        grace: Duration::from_secs(5),
        max_processes: args.max_processes,
        tmpdir: env.tmpdir.clone(),
        root_info,
        progress: env.progress.clone(),
    };
    let probed = probe::run(&opts)?;
    let rec = &probed.record;
    let tmp = crate::pack::AtomicFile::create(&args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    let mut f = tmp.file()?;
    f.write_all(&rec.to_bytes())
        .and_then(|_| f.sync_all())
        .with_context(|| format!("writing {}", args.output.display()))?;
    drop(f);
    tmp.commit()
        .with_context(|| format!("writing {}", args.output.display()))?;
    let run = &rec.runs[0];
    let p = &rec.paths;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "record": args.output.to_string_lossy(),
                "exit": run.exit,
                "executed": p.executed.len(),
                "opened": p.opened.len(),
                "listed": p.listed.len(),
                "checked": p.checked.len(),
                "created": p.created.len(),
                "links": rec.links.len(),
                "missing": rec.missing.len(),
                "system_calls": probed.notifications,
            }))?
        )?;
    } else {
        writeln!(
            out,
            "wrote {} ({}: {}): {} executed, {} opened, {} listed, {} checked, {} created, {} missing",
            args.output.display(),
            run.line(),
            run.exit,
            p.executed.len(),
            p.opened.len(),
            p.listed.len(),
            p.checked.len(),
            p.created.len(),
            rec.missing.len()
        )?;
    }
    out.flush()?;
    if !run.exit.success() {
        super::say(
            "note",
            &format!(
                "the run did not succeed ({}); the record holds what it touched: review it before packing from it",
                run.exit
            ),
        );
    }
    Ok(Status::Ok)
}

/// `USER[:GROUP]` as numeric ids: numbers as they are, names from the root's /etc/passwd
/// and /etc/group (the user's primary group when no group is given).
fn user_ids(root: &crate::sysroot::Root, spec: &str) -> Result<(u32, u32)> {
    let (u, g) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let table = |path: &str| root.read_to_string(path, 16 << 20).unwrap_or_default();
    let passwd = table("/etc/passwd");
    let entry = |name: &str| {
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 4 && (f[0] == name || f[2] == name))
                .then(|| (f[2].parse::<u32>(), f[3].parse::<u32>()))
        })
    };
    let (uid, primary) = match u.parse::<u32>() {
        Ok(n) => (n, entry(u).and_then(|(_, g)| g.ok()).unwrap_or(n)),
        Err(_) => match entry(u) {
            Some((Ok(uid), Ok(gid))) => (uid, gid),
            _ => bail!("no user {u} in the root's /etc/passwd"),
        },
    };
    let gid = match g {
        None => primary,
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => table("/etc/group")
                .lines()
                .find_map(|l| {
                    let f: Vec<&str> = l.split(':').collect();
                    (f.len() >= 3 && f[0] == g).then(|| f[2].parse::<u32>().ok())?
                })
                .with_context(|| format!("no group {g} in the root's /etc/group"))?,
        },
    };
    Ok((uid, gid))
}
