//! What an interrupted run would leave behind, removed on SIGINT, SIGTERM and SIGHUP.
//!
//! Every temporary path a run makes outside the process (an output's `.NAME.minroot-XXXXXX.tmp`
//! file, a `.staging` or `.old` tree next to an output, the scratch directory `check` and an
//! image root unpack into, the probe's private directory) is registered here while it
//! exists: [`track`] creates it and registers it in one step, and the returned [`Guard`]
//! unregisters it when dropped (after the owner removed it, or renamed it into place). Normal
//! ends need nothing from here: the owners' `Drop` removes their paths on success and on
//! error. What this adds is the signal: [`remove_on_signals`] starts one thread that waits
//! for SIGINT, SIGTERM or SIGHUP (signal-hook's iterator: the handler itself only writes to a
//! pipe), removes every registered path, and then lets the signal end the process as its
//! default action would, so a shell sees the status 128+N and a `for` loop stops on Ctrl-C
//! (a program that exits 130 instead looks to bash as if it handled the Ctrl-C itself).
//!
//! Races, and why none of them leaves anything:
//! - a path made but not yet registered: [`track`] creates it while holding the registry,
//!   which the signal thread takes before removing anything and keeps until the process
//!   ends, so a path is either registered before the removal or never made;
//! - a directory still being written into: the writers never recreate the registered
//!   directory itself (they create entries inside it, which fails once it is gone), and the
//!   removal is retried while entries appear in it;
//! - an output half moved into place: a sequence of renames that replaces an earlier output
//!   (the earlier OCI layout moved aside, then the new one moved in) runs inside
//!   [`critical`], which the signal thread waits for, so an earlier output is either still
//!   in place or already replaced, never removed with the temporary paths.
//!
//! The registry is the library's only process-wide state; nothing here runs unless the
//! binary calls [`remove_on_signals`].

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The paths to remove, by registration number.
struct Registry {
    next: u64,
    paths: BTreeMap<u64, PathBuf>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    next: 0,
    paths: BTreeMap::new(),
});

/// Held across renames that must not be cut in the middle, and by the signal thread from the
/// signal on.
static RENAMES: Mutex<()> = Mutex::new(());

fn registry() -> MutexGuard<'static, Registry> {
    // A panic elsewhere while holding it leaves the map as it was: still usable.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// A registered path: unregistered when dropped. Keep it next to (after, so it is dropped
/// after) what owns the path.
#[derive(Debug)]
#[must_use = "the path is unregistered when the guard is dropped"]
pub struct Guard(u64);

impl Drop for Guard {
    fn drop(&mut self) {
        registry().paths.remove(&self.0);
    }
}

/// Creates a temporary path with `create` and registers the path `path` gives of it.
pub fn track<T>(
    create: impl FnOnce() -> io::Result<T>,
    path: impl FnOnce(&T) -> PathBuf,
) -> io::Result<(T, Guard)> {
    // The signal thread is there before the first path is made.
    start_if_asked();
    let mut r = registry();
    let made = create()?;
    let id = r.next;
    r.next += 1;
    r.paths.insert(id, path(&made));
    Ok((made, Guard(id)))
}

/// Runs `f` (renames that replace an earlier output) so that a signal cannot remove the
/// temporary paths half way through it: the removal waits until `f` has returned.
pub fn critical<R>(f: impl FnOnce() -> R) -> R {
    let _held = RENAMES.lock().unwrap_or_else(|e| e.into_inner());
    f()
}

/// The paths registered now (for tests).
pub fn registered() -> Vec<PathBuf> {
    registry().paths.values().cloned().collect()
}

/// Whether the binary asked for the signal thread ([`remove_on_signals`]).
static ASKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Asks for the thread that, on SIGINT, SIGTERM or SIGHUP, removes every registered path
/// and ends the process by that signal. For the binary's `main` only. The thread starts
/// with the first [`track`]: until a path is registered, a signal's default action ends
/// the process as the thread would (nothing to remove), and a run that makes no
/// temporary path (`trace`, `files`) starts no thread.
pub fn remove_on_signals() {
    ASKED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Starts the signal thread once, if the binary asked for it; without it (it cannot
/// start) a signal ends the run as before.
fn start_if_asked() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    if ASKED.load(std::sync::atomic::Ordering::Relaxed) {
        STARTED.call_once(|| {
            let _ = start_signal_thread();
        });
    }
}

/// Starts the thread [`remove_on_signals`] asks for.
fn start_signal_thread() -> io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("minroot-signals".into())
        .spawn(move || {
            let Some(sig) = signals.forever().next() else {
                return;
            };
            // Both held until the process ends: no rename sequence is cut, and no new
            // path is made after the removal.
            let _renames = RENAMES.lock().unwrap_or_else(|e| e.into_inner());
            let r = registry();
            // Newest first: a temporary file inside a registered directory goes with it.
            for p in r.paths.values().rev() {
                remove(p);
            }
            // As the default action would: terminated by the signal.
            let _ = signal_hook::low_level::emulate_default_handler(sig);
            signal_hook::low_level::exit(128 + sig);
        })?;
    Ok(())
}

/// Removes a file or a whole tree at `p` (never following a symlink), retrying while
/// another thread is still creating entries in it, and making directories writable when a
/// removal is refused (an image may hold directories without owner write permission).
fn remove(p: &Path) {
    for attempt in 0..100 {
        let done = match fs::symlink_metadata(p) {
            Err(e) => e.kind() == io::ErrorKind::NotFound || attempt > 3,
            Ok(m) if m.is_dir() => match fs::remove_dir_all(p) {
                Ok(()) => true,
                Err(e) => {
                    if e.kind() == io::ErrorKind::PermissionDenied {
                        make_dirs_writable(p);
                    }
                    false
                }
            },
            Ok(_) => fs::remove_file(p).is_ok(),
        };
        if done && fs::symlink_metadata(p).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(if attempt < 10 { 1 } else { 20 }));
    }
}

fn make_dirs_writable(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for e in walkdir::WalkDir::new(p)
        .follow_links(false)
        .into_iter()
        .flatten()
    {
        if e.file_type().is_dir() {
            let _ = fs::set_permissions(e.path(), fs::Permissions::from_mode(0o700));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guard_registers_its_path_until_dropped() {
        let d = tempfile::tempdir().unwrap();
        let (t, g) = track(
            || tempfile::tempdir_in(d.path()),
            |t| t.path().to_path_buf(),
        )
        .unwrap();
        let p = t.path().to_path_buf();
        assert!(registered().contains(&p));
        drop(t);
        drop(g);
        assert!(!registered().contains(&p));
        // Nothing registered when the creation fails.
        let before = registered().len();
        assert!(
            track(
                || tempfile::tempdir_in(d.path().join("no")),
                |t| t.path().to_path_buf()
            )
            .is_err()
        );
        assert!(registered().len() <= before);
    }

    #[test]
    fn remove_takes_trees_files_and_locked_directories() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let tree = d.path().join("t");
        fs::create_dir_all(tree.join("a/b")).unwrap();
        fs::write(tree.join("a/b/f"), "x").unwrap();
        std::os::unix::fs::symlink("/etc", tree.join("l")).unwrap();
        fs::set_permissions(tree.join("a"), fs::Permissions::from_mode(0o500)).unwrap();
        remove(&tree);
        assert!(!tree.exists());
        let f = d.path().join("f");
        fs::write(&f, "x").unwrap();
        remove(&f);
        assert!(!f.exists());
        remove(&d.path().join("missing"));
        assert!(Path::new("/etc").exists());
    }
}
