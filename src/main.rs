//! The `minroot` binary: everything is in the library; this maps the outcome to an exit code.
//!
//! The allocator is mimalloc (its 2.x line). A trace makes about 90 small allocations per
//! library; with glibc's malloc, each new page of the heap was a page fault (445 in
//! `trace /usr/bin/ffmpeg`), which on a virtual machine costs microseconds. mimalloc asks
//! for transparent huge pages for its arena, so the heap faults in 2 MiB at a time: that
//! trace went from 11.40 to 10.27 ms (x0.90). Its start costs about 0.4 ms (x1.13 for
//! `trace /bin/true`), and mimalloc 3 cost more at start and saved less.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(minroot::cli::main() as u8)
}
