//! Facts about the systems minroot reads and the images it writes, each in one place:
//! paths programs open by name, the default PATH, the sonames that read the CA bundle.
//! Architecture facts (loader paths, multiarch triplets, OCI names) live in `arch.rs`;
//! the loader's own constants (ld.so.cache, ld.so.preload) in `ldso/`; glibc's run-time
//! loads (NSS, gconv, libgcc_s) in `hints/glibc.rs`; known libraries' data files in
//! `hints/known.rs`. This file holds what several of those and the outputs share.

/// The PATH of Debian's login shells and of the images minroot writes; also where
/// `#!/usr/bin/env prog` looks for `prog`.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The CA bundle of Debian and Ubuntu (made by `update-ca-certificates`): where the layer's
/// base files put the root's bundle, and what images get as `SSL_CERT_FILE`.
pub const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Where TLS libraries look for the CA bundle, by distribution family: Debian/Ubuntu,
/// Fedora/RHEL, Alpine/Arch/SUSE, RHEL's extracted bundle, OpenSSL's default on Debian
/// (a link to the first). One of them being a non-empty file is enough.
pub const CA_BUNDLES: &[&str] = &[
    CA_BUNDLE,
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/usr/lib/ssl/cert.pem",
];

/// TLS libraries that verify certificates against the CA bundle: an image that loads one
/// and has no bundle fails every certificate check (`check`'s `ca_bundle_missing`).
pub const TLS_SONAMES: &[&str] = &["libssl.so.3", "libssl.so.1.1", "libgnutls.so.30"];

/// Libraries whose loading brings the CA bundle into a layer: the TLS libraries, and
/// those that name the bundle themselves (libcurl's compiled-in CA path, NSS).
pub const CA_BUNDLE_READERS: &[&str] = &[
    "libssl.so.3",
    "libssl.so.1.1",
    "libgnutls.so.30",
    "libnss3.so",
    "libcurl.so.4",
    "libcurl-gnutls.so.4",
];

/// Whether `soname` is one of [`TLS_SONAMES`].
pub fn is_tls_library(soname: &str) -> bool {
    TLS_SONAMES.contains(&soname)
}

/// glibc's C library soname: glibc's own dlopens (NSS, gconv, libgcc_s) come from it.
pub const LIBC_SONAME: &str = "libc.so.6";

/// The name service switch configuration glibc reads.
pub const NSSWITCH_CONF: &str = "/etc/nsswitch.conf";

/// Where the container runtime mounts content at run time (empty in an image): a symlink
/// into them is expected to dangle in a layer, and `pack` never takes their files in.
pub const RUNTIME_MOUNTS: &[&str] = &["/proc", "/sys", "/dev", "/run"];

/// Whether canonical `path` lies in one of the [`RUNTIME_MOUNTS`].
pub fn in_runtime_mount(path: &str) -> bool {
    RUNTIME_MOUNTS.iter().any(|m| {
        path.strip_prefix(m)
            .is_some_and(|r| r.is_empty() || r.starts_with('/'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_libraries_read_the_bundle() {
        for s in TLS_SONAMES {
            assert!(CA_BUNDLE_READERS.contains(s), "{s}");
        }
        assert!(is_tls_library("libssl.so.3"));
        assert!(is_tls_library("libgnutls.so.30"));
        assert!(!is_tls_library("libssl3.so"));
        assert!(!is_tls_library("libcrypto.so.3"));
        assert_eq!(CA_BUNDLES[0], CA_BUNDLE);
        assert!(DEFAULT_PATH.split(':').all(|d| d.starts_with('/')));
    }

    #[test]
    fn runtime_mounts_are_whole_components() {
        assert!(in_runtime_mount("/proc"));
        assert!(in_runtime_mount("/proc/1234/mounts"));
        assert!(in_runtime_mount("/run/systemd/resolve/stub-resolv.conf"));
        assert!(!in_runtime_mount("/processes"));
        assert!(!in_runtime_mount("/usr/proc"));
        assert!(!in_runtime_mount("/etc/mtab"));
    }
}
