//! From what was typed to a validated configuration, in one place.
//!
//! The process environment (cwd, /proc/cpuinfo, whether stdout is a terminal,
//! SOURCE_DATE_EPOCH) is read once, in [`HostEnv::read`], and nowhere else. Options are
//! checked here so the hot path never re-checks them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};

use super::args::RootArgs;
use crate::arch::Arch;
use crate::closure::ObjectCache;
use crate::ldso::Loader;
use crate::ldso::hwcaps::{CpuLevel, CpuProfile};
use crate::sysroot::Root;

/// What minroot reads from its own process environment, once.
#[derive(Clone, Debug)]
pub struct HostEnv {
    pub cwd: PathBuf,
    pub cpuinfo: String,
    pub stdout_tty: bool,
    pub stderr_tty: bool,
    pub source_date_epoch: Option<String>,
    /// Where temporary directories go ($TMPDIR, else /tmp).
    pub tmpdir: PathBuf,
}

impl HostEnv {
    pub fn read() -> HostEnv {
        use std::io::IsTerminal;
        HostEnv {
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
            cpuinfo: std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default(),
            stdout_tty: std::io::stdout().is_terminal(),
            stderr_tty: std::io::stderr().is_terminal(),
            source_date_epoch: std::env::var("SOURCE_DATE_EPOCH").ok(),
            tmpdir: std::env::temp_dir(),
        }
    }
}

/// How the CPU profile is chosen.
#[derive(Clone, Debug)]
pub enum CpuChoice {
    /// The host's CPU when the program's architecture is the host's, else baseline.
    Host {
        cpuinfo: String,
    },
    Level(CpuLevel),
}

/// A validated root plus the loaders and parsed files shared by everything traced in it.
pub struct Session {
    pub root: Arc<Root>,
    pub cpu: CpuChoice,
    pub library_path: Option<String>,
    pub cache: Arc<ObjectCache>,
    loaders: Mutex<HashMap<Arch, Arc<Loader>>>,
}

impl Session {
    pub fn new(args: &RootArgs, env: &HostEnv, symbols: bool) -> Result<Session> {
        let root =
            Root::new(&args.root).with_context(|| format!("--root {}", args.root.display()))?;
        let cpu = match &args.cpu_level {
            None => CpuChoice::Host { cpuinfo: env.cpuinfo.clone() },
            Some(s) => CpuChoice::Level(CpuLevel::parse(s).with_context(|| {
                format!("--cpu-level {s}: unknown level; use baseline, x86-64-v2, x86-64-v3, x86-64-v4 (x86_64) or baseline, atomics (aarch64)")
            })?),
        };
        if let Some(lp) = &args.library_path
            && lp.contains('\0')
        {
            bail!("--library-path contains a NUL byte");
        }
        Ok(Session {
            root: Arc::new(root),
            cpu,
            library_path: args.library_path.clone(),
            cache: Arc::new(ObjectCache::new(crate::elf::Options { symbols })),
            loaders: Mutex::default(),
        })
    }

    /// The CPU profile for programs of `arch`.
    pub fn cpu_profile(&self, arch: Arch) -> Result<CpuProfile> {
        Ok(match &self.cpu {
            CpuChoice::Level(l) => {
                if !l.valid_for(arch) {
                    bail!("--cpu-level {} does not exist for {arch}", l.name());
                }
                CpuProfile::for_level(arch, *l)
            }
            CpuChoice::Host { cpuinfo } if Arch::host() == Some(arch) => {
                CpuProfile::from_cpuinfo(arch, cpuinfo)
            }
            CpuChoice::Host { .. } => CpuProfile::for_level(arch, CpuLevel::Baseline),
        })
    }

    /// The loader facts for `arch` (made once).
    pub fn loader(&self, arch: Arch) -> Result<Arc<Loader>> {
        let mut m = self.loaders.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = m.get(&arch) {
            return Ok(l.clone());
        }
        let l = Arc::new(Loader::with_objects(
            self.root.clone(),
            arch,
            self.cpu_profile(arch)?,
            self.library_path.clone(),
            self.cache.clone(),
        ));
        m.insert(arch, l.clone());
        Ok(l)
    }

    /// Why the root's ld.so.cache is not used, for each architecture traced so far (the
    /// loader skips such a cache and goes on with the default directories), sorted.
    pub fn cache_warnings(&self) -> Vec<String> {
        let m = self.loaders.lock().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<String> = m
            .values()
            .filter_map(|l| {
                let issue = l.cache_issue.as_ref()?;
                Some(format!(
                    "{} in the root ({}): {issue}",
                    crate::ldso::LD_SO_CACHE,
                    l.arch
                ))
            })
            .collect();
        v.sort();
        v
    }

    /// A program path as typed, made absolute inside the root: relative paths are relative
    /// to the current directory for the host root, to the root's `/` otherwise.
    pub fn program_path(&self, typed: &str, env: &HostEnv) -> String {
        if typed.starts_with('/') {
            typed.to_string()
        } else if self.root.is_host() {
            env.cwd.join(typed).to_string_lossy().into_owned()
        } else {
            format!("/{typed}")
        }
    }
}
