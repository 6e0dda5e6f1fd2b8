//! Ground truth is the real loader: minroot's `trace --format list` is compared with what
//! the glibc 2.36 loader of the same root prints with LD_TRACE_LOADED_OBJECTS=1, for every
//! dynamic program of the host's /usr/bin and /usr/sbin, of the sysroots made by
//! scripts/make-sysroot.sh (arm64 under qemu-user, amd64 with bwrap), and of the fixture
//! roots made by scripts/make-fixtures.sh (testdata/README.md). minroot is run ONCE per
//! root with every program, as a user tracing a whole /usr/bin does.
//!
//! The loaded objects (name, canonical path) must be identical and in the same order:
//! README promises load order, and ldd's order is the order of the loader's list. Each
//! missing name counts once, at its first request (the loader prints `not found` once per
//! request; minroot's list once per name). Programs the loader refuses (nonzero exit,
//! time-out) are skipped, listed in the report, and bounded: at most one in ten on the host
//! and in the sysroots (more means the harness or the root is broken), none in the fixture
//! roots. The last test checks minroot's ld.so.cache reader against `ldconfig -p -C CACHE`.
//!
//! This file owns the comparison; the helpers that run a root's loader live in
//! tests/common. It does not test a single rule: tests/rules.rs does.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::Line;
use minroot::arch::Arch;
use minroot::ldso::cache::LdCache;
use minroot::ldso::hwcaps::{CpuLevel, CpuProfile};
use minroot::sysroot::{Kind, Root};

/// A program that takes longer than this under LD_TRACE_LOADED_OBJECTS is not tracing.
const LOADER_TIME_LIMIT: Duration = Duration::from_secs(60);

/// The dynamic ELF executables of `arch` (with a PT_INTERP naming the root's glibc loader)
/// in `dirs` of `root`, in directory order then name order; with `dedupe`, one per
/// canonical path (the first name met wins), else every name (symlinks included). Also
/// returns how many were left out because their interpreter is not the glibc loader (its
/// LD_TRACE_LOADED_OBJECTS would not be the oracle).
fn dynamic_programs(root: &Path, dirs: &[&str], arch: Arch, dedupe: bool) -> (Vec<String>, usize) {
    let r = Root::new(root).expect("root");
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut other_interp = 0;
    for dir in dirs {
        let Ok(mut names) = r.list_dir(dir) else {
            continue;
        };
        names.sort();
        for name in names {
            let path = minroot::sysroot::join(dir, &name);
            let Ok(Some(res)) = r.resolve(&path) else {
                continue;
            };
            if res.kind != Kind::File || (dedupe && !seen.insert(res.path.clone())) {
                continue;
            }
            let Ok(head) = r.head_canonical(&res.path, 64) else {
                continue;
            };
            if !minroot::elf::is_elf(&head) {
                continue;
            }
            let Ok(bytes) = r.read_canonical(&res.path) else {
                continue;
            };
            let Ok(info) = minroot::elf::inspect(&bytes, minroot::elf::Options::default()) else {
                continue;
            };
            if info.machine != arch.elf_machine() || !info.class64 {
                continue;
            }
            let Some(interp) = &info.interp else {
                continue;
            };
            let interp_real = r.resolve(interp).ok().flatten().map(|x| x.path);
            let loader_real = r.resolve(arch.loader_path()).ok().flatten().map(|x| x.path);
            if interp_real.is_none() || interp_real != loader_real {
                other_interp += 1;
                continue;
            }
            out.push(path);
        }
    }
    (out, other_interp)
}

/// Runs `cmd` with stdin closed, killing it after `limit`.
fn output_within(mut cmd: Command, limit: Duration) -> Result<Output, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Ok(Output {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    })
}

/// What the host's loader lists for host program `prog`: the program run directly, with
/// LD_TRACE_LOADED_OBJECTS=1 as its only environment variable.
fn host_loader_list(prog: &str) -> Result<Vec<Line>, String> {
    let mut cmd = Command::new(prog);
    cmd.env_clear()
        .env("LD_TRACE_LOADED_OBJECTS", "1")
        .current_dir("/");
    let out = output_within(cmd, LOADER_TIME_LIMIT)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.code() == Some(5) && stdout.is_empty() {
        // rtld.c process_envvars: `if (__libc_enable_secure && mode != normal) _exit (5)`.
        return Err("the loader refuses to trace a set-user/group-ID program (exit 5)".into());
    }
    if !out.status.success() {
        return Err(format!(
            "loader exited with {:?}: {}{}",
            out.status.code(),
            stdout,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(common::parse_trace_output(&stdout, Arch::X86_64))
}

/// `common::real_loader_list`, retried while exec fails with ETXTBSY: run_in_root copies
/// qemu-user into the root just before running it, and a process forked meanwhile by
/// another thread holds the copy's write descriptor until it execs.
fn root_loader_list(root: &Path, arch: Arch, prog: &str) -> Result<Vec<Line>, String> {
    let mut tries = 0;
    loop {
        match common::real_loader_list(root, arch, prog, &[]) {
            Err(e) if e.contains("Text file busy") && tries < 20 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            r => return r,
        }
    }
}

/// Maps `f` over `items` on two threads (the machine has two cores), keeping the order.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let half = items.len().div_ceil(2).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(half)
            .map(|chunk| s.spawn(|| chunk.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    })
}

/// Splits the list output of one minroot run over `programs` (with `BIN:` headers when
/// there are several) into each program's lines.
fn split_list_output(out: &str, programs: &[String]) -> HashMap<String, Vec<Line>> {
    let mut sections: HashMap<String, String> = HashMap::new();
    if programs.len() == 1 {
        sections.insert(programs[0].clone(), out.to_string());
    } else {
        let mut next = 0;
        let mut current: Option<&String> = None;
        for line in out.lines() {
            if next < programs.len() && line == format!("{}:", programs[next]) {
                current = Some(&programs[next]);
                next += 1;
                sections.entry(programs[next - 1].clone()).or_default();
                continue;
            }
            if let Some(p) = current {
                let s = sections.entry(p.clone()).or_default();
                s.push_str(line);
                s.push('\n');
            }
        }
        assert_eq!(
            next,
            programs.len(),
            "minroot printed {next} of {} `BIN:` headers",
            programs.len()
        );
    }
    sections
        .into_iter()
        .map(|(p, s)| (p, common::parse_list(&s)))
        .collect()
}

/// The result of comparing one root.
#[derive(Default)]
struct Comparison {
    label: String,
    /// Programs whose loader output was compared.
    compared: usize,
    /// Of those, how many list the same objects in the same order.
    same_order: usize,
    /// Programs the loader refused, with why.
    skipped: Vec<String>,
    /// Programs whose sets differ, with the difference.
    set_diffs: Vec<String>,
    /// Programs with the same set in another order.
    order_diffs: Vec<String>,
}

/// How many of the programs of a root the loader may refuse: `1 / REFUSED_AT_MOST`.
const REFUSED_AT_MOST: usize = 10;

impl Comparison {
    fn report(&self) {
        println!(
            "oracle {}: {} programs compared, {} identical in order, {} order differences, {} set differences, {} skipped",
            self.label,
            self.compared,
            self.same_order,
            self.order_diffs.len(),
            self.set_diffs.len(),
            self.skipped.len()
        );
        for s in &self.skipped {
            println!("  skipped: {s}");
        }
        for o in &self.order_diffs {
            println!("  order differs: {o}");
        }
    }

    /// What is wrong with this comparison, if anything: nothing compared, a set or an
    /// order that differs, or more programs skipped than `max_skipped` allows (a
    /// fraction `1 / max_skipped` of them; 0: none at all).
    fn verdict(&self, max_skipped: usize) -> Result<(), String> {
        let label = &self.label;
        if self.compared == 0 {
            return Err(format!(
                "{label}: no program was compared (skipped: {:?})",
                self.skipped
            ));
        }
        if !self.set_diffs.is_empty() {
            return Err(format!(
                "{label}: {} of {} programs load a different set than the real loader:\n{}",
                self.set_diffs.len(),
                self.compared,
                self.set_diffs.join("\n")
            ));
        }
        if !self.order_diffs.is_empty() {
            return Err(format!(
                "{label}: {} of {} programs load the same objects in another order than the real loader:\n  {}",
                self.order_diffs.len(),
                self.compared,
                self.order_diffs.join("\n  ")
            ));
        }
        let total = self.compared + self.skipped.len();
        let too_many = match max_skipped {
            0 => !self.skipped.is_empty(),
            n => self.skipped.len() * n > total,
        };
        if too_many {
            return Err(format!(
                "{label}: the loader refused {} of {total} programs (at most {}):\n  {}",
                self.skipped.len(),
                if max_skipped == 0 {
                    "none".to_string()
                } else {
                    format!("1 in {max_skipped}")
                },
                self.skipped.join("\n  ")
            ));
        }
        Ok(())
    }

    /// Prints the report, then fails on what [`Comparison::verdict`] finds.
    fn assert_ok(&self, max_skipped: usize) {
        self.report();
        if let Err(e) = self.verdict(max_skipped) {
            panic!("{e}");
        }
    }
}

/// The loader's list with each missing name kept only at its first request, as
/// minroot lists it.
fn first_misses(lines: Vec<Line>) -> Vec<Line> {
    let mut seen = BTreeSet::new();
    lines
        .into_iter()
        .filter(|(n, p)| p != "not found" || seen.insert(n.clone()))
        .collect()
}

fn fmt_lines(lines: &[Line]) -> String {
    lines
        .iter()
        .map(|(n, p)| format!("{n} => {p}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `minroot trace --format list` of `programs` in ONE run (`--root root_arg` unless it
/// is None), by program; `env` is set for minroot.
fn minroot_lists(
    label: &str,
    root_arg: Option<&Path>,
    programs: &[String],
    env: &[(&str, &str)],
) -> HashMap<String, Vec<Line>> {
    let mut args: Vec<String> = vec!["trace".into()];
    if let Some(r) = root_arg {
        args.push("--root".into());
        args.push(r.to_string_lossy().into_owned());
    }
    args.extend(["--format".into(), "list".into()]);
    args.extend(programs.iter().cloned());
    let out = common::minroot()
        .args(&args)
        .envs(env.iter().copied())
        .output()
        .expect("run minroot");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "{label}: minroot trace exited with {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    split_list_output(&String::from_utf8_lossy(&out.stdout), programs)
}

/// Traces every program of `programs` with ONE minroot run (`--root root` unless
/// `root_arg` is None) and compares each with `real(program)`.
fn compare(
    label: &str,
    root: &Path,
    root_arg: Option<&Path>,
    programs: &[String],
    real: impl Fn(&str) -> Result<Vec<Line>, String> + Sync,
) -> Comparison {
    let ours = minroot_lists(label, root_arg, programs, &[]);
    compare_lists(label, root, programs, ours, real)
}

/// Compares minroot's lists (`ours`) with the real loader's.
fn compare_lists(
    label: &str,
    root: &Path,
    programs: &[String],
    ours: HashMap<String, Vec<Line>>,
    real: impl Fn(&str) -> Result<Vec<Line>, String> + Sync,
) -> Comparison {
    let theirs = par_map(programs, |p| real(p));

    let mut c = Comparison {
        label: label.into(),
        ..Comparison::default()
    };
    for (prog, real) in programs.iter().zip(theirs) {
        let real = match real {
            Ok(r) => r,
            Err(e) => {
                c.skipped.push(format!("{prog}: {}", e.trim()));
                continue;
            }
        };
        c.compared += 1;
        let want = first_misses(common::canonical_lines(root, &real));
        let got = common::canonical_lines(root, ours.get(prog).map_or(&[][..], |v| v));
        let want_set: BTreeSet<&Line> = want.iter().collect();
        let got_set: BTreeSet<&Line> = got.iter().collect();
        if want_set != got_set {
            let only_loader: Vec<Line> = want_set
                .difference(&got_set)
                .map(|l| (*l).clone())
                .collect();
            let only_minroot: Vec<Line> = got_set
                .difference(&want_set)
                .map(|l| (*l).clone())
                .collect();
            c.set_diffs.push(format!(
                "  {prog}:\n    only the loader: {}\n    only minroot:    {}\n    loader: {}\n    minroot: {}",
                fmt_lines(&only_loader),
                fmt_lines(&only_minroot),
                fmt_lines(&want),
                fmt_lines(&got)
            ));
        } else if want != got {
            c.order_diffs.push(format!(
                "{prog}: loader [{}] minroot [{}]",
                fmt_lines(&want),
                fmt_lines(&got)
            ));
        } else {
            c.same_order += 1;
        }
    }
    c
}

#[test]
fn host_usr_bin_and_sbin_match_the_loader() {
    if !common::require(
        "an x86_64 host with its glibc loader",
        Arch::host() == Some(Arch::X86_64) && common::host_loader(Arch::X86_64).is_some(),
    ) {
        return;
    }
    let (programs, other_interp) = dynamic_programs(
        Path::new("/"),
        &["/usr/bin", "/usr/sbin"],
        Arch::X86_64,
        false,
    );
    println!(
        "host: {} dynamic programs ({other_interp} with another interpreter left out)",
        programs.len()
    );
    let c = compare("host", Path::new("/"), None, &programs, host_loader_list);
    // The loader refusing many programs means the harness is broken, not the programs.
    c.assert_ok(REFUSED_AT_MOST);
}

/// The dirs of a Debian root whose programs are compared.
const SYSROOT_BIN_DIRS: [&str; 4] = ["/usr/bin", "/usr/sbin", "/bin", "/sbin"];

/// Compares every dynamic program of sysroot `name` with the root's own loader.
fn sysroot_matches_its_loader(name: &str, arch: Arch) -> Option<Comparison> {
    let root = common::sysroot(name);
    if !common::require(
        &format!("the {name} sysroot (scripts/make-sysroot.sh {name})"),
        root.is_some(),
    ) || !common::require(
        &format!("bwrap (and qemu-user for a foreign arch) to run the {arch} loader"),
        common::can_run_loader(arch),
    ) {
        return None;
    }
    let root = root.expect("checked");
    let (programs, other_interp) = dynamic_programs(&root, &SYSROOT_BIN_DIRS, arch, true);
    println!(
        "{name}: {} dynamic programs ({other_interp} with another interpreter left out)",
        programs.len()
    );
    let c = compare(name, &root, Some(&root), &programs, |p| {
        root_loader_list(&root, arch, p)
    });
    c.assert_ok(REFUSED_AT_MOST);
    Some(c)
}

#[test]
fn arm64_sysroot_matches_its_loader_under_qemu() {
    if let Some(c) = sysroot_matches_its_loader("arm64", Arch::Aarch64) {
        // python3, curl, openssl, busybox at least: a handful would mean a broken root.
        assert!(c.compared >= 5, "arm64: only {} programs", c.compared);
    }
}

#[test]
fn amd64_sysroot_matches_its_loader() {
    if let Some(c) = sysroot_matches_its_loader("amd64", Arch::X86_64) {
        assert!(c.compared >= 50, "amd64: only {} programs", c.compared);
    }
}

/// A program traced alone has its closure searched ahead on a second thread, which
/// starts only when a search missed the page cache (closure.rs, `cold_search`): the
/// programs traced together above never use it. With MINROOT_COLD_SEARCH_US=0 it starts
/// at the first large wave, and each program of the amd64 root, traced alone, is held
/// to the real loader too.
#[test]
fn programs_traced_alone_with_the_search_ahead_match_the_loader() {
    let name = "amd64";
    let arch = Arch::X86_64;
    let root = common::sysroot(name);
    if !common::require(
        &format!("the {name} sysroot (scripts/make-sysroot.sh {name})"),
        root.is_some(),
    ) || !common::require(
        "bwrap to run the amd64 loader",
        common::can_run_loader(arch),
    ) {
        return;
    }
    let root = root.expect("checked");
    let (programs, _) = dynamic_programs(&root, &SYSROOT_BIN_DIRS, arch, true);
    let ours: HashMap<String, Vec<Line>> = par_map(&programs, |p| {
        let one = std::slice::from_ref(p);
        let env = [("MINROOT_COLD_SEARCH_US", "0")];
        minroot_lists(name, Some(&root), one, &env)
    })
    .into_iter()
    .flatten()
    .collect();
    let c = compare_lists("amd64, each program alone", &root, &programs, ours, |p| {
        root_loader_list(&root, arch, p)
    });
    c.assert_ok(REFUSED_AT_MOST);
    assert!(c.compared >= 50, "amd64: only {} programs", c.compared);
}

#[test]
fn fixtures_match_the_loader() {
    let mut total = 0;
    for (name, arch) in [
        ("x86_64", Arch::X86_64),
        ("x86_64-cache", Arch::X86_64),
        ("aarch64", Arch::Aarch64),
        ("aarch64-cache", Arch::Aarch64),
    ] {
        let root = common::fixture(name);
        if !common::require(
            &format!("fixture root {name} (scripts/make-fixtures.sh)"),
            root.is_some(),
        ) || !common::require(
            &format!("bwrap (and qemu-user for a foreign arch) to run the {arch} loader"),
            common::can_run_loader(arch),
        ) {
            continue;
        }
        let root = root.expect("checked");
        let (programs, _) = dynamic_programs(&root, &["/app/bin"], arch, false);
        let entries = std::fs::read_dir(root.join("app/bin"))
            .map(|d| d.count())
            .unwrap_or(0);
        assert!(
            entries > 0 && programs.len() == entries,
            "fixture {name}: {} of the {entries} entries of /app/bin are dynamic {arch} programs",
            programs.len()
        );
        let c = compare(name, &root, Some(&root), &programs, |p| {
            root_loader_list(&root, arch, p)
        });
        c.assert_ok(0);
        total += c.compared;
    }
    println!("fixtures: {total} programs compared");
}

/// The fixture root x86_64 and its programs, for the tests of the comparison itself.
fn judged_fixture() -> Option<(PathBuf, Vec<String>)> {
    let root = common::fixture("x86_64");
    if !common::require(
        "fixture root x86_64 (scripts/make-fixtures.sh)",
        root.is_some(),
    ) || !common::require("bwrap", common::can_run_loader(Arch::X86_64))
    {
        return None;
    }
    let root = root.expect("checked");
    let (programs, _) = dynamic_programs(&root, &["/app/bin"], Arch::X86_64, false);
    Some((root, programs))
}

#[test]
fn oracle_fails_on_a_load_order_difference() {
    // The real loader's list of app-filter with its first two objects swapped: the same
    // set, in another order, must fail the comparison (it was only reported).
    let Some((root, programs)) = judged_fixture() else {
        return;
    };
    let c = compare("x86_64 swapped", &root, Some(&root), &programs, |p| {
        let mut l = root_loader_list(&root, Arch::X86_64, p)?;
        if p.ends_with("/app-filter") {
            l.swap(0, 1);
        }
        Ok(l)
    });
    assert_eq!(c.set_diffs, Vec::<String>::new());
    let e = c.verdict(0).expect_err("an order difference fails");
    assert!(
        e.contains("in another order") && e.contains("app-filter"),
        "{e}"
    );
    // The loader's repeated `not found` lines are not an order difference.
    let c = compare(
        "x86_64 repeated misses",
        &root,
        Some(&root),
        &programs,
        |p| {
            let mut l = root_loader_list(&root, Arch::X86_64, p)?;
            if let Some(m) = l.iter().find(|(_, p)| p == "not found").cloned() {
                l.push(m);
            }
            Ok(l)
        },
    );
    c.verdict(0)
        .expect("a missing name counts at its first request");
}

#[test]
fn oracle_fails_when_the_loader_refuses_too_many_programs() {
    // Two of the fixture's programs refused: more than one in ten fails, like the host's
    // bound; a bound of 0 (the fixture roots) fails on one.
    let Some((root, programs)) = judged_fixture() else {
        return;
    };
    let refused = [&programs[0], &programs[1]];
    let c = compare("x86_64 refusing", &root, Some(&root), &programs, |p| {
        if refused.iter().any(|r| r.as_str() == p) {
            return Err("loader exited with Some(127)".into());
        }
        root_loader_list(&root, Arch::X86_64, p)
    });
    assert_eq!(c.skipped.len(), 2);
    assert!(
        programs.len() < 20,
        "2 of {} is over 1 in 10",
        programs.len()
    );
    let e = c.verdict(REFUSED_AT_MOST).expect_err("too many refused");
    assert!(e.contains("refused 2 of"), "{e}");
    let one = Comparison {
        skipped: c.skipped[..1].to_vec(),
        compared: 100,
        ..Comparison::default()
    };
    assert!(one.verdict(REFUSED_AT_MOST).is_ok());
    assert!(one.verdict(0).is_err());
}

/// What the real loader must load in fixture root `name` (testdata/README.md): (program,
/// library name, canonical path or "not found"). `v2`: the CPU has x86-64-v2.
fn fixture_rules(arch: Arch, cached: bool, v2: bool) -> Vec<(&'static str, String, String)> {
    let t = arch.triplet();
    let if_cached = |p: &str| {
        if cached {
            p.to_string()
        } else {
            "not found".to_string()
        }
    };
    let mut v = vec![
        (
            "app-rpath",
            "libfoo.so.1",
            "/app/lib/libfoo.so.1.2.3".into(),
        ),
        ("app-rpath", "libbar.so.1", "/app/lib/libbar.so.1.0".into()),
        (
            "app-runpath",
            "libfoo.so.1",
            "/app/lib/libfoo.so.1.2.3".into(),
        ),
        ("app-runpath", "libbar.so.1", "not found".into()),
        (
            "app-dst",
            "libbrace.so.1",
            "/app/brace/libbrace.so.1".into(),
        ),
        (
            "app-dst",
            "liblibdir.so.1",
            format!("/opt/lib/{t}/liblibdir.so.1"),
        ),
        ("app-nodeflib", "libdefonly.so.1", "not found".into()),
        (
            "app-nodeflib-preloaded",
            "libdefonly.so.1",
            format!("/usr/lib/{t}/libdefonly.so.1"),
        ),
        (
            "app-nodeflib-cache",
            "libcached.so.1",
            if_cached("/opt/cached/libcached.so.1"),
        ),
        (
            "app-cache",
            "libcached.so.1",
            if_cached("/opt/cached/libcached.so.1"),
        ),
        (
            "app-tls",
            "liblegacy.so.1",
            "/app/lib/tls/liblegacy.so.1".into(),
        ),
        (
            "app-needed-path",
            "app/lib/libnprel.so",
            "/app/lib/libnprel.so".into(),
        ),
        (
            "app-needed-path",
            "/opt/np/libnpabs.so",
            "/opt/np/libnpabs.so".into(),
        ),
        (
            "app-filter",
            "libfiltee.so.1",
            "/app/lib/libfiltee.so.1".into(),
        ),
        (
            "app-filter",
            "libfilter.so.1",
            "/app/lib/libfilter.so.1".into(),
        ),
        ("app-filter", "libauxmissing.so.1", "not found".into()),
        (
            "app-origin-link",
            "liborigin.so.1",
            "/opt/vendor/lib/liborigin.so.1".into(),
        ),
    ];
    if arch == Arch::X86_64 {
        let sub = if v2 { "glibc-hwcaps/x86-64-v2/" } else { "" };
        v.push((
            "app-hwcaps",
            "libhw.so.1",
            format!("/app/lib/{sub}libhw.so.1"),
        ));
        v.push((
            "app-hwcaps-cache",
            "libhwc.so.1",
            if_cached(&format!("/opt/cached/{sub}libhwc.so.1")),
        ));
    }
    v.into_iter()
        .map(|(p, n, w)| (p, n.to_string(), w))
        .collect()
}

/// The fixtures still show what testdata/README.md says, according to the real loader
/// (so that a toolchain change cannot silently turn a fixture into a no-op).
#[test]
fn fixtures_show_the_rules_they_document() {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let v2 = CpuProfile::from_cpuinfo(Arch::X86_64, &cpuinfo)
        .hwcaps
        .contains(&"x86-64-v2");
    let mut checked = 0;
    for (name, arch) in [
        ("x86_64", Arch::X86_64),
        ("x86_64-cache", Arch::X86_64),
        ("aarch64", Arch::Aarch64),
        ("aarch64-cache", Arch::Aarch64),
    ] {
        let root = common::fixture(name);
        if !common::require(
            &format!("fixture root {name} (scripts/make-fixtures.sh)"),
            root.is_some(),
        ) || !common::require(
            &format!("bwrap (and qemu-user for a foreign arch) to run the {arch} loader"),
            common::can_run_loader(arch),
        ) {
            continue;
        }
        let root = root.expect("checked");
        let host_v2 = v2 && Arch::host() == Some(arch);
        let mut lists: HashMap<&str, Vec<Line>> = HashMap::new();
        for (prog, lib, want) in fixture_rules(arch, name.ends_with("-cache"), host_v2) {
            let got = lists.entry(prog).or_insert_with(|| {
                let real = root_loader_list(&root, arch, &format!("/app/bin/{prog}"))
                    .unwrap_or_else(|e| panic!("{name}: {prog}: {e}"));
                common::canonical_lines(&root, &real)
            });
            let found = got.iter().find(|(n, _)| *n == lib).map(|(_, p)| p.as_str());
            assert_eq!(
                found,
                Some(want.as_str()),
                "{name}: {prog} must load {lib} from {want} (loader: {got:?})"
            );
            checked += 1;
        }
        // The filtee is loaded before its filter.
        let filter = &lists["app-filter"];
        let pos = |n: &str| filter.iter().position(|(x, _)| x == n);
        assert!(
            pos("libfiltee.so.1") < pos("libfilter.so.1"),
            "{name}: {filter:?}"
        );
        // $PLATFORM: a build of one of the platform dirs.
        let plat = root_loader_list(&root, arch, "/app/bin/app-platform").expect("app-platform");
        let plat = common::canonical_lines(&root, &plat);
        assert!(
            plat.iter()
                .any(|(n, p)| n == "libplat.so.1" && p.starts_with("/opt/plat/")),
            "{name}: app-platform: {plat:?}"
        );
    }
    println!("fixtures: {checked} documented outcomes confirmed by the real loader");
}

/// One line of `ldconfig -p`: name, flags description, hwcap text, path.
#[derive(Clone, Debug, PartialEq, Eq)]
struct LdconfigEntry {
    name: String,
    flags: String,
    hwcap: Option<String>,
    path: String,
}

/// Parses `ldconfig -p` output; also returns the count of its "N libs found" line.
fn parse_ldconfig_p(out: &str) -> (Vec<LdconfigEntry>, Option<usize>) {
    let mut v = Vec::new();
    let mut count = None;
    for line in out.lines() {
        if let Some((n, _)) = line.split_once(" libs found in cache") {
            count = n.trim().parse().ok();
            continue;
        }
        let Some((left, path)) = line.trim_start().split_once(" => ") else {
            continue;
        };
        let Some((name, desc)) = left.split_once(" (") else {
            continue;
        };
        let desc = desc.strip_suffix(')').unwrap_or(desc);
        let (flags, hwcap) = match desc.split_once(", hwcap: ") {
            Some((f, h)) => (f, Some(h.trim_matches('"').to_string())),
            None => (desc, None),
        };
        v.push(LdconfigEntry {
            name: name.to_string(),
            flags: flags.to_string(),
            hwcap,
            path: path.to_string(),
        });
    }
    (v, count)
}

/// ldconfig's description of `arch`'s flags.
fn ldconfig_flags(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "libc6,x86-64",
        Arch::Aarch64 => "libc6,AArch64",
    }
}

/// What glibc's lookup must answer for `name` on `cpu`, from ldconfig's listing (in file
/// order): the active glibc-hwcaps entry of best priority, else the first plain entry.
fn expected_lookup(entries: &[&LdconfigEntry], name: &str, cpu: &CpuProfile) -> Option<String> {
    let same: Vec<&&LdconfigEntry> = entries.iter().filter(|e| e.name == name).collect();
    let best_hwcaps = same
        .iter()
        .filter_map(|e| {
            let h = e.hwcap.as_deref()?;
            let rank = cpu.hwcaps.iter().position(|x| *x == h)?;
            Some((rank, e.path.clone()))
        })
        .min_by_key(|(rank, _)| *rank);
    best_hwcaps.map(|(_, p)| p).or_else(|| {
        same.iter()
            .find(|e| e.hwcap.is_none())
            .map(|e| e.path.clone())
    })
}

#[test]
fn cache_reader_matches_ldconfig() {
    if !common::require("ldconfig (libc-bin)", Path::new("/sbin/ldconfig").is_file()) {
        return;
    }
    let mut caches: Vec<(String, PathBuf, Arch)> = Vec::new();
    if common::require(
        "the host's /etc/ld.so.cache",
        Path::new("/etc/ld.so.cache").is_file(),
    ) {
        caches.push(("host".into(), "/etc/ld.so.cache".into(), Arch::X86_64));
    }
    for (name, arch) in [("arm64", Arch::Aarch64), ("amd64", Arch::X86_64)] {
        let root = common::sysroot(name);
        if common::require(
            &format!("the {name} sysroot (scripts/make-sysroot.sh {name})"),
            root.is_some(),
        ) {
            caches.push((
                name.into(),
                root.expect("checked").join("etc/ld.so.cache"),
                arch,
            ));
        }
    }
    for (name, arch) in [
        ("x86_64-cache", Arch::X86_64),
        ("aarch64-cache", Arch::Aarch64),
    ] {
        let root = common::fixture(name);
        if common::require(
            &format!("fixture root {name} (scripts/make-fixtures.sh)"),
            root.is_some(),
        ) {
            caches.push((
                name.into(),
                root.expect("checked").join("etc/ld.so.cache"),
                arch,
            ));
        }
    }
    for (label, path, arch) in &caches {
        let out = Command::new("/sbin/ldconfig")
            .arg("-p")
            .arg("-C")
            .arg(path)
            .output()
            .expect("run ldconfig -p");
        assert!(out.status.success(), "{label}: ldconfig -p -C failed");
        let (listed, count) = parse_ldconfig_p(&String::from_utf8_lossy(&out.stdout));
        let bytes = std::fs::read(path).expect("read cache");
        let (cache, issue) = LdCache::parse(bytes);
        assert_eq!(issue, None, "{label}: minroot finds the cache unusable");
        assert_eq!(cache.issue_for(*arch), None, "{label}: no {arch} entries");
        let all: Vec<_> = cache.entries().collect();
        assert_eq!(
            Some(all.len()),
            count,
            "{label}: ldconfig counts {count:?} entries, minroot reads {}",
            all.len()
        );
        // Same name -> path entries for this arch's flags, in file order.
        let theirs: Vec<&LdconfigEntry> = listed
            .iter()
            .filter(|e| e.flags == ldconfig_flags(*arch))
            .collect();
        let ours: Vec<LdconfigEntry> = all
            .iter()
            .filter(|e| e.flags == arch.cache_flags())
            .map(|e| LdconfigEntry {
                name: e.name.clone(),
                flags: ldconfig_flags(*arch).into(),
                hwcap: e
                    .hwcaps_subdir
                    .clone()
                    .or_else(|| (e.hwcap != 0).then(|| format!("{:#018x}", e.hwcap))),
                path: e.path.clone(),
            })
            .collect();
        assert!(!ours.is_empty(), "{label}: no {arch} entries");
        let theirs_owned: Vec<LdconfigEntry> = theirs.iter().map(|e| (*e).clone()).collect();
        assert_eq!(
            ours, theirs_owned,
            "{label}: minroot's entries differ from ldconfig -p"
        );
        // The binary search finds every name, at every CPU level of the arch.
        let levels: &[CpuLevel] = match arch {
            Arch::X86_64 => &[
                CpuLevel::Baseline,
                CpuLevel::X86_64V2,
                CpuLevel::X86_64V3,
                CpuLevel::X86_64V4,
            ],
            Arch::Aarch64 => &[CpuLevel::Baseline],
        };
        let names: BTreeSet<&str> = theirs.iter().map(|e| e.name.as_str()).collect();
        let legacy: BTreeSet<&str> = theirs
            .iter()
            .filter(|e| e.hwcap.as_deref().is_some_and(|h| h.starts_with("0x")))
            .map(|e| e.name.as_str())
            .collect();
        let mut checked = 0;
        for level in levels {
            let cpu = CpuProfile::for_level(*arch, *level);
            for name in names.difference(&legacy) {
                assert_eq!(
                    cache.lookup(name, &cpu),
                    expected_lookup(&theirs, name, &cpu),
                    "{label}: lookup of {name} at {}",
                    level.name()
                );
                checked += 1;
            }
        }
        println!(
            "cache {label}: {} {arch} entries identical to ldconfig -p, {checked} lookups checked",
            ours.len()
        );
    }
    assert!(!caches.is_empty(), "no ld.so.cache to compare");
}
