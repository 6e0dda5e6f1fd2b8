//! Progress bars on stderr (indicatif) for the library's progress events
//! ([`crate::progress`]): packing (bytes and entries, with a rate), unpacking an image
//! (bytes), checking (ELF files), scanning a root (report), probing.
//!
//! Shown only when stderr is a terminal and `--quiet` was not given: a pipe, a file or a
//! CI log gets no byte of it, and stdout (where text and JSON results go) is never
//! touched. A stage that ends within [`DELAY`] shows nothing at all; a bar is cleared
//! when its stage ends, so what stays on the terminal is the command's own output.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::progress::{Observer, Progress, Stage};

/// Work shorter than this shows no bar.
pub const DELAY: Duration = Duration::from_secs(1);

/// The observer for this process: bars when `stderr_tty` and not `quiet`, else silent.
/// `MINROOT_PROGRESS_DELAY_MS` replaces [`DELAY`] (tests show a bar for short work).
pub fn observer(quiet: bool, stderr_tty: bool) -> Observer {
    if quiet || !stderr_tty {
        return Observer::silent();
    }
    let delay = std::env::var("MINROOT_PROGRESS_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(DELAY);
    Observer::new(Bars {
        delay,
        state: Mutex::new(None),
    })
}

/// Bars on stderr, one stage at a time.
struct Bars {
    delay: Duration,
    state: Mutex<Option<Shown>>,
}

/// The bar of the current stage.
struct Shown {
    bar: ProgressBar,
    stage: Stage,
    started: Instant,
    drawn: bool,
}

impl Shown {
    /// Starts drawing once the stage has lasted the delay.
    fn show_if_long(&mut self, delay: Duration) {
        if !self.drawn && self.started.elapsed() >= delay {
            self.drawn = true;
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.bar.enable_steady_tick(Duration::from_millis(200));
        }
    }
}

/// The look of a stage's bar.
fn style(stage: Stage, total: Option<u64>) -> ProgressStyle {
    let name = stage.name();
    let template = match (stage, total) {
        (Stage::Pack, Some(_)) => format!(
            "{name} [{{bar:25}}] {{bytes}}/{{total_bytes}} {{binary_bytes_per_sec}}, {{msg}}"
        ),
        (Stage::Unpack, Some(_)) => {
            format!(
                "{name} [{{bar:30}}] {{bytes}}/{{total_bytes}} {{binary_bytes_per_sec}} ({{eta}})"
            )
        }
        (Stage::Check, Some(_)) => format!("{name} [{{bar:30}}] {{pos}}/{{len}} ELF files"),
        (Stage::Root, _) => format!("{{spinner}} {name}: {{pos}} files"),
        (Stage::Probe, _) => {
            format!("{{spinner}} {name} {{elapsed}}, {{pos}} file system calls seen")
        }
        (_, None) if stage.counts_bytes() => {
            format!("{{spinner}} {name} {{bytes}} {{binary_bytes_per_sec}}")
        }
        (_, None) => format!("{{spinner}} {name} {{pos}}"),
    };
    ProgressStyle::with_template(&template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Bars {
    fn with(&self, f: impl FnOnce(&mut Shown)) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = state.as_mut() {
            f(s);
            s.show_if_long(self.delay);
        }
    }
}

impl Progress for Bars {
    fn begin(&self, stage: Stage, total: Option<u64>) {
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
        bar.set_style(style(stage, total));
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = state.take() {
            old.bar.finish_and_clear();
        }
        let mut s = Shown {
            bar,
            stage,
            started: Instant::now(),
            drawn: false,
        };
        s.show_if_long(self.delay);
        *state = Some(s);
    }
    fn at(&self, done: u64, items: u64) {
        self.with(|s| {
            s.bar.set_position(done);
            if s.stage == Stage::Pack {
                s.bar.set_message(format!("{items} entries"));
            }
        });
    }
    fn add(&self, n: u64) {
        self.with(|s| s.bar.inc(n));
    }
    fn end(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = state.take() {
            s.bar.finish_and_clear();
        }
    }
}
