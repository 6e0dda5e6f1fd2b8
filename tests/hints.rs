//! One named test per hint rule (DESIGN.md, "What ELF tracing misses (hints)") and per
//! entry of the data table of `src/hints/known.rs`, each on a fake root built here from
//! synthetic ELF files, checked through `minroot files --format list`.
//!
//! The table tests iterate `KNOWN` and `OPT_IN`, so an entry added to the table is tested
//! without a new test being written; a rule that is not in the table gets its own test.
//! What each test expects follows from the rule, not from minroot's output. The glibc
//! rules are also judged against real programs: `glibc_hints_match_what_real_programs_load`
//! runs the gcc-built `app-hints` fixture and `getent` in a copy of each Debian test root
//! under strace (qemu-user for arm64) and checks what they open against what minroot
//! selects, with the hint's reason. This file
//! owns no helper that other test files need; shared helpers live in tests/common.

mod common;

use std::collections::BTreeMap;

use common::FakeRoot;
use minroot::arch::Arch;
use minroot::elf::synth::Synth;
use minroot::hints::glibc;
use minroot::hints::known::{self, KNOWN, OPT_IN};

const X86: Arch = Arch::X86_64;

/// A fake root: the loader of `arch` (a synthetic stand-in with the loader's soname) and
/// libc.so.6 in the first default directory.
struct Root {
    fake: FakeRoot,
    arch: Arch,
}

/// What `minroot files` printed: exit status, path -> reason label, stderr.
struct Files {
    code: i32,
    entries: BTreeMap<String, String>,
    stdout: String,
    stderr: String,
}

impl Files {
    /// The reason of `path`, or a panic that shows the whole listing.
    fn reason(&self, path: &str) -> &str {
        self.entries
            .get(path)
            .map(String::as_str)
            .unwrap_or_else(|| {
                panic!(
                    "{path} is not listed; stdout:\n{}\nstderr:\n{}",
                    self.stdout, self.stderr
                )
            })
    }
    fn has(&self, path: &str) -> bool {
        self.entries.contains_key(path)
    }
    fn assert_absent(&self, path: &str) {
        assert!(
            !self.has(path),
            "{path} is listed but must not be; stdout:\n{}",
            self.stdout
        );
    }
    fn assert_code(&self, code: i32) {
        assert_eq!(
            self.code, code,
            "exit status; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
    }
}

impl Root {
    fn new(arch: Arch) -> Root {
        let fake = FakeRoot::new();
        fake.write(
            arch.loader_path(),
            &Synth::lib(arch.elf_machine(), arch.loader_soname()).build(),
        );
        let r = Root { fake, arch };
        r.put(&r.dlib("libc.so.6"), r.lib("libc.so.6"));
        r
    }
    /// A library of this root's architecture.
    fn lib(&self, soname: &str) -> Synth {
        Synth::lib(self.arch.elf_machine(), soname)
    }
    /// A program of this root's architecture (PT_INTERP = the loader), needing libc.
    fn exe(&self) -> Synth {
        Synth::exe(self.arch.elf_machine(), self.arch.loader_path()).needs("libc.so.6")
    }
    /// `/lib/<triplet>/<name>`: the first default directory.
    fn dlib(&self, name: &str) -> String {
        format!("/lib/{}/{name}", self.arch.triplet())
    }
    /// `/usr/lib/<triplet>/<name>`: the second default directory.
    fn dusr(&self, name: &str) -> String {
        format!("/usr/lib/{}/{name}", self.arch.triplet())
    }
    /// glibc's `$LIB` for Debian.
    fn lib_dir(&self) -> String {
        format!("lib/{}", self.arch.triplet())
    }
    fn put(&self, inside: &str, s: Synth) -> &Self {
        self.fake.write(inside, &s.build());
        self
    }
    fn data(&self, inside: &str, bytes: &[u8]) -> &Self {
        self.fake.write(inside, bytes);
        self
    }
    fn link(&self, inside: &str, target: &str) -> &Self {
        self.fake.symlink(inside, target);
        self
    }
    /// Runs `minroot files --root ROOT --format list ARGS...`.
    fn files(&self, args: &[&str]) -> Files {
        let root = self.fake.path().to_str().expect("utf-8 temp dir");
        let mut a = vec!["files", "--root", root, "--format", "list"];
        a.extend_from_slice(args);
        let (code, stdout, stderr) = common::run(&a);
        Files {
            code,
            entries: parse_files_list(&stdout),
            stdout,
            stderr,
        }
    }
}

/// Parses `minroot files --format list`: `/path[/| -> target| (hard link to ..)]\treason`.
/// Keys are the paths without a directory's trailing '/' and without the link target.
fn parse_files_list(s: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for line in s.lines() {
        let (left, why) = line
            .split_once('\t')
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let path = left
            .split(" -> ")
            .next()
            .unwrap()
            .split(" (hard link to ")
            .next()
            .unwrap();
        let path = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        m.insert(path.to_string(), why.to_string());
    }
    m
}

const APP: &str = "/usr/bin/app";

// ---------------------------------------------------------------------------------------
// .note.dlopen

/// A note of the given priority on the program; its library in the default dir.
fn note_case(priority: &str) -> Root {
    let r = Root::new(X86);
    let note = format!(
        r#"[{{"soname":["libfeat.so.1"],"feature":"feat","description":"d","priority":"{priority}"}}]"#
    );
    r.put(APP, r.exe().dlopen_note(&note))
        .put(&r.dlib("libfeat.so.1"), r.lib("libfeat.so.1"));
    r
}

#[test]
fn dlopen_note_required_and_recommended_taken_by_default() {
    for p in ["required", "recommended"] {
        let r = note_case(p);
        let f = r.files(&["--no-base", APP]);
        f.assert_code(0);
        assert_eq!(
            f.reason(&r.dlib("libfeat.so.1")),
            format!("dlopen note feat of {APP} ({p})")
        );
    }
}

#[test]
fn dlopen_note_suggested_only_with_priority_suggested() {
    let r = note_case("suggested");
    let f = r.files(&["--no-base", APP]);
    f.assert_code(0);
    f.assert_absent(&r.dlib("libfeat.so.1"));
    let f = r.files(&["--no-base", "--dlopen-priority", "suggested", APP]);
    f.assert_code(0);
    assert_eq!(
        f.reason(&r.dlib("libfeat.so.1")),
        format!("dlopen note feat of {APP} (suggested)")
    );
}

#[test]
fn dlopen_note_recommended_left_out_with_priority_required() {
    let r = note_case("recommended");
    let f = r.files(&["--no-base", "--dlopen-priority", "required", APP]);
    f.assert_code(0);
    f.assert_absent(&r.dlib("libfeat.so.1"));
    let r = note_case("required");
    let f = r.files(&["--no-base", "--dlopen-priority", "required", APP]);
    f.assert_code(0);
    assert!(f.has(&r.dlib("libfeat.so.1")));
}

#[test]
fn dlopen_note_priority_default_is_recommended() {
    // The spec's default priority when the key is absent.
    let r = Root::new(X86);
    r.put(APP, r.exe().dlopen_note(r#"[{"soname":["libfeat.so.1"]}]"#))
        .put(&r.dlib("libfeat.so.1"), r.lib("libfeat.so.1"));
    let f = r.files(&["--no-base", APP]);
    f.assert_code(0);
    assert_eq!(
        f.reason(&r.dlib("libfeat.so.1")),
        format!("dlopen note of {APP} (recommended)")
    );
}

#[test]
fn dlopen_note_alternatives_first_existing_wins() {
    let r = Root::new(X86);
    r.put(
        APP,
        r.exe().dlopen_note(
            r#"[{"soname":["libalt.so.3","libalt.so.2","libalt.so.1"],"feature":"alt","priority":"required"}]"#,
        ),
    )
    .put(&r.dlib("libalt.so.2"), r.lib("libalt.so.2"))
    .put(&r.dlib("libalt.so.1"), r.lib("libalt.so.1"));
    let f = r.files(&["--no-base", APP]);
    f.assert_code(0);
    assert!(
        f.reason(&r.dlib("libalt.so.2"))
            .starts_with("dlopen note alt")
    );
    f.assert_absent(&r.dlib("libalt.so.1"));
    f.assert_absent(&r.dlib("libalt.so.3"));
}

#[test]
fn dlopen_note_missing_required_exits_1_naming_it() {
    let r = Root::new(X86);
    r.put(
        APP,
        r.exe().dlopen_note(
            r#"[{"soname":["libgone.so.1","libgone.so.0"],"feature":"gone","priority":"required"}]"#,
        ),
    );
    let f = r.files(&["--no-base", APP]);
    f.assert_code(1);
    for needle in [APP, "libgone.so.1", "libgone.so.0", "gone", "error"] {
        assert!(f.stderr.contains(needle), "{needle} in {}", f.stderr);
    }
}

#[test]
fn dlopen_note_missing_recommended_is_a_warning() {
    let r = Root::new(X86);
    r.put(
        APP,
        r.exe()
            .dlopen_note(r#"[{"soname":["libgone.so.1"],"priority":"recommended"}]"#),
    );
    let f = r.files(&["--no-base", APP]);
    f.assert_code(0);
    assert!(
        f.stderr.contains("warning") && f.stderr.contains("libgone.so.1"),
        "{}",
        f.stderr
    );
}

#[test]
fn dlopen_note_of_a_library_and_its_needed_come_too() {
    // The note sits in a library the program needs; the noted library's own DT_NEEDED
    // joins the closure, and a note in a noted library is followed as well.
    let r = Root::new(X86);
    r.put(APP, r.exe().needs("libmid.so.1"))
        .put(
            &r.dlib("libmid.so.1"),
            r.lib("libmid.so.1")
                .dlopen_note(r#"[{"soname":["libplug.so.1"],"feature":"plug"}]"#),
        )
        .put(
            &r.dlib("libplug.so.1"),
            r.lib("libplug.so.1")
                .needs("libplugdep.so.1")
                .dlopen_note(r#"[{"soname":["libdeep.so.1"],"feature":"deep"}]"#),
        )
        .put(&r.dusr("libplugdep.so.1"), r.lib("libplugdep.so.1"))
        .put(&r.dlib("libdeep.so.1"), r.lib("libdeep.so.1"));
    let f = r.files(&["--no-base", APP]);
    f.assert_code(0);
    assert_eq!(
        f.reason(&r.dlib("libplug.so.1")),
        format!(
            "dlopen note plug of {} (recommended)",
            r.dlib("libmid.so.1")
        )
    );
    assert!(
        f.reason(&r.dusr("libplugdep.so.1"))
            .starts_with(&format!("needed by {}", r.dlib("libplug.so.1")))
    );
    assert!(
        f.reason(&r.dlib("libdeep.so.1"))
            .starts_with("dlopen note deep")
    );
}

// ---------------------------------------------------------------------------------------
// glibc: gconv, libgcc_s, NSS

/// A root with a gconv directory: config, cache, a config directory and two modules.
fn gconv_root(imports: &[&str]) -> Root {
    let r = Root::new(X86);
    let dir = format!("/usr/{}/gconv", r.lib_dir());
    assert_eq!(dir, glibc::gconv_dir(&r.lib_dir()));
    r.put(APP, r.exe().imports(imports))
        .data(&format!("{dir}/gconv-modules"), b"module X// Y// Z 1\n")
        .data(&format!("{dir}/gconv-modules.cache"), b"cache")
        .data(
            &format!("{dir}/gconv-modules.d/gconv-modules-extra.conf"),
            b"module EBCDIC-US// INTERNAL EBCDIC-US 1\n",
        )
        .put(
            &format!("{dir}/ISO8859-15.so"),
            r.lib("ISO8859-15.so").needs("libc.so.6"),
        )
        .put(
            &format!("{dir}/EBCDIC-US.so"),
            r.lib("EBCDIC-US.so").needs("libc.so.6"),
        )
        .data(&format!("{dir}/README"), b"not a module");
    r
}

#[test]
fn gconv_added_when_iconv_open_is_imported() {
    let r = gconv_root(&["iconv_open", "iconv"]);
    let dir = glibc::gconv_dir(&r.lib_dir());
    let f = r.files(&["--no-base", APP]);
    f.assert_code(0);
    for name in [
        "gconv-modules",
        "gconv-modules.cache",
        "gconv-modules.d",
        "gconv-modules.d/gconv-modules-extra.conf",
        "ISO8859-15.so",
        "EBCDIC-US.so",
    ] {
        assert_eq!(
            f.reason(&format!("{dir}/{name}")),
            "glibc gconv (iconv_open)",
            "{name}"
        );
    }
    f.assert_absent(&format!("{dir}/README"));
}

#[test]
fn gconv_not_added_without_iconv_open() {
    let r = gconv_root(&["iconv", "printf"]);
    let f = r.files(&["--no-base", APP]);
    f.assert_code(0);
    assert!(
        !f.entries.keys().any(|p| p.contains("/gconv")),
        "{}",
        f.stdout
    );
}

#[test]
fn gconv_left_out_with_no_gconv() {
    let r = gconv_root(&["iconv_open"]);
    let f = r.files(&["--no-base", "--no-gconv", APP]);
    f.assert_code(0);
    assert!(!f.entries.keys().any(|p| p.contains("/gconv")));
}

#[test]
fn gconv_iconv_open_imported_by_a_library() {
    let r = gconv_root(&[]);
    r.put(APP, r.exe().needs("libconv.so.1")).put(
        &r.dlib("libconv.so.1"),
        r.lib("libconv.so.1").imports(&["iconv_open"]),
    );
    let f = r.files(&["--no-base", APP]);
    f.assert_code(0);
    assert!(f.has(&format!("{}/ISO8859-15.so", glibc::gconv_dir(&r.lib_dir()))));
}

#[test]
fn libgcc_s_added_for_each_trigger_symbol() {
    for sym in glibc::LIBGCC_S_TRIGGERS {
        let r = Root::new(X86);
        r.put(APP, r.exe().imports(&[sym, "puts"]))
            .put(&r.dlib(glibc::LIBGCC_S), r.lib(glibc::LIBGCC_S));
        let f = r.files(&["--no-base", APP]);
        f.assert_code(0);
        assert_eq!(
            f.reason(&r.dlib(glibc::LIBGCC_S)),
            format!("glibc unwinder ({sym})")
        );
    }
    // The named ones, in case the table shrinks.
    for sym in ["pthread_cancel", "pthread_exit", "backtrace"] {
        assert!(glibc::LIBGCC_S_TRIGGERS.contains(&sym));
    }
}

#[test]
fn libgcc_s_not_added_without_trigger() {
    let r = Root::new(X86);
    r.put(APP, r.exe().imports(&["pthread_create", "puts"]))
        .put(&r.dlib(glibc::LIBGCC_S), r.lib(glibc::LIBGCC_S));
    let f = r.files(&["--no-base", APP]);
    f.assert_code(0);
    f.assert_absent(&r.dlib(glibc::LIBGCC_S));
}

#[test]
fn libgcc_s_missing_is_an_error() {
    let r = Root::new(X86);
    r.put(APP, r.exe().imports(&["pthread_exit"]));
    let f = r.files(&["--no-base", APP]);
    f.assert_code(1);
    assert!(
        f.stderr.contains("pthread_exit") && f.stderr.contains("libgcc_s.so.1"),
        "{}",
        f.stderr
    );
}

/// A root with NSS modules for systemd, files and dns, and `nsswitch`.
fn nss_root(nsswitch: &str) -> Root {
    let r = Root::new(X86);
    r.put(APP, r.exe().imports(&["getpwnam"]))
        .put(
            &r.dlib("libnss_systemd.so.2"),
            r.lib("libnss_systemd.so.2").needs("libcap.so.2"),
        )
        .put(&r.dlib("libcap.so.2"), r.lib("libcap.so.2"))
        .put(&r.dlib("libnss_files.so.2"), r.lib("libnss_files.so.2"))
        .put(&r.dlib("libnss_dns.so.2"), r.lib("libnss_dns.so.2"))
        .data("/etc/nsswitch.conf", nsswitch.as_bytes());
    r
}

#[test]
fn nss_module_for_service_named_in_nsswitch() {
    let r = nss_root("passwd: files systemd\ngroup: files [SUCCESS=merge] systemd\n");
    let f = r.files(&[APP]);
    f.assert_code(0);
    assert_eq!(
        f.reason(&r.dlib("libnss_systemd.so.2")),
        "glibc NSS service systemd"
    );
    // The module's own DT_NEEDED come with it.
    assert!(f.has(&r.dlib("libcap.so.2")));
    assert!(f.has("/etc/nsswitch.conf"));
    f.assert_absent(&r.dlib("libnss_files.so.2"));
}

#[test]
fn nss_no_module_for_files_and_dns() {
    let r = nss_root("passwd: files\ngroup: files\nhosts: files dns\n");
    let f = r.files(&[APP]);
    f.assert_code(0);
    for m in [
        "libnss_files.so.2",
        "libnss_dns.so.2",
        "libnss_systemd.so.2",
    ] {
        f.assert_absent(&r.dlib(m));
    }
}

#[test]
fn nss_service_without_module_is_skipped_like_glibc() {
    // Debian's default nsswitch.conf names `db` and `nis`, rarely installed: glibc
    // skips them, so the layer is complete without them.
    let r = nss_root("passwd: files systemd\nservices: db files\nnetgroup: nis\n");
    let f = r.files(&[APP]);
    f.assert_code(0);
    assert!(f.has(&r.dlib("libnss_systemd.so.2")));
}

#[test]
fn nss_none_when_nsswitch_conf_is_not_in_the_layer() {
    // --no-base and no --include of nsswitch.conf: the layer has no nsswitch.conf of
    // its own (it goes on top of a base), so the root's services are not followed.
    let r = nss_root("passwd: files systemd\n");
    let f = r.files(&["--no-base", APP]);
    f.assert_code(0);
    f.assert_absent(&r.dlib("libnss_systemd.so.2"));
    // Included, it is followed again.
    let f = r.files(&["--no-base", "--include", "/etc/nsswitch.conf", APP]);
    f.assert_code(0);
    assert!(f.has(&r.dlib("libnss_systemd.so.2")));
}

// ---------------------------------------------------------------------------------------
// The data table (known.rs): every entry, every soname.

/// Creates every file of a table entry, as a plain file or as a directory holding one.
/// Returns (table path, path inside the root) of everything that must be listed.
fn make_data(r: &Root, files: &[&'static str], as_dir: bool) -> Vec<(&'static str, String)> {
    let mut want = Vec::new();
    for f in files {
        let p = known::expand(f, &r.lib_dir());
        if as_dir {
            let member = format!("{p}/member.dat");
            r.data(&member, b"data");
            want.push((*f, p));
            want.push((*f, member));
        } else {
            r.data(&p, format!("data of {p}").as_bytes());
            want.push((*f, p));
        }
    }
    want
}

#[test]
fn known_table_every_entry_adds_its_files_for_each_soname() {
    assert!(!KNOWN.is_empty());
    for k in KNOWN {
        for soname in k.sonames {
            for as_dir in [false, true] {
                let r = Root::new(X86);
                r.put(APP, r.exe().needs(soname))
                    .put(&r.dusr(soname), r.lib(soname));
                let want = make_data(&r, k.files, as_dir);
                let f = r.files(&["--no-base", APP]);
                f.assert_code(0);
                for (table_path, p) in &want {
                    // The first entry (in table order) naming this soname and file gives
                    // the reason; usually that is `k` itself.
                    let first = KNOWN
                        .iter()
                        .find(|o| o.sonames.contains(soname) && o.files.contains(table_path))
                        .expect("k itself");
                    assert_eq!(
                        f.reason(p),
                        format!("{} of {soname}", first.what),
                        "{p} ({}), as a directory: {as_dir}",
                        k.what
                    );
                }
            }
        }
    }
}

#[test]
fn known_table_files_not_added_without_the_library() {
    for k in KNOWN {
        let r = Root::new(X86);
        r.put(APP, r.exe());
        for s in k.sonames {
            // The library is in the root, but nothing loads it.
            r.put(&r.dusr(s), r.lib(s));
        }
        let want = make_data(&r, k.files, false);
        let f = r.files(&["--no-base", APP]);
        f.assert_code(0);
        for (_, p) in &want {
            f.assert_absent(p);
        }
    }
}

#[test]
fn known_table_data_found_through_symlinks() {
    // Debian's /usr/lib/ssl/openssl.cnf is a link to /etc/ssl/openssl.cnf: both come,
    // so the library opens the file under the name it uses.
    let k = KNOWN
        .iter()
        .find(|k| k.files.contains(&"/usr/lib/ssl/openssl.cnf"))
        .expect("the OpenSSL entry");
    let r = Root::new(X86);
    let so = k.sonames[0];
    r.put(APP, r.exe().needs(so))
        .put(&r.dusr(so), r.lib(so))
        .data("/etc/ssl/openssl.cnf", b"[openssl_init]\n")
        .link("/usr/lib/ssl/openssl.cnf", "../../../etc/ssl/openssl.cnf");
    let f = r.files(&["--no-base", APP]);
    f.assert_code(0);
    assert!(
        f.stdout
            .contains("/usr/lib/ssl/openssl.cnf -> ../../../etc/ssl/openssl.cnf\t"),
        "{}",
        f.stdout
    );
    assert_eq!(
        f.reason("/etc/ssl/openssl.cnf"),
        format!("{} of {so}", k.what)
    );
}

#[test]
fn opt_in_table_every_entry_only_when_asked() {
    assert!(!OPT_IN.is_empty());
    for o in OPT_IN {
        for as_dir in [false, true] {
            let r = Root::new(X86);
            r.put(APP, r.exe());
            let want = make_data(&r, o.files, as_dir);
            let f = r.files(&["--no-base", APP]);
            f.assert_code(0);
            for (_, p) in &want {
                f.assert_absent(p);
            }
            let f = r.files(&["--no-base", "--data", o.name, APP]);
            f.assert_code(0);
            for (_, p) in &want {
                assert_eq!(
                    f.reason(p),
                    format!("--data {}", o.what),
                    "{} as dir: {as_dir}",
                    o.name
                );
            }
        }
    }
}

#[test]
fn opt_in_unknown_name_is_an_error() {
    let r = Root::new(X86);
    r.put(APP, r.exe());
    let f = r.files(&["--data", "no-such-set", APP]);
    f.assert_code(2);
    assert!(f.stderr.contains("no-such-set"), "{}", f.stderr);
    for o in OPT_IN {
        assert!(f.stderr.contains(o.name), "{}", f.stderr);
    }
}

// ---------------------------------------------------------------------------------------
// --include, scripts, --dlopen

#[test]
fn include_directory_traces_elf_inside() {
    let r = Root::new(X86);
    r.put(APP, r.exe())
        .put(
            "/usr/lib/app/plugins/libplug.so",
            r.lib("libplug.so").needs("libplugdep.so.1"),
        )
        .put(&r.dusr("libplugdep.so.1"), r.lib("libplugdep.so.1"))
        .put(
            "/usr/lib/app/plugins/tool",
            r.exe().needs("libtooldep.so.1"),
        )
        .put(&r.dusr("libtooldep.so.1"), r.lib("libtooldep.so.1"))
        .data("/usr/lib/app/plugins/plug.conf", b"x")
        .put(&r.dusr("libunused.so.1"), r.lib("libunused.so.1"));
    let f = r.files(&["--no-base", "--include", "/usr/lib/app", APP]);
    f.assert_code(0);
    assert_eq!(f.reason("/usr/lib/app"), "--include /usr/lib/app");
    assert_eq!(
        f.reason("/usr/lib/app/plugins/libplug.so"),
        "--include /usr/lib/app"
    );
    assert_eq!(
        f.reason("/usr/lib/app/plugins/plug.conf"),
        "--include /usr/lib/app"
    );
    // The library's DT_NEEDED (as dlopened by the program) and the program's.
    assert_eq!(
        f.reason(&r.dusr("libplugdep.so.1")),
        "needed by /usr/lib/app/plugins/libplug.so [default dir]"
    );
    assert!(f.has(&r.dusr("libtooldep.so.1")));
    f.assert_absent(&r.dusr("libunused.so.1"));
}

#[test]
fn include_directory_with_missing_library_need_exits_1() {
    let r = Root::new(X86);
    r.put(APP, r.exe()).put(
        "/usr/lib/app/libplug.so",
        r.lib("libplug.so").needs("libnothere.so.7"),
    );
    let f = r.files(&["--no-base", "--include", "/usr/lib/app", APP]);
    f.assert_code(1);
    assert!(f.stderr.contains("libnothere.so.7"), "{}", f.stderr);
}

#[test]
fn include_symlink_brings_its_target() {
    let r = Root::new(X86);
    r.put(APP, r.exe())
        .data("/usr/share/app/real.conf", b"x")
        .link("/etc/app.conf", "../usr/share/app/real.conf")
        .data("/usr/share/app/inner/file", b"y")
        .link("/usr/share/app/dirlink", "inner")
        .link("/etc/appdir", "/usr/share/app");
    let f = r.files(&["--no-base", "--include", "/etc/app.conf", APP]);
    f.assert_code(0);
    assert!(
        f.stdout
            .contains("/etc/app.conf -> ../usr/share/app/real.conf\t")
    );
    assert!(f.has("/usr/share/app/real.conf"));
    // A link to a directory: the link and the whole directory it names.
    let f = r.files(&["--no-base", "--include", "/etc/appdir", APP]);
    f.assert_code(0);
    assert!(f.stdout.contains("/etc/appdir -> /usr/share/app\t"));
    for p in [
        "/usr/share/app/real.conf",
        "/usr/share/app/inner/file",
        "/usr/share/app/dirlink",
    ] {
        assert!(f.has(p), "{p}: {}", f.stdout);
    }
}

#[test]
fn include_missing_path_is_an_error() {
    let r = Root::new(X86);
    r.put(APP, r.exe());
    let f = r.files(&["--include", "/etc/nothere", APP]);
    f.assert_code(2);
    assert!(f.stderr.contains("/etc/nothere"), "{}", f.stderr);
}

#[test]
fn script_brings_its_interpreter() {
    let r = Root::new(X86);
    r.put("/usr/bin/interp", r.exe().needs("libinterp.so.1"))
        .put(&r.dlib("libinterp.so.1"), r.lib("libinterp.so.1"))
        .data("/usr/local/bin/tool", b"#!/usr/bin/interp -x\nbody\n");
    let f = r.files(&["--no-base", "/usr/local/bin/tool"]);
    f.assert_code(0);
    assert_eq!(f.reason("/usr/local/bin/tool"), "input");
    assert_eq!(
        f.reason("/usr/bin/interp"),
        "interpreter of script /usr/local/bin/tool"
    );
    assert!(f.has(&r.dlib("libinterp.so.1")));
    assert!(f.has(&r.dlib("libc.so.6")));
}

#[test]
fn env_script_brings_env_and_the_program() {
    let r = Root::new(X86);
    r.put("/usr/bin/env", r.exe())
        .put("/usr/bin/python9", r.exe().needs("libpy.so.1"))
        .put(&r.dlib("libpy.so.1"), r.lib("libpy.so.1"))
        .data("/srv/app.py", b"#!/usr/bin/env python9\nprint()\n");
    let f = r.files(&["--no-base", "/srv/app.py"]);
    f.assert_code(0);
    assert_eq!(
        f.reason("/usr/bin/env"),
        "interpreter of script /srv/app.py"
    );
    assert_eq!(
        f.reason("/usr/bin/python9"),
        "interpreter of script /srv/app.py"
    );
    assert!(f.has(&r.dlib("libpy.so.1")));
}

#[test]
fn script_with_missing_interpreter_is_an_error() {
    let r = Root::new(X86);
    r.data("/srv/a.sh", b"#!/bin/nosuchshell\n")
        .put("/usr/bin/env", r.exe())
        .data("/srv/b.py", b"#!/usr/bin/env nosuchprog\n");
    for (script, needle) in [
        ("/srv/a.sh", "/bin/nosuchshell"),
        ("/srv/b.py", "nosuchprog"),
    ] {
        let f = r.files(&[script]);
        f.assert_code(2);
        assert!(
            f.stderr.contains(needle) && f.stderr.contains(script),
            "{}",
            f.stderr
        );
    }
}

#[test]
fn dlopen_option_resolved_via_program_runpath() {
    let r = Root::new(X86);
    r.put(APP, r.exe().runpath("$ORIGIN/../lib/app"))
        .put(
            "/usr/lib/app/libmod.so.1",
            r.lib("libmod.so.1")
                .needs("libmoddep.so.1")
                .runpath("$ORIGIN"),
        )
        .put("/usr/lib/app/libmoddep.so.1", r.lib("libmoddep.so.1"))
        // The same name in a default dir: the loader takes the RUNPATH one first.
        .put(&r.dlib("libmod.so.1"), r.lib("libmod.so.1"));
    let f = r.files(&["--no-base", "--dlopen", "libmod.so.1", APP]);
    f.assert_code(0);
    assert_eq!(f.reason("/usr/lib/app/libmod.so.1"), "--dlopen");
    assert!(f.has("/usr/lib/app/libmoddep.so.1"));
    f.assert_absent(&r.dlib("libmod.so.1"));
}

#[test]
fn dlopen_option_missing_exits_1() {
    let r = Root::new(X86);
    r.put(APP, r.exe());
    let f = r.files(&["--no-base", "--dlopen", "libnope.so.9", APP]);
    f.assert_code(1);
    assert!(
        f.stderr.contains("--dlopen libnope.so.9: not found"),
        "{}",
        f.stderr
    );
}

// ---------------------------------------------------------------------------------------
// glibc-hwcaps variants

fn hwcaps_root() -> Root {
    let r = Root::new(X86);
    r.put(APP, r.exe().needs("libfast.so.1"))
        .put(&r.dusr("libfast.so.1"), r.lib("libfast.so.1"));
    for v in ["x86-64-v2", "x86-64-v3", "x86-64-v4"] {
        r.put(
            &r.dusr(&format!("glibc-hwcaps/{v}/libfast.so.1")),
            r.lib("libfast.so.1"),
        );
    }
    r
}

#[test]
fn hwcaps_variants_all_included_by_default() {
    let r = hwcaps_root();
    let f = r.files(&["--no-base", APP]);
    f.assert_code(0);
    let base = r.dusr("libfast.so.1");
    assert!(f.reason(&base).starts_with("needed by /usr/bin/app"));
    for v in ["x86-64-v2", "x86-64-v3", "x86-64-v4"] {
        assert_eq!(
            f.reason(&r.dusr(&format!("glibc-hwcaps/{v}/libfast.so.1"))),
            format!("glibc-hwcaps variant of {base}")
        );
    }
}

#[test]
fn hwcaps_only_the_chosen_level_with_cpu_level() {
    let r = hwcaps_root();
    let f = r.files(&["--no-base", "--cpu-level", "x86-64-v3", APP]);
    f.assert_code(0);
    let libs: Vec<&String> = f
        .entries
        .keys()
        .filter(|p| p.ends_with("/libfast.so.1"))
        .collect();
    assert_eq!(
        libs,
        [&r.dusr("glibc-hwcaps/x86-64-v3/libfast.so.1")],
        "{}",
        f.stdout
    );
    let f = r.files(&["--no-base", "--cpu-level", "baseline", APP]);
    let libs: Vec<&String> = f
        .entries
        .keys()
        .filter(|p| p.ends_with("/libfast.so.1"))
        .collect();
    assert_eq!(libs, [&r.dusr("libfast.so.1")]);
}

#[test]
fn include_directory_link_to_a_directory_outside_warns() {
    // A link inside the included directory to a directory outside it: only the link is
    // taken, and minroot says so, also when the outside name merely starts like the
    // included one (/usr/share/app vs /usr/share/apple).
    let r = Root::new(X86);
    r.put(APP, r.exe())
        .data("/usr/share/apple/core", b"x")
        .data("/usr/share/other/core", b"y")
        .data("/usr/share/app/inner/f", b"z")
        .link("/usr/share/app/to-apple", "../apple")
        .link("/usr/share/app/to-other", "/usr/share/other")
        .link("/usr/share/app/to-inner", "inner");
    let f = r.files(&["--no-base", "--include", "/usr/share/app", APP]);
    f.assert_code(0);
    for l in ["to-apple", "to-other", "to-inner"] {
        assert!(f.has(&format!("/usr/share/app/{l}")), "{l}");
    }
    f.assert_absent("/usr/share/apple/core");
    f.assert_absent("/usr/share/other/core");
    for outside in ["/usr/share/apple", "/usr/share/other"] {
        assert!(
            f.stderr
                .contains(&format!("links to directory {outside} outside")),
            "{outside}: {}",
            f.stderr
        );
    }
    assert!(!f.stderr.contains("to-inner"), "{}", f.stderr);
}

// ---------------------------------------------------------------------------------------
// Against real programs: what glibc really loads at run time, observed from outside.

/// A private copy of Debian test root `name` made of hard links (a moment's work, and
/// never written: the runs bind it read-only, and the test only replaces names in it),
/// with the gcc-built `app-hints` fixture of root `fixture` at /app/bin/app-hints
/// (testdata/README.md), `nsswitch` as /etc/nsswitch.conf, and an /etc/passwd.
fn observed_root(name: &str, fixture: &str, nsswitch: &str) -> Option<FakeRoot> {
    let sysroot = common::sysroot(name);
    let fixtures = common::fixture(fixture);
    if !common::require(
        &format!("the {name} sysroot (scripts/make-sysroot.sh {name})"),
        sysroot.is_some(),
    ) || !common::require(
        &format!("fixture root {fixture} (scripts/make-fixtures.sh)"),
        fixtures.is_some(),
    ) || !common::require("strace", common::have("strace"))
    {
        return None;
    }
    let w = FakeRoot::new();
    let copy = std::process::Command::new("cp")
        .arg("-al")
        .arg(format!("{}/.", sysroot.expect("checked").display()))
        .arg(w.path())
        .status()
        .expect("run cp");
    assert!(copy.success(), "cp -al of the {name} sysroot");
    let conf = w.host("/etc/nsswitch.conf");
    let _ = std::fs::remove_file(&conf);
    w.write("/etc/nsswitch.conf", nsswitch.as_bytes());
    // A root unpacked without maintainer scripts (arm64) has no /etc/passwd to look in.
    if !w.host("/etc/passwd").exists() {
        w.write("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n");
    }
    let app =
        std::fs::read(fixtures.expect("checked").join("app/bin/app-hints")).expect("app-hints");
    w.write("/app/bin/app-hints", &app);
    Some(w)
}

#[test]
fn glibc_hints_match_what_real_programs_load() {
    // app-hints (iconv_open, and pthread_cancel when given an argument) and getent
    // (getpwnam, through the `compat` NSS module that nsswitch.conf names) run in a copy
    // of each Debian root under strace. Every file they open must be in what minroot
    // selects for them, and the ones the glibc hints exist for (a gconv module and its
    // configuration, libgcc_s.so.1, libnss_compat.so.2) must be both opened by the run
    // and selected with the hint's reason: a hint that is not needed, or a need that no
    // hint covers, fails here.
    const NSSWITCH: &str = "passwd: compat\ngroup: files\n";
    for (name, arch, fixture) in [
        ("amd64", X86, "x86_64"),
        ("arm64", Arch::Aarch64, "aarch64"),
    ] {
        if !common::require(
            &format!("bwrap (and qemu-user for a foreign arch) to run the {arch} loader"),
            common::can_run_loader(arch),
        ) {
            continue;
        }
        let Some(w) = observed_root(name, fixture, NSSWITCH) else {
            continue;
        };
        let root = minroot::sysroot::Root::new(w.path()).expect("root");
        let canonical = |p: &str| {
            root.resolve(p)
                .ok()
                .flatten()
                .map(|r| r.path)
                .unwrap_or_else(|| p.to_string())
        };
        let (code, stdout, stderr) = common::run(&[
            "files",
            "--root",
            w.path().to_str().expect("utf-8 temp dir"),
            "--format",
            "list",
            "--include",
            "/etc/nsswitch.conf",
            "/app/bin/app-hints",
            "/usr/bin/getent",
        ]);
        assert_eq!(code, 0, "{name}: minroot files: {stderr}");
        // Canonical path -> the reasons of the entries that resolve to it.
        let mut selected: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (path, why) in parse_files_list(&stdout) {
            selected.entry(canonical(&path)).or_default().push(why);
        }
        let mut opened_by_hint: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (prog, args, expect) in [
            ("/app/bin/app-hints", &["cancel"][..], "ok"),
            ("/usr/bin/getent", &["passwd", "root"][..], "root:x:0:0:"),
        ] {
            let run = common::opened_in_root(w.path(), arch, prog, args, &[]);
            let out = String::from_utf8_lossy(&run.output.stdout);
            assert!(
                run.output.status.success() && out.starts_with(expect),
                "{name}: {prog} {args:?} in the root: {:?} {out} {}",
                run.output.status,
                String::from_utf8_lossy(&run.output.stderr)
            );
            assert!(!run.paths.is_empty(), "{name}: {prog}: strace saw no open");
            for p in &run.paths {
                // The kernel's files, and the cache only the loader of this root reads
                // (the layer's loader searches without it), are not the program's.
                if p.starts_with("/proc/")
                    || p.starts_with("/dev/")
                    || p == "/etc/ld.so.cache"
                    || p.starts_with("/.minroot-observe-")
                {
                    continue;
                }
                let c = canonical(p);
                if w.host(&c).is_dir() {
                    continue;
                }
                let Some(why) = selected.get(&c) else {
                    panic!(
                        "{name}: {prog} opened {p} ({c}), which minroot does not select; it selects:\n{stdout}"
                    );
                };
                let hint = if c.ends_with("/libgcc_s.so.1") {
                    Some("glibc unwinder (pthread_cancel)")
                } else if c.contains("/gconv/") {
                    Some("glibc gconv (iconv_open)")
                } else if c.ends_with("/libnss_compat.so.2") {
                    Some("glibc NSS service compat")
                } else {
                    None
                };
                if let Some(h) = hint {
                    assert!(
                        why.iter().any(|r| r == h),
                        "{name}: {prog} opened {c}, selected as {why:?}, not as {h:?}"
                    );
                    opened_by_hint.entry(h).or_default().push(c);
                }
            }
        }
        let gconv = &opened_by_hint["glibc gconv (iconv_open)"];
        assert!(
            gconv.iter().any(|p| p.ends_with(".so")) && gconv.iter().any(|p| !p.ends_with(".so")),
            "{name}: app-hints opened a gconv module and the gconv configuration: {gconv:?}"
        );
        for h in [
            "glibc unwinder (pthread_cancel)",
            "glibc NSS service compat",
        ] {
            assert!(
                opened_by_hint.contains_key(h),
                "{name}: no file of the hint {h:?} was opened: {opened_by_hint:?}"
            );
        }
        println!("{name}: observed and selected: {opened_by_hint:?}");
    }
}
