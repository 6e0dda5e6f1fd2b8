//! `minroot trace`: run the tracer over every BIN and render tree, list or JSON.
//! Rendering is a match over the typed reasons; nothing here decides what is loaded.
//!
//! A library that lies in a runtime's home (`runtime::home_of`: the JDK's `lib/libjava.so`)
//! is traced as a member of the home's plugin set (`Tracer::trace_member`): what it would
//! miss but another member provides, and its host loads first, shows as satisfied by that
//! member (`[loaded first by the host: ...]`), not as "not found". Every other trace is
//! the plain loader's.
//!
//! Names come from the root and can hold anything: in text output every name and message
//! is escaped as a field (`sysroot::name::field`: control chars and bytes that are not
//! UTF-8 as `\xNN`), so none can write to the terminal (the colours are the only escape
//! sequences printed), and JSON shows such bytes as `\xNN` (`name::json`).

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::args::{TraceArgs, TraceFormat};
use super::config::{self, HostEnv};
use super::{Status, print_problems};
use crate::closure::{Trace, Tracer};
use crate::elf::DepKind;
use crate::ldso::Tried;
use crate::reason::{PluginSet, Via};
use crate::resolve::Already;
use crate::resolve::{How, Outcome, Slot};
use crate::session::{CpuChoice, Session, inside_path};
use crate::sysroot::name;

/// A name or message of the root, as one field of text output.
fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    name::field(s)
}

pub fn run(args: TraceArgs, env: &HostEnv) -> Result<Status> {
    super::outputs::trace_options(&args)?;
    let (root, _image) = config::open_root(
        &args.root.root,
        &args.root.platform,
        &args.root.max_image_size,
        env,
    )?;
    // A trace answers for this machine: its CPU, unless --cpu-level says otherwise.
    let cpu = match &args.root.cpu_level {
        None => CpuChoice::Host {
            cpuinfo: env.cpuinfo.clone(),
        },
        Some(l) => CpuChoice::Level(config::cpu_level(l)?),
    };
    let library_path = config::library_path(&args.root.library_path)?;
    let session = Session::new(&root, cpu, library_path, false)?;
    let host = session.root().is_host();
    let paths: Vec<String> = args
        .bins
        .iter()
        .map(|b| inside_path(b, host, &env.cwd))
        .collect();
    // Trace the programs on a thread per CPU, each taking a share of the programs not
    // yet taken (`Work`); this thread prints each program's output in the order of the
    // command line as soon as those before it are in, and traces too when the programs
    // are few. Each program's output is made on the thread that traced it, which drops
    // the trace too (freeing a trace's names one by one took a tenth of the main thread's
    // time): what waits to be printed is only text. Scoped threads rather than a rayon
    // pool, whose start was 0.4 ms of the 2.8 of `trace /usr/bin/true /usr/bin/ls` (its
    // threads also woke once per batch of 256 programs).
    let many = paths.len() > 1;
    let threads = if many {
        trace_threads().min(paths.len())
    } else {
        1
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut status = Status::Ok;
    let mut json: Vec<JsonProgram> = Vec::new();
    let color = env.stdout_tty;
    let show = |i: usize, path: &String| -> std::io::Result<Shown> {
        let r = trace_one(&session, path, many).map_err(|e| super::error_line(&e));
        let typed = &args.bins[i];
        let mut shown = Shown {
            status: match &r {
                Ok((t, _)) => Status::of(t.complete()),
                Err(_) => Status::Error,
            },
            error: None,
            // A program's list is about a kilobyte: room for it at once, not by doubling.
            text: Vec::with_capacity(2048),
            json: None,
        };
        match args.format {
            TraceFormat::List => {
                if many {
                    writeln!(shown.text, "{}:", esc(typed))?;
                }
                if let Ok((t, _)) = &r {
                    render_list(&mut shown.text, t)?;
                }
            }
            TraceFormat::Tree => {
                if i > 0 {
                    writeln!(shown.text)?;
                }
                if let Ok((t, set)) = &r {
                    let (all, verbose) = (args.all, args.verbose);
                    render_tree(&mut shown.text, t, set.as_ref(), all, verbose, color)?;
                }
            }
            TraceFormat::Json => shown.json = Some(json_program(typed, &r)),
        }
        shown.error = r.err();
        Ok(shown)
    };
    let mut print = |shown: std::io::Result<Shown>| -> std::io::Result<()> {
        let shown = shown?;
        status = status.max(shown.status);
        if let Some(e) = &shown.error {
            // For JSON the error is in the output too; stderr says it for the person.
            super::say("error", &esc(e));
        }
        out.write_all(&shown.text)?;
        json.extend(shown.json);
        Ok(())
    };
    if threads == 1 {
        for (i, path) in paths.iter().enumerate() {
            print(show(i, path))?;
        }
    } else {
        for (c, chunk) in paths.chunks(CHUNK).enumerate() {
            let first = c * CHUNK;
            let show = |i: usize| show(first + i, &chunk[i]);
            let work = Work::new(chunk.len(), threads);
            // This thread traces too when the programs are few (it is there already, and
            // it prints each output at once); with more, it only prints, as the threads'
            // outputs come in. With it tracing too, the 912 ELFs of /usr/bin took
            // x1.07-1.09 as long as with a rayon pool from a shell that waits for them
            // (x0.92 when exec'd; why the shell matters was not found).
            let traces_too = chunk.len() < TRACED_BY_THE_PRINTER;
            std::thread::scope(|s| -> std::io::Result<()> {
                for _ in usize::from(traces_too)..threads {
                    s.spawn(|| {
                        let _failed = work.on_panic();
                        while let Some(r) = work.take() {
                            r.for_each(|i| work.done(i, show(i)));
                            work.share_done();
                        }
                    });
                }
                let mut printed = 0;
                while traces_too && let Some(r) = work.take() {
                    for i in r {
                        work.done(i, show(i));
                        while let Some(shown) = work.ready(printed) {
                            printed += 1;
                            print(shown).inspect_err(|_| work.stop())?;
                        }
                    }
                }
                // The other threads' last programs. None: one of them panicked, which
                // the end of the scope raises here.
                while printed < chunk.len() {
                    let Some(shown) = work.wait_for(printed) else {
                        break;
                    };
                    printed += 1;
                    print(shown).inspect_err(|_| work.stop())?;
                }
                Ok(())
            })?;
        }
    }
    if args.format == TraceFormat::Json {
        let text = serde_json::to_string_pretty(&JsonOut { programs: json })?;
        writeln!(out, "{}", name::json(&text))?;
    }
    out.flush()?;
    print_problems(&session.cache_problems());
    print_problems(&session.root_problems());
    // The process ends with the command: freeing every memo of the run (each path,
    // search and parsed file) one by one would only cost time the kernel's teardown
    // does not. The session holds memory only (an image root is `_image`, dropped).
    std::mem::forget(session);
    Ok(status)
}

/// Programs traced by one set of threads, at most: what they have made but not printed
/// yet (the printing thread can wait on a slow pipe) stays below a few megabytes of text.
const CHUNK: usize = 2048;

/// Fewer programs than this are traced by the printing thread too.
const TRACED_BY_THE_PRINTER: usize = 64;

/// The threads that trace many programs: `RAYON_NUM_THREADS` when it is set to a number
/// (as for the rest of minroot's parallel work, whose pool reads it), else the CPUs this
/// process may use.
fn trace_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The programs of one `trace`, shared by its threads: the next one to take, and each
/// one's output until it is printed.
struct Work {
    next: std::sync::atomic::AtomicUsize,
    len: usize,
    threads: usize,
    outputs: std::sync::Mutex<Outputs>,
    /// Signalled when an output the printing thread waits for may be in, or a thread
    /// panicked.
    made: std::sync::Condvar,
    /// A thread panicked: its program's output never comes.
    failed: std::sync::atomic::AtomicBool,
}

impl Work {
    fn new(len: usize, threads: usize) -> Work {
        Work {
            next: Default::default(),
            len,
            threads,
            outputs: std::sync::Mutex::new(Outputs {
                made: (0..len).map(|_| None).collect(),
                waiting: false,
            }),
            made: Default::default(),
            failed: Default::default(),
        }
    }

    /// The next programs no thread took yet: a share of what is left, smaller as less
    /// is left (so that the threads end together). Threads that took neighbours in
    /// turn, one program each, waited for each other: neighbours on the command line
    /// (`llvm-ar`, `llvm-as`, ...) need the same libraries at the same moment, and one
    /// thread waits for the search or the parse the other is making.
    fn take(&self) -> Option<std::ops::Range<usize>> {
        use std::sync::atomic::Ordering::Relaxed;
        let mut from = self.next.load(Relaxed);
        loop {
            if from >= self.len {
                return None;
            }
            let to = from + ((self.len - from) / (2 * self.threads)).max(1);
            match self.next.compare_exchange_weak(from, to, Relaxed, Relaxed) {
                Ok(_) => return Some(from..to),
                Err(now) => from = now,
            }
        }
    }

    /// Takes no more programs (the output cannot be written).
    fn stop(&self) {
        self.next
            .fetch_max(self.len, std::sync::atomic::Ordering::Relaxed);
    }

    fn done(&self, i: usize, shown: std::io::Result<Shown>) {
        self.lock().made[i] = Some(shown);
    }

    /// A share is done: the printing thread, if it waits, looks again. Once a share, not
    /// once a program: a wake-up is a system call, and the wait is for the next output
    /// in order, which a share makes in a row.
    fn share_done(&self) {
        if self.lock().waiting {
            self.made.notify_one();
        }
    }

    /// Program `i`'s output, once it is made.
    fn ready(&self, i: usize) -> Option<std::io::Result<Shown>> {
        self.lock().made.get_mut(i)?.take()
    }

    /// Program `i`'s output, once it is made; None if a thread panicked.
    fn wait_for(&self, i: usize) -> Option<std::io::Result<Shown>> {
        let failed = || self.failed.load(std::sync::atomic::Ordering::Relaxed);
        let mut outputs = self.lock();
        while outputs.made[i].is_none() && !failed() {
            outputs.waiting = true;
            outputs = self.made.wait(outputs).unwrap_or_else(|p| p.into_inner());
        }
        outputs.waiting = false;
        outputs.made[i].take()
    }

    /// A guard for a tracing thread: if the thread panics, the wait for its output ends.
    fn on_panic(&self) -> impl Drop + '_ {
        struct Failed<'a>(&'a Work);
        impl Drop for Failed<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    let w = self.0;
                    w.stop();
                    let _outputs = w.lock();
                    w.failed.store(true, std::sync::atomic::Ordering::Relaxed);
                    w.made.notify_all();
                }
            }
        }
        Failed(self)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Outputs> {
        self.outputs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The outputs of a [`Work`] not printed yet.
struct Outputs {
    /// Each program's, once made.
    made: Vec<Option<std::io::Result<Shown>>>,
    /// The printing thread waits for one.
    waiting: bool,
}

/// One program's part of the output of `trace`, made where it was traced.
struct Shown {
    status: Status,
    /// Why it could not be traced.
    error: Option<String>,
    /// Its list or tree.
    text: Vec<u8>,
    /// Its JSON value.
    json: Option<JsonProgram>,
}

/// A trace, and the plugin set it was traced in (a runtime's own library).
type Traced = (Trace, Option<PluginSet>);

fn trace_one(session: &Session, path: &str, many: bool) -> Result<Traced> {
    let (real, info) = Tracer::inspect_program(session.root(), session.cache(), path)?;
    let arch =
        crate::arch::Arch::from_elf_machine(info.machine).expect("checked by inspect_program");
    // A level the program's architecture does not have (`--cpu-level atomics` for an
    // x86_64 program): the option is wrong, not the ELF file.
    let loader = session
        .loader(arch)
        .map_err(|e| anyhow::Error::new(e).context(path.to_string()))?;
    let tracer = Tracer::new(&loader, session.cache());
    let tracer = if many {
        tracer.sequential()
    } else {
        tracer.searching_ahead(loader.clone())
    };
    // A library (no PT_INTERP) in a runtime's home: traced among its plugin set.
    if info.interp.is_none()
        && let Some((profile, located)) = crate::runtime::home_of(session.root(), path)
    {
        let members = crate::select::runtime_members(session.root(), session.cache(), &located);
        let t = tracer.trace_member(path, &members)?;
        if !t.host_first().is_empty() {
            let set = PluginSet::Runtime {
                runtime: profile.name.to_string(),
                home: located.home,
            };
            return Ok((t, Some(set)));
        }
        return Ok((t, None));
    }
    Ok((tracer.trace_program(path, (real, info))?, None))
}

/// `NAME => PATH` / `NAME => not found`, load order, each object once.
fn render_list(out: &mut impl Write, t: &Trace) -> std::io::Result<()> {
    let mut printed_missing = std::collections::HashSet::new();
    for slot in t.order() {
        match slot {
            Slot::Obj(i) => {
                let o = t.object(i);
                if !o.hidden {
                    // Pieces, not format!: the list of a whole /usr/bin is 7,700 lines.
                    out.write_all(esc(&o.name).as_bytes())?;
                    out.write_all(b" => ")?;
                    out.write_all(esc(&o.path).as_bytes())?;
                    out.write_all(b"\n")?;
                }
            }
            Slot::Missing(m) => {
                let name = &t.missing_at(m).name;
                if printed_missing.insert(name.clone()) {
                    writeln!(out, "{} => not found", esc(name))?;
                }
            }
        }
    }
    if let Some(f) = &t.fatal {
        writeln!(out, "{} => error: {}", esc(&f.name), esc(&f.error))?;
    }
    Ok(())
}

/// How a request was satisfied without loading anything, for the tree.
fn already_label(a: Already) -> &'static str {
    match a {
        Already::Name => "already loaded",
        Already::Soname => "already loaded (soname)",
        Already::File => "already loaded (same file)",
    }
}

/// The bracketed reason of the tree, libtree style.
pub fn reason_label(t: &Trace, o: &crate::resolve::Object) -> String {
    match &o.how {
        How::Program => "program".into(),
        How::Interpreter => "interpreter".into(),
        How::Vdso => "vdso".into(),
        How::Found { step } => {
            let via = t.via(step);
            match hwcaps_note(o.dir()) {
                Some(s) => format!("{via}, {s}"),
                None => via.to_string(),
            }
        }
    }
}

/// "glibc-hwcaps/x86-64-v3" or a legacy subdirectory, when the library was found in one.
fn hwcaps_note(dir: &str) -> Option<String> {
    let i = dir.find("/glibc-hwcaps/")?;
    Some(dir[i + 1..].trim_end_matches('/').to_string())
}

#[derive(Clone, Copy)]
/// Colours (or none), around text it escapes ([`esc`]): what is painted is never
/// escaped before.
struct Paint(bool);
impl Paint {
    fn red(&self, s: &str) -> String {
        let s = esc(s);
        if self.0 {
            format!("\x1b[1;31m{s}\x1b[0m")
        } else {
            s.into_owned()
        }
    }
    fn dim(&self, s: &str) -> String {
        self.dim_escaped(&esc(s))
    }
    /// [`Paint::dim`] of text already escaped (that may hold painted parts).
    fn dim_escaped(&self, s: &str) -> String {
        if self.0 {
            format!("\x1b[2m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        let s = esc(s);
        if self.0 {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.into_owned()
        }
    }
}

/// What the tree shows, and the plugin-set members already drawn (each once).
struct Tree<'a> {
    all: bool,
    verbose: bool,
    p: Paint,
    set: Option<&'a PluginSet>,
    drawn: std::collections::HashSet<usize>,
}

fn render_tree(
    out: &mut impl Write,
    t: &Trace,
    set: Option<&PluginSet>,
    all: bool,
    verbose: bool,
    color: bool,
) -> std::io::Result<()> {
    let mut tree = Tree {
        all,
        verbose,
        p: Paint(color),
        set,
        drawn: Default::default(),
    };
    let p = tree.p;
    if t.is_static {
        writeln!(
            out,
            "{} {}",
            p.bold(&t.program),
            p.dim("[statically linked: no loader, no libraries]")
        )?;
        return Ok(());
    }
    // Escaped here, as it holds a painted part: painted again as it is.
    let interp = match &t.interp {
        Some(i) if i.implied => format!(", no PT_INTERP: traced as {} would", esc(&i.path)),
        Some(i) if i.real.is_none() => {
            format!(", {}", p.red(&format!("interpreter {} not found", i.path)))
        }
        Some(i) => format!(", interpreter {}", esc(&i.path)),
        None => String::new(),
    };
    writeln!(
        out,
        "{} {}",
        p.bold(&t.program),
        p.dim_escaped(&format!("[{}{}]", t.arch, interp))
    )?;
    let mut stack = Vec::new();
    tree_children(out, t, 0, &mut stack, &mut tree)?;
    let libs = t.libraries().count();
    let mut missing: Vec<&str> = t
        .missing()
        .iter()
        .filter(|m| m.kind != DepKind::Auxiliary)
        .map(|m| m.name.as_str())
        .collect();
    missing.sort();
    missing.dedup();
    let mut summary = format!("{libs} {}", if libs == 1 { "library" } else { "libraries" });
    if !missing.is_empty() {
        summary.push_str(&format!(
            ", {}",
            p.red(&format!(
                "{} missing: {}",
                missing.len(),
                missing.join(", ")
            ))
        ));
    }
    if let Some(f) = &t.fatal {
        summary.push_str(&format!(
            ", {}",
            p.red(&format!("the loader stops at {}: {}", f.name, f.error))
        ));
    }
    writeln!(out, "{summary}")?;
    if let Some(set) = set {
        let first: Vec<&str> = t
            .host_first()
            .iter()
            .map(|&o| t.object(o).path.as_str())
            .collect();
        let they = if first.len() == 1 {
            "it provides"
        } else {
            "they provide"
        };
        writeln!(
            out,
            "note: traced as a member of {}, whose host loads {} first: what {they} is already loaded",
            esc(&set.to_string()),
            esc(&first.join(", "))
        )?;
    }
    for m in t.missing() {
        if let Some(s) = &m.stale_cache {
            writeln!(
                out,
                "note: {} exists as {}, a directory of ld.so.conf, but ld.so.cache does not list it: run ldconfig in the root",
                esc(&m.name),
                esc(s)
            )?;
        }
    }
    Ok(())
}

fn tree_children(
    out: &mut impl Write,
    t: &Trace,
    obj: usize,
    stack: &mut Vec<bool>,
    tree: &mut Tree,
) -> std::io::Result<()> {
    let (all, verbose, p) = (tree.all, tree.verbose, tree.p);
    // A name satisfied by a plugin-set member its host loaded first is always shown:
    // that is where the member (and what it loads) enters the picture.
    let edges: Vec<_> = t
        .object(obj)
        .deps
        .iter()
        .filter(|e| match e.outcome {
            Outcome::Already(o, _) if t.is_host_first(o) => true,
            Outcome::Already(..) | Outcome::Ignored => all,
            _ => true,
        })
        .collect();
    for (k, e) in edges.iter().enumerate() {
        let last = k + 1 == edges.len();
        let mut prefix = String::new();
        for &more in stack.iter() {
            prefix.push_str(if more { "│   " } else { "    " });
        }
        prefix.push_str(if last { "└── " } else { "├── " });
        let kind = match e.kind {
            DepKind::Needed => "",
            DepKind::Filter => "filter ",
            DepKind::Auxiliary => "auxiliary ",
            DepKind::Preload => "preload ",
        };
        match &e.outcome {
            Outcome::Loaded(o) => {
                let ob = t.object(*o);
                writeln!(
                    out,
                    "{prefix}{kind}{} {} {}",
                    esc(&ob.name),
                    p.dim(&format!("[{}]", reason_label(t, ob))),
                    esc(&ob.path)
                )?;
                stack.push(!last);
                tree_children(out, t, *o, stack, tree)?;
                stack.pop();
            }
            Outcome::Already(o, _) if t.is_host_first(*o) => {
                let ob = t.object(*o);
                let set = tree
                    .set
                    .map(|s| format!("a member of {s}"))
                    .unwrap_or_else(|| "a plugin-set member".into());
                writeln!(
                    out,
                    "{prefix}{kind}{} {} {}",
                    esc(&e.name),
                    p.dim(&format!("[loaded first by the host: {set}]")),
                    esc(&ob.path)
                )?;
                if tree.drawn.insert(*o) {
                    stack.push(!last);
                    tree_children(out, t, *o, stack, tree)?;
                    stack.pop();
                }
            }
            Outcome::Already(o, how) => {
                let ob = t.object(*o);
                writeln!(
                    out,
                    "{prefix}{kind}{} {}",
                    esc(&e.name),
                    p.dim(&format!("[{}: {}]", already_label(*how), ob.path))
                )?;
            }
            Outcome::Missing(m) => {
                let ms = t.missing_at(*m);
                let opt = if e.kind == DepKind::Auxiliary {
                    " (optional)"
                } else {
                    ""
                };
                writeln!(
                    out,
                    "{prefix}{kind}{} {}",
                    esc(&e.name),
                    p.red(&format!("not found{opt}"))
                )?;
                if verbose {
                    let mut pad = String::new();
                    for &more in stack.iter() {
                        pad.push_str(if more { "│   " } else { "    " });
                    }
                    pad.push_str(if last { "    " } else { "│   " });
                    for tr in &ms.tried {
                        writeln!(
                            out,
                            "{pad}{}",
                            p.dim(&format!(
                                "searched {} ({})",
                                if tr.dir.is_empty() { "." } else { &tr.dir },
                                format_args!("{:#}", t.via(&tr.step))
                            ))
                        )?;
                    }
                    for s in &ms.skipped {
                        writeln!(
                            out,
                            "{pad}{}",
                            p.dim(&format!("skipped {}: {}", s.path, s.why))
                        )?;
                    }
                }
            }
            Outcome::Fatal(err) => writeln!(
                out,
                "{prefix}{kind}{} {}",
                esc(&e.name),
                p.red(&format!("error: {err}"))
            )?,
            Outcome::Ignored => writeln!(
                out,
                "{prefix}{kind}{} {}",
                esc(&e.name),
                p.dim("[ignored: a dynamic string token has no value]")
            )?,
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonOut {
    programs: Vec<JsonProgram>,
}

#[derive(Serialize)]
struct JsonProgram {
    program: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    realpath: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    class: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    machine: Option<String>,
    #[serde(rename = "static", skip_serializing_if = "Option::is_none")]
    is_static: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    complete: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    interpreter: Option<JsonInterp>,
    objects: Vec<JsonObject>,
    missing: Vec<JsonMissing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    loader_error: Option<JsonFatal>,
    /// For a runtime's own library: the plugin set it was traced in.
    #[serde(skip_serializing_if = "Option::is_none")]
    plugin_set: Option<JsonPluginSet>,
}

#[derive(Serialize)]
struct JsonPluginSet {
    #[serde(flatten)]
    set: PluginSet,
    /// The members its host loads first (paths), in load order.
    loaded_first: Vec<String>,
    /// The needs (of the library or of what it loads) those members satisfy.
    satisfied: Vec<JsonSatisfied>,
}

#[derive(Serialize)]
struct JsonSatisfied {
    name: String,
    requested_by: String,
    path: String,
}

#[derive(Serialize)]
struct JsonInterp {
    path: String,
    realpath: Option<String>,
    found: bool,
    implied: bool,
}

#[derive(Serialize)]
struct JsonObject {
    name: String,
    path: String,
    realpath: String,
    reason: JsonReason,
    requested_by: String,
    soname: Option<String>,
    needed: Vec<JsonEdge>,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum JsonReason {
    Path {
        dir: String,
    },
    Rpath {
        owner: String,
        entry: String,
        dir: String,
    },
    Runpath {
        owner: String,
        entry: String,
        dir: String,
    },
    LibraryPath {
        entry: String,
        dir: String,
    },
    LdSoCache {
        dir: String,
    },
    DefaultDir {
        dir: String,
    },
}

#[derive(Serialize)]
struct JsonEdge {
    name: String,
    kind: DepKind,
    result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    /// `plugin_set` when the object is a plugin-set member its host loaded first.
    #[serde(skip_serializing_if = "Option::is_none")]
    satisfied_by: Option<&'static str>,
}

#[derive(Serialize)]
struct JsonMissing {
    name: String,
    kind: DepKind,
    requested_by: String,
    tried: Vec<JsonTried>,
    skipped: Vec<crate::ldso::Skipped>,
    stale_cache: Option<String>,
}

#[derive(Serialize)]
struct JsonTried {
    dir: String,
    via: String,
}

#[derive(Serialize)]
struct JsonFatal {
    name: String,
    requested_by: String,
    error: String,
}

fn json_program(typed: &str, r: &Result<Traced, String>) -> JsonProgram {
    let (t, set) = match r {
        Err(e) => {
            return JsonProgram {
                program: typed.into(),
                error: Some(e.clone()),
                path: None,
                realpath: None,
                arch: None,
                class: None,
                machine: None,
                is_static: None,
                complete: None,
                interpreter: None,
                objects: vec![],
                missing: vec![],
                loader_error: None,
                plugin_set: None,
            };
        }
        Ok((t, set)) => (t, set),
    };
    let name_of = |i: usize| t.object(i).path.clone();
    let objects = t
        .libraries()
        .map(|(_, o)| {
            let (dir, via) = match &o.how {
                How::Found { step } => (o.dir().to_string(), t.via(step)),
                _ => (String::new(), Via::Path),
            };
            let reason = match via {
                Via::Path => JsonReason::Path { dir },
                Via::Rpath { of, entry } => JsonReason::Rpath {
                    owner: of,
                    entry,
                    dir,
                },
                Via::Runpath { of, entry } => JsonReason::Runpath {
                    owner: of,
                    entry,
                    dir,
                },
                Via::LibraryPath { entry } => JsonReason::LibraryPath { entry, dir },
                Via::Cache => JsonReason::LdSoCache { dir },
                Via::DefaultDir => JsonReason::DefaultDir { dir },
            };
            JsonObject {
                name: o.name.clone(),
                path: o.path.clone(),
                realpath: o.real.clone(),
                reason,
                requested_by: o.loader.map(name_of).unwrap_or_default(),
                soname: o.info.as_ref().and_then(|i| i.soname.clone()),
                needed: o.deps.iter().map(|e| json_edge(t, e)).collect(),
            }
        })
        .collect();
    let missing = t
        .missing()
        .iter()
        .map(|m| JsonMissing {
            name: m.name.clone(),
            kind: m.kind,
            requested_by: name_of(m.requested_by),
            tried: m
                .tried
                .iter()
                .map(|tr: &Tried| JsonTried {
                    dir: tr.dir.clone(),
                    via: format!("{:#}", t.via(&tr.step)),
                })
                .collect(),
            skipped: m.skipped.clone(),
            stale_cache: m.stale_cache.clone(),
        })
        .collect();
    JsonProgram {
        program: typed.into(),
        error: None,
        path: Some(t.object(0).path.clone()),
        realpath: Some(t.object(0).real.clone()),
        arch: Some(t.arch.to_string()),
        class: Some(if t.info.class64 { "ELF64" } else { "ELF32" }),
        machine: Some(t.arch.name().into()),
        is_static: Some(t.is_static),
        complete: Some(t.complete()),
        interpreter: t.interp.as_ref().map(|i| JsonInterp {
            path: i.path.clone(),
            realpath: i.real.clone(),
            found: i.real.is_some(),
            implied: i.implied,
        }),
        objects,
        missing,
        loader_error: t.fatal.as_ref().map(|f| JsonFatal {
            name: f.name.clone(),
            requested_by: name_of(f.requested_by),
            error: f.error.clone(),
        }),
        plugin_set: set.as_ref().map(|s| JsonPluginSet {
            set: s.clone(),
            loaded_first: t.host_first().iter().map(|&o| name_of(o)).collect(),
            satisfied: t
                .loaded()
                .flat_map(|(i, o)| o.deps.iter().map(move |e| (i, e)))
                .filter_map(|(i, e)| match e.outcome {
                    Outcome::Already(o, _) if t.is_host_first(o) => Some(JsonSatisfied {
                        name: e.name.clone(),
                        requested_by: name_of(i),
                        path: name_of(o),
                    }),
                    _ => None,
                })
                .collect(),
        }),
    }
}

fn json_edge(t: &Trace, e: &crate::resolve::Edge) -> JsonEdge {
    let satisfied_by = match e.outcome {
        Outcome::Already(o, _) if t.is_host_first(o) => Some("plugin_set"),
        _ => None,
    };
    let (result, path) = match &e.outcome {
        Outcome::Loaded(o) => ("loaded", Some(t.object(*o).path.clone())),
        Outcome::Already(o, _) => ("already_loaded", Some(t.object(*o).path.clone())),
        Outcome::Missing(_) => ("not_found", None),
        Outcome::Fatal(_) => ("error", None),
        Outcome::Ignored => ("ignored", None),
    };
    JsonEdge {
        name: e.name.clone(),
        kind: e.kind,
        result,
        path,
        satisfied_by,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(i: usize) -> std::io::Result<Shown> {
        Ok(Shown {
            status: Status::Ok,
            error: None,
            text: i.to_string().into_bytes(),
            json: None,
        })
    }

    #[test]
    fn work_hands_out_each_program_once_in_shrinking_shares() {
        for (len, threads) in [(1, 2), (2, 2), (912, 2), (2048, 3), (5, 8)] {
            let work = Work::new(len, threads);
            let mut taken = Vec::new();
            let mut sizes = Vec::new();
            while let Some(r) = work.take() {
                sizes.push(r.len());
                taken.extend(r);
            }
            assert_eq!(taken, (0..len).collect::<Vec<_>>(), "{len} on {threads}");
            assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
            assert_eq!(sizes.last(), Some(&1), "{sizes:?}");
            assert!(work.take().is_none());
        }
        // 912 programs on two threads: a quarter first, not one at a time.
        let work = Work::new(912, 2);
        assert_eq!(work.take(), Some(0..228));
        assert_eq!(work.take(), Some(228..399));
    }

    #[test]
    fn work_prints_in_order_whatever_order_threads_end() {
        let work = Work::new(64, 4);
        let printed = std::thread::scope(|s| {
            for k in 0..3 {
                let work = &work;
                s.spawn(move || {
                    // Each thread ends its programs late by a different amount.
                    while let Some(r) = work.take() {
                        for i in r {
                            std::thread::sleep(std::time::Duration::from_micros(50 * k));
                            work.done(i, shown(i));
                        }
                        work.share_done();
                    }
                });
            }
            (0..64)
                .map(|i| {
                    let s = work.wait_for(i).expect("no thread panicked").unwrap();
                    String::from_utf8(s.text).unwrap()
                })
                .collect::<Vec<_>>()
        });
        assert_eq!(printed, (0..64).map(|i| i.to_string()).collect::<Vec<_>>());
        assert!(work.ready(64).is_none(), "past the end");
    }

    #[test]
    fn a_panicking_thread_ends_the_wait_for_its_program() {
        let work = Work::new(4, 2);
        let waited = std::thread::scope(|s| {
            let worker = s.spawn(|| {
                let _failed = work.on_panic();
                let r = work.take().expect("a first share");
                assert_eq!(r, 0..1);
                panic!("tracing program 0 failed");
            });
            let waited = work.wait_for(0).map(|_| ());
            assert!(worker.join().is_err());
            waited
        });
        assert!(waited.is_none(), "the wait ends without an output");
        assert!(work.take().is_none(), "the others stop taking programs");
    }
}
