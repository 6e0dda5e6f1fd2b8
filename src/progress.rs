//! Progress of long work, as events for whoever watches: the library never prints, it
//! tells an [`Observer`] what it does (a stage begins, so much of it is done, it ends);
//! the command line draws the bars on a terminal (`cli/progress.rs`). The default
//! observer ignores everything, so a library user, a test and a pipe pay nothing.
//!
//! The events carry counts, never text to print: an observer decides what to show and
//! whether to show it at all (the command line shows nothing when stderr is not a
//! terminal, for `--quiet` and `--json`).

use std::fmt;
use std::sync::Arc;

/// A long piece of work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Writing a layer (tar, compressed or not, or a rootfs tree): bytes of content, and
    /// entries.
    Pack,
    /// Unpacking an image or a layer into a private root: bytes read.
    Unpack,
    /// Checking the programs and libraries of a root: files inspected.
    Check,
    /// Walking a whole root (report): files seen.
    Root,
    /// Running a program under observation: files seen.
    Probe,
}

impl Stage {
    /// A word for it.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Pack => "packing",
            Stage::Unpack => "unpacking",
            Stage::Check => "checking",
            Stage::Root => "scanning the root",
            Stage::Probe => "probing",
        }
    }
    /// Whether the amounts are bytes (else items).
    pub fn counts_bytes(self) -> bool {
        matches!(self, Stage::Pack | Stage::Unpack)
    }
}

/// What watches the work. Every method has an empty default: implement what you show.
/// Called from the thread doing the work (and for `Check`, from several): keep it cheap.
pub trait Progress: Send + Sync {
    /// `stage` begins; `total` is its amount when known ahead (bytes or items).
    fn begin(&self, stage: Stage, total: Option<u64>) {
        let _ = (stage, total);
    }
    /// The amount done so far in the current stage, and the items (files, entries) among
    /// it when the amount is bytes.
    fn at(&self, done: u64, items: u64) {
        let _ = (done, items);
    }
    /// `n` more done (from any thread).
    fn add(&self, n: u64) {
        let _ = n;
    }
    /// The current stage ended (with success or not).
    fn end(&self) {}
}

/// The observer that ignores everything.
pub struct Silent;
impl Progress for Silent {}

/// A shared handle on an observer, held by a job (silent by default).
#[derive(Clone)]
pub struct Observer(Arc<dyn Progress>);

impl Observer {
    pub fn new(p: impl Progress + 'static) -> Observer {
        Observer(Arc::new(p))
    }
    /// The observer that ignores everything.
    pub fn silent() -> Observer {
        Observer(Arc::new(Silent))
    }
    /// `stage` begins: the returned guard ends it when dropped (also on an error).
    pub fn stage(&self, stage: Stage, total: Option<u64>) -> StageGuard<'_> {
        self.0.begin(stage, total);
        StageGuard(self)
    }
}

impl Default for Observer {
    fn default() -> Observer {
        Observer::silent()
    }
}

impl std::ops::Deref for Observer {
    type Target = dyn Progress;
    fn deref(&self) -> &(dyn Progress + 'static) {
        &*self.0
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Observer")
    }
}

/// A stage in progress; ends it when dropped.
pub struct StageGuard<'a>(&'a Observer);

impl std::ops::Deref for StageGuard<'_> {
    type Target = dyn Progress;
    fn deref(&self) -> &(dyn Progress + 'static) {
        &*self.0.0
    }
}

impl Drop for StageGuard<'_> {
    fn drop(&mut self) {
        self.0.0.end();
    }
}

/// A reader that tells `progress` how many bytes went through it ([`Progress::add`]).
pub struct ReadProgress<'a, R> {
    inner: R,
    progress: &'a dyn Progress,
}

impl<'a, R> ReadProgress<'a, R> {
    pub fn new(inner: R, progress: &'a dyn Progress) -> Self {
        ReadProgress { inner, progress }
    }
}

impl<R: std::io::Read> std::io::Read for ReadProgress<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.add(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use std::sync::Mutex;

    /// An observer that records every event, for tests of the stages that report.
    #[derive(Default)]
    pub struct Recorder(pub Mutex<Vec<Event>>);

    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Event {
        Begin(Stage, Option<u64>),
        At(u64, u64),
        Add(u64),
        End,
    }

    impl Progress for Recorder {
        fn begin(&self, stage: Stage, total: Option<u64>) {
            self.0.lock().unwrap().push(Event::Begin(stage, total));
        }
        fn at(&self, done: u64, items: u64) {
            self.0.lock().unwrap().push(Event::At(done, items));
        }
        fn add(&self, n: u64) {
            self.0.lock().unwrap().push(Event::Add(n));
        }
        fn end(&self) {
            self.0.lock().unwrap().push(Event::End);
        }
    }

    /// A recorder behind an observer, and a way to read what it got.
    pub fn recorder() -> (Observer, Arc<Recorder>) {
        let r = Arc::new(Recorder::default());
        (Observer(r.clone()), r)
    }

    #[test]
    fn a_stage_ends_when_its_guard_drops_even_on_an_early_return() {
        let (o, r) = recorder();
        let f = || -> Result<(), ()> {
            let s = o.stage(Stage::Check, Some(3));
            s.add(1);
            Err(())?;
            s.add(2);
            Ok(())
        };
        assert!(f().is_err());
        assert_eq!(
            *r.0.lock().unwrap(),
            [
                Event::Begin(Stage::Check, Some(3)),
                Event::Add(1),
                Event::End
            ]
        );
        // The silent one takes everything.
        let s = Observer::default();
        s.stage(Stage::Pack, None).at(1, 1);
    }
}
