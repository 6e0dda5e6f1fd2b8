//! The CPython 3 profile: recognise CPython in a trace, find its prefix in the root as
//! CPython's own `getpath` does (`Modules/getpath.py`, 3.11), and say what of it to take.
//!
//! Recognised by a loaded `libpython3.*` (an interpreter that links its runtime as a
//! library) or by the program exporting `Py_BytesMain` (Debian's `/usr/bin/python3.11`
//! links it in statically and exports its C API for extension modules). X.Y comes from the program itself: the
//! `libpython3.X` soname, else the version string CPython compiles in (`PY_VERSION`, a
//! NUL-terminated `3.11.2` among the interpreter's bytes), never from the name it was
//! typed as (`python3` says nothing about the minor version).
//!
//! Located in getpath's order (POSIX; `platlibdir` is `lib`, or `lib64` on distributions
//! that build with it, so both are tried):
//! 1. `PYTHONHOME` from [`Found::env`] when set: `PREFIX[:EXEC_PREFIX]`, nothing searched.
//! 2. Else a venv: `pyvenv.cfg` one directory above the executable (the program as
//!    given), then next to it; its `home = DIR` names the base interpreter's directory,
//!    where the search starts. The venv's `pyvenv.cfg` and its
//!    `lib/pythonX.Y/site-packages` are taken: `site` reads the first at every start,
//!    and the second is the one application the venv was made for.
//! 3. Else the search starts in the directory of the real executable (its realpath
//!    inside the root: `/usr/bin/python3 -> python3.11` starts in `/usr/bin`).
//! 4. prefix: the directory of a `libpython3.X` the program loaded when the landmark is
//!    next to it, else the first directory upward from the start with the zip landmark
//!    `lib/pythonXY.zip` (taken: it is on `sys.path`), else the first with the landmark
//!    `lib/pythonX.Y/os.py` (or `os.pyc`).
//! 5. exec_prefix: upward from the start, the first with the directory
//!    `lib/pythonX.Y/lib-dynload`; else the prefix.
//!
//! getpath's build-directory detection (`pybuilddir.txt`) and `._pth` files (a Windows
//! embedding feature, honoured on POSIX but not used by any distribution) are not
//! followed; nor is the compiled-in PREFIX fallback, which without the landmark gives a
//! CPython that cannot import `encodings` and does not start: that is [`NotFound`].
//!
//! Taken: the standard library directory `PREFIX/lib/pythonX.Y` whole (its `__pycache__`
//! bytecode, `_sysconfigdata_*.py`, Debian's `sitecustomize.py -> /etc/python3.X/
//! sitecustomize.py`, which `site` imports at every start: the link and its target come
//! with the tree) and `EXEC_PREFIX/lib/pythonX.Y/lib-dynload`, whose extension modules
//! are then traced as plugins of the program (`_ssl` brings libssl, `_sqlite3`
//! libsqlite3, `_ctypes` libffi, `_lzma` liblzma, `_decimal` libmpdec, `_hashlib`
//! libcrypto ...). Skipped, because CPython never runs them unless asked to by name:
//! - `test` and the packages' own test suites (`unittest/test`, `ctypes/test`,
//!   `sqlite3/test`, `lib2to3/tests`, `idlelib/idle_test`, ...: directories named
//!   `test` or `tests` one level down): run only by `python -m test`;
//! - the extension modules CPython builds for that suite (`Modules/Setup.stdlib.in`,
//!   "Test modules": `_test*`, `_ctypes_test`, `_xxtestfuzz`, `xxlimited*`, `xxsubtype`);
//! - `config-X.Y-*`: the Makefile, `libpython.a` and objects `python3-config` and
//!   extension builds read, never the interpreter;
//! - `ensurepip/_bundled`: the pip and setuptools wheels `python -m venv` installs into a
//!   new venv;
//! - `tkinter`, `idlelib` and `turtledemo` when `_tkinter` is not in `lib-dynload`: none
//!   of them can import without it;
//! - `site-packages` and `dist-packages` inside the standard library directory (see
//!   below).
//!
//! Debian's `dist-packages` (`/usr/lib/python3/dist-packages`,
//! `/usr/local/lib/python3.X/dist-packages`, and upstream's `lib/pythonX.Y/site-packages`)
//! are on `sys.path` but are not taken. They are not the standard library: they hold
//! every third-party package apt or pip installed into the root for any program (numpy,
//! the apt bindings, a whole web framework), so taking them would put all of them into
//! every layer of every Python program. `site` only lists their directories and reads the
//! `.pth` files of the packages in them, so without them CPython starts and imports the
//! standard library as before. The packages an application imports are its own choice,
//! which no table knows: `--include` their directories, or let `minroot probe` record
//! them. A venv is the exception above: it exists for one application.
//!
//! The `.pyc` files of the taken trees stay valid in the layer: see `runtime::pyc`.

use memchr::memmem;

use super::{Found, Located, NotFound, Profile, Recognise, Take, is_dir, is_file, parent};
use crate::sysroot::{Kind, Root, join};

/// CPython 3.
pub const PROFILE: Profile = Profile {
    name: "CPython",
    recognise: Recognise {
        sonames: &["libpython3."],
        exports: &["Py_BytesMain"],
    },
    locate,
};

/// The directories that may hold the standard library under a prefix (`sys.platlibdir`).
const PLATLIBDIRS: &[&str] = &["lib", "lib64"];

/// Extension modules CPython builds only for its test suite (`Modules/Setup.stdlib.in`).
const TEST_EXTENSIONS: &[&str] = &[
    "_ctypes_test",
    "_xxtestfuzz",
    "xxlimited",
    "xxlimited_35",
    "xxsubtype",
];

/// Directory names of test suites inside stdlib packages.
const TEST_DIRS: &[&str] = &["test", "tests", "idle_test"];

/// A CPython version as the standard library's directory names it: `3.11`, or `3.13t`
/// for a free-threaded build.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Version {
    minor: u32,
    /// The ABI suffix of the directory (`t`), usually empty.
    abi: String,
}

impl Version {
    /// `python3.11`, as in `lib/python3.11`.
    fn dir(&self) -> String {
        format!("python3.{}{}", self.minor, self.abi)
    }
    /// `python311.zip`.
    fn zip(&self) -> String {
        format!("python3{}{}.zip", self.minor, self.abi)
    }
    fn dotted(&self) -> String {
        format!("3.{}{}", self.minor, self.abi)
    }
}

/// The version in a `libpython3.X[t][d].so...` file name.
fn version_of_library(path: &str) -> Option<Version> {
    let name = path.rsplit('/').next()?;
    let rest = name.strip_prefix("libpython3.")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let minor = digits.parse().ok()?;
    let abi = if rest[digits.len()..].starts_with('t') {
        "t"
    } else {
        ""
    };
    Some(Version {
        minor,
        abi: abi.into(),
    })
}

/// The versions whose `PY_VERSION` string (`3.11.2`, `3.12.0rc1`, `3.13.0+`) is among the
/// NUL-terminated strings of `bytes`, in the order found, without repeats.
fn versions_in_bytes(bytes: &[u8]) -> Vec<Version> {
    let mut out: Vec<Version> = Vec::new();
    for at in memmem::find_iter(bytes, b"\x003.") {
        let s = &bytes[at + 1..];
        let end = s.iter().take(24).position(|&b| b == 0);
        let Some(end) = end else { continue };
        let Ok(text) = std::str::from_utf8(&s[..end]) else {
            continue;
        };
        if let Some(v) = parse_py_version(text)
            && !out.contains(&v)
        {
            out.push(v);
        }
    }
    out
}

/// `3.MINOR.MICRO` with an optional release suffix (`a1`, `b2`, `rc1`) and `+`.
fn parse_py_version(s: &str) -> Option<Version> {
    let rest = s.strip_prefix("3.")?;
    let (minor, rest) = rest.split_once('.')?;
    if minor.is_empty() || minor.len() > 2 || !minor.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let micro_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    if micro_len == 0 || micro_len > 2 {
        return None;
    }
    let mut tail = rest[micro_len..].trim_end_matches('+');
    for p in ["rc", "a", "b"] {
        if let Some(t) = tail.strip_prefix(p) {
            tail = t;
            if tail.is_empty() || !tail.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            tail = "";
            break;
        }
    }
    if !tail.is_empty() {
        return None;
    }
    Some(Version {
        minor: minor.parse().ok()?,
        abi: String::new(),
    })
}

/// getpath's `search_up`: `start` and its parents, the first where `test` holds.
fn search_up(start: &str, test: impl Fn(&str) -> bool) -> Option<String> {
    let mut d = start.to_string();
    loop {
        if test(&d) {
            return Some(d);
        }
        if d == "/" {
            return None;
        }
        d = parent(&d).to_string();
    }
}

/// The standard library directory of `prefix`, when its landmark is there.
fn stdlib_of(root: &Root, prefix: &str, v: &Version) -> Option<String> {
    PLATLIBDIRS.iter().find_map(|lib| {
        let dir = join(prefix, &format!("{lib}/{}", v.dir()));
        (is_file(root, &join(&dir, "os.py")) || is_file(root, &join(&dir, "os.pyc"))).then_some(dir)
    })
}

/// The `lib-dynload` directory of `exec_prefix`, when there.
fn dynload_of(root: &Root, exec_prefix: &str, v: &Version) -> Option<String> {
    PLATLIBDIRS.iter().find_map(|lib| {
        let dir = join(exec_prefix, &format!("{lib}/{}/lib-dynload", v.dir()));
        is_dir(root, &dir).then_some(dir)
    })
}

/// The venv the program runs in: (the venv's directory, its `pyvenv.cfg`, `home`).
fn venv(root: &Root, program: &str) -> Option<(String, String, String)> {
    let exe_dir = parent(program);
    for dir in [parent(exe_dir), exe_dir] {
        let cfg = join(dir, "pyvenv.cfg");
        let Ok(text) = root.read_carried(&cfg, 1 << 20) else {
            continue;
        };
        // The first line of the form `home = DIR` (keys are case-insensitive).
        let home = text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("home")
                .then(|| v.trim().to_string())
        });
        // A pyvenv.cfg without home is read and ignored, as getpath ignores it.
        return home.map(|h| (dir.to_string(), cfg, h));
    }
    None
}

/// Finds CPython's prefix in the root.
fn locate(root: &Root, found: &Found) -> Result<Located, NotFound> {
    let versions = match found.library.as_deref().and_then(version_of_library) {
        Some(v) => vec![v],
        None => root
            .read_canonical(&found.real)
            .map(|b| versions_in_bytes(&b))
            .unwrap_or_default(),
    };
    if versions.is_empty() {
        return Err(NotFound {
            looked_for: vec![format!("a CPython 3 version string in {}", found.real)],
            hint: "the program looks like CPython but names no version; --include its \
                   standard library (PREFIX/lib/python3.X)"
                .into(),
        });
    }
    let mut looked_for = Vec::new();
    for v in &versions {
        match locate_version(root, found, v, &mut looked_for) {
            Some(l) => return Ok(l),
            None => continue,
        }
    }
    let v = &versions[0];
    Err(NotFound {
        looked_for,
        hint: format!(
            "install CPython {}'s standard library in the root (Debian: libpython{}-stdlib), \
             or --include it (PREFIX/lib/{})",
            v.dotted(),
            v.dotted(),
            v.dir()
        ),
    })
}

/// getpath for one version; None (with what was looked for) when its landmarks are not
/// in the root.
fn locate_version(
    root: &Root,
    found: &Found,
    v: &Version,
    looked_for: &mut Vec<String>,
) -> Option<Located> {
    let landmark = format!("lib/{}/os.py", v.dir());
    let mut take = Vec::new();
    let (prefix, exec_prefix, found_by) =
        if let Some(home) = found.env("PYTHONHOME").filter(|h| !h.is_empty()) {
            let (p, e) = home.split_once(':').unwrap_or((home, home));
            let Some(stdlib) = stdlib_of(root, p, v) else {
                looked_for.push(format!("{} (PYTHONHOME={home})", join(p, &landmark)));
                return None;
            };
            (
                p.to_string(),
                e.to_string(),
                format!("PYTHONHOME={home}, {stdlib}/os.py"),
            )
        } else {
            let venv = venv(root, &found.program);
            let start = match &venv {
                Some((dir, cfg, home)) => {
                    take.push(Take::all(cfg.clone()));
                    for lib in PLATLIBDIRS {
                        let sp = join(dir, &format!("{lib}/{}/site-packages", v.dir()));
                        if is_dir(root, &sp) {
                            take.push(Take::all(sp));
                        }
                    }
                    // `home` is a directory of the root; its realpath, as the search walks it.
                    root.resolve(home)
                        .ok()
                        .flatten()
                        .filter(|r| r.kind == Kind::Dir)
                        .map(|r| r.path)
                        .unwrap_or_else(|| home.clone())
                }
                None => parent(&found.real).to_string(),
            };
            let lib_dir = found.library.as_deref().map(parent);
            let zip = search_up(&start, |d| {
                PLATLIBDIRS
                    .iter()
                    .any(|lib| is_file(root, &join(d, &format!("{lib}/{}", v.zip()))))
            });
            let by_lib = lib_dir.filter(|d| stdlib_of(root, d, v).is_some());
            let prefix = by_lib
                .map(str::to_string)
                .or_else(|| zip.clone())
                .or_else(|| search_up(&start, |d| stdlib_of(root, d, v).is_some()));
            let Some(prefix) = prefix else {
                looked_for.push(format!("{landmark} in {start} and its parents"));
                return None;
            };
            if let Some(z) = &zip {
                for lib in PLATLIBDIRS {
                    let p = join(z, &format!("{lib}/{}", v.zip()));
                    if is_file(root, &p) {
                        take.push(Take::all(p));
                    }
                }
            }
            let exec_prefix = search_up(&start, |d| dynload_of(root, d, v).is_some())
                .unwrap_or_else(|| prefix.clone());
            let by = match &venv {
                Some((_, cfg, home)) => format!("{cfg} (home = {home}), "),
                None => String::new(),
            };
            let by = match stdlib_of(root, &prefix, v) {
                Some(s) if is_file(root, &join(&s, "os.py")) => format!("{by}{s}/os.py"),
                Some(s) => format!("{by}{s}/os.pyc"),
                None => format!("{by}{prefix}/lib/{}", v.zip()),
            };
            (prefix, exec_prefix, by)
        };
    let dynload = dynload_of(root, &exec_prefix, v);
    let has_tkinter = dynload.as_deref().is_some_and(|d| {
        root.list_dir(d)
            .unwrap_or_default()
            .iter()
            .any(|n| n.starts_with("_tkinter."))
    });
    let mut trees = Vec::new();
    if let Some(stdlib) = stdlib_of(root, &prefix, v) {
        trees.push(Take {
            skip: stdlib_skips(root, &stdlib, has_tkinter),
            path: stdlib,
        });
    }
    if let Some(d) = dynload {
        let skip = test_extensions(root, &d);
        // Inside the standard library directory on every layout but a split exec_prefix:
        // then the stdlib's take brings it, minus the same skips.
        match trees
            .first_mut()
            .filter(|t| d.starts_with(&format!("{}/", t.path)))
        {
            Some(t) => {
                let rel = &d[t.path.len() + 1..];
                t.skip.extend(skip.iter().map(|n| format!("{rel}/{n}")));
            }
            None => trees.push(Take { skip, path: d }),
        }
    }
    trees.extend(take);
    Some(Located {
        home: prefix,
        found_by,
        take: trees,
        generated: Vec::new(),
    })
}

/// What of the standard library directory CPython never runs unless asked by name
/// (paths relative to it, sorted).
fn stdlib_skips(root: &Root, stdlib: &str, has_tkinter: bool) -> Vec<String> {
    let mut skip = Vec::new();
    let mut names = root.list_dir(stdlib).unwrap_or_default();
    names.sort();
    for n in &names {
        let path = join(stdlib, n);
        let dir = is_dir(root, &path);
        let whole = (dir
            && (matches!(n.as_str(), "test" | "site-packages" | "dist-packages")
                || n.starts_with("config-3.")))
            || (!has_tkinter && matches!(n.as_str(), "tkinter" | "idlelib" | "turtledemo"));
        if whole {
            skip.push(n.clone());
            continue;
        }
        if !dir {
            continue;
        }
        if n == "ensurepip" && is_dir(root, &join(&path, "_bundled")) {
            skip.push("ensurepip/_bundled".into());
        }
        let mut sub = root.list_dir(&path).unwrap_or_default();
        sub.sort();
        for s in sub {
            if TEST_DIRS.contains(&s.as_str()) && is_dir(root, &join(&path, &s)) {
                skip.push(format!("{n}/{s}"));
            }
        }
    }
    skip
}

/// The test-suite extension modules in `lib-dynload` (names relative to it, sorted).
fn test_extensions(root: &Root, dynload: &str) -> Vec<String> {
    let mut skip: Vec<String> = root
        .list_dir(dynload)
        .unwrap_or_default()
        .into_iter()
        .filter(|n| {
            let module = n.split('.').next().unwrap_or(n);
            module.starts_with("_test") || TEST_EXTENSIONS.contains(&module)
        })
        .collect();
    skip.sort();
    skip
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;
    use std::path::Path;

    fn v(minor: u32) -> Version {
        Version {
            minor,
            abi: String::new(),
        }
    }

    #[test]
    fn versions_from_the_library_name() {
        assert_eq!(
            version_of_library("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"),
            Some(v(11))
        );
        assert_eq!(
            version_of_library("/x/libpython3.13t.so.1.0").map(|v| v.dir()),
            Some("python3.13t".into())
        );
        assert_eq!(version_of_library("/x/libpython2.7.so"), None);
    }

    #[test]
    fn versions_from_the_interpreter_bytes() {
        let b = b"junk\x003.11.2\x00strict\x003.40.1x\x003.12.0rc1\x003.9\x003.11.4+\x00";
        assert_eq!(versions_in_bytes(b), vec![v(11), v(12)]);
        assert_eq!(parse_py_version("3.13.0a1"), Some(v(13)));
        assert_eq!(parse_py_version("3.11.2 (main)"), None);
        assert_eq!(parse_py_version("3.1.2.3"), None);
    }

    fn write(root: &Path, p: &str, bytes: &[u8]) {
        let p = root.join(p.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, bytes).unwrap();
    }

    /// A root with a CPython 3.11 under `prefix` (`/usr` or `/opt/py`).
    fn cpython(root: &Path, prefix: &str) {
        let p = prefix.trim_start_matches('/');
        write(
            root,
            &format!("{p}/bin/python3.11"),
            b"\x7fELF Py_BytesMain\x003.11.2\x00",
        );
        symlink("python3.11", root.join(format!("{p}/bin/python3"))).unwrap();
        let lib = format!("{p}/lib/python3.11");
        for f in [
            "os.py",
            "json/__init__.py",
            "test/__init__.py",
            "ctypes/test/t.py",
        ] {
            write(root, &format!("{lib}/{f}"), b"");
        }
        write(
            root,
            &format!("{lib}/config-3.11-x86_64-linux-gnu/Makefile"),
            b"",
        );
        write(root, &format!("{lib}/lib-dynload/_ssl.cpython-311.so"), b"");
        write(
            root,
            &format!("{lib}/lib-dynload/_testcapi.cpython-311.so"),
            b"",
        );
    }

    fn found(program: &str, real: &str, env: &[&str]) -> Found {
        Found {
            program: program.into(),
            real: real.into(),
            library: None,
            env: env.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn prefix_found_upward_from_the_real_executable() {
        let t = tempfile::tempdir().unwrap();
        cpython(t.path(), "/opt/py");
        let r = Root::new(t.path()).unwrap();
        let l = locate(
            &r,
            &found("/opt/py/bin/python3", "/opt/py/bin/python3.11", &[]),
        )
        .unwrap();
        assert_eq!(l.home, "/opt/py");
        assert_eq!(l.found_by, "/opt/py/lib/python3.11/os.py");
        assert_eq!(l.take[0].path, "/opt/py/lib/python3.11");
        assert_eq!(
            l.take[0].skip,
            [
                "config-3.11-x86_64-linux-gnu",
                "ctypes/test",
                "test",
                "lib-dynload/_testcapi.cpython-311.so"
            ]
        );
        assert_eq!(l.take.len(), 1, "lib-dynload is inside the stdlib");
    }

    /// getpath searches prefix and exec_prefix separately: lib-dynload may be found
    /// below the prefix, and is then taken on its own, minus the test extensions.
    #[test]
    fn exec_prefix_below_the_prefix_is_taken_on_its_own() {
        let t = tempfile::tempdir().unwrap();
        write(
            t.path(),
            "/x/y/bin/python3.11",
            b"Py_BytesMain\x003.11.2\x00",
        );
        write(t.path(), "/x/lib/python3.11/os.py", b"");
        write(t.path(), "/x/y/lib/python3.11/lib-dynload/_ssl.so", b"");
        write(
            t.path(),
            "/x/y/lib/python3.11/lib-dynload/_testbuffer.so",
            b"",
        );
        let r = Root::new(t.path()).unwrap();
        let l = locate(
            &r,
            &found("/x/y/bin/python3.11", "/x/y/bin/python3.11", &[]),
        )
        .unwrap();
        assert_eq!(l.home, "/x");
        let paths: Vec<(&str, &[String])> = l
            .take
            .iter()
            .map(|t| (t.path.as_str(), t.skip.as_slice()))
            .collect();
        assert_eq!(
            paths,
            [
                ("/x/lib/python3.11", &[][..]),
                (
                    "/x/y/lib/python3.11/lib-dynload",
                    &["_testbuffer.so".to_string()][..]
                )
            ]
        );
    }

    #[test]
    fn pythonhome_wins_and_a_missing_one_is_not_found() {
        let t = tempfile::tempdir().unwrap();
        cpython(t.path(), "/usr");
        cpython(t.path(), "/opt/py");
        let r = Root::new(t.path()).unwrap();
        let f = found(
            "/usr/bin/python3",
            "/usr/bin/python3.11",
            &["PYTHONHOME=/opt/py"],
        );
        assert_eq!(locate(&r, &f).unwrap().home, "/opt/py");
        let f = found(
            "/usr/bin/python3",
            "/usr/bin/python3.11",
            &["PYTHONHOME=/nope"],
        );
        let nf = locate(&r, &f).unwrap_err();
        assert_eq!(
            nf.looked_for,
            ["/nope/lib/python3.11/os.py (PYTHONHOME=/nope)"]
        );
        assert!(nf.hint.contains("libpython3.11-stdlib"), "{}", nf.hint);
    }

    #[test]
    fn venv_home_starts_the_search_and_brings_its_site_packages() {
        let t = tempfile::tempdir().unwrap();
        cpython(t.path(), "/usr");
        write(
            t.path(),
            "/app/venv/pyvenv.cfg",
            b"home = /usr/bin\nversion = 3.11.2\n",
        );
        write(
            t.path(),
            "/app/venv/lib/python3.11/site-packages/app.py",
            b"",
        );
        fs::create_dir_all(t.path().join("app/venv/bin")).unwrap();
        symlink("/usr/bin/python3", t.path().join("app/venv/bin/python")).unwrap();
        let r = Root::new(t.path()).unwrap();
        let l = locate(
            &r,
            &found("/app/venv/bin/python", "/usr/bin/python3.11", &[]),
        )
        .unwrap();
        assert_eq!(l.home, "/usr");
        assert_eq!(
            l.found_by,
            "/app/venv/pyvenv.cfg (home = /usr/bin), /usr/lib/python3.11/os.py"
        );
        let paths: Vec<&str> = l.take.iter().map(|t| t.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/usr/lib/python3.11",
                "/app/venv/pyvenv.cfg",
                "/app/venv/lib/python3.11/site-packages"
            ]
        );
    }

    #[test]
    fn venv_home_that_is_not_utf8_is_the_directory_of_those_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let t = tempfile::tempdir().unwrap();
        cpython(t.path(), "/opt/py");
        // `home = /opt/caf\xe9/bin` (Latin-1), a link to the CPython at /opt/py.
        symlink(
            "py",
            t.path().join(std::ffi::OsStr::from_bytes(b"opt/caf\xe9")),
        )
        .unwrap();
        write(
            t.path(),
            "/app/venv/pyvenv.cfg",
            b"home = /opt/caf\xe9/bin\n",
        );
        fs::create_dir_all(t.path().join("app/venv/bin")).unwrap();
        symlink("/opt/py/bin/python3", t.path().join("app/venv/bin/python")).unwrap();
        let r = Root::new(t.path()).unwrap();
        let l = locate(
            &r,
            &found("/app/venv/bin/python", "/opt/py/bin/python3.11", &[]),
        )
        .unwrap();
        assert_eq!(l.home, "/opt/py");
        assert_eq!(
            l.found_by,
            "/app/venv/pyvenv.cfg (home = /opt/caf\u{10ffe9}/bin), /opt/py/lib/python3.11/os.py"
        );
    }

    #[test]
    fn no_stdlib_is_not_found_with_what_was_looked_for() {
        let t = tempfile::tempdir().unwrap();
        write(
            t.path(),
            "/usr/bin/python3.11",
            b"Py_BytesMain\x003.11.2\x00",
        );
        let r = Root::new(t.path()).unwrap();
        let nf = locate(
            &r,
            &found("/usr/bin/python3.11", "/usr/bin/python3.11", &[]),
        )
        .unwrap_err();
        assert_eq!(
            nf.looked_for,
            ["lib/python3.11/os.py in /usr/bin and its parents"]
        );
        assert!(nf.hint.contains("--include"));
    }

    #[test]
    fn tkinter_without_its_extension_is_skipped() {
        let t = tempfile::tempdir().unwrap();
        cpython(t.path(), "/usr");
        write(t.path(), "/usr/lib/python3.11/tkinter/__init__.py", b"");
        write(
            t.path(),
            "/usr/lib/python3.11/ensurepip/_bundled/pip.whl",
            b"",
        );
        let r = Root::new(t.path()).unwrap();
        let f = found("/usr/bin/python3", "/usr/bin/python3.11", &[]);
        let skip = &locate(&r, &f).unwrap().take[0].skip;
        assert!(skip.contains(&"tkinter".to_string()), "{skip:?}");
        assert!(skip.contains(&"ensurepip/_bundled".to_string()), "{skip:?}");
        write(
            t.path(),
            "/usr/lib/python3.11/lib-dynload/_tkinter.cpython-311.so",
            b"",
        );
        let skip = &locate(&r, &f).unwrap().take[0].skip;
        assert!(!skip.contains(&"tkinter".to_string()), "{skip:?}");
    }
}
