//! Perl 5: the directories of `@INC`, found as the interpreter builds the list.
//!
//! perl.c's `S_init_perllib` pushes, in order: `PERL5LIB` (or, when it is unset, `PERLLIB`),
//! then the directories of its build `Config`: `sitearchexp`, `sitelibexp`,
//! `vendorarchexp`, `vendorlibexp`, `archlibexp`, `privlibexp`, then `otherlibdirs`, then
//! the older-version subdirectories (`inc_version_list`) of `sitelib_stem` and
//! `vendorlib_stem`. Every one of those is a string compiled into the interpreter (the
//! program itself when it links Perl in statically, as Debian's `/usr/bin/perl` does,
//! else `libperl.so`). Distributions patch in more: Debian's perl pushes `/etc/perl`
//! first (configuration, e.g. `Net/libnet.cfg`), `/usr/lib/<triplet>/perl-base` (the
//! modules of the Essential package `perl-base`, so that a root without `perl-modules`
//! still has `strict`, `POSIX`...) and `/usr/local/lib/site_perl`; those are compiled in
//! too, as plain strings.
//!
//! So the profile reads the interpreter's NUL-terminated path strings, finds among them
//! the directory whose `Config.pm` names an `archlibexp` that is itself compiled in (the
//! `Config` of this very build; a perl of another version names other paths), reads the
//! directories of `Config.pm` and `Config_heavy.pl` (where `vendorarchexp`,
//! `otherlibdirs` and `inc_version_list` live), and adds the compiled-in strings that name
//! a perl directory of the root beyond those (Debian's three). `...`-relative paths of a
//! relocatable build (`userelocatableinc`) are taken relative to the program's directory,
//! as Perl takes them relative to `$^X`. The subdirectories perl pushes below a directory
//! (`VERSION/ARCHNAME`, `ARCHNAME`, the older versions of `PERL5LIB`) lie inside it, and
//! every directory is taken whole: they need no step of their own.
//!
//! Each directory of the list that exists is taken, with every XS module below its
//! `auto/` (`POSIX.so`, `Digest/SHA/SHA.so`...) traced as a plugin of the program (an XS
//! module whose library is not in the root, `GDBM_File.so` without libgdbm, is left out
//! with a warning). Left out, because perl never reads them while a program runs:
//!
//! - `ARCHLIB/CORE`, the C headers (`perl.h`, `XSUB.h`...) that ExtUtils::MakeMaker hands
//!   to the C compiler when an XS module is built (8 MB on Debian);
//! - `*.pod` files: documentation, read by `perldoc` and the pod tools, never loaded by
//!   `use` or `require` (which look for `.pm`, `.pl` and, through DynaLoader, `.so` and
//!   `.bs`), except those under a `pod/` directory: `use diagnostics` and `splain` read
//!   `PRIVLIB/pod/perldiag.pod`.
//!
//! Files perl reads only when a program names them (a `.pl` it `do`es) are in the
//! directories anyway. `.` is not in `@INC` since 5.26 (PERL_USE_UNSAFE_INC=1 puts it back;
//! the current directory of a container is not the root's to know), nor are relative
//! entries of `PERL5LIB`.
//!
//! Nothing here is made by a maintainer script: a root unpacked without running scripts
//! (mmdebstrap `--variant=extract`) has all of it.

use std::collections::{BTreeMap, HashSet};

use super::{Found, Located, NotFound, Take, is_dir, is_file, parent};
use crate::sysroot::Root;

/// Reading a configuration file stops here (Debian's Config_heavy.pl is 55 KB).
const CONFIG_LIMIT: u64 = 4 << 20;

/// A compiled-in string longer than this is not a path of `@INC`.
const MAX_PATH: usize = 4096;

/// Finds the directories of `@INC` in the root (see the module doc).
pub fn locate(root: &Root, found: &Found) -> Result<Located, NotFound> {
    let interpreter = found.library.as_deref().unwrap_or(&found.real);
    let exe_dir = parent(&found.real);
    // Mapped, not copied (libnode.so.108 is 47 MB); unreadable reads as empty.
    let file = root.read_canonical(interpreter).ok();
    let bytes: &[u8] = file.as_deref().unwrap_or_default();
    let compiled: Vec<String> = compiled_paths(bytes)
        .into_iter()
        .map(|p| relocate(&p, exe_dir))
        .collect();

    let Some((config_pm, config)) = find_config(root, &compiled, exe_dir) else {
        let looked_for: Vec<String> = compiled
            .iter()
            .filter(|p| names_perl(p))
            .map(|p| crate::sysroot::join(p, "Config.pm"))
            .collect();
        return Err(NotFound {
            looked_for: if looked_for.is_empty() {
                vec![format!(
                    "Config.pm (no @INC directory is compiled into {interpreter})"
                )]
            } else {
                looked_for
            },
            hint: hint(version_in(&compiled).as_deref()),
        });
    };

    let dirs = inc_dirs(&config, &compiled, found, exe_dir);
    let existing: Vec<&String> = dirs.iter().filter(|d| is_dir(root, d)).collect();
    if !existing
        .iter()
        .any(|d| is_file(root, &crate::sysroot::join(d, "strict.pm")))
    {
        return Err(NotFound {
            looked_for: dirs
                .iter()
                .map(|d| crate::sysroot::join(d, "strict.pm"))
                .collect(),
            hint: hint(config.get("version").map(|v| short_version(v))),
        });
    }

    let archlib = config.get("archlibexp").map(|a| canonical(root, a));
    let mut take = Vec::new();
    // By canonical path: a directory reached by two names (5.36 and 5.36.0), or lying
    // inside another of the list, is taken once.
    let mut canon: Vec<(String, &String)> = Vec::new();
    for d in existing {
        let c = canonical(root, d);
        if !canon.iter().any(|(o, _)| *o == c) {
            canon.push((c, d));
        }
    }
    let all: Vec<String> = canon.iter().map(|(c, _)| c.clone()).collect();
    for (c, d) in &canon {
        if all.iter().any(|o| o != c && is_below(c, o)) {
            continue;
        }
        let walked = walk(root, c);
        let skip = skips(&walked, archlib.as_deref() == Some(c.as_str()));
        take.push(Take {
            path: c.clone(),
            skip: skip.clone(),
        });
        // Perl opens modules by their @INC name (`.../perl/5.36/POSIX.pm`); when that name
        // goes through a symlink (Debian's `5.36 -> 5.36.0`), the tree is taken by its
        // canonical path (where the skips apply) and one of its files by the @INC name,
        // which brings the link into the layer.
        if c != *d {
            let kept =
                |(rel, file): &&(String, bool)| *file && !skip.iter().any(|s| is_skipped(rel, s));
            // A file of the directory itself (Config.pm, strict.pm), else the first below.
            let landmark = walked
                .iter()
                .filter(kept)
                .find(|(rel, _)| !rel.contains('/'))
                .or_else(|| walked.iter().find(kept));
            if let Some((rel, _)) = landmark {
                take.push(Take::all(crate::sysroot::join(d, rel)));
            }
        }
    }

    Ok(Located {
        home: config
            .get("prefixexp")
            .or_else(|| config.get("prefix"))
            .map(|p| relocate(p, exe_dir))
            .unwrap_or_else(|| parent(exe_dir).to_string()),
        found_by: config_pm,
        take,
        generated: Vec::new(),
    })
}

/// The build configuration: `Config.pm`'s tied hash, completed by `Config_heavy.pl`.
type Config = BTreeMap<String, String>;

/// The `Config.pm` of this interpreter and its values: the first compiled-in directory
/// whose `Config.pm` names an `archlibexp` that is itself compiled in, preferring the one
/// that is that `archlibexp` (Debian's perl-base directory has a copy).
fn find_config(root: &Root, compiled: &[String], exe_dir: &str) -> Option<(String, Config)> {
    let known: HashSet<&str> = compiled.iter().map(String::as_str).collect();
    let mut fallback = None;
    for dir in compiled {
        let pm = crate::sysroot::join(dir, "Config.pm");
        if !is_file(root, &pm) {
            continue;
        }
        let Ok(text) = root.read_carried(&pm, CONFIG_LIMIT) else {
            continue;
        };
        let mut config = parse_config_pm(&text);
        let Some(arch) = config.get("archlibexp").map(|a| relocate(a, exe_dir)) else {
            continue;
        };
        if !known.contains(arch.as_str()) {
            continue;
        }
        // Config.pm loads Config_heavy.pl through @INC for every other key: the archlib's,
        // else the copy beside this Config.pm.
        let heavy = [arch.as_str(), dir.as_str()]
            .iter()
            .map(|d| crate::sysroot::join(d, "Config_heavy.pl"))
            .find_map(|h| root.read_carried(&h, CONFIG_LIMIT).ok());
        if let Some(h) = heavy {
            for (k, v) in parse_config_heavy(&h) {
                config.entry(k).or_insert(v);
            }
        }
        if *dir == arch {
            return Some((pm, config));
        }
        fallback.get_or_insert((pm, config));
    }
    fallback
}

/// `@INC` in perl.c's order, before checking which directories exist.
fn inc_dirs(config: &Config, compiled: &[String], found: &Found, exe_dir: &str) -> Vec<String> {
    let mut dirs: Vec<String> = Vec::new();
    let mut push = |d: &str| {
        let d = clean(d);
        if d.starts_with('/') && !dirs.contains(&d) {
            dirs.push(d);
        }
    };
    let get = |k: &str| {
        config
            .get(k)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(|v| relocate(v, exe_dir))
    };
    // PERL5LIB, or PERLLIB when PERL5LIB is unset or empty (colon-separated; relative
    // entries are relative to a working directory the layer does not know).
    let lib = found
        .env("PERL5LIB")
        .filter(|v| !v.is_empty())
        .or_else(|| found.env("PERLLIB"));
    for d in lib.unwrap_or("").split(':').filter(|d| d.starts_with('/')) {
        push(d);
    }
    // The directories of the build, in perl.c's order.
    for k in [
        "sitearchexp",
        "sitelibexp",
        "vendorarchexp",
        "vendorlibexp",
        "archlibexp",
        "privlibexp",
    ] {
        if let Some(d) = get(k) {
            push(&d);
        }
    }
    // otherlibdirs (colon-separated; Debian's is " ").
    if let Some(o) = get("otherlibdirs") {
        for d in o.split(':') {
            push(&relocate(d.trim(), exe_dir));
        }
    }
    // The older versions below the site and vendor stems, when the build has a list.
    if config.get("d_inc_version_list").map(String::as_str) == Some("define") {
        let versions = get("inc_version_list").unwrap_or_default();
        for stem in ["sitelib_stem", "vendorlib_stem"]
            .iter()
            .filter_map(|k| get(k))
        {
            for v in versions.split_whitespace() {
                push(&crate::sysroot::join(&stem, v));
            }
        }
    }
    // What the distribution compiled in besides (Debian's /etc/perl,
    // /usr/lib/<triplet>/perl-base, /usr/local/lib/site_perl).
    for d in compiled.iter().filter(|d| names_perl(d)) {
        push(d);
    }
    dirs
}

/// Whether a compiled-in path names a perl directory (`/etc/perl`, `.../perl-base`,
/// `.../site_perl`, `.../perl5`): the strings of `@INC` do, the other paths compiled into
/// perl (`/dev/null`, `/proc/self/exe`, `/bin/sh`) do not. Only directories of the root
/// are taken: a debug-link path (`/usr/lib/debug/.dwz/<triplet>/perl-base.debug`) is a
/// file when it exists at all.
fn names_perl(path: &str) -> bool {
    let pseudo = ["/dev", "/proc", "/sys"].iter().any(|p| is_below(path, p));
    !pseudo && path.split('/').any(|c| c.contains("perl"))
}

/// The paths compiled into an interpreter: NUL-terminated runs of printable ASCII that
/// start with `/` (or `.../`, a relocatable build's), in the order of the file, unique.
///
/// A run is found from its first `/` (memchr), not by splitting the whole file at every
/// NUL: a 4 MB perl holds some 30k slashes and a million NULs.
fn compiled_paths(bytes: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen: HashSet<&[u8]> = HashSet::new();
    let mut from = 0;
    while let Some(k) = memchr::memchr(b'/', &bytes[from..]) {
        let i = from + k;
        from = i + 1;
        // Where the run holding this slash starts, when the slash begins it (`/...`) or
        // ends its `...` (`.../...`); any other slash lies inside a run or is no path.
        let start = if i == 0 || bytes[i - 1] == 0 {
            i
        } else if i >= 3 && &bytes[i - 3..i] == b"..." && (i == 3 || bytes[i - 4] == 0) {
            i - 3
        } else {
            continue;
        };
        let end = memchr::memchr(0, &bytes[i..]).map_or(bytes.len(), |n| i + n);
        // The run's other slashes start nothing.
        from = end;
        let run = &bytes[start..end];
        if run.len() < 2
            || run.len() > MAX_PATH
            || !run.iter().all(|&b| (0x20..0x7f).contains(&b))
            || memchr::memmem::find(run, b"//").is_some()
        {
            continue;
        }
        if seen.insert(run) {
            // Printable ASCII: always UTF-8.
            out.push(String::from_utf8_lossy(run).into_owned());
        }
    }
    out
}

/// A path of a relocatable build (`.../lib/perl5`) made absolute against the program's
/// directory, then cleaned lexically (`/opt/perl/bin/../lib` is `/opt/perl/lib`), as
/// perl.c's `mayberelocate` does.
fn relocate(path: &str, exe_dir: &str) -> String {
    match path.strip_prefix(".../") {
        Some(rest) => clean(&crate::sysroot::join(exe_dir, rest)),
        None => path.to_string(),
    }
}

/// Removes empty, `.` and `..` components lexically (`..` at the top stays at `/`).
fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    if path.starts_with('/') {
        format!("/{}", parts.join("/"))
    } else {
        parts.join("/")
    }
}

/// The canonical path of a directory of the root (itself when it does not resolve).
fn canonical(root: &Root, path: &str) -> String {
    root.resolve(path)
        .ok()
        .flatten()
        .map_or_else(|| path.to_string(), |r| r.path)
}

/// Whether canonical `path` is `dir` or below it.
fn is_below(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Whether `rel` is the skipped path `skip` or below it.
fn is_skipped(rel: &str, skip: &str) -> bool {
    is_below(rel, skip)
}

/// The entries below canonical directory `dir`: (path relative to it, is a regular file),
/// sorted by name, symlinks not followed.
fn walk(root: &Root, dir: &str) -> Vec<(String, bool)> {
    let host = root.host_path(dir);
    walkdir::WalkDir::new(&host)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let rel = e.path().strip_prefix(&host).ok()?.to_str()?.to_string();
            Some((rel, e.file_type().is_file()))
        })
        .collect()
}

/// What to leave out of one directory of `@INC` (see the module doc): its `CORE` when it
/// is the archlib, and every `*.pod` outside a `pod/` directory.
fn skips(walked: &[(String, bool)], is_archlib: bool) -> Vec<String> {
    let mut skip = Vec::new();
    if is_archlib && walked.iter().any(|(rel, file)| rel == "CORE" && !file) {
        skip.push("CORE".to_string());
    }
    for (rel, file) in walked {
        if *file
            && rel.ends_with(".pod")
            && !rel.split('/').any(|c| c == "pod")
            && !skip.iter().any(|s| is_skipped(rel, s))
        {
            skip.push(rel.clone());
        }
    }
    skip
}

/// The values of `Config.pm`'s tied hash (`    archlibexp => '/usr/lib/...',`); `undef`
/// values are left out.
fn parse_config_pm(text: &str) -> Config {
    let mut out = Config::new();
    for line in text.lines() {
        let Some((k, v)) = line.trim().split_once(" => ") else {
            continue;
        };
        if !is_key(k) {
            continue;
        }
        if let Some(v) = quoted(v.trim_end_matches(',')) {
            out.entry(k.to_string()).or_insert(v);
        }
    }
    out
}

/// The `key='value'` lines of `Config_heavy.pl`'s `config.sh` copy.
fn parse_config_heavy(text: &str) -> Config {
    let mut out = Config::new();
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if !is_key(k) {
            continue;
        }
        if let Some(v) = quoted(v) {
            out.entry(k.to_string()).or_insert(v);
        }
    }
    out
}

fn is_key(k: &str) -> bool {
    !k.is_empty()
        && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !k.as_bytes()[0].is_ascii_digit()
}

/// The inside of a single-quoted value without quotes inside.
fn quoted(v: &str) -> Option<String> {
    let inner = v.strip_prefix('\'')?.strip_suffix('\'')?;
    (!inner.contains('\'')).then(|| inner.to_string())
}

/// `5.36` of `5.36.0`.
fn short_version(v: &str) -> &str {
    match v.match_indices('.').nth(1) {
        Some((i, _)) => &v[..i],
        None => v,
    }
}

/// The perl version a compiled-in path names (`5.36` of `/usr/share/perl/5.36`).
fn version_in(compiled: &[String]) -> Option<String> {
    compiled.iter().filter(|p| names_perl(p)).find_map(|p| {
        p.split('/')
            .find(|c| {
                c.starts_with("5.")
                    && c.len() > 2
                    && c[2..].bytes().all(|b| b.is_ascii_digit() || b == b'.')
            })
            .map(|c| short_version(c).to_string())
    })
}

/// What to install (Debian's package names, with the version the interpreter names).
fn hint(version: Option<&str>) -> String {
    let v = version.unwrap_or("5.XX");
    format!(
        "install perl's modules in the root (Debian: perl-base, or perl-modules-{v} and libperl{v}), or --include the directories of its @INC"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_with(files: &[(&str, &[u8])], links: &[(&str, &str)]) -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        for (p, bytes) in files {
            let h = t.path().join(&p[1..]);
            std::fs::create_dir_all(h.parent().unwrap()).unwrap();
            std::fs::write(h, bytes).unwrap();
        }
        for (p, target) in links {
            let h = t.path().join(&p[1..]);
            std::fs::create_dir_all(h.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(target, h).unwrap();
        }
        let r = Root::new(t.path()).unwrap();
        (t, r)
    }

    fn found(env: &[&str]) -> Found {
        Found {
            program: "/usr/bin/perl".into(),
            real: "/usr/bin/perl".into(),
            library: None,
            env: env.iter().map(|e| e.to_string()).collect(),
        }
    }

    /// A static perl the way Debian builds it: the @INC strings among others.
    fn interpreter() -> Vec<u8> {
        let mut b = b"\x7fELF junk\0/bin/sh\0/dev/null\0/etc/perl\0".to_vec();
        for s in [
            "/usr/local/lib/x86_64-linux-gnu/perl/5.36.0",
            "/usr/share/perl5",
            "/usr/lib/x86_64-linux-gnu/perl-base",
            "/usr/lib/x86_64-linux-gnu/perl/5.36",
            "/usr/share/perl/5.36",
            "/usr/local/lib/site_perl",
            "/usr/lib/debug/.dwz/x86_64-linux-gnu/perl-base.debug",
        ] {
            b.extend_from_slice(s.as_bytes());
            b.push(0);
        }
        b
    }

    const CONFIG_PM: &[u8] = b"tie %Config, 'Config', {\n    archlibexp => '/usr/lib/x86_64-linux-gnu/perl/5.36',\n    privlibexp => '/usr/share/perl/5.36',\n    sitearchexp => '/usr/local/lib/x86_64-linux-gnu/perl/5.36.0',\n    dont_use_nlink => undef,\n    version => '5.36.0',\n};\n";
    const HEAVY: &[u8] = b"local *_ = \\my $a;\n$_ = <<'!END!';\narchlibexp='/wrong'\nprefix='/usr'\nvendorlibexp='/usr/share/perl5'\nvendorarchexp='/usr/lib/x86_64-linux-gnu/perl5/5.36'\notherlibdirs=' '\nd_inc_version_list='undef'\n!END!\n";

    #[test]
    fn config_lines_parse() {
        let c = parse_config_pm(std::str::from_utf8(CONFIG_PM).unwrap());
        assert_eq!(c["archlibexp"], "/usr/lib/x86_64-linux-gnu/perl/5.36");
        assert_eq!(c["version"], "5.36.0");
        assert!(!c.contains_key("dont_use_nlink"));
        let h = parse_config_heavy(std::str::from_utf8(HEAVY).unwrap());
        assert_eq!(h["otherlibdirs"], " ");
        assert_eq!(h["vendorlibexp"], "/usr/share/perl5");
    }

    #[test]
    fn compiled_paths_are_nul_terminated_absolute_strings() {
        let p = compiled_paths(b"x\0/a/b\0/a/b\0.../lib\0/with\ttab\0a//b\0/ok//no\0/\0");
        assert_eq!(p, vec!["/a/b", ".../lib"]);
    }

    /// The definition, as it was written first: every NUL-separated run of the file.
    fn compiled_paths_by_split(bytes: &[u8]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut seen: HashSet<&[u8]> = HashSet::new();
        for run in bytes.split(|&b| b == 0) {
            if run.len() < 2
                || run.len() > MAX_PATH
                || !(run.starts_with(b"/") || run.starts_with(b".../"))
                || !run.iter().all(|&b| (0x20..0x7f).contains(&b))
                || run.windows(2).any(|w| w == b"//")
            {
                continue;
            }
            if seen.insert(run) {
                out.push(String::from_utf8_lossy(run).into_owned());
            }
        }
        out
    }

    #[test]
    fn compiled_paths_found_from_slashes_are_those_of_every_run() {
        let cases: [&[u8]; 10] = [
            b"/a",
            b"/",
            b"/a\0",
            b".../x",
            b"x.../y\0/z",
            b"\0.../\0",
            b"..../a\0/b//\0/c",
            b"a/b\0/c/d/e\0\0/f",
            b"/a\x01b\0/ok",
            b"\0\0...\0/tail",
        ];
        for c in cases {
            assert_eq!(compiled_paths(c), compiled_paths_by_split(c), "{c:?}");
        }
        // Bytes biased towards NUL, '/', '.' and letters, as a binary's are.
        let mut x: u32 = 12345;
        let alphabet = b"\0\0\0//...abc\x01\xff";
        for _ in 0..200 {
            let bytes: Vec<u8> = (0..600)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    alphabet[(x >> 16) as usize % alphabet.len()]
                })
                .collect();
            assert_eq!(compiled_paths(&bytes), compiled_paths_by_split(&bytes));
        }
        let perl = interpreter();
        assert_eq!(compiled_paths(&perl), compiled_paths_by_split(&perl));
        // Debian's perl and libperl, when the test sysroots are there.
        let sysroots = std::env::var_os("MINROOT_SYSROOTS").unwrap_or_default();
        for f in [
            "amd64/usr/bin/perl",
            "amd64/usr/lib/x86_64-linux-gnu/libperl.so.5.36.0",
            "arm64/usr/bin/perl",
        ] {
            if let Ok(bytes) = std::fs::read(std::path::Path::new(&sysroots).join(f)) {
                let p = compiled_paths(&bytes);
                assert!(p.iter().any(|p| p.contains("perl")), "{f}: {p:?}");
                assert_eq!(p, compiled_paths_by_split(&bytes), "{f}");
            }
        }
    }

    #[test]
    fn relocatable_paths_follow_the_program() {
        assert_eq!(
            relocate(".../../lib/perl5", "/opt/perl/bin"),
            "/opt/perl/lib/perl5"
        );
        assert_eq!(
            relocate("/usr/share/perl5", "/opt/perl/bin"),
            "/usr/share/perl5"
        );
        assert_eq!(clean("/a/./b/../c/"), "/a/c");
        assert_eq!(clean("/../x"), "/x");
    }

    #[test]
    fn inc_of_a_debian_static_perl() {
        let (_t, root) = root_with(
            &[
                ("/usr/bin/perl", &interpreter()),
                ("/usr/lib/x86_64-linux-gnu/perl-base/Config.pm", CONFIG_PM),
                ("/usr/lib/x86_64-linux-gnu/perl-base/strict.pm", b"1;"),
                (
                    "/usr/lib/x86_64-linux-gnu/perl-base/auto/POSIX/POSIX.so",
                    b"\x7fELF",
                ),
                ("/usr/lib/x86_64-linux-gnu/perl/5.36.0/Config.pm", CONFIG_PM),
                (
                    "/usr/lib/x86_64-linux-gnu/perl/5.36.0/Config_heavy.pl",
                    HEAVY,
                ),
                (
                    "/usr/lib/x86_64-linux-gnu/perl/5.36.0/Config.pod",
                    b"=head1",
                ),
                ("/usr/lib/x86_64-linux-gnu/perl/5.36.0/CORE/perl.h", b""),
                ("/usr/share/perl/5.36.0/strict.pm", b"1;"),
                ("/usr/share/perl/5.36.0/pod/perldiag.pod", b"=head1"),
                ("/usr/share/perl/5.36.0/Pod/Simple.pod", b"=head1"),
                ("/usr/share/perl5/Debian/X.pm", b"1;"),
                ("/etc/perl/Net/libnet.cfg", b""),
            ],
            &[
                ("/usr/lib/x86_64-linux-gnu/perl/5.36", "5.36.0"),
                ("/usr/share/perl/5.36", "5.36.0"),
            ],
        );
        let l = locate(&root, &found(&[])).unwrap();
        assert_eq!(l.home, "/usr");
        assert_eq!(
            l.found_by, "/usr/lib/x86_64-linux-gnu/perl/5.36/Config.pm",
            "archlib's own Config.pm, not perl-base's copy"
        );
        let paths: Vec<&str> = l.take.iter().map(|t| t.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                // vendorlib (sitearch, sitelib and vendorarch are not in the root).
                "/usr/share/perl5",
                "/usr/lib/x86_64-linux-gnu/perl/5.36.0",
                "/usr/lib/x86_64-linux-gnu/perl/5.36/Config.pm",
                "/usr/share/perl/5.36.0",
                "/usr/share/perl/5.36/strict.pm",
                // Debian's additions, compiled in.
                "/etc/perl",
                "/usr/lib/x86_64-linux-gnu/perl-base",
            ]
        );
        let archlib = &l.take[1];
        assert_eq!(archlib.skip, vec!["CORE", "Config.pod"]);
        let privlib = &l.take[3];
        assert_eq!(
            privlib.skip,
            vec!["Pod/Simple.pod"],
            "perldiag.pod is read by diagnostics"
        );
        assert!(l.generated.is_empty());
    }

    #[test]
    fn perl5lib_comes_first_and_perllib_only_without_it() {
        let config: Config = [("archlibexp", "/a"), ("privlibexp", "/p")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let d = inc_dirs(
            &config,
            &[],
            &found(&["PERL5LIB=/app/lib:rel:/x", "PERLLIB=/no"]),
            "/usr/bin",
        );
        assert_eq!(d, vec!["/app/lib", "/x", "/a", "/p"]);
        let d = inc_dirs(&config, &[], &found(&["PERLLIB=/yes"]), "/usr/bin");
        assert_eq!(d, vec!["/yes", "/a", "/p"]);
    }

    #[test]
    fn old_versions_below_the_stems_when_the_build_lists_them() {
        let config: Config = [
            ("archlibexp", "/a"),
            ("d_inc_version_list", "define"),
            ("inc_version_list", "5.34.0 5.32.1"),
            ("sitelib_stem", "/usr/local/share/perl"),
            ("otherlibdirs", "/o1:/o2"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let d = inc_dirs(&config, &[], &found(&[]), "/usr/bin");
        assert_eq!(
            d,
            vec![
                "/a",
                "/o1",
                "/o2",
                "/usr/local/share/perl/5.34.0",
                "/usr/local/share/perl/5.32.1"
            ]
        );
    }

    #[test]
    fn no_config_is_not_found_with_the_version_in_the_hint() {
        let (_t, root) = root_with(&[("/usr/bin/perl", &interpreter())], &[]);
        let e = locate(&root, &found(&[])).unwrap_err();
        assert!(
            e.looked_for
                .contains(&"/usr/share/perl/5.36/Config.pm".to_string()),
            "{e:?}"
        );
        assert!(!e.looked_for.iter().any(|p| p.starts_with("/dev")), "{e:?}");
        assert!(
            e.hint.contains("perl-modules-5.36") && e.hint.contains("libperl5.36"),
            "{}",
            e.hint
        );
    }

    #[test]
    fn a_config_of_another_build_is_not_ours() {
        let other = CONFIG_PM.to_vec();
        let other = String::from_utf8(other)
            .unwrap()
            .replace("perl/5.36'", "perl/5.40'");
        let (_t, root) = root_with(
            &[
                ("/usr/bin/perl", &interpreter()),
                (
                    "/usr/lib/x86_64-linux-gnu/perl-base/Config.pm",
                    other.as_bytes(),
                ),
            ],
            &[],
        );
        assert!(locate(&root, &found(&[])).is_err());
    }

    #[test]
    fn without_strict_pm_the_modules_are_not_found() {
        let (_t, root) = root_with(
            &[
                ("/usr/bin/perl", &interpreter()),
                ("/usr/lib/x86_64-linux-gnu/perl/5.36/Config.pm", CONFIG_PM),
            ],
            &[],
        );
        let e = locate(&root, &found(&[])).unwrap_err();
        assert!(
            e.looked_for
                .contains(&"/usr/share/perl/5.36/strict.pm".to_string()),
            "{e:?}"
        );
    }

    #[test]
    fn versions() {
        assert_eq!(short_version("5.36.0"), "5.36");
        assert_eq!(short_version("5.36"), "5.36");
        assert_eq!(
            version_in(&["/bin/sh".into(), "/usr/share/perl/5.40.1".into()]).as_deref(),
            Some("5.40")
        );
    }
}
