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
    let root = config::root_dir(&args.root)?;
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
    let user = match &args.user {
        None => None,
        Some(u) => Some(match u.split_once(':') {
            Some(_) => parse::chown(u).with_context(|| format!("--user {u}"))?,
            None => {
                let n: u32 = u
                    .parse()
                    .with_context(|| format!("--user {u}: expected a numeric UID[:GID]"))?;
                (n, n)
            }
        }),
    };
    if !args.workdir.starts_with('/') {
        bail!(
            "--workdir {}: expected an absolute path inside the root",
            args.workdir
        );
    }
    if args.max_processes == 0 {
        bail!("--max-processes 0: the program itself is a process");
    }
    let r = crate::sysroot::Root::new(&root)?;
    let distro = crate::sbom::Distro::read(&r);
    let root_info = RootInfo {
        os: match (distro.id, distro.version_id) {
            (Some(id), Some(v)) => Some(format!("{id} {v}")),
            (Some(id), None) => Some(id),
            _ => None,
        },
        image: None,
    };
    // Refuse an output inside the root before running anything.
    let opts = ProbeOptions {
        root,
        command: args.command.clone(),
        env: RunConfig::with_env(&extra),
        workdir: args.workdir.clone(),
        user,
        network: args.network,
        timeout,
        grace: Duration::from_secs(5),
        max_processes: args.max_processes,
        tmpdir: env.tmpdir.clone(),
        root_info,
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
    if args.json {
        println!(
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
        );
    } else {
        println!(
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
        );
    }
    if !run.exit.success() {
        eprintln!(
            "minroot: note: the run did not succeed ({}); the record holds what it touched: review it before packing from it",
            run.exit
        );
    }
    Ok(Status::Ok)
}
