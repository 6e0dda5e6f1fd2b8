//! The `minroot` binary: everything is in the library; this maps the outcome to an exit code.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(minroot::cli::main() as u8)
}

// minroot makes many small allocations (paths, names); mimalloc is faster at those than
// glibc's malloc, and keeps the binary's behaviour independent of the host's allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
