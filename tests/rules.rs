//! One named test per glibc 2.36 loader rule (DESIGN.md, "The loader rules that must be
//! exact"), each on a fake root built here from synthetic ELF files.
//!
//! Every test states the expected `minroot trace --format list` output, derived from the
//! rule (and from elf/dl-load.c, dl-deps.c, dl-cache.c of glibc 2.36), and asserts it
//! exactly. When bwrap (and qemu-user for aarch64) is available, the real loader of the
//! fake root is asked too (`LD_TRACE_LOADED_OBJECTS=1` under `bwrap --bind ROOT /`) and
//! must list the same objects in the same order. Cases the real loader cannot be asked
//! about (another CPU level than this machine's, a static program that cannot run) are
//! checked against the written expectation only. This file owns no helper that other
//! test files need; shared helpers live in tests/common.

mod common;

use common::{FakeRoot, Line};
use minroot::arch::Arch;
use minroot::elf::DF_1_NODEFLIB;
use minroot::elf::synth::Synth;
use minroot::ldso::cache::{write_new_format, write_old_format};

const X86: Arch = Arch::X86_64;
const ARM: Arch = Arch::Aarch64;

/// A shared library of `arch` with DT_SONAME `soname`.
fn lib(arch: Arch, soname: &str) -> Synth {
    Synth::lib(arch.elf_machine(), soname)
}

/// A PIE program of `arch` whose PT_INTERP is the arch's loader.
fn exe(arch: Arch) -> Synth {
    Synth::exe(arch.elf_machine(), arch.loader_path())
}

/// `/lib/<triplet>`: the first default directory on Debian.
fn dlib(arch: Arch) -> String {
    format!("/lib/{}", arch.triplet())
}

/// `/usr/lib/<triplet>`: the second default directory on Debian.
fn dusr(arch: Arch) -> String {
    format!("/usr/lib/{}", arch.triplet())
}

/// The other supported architecture (for wrong-machine candidates).
fn other(arch: Arch) -> Arch {
    match arch {
        Arch::X86_64 => Arch::Aarch64,
        Arch::Aarch64 => Arch::X86_64,
    }
}

/// `$PLATFORM` of this machine for `arch` (AT_PLATFORM; glibc 2.36 says `haswell` on
/// Intel CPUs with AVX2 and friends; qemu-user reports `aarch64`).
fn platform(arch: Arch) -> String {
    if arch == X86 && Arch::host() == Some(X86) {
        let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let intel = info.contains("GenuineIntel");
        let haswell = ["avx2", "fma", "bmi1", "bmi2", "abm", "movbe", "popcnt"]
            .iter()
            .all(|f| info.split_whitespace().any(|w| w == *f));
        let xeon_phi = ["avx512cd", "avx512er", "avx512pf"]
            .iter()
            .all(|f| info.split_whitespace().any(|w| w == *f));
        if intel && xeon_phi {
            return "xeon_phi".into();
        }
        if intel && haswell {
            return "haswell".into();
        }
    }
    arch.name().into()
}

/// Whether this machine's CPU has every /proc/cpuinfo flag of `flags`.
fn host_cpu_has(flags: &[&str]) -> bool {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let line = info
        .lines()
        .find(|l| l.starts_with("flags"))
        .unwrap_or_default();
    flags
        .iter()
        .all(|f| line.split_whitespace().any(|w| w == *f))
}

/// The flags that make a CPU x86-64-v2 / v3 (the glibc-hwcaps levels).
const V2_FLAGS: &[&str] = &[
    "cx16", "lahf_lm", "popcnt", "pni", "ssse3", "sse4_1", "sse4_2",
];
const V3_FLAGS: &[&str] = &["avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe"];

/// One fake root for one architecture, with the options given to minroot and the
/// matching environment given to the real loader.
struct Case {
    root: FakeRoot,
    arch: Arch,
    /// Extra `minroot trace` options.
    args: Vec<String>,
    /// Environment of the real loader (LD_LIBRARY_PATH).
    env: Vec<(String, String)>,
    /// The real loader is installed at PT_INTERP (else a synthetic stand-in is).
    real: bool,
    /// The real loader would not see what minroot is told (e.g. another CPU level).
    minroot_only: bool,
}

impl Case {
    /// A root with the arch's loader at its PT_INTERP path: the real one when this
    /// machine has it, else a synthetic library with the loader's soname.
    fn new(arch: Arch) -> Case {
        let root = FakeRoot::new();
        let real = root.install_loader(arch);
        if !real {
            root.write(arch.loader_path(), &lib(arch, arch.loader_soname()).build());
        }
        Case {
            root,
            arch,
            args: Vec::new(),
            env: Vec::new(),
            real,
            minroot_only: false,
        }
    }

    /// A root with no loader at all.
    fn without_loader(arch: Arch) -> Case {
        Case {
            root: FakeRoot::new(),
            arch,
            args: Vec::new(),
            env: Vec::new(),
            real: false,
            minroot_only: false,
        }
    }

    /// A usrmerged root (`/lib -> usr/lib`, `/bin -> usr/bin`, x86_64 `/lib64 ->
    /// usr/lib64`), loader installed through the links.
    fn usrmerged(arch: Arch) -> Case {
        let root = FakeRoot::new();
        for d in ["/usr/lib", "/usr/bin", "/usr/lib64"] {
            root.mkdir(d);
        }
        root.symlink("/lib", "usr/lib").symlink("/bin", "usr/bin");
        if arch == X86 {
            root.symlink("/lib64", "usr/lib64");
        }
        let real = root.install_loader(arch);
        if !real {
            root.write(arch.loader_path(), &lib(arch, arch.loader_soname()).build());
        }
        Case {
            root,
            arch,
            args: Vec::new(),
            env: Vec::new(),
            real,
            minroot_only: false,
        }
    }

    /// Writes /etc/ld.so.cache in the new format with entries `(soname, path)` of this
    /// architecture.
    fn cache_new(&self, entries: &[(&str, &str)]) -> &Self {
        let f = self.arch.cache_flags();
        let e: Vec<(&str, &str, i32, Option<&str>)> =
            entries.iter().map(|(n, p)| (*n, *p, f, None)).collect();
        self.bytes(
            "/etc/ld.so.cache",
            &write_new_format(&e, self.arch.char_is_signed()),
        )
    }

    fn put(&self, inside: &str, s: Synth) -> &Self {
        self.root.write(inside, &s.build());
        self
    }

    fn bytes(&self, inside: &str, b: &[u8]) -> &Self {
        self.root.write(inside, b);
        self
    }

    fn link(&self, inside: &str, target: &str) -> &Self {
        self.root.symlink(inside, target);
        self
    }

    /// A hard link at `inside` of the file at `existing` (both inside the root).
    fn hard_link(&self, inside: &str, existing: &str) -> &Self {
        let p = self.root.host(inside);
        std::fs::create_dir_all(p.parent().unwrap()).expect("mkdir");
        std::fs::hard_link(self.root.host(existing), p).expect("hard link");
        self
    }

    /// The program at /usr/bin/app.
    fn app(&self, s: Synth) -> &Self {
        self.put("/usr/bin/app", s)
    }

    /// `--library-path`, and LD_LIBRARY_PATH for the real loader.
    fn library_path(mut self, p: &str) -> Self {
        self.args.push("--library-path".into());
        self.args.push(p.into());
        self.env.push(("LD_LIBRARY_PATH".into(), p.into()));
        self
    }

    /// `--cpu-level`: the real loader runs at this machine's level, so it is not asked.
    fn cpu_level(mut self, level: &str) -> Self {
        self.args.push("--cpu-level".into());
        self.args.push(level.into());
        self.minroot_only = true;
        self
    }

    /// `--cpu-level` for a level the real loader of this machine also has (qemu-user's
    /// aarch64 CPU has LSE atomics).
    fn cpu_level_matching_real(mut self, level: &str) -> Self {
        self.args.push("--cpu-level".into());
        self.args.push(level.into());
        self
    }

    /// Runs `minroot trace --root ROOT --format FORMAT [options] BINS`.
    fn trace(&self, format: &str, bins: &[&str]) -> (i32, String, String) {
        let root = self.root.path().to_str().expect("utf-8 temp dir");
        let mut a: Vec<&str> = vec!["trace", "--root", root, "--format", format];
        a.extend(self.args.iter().map(String::as_str));
        a.extend_from_slice(bins);
        common::run(&a)
    }

    /// Asserts minroot's list for /usr/bin/app is exactly `expected` (lines
    /// `NAME => PATH`) with exit status `code`, then that the real loader agrees.
    fn check(&self, expected: &[&str], code: i32) {
        self.check_prog("/usr/bin/app", expected, code);
    }

    fn check_prog(&self, prog: &str, expected: &[&str], code: i32) {
        let (got_code, out, err) = self.trace("list", &[prog]);
        if std::env::var_os("RULES_DEBUG").is_some() && !self.minroot_only {
            eprintln!(
                "REAL {}: {:?}",
                self.arch,
                real_list(self.root.path(), self.arch, prog, &self.env())
            );
        }
        let want: String = expected.iter().map(|l| format!("{l}\n")).collect();
        assert_eq!(
            out, want,
            "minroot list for {prog} ({}), stderr: {err}",
            self.arch
        );
        assert_eq!(got_code, code, "minroot exit status, stderr: {err}");
        self.agrees_with_real_loader(prog, &out);
    }

    /// Asserts minroot's list is exactly `expected` (the last line being the loader's
    /// error) with exit status 1, and that the real loader stops with `needle`.
    fn check_fatal(&self, expected: &[&str], needle: &str) {
        let (code, out, err) = self.trace("list", &["/usr/bin/app"]);
        let want: String = expected.iter().map(|l| format!("{l}\n")).collect();
        assert_eq!(out, want, "minroot list ({}), stderr: {err}", self.arch);
        assert_eq!(code, 1, "minroot exit status, stderr: {err}");
        self.real_loader_fails("/usr/bin/app", needle);
    }

    /// Whether the real loader can be asked about this root.
    fn real_loader_available(&self) -> bool {
        if self.minroot_only {
            return false;
        }
        let tools = if self.arch == X86 {
            "bwrap"
        } else {
            "bwrap and qemu-aarch64-static"
        };
        common::require(tools, common::can_run_loader(self.arch))
            && common::require(&format!("the real {} ld.so", self.arch), self.real)
    }

    fn env(&self) -> Vec<(&str, &str)> {
        self.env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// Compares minroot's list output with the real loader's, after resolving paths
    /// inside the root. The loader prints a missing name once per request; minroot once.
    fn agrees_with_real_loader(&self, prog: &str, minroot_out: &str) {
        if !self.real_loader_available() {
            return;
        }
        let real = real_list(self.root.path(), self.arch, prog, &self.env())
            .unwrap_or_else(|e| panic!("real {} loader failed on {prog}: {e}", self.arch));
        let mut seen_missing = std::collections::HashSet::new();
        let real: Vec<Line> = real
            .into_iter()
            .filter(|(n, p)| p != "not found" || seen_missing.insert(n.clone()))
            .collect();
        let ours = common::parse_list(minroot_out);
        assert_eq!(
            common::canonical_lines(self.root.path(), &ours),
            common::canonical_lines(self.root.path(), &real),
            "minroot (left) and the real {} loader (right) disagree on {prog}",
            self.arch
        );
    }

    /// Asserts that the real loader stops with an error containing `needle`.
    fn real_loader_fails(&self, prog: &str, needle: &str) {
        if !self.real_loader_available() {
            return;
        }
        match real_list(self.root.path(), self.arch, prog, &self.env()) {
            Ok(l) => panic!(
                "the real {} loader listed {l:?}, expected {needle}",
                self.arch
            ),
            Err(e) => assert!(e.contains(needle), "real loader error: {e}"),
        }
    }
}

/// `common::real_loader_list`, retried when exec fails with ETXTBSY: run_in_root copies
/// qemu-user into the root, and a fork made meanwhile by another test thread can still
/// hold the copy open for writing when bwrap execs it ("Text file busy").
fn real_list(
    root: &std::path::Path,
    arch: Arch,
    prog: &str,
    env: &[(&str, &str)],
) -> Result<Vec<Line>, String> {
    let mut tries = 0;
    loop {
        let r = common::real_loader_list(root, arch, prog, env);
        match &r {
            Err(e) if e.contains("Text file busy") && tries < 20 => tries += 1,
            _ => return r,
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// `common::run_in_root`, retried on ETXTBSY like [`real_list`].
fn run_in_root(
    root: &std::path::Path,
    arch: Arch,
    prog: &str,
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut tries = 0;
    loop {
        let out = common::run_in_root(root, arch, prog, &[], env);
        if tries < 20 && String::from_utf8_lossy(&out.stderr).contains("Text file busy") {
            tries += 1;
            std::thread::sleep(std::time::Duration::from_millis(20));
            continue;
        }
        return out;
    }
}

/// Runs `body` for both architectures.
fn both(body: impl Fn(Arch)) {
    for arch in Arch::ALL {
        body(arch);
    }
}

// ---------------------------------------------------------------------------------------
// 1. A DT_NEEDED with '/' is a path.

#[test]
fn needed_with_slash_is_a_path() {
    both(|a| {
        let c = Case::new(a);
        c.app(exe(a).needs("/opt/p/libp.so"))
            .put("/opt/p/libp.so", lib(a, "libp.so"))
            .put(&format!("{}/libp.so", dlib(a)), lib(a, "libp.so"));
        c.check(&["/opt/p/libp.so => /opt/p/libp.so"], 0);
    });
}

#[test]
fn relative_needed_path_is_relative_to_cwd_root() {
    both(|a| {
        let c = Case::new(a);
        c.app(exe(a).needs("opt/r/libr.so"))
            .put("/opt/r/libr.so", lib(a, "libr.so"));
        c.check(&["opt/r/libr.so => /opt/r/libr.so"], 0);
    });
}

#[test]
fn needed_path_that_is_missing_is_not_searched() {
    both(|a| {
        let c = Case::new(a);
        c.app(exe(a).needs("/opt/none/libq.so.1"))
            .put(&format!("{}/libq.so.1", dlib(a)), lib(a, "libq.so.1"));
        c.check(&["/opt/none/libq.so.1 => not found"], 1);
    });
}

#[test]
fn origin_in_needed_name_is_expanded_then_used_as_path() {
    both(|a| {
        let c = Case::new(a);
        c.put("/opt/app/bin/app", exe(a).needs("$ORIGIN/../lib/libo.so"))
            .put("/opt/app/lib/libo.so", lib(a, "libo.so"));
        c.check_prog(
            "/opt/app/bin/app",
            &["/opt/app/bin/../lib/libo.so => /opt/app/bin/../lib/libo.so"],
            0,
        );
    });
}

// ---------------------------------------------------------------------------------------
// 2. Already loaded: by name, by DT_SONAME, by file identity. Breadth-first order.

#[test]
fn already_loaded_by_soname() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        // libbar's request for libfoo.so.1 is satisfied by the soname of libfoo.so, before
        // any search (which would find /opt/other/libfoo.so.1).
        c.app(exe(a).needs("libfoo.so").needs("libbar.so.1"))
            .put(&format!("{d}/libfoo.so"), lib(a, "libfoo.so.1"))
            .put(
                &format!("{d}/libbar.so.1"),
                lib(a, "libbar.so.1")
                    .rpath("/opt/other")
                    .needs("libfoo.so.1"),
            )
            .put("/opt/other/libfoo.so.1", lib(a, "libfoo.so.1"));
        c.check(
            &[
                &format!("libfoo.so => {d}/libfoo.so"),
                &format!("libbar.so.1 => {d}/libbar.so.1"),
            ],
            0,
        );
    });
}

#[test]
fn already_loaded_by_requested_name() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).needs("libfoo.so").needs("liba.so.1"))
            .put(&format!("{d}/libfoo.so"), lib(a, "libfoo.so.1"))
            .put(
                &format!("{d}/liba.so.1"),
                lib(a, "liba.so.1").rpath("/opt/r").needs("libfoo.so"),
            )
            .put("/opt/r/libfoo.so", lib(a, "libfoo.so.1"));
        c.check(
            &[
                &format!("libfoo.so => {d}/libfoo.so"),
                &format!("liba.so.1 => {d}/liba.so.1"),
            ],
            0,
        );
    });
}

#[test]
fn already_loaded_by_file_identity_under_other_path() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        // liby.so.1 is another name of the same file, which has no soname.
        c.app(exe(a).needs("libx.so.1").needs("liby.so.1"))
            .put(&format!("{d}/libx.so.1"), lib(a, "").no_soname())
            .link(&format!("{d}/liby.so.1"), "libx.so.1");
        c.check(&[&format!("libx.so.1 => {d}/libx.so.1")], 0);
    });
}

#[test]
fn already_loaded_same_file_through_usrmerge_link() {
    both(|a| {
        let c = Case::usrmerged(a);
        let u = dusr(a);
        // Asked for by path under /usr/lib, then by name: the search finds
        // /lib/<triplet>/libz.so.1 first, which is the same file.
        c.app(exe(a).needs(&format!("{u}/libz.so.1")).needs("libq.so.1"))
            .put(&format!("{u}/libz.so.1"), lib(a, "").no_soname())
            .put(
                &format!("{u}/libq.so.1"),
                lib(a, "libq.so.1").needs("libz.so.1"),
            );
        c.check(
            &[
                &format!("{u}/libz.so.1 => {u}/libz.so.1"),
                &format!("libq.so.1 => {}/libq.so.1", dlib(a)),
            ],
            0,
        );
    });
}

#[test]
fn hard_link_to_a_loaded_library_is_the_same_object() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        // /opt/y/liby.so.1 is a hard link of /lib/<triplet>/libx.so.1: two canonical paths,
        // one inode. liba's request for liby.so.1 matches no name or soname, its RUNPATH
        // finds /opt/y/liby.so.1, and the loader, comparing st_dev/st_ino with every loaded
        // object (`_dl_map_object_from_fd`), recognises libx.so.1: nothing new is loaded.
        c.app(exe(a).needs("liba.so.1").needs("libx.so.1"))
            .put(
                &format!("{d}/liba.so.1"),
                lib(a, "liba.so.1").runpath("/opt/y").needs("liby.so.1"),
            )
            .put(
                &format!("{d}/libx.so.1"),
                lib(a, "libx.so.1").needs("libdep.so.1"),
            )
            .put(&format!("{d}/libdep.so.1"), lib(a, "libdep.so.1"))
            .hard_link("/opt/y/liby.so.1", &format!("{d}/libx.so.1"));
        c.check(
            &[
                &format!("liba.so.1 => {d}/liba.so.1"),
                &format!("libx.so.1 => {d}/libx.so.1"),
                &format!("libdep.so.1 => {d}/libdep.so.1"),
            ],
            0,
        );
        // The same file (without a soname) found first under its second name: that is
        // the object's name and path, and the request for its first name finds it again.
        let c = Case::new(a);
        c.app(
            exe(a)
                .runpath("/opt/y")
                .needs("liby.so.1")
                .needs("libx.so.1"),
        )
        .put(&format!("{d}/libx.so.1"), lib(a, "").no_soname())
        .hard_link("/opt/y/liby.so.1", &format!("{d}/libx.so.1"));
        c.check(&["liby.so.1 => /opt/y/liby.so.1"], 0);
    });
}

#[test]
fn needed_loader_soname_is_the_interpreter() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).needs(a.loader_soname()).needs("libx.so.1"))
            .put(&format!("{d}/libx.so.1"), lib(a, "libx.so.1"));
        c.check(&[&format!("libx.so.1 => {d}/libx.so.1")], 0);
    });
}

#[test]
fn breadth_first_load_order() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).needs("liba.so.1").needs("libb.so.1"))
            .put(
                &format!("{d}/liba.so.1"),
                lib(a, "liba.so.1").needs("libn1.so.1").needs("libb.so.1"),
            )
            .put(
                &format!("{d}/libb.so.1"),
                lib(a, "libb.so.1").needs("libd.so.1"),
            )
            .put(
                &format!("{d}/libn1.so.1"),
                lib(a, "libn1.so.1").needs("libd.so.1"),
            )
            .put(
                &format!("{d}/libd.so.1"),
                lib(a, "libd.so.1").needs("liba.so.1"),
            );
        c.check(
            &[
                &format!("liba.so.1 => {d}/liba.so.1"),
                &format!("libb.so.1 => {d}/libb.so.1"),
                &format!("libn1.so.1 => {d}/libn1.so.1"),
                &format!("libd.so.1 => {d}/libd.so.1"),
            ],
            0,
        );
    });
}

#[test]
fn missing_name_is_listed_once_at_its_first_request() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).needs("liba.so.1").needs("libmiss.so.1"))
            .put(
                &format!("{d}/liba.so.1"),
                lib(a, "liba.so.1").needs("libmiss.so.1").needs("libb.so.1"),
            )
            .put(&format!("{d}/libb.so.1"), lib(a, "libb.so.1"));
        c.check(
            &[
                &format!("liba.so.1 => {d}/liba.so.1"),
                "libmiss.so.1 => not found",
                &format!("libb.so.1 => {d}/libb.so.1"),
            ],
            1,
        );
    });
}

// ---------------------------------------------------------------------------------------
// 3. DT_RPATH of the requester, then of its loaders up to the program (no DT_RUNPATH).

#[test]
fn rpath_of_program_before_default_dirs() {
    both(|a| {
        let c = Case::new(a);
        c.app(exe(a).rpath("/opt/r").needs("libx.so.1"))
            .put("/opt/r/libx.so.1", lib(a, "libx.so.1"))
            .put(&format!("{}/libx.so.1", dlib(a)), lib(a, "libx.so.1"));
        c.check(&["libx.so.1 => /opt/r/libx.so.1"], 0);
    });
}

#[test]
fn rpath_inherited_through_loader_chain() {
    both(|a| {
        let c = Case::new(a);
        c.app(exe(a).rpath("/opt/app/lib").needs("liba.so.1"))
            .put(
                "/opt/app/lib/liba.so.1",
                lib(a, "liba.so.1").needs("libb.so.1"),
            )
            .put(
                "/opt/app/lib/libb.so.1",
                lib(a, "libb.so.1").needs("libq.so.1"),
            )
            .put("/opt/app/lib/libq.so.1", lib(a, "libq.so.1"));
        c.check(
            &[
                "liba.so.1 => /opt/app/lib/liba.so.1",
                "libb.so.1 => /opt/app/lib/libb.so.1",
                "libq.so.1 => /opt/app/lib/libq.so.1",
            ],
            0,
        );
    });
}

#[test]
fn rpath_of_requester_before_rpath_of_its_loader() {
    both(|a| {
        let c = Case::new(a);
        c.app(exe(a).rpath("/opt/outer").needs("liba.so.1"))
            .put(
                "/opt/outer/liba.so.1",
                lib(a, "liba.so.1").rpath("/opt/inner").needs("libb.so.1"),
            )
            .put("/opt/outer/libb.so.1", lib(a, "libb.so.1"))
            .put("/opt/inner/libb.so.1", lib(a, "libb.so.1"));
        c.check(
            &[
                "liba.so.1 => /opt/outer/liba.so.1",
                "libb.so.1 => /opt/inner/libb.so.1",
            ],
            0,
        );
    });
}

#[test]
fn runpath_suppresses_rpath_of_whole_chain() {
    both(|a| {
        let c = Case::new(a);
        c.app(exe(a).rpath("/opt/r").needs("liba.so.1"))
            .put(
                "/opt/r/liba.so.1",
                lib(a, "liba.so.1").runpath("/opt/empty").needs("libb.so.1"),
            )
            .put("/opt/r/libb.so.1", lib(a, "libb.so.1"));
        c.root.mkdir("/opt/empty");
        c.check(
            &["liba.so.1 => /opt/r/liba.so.1", "libb.so.1 => not found"],
            1,
        );
    });
}

#[test]
fn empty_runpath_still_suppresses_rpath() {
    both(|a| {
        let c = Case::new(a);
        c.app(exe(a).rpath("/opt/r").runpath("").needs("libx.so.1"))
            .put("/opt/r/libx.so.1", lib(a, "libx.so.1"));
        c.check(&["libx.so.1 => not found"], 1);
    });
}

/// glibc drops the program's DT_RPATH at start-up when it also has DT_RUNPATH
/// (`_dl_init_paths`), so no library inherits it either.
#[test]
fn rpath_of_program_with_runpath_is_never_used() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).rpath("/opt/r").runpath("/opt/rp").needs("liba.so.1"))
            .put(
                &format!("{d}/liba.so.1"),
                lib(a, "liba.so.1").needs("libq.so.1"),
            )
            .put("/opt/r/libq.so.1", lib(a, "libq.so.1"));
        c.root.mkdir("/opt/rp");
        c.check(
            &[
                &format!("liba.so.1 => {d}/liba.so.1"),
                "libq.so.1 => not found",
            ],
            1,
        );
    });
}

/// A library with both DT_RPATH and DT_RUNPATH: glibc forgets the DT_RPATH when it reads
/// the dynamic section (`elf_get_dynamic_info`), so it is not used for the library's own
/// needs nor inherited by what the library loads.
#[test]
fn rpath_of_library_with_runpath_is_not_inherited() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).needs("liba.so.1"))
            .put(
                &format!("{d}/liba.so.1"),
                lib(a, "liba.so.1")
                    .rpath("/opt/ar")
                    .runpath("/opt/arun")
                    .needs("libm2.so.1")
                    .needs("libown.so.1"),
            )
            .put(
                "/opt/arun/libm2.so.1",
                lib(a, "libm2.so.1").needs("libq.so.1"),
            )
            .put("/opt/ar/libq.so.1", lib(a, "libq.so.1"))
            .put("/opt/ar/libown.so.1", lib(a, "libown.so.1"));
        c.check(
            &[
                &format!("liba.so.1 => {d}/liba.so.1"),
                "libm2.so.1 => /opt/arun/libm2.so.1",
                "libown.so.1 => not found",
                "libq.so.1 => not found",
            ],
            1,
        );
    });
}

// ---------------------------------------------------------------------------------------
// 5. DT_RUNPATH of the requester only.

#[test]
fn runpath_of_requester_used() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).needs("liba.so.1"))
            .put(
                &format!("{d}/liba.so.1"),
                lib(a, "liba.so.1").runpath("/opt/lr").needs("libb.so.1"),
            )
            .put("/opt/lr/libb.so.1", lib(a, "libb.so.1"))
            .put(&format!("{d}/libb.so.1"), lib(a, "libb.so.1"));
        c.check(
            &[
                &format!("liba.so.1 => {d}/liba.so.1"),
                "libb.so.1 => /opt/lr/libb.so.1",
            ],
            0,
        );
    });
}

#[test]
fn runpath_not_inherited() {
    both(|a| {
        let c = Case::new(a);
        c.app(exe(a).runpath("/opt/rp").needs("liba.so.1"))
            .put("/opt/rp/liba.so.1", lib(a, "liba.so.1").needs("libb.so.1"))
            .put("/opt/rp/libb.so.1", lib(a, "libb.so.1"));
        c.check(
            &["liba.so.1 => /opt/rp/liba.so.1", "libb.so.1 => not found"],
            1,
        );
    });
}

// ---------------------------------------------------------------------------------------
// 4. LD_LIBRARY_PATH (--library-path): after DT_RPATH, before DT_RUNPATH and the cache.

#[test]
fn rpath_before_library_path() {
    both(|a| {
        let c = Case::new(a).library_path("/opt/llp");
        c.app(exe(a).rpath("/opt/r").needs("libx.so.1"))
            .put("/opt/r/libx.so.1", lib(a, "libx.so.1"))
            .put("/opt/llp/libx.so.1", lib(a, "libx.so.1"));
        c.check(&["libx.so.1 => /opt/r/libx.so.1"], 0);
    });
}

#[test]
fn library_path_before_runpath() {
    both(|a| {
        let c = Case::new(a).library_path("/opt/llp");
        c.app(exe(a).runpath("/opt/rp").needs("libx.so.1"))
            .put("/opt/rp/libx.so.1", lib(a, "libx.so.1"))
            .put("/opt/llp/libx.so.1", lib(a, "libx.so.1"));
        c.check(&["libx.so.1 => /opt/llp/libx.so.1"], 0);
    });
}

#[test]
fn library_path_before_cache() {
    both(|a| {
        let c = Case::new(a).library_path("/opt/llp");
        let u = dusr(a);
        c.app(exe(a).needs("libx.so.1"))
            .put(&format!("{u}/libx.so.1"), lib(a, "libx.so.1"))
            .put("/opt/llp/libx.so.1", lib(a, "libx.so.1"))
            .cache_new(&[("libx.so.1", &format!("{u}/libx.so.1"))]);
        c.check(&["libx.so.1 => /opt/llp/libx.so.1"], 0);
    });
}

#[test]
fn library_path_splits_on_colon_and_semicolon() {
    both(|a| {
        let c = Case::new(a).library_path("/opt/none;/opt/l2:/opt/l3");
        c.app(exe(a).needs("libx.so.1").needs("liby.so.1"))
            .put("/opt/l2/libx.so.1", lib(a, "libx.so.1"))
            .put("/opt/l3/liby.so.1", lib(a, "liby.so.1"))
            .put("/opt/l3/libx.so.1", lib(a, "libx.so.1"));
        c.check(
            &[
                "libx.so.1 => /opt/l2/libx.so.1",
                "liby.so.1 => /opt/l3/liby.so.1",
            ],
            0,
        );
    });
}

#[test]
fn library_path_origin_is_the_program_dir() {
    both(|a| {
        let c = Case::new(a).library_path("$ORIGIN/../lib");
        c.put("/opt/app/bin/app", exe(a).needs("libx.so.1"))
            .put("/opt/app/lib/libx.so.1", lib(a, "libx.so.1"));
        c.check_prog(
            "/opt/app/bin/app",
            &["libx.so.1 => /opt/app/bin/../lib/libx.so.1"],
            0,
        );
    });
}

#[test]
fn library_path_applies_to_every_requester() {
    both(|a| {
        let c = Case::new(a).library_path("/opt/llp");
        let d = dlib(a);
        c.app(exe(a).needs("liba.so.1"))
            .put(
                &format!("{d}/liba.so.1"),
                lib(a, "liba.so.1").runpath("/opt/lr").needs("libb.so.1"),
            )
            .put("/opt/llp/libb.so.1", lib(a, "libb.so.1"))
            .put("/opt/lr/libb.so.1", lib(a, "libb.so.1"));
        c.check(
            &[
                &format!("liba.so.1 => {d}/liba.so.1"),
                "libb.so.1 => /opt/llp/libb.so.1",
            ],
            0,
        );
    });
}

// ---------------------------------------------------------------------------------------
// 6. /etc/ld.so.cache of the root: new, old and compat formats; unusable caches skipped.

#[test]
fn cache_before_default_dirs() {
    both(|a| {
        let c = Case::new(a);
        let u = dusr(a);
        c.app(exe(a).needs("libx.so.1"))
            .put(&format!("{}/libx.so.1", dlib(a)), lib(a, "libx.so.1"))
            .put(&format!("{u}/libx.so.1"), lib(a, "libx.so.1"))
            .cache_new(&[("libx.so.1", &format!("{u}/libx.so.1"))]);
        c.check(&[&format!("libx.so.1 => {u}/libx.so.1")], 0);
    });
}

#[test]
fn cache_new_format() {
    both(|a| {
        let c = Case::new(a);
        c.app(exe(a).needs("libx.so.1").needs("liby.so.2"))
            .put("/opt/c/libx.so.1", lib(a, "libx.so.1"))
            .put("/opt/c/liby.so.2", lib(a, "liby.so.2"))
            .cache_new(&[
                ("libx.so.1", "/opt/c/libx.so.1"),
                ("liby.so.2", "/opt/c/liby.so.2"),
            ]);
        c.check(
            &[
                "libx.so.1 => /opt/c/libx.so.1",
                "liby.so.2 => /opt/c/liby.so.2",
            ],
            0,
        );
    });
}

#[test]
fn cache_old_format() {
    both(|a| {
        let c = Case::new(a);
        let f = a.cache_flags();
        c.app(exe(a).needs("libx.so.1").needs("liby.so.2"))
            .put("/opt/c/libx.so.1", lib(a, "libx.so.1"))
            .put("/opt/c/liby.so.2", lib(a, "liby.so.2"))
            .bytes(
                "/etc/ld.so.cache",
                &write_old_format(
                    &[
                        ("libx.so.1", "/opt/c/libx.so.1", f),
                        ("liby.so.2", "/opt/c/liby.so.2", f),
                    ],
                    a.char_is_signed(),
                    false,
                ),
            );
        c.check(
            &[
                "libx.so.1 => /opt/c/libx.so.1",
                "liby.so.2 => /opt/c/liby.so.2",
            ],
            0,
        );
    });
}

#[test]
fn cache_compat_format() {
    both(|a| {
        let c = Case::new(a);
        let f = a.cache_flags();
        c.app(exe(a).needs("libx.so.1").needs("liby.so.2"))
            .put("/opt/c/libx.so.1", lib(a, "libx.so.1"))
            .put("/opt/c/liby.so.2", lib(a, "liby.so.2"))
            .bytes(
                "/etc/ld.so.cache",
                &write_old_format(
                    &[
                        ("libx.so.1", "/opt/c/libx.so.1", f),
                        ("liby.so.2", "/opt/c/liby.so.2", f),
                    ],
                    a.char_is_signed(),
                    true,
                ),
            );
        c.check(
            &[
                "libx.so.1 => /opt/c/libx.so.1",
                "liby.so.2 => /opt/c/liby.so.2",
            ],
            0,
        );
    });
}

#[test]
fn cache_binary_search_over_many_entries() {
    both(|a| {
        let c = Case::new(a);
        let names: Vec<String> = (0..40).map(|i| format!("libn{i}.so.{}", i % 7)).collect();
        let paths: Vec<String> = names.iter().map(|n| format!("/opt/c/{n}")).collect();
        let entries: Vec<(&str, &str)> = names
            .iter()
            .zip(&paths)
            .map(|(n, p)| (n.as_str(), p.as_str()))
            .collect();
        c.cache_new(&entries);
        let wanted = [0, 1, 9, 10, 19, 20, 39];
        let mut prog = exe(a);
        for &i in &wanted {
            prog = prog.needs(&names[i]);
            c.put(&paths[i], lib(a, &names[i]));
        }
        c.app(prog.needs("libn40.so.5"));
        let mut expected: Vec<String> = wanted
            .iter()
            .map(|&i| format!("{} => {}", names[i], paths[i]))
            .collect();
        expected.push("libn40.so.5 => not found".into());
        let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        c.check(&expected, 1);
    });
}

#[test]
fn cache_entry_whose_file_is_missing_falls_back_to_default_dirs() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).needs("libx.so.1"))
            .put(&format!("{d}/libx.so.1"), lib(a, "libx.so.1"))
            .cache_new(&[("libx.so.1", "/opt/gone/libx.so.1")]);
        c.check(&[&format!("libx.so.1 => {d}/libx.so.1")], 0);
    });
}

#[test]
fn cache_entry_for_other_machine_file_falls_back_to_default_dirs() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).needs("libx.so.1"))
            .put("/opt/c/libx.so.1", lib(other(a), "libx.so.1"))
            .put(&format!("{d}/libx.so.1"), lib(a, "libx.so.1"))
            .cache_new(&[("libx.so.1", "/opt/c/libx.so.1")]);
        c.check(&[&format!("libx.so.1 => {d}/libx.so.1")], 0);
    });
}

#[test]
fn cache_of_other_arch_ignored() {
    both(|a| {
        let c = Case::new(a);
        let f = other(a).cache_flags();
        c.app(exe(a).needs("libx.so.1"))
            .put("/opt/c/libx.so.1", lib(a, "libx.so.1"))
            .bytes(
                "/etc/ld.so.cache",
                &write_new_format(
                    &[("libx.so.1", "/opt/c/libx.so.1", f, None)],
                    other(a).char_is_signed(),
                ),
            );
        c.check(&["libx.so.1 => not found"], 1);
    });
}

#[test]
fn aarch64_cache_flags() {
    let a = ARM;
    let c = Case::new(a);
    // Both architectures' entries for one name: the loader takes the one with its flags.
    c.app(exe(a).needs("libx.so.1"))
        .put("/opt/amd64/libx.so.1", lib(X86, "libx.so.1"))
        .put("/opt/arm64/libx.so.1", lib(a, "libx.so.1"))
        .bytes(
            "/etc/ld.so.cache",
            &write_new_format(
                &[
                    ("libx.so.1", "/opt/amd64/libx.so.1", X86.cache_flags(), None),
                    ("libx.so.1", "/opt/arm64/libx.so.1", a.cache_flags(), None),
                ],
                a.char_is_signed(),
            ),
        );
    c.check(&["libx.so.1 => /opt/arm64/libx.so.1"], 0);
}

#[test]
fn corrupt_cache_ignored() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        let mut junk = b"glibc-ld.so.cache1.1".to_vec();
        junk.extend_from_slice(&[0xff; 200]);
        c.app(exe(a).needs("libx.so.1").needs("liby.so.1"))
            .put(&format!("{d}/libx.so.1"), lib(a, "libx.so.1"))
            .put("/opt/c/liby.so.1", lib(a, "liby.so.1"))
            .bytes("/etc/ld.so.cache", &junk);
        c.check(
            &[
                &format!("libx.so.1 => {d}/libx.so.1"),
                "liby.so.1 => not found",
            ],
            1,
        );
    });
}

#[test]
fn empty_cache_file_ignored() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).needs("libx.so.1"))
            .put(&format!("{d}/libx.so.1"), lib(a, "libx.so.1"))
            .bytes("/etc/ld.so.cache", b"");
        c.check(&[&format!("libx.so.1 => {d}/libx.so.1")], 0);
    });
}

#[test]
fn cache_of_other_byte_order_ignored() {
    both(|a| {
        let c = Case::new(a);
        let mut data = write_new_format(
            &[("libx.so.1", "/opt/c/libx.so.1", a.cache_flags(), None)],
            a.char_is_signed(),
        );
        data[28] = 3; // flags: big endian
        c.app(exe(a).needs("libx.so.1"))
            .put("/opt/c/libx.so.1", lib(a, "libx.so.1"))
            .bytes("/etc/ld.so.cache", &data);
        c.check(&["libx.so.1 => not found"], 1);
    });
}

#[test]
fn missing_cache_falls_back_to_default_dirs() {
    both(|a| {
        let c = Case::new(a);
        let u = dusr(a);
        c.app(exe(a).needs("libx.so.1"))
            .put(&format!("{u}/libx.so.1"), lib(a, "libx.so.1"))
            .put("/opt/c/libx.so.1", lib(a, "libx.so.1"));
        c.check(&[&format!("libx.so.1 => {u}/libx.so.1")], 0);
    });
}

#[test]
fn cache_is_not_used_for_names_with_slash() {
    both(|a| {
        let c = Case::new(a);
        c.app(exe(a).needs("/opt/p/libx.so.1"))
            .put("/opt/c/libx.so.1", lib(a, "libx.so.1"))
            .cache_new(&[("/opt/p/libx.so.1", "/opt/c/libx.so.1")]);
        c.check(&["/opt/p/libx.so.1 => not found"], 1);
    });
}

#[test]
fn cache_hwcaps_entry_preferred() {
    let a = X86;
    let u = dusr(a);
    let v2 = format!("{u}/glibc-hwcaps/x86-64-v2/libx.so.1");
    let v3 = format!("{u}/glibc-hwcaps/x86-64-v3/libx.so.1");
    let plain = format!("{u}/libx.so.1");
    let build = |c: &Case| {
        let f = a.cache_flags();
        c.app(exe(a).needs("libx.so.1"))
            .put(&v2, lib(a, "libx.so.1"))
            .put(&v3, lib(a, "libx.so.1"))
            .put(&plain, lib(a, "libx.so.1"))
            .bytes(
                "/etc/ld.so.cache",
                &write_new_format(
                    &[
                        ("libx.so.1", &v2, f, Some("x86-64-v2")),
                        ("libx.so.1", &v3, f, Some("x86-64-v3")),
                        ("libx.so.1", &plain, f, None),
                    ],
                    true,
                ),
            );
    };
    for (level, want) in [
        ("x86-64-v4", &v3),
        ("x86-64-v3", &v3),
        ("x86-64-v2", &v2),
        ("baseline", &plain),
    ] {
        let c = Case::new(a).cpu_level(level);
        build(&c);
        c.check(&[&format!("libx.so.1 => {want}")], 0);
    }
    // This machine's CPU, as the real loader sees it.
    if host_cpu_has(V2_FLAGS) && host_cpu_has(V3_FLAGS) {
        let c = Case::new(a);
        build(&c);
        c.check(&[&format!("libx.so.1 => {v3}")], 0);
    }
}

#[test]
fn stale_cache_hint_from_ld_so_conf() {
    let a = X86;
    let c = Case::new(a);
    c.app(exe(a).needs("libx.so.1"))
        .put("/opt/conf/libx.so.1", lib(a, "libx.so.1"))
        .bytes("/etc/ld.so.conf", b"include /etc/ld.so.conf.d/*.conf\n")
        .bytes(
            "/etc/ld.so.conf.d/opt.conf",
            b"# ldconfig was not run\n/opt/conf\n",
        )
        .cache_new(&[("libother.so.1", "/opt/conf/libother.so.1")]);
    // The loader never reads ld.so.conf: the library is missing.
    c.check(&["libx.so.1 => not found"], 1);
    let (code, out, _) = c.trace("json", &["/usr/bin/app"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let m = &v["programs"][0]["missing"][0];
    assert_eq!(m["name"], "libx.so.1");
    assert_eq!(m["stale_cache"], "/opt/conf/libx.so.1");
    let (_, tree, _) = c.trace("tree", &["/usr/bin/app"]);
    assert!(
        tree.contains("note: libx.so.1 exists as /opt/conf/libx.so.1")
            && tree.contains("run ldconfig in the root"),
        "{tree}"
    );
}

/// Writes `bytes` at `inside`, a path of the root given as bytes (a name that is not
/// UTF-8), parents created, mode 0755.
fn write_raw(c: &Case, inside: &[u8], bytes: &[u8]) {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    let p = c
        .root
        .path()
        .join(std::ffi::OsStr::from_bytes(&inside[1..]));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// ld.so.conf names directories by their bytes: a directory whose name is not UTF-8
/// (Latin-1 `caf\xe9`) is the one on disk, so the hint finds the library in it (read as
/// U+FFFD, the directory did not exist and there was no hint).
#[test]
fn stale_cache_hint_from_a_non_utf8_directory_of_ld_so_conf() {
    let a = X86;
    let c = Case::new(a);
    c.app(exe(a).needs("libx.so.1"))
        .bytes("/etc/ld.so.conf", b"/opt/caf\xe9\n")
        .cache_new(&[("libother.so.1", "/opt/conf/libother.so.1")]);
    write_raw(&c, b"/opt/caf\xe9/libx.so.1", &lib(a, "libx.so.1").build());
    c.check(&["libx.so.1 => not found"], 1);
    let (code, out, _) = c.trace("json", &["/usr/bin/app"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let m = &v["programs"][0]["missing"][0];
    assert_eq!(m["name"], "libx.so.1");
    assert_eq!(m["stale_cache"], "/opt/caf\\xe9/libx.so.1", "{out}");
    let (_, tree, _) = c.trace("tree", &["/usr/bin/app"]);
    assert!(
        tree.contains("note: libx.so.1 exists as /opt/caf\\xe9/libx.so.1"),
        "{tree}"
    );
}

// ---------------------------------------------------------------------------------------
// DF_1_NODEFLIB: no cache entry in a default directory, no default directories.

#[test]
fn nodeflib_skips_cache_entries_in_default_dirs_only() {
    both(|a| {
        let c = Case::new(a);
        let u = dusr(a);
        c.app(
            exe(a)
                .flags_1(DF_1_NODEFLIB)
                .needs("liba.so.1")
                .needs("libb.so.1"),
        )
        .put("/opt/c/liba.so.1", lib(a, "liba.so.1"))
        .put(&format!("{u}/libb.so.1"), lib(a, "libb.so.1"))
        .cache_new(&[
            ("liba.so.1", "/opt/c/liba.so.1"),
            ("libb.so.1", &format!("{u}/libb.so.1")),
        ]);
        c.check(
            &["liba.so.1 => /opt/c/liba.so.1", "libb.so.1 => not found"],
            1,
        );
    });
}

#[test]
fn nodeflib_skips_default_dirs() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(
            exe(a)
                .flags_1(DF_1_NODEFLIB)
                .runpath("/opt/rp")
                .needs("libz.so.1")
                .needs("liby.so.1"),
        )
        .put(&format!("{d}/libz.so.1"), lib(a, "libz.so.1"))
        .put(&format!("{d}/liby.so.1"), lib(a, "liby.so.1"))
        .put("/opt/rp/liby.so.1", lib(a, "liby.so.1"));
        c.check(
            &["libz.so.1 => not found", "liby.so.1 => /opt/rp/liby.so.1"],
            1,
        );
    });
}

#[test]
fn nodeflib_is_per_requester() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(
            exe(a)
                .flags_1(DF_1_NODEFLIB)
                .rpath("/opt/r")
                .needs("liba.so.1"),
        )
        .put("/opt/r/liba.so.1", lib(a, "liba.so.1").needs("libz.so.1"))
        .put(&format!("{d}/libz.so.1"), lib(a, "libz.so.1"));
        c.check(
            &[
                "liba.so.1 => /opt/r/liba.so.1",
                &format!("libz.so.1 => {d}/libz.so.1"),
            ],
            0,
        );
    });
}

// ---------------------------------------------------------------------------------------
// 7. Default directories: multiarch dirs, then /lib, then /usr/lib.

fn default_dirs_case(a: Arch) {
    let c = Case::new(a);
    let (d, u) = (dlib(a), dusr(a));
    c.app(
        exe(a)
            .needs("liba.so.1")
            .needs("libb.so.1")
            .needs("libc2.so.1")
            .needs("libd.so.1"),
    )
    .put(&format!("{d}/liba.so.1"), lib(a, "liba.so.1"))
    .put(&format!("{u}/liba.so.1"), lib(a, "liba.so.1"))
    .put(&format!("{u}/libb.so.1"), lib(a, "libb.so.1"))
    .put("/lib/libb.so.1", lib(a, "libb.so.1"))
    .put("/lib/libc2.so.1", lib(a, "libc2.so.1"))
    .put("/usr/lib/libc2.so.1", lib(a, "libc2.so.1"))
    .put("/usr/lib/libd.so.1", lib(a, "libd.so.1"))
    .put("/usr/local/lib/libd.so.1", lib(a, "libd.so.1"));
    c.check(
        &[
            &format!("liba.so.1 => {d}/liba.so.1"),
            &format!("libb.so.1 => {u}/libb.so.1"),
            "libc2.so.1 => /lib/libc2.so.1",
            "libd.so.1 => /usr/lib/libd.so.1",
        ],
        0,
    );
}

#[test]
fn default_dirs_multiarch_then_lib_then_usr_lib() {
    default_dirs_case(X86);
}

#[test]
fn aarch64_root_default_dirs() {
    default_dirs_case(ARM);
}

#[test]
fn usrmerge_lib_symlink() {
    both(|a| {
        let c = Case::usrmerged(a);
        let u = dusr(a);
        c.app(exe(a).needs("libx.so.1"))
            .put(&format!("{u}/libx.so.1"), lib(a, "libx.so.1"));
        c.check(&[&format!("libx.so.1 => {}/libx.so.1", dlib(a))], 0);
    });
}

// ---------------------------------------------------------------------------------------
// Subdirectories of every search directory: glibc-hwcaps (x86_64 levels), then the legacy
// tls/ and platform subdirectories of glibc 2.36, then the directory itself.

#[test]
fn hwcaps_subdir_preferred() {
    let a = X86;
    let d = dlib(a);
    for (level, want) in [
        ("x86-64-v4", format!("{d}/glibc-hwcaps/x86-64-v4/libx.so.1")),
        ("x86-64-v3", format!("{d}/glibc-hwcaps/x86-64-v3/libx.so.1")),
        ("x86-64-v2", format!("{d}/glibc-hwcaps/x86-64-v2/libx.so.1")),
        ("baseline", format!("{d}/libx.so.1")),
    ] {
        let c = Case::new(a).cpu_level(level);
        c.app(exe(a).needs("libx.so.1"));
        for sub in [
            "glibc-hwcaps/x86-64-v4/",
            "glibc-hwcaps/x86-64-v3/",
            "glibc-hwcaps/x86-64-v2/",
            "",
        ] {
            c.put(&format!("{d}/{sub}libx.so.1"), lib(a, "libx.so.1"));
        }
        c.check(&[&format!("libx.so.1 => {want}")], 0);
    }
}

#[test]
fn hwcaps_subdir_of_this_cpu_in_every_search_dir() {
    let a = X86;
    if !host_cpu_has(V2_FLAGS) {
        eprintln!("SKIP: this CPU is not x86-64-v2");
        return;
    }
    let d = dlib(a);
    let c = Case::new(a);
    c.app(exe(a).rpath("/opt/r").needs("libx.so.1").needs("liby.so.1"))
        .put(
            &format!("{d}/glibc-hwcaps/x86-64-v2/libx.so.1"),
            lib(a, "libx.so.1"),
        )
        .put(&format!("{d}/libx.so.1"), lib(a, "libx.so.1"))
        .put(
            "/opt/r/glibc-hwcaps/x86-64-v2/liby.so.1",
            lib(a, "liby.so.1"),
        )
        .put("/opt/r/liby.so.1", lib(a, "liby.so.1"));
    c.check(
        &[
            &format!("libx.so.1 => {d}/glibc-hwcaps/x86-64-v2/libx.so.1"),
            "liby.so.1 => /opt/r/glibc-hwcaps/x86-64-v2/liby.so.1",
        ],
        0,
    );
}

#[test]
fn hwcaps_subdir_before_legacy_subdirs() {
    let a = X86;
    if !host_cpu_has(V2_FLAGS) {
        eprintln!("SKIP: this CPU is not x86-64-v2");
        return;
    }
    let d = dlib(a);
    let c = Case::new(a);
    c.app(exe(a).needs("libx.so.1"))
        .put(&format!("{d}/tls/libx.so.1"), lib(a, "libx.so.1"))
        .put(&format!("{d}/x86_64/libx.so.1"), lib(a, "libx.so.1"))
        .put(
            &format!("{d}/glibc-hwcaps/x86-64-v2/libx.so.1"),
            lib(a, "libx.so.1"),
        );
    c.check(
        &[&format!(
            "libx.so.1 => {d}/glibc-hwcaps/x86-64-v2/libx.so.1"
        )],
        0,
    );
}

#[test]
fn hwcaps_subdirs_beyond_cpu_level_not_searched() {
    let a = X86;
    let d = dlib(a);
    let c = Case::new(a).cpu_level("x86-64-v2");
    c.app(exe(a).needs("libx.so.1"))
        .put(
            &format!("{d}/glibc-hwcaps/x86-64-v3/libx.so.1"),
            lib(a, "libx.so.1"),
        )
        .put(
            &format!("{d}/glibc-hwcaps/x86-64-v4/libx.so.1"),
            lib(a, "libx.so.1"),
        );
    c.check(&["libx.so.1 => not found"], 1);
}

#[test]
fn legacy_tls_subdir_searched() {
    both(|a| {
        let d = dlib(a);
        let c = Case::new(a);
        c.app(exe(a).needs("libx.so.1"))
            .put(&format!("{d}/tls/libx.so.1"), lib(a, "libx.so.1"))
            .put(&format!("{d}/libx.so.1"), lib(a, "libx.so.1"));
        c.check(&[&format!("libx.so.1 => {d}/tls/libx.so.1")], 0);
    });
}

#[test]
fn legacy_platform_subdir_searched() {
    both(|a| {
        let d = dlib(a);
        let p = platform(a);
        let c = Case::new(a);
        c.app(exe(a).rpath("/opt/r").needs("libx.so.1").needs("liby.so.1"))
            .put(&format!("{d}/{p}/libx.so.1"), lib(a, "libx.so.1"))
            .put(&format!("{d}/libx.so.1"), lib(a, "libx.so.1"))
            .put(&format!("/opt/r/{p}/liby.so.1"), lib(a, "liby.so.1"))
            .put("/opt/r/liby.so.1", lib(a, "liby.so.1"));
        c.check(
            &[
                &format!("libx.so.1 => {d}/{p}/libx.so.1"),
                &format!("liby.so.1 => /opt/r/{p}/liby.so.1"),
            ],
            0,
        );
    });
}

#[test]
fn legacy_tls_platform_before_tls_before_platform() {
    both(|a| {
        let d = dlib(a);
        let p = platform(a);
        let c = Case::new(a);
        c.app(exe(a).needs("liba.so.1").needs("libb.so.1"))
            .put(&format!("{d}/tls/{p}/liba.so.1"), lib(a, "liba.so.1"))
            .put(&format!("{d}/tls/liba.so.1"), lib(a, "liba.so.1"))
            .put(&format!("{d}/tls/libb.so.1"), lib(a, "libb.so.1"))
            .put(&format!("{d}/{p}/libb.so.1"), lib(a, "libb.so.1"));
        c.check(
            &[
                &format!("liba.so.1 => {d}/tls/{p}/liba.so.1"),
                &format!("libb.so.1 => {d}/tls/libb.so.1"),
            ],
            0,
        );
    });
}

#[test]
fn aarch64_atomics_subdir_by_cpu_level() {
    let a = ARM;
    let d = dlib(a);
    let build = |c: &Case| {
        c.app(exe(a).needs("libx.so.1"))
            .put(&format!("{d}/atomics/libx.so.1"), lib(a, "libx.so.1"))
            .put(&format!("{d}/libx.so.1"), lib(a, "libx.so.1"));
    };
    // qemu-user's CPU has LSE atomics, so the real loader can be asked about this one.
    let c = Case::new(a).cpu_level_matching_real("atomics");
    build(&c);
    c.check(&[&format!("libx.so.1 => {d}/atomics/libx.so.1")], 0);
    let c = Case::new(a).cpu_level("baseline");
    build(&c);
    c.check(&[&format!("libx.so.1 => {d}/libx.so.1")], 0);
}

#[test]
fn aarch64_has_no_glibc_hwcaps_subdirs() {
    let a = ARM;
    let d = dlib(a);
    let c = Case::new(a).cpu_level_matching_real("atomics");
    c.app(exe(a).needs("libx.so.1"))
        .put(
            &format!("{d}/glibc-hwcaps/atomics/libx.so.1"),
            lib(a, "libx.so.1"),
        )
        .put(
            &format!("{d}/glibc-hwcaps/aarch64/libx.so.1"),
            lib(a, "libx.so.1"),
        )
        .put(&format!("{d}/libx.so.1"), lib(a, "libx.so.1"));
    c.check(&[&format!("libx.so.1 => {d}/libx.so.1")], 0);
}

// ---------------------------------------------------------------------------------------
// Dynamic string tokens: $ORIGIN, $LIB, $PLATFORM; empty elements.

#[test]
fn origin_of_main_is_its_realpath_dir() {
    both(|a| {
        let c = Case::new(a);
        // /usr/bin/../lib would be /usr/lib: the program's $ORIGIN is where the link
        // points to, /opt/app/bin.
        c.put(
            "/opt/app/bin/app",
            exe(a).rpath("$ORIGIN/../lib").needs("libx.so.1"),
        )
        .link("/usr/bin/app", "../../opt/app/bin/app")
        .put("/opt/app/lib/libx.so.1", lib(a, "libx.so.1"))
        .put("/usr/lib/libx.so.1", lib(a, "libx.so.1"));
        c.check(&["libx.so.1 => /opt/app/bin/../lib/libx.so.1"], 0);
    });
}

#[test]
fn origin_of_library_is_dir_it_was_found_under_not_realpath() {
    both(|a| {
        let c = Case::new(a);
        c.app(exe(a).rpath("/opt/link").needs("liba.so.1"))
            .put(
                "/opt/real/liba.so.1",
                lib(a, "liba.so.1").rpath("$ORIGIN/sub").needs("libb.so.1"),
            )
            .link("/opt/link/liba.so.1", "../real/liba.so.1")
            .put("/opt/link/sub/libb.so.1", lib(a, "libb.so.1"))
            .put("/opt/real/sub/libb.so.1", lib(a, "libb.so.1"));
        c.check(
            &[
                "liba.so.1 => /opt/link/liba.so.1",
                "libb.so.1 => /opt/link/sub/libb.so.1",
            ],
            0,
        );
    });
}

/// `..` after a directory symlink is applied by the kernel to the link's target, not
/// textually: `/opt/link/../x` with `/opt/link -> /srv/deep/real` is `/srv/deep/x`.
#[test]
fn dotdot_after_a_directory_link_is_resolved_by_the_kernel() {
    both(|a| {
        let c = Case::new(a);
        c.app(exe(a).rpath("/opt/link").needs("liba.so.1"))
            .put(
                "/srv/deep/real/liba.so.1",
                lib(a, "liba.so.1")
                    .runpath("$ORIGIN/../x")
                    .needs("libb.so.1")
                    .needs("libc3.so.1"),
            )
            .link("/opt/link", "/srv/deep/real")
            .put("/srv/deep/x/libb.so.1", lib(a, "libb.so.1"))
            .put("/opt/x/libc3.so.1", lib(a, "libc3.so.1"));
        c.check(
            &[
                "liba.so.1 => /opt/link/liba.so.1",
                "libb.so.1 => /opt/link/../x/libb.so.1",
                "libc3.so.1 => not found",
            ],
            1,
        );
    });
}

#[test]
fn curly_origin() {
    both(|a| {
        let c = Case::new(a);
        c.put(
            "/opt/app/bin/app",
            exe(a).runpath("${ORIGIN}/../lib").needs("libx.so.1"),
        )
        .put("/opt/app/lib/libx.so.1", lib(a, "libx.so.1"));
        c.check_prog(
            "/opt/app/bin/app",
            &["libx.so.1 => /opt/app/bin/../lib/libx.so.1"],
            0,
        );
    });
}

#[test]
fn dollar_lib_expands_to_multiarch() {
    both(|a| {
        let c = Case::new(a);
        let t = a.triplet();
        c.app(
            exe(a)
                .rpath("/opt/$LIB")
                .needs("libx.so.1")
                .needs("liby.so.1"),
        )
        .put(&format!("/opt/lib/{t}/libx.so.1"), lib(a, "libx.so.1"))
        .put("/opt/lib/liby.so.1", lib(a, "liby.so.1"));
        c.check(
            &[
                &format!("libx.so.1 => /opt/lib/{t}/libx.so.1"),
                "liby.so.1 => not found",
            ],
            1,
        );
    });
}

#[test]
fn dollar_platform() {
    both(|a| {
        let c = Case::new(a);
        let p = platform(a);
        c.app(
            exe(a)
                .rpath("/opt/$PLATFORM/a:/opt/${PLATFORM}b")
                .needs("libx.so.1")
                .needs("liby.so.1"),
        )
        .put(&format!("/opt/{p}/a/libx.so.1"), lib(a, "libx.so.1"))
        .put(&format!("/opt/{p}b/liby.so.1"), lib(a, "liby.so.1"));
        c.check(
            &[
                &format!("libx.so.1 => /opt/{p}/a/libx.so.1"),
                &format!("liby.so.1 => /opt/{p}b/liby.so.1"),
            ],
            0,
        );
    });
}

#[test]
fn dst_followed_by_identifier_char_is_literal() {
    both(|a| {
        let c = Case::new(a);
        c.app(
            exe(a)
                .rpath("/opt/$ORIGINAL:/opt/$LIBS")
                .needs("libx.so.1")
                .needs("liby.so.1"),
        )
        .put("/opt/$ORIGINAL/libx.so.1", lib(a, "libx.so.1"))
        .put("/opt/$LIBS/liby.so.1", lib(a, "liby.so.1"));
        c.check(
            &[
                "libx.so.1 => /opt/$ORIGINAL/libx.so.1",
                "liby.so.1 => /opt/$LIBS/liby.so.1",
            ],
            0,
        );
    });
}

#[test]
fn empty_rpath_element_is_cwd() {
    both(|a| {
        let c = Case::new(a);
        c.app(exe(a).rpath("/opt/none:").needs("libx.so.1"))
            .put("/libx.so.1", lib(a, "libx.so.1"))
            .put(&format!("{}/libx.so.1", dlib(a)), lib(a, "libx.so.1"));
        c.check(&["libx.so.1 => /libx.so.1"], 0);
    });
}

#[test]
fn empty_runpath_element_is_cwd() {
    both(|a| {
        let c = Case::new(a);
        c.app(exe(a).runpath(":/opt/none").needs("libx.so.1"))
            .put("/libx.so.1", lib(a, "libx.so.1"));
        c.check(&["libx.so.1 => /libx.so.1"], 0);
    });
}

// ---------------------------------------------------------------------------------------
// Candidates: another class or machine is skipped; anything else that is not a loadable
// object stops the loader.

/// The 32-bit machine of the same family (EM_386, EM_ARM).
fn elf32_machine(a: Arch) -> u16 {
    match a {
        Arch::X86_64 => 3,
        Arch::Aarch64 => 40,
    }
}

#[test]
fn wrong_class_candidate_skipped() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        let mut elf32 = Synth::lib(elf32_machine(a), "libx.so.1");
        elf32.class64 = false;
        c.app(exe(a).rpath("/opt/r").needs("libx.so.1"))
            .put("/opt/r/libx.so.1", elf32)
            .put(&format!("{d}/libx.so.1"), lib(a, "libx.so.1"));
        c.check(&[&format!("libx.so.1 => {d}/libx.so.1")], 0);
    });
}

#[test]
fn wrong_machine_candidate_skipped() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).rpath("/opt/r").needs("libx.so.1"))
            .put("/opt/r/libx.so.1", lib(other(a), "libx.so.1"))
            .put(&format!("{d}/tls/libx.so.1"), lib(other(a), "libx.so.1"))
            .put(&format!("{d}/libx.so.1"), lib(a, "libx.so.1"));
        c.check(&[&format!("libx.so.1 => {d}/libx.so.1")], 0);
    });
}

/// Debian's glibc skips a candidate of another machine even when its byte order is also
/// different (upstream would stop with "ELF file data encoding not little-endian").
#[test]
fn big_endian_candidate_of_other_machine_skipped() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        let mut ppc64 = Synth::lib(21, "libx.so.1");
        ppc64.big_endian = true;
        c.app(exe(a).rpath("/opt/r").needs("libx.so.1"))
            .put("/opt/r/libx.so.1", ppc64)
            .put(&format!("{d}/libx.so.1"), lib(a, "libx.so.1"));
        c.check(&[&format!("libx.so.1 => {d}/libx.so.1")], 0);
    });
}

#[test]
fn non_elf_candidate_stops_loader() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).needs("liba.so.1").rpath("/opt/r").needs("libx.so.1"))
            .put(&format!("{d}/liba.so.1"), lib(a, "liba.so.1"))
            .bytes(
                "/opt/r/libx.so.1",
                &b"INPUT(-lfoo) /* a linker script */\n".repeat(4),
            )
            .put(&format!("{d}/libx.so.1"), lib(a, "libx.so.1"));
        c.check_fatal(
            &[
                &format!("liba.so.1 => {d}/liba.so.1"),
                "libx.so.1 => error: /opt/r/libx.so.1: invalid ELF header",
            ],
            "invalid ELF header",
        );
    });
}

#[test]
fn truncated_candidate_stops_loader() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).rpath("/opt/r").needs("libx.so.1"))
            .bytes("/opt/r/libx.so.1", b"\x7fELF\x02\x01\x01")
            .put(&format!("{d}/libx.so.1"), lib(a, "libx.so.1"));
        c.check_fatal(
            &["libx.so.1 => error: /opt/r/libx.so.1: file too short"],
            "file too short",
        );
    });
}

/// The loader reads e_machine in its own byte order: a big-endian object of the same
/// machine (EM_X86_64 stored as 0x003e reads 0x3e00) is another machine, and skipped.
#[test]
fn big_endian_candidate_of_same_machine_skipped() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        let mut be = lib(a, "libx.so.1");
        be.big_endian = true;
        c.app(exe(a).rpath("/opt/r").needs("libx.so.1"))
            .put("/opt/r/libx.so.1", be)
            .put(&format!("{d}/libx.so.1"), lib(a, "libx.so.1"));
        c.check(&[&format!("libx.so.1 => {d}/libx.so.1")], 0);
    });
}

/// A little-endian object of this machine whose EI_DATA says big-endian is this
/// machine's, with a bad identification: the loader stops.
#[test]
fn wrong_data_encoding_of_same_machine_stops_loader() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        let mut bytes = lib(a, "libx.so.1").build();
        bytes[5] = 2; // EI_DATA = ELFDATA2MSB
        c.app(exe(a).rpath("/opt/r").needs("libx.so.1"))
            .bytes("/opt/r/libx.so.1", &bytes)
            .put(&format!("{d}/libx.so.1"), lib(a, "libx.so.1"));
        c.check_fatal(
            &["libx.so.1 => error: /opt/r/libx.so.1: ELF file data encoding not little-endian"],
            "ELF file data encoding not little-endian",
        );
    });
}

#[test]
fn directory_candidate_stops_loader() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).rpath("/opt/r").needs("libx.so.1"))
            .put(&format!("{d}/libx.so.1"), lib(a, "libx.so.1"));
        c.root.mkdir("/opt/r/libx.so.1");
        c.check_fatal(
            &["libx.so.1 => error: /opt/r/libx.so.1: cannot read file data: Is a directory"],
            // ld.so has no strerror table: it prints "Error 21" (EISDIR).
            "cannot read file data",
        );
    });
}

#[test]
fn executable_as_library_stops_loader() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        let mut et_exec = lib(a, "libx.so.1");
        et_exec.e_type = 2;
        c.app(exe(a).needs("libx.so.1"))
            .put(&format!("{d}/libx.so.1"), et_exec);
        c.check_fatal(
            &[&format!(
                "libx.so.1 => error: {d}/libx.so.1: cannot dynamically load executable"
            )],
            "cannot dynamically load executable",
        );
    });
}

#[test]
fn pie_as_library_stops_loader() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).needs("libx.so.1"))
            .put(&format!("{d}/libx.so.1"), exe(a));
        c.check_fatal(
            &[&format!(
                "libx.so.1 => error: {d}/libx.so.1: cannot dynamically load position-independent executable"
            )],
            "cannot dynamically load position-independent executable",
        );
    });
}

// ---------------------------------------------------------------------------------------
// DT_FILTER / DT_AUXILIARY: filtees are loaded and put before their filter.

#[test]
fn filter_loaded_before_filter_object() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).needs("libf.so.1").needs("libz.so.1"))
            .put(
                &format!("{d}/libf.so.1"),
                lib(a, "libf.so.1").filter("libimpl.so.1"),
            )
            .put(&format!("{d}/libimpl.so.1"), lib(a, "libimpl.so.1"))
            .put(&format!("{d}/libz.so.1"), lib(a, "libz.so.1"));
        c.check(
            &[
                &format!("libimpl.so.1 => {d}/libimpl.so.1"),
                &format!("libf.so.1 => {d}/libf.so.1"),
                &format!("libz.so.1 => {d}/libz.so.1"),
            ],
            0,
        );
    });
}

#[test]
fn filtee_already_in_list_moves_before_filter() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).needs("libf.so.1").needs("libimpl.so.1"))
            .put(
                &format!("{d}/libf.so.1"),
                lib(a, "libf.so.1").filter("libimpl.so.1"),
            )
            .put(&format!("{d}/libimpl.so.1"), lib(a, "libimpl.so.1"));
        c.check(
            &[
                &format!("libimpl.so.1 => {d}/libimpl.so.1"),
                &format!("libf.so.1 => {d}/libf.so.1"),
            ],
            0,
        );
    });
}

#[test]
fn auxiliary_found_is_loaded_before_filter_object() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).needs("libf.so.1"))
            .put(
                &format!("{d}/libf.so.1"),
                lib(a, "libf.so.1").auxiliary("libaux.so.1"),
            )
            .put(&format!("{d}/libaux.so.1"), lib(a, "libaux.so.1"));
        c.check(
            &[
                &format!("libaux.so.1 => {d}/libaux.so.1"),
                &format!("libf.so.1 => {d}/libf.so.1"),
            ],
            0,
        );
    });
}

#[test]
fn auxiliary_missing_is_not_fatal() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).needs("libf.so.1").needs("libz.so.1"))
            .put(
                &format!("{d}/libf.so.1"),
                lib(a, "libf.so.1").auxiliary("libaux.so.1"),
            )
            .put(&format!("{d}/libz.so.1"), lib(a, "libz.so.1"));
        c.check(
            &[
                "libaux.so.1 => not found",
                &format!("libf.so.1 => {d}/libf.so.1"),
                &format!("libz.so.1 => {d}/libz.so.1"),
            ],
            0,
        );
    });
}

#[test]
fn missing_filtee_is_listed_not_found() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).needs("libf.so.1")).put(
            &format!("{d}/libf.so.1"),
            lib(a, "libf.so.1").filter("libgone.so.1"),
        );
        c.check(
            &[
                "libgone.so.1 => not found",
                &format!("libf.so.1 => {d}/libf.so.1"),
            ],
            1,
        );
    });
}

/// A filtee of the program is loaded and put before the program in the loader's list,
/// where ldd's listing (which starts after the program) does not show it. minroot lists
/// it, because it is loaded (and must be in the layer); the real loader's LD_DEBUG=files
/// shows that it maps it.
#[test]
fn filtee_of_program_is_loaded_though_ldd_does_not_list_it() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).filter("libimpl.so.1").needs("liba.so.1"))
            .put(&format!("{d}/libimpl.so.1"), lib(a, "libimpl.so.1"))
            .put(&format!("{d}/liba.so.1"), lib(a, "liba.so.1"));
        let (code, out, err) = c.trace("list", &["/usr/bin/app"]);
        assert_eq!(
            out,
            format!("libimpl.so.1 => {d}/libimpl.so.1\nliba.so.1 => {d}/liba.so.1\n"),
            "{err}"
        );
        assert_eq!(code, 0);
        if !c.real_loader_available() {
            return;
        }
        let listed = real_list(c.root.path(), a, "/usr/bin/app", &[]).expect("real loader");
        assert_eq!(
            common::canonical_lines(c.root.path(), &listed),
            common::canonical_lines(c.root.path(), &common::parse_list(&out)[1..]),
        );
        let debug = run_in_root(
            c.root.path(),
            a,
            "/usr/bin/app",
            &[("LD_TRACE_LOADED_OBJECTS", "1"), ("LD_DEBUG", "files")],
        );
        let stderr = String::from_utf8_lossy(&debug.stderr);
        assert!(
            stderr.contains("file=libimpl.so.1 [0];  generating link map"),
            "LD_DEBUG=files of the real loader: {stderr}"
        );
    });
}

// ---------------------------------------------------------------------------------------
// Symlinks are resolved inside the root: absolute targets restart at the root, `..`
// never leaves it, a loop is an error.

/// The canonical path minroot reports for each loaded object (JSON `realpath`).
fn realpaths(c: &Case, prog: &str) -> Vec<(String, String)> {
    let (_, out, err) = c.trace("json", &[prog]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
    v["programs"][0]["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap_or_default().to_string(),
                o["realpath"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn symlink_escaping_root_stays_inside() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).needs("libx.so.1"))
            .link(
                &format!("{d}/libx.so.1"),
                "../../../../../../../../opt/x/libx.so.1",
            )
            .put("/opt/x/libx.so.1", lib(a, "libx.so.1"));
        c.check(&[&format!("libx.so.1 => {d}/libx.so.1")], 0);
        assert_eq!(
            realpaths(&c, "/usr/bin/app"),
            [("libx.so.1".to_string(), "/opt/x/libx.so.1".to_string())]
        );
    });
}

#[test]
fn absolute_symlink_target_restarts_at_root() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        // /srv/minroot-test exists only in the root, never on the host.
        c.app(exe(a).needs("libx.so.1"))
            .link(&format!("{d}/libx.so.1"), "/srv/minroot-test/libx.so.1.2")
            .put("/srv/minroot-test/libx.so.1.2", lib(a, "libx.so.1"));
        c.check(&[&format!("libx.so.1 => {d}/libx.so.1")], 0);
        assert_eq!(
            realpaths(&c, "/usr/bin/app"),
            [(
                "libx.so.1".to_string(),
                "/srv/minroot-test/libx.so.1.2".to_string()
            )]
        );
    });
}

/// A candidate that is a symlink loop fails to open with ELOOP, which is not ENOENT or
/// EACCES: glibc's `open_path` gives up the rest of that list of directories (here: the
/// default directories, so /usr/lib/<triplet>/libx.so.1 is never tried), and the next
/// step of the search goes on (for liby.so.1: from DT_RPATH to the default directories).
#[test]
fn symlink_loop_is_an_error_not_a_hang() {
    both(|a| {
        let c = Case::new(a);
        let (d, u) = (dlib(a), dusr(a));
        c.app(
            exe(a)
                .rpath("/opt/loop:/opt/good")
                .needs("libx.so.1")
                .needs("liby.so.1"),
        )
        .link(&format!("{d}/libx.so.1"), "libx.so.1")
        .put(&format!("{u}/libx.so.1"), lib(a, "libx.so.1"))
        .link("/opt/loop/liby.so.1", "liby2.so.1")
        .link("/opt/loop/liby2.so.1", "liby.so.1")
        .put("/opt/good/liby.so.1", lib(a, "liby.so.1"))
        .put(&format!("{d}/liby.so.1"), lib(a, "liby.so.1"));
        c.check(
            &[
                "libx.so.1 => not found",
                &format!("liby.so.1 => {d}/liby.so.1"),
            ],
            1,
        );
    });
}

// ---------------------------------------------------------------------------------------
// Exit status and output formats.

#[test]
fn missing_library_exit_1() {
    both(|a| {
        let c = Case::new(a);
        c.app(exe(a).needs("libnope.so.1"));
        c.check(&["libnope.so.1 => not found"], 1);
        let (code, out, _) = c.trace("json", &["/usr/bin/app"]);
        assert_eq!(code, 1);
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        let p = &v["programs"][0];
        assert_eq!(p["complete"], false);
        let m = &p["missing"][0];
        assert_eq!(m["name"], "libnope.so.1");
        assert_eq!(m["requested_by"], "/usr/bin/app");
        let tried: Vec<(&str, &str)> = m["tried"]
            .as_array()
            .expect("tried")
            .iter()
            .map(|t| (t["dir"].as_str().unwrap(), t["via"].as_str().unwrap()))
            .collect();
        let (d, u) = (format!("{}/", dlib(a)), format!("{}/", dusr(a)));
        assert_eq!(
            tried,
            [
                (d.as_str(), "default dir"),
                (u.as_str(), "default dir"),
                ("/lib/", "default dir"),
                ("/usr/lib/", "default dir"),
            ]
        );
    });
}

#[test]
fn static_binary_exit_0() {
    both(|a| {
        let c = Case::new(a);
        let mut s = exe(a);
        s.interp = None;
        c.app(s);
        // A static program cannot be listed by its loader (it has none): minroot only.
        let (code, out, err) = c.trace("list", &["/usr/bin/app"]);
        assert_eq!((code, out.as_str()), (0, ""), "{err}");
        let (code, out, _) = c.trace("json", &["/usr/bin/app"]);
        assert_eq!(code, 0);
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(v["programs"][0]["static"], true);
        assert_eq!(v["programs"][0]["objects"], serde_json::json!([]));
    });
}

#[test]
fn interpreter_missing_exit_1() {
    both(|a| {
        let c = Case::without_loader(a);
        let d = dlib(a);
        c.app(exe(a).needs("libx.so.1"))
            .put(&format!("{d}/libx.so.1"), lib(a, "libx.so.1"));
        let (code, out, err) = c.trace("list", &["/usr/bin/app"]);
        assert_eq!(out, format!("libx.so.1 => {d}/libx.so.1\n"), "{err}");
        assert_eq!(code, 1);
        let (_, out, _) = c.trace("json", &["/usr/bin/app"]);
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        let i = &v["programs"][0]["interpreter"];
        assert_eq!(i["path"], a.loader_path());
        assert_eq!(i["found"], false);
        // The kernel cannot start the program either.
        let tools_ok = common::require("bwrap (and qemu-user)", common::can_run_loader(a));
        if tools_ok {
            let r = real_list(c.root.path(), a, "/usr/bin/app", &[]);
            assert!(r.is_err(), "{r:?}");
        }
    });
}

#[test]
fn json_reports_rpath_owner_and_unexpanded_entry() {
    both(|a| {
        let c = Case::new(a);
        c.put(
            "/opt/app/bin/app",
            exe(a).rpath("$ORIGIN/../lib:/opt/other").needs("liba.so.1"),
        )
        .put(
            "/opt/app/lib/liba.so.1",
            lib(a, "liba.so.1").needs("libb.so.1"),
        )
        .put("/opt/other/libb.so.1", lib(a, "libb.so.1"));
        c.check_prog(
            "/opt/app/bin/app",
            &[
                "liba.so.1 => /opt/app/bin/../lib/liba.so.1",
                "libb.so.1 => /opt/other/libb.so.1",
            ],
            0,
        );
        let (_, out, _) = c.trace("json", &["/opt/app/bin/app"]);
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        let objs = &v["programs"][0]["objects"];
        assert_eq!(
            objs[0]["reason"],
            serde_json::json!({
                "kind": "rpath",
                "owner": "/opt/app/bin/app",
                "entry": "$ORIGIN/../lib",
                "dir": "/opt/app/bin/../lib/",
            })
        );
        assert_eq!(objs[0]["realpath"], "/opt/app/lib/liba.so.1");
        assert_eq!(objs[0]["requested_by"], "/opt/app/bin/app");
        // Inherited: the owner is the program, the requester liba.
        assert_eq!(
            objs[1]["reason"],
            serde_json::json!({
                "kind": "rpath",
                "owner": "/opt/app/bin/app",
                "entry": "/opt/other",
                "dir": "/opt/other/",
            })
        );
        assert_eq!(objs[1]["requested_by"], "/opt/app/bin/../lib/liba.so.1");
    });
}

#[test]
fn json_reports_each_search_step() {
    both(|a| {
        let c = Case::new(a).library_path("/opt/llp");
        let d = dlib(a);
        c.app(
            exe(a)
                .needs("liba.so.1")
                .needs("libc1.so.1")
                .needs("libd.so.1"),
        )
        .put(
            "/opt/llp/liba.so.1",
            lib(a, "liba.so.1").runpath("/opt/rp").needs("libb.so.1"),
        )
        .put("/opt/rp/libb.so.1", lib(a, "libb.so.1"))
        .put("/opt/c/libc1.so.1", lib(a, "libc1.so.1"))
        .put(&format!("{d}/tls/libd.so.1"), lib(a, "libd.so.1"))
        .cache_new(&[("libc1.so.1", "/opt/c/libc1.so.1")]);
        c.check(
            &[
                "liba.so.1 => /opt/llp/liba.so.1",
                "libc1.so.1 => /opt/c/libc1.so.1",
                &format!("libd.so.1 => {d}/tls/libd.so.1"),
                "libb.so.1 => /opt/rp/libb.so.1",
            ],
            0,
        );
        let (_, out, _) = c.trace("json", &["/usr/bin/app"]);
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        let reasons: Vec<&serde_json::Value> = v["programs"][0]["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .map(|o| &o["reason"])
            .collect();
        assert_eq!(
            reasons,
            [
                &serde_json::json!({"kind": "library_path", "entry": "/opt/llp", "dir": "/opt/llp/"}),
                &serde_json::json!({"kind": "ld_so_cache", "dir": "/opt/c/"}),
                &serde_json::json!({"kind": "default_dir", "dir": format!("{d}/tls/")}),
                &serde_json::json!({"kind": "runpath", "owner": "/opt/llp/liba.so.1", "entry": "/opt/rp", "dir": "/opt/rp/"}),
            ]
        );
    });
}

#[test]
fn multiple_bins_list_format_headers() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.put("/usr/bin/one", exe(a).needs("libx.so.1"))
            .put(
                "/usr/bin/two",
                exe(a).needs("libmissing.so.1").needs("libx.so.1"),
            )
            .put(&format!("{d}/libx.so.1"), lib(a, "libx.so.1"));
        let (code, out, err) = c.trace("list", &["/usr/bin/one", "/usr/bin/two"]);
        let one = format!("libx.so.1 => {d}/libx.so.1\n");
        let two = format!("libmissing.so.1 => not found\nlibx.so.1 => {d}/libx.so.1\n");
        assert_eq!(
            out,
            format!("/usr/bin/one:\n{one}/usr/bin/two:\n{two}"),
            "{err}"
        );
        assert_eq!(code, 1, "the worst status of all programs");
        c.agrees_with_real_loader("/usr/bin/one", &one);
        c.agrees_with_real_loader("/usr/bin/two", &two);
    });
}

// ---------------------------------------------------------------------------------------
// Nothing is taken from the host: not its environment, not its files.

#[test]
fn host_ld_library_path_is_ignored() {
    both(|a| {
        let c = Case::new(a);
        c.app(exe(a).needs("libx.so.1"))
            .put("/opt/llp/libx.so.1", lib(a, "libx.so.1"));
        let root = c.root.path().to_str().expect("utf-8");
        let out = common::minroot()
            .args(["trace", "--root", root, "--format", "list", "/usr/bin/app"])
            .env("LD_LIBRARY_PATH", "/opt/llp")
            .output()
            .expect("run minroot");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "libx.so.1 => not found\n"
        );
        assert_eq!(out.status.code(), Some(1));
        c.agrees_with_real_loader("/usr/bin/app", "libx.so.1 => not found\n");
    });
}

#[test]
fn host_files_never_consulted() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        // Names and paths that exist on a Debian host, but not in this root.
        c.app(
            exe(a)
                .needs("libc.so.6")
                .needs(&format!("{d}/libm.so.6"))
                .needs("libz2.so.1"),
        )
        .link(&format!("{d}/libz2.so.1"), "/usr/bin/env");
        c.check(
            &[
                "libc.so.6 => not found",
                &format!("{d}/libm.so.6 => not found"),
                "libz2.so.1 => not found",
            ],
            1,
        );
    });
}

/// The default directories and `$LIB` come from the root's own loader (the string of
/// system directories compiled into it), so a Fedora-style root searches /lib64 and
/// /usr/lib64. The real loader here is Debian's: minroot only.
#[test]
fn default_dirs_read_from_the_roots_loader() {
    let a = X86;
    let mut c = Case::new(a);
    c.minroot_only = true;
    let mut fedora_ldso = lib(a, a.loader_soname()).build();
    fedora_ldso.extend_from_slice(b"\0/lib64/\0/usr/lib64/\0");
    c.bytes(a.loader_path(), &fedora_ldso)
        .app(
            exe(a)
                .rpath("/opt/$LIB")
                .needs("libx.so.1")
                .needs("liby.so.1")
                .needs("libz.so.1"),
        )
        .put("/usr/lib64/libx.so.1", lib(a, "libx.so.1"))
        .put(&format!("{}/liby.so.1", dlib(a)), lib(a, "liby.so.1"))
        .put("/opt/lib64/libz.so.1", lib(a, "libz.so.1"));
    c.check(
        &[
            "libx.so.1 => /usr/lib64/libx.so.1",
            "liby.so.1 => not found",
            "libz.so.1 => /opt/lib64/libz.so.1",
        ],
        1,
    );
}

// --- /etc/ld.so.preload ------------------------------------------------------------

#[test]
fn preload_file_loads_before_the_programs_needs() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        // rtld.c: names separated by spaces, tabs, newlines or ':', '#' comments; each is
        // loaded for the program before its DT_NEEDED walk, so it comes first.
        c.app(exe(a).needs("liba.so.1"))
            .put(
                &format!("{d}/liba.so.1"),
                lib(a, "liba.so.1").needs("libp.so.1"),
            )
            .put(&format!("{d}/libp.so.1"), lib(a, "libp.so.1"))
            .put("/opt/pre/libq.so", lib(a, "libq.so"))
            .bytes(
                "/etc/ld.so.preload",
                b"# preloads\nlibp.so.1 /opt/pre/libq.so # trailing\n",
            );
        c.check(
            &[
                &format!("libp.so.1 => {d}/libp.so.1"),
                "/opt/pre/libq.so => /opt/pre/libq.so",
                &format!("liba.so.1 => {d}/liba.so.1"),
            ],
            0,
        );
    });
}

/// ld.so.preload names libraries by their bytes: `/opt/caf\xe9/libq.so` (Latin-1) is
/// preloaded from that directory, as the real loader does (read as U+FFFD, it was a
/// missing preload, ignored).
#[test]
fn preload_path_that_is_not_utf8_is_loaded() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        c.app(exe(a).needs("liba.so.1"))
            .put(&format!("{d}/liba.so.1"), lib(a, "liba.so.1"))
            .bytes("/etc/ld.so.preload", b"/opt/caf\xe9/libq.so\n");
        write_raw(&c, b"/opt/caf\xe9/libq.so", &lib(a, "libq.so").build());
        assert_eq!(
            realpaths(&c, "/usr/bin/app"),
            [
                (
                    "/opt/caf\\xe9/libq.so".to_string(),
                    "/opt/caf\\xe9/libq.so".to_string()
                ),
                ("liba.so.1".to_string(), format!("{d}/liba.so.1")),
            ],
            "{a}"
        );
        if common::require("bwrap (and qemu-user)", common::can_run_loader(a)) {
            let out = run_in_root(
                c.root.path(),
                a,
                "/usr/bin/app",
                &[("LD_TRACE_LOADED_OBJECTS", "1")],
            );
            let want: &[u8] = b"/opt/caf\xe9/libq.so";
            assert!(
                out.stdout.windows(want.len()).any(|w| w == want),
                "the real loader preloads it: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    });
}

#[test]
fn missing_preload_is_ignored() {
    both(|a| {
        let c = Case::new(a);
        let d = dlib(a);
        // do_preload: "cannot be preloaded (...): ignored." -- not a missing library.
        c.app(exe(a).needs("liba.so.1"))
            .put(&format!("{d}/liba.so.1"), lib(a, "liba.so.1"))
            .bytes("/etc/ld.so.preload", b"libnope.so:/opt/nope/libx.so\n");
        c.check(&[&format!("liba.so.1 => {d}/liba.so.1")], 0);
    });
}
