//! The rules `check` applies beyond the loader's: what glibc loads by itself (gconv
//! modules for `iconv_open`, NSS modules for the services of nsswitch.conf) and the CA
//! bundle a TLS library reads. The facts (trigger symbol, module names, gconv directory)
//! come from `hints::glibc`, the same ones `pack` uses to add these files; this file
//! only asks whether the image has them.

use crate::closure::Trace;
use crate::facts::{CA_BUNDLES, LIBC_SONAME, NSSWITCH_CONF};
use crate::hints::glibc;
use crate::ldso::{ChainLink, Loader, Request, Search};
use crate::sysroot::{Kind, Root};

use super::findings::Finding;

/// Largest nsswitch.conf read.
const MAX_NSSWITCH: u64 = 1 << 20;

/// Whether the image has gconv modules in glibc's default directory for `$LIB`.
#[derive(Clone, Debug)]
pub struct Gconv {
    pub dir: String,
    pub present: bool,
}

impl Gconv {
    /// Looks for at least one module (`*.so`) and the configuration (`gconv-modules*`).
    pub fn of(loader: &Loader) -> Gconv {
        let dir = glibc::gconv_dir(loader.lib());
        let root = loader.root();
        let present = root
            .resolve(&dir)
            .ok()
            .flatten()
            .is_some_and(|r| r.kind == Kind::Dir)
            && root.list_dir(&dir).is_ok_and(|names| {
                names.iter().any(|n| n.ends_with(".so"))
                    && names.iter().any(|n| n.starts_with("gconv-modules"))
            });
        Gconv { dir, present }
    }
}

/// Whether a glibc program calls `iconv_open` (itself or through a library other than
/// libc), so glibc will load gconv modules.
pub fn calls_iconv_open(trace: &Trace) -> bool {
    let mut libc = false;
    let mut calls = false;
    for (_, o) in trace.loaded() {
        let Some(info) = &o.info else {
            continue;
        };
        if info.soname.as_deref() == Some(LIBC_SONAME) {
            libc = true;
        } else if info.imports_symbol(glibc::GCONV_TRIGGER) {
            calls = true;
        }
    }
    libc && calls
}

/// NSS services of the image's nsswitch.conf whose module glibc cannot load. libc
/// searches for `libnss_<service>.so.2` like any dlopen from itself (no RPATH, no
/// RUNPATH): the cache, then the default directories.
pub fn nss(loader: &Loader) -> Vec<Finding> {
    let Ok(conf) = loader.root().read_to_string(NSSWITCH_CONF, MAX_NSSWITCH) else {
        return Vec::new();
    };
    nss_in(loader, &conf)
}

/// [`nss`] for the nsswitch.conf `conf`, its modules searched by `loader`: `pack` asks
/// it of the layer's nsswitch.conf and the root it takes modules from (`check::layer`).
pub fn nss_in(loader: &Loader, conf: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    for service in glibc::nss_services(conf) {
        let module = glibc::nss_module(&service);
        let req = Request {
            name: &module,
            requester: 0,
            chain: &[],
            main: ChainLink { obj: 0, rpath: &[] },
            has_runpath: false,
            runpath: &[],
            nodeflib: false,
            library_path: &[],
        };
        let error = match loader.search(&req) {
            Search::Found { .. } => continue,
            Search::Missing { skipped, .. } if skipped.is_empty() => None,
            Search::Missing { skipped, .. } => Some(format!(
                "only for another class or machine: {}",
                skipped
                    .iter()
                    .map(|s| format!("{} ({})", s.path, s.why))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Search::Fatal { path, error } => Some(format!("{path}: {error}")),
        };
        out.push(Finding::NssModuleMissing {
            service,
            module,
            error,
        });
    }
    out
}

/// The CA bundle finding for the TLS library at `library`, if no bundle is there.
pub fn ca_bundle(root: &Root, library: &str) -> Option<Finding> {
    let found = CA_BUNDLES.iter().any(|p| {
        root.resolve(p)
            .ok()
            .flatten()
            .filter(|r| r.kind == Kind::File)
            .and_then(|r| root.lstat_meta(&r.path).ok())
            .is_some_and(|m| m.len() > 0)
    });
    (!found).then(|| Finding::CaBundleMissing {
        library: library.to_string(),
        tried: CA_BUNDLES.iter().map(|s| s.to_string()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_bundle_needs_a_non_empty_file() {
        let t = tempfile::tempdir().unwrap();
        let root = Root::new(t.path()).unwrap();
        assert!(ca_bundle(&root, "/usr/lib/libssl.so.3").is_some());
        std::fs::create_dir_all(t.path().join("etc/ssl/certs")).unwrap();
        std::fs::write(t.path().join("etc/ssl/certs/ca-certificates.crt"), b"").unwrap();
        let root = Root::new(t.path()).unwrap();
        assert!(ca_bundle(&root, "/x").is_some(), "empty");
        std::fs::write(t.path().join("etc/ssl/certs/ca-certificates.crt"), b"-----").unwrap();
        let root = Root::new(t.path()).unwrap();
        assert!(ca_bundle(&root, "/x").is_none());
    }
}
