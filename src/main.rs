//! The `minroot` binary: everything is in the library; this maps the outcome to an exit code.
//!
//! The allocator is mimalloc (its 2.x line). A trace makes about 90 small allocations per
//! library; with glibc's malloc, each new page of the heap was a page fault (445 in
//! `trace /usr/bin/ffmpeg`), which on a virtual machine costs microseconds; mimalloc's
//! pages per size class fault fewer. mimalloc 3 cost more at start and saved less.
//!
//! It is built without transparent huge pages (the -sys crate's `no_thp`: no
//! `madvise(MADV_HUGEPAGE)` on its arena, and nothing set for the process, so programs that
//! `probe` starts are not affected). With them, every 2 MiB the heap touched was zeroed at
//! once: a fifth of the CPU time of tracing /usr/bin went to `clear_page_erms`, and the
//! ffmpeg trace held 16 MB instead of 7.4 MB. Without them: that trace x0.88, the whole
//! /usr/bin x0.99, `pack` x0.89-0.97, `check` x0.95 (alternated runs, 12 to 60 rounds).
//!
//! mimalloc gives memory back to the kernel 10 ms after it was freed ("purging"). A pack
//! frees and allocates its chunk buffers over and over, so they were given back and
//! faulted in again, zeroed: a gzip pack of ffmpeg took 5-9% longer than with glibc's
//! malloc. A run frees everything when it ends, so minroot never purges. Setting that
//! option is the binary's one `unsafe` block (the library has one too: its mmap).

#![deny(unsafe_code)]

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` of mimalloc 2's `mimalloc.h` (the -sys crate has no constant
/// for it; the test below checks it against the option's default).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // SAFETY: stores one option value, before any thread but this one exists.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1)
    };
    std::process::ExitCode::from(minroot::cli::main() as u8)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reads one option value.
        #[allow(unsafe_code)]
        let (delay, before) = unsafe {
            (
                libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY),
                libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY - 1),
            )
        };
        // purge_delay defaults to 10 ms; the option before it, eager_commit_delay, to 1.
        assert_eq!((delay, before), (10, 1));
    }

    /// build.rs links GCC's unwinder in: libgcc_s is not loaded, and a panic still unwinds
    /// (with a backtrace, through the unwinder's own `_Unwind_Backtrace`).
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn the_unwinder_is_linked_in_and_unwinds() {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        assert!(maps.contains("libc.so.6"), "{maps}");
        assert!(!maps.contains("libgcc_s"), "{maps}");
        let bt = std::backtrace::Backtrace::force_capture();
        assert_eq!(bt.status(), std::backtrace::BacktraceStatus::Captured);
        let r = std::panic::catch_unwind(|| panic!("unwinds"));
        assert_eq!(*r.unwrap_err().downcast::<&str>().unwrap(), "unwinds");
    }
}
