//! The OpenJDK profile: the `java` launcher (and every JDK tool built from it, and programs
//! that embed the JVM) finds its home and the JVM as the launcher of JDK 9 and later does
//! (`src/java.base/unix/native/libjli/java_md.c` and `java_md_common.c` of openjdk/jdk17u):
//!
//! 1. `SetExecname`: the program's path is `readlink("/proc/self/exe")`, its realpath
//!    (Debian's `/usr/bin/java` -> `/etc/alternatives/java` ->
//!    `/usr/lib/jvm/java-17-openjdk-amd64/bin/java`).
//! 2. `GetApplicationHome` / `TruncatePath`: cut that path at its last `/bin/` (else its
//!    last `/lib/`): `/usr/lib/jvm/java-17-openjdk-amd64`. Not "two directories up": a
//!    launcher in `bin/x64/` has the same home.
//! 3. `GetJREPath`: the home is the JRE if `HOME/lib/libjava.so` exists, else
//!    `HOME/jre` if `HOME/jre/lib/libjava.so` does; else `GetApplicationHomeFromDll` tries
//!    the realpath of `libjli.so` cut at its last `/lib/`. Else the launcher stops with
//!    "Error: could not find libjava.so".
//! 4. `HOME/lib/jvm.cfg` names the VMs; the first entry is the default (`-server KNOWN`),
//!    unless `JDK_ALTERNATE_VM` names another (a directory when it has a '/').
//!    `GetJVMPath`: `HOME/lib/server/libjvm.so`, which `LoadJavaVM` dlopens by path.
//! 5. The JVM sets `java.home` from the realpath of libjvm.so (three components up: the
//!    same home), maps `lib/modules` (the class library) and loads `lib/libjava.so`,
//!    then `System.loadLibrary` loads the other `lib/lib*.so` from `HOME/lib`.
//!
//! `JAVA_HOME` plays no part: neither the launcher nor the JVM reads it on Linux (libjvm
//! only prints it into an hs_err crash log); it is a convention of scripts and build
//! tools. This profile reads `JDK_ALTERNATE_VM` from [`Found::env`], which the launcher
//! does read.
//!
//! What is taken: `lib/` (the VM, the `lib*.so` plugin set, `modules`, `tzdb.dat`,
//! `jvm.cfg`, `security/`, the CDS archives `server/classes*.jsa`, `jspawnhelper`, which
//! `ProcessBuilder` runs on Linux, `jfr/` ...), `conf/` (`security/java.security`,
//! `net.properties`, `logging.properties` ...), and `release` (read by tools and scanners
//! that ask which Java an image holds). Left out, because a JRE never reads them at run
//! time: `lib/ct.sym` (javac's `--release` signatures), `lib/src.zip` (sources, for IDEs),
//! `lib/jexec` and `lib/jar.binfmt` (the host's binfmt_misc registration for running jars
//! directly, never used by the JVM), and, by not being taken at all, `bin/` (other
//! launchers), `jmods/` (jlink input), `include/` (JNI headers), `man/`, `legal/`, `docs`,
//! `demo/`. Debian's JDK tree is mostly absolute symlinks into `/etc/java-17-openjdk`:
//! taking a tree keeps each link and adds its target (resolved inside the root), as
//! `--include` does. `lib/security/cacerts` points to `/etc/ssl/certs/java/cacerts`, which
//! no package owns (ca-certificates-java's maintainer script makes it): it is listed as
//! generated, and warned about when absent.

use crate::sysroot::Root;

use super::{Found, Generated, Located, NotFound, Profile, Recognise, Take, is_file};

/// The OpenJDK profile, for [`super::PROFILES`].
pub const PROFILE: Profile = Profile {
    name: "OpenJDK",
    recognise: Recognise {
        // libjli: the launcher library of `java` and of every JDK tool; libjvm: a program
        // that embeds the JVM (JNI_CreateJavaVM) links it directly.
        sonames: &["libjli.so", "libjvm.so"],
        exports: &[],
    },
    locate,
};

/// The class library and the launcher's confirmation that a directory is a JRE.
const LIBJAVA: &str = "lib/libjava.so";
/// Paths below `lib/` that no run of the JVM reads (see the module doc).
const SKIP_IN_LIB: &[&str] = &["ct.sym", "src.zip", "jexec", "jar.binfmt"];
/// The largest jvm.cfg read.
const MAX_JVM_CFG: u64 = 64 << 10;

/// `TruncatePath`: `path` cut at its last `/bin/` (`/lib/` first for a library), else at
/// the other; None when it has neither. An empty result is the root (`/lib/x` -> "").
fn truncate(path: &str, library: bool) -> Option<&str> {
    let (first, second) = if library {
        ("/lib/", "/bin/")
    } else {
        ("/bin/", "/lib/")
    };
    path.rfind(first)
        .or_else(|| path.rfind(second))
        .map(|i| &path[..i])
}

/// `HOME/rel` (HOME "" is the root).
fn under(home: &str, rel: &str) -> String {
    format!("{home}/{rel}")
}

/// The home as shown (the root is `/`).
fn shown(home: &str) -> String {
    if home.is_empty() {
        "/".into()
    } else {
        home.to_string()
    }
}

/// Finds the home and the JVM of a recognised program, as the launcher does (module doc).
pub fn locate(root: &Root, found: &Found) -> Result<Located, NotFound> {
    let mut looked_for = Vec::new();
    let embedded = found
        .library
        .as_deref()
        .is_some_and(|l| l.rsplit('/').next() == Some("libjvm.so"));
    if embedded {
        // A program linked against libjvm.so: no launcher, no jvm.cfg. The JVM's home is
        // its own realpath minus `/lib/<vm>/libjvm.so` (os::init_system_properties_values).
        let jvm = found.library.as_deref().unwrap_or_default();
        let home = super::parent(super::parent(super::parent(jvm)));
        let home = if home == "/" { "" } else { home };
        return confirm(root, home, jvm.to_string(), jvm.to_string(), looked_for);
    }
    // GetJREPath: the program's home, its private `jre/`, then the home of libjli.so.
    let mut candidates: Vec<String> = Vec::new();
    if let Some(home) = truncate(&found.real, false) {
        candidates.push(home.to_string());
        candidates.push(under(home, "jre"));
    }
    if let Some(jli) = &found.library
        && let Some(home) = truncate(jli, true)
    {
        candidates.push(home.to_string());
    }
    let mut jre = None;
    for c in candidates {
        let libjava = under(&c, LIBJAVA);
        if is_file(root, &libjava) {
            jre = Some((c, libjava));
            break;
        }
        if !looked_for.contains(&libjava) {
            looked_for.push(libjava);
        }
    }
    let Some((home, libjava)) = jre else {
        return Err(NotFound {
            looked_for,
            hint: format!(
                "the launcher stops with \"could not find libjava.so\"; install the JRE's package in the root (Debian: openjdk-NN-jre-headless), or --include the JDK's home (the directory above {}'s bin/)",
                found.real
            ),
        });
    };
    // CreateExecutionEnvironment: jvm.cfg names the default VM; GetJVMPath finds it.
    let cfg = under(&home, "lib/jvm.cfg");
    let Ok(text) = root.read_carried(&cfg, MAX_JVM_CFG) else {
        looked_for.push(cfg);
        return Err(NotFound {
            looked_for,
            hint: format!(
                "{}'s lib/jvm.cfg is missing or unreadable (the launcher stops: \"could not open jvm.cfg\"); install the JRE's package in the root, or --include {}",
                shown(&home),
                shown(&home)
            ),
        });
    };
    let vm = match found.env("JDK_ALTERNATE_VM") {
        Some(v) if !v.is_empty() => v.to_string(),
        _ => match default_vm(&text) {
            Some(v) => v.to_string(),
            None => {
                looked_for.push(cfg.clone());
                return Err(NotFound {
                    looked_for,
                    hint: format!(
                        "{} names no VM (the launcher stops: \"no known VMs\"); reinstall the JRE's package in the root",
                        shown(&cfg)
                    ),
                });
            }
        },
    };
    let jvm = if vm.contains('/') {
        format!("{}/libjvm.so", vm.trim_end_matches('/'))
    } else {
        under(&home, &format!("lib/{vm}/libjvm.so"))
    };
    confirm(root, &home, jvm, libjava, looked_for)
}

/// The first VM of a jvm.cfg (`-server KNOWN` -> `server`), as `ReadKnownVMs` reads it:
/// `#` starts a comment line, blank lines are skipped, each entry starts with `-`.
fn default_vm(cfg: &str) -> Option<&str> {
    cfg.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .find_map(|l| l.split_whitespace().next()?.strip_prefix('-'))
        .filter(|v| !v.is_empty())
}

/// The JVM at `jvm` and the class library of `home` must be there; then the home is
/// located (`found_by` the file that showed it).
fn confirm(
    root: &Root,
    home: &str,
    jvm: String,
    found_by: String,
    mut looked_for: Vec<String>,
) -> Result<Located, NotFound> {
    let modules = under(home, "lib/modules");
    let mut missing = Vec::new();
    for p in [&jvm, &modules] {
        if !is_file(root, p) {
            missing.push(p.clone());
        }
    }
    if !missing.is_empty() {
        looked_for.extend(missing);
        return Err(NotFound {
            looked_for,
            hint: format!(
                "the JVM cannot start without its library and its class library (lib/modules); install the JRE's package in the root, or --include {}",
                shown(home)
            ),
        });
    }
    Ok(located(root, home, &jvm, found_by))
}

/// What a JRE at `home` whose JVM is `jvm` needs at run time (module doc), found by
/// `found_by`.
fn located(root: &Root, home: &str, jvm: &str, found_by: String) -> Located {
    let lib = under(home, "lib");
    let mut take = vec![Take {
        path: lib.clone(),
        skip: SKIP_IN_LIB.iter().map(|s| s.to_string()).collect(),
    }];
    // A JVM elsewhere (JDK_ALTERNATE_VM=/some/dir): its directory too.
    if !jvm.starts_with(&format!("{lib}/")) {
        take.push(Take::all(super::parent(jvm)));
    }
    // conf/ exists from JDK 9 on; release in every JDK image: taken when there.
    for rel in ["conf", "release"] {
        let p = under(home, rel);
        if root.resolve(&p).ok().flatten().is_some() {
            take.push(Take::all(p));
        }
    }
    Located {
        home: shown(home),
        found_by,
        take,
        generated: vec![Generated {
            path: under(home, "lib/security/cacerts"),
            package: "ca-certificates-java",
            what: "the JVM's trusted CA certificates (a Java KeyStore)",
        }],
    }
}

/// The JRE a file lies in, for a library traced on its own (`trace`, `check`): as
/// `GetApplicationHomeFromDll` finds the home of a library (its realpath cut at the last
/// `/lib/`), confirmed by `lib/libjava.so` (`found_by`), `lib/modules` and the JVM that
/// `lib/jvm.cfg` names by default.
pub fn home_of(root: &Root, path: &str) -> Option<Located> {
    let real = root.resolve(path).ok().flatten()?.path;
    let home = truncate(&real, true)?;
    if !is_file(root, &under(home, LIBJAVA)) || !is_file(root, &under(home, "lib/modules")) {
        return None;
    }
    let cfg = root
        .read_carried(&under(home, "lib/jvm.cfg"), MAX_JVM_CFG)
        .ok()?;
    let vm = default_vm(&cfg)?;
    let jvm = under(home, &format!("lib/{vm}/libjvm.so"));
    is_file(root, &jvm).then(|| located(root, home, &jvm, under(home, LIBJAVA)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::path::Path;

    fn write(root: &Path, p: &str, bytes: &[u8]) {
        let p = root.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    /// A Debian-shaped JRE: /usr/bin/java -> /etc/alternatives/java -> HOME/bin/java.
    fn jre(cfg: &[u8]) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let home = "usr/lib/jvm/java-17-openjdk-amd64";
        write(d, &format!("{home}/bin/java"), b"\x7fELF");
        write(d, &format!("{home}/lib/libjli.so"), b"\x7fELF");
        write(d, &format!("{home}/lib/libjava.so"), b"\x7fELF");
        write(d, &format!("{home}/lib/server/libjvm.so"), b"\x7fELF");
        write(d, &format!("{home}/lib/modules"), b"jimage");
        write(d, "etc/java-17-openjdk/jvm-amd64.cfg", cfg);
        symlink(
            "/etc/java-17-openjdk/jvm-amd64.cfg",
            d.join(format!("{home}/lib/jvm.cfg")),
        )
        .unwrap();
        write(d, &format!("{home}/release"), b"JAVA_VERSION=\"17\"\n");
        std::fs::create_dir_all(d.join(format!("{home}/conf/security"))).unwrap();
        std::fs::create_dir_all(d.join("etc/alternatives")).unwrap();
        std::fs::create_dir_all(d.join("usr/bin")).unwrap();
        symlink(format!("/{home}/bin/java"), d.join("etc/alternatives/java")).unwrap();
        symlink("/etc/alternatives/java", d.join("usr/bin/java")).unwrap();
        t
    }

    const HOME: &str = "/usr/lib/jvm/java-17-openjdk-amd64";

    fn found(env: &[&str]) -> Found {
        Found {
            program: "/usr/bin/java".into(),
            real: format!("{HOME}/bin/java"),
            library: Some(format!("{HOME}/lib/libjli.so")),
            env: env.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn truncate_path_is_the_launchers() {
        assert_eq!(truncate("/opt/jdk/bin/java", false), Some("/opt/jdk"));
        assert_eq!(truncate("/opt/jdk/bin/x64/java", false), Some("/opt/jdk"));
        assert_eq!(
            truncate("/usr/lib/jvm/j/lib/server/libjvm.so", true),
            Some("/usr/lib/jvm/j")
        );
        assert_eq!(
            truncate("/usr/lib/jvm/j/lib/libjli.so", true),
            Some("/usr/lib/jvm/j")
        );
        assert_eq!(truncate("/java", false), None);
        assert_eq!(truncate("/lib/libjava.so", true), Some(""));
    }

    #[test]
    fn jvm_cfg_default_is_the_first_entry() {
        assert_eq!(
            default_vm("# comment\n\n-server KNOWN\n-client IGNORE\n"),
            Some("server")
        );
        assert_eq!(default_vm("-zero KNOWN\n-server KNOWN\n"), Some("zero"));
        assert_eq!(default_vm("# nothing\n"), None);
    }

    #[test]
    fn locates_the_home_through_the_alternatives_links() {
        let t = jre(b"-server KNOWN\n-client IGNORE\n");
        let root = Root::new(t.path()).unwrap();
        let l = locate(&root, &found(&[])).unwrap();
        assert_eq!(l.home, HOME);
        assert_eq!(l.found_by, format!("{HOME}/lib/libjava.so"));
        let paths: Vec<&str> = l.take.iter().map(|t| t.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                format!("{HOME}/lib"),
                format!("{HOME}/conf"),
                format!("{HOME}/release")
            ]
        );
        assert!(l.take[0].skip.contains(&"ct.sym".to_string()));
        assert_eq!(l.generated[0].path, format!("{HOME}/lib/security/cacerts"));
        assert_eq!(l.generated[0].package, "ca-certificates-java");
        // JAVA_HOME is not what the launcher reads; JDK_ALTERNATE_VM is.
        let l = locate(&root, &found(&["JAVA_HOME=/nowhere"])).unwrap();
        assert_eq!(l.home, HOME);
        let e = locate(&root, &found(&["JDK_ALTERNATE_VM=zero"])).unwrap_err();
        assert!(
            e.looked_for.contains(&format!("{HOME}/lib/zero/libjvm.so")),
            "{e:?}"
        );
    }

    #[test]
    fn a_vm_of_jvm_cfg_that_is_not_utf8_is_the_directory_of_those_bytes() {
        use std::os::unix::ffi::OsStrExt;
        // `-caf\xe9 KNOWN` (Latin-1): the launcher opens lib/caf\xe9/libjvm.so.
        let t = jre(b"-caf\xe9 KNOWN\n");
        let lib = t.path().join(&HOME[1..]).join("lib");
        std::fs::rename(
            lib.join("server"),
            lib.join(std::ffi::OsStr::from_bytes(b"caf\xe9")),
        )
        .unwrap();
        let root = Root::new(t.path()).unwrap();
        assert_eq!(locate(&root, &found(&[])).unwrap().home, HOME);
        let jvm = format!("{HOME}/lib/caf\u{10ffe9}/libjvm.so");
        assert_eq!(home_of(&root, &jvm).unwrap().home, HOME);
    }

    #[test]
    fn a_launcher_without_its_class_library_is_not_found() {
        let t = jre(b"-server KNOWN\n");
        std::fs::remove_file(t.path().join(&HOME[1..]).join("lib/libjava.so")).unwrap();
        let root = Root::new(t.path()).unwrap();
        let e = locate(&root, &found(&[])).unwrap_err();
        assert_eq!(
            e.looked_for,
            [
                format!("{HOME}/lib/libjava.so"),
                format!("{HOME}/jre/lib/libjava.so")
            ]
        );
        assert!(e.hint.contains("could not find libjava.so"), "{}", e.hint);

        let t = jre(b"-server KNOWN\n");
        std::fs::remove_file(t.path().join(&HOME[1..]).join("lib/modules")).unwrap();
        let root = Root::new(t.path()).unwrap();
        let e = locate(&root, &found(&[])).unwrap_err();
        assert_eq!(e.looked_for, [format!("{HOME}/lib/modules")]);
        assert!(e.hint.contains("--include"), "{}", e.hint);
    }

    #[test]
    fn an_embedding_program_finds_the_home_of_libjvm() {
        let t = jre(b"-server KNOWN\n");
        let root = Root::new(t.path()).unwrap();
        let f = Found {
            program: "/usr/bin/app".into(),
            real: "/usr/bin/app".into(),
            library: Some(format!("{HOME}/lib/server/libjvm.so")),
            env: vec![],
        };
        assert_eq!(locate(&root, &f).unwrap().home, HOME);
    }

    #[test]
    fn the_home_of_a_library() {
        let t = jre(b"-server KNOWN\n");
        let root = Root::new(t.path()).unwrap();
        let l = home_of(&root, &format!("{HOME}/lib/libjava.so")).unwrap();
        assert_eq!(l.home, HOME);
        assert_eq!(
            home_of(&root, &format!("{HOME}/lib/server/libjvm.so"))
                .unwrap()
                .home,
            HOME
        );
        assert!(home_of(&root, "/usr/bin/java").is_none());
    }
}
