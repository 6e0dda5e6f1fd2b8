//! Run-time data files of well-known libraries: what a library opens by path that no ELF
//! header mentions. This table is data: one entry per library, each with a test in
//! `tests/hints.rs`. Paths are the ones the library opens (Debian's builds); the layer
//! gets the symlink chain to the file too.

/// One table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Known {
    /// Sonames that trigger the entry (any of them loaded).
    pub sonames: &'static [&'static str],
    /// Files (or directories, taken whole) the library reads at run time; each is taken
    /// when it exists in the root. `{lib}` is replaced by the root's `$LIB`.
    pub files: &'static [&'static str],
    /// What the files are, for reports.
    pub what: &'static str,
}

/// Always-on entries: triggered by a loaded library.
pub const KNOWN: &[Known] = &[
    Known {
        sonames: &["libcrypto.so.3", "libcrypto.so.1.1"],
        // OPENSSLDIR on Debian is /usr/lib/ssl; openssl.cnf there links to /etc/ssl.
        files: &["/usr/lib/ssl/openssl.cnf"],
        what: "OpenSSL configuration",
    },
    Known {
        sonames: &["libcrypto.so.3", "libcrypto.so.1.1"],
        // OpenSSL's default CA file (X509_get_default_cert_file); Debian links it to the bundle.
        files: &["/usr/lib/ssl/cert.pem"],
        what: "OpenSSL default CA file",
    },
    Known {
        sonames: crate::facts::CA_BUNDLE_READERS,
        files: &[crate::facts::CA_BUNDLE],
        what: "CA certificate bundle",
    },
    Known {
        sonames: &["libmagic.so.1"],
        // libmagic opens /usr/share/misc/magic.mgc (Debian: a link to ../../lib/file/magic.mgc).
        files: &["/usr/share/misc/magic.mgc"],
        what: "libmagic database",
    },
    Known {
        sonames: &["libkrb5.so.3"],
        files: &["/etc/krb5.conf"],
        what: "Kerberos configuration",
    },
    Known {
        sonames: &["libsasl2.so.2"],
        // SASL mechanisms are dlopened from this directory.
        files: &["/usr/{lib}/sasl2"],
        what: "SASL plugins",
    },
];

/// Opt-in data: asked for by an option, not triggered by a library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptIn {
    /// The option value that asks for it (`--data tzdata`).
    pub name: &'static str,
    pub files: &'static [&'static str],
    pub what: &'static str,
}

pub const OPT_IN: &[OptIn] = &[
    OptIn {
        name: "tzdata",
        files: &["/usr/share/zoneinfo", "/etc/localtime", "/etc/timezone"],
        what: "time zone database",
    },
    OptIn {
        name: "C.utf8",
        files: &["/usr/lib/locale/C.utf8"],
        what: "C.UTF-8 locale",
    },
];

/// Expands `{lib}` in a table path.
pub fn expand(path: &str, lib: &str) -> String {
    path.replace("{lib}", lib)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_well_formed() {
        for k in KNOWN {
            assert!(!k.sonames.is_empty() && !k.files.is_empty() && !k.what.is_empty());
            assert!(k.files.iter().all(|f| f.starts_with('/')));
            assert!(
                k.sonames
                    .iter()
                    .all(|s| s.starts_with("lib") && s.contains(".so"))
            );
        }
        for o in OPT_IN {
            assert!(o.files.iter().all(|f| f.starts_with('/')));
        }
        assert_eq!(
            expand("/usr/{lib}/sasl2", "lib/x86_64-linux-gnu"),
            "/usr/lib/x86_64-linux-gnu/sasl2"
        );
    }
}
