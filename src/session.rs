//! A root opened for one run: the [`Root`] (paths confined to it, every lookup memoised),
//! the loader facts of each architecture traced in it (made once, on first use), and the
//! parsed ELF files shared by every program traced in it. `trace` and every job stage
//! (selection, hints, the dev layer) work through one `Session`, so libc is parsed once
//! however many programs there are.
//!
//! It reads nothing from the process environment: the CPU to plan for comes in as a
//! [`CpuChoice`] (the host's /proc/cpuinfo text was read once by the command line).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::arch::Arch;
use crate::closure::ObjectCache;
use crate::ldso::Loader;
use crate::ldso::hwcaps::{CpuLevel, CpuProfile};
use crate::problem::Problem;
use crate::sysroot::{Root, SysrootError};

/// How the CPU profile (glibc-hwcaps subdirectories, `$PLATFORM`) is chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CpuChoice {
    /// The host's CPU (its /proc/cpuinfo text) when the program's architecture is the
    /// host's, else baseline.
    Host { cpuinfo: String },
    /// This level.
    Level(CpuLevel),
}

/// Why a session cannot serve an architecture.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(
        "--cpu-level {level}: not a level of {arch}, the programs' architecture; {arch}'s levels are {}",
        CpuLevel::names_for(*arch)
    )]
    CpuLevel { level: &'static str, arch: Arch },
}

/// A validated root plus the loaders and parsed files shared by everything traced in it.
pub struct Session {
    root: Arc<Root>,
    cpu: CpuChoice,
    library_path: Option<String>,
    cache: Arc<ObjectCache>,
    loaders: Mutex<HashMap<Arch, Arc<Loader>>>,
}

impl Session {
    /// Opens the root at host directory `dir`. `symbols`: parse imported symbols too
    /// (the glibc hints need them; `trace` does not).
    pub fn new(
        dir: &Path,
        cpu: CpuChoice,
        library_path: Option<String>,
        symbols: bool,
    ) -> Result<Session, SysrootError> {
        Ok(Session {
            root: Arc::new(Root::new(dir)?),
            cpu,
            library_path,
            cache: Arc::new(ObjectCache::new(crate::elf::Options { symbols })),
            loaders: Mutex::default(),
        })
    }

    /// The root.
    pub fn root(&self) -> &Arc<Root> {
        &self.root
    }

    /// The parsed files of the run.
    pub fn cache(&self) -> &ObjectCache {
        &self.cache
    }

    /// The CPU profile for programs of `arch`.
    pub fn cpu_profile(&self, arch: Arch) -> Result<CpuProfile, SessionError> {
        Ok(match &self.cpu {
            CpuChoice::Level(l) => {
                if !l.valid_for(arch) {
                    return Err(SessionError::CpuLevel {
                        level: l.name(),
                        arch,
                    });
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
    pub fn loader(&self, arch: Arch) -> Result<Arc<Loader>, SessionError> {
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
    /// loader skips such a cache and goes on with the default directories), by arch.
    pub fn cache_problems(&self) -> Vec<Problem> {
        let m = self.loaders.lock().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<Problem> = m
            .values()
            .filter_map(|l| {
                Some(Problem::CacheUnused {
                    arch: l.arch(),
                    issue: l.cache_issue()?.clone(),
                })
            })
            .collect();
        v.sort_by_key(|p| p.to_string());
        v
    }

    /// What the root's resolver warned about (symlinks that climb above the root), sorted.
    pub fn root_problems(&self) -> Vec<Problem> {
        self.root
            .links_above_root()
            .into_iter()
            .map(|l| Problem::SymlinkAboveRoot {
                link: l.path,
                target: l.target,
            })
            .collect()
    }
}

/// A path as typed, made absolute inside a root: relative paths are relative to `cwd`
/// for the host's root (`/`), to the root's `/` otherwise.
pub fn inside_path(typed: &str, host_root: bool, cwd: &Path) -> String {
    if typed.starts_with('/') {
        typed.to_string()
    } else if host_root {
        cwd.join(typed).to_string_lossy().into_owned()
    } else {
        format!("/{typed}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_paths_inside_the_root() {
        let cwd = Path::new("/home/u");
        assert_eq!(inside_path("/usr/bin/x", false, cwd), "/usr/bin/x");
        assert_eq!(inside_path("bin/x", false, cwd), "/bin/x");
        assert_eq!(inside_path("bin/x", true, cwd), "/home/u/bin/x");
    }
}
