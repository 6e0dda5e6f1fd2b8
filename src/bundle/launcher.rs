//! The launcher of one bundled program: a POSIX `sh` script at `OUT/bin/<name>`.
//!
//! What it does, and why:
//! 1. finds its own directory from `$0`, following links to itself (a link in `~/bin`)
//!    with `ls -ld`, so it needs neither `readlink -f` nor `realpath` (busybox `sh` is
//!    enough); `cd -P` + `pwd -P` make the directory absolute;
//! 2. puts that directory first in PATH (once), so a bundled program that runs another
//!    bundled program by name (`subprocess.run(["curl", ...])`) gets its launcher;
//! 3. sets data locations glibc and OpenSSL would otherwise take from the running
//!    system: GCONV_PATH when the bundle has gconv modules (modules of another glibc
//!    must not be loaded into this one), SSL_CERT_FILE to the bundled CA bundle when it is
//!    not set and the system has no `/etc/ssl/certs/ca-certificates.crt`;
//! 4. `exec`s the bundled loader as a command: `--inhibit-cache` (the system's
//!    ld.so.cache lists the system's libraries, not ours), `--library-path` with
//!    `$ORIGIN`-relative directories (`$ORIGIN` is the program's directory, so a bundle
//!    path with `:` in it still works), `--argv0 "$0"` (the program sees the name it was
//!    called by, and Python finds its prefix from it), then the program and `"$@"`.
//!
//! LD_LIBRARY_PATH is never set: it would leak into every child process, including the
//! system's own programs, which would then load the bundle's libraries.
//! Every literal from the root (file names) is single-quoted, so no name can inject shell.

/// What a launcher runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Run {
    /// A dynamic ELF program, run by the bundled loader.
    Loader {
        /// The loader, relative to `bin/`.
        loader: String,
        /// The program, relative to `bin/`.
        program: String,
        /// Library directories relative to the program's directory (`$ORIGIN`).
        library_path: Vec<String>,
        /// Whether the loader knows `--argv0` (glibc 2.33 and later).
        argv0: bool,
    },
    /// A static program, run directly.
    Direct { program: String },
    /// A `#!` script, run by the launcher of its interpreter (a sibling in `bin/`).
    Script {
        interpreter: String,
        arg: Option<String>,
        script: String,
    },
}

/// Environment a launcher sets (paths relative to `bin/`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Env {
    /// GCONV_PATH, when the bundle has gconv modules.
    pub gconv: Option<String>,
    /// The bundled CA bundle, for SSL_CERT_FILE.
    pub ca_bundle: Option<String>,
}

/// Single-quotes `s` for sh.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The launcher script for program `name`.
pub fn script(name: &str, run: &Run, env: &Env) -> String {
    let mut s = String::new();
    s.push_str("#!/bin/sh\n");
    s.push_str(&format!(
        "# {} from a minroot bundle: runs the bundled program with the bundled loader and\n\
         # libraries, wherever the bundle is. Generated; see `minroot bundle --help`.\n",
        name.replace('\n', " ")
    ));
    s.push_str(
        r#"self=$0
case $self in
*/*) ;;
*) self=$(command -v -- "$self") || { echo "$0: cannot find the launcher's directory" >&2; exit 127; } ;;
esac
while [ -h "$self" ]; do
    link=$(ls -ld -- "$self") || exit 127
    link=${link#* -> }
    case $link in
    /*) self=$link ;;
    *) self=${self%/*}/$link ;;
    esac
done
here=$(cd -P -- "${self%/*}" && pwd -P) || exit 127
case ":${PATH-}:" in
*":$here:"*) ;;
*) PATH=$here${PATH:+:$PATH}; export PATH ;;
esac
"#,
    );
    if let Some(g) = &env.gconv {
        s.push_str(&format!(
            "GCONV_PATH=$here/{}\nexport GCONV_PATH\n",
            quote(g)
        ));
    }
    if let Some(ca) = &env.ca_bundle {
        s.push_str(&format!(
            "if [ -z \"${{SSL_CERT_FILE-}}\" ] && [ ! -e {} ]; then\n    SSL_CERT_FILE=$here/{}\n    export SSL_CERT_FILE\nfi\n",
            crate::facts::CA_BUNDLE,
            quote(ca)
        ));
    }
    match run {
        Run::Loader {
            loader,
            program,
            library_path,
            argv0,
        } => {
            let lp: Vec<String> = library_path
                .iter()
                .map(|d| {
                    if d == "." {
                        "$ORIGIN".to_string()
                    } else {
                        format!("$ORIGIN/{d}")
                    }
                })
                .collect();
            s.push_str(&format!("exec \"$here\"/{} --inhibit-cache", quote(loader)));
            if !lp.is_empty() {
                s.push_str(&format!(" --library-path {}", quote(&lp.join(":"))));
            }
            if *argv0 {
                s.push_str(" --argv0 \"$0\"");
            }
            s.push_str(&format!(" \"$here\"/{} \"$@\"\n", quote(program)));
        }
        Run::Direct { program } => {
            s.push_str(&format!("exec \"$here\"/{} \"$@\"\n", quote(program)));
        }
        Run::Script {
            interpreter,
            arg,
            script,
        } => {
            s.push_str(&format!("exec \"$here\"/{}", quote(interpreter)));
            if let Some(a) = arg {
                s.push_str(&format!(" {}", quote(a)));
            }
            s.push_str(&format!(" \"$here\"/{} \"$@\"\n", quote(script)));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_any_name() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$(rm -rf /)"), "'$(rm -rf /)'");
    }

    #[test]
    fn loader_launcher_uses_the_command_line_not_the_environment() {
        let s = script(
            "curl",
            &Run::Loader {
                loader: "../libexec/ld-linux-x86-64.so.2".into(),
                program: "../libexec/curl".into(),
                library_path: vec!["../lib/x86_64-linux-gnu".into(), ".".into()],
                argv0: true,
            },
            &Env {
                gconv: Some("../lib/x86_64-linux-gnu/gconv".into()),
                ca_bundle: Some("../etc/ssl/certs/ca-certificates.crt".into()),
            },
        );
        assert!(s.starts_with("#!/bin/sh\n"));
        assert!(s.contains(
            "exec \"$here\"/'../libexec/ld-linux-x86-64.so.2' --inhibit-cache --library-path '$ORIGIN/../lib/x86_64-linux-gnu:$ORIGIN' --argv0 \"$0\" \"$here\"/'../libexec/curl' \"$@\"\n"
        ), "{s}");
        assert!(!s.contains("LD_LIBRARY_PATH"));
        assert!(!s.contains("readlink"));
        assert!(s.contains("GCONV_PATH=$here/'../lib/x86_64-linux-gnu/gconv'"));
        assert!(s.contains("SSL_CERT_FILE=$here/'../etc/ssl/certs/ca-certificates.crt'"));
    }

    #[test]
    fn script_and_static_launchers() {
        let s = script(
            "tool",
            &Run::Script {
                interpreter: "python3".into(),
                arg: Some("-u".into()),
                script: "../libexec/tool".into(),
            },
            &Env::default(),
        );
        assert!(
            s.ends_with("exec \"$here\"/'python3' '-u' \"$here\"/'../libexec/tool' \"$@\"\n"),
            "{s}"
        );
        let s = script(
            "busybox",
            &Run::Direct {
                program: "../libexec/busybox".into(),
            },
            &Env::default(),
        );
        assert!(
            s.ends_with("exec \"$here\"/'../libexec/busybox' \"$@\"\n"),
            "{s}"
        );
        assert!(!s.contains("GCONV_PATH") && !s.contains("SSL_CERT_FILE"));
    }
}
