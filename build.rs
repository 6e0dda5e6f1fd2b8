//! Links GCC's unwinder into the binary (`libgcc_eh.a`, what `gcc -static-libgcc` links)
//! instead of loading `libgcc_s.so.1` at every start.
//!
//! Rust's std takes the unwinder (`_Unwind_*`, for panics and backtraces) from libgcc_s on
//! glibc targets, and nothing else: loading it and running its constructor, which asks the
//! CPU for its features with `cpuid`, cost 0.15 ms of every start here (a virtual machine,
//! where each `cpuid` is a trap to the hypervisor, 8.5 us), about 3% of
//! `trace /usr/bin/ffmpeg`. The archive comes before std's `-lgcc_s` on the link line, and
//! whole (an archive member is only taken for a symbol already missing), so the linker's
//! `--as-needed` then drops libgcc_s. A fully static build (`+crt-static`) would save more,
//! but cargo then cannot build the proc-macro crates unless every build names `--target`.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let static_crt = std::env::var("CARGO_CFG_TARGET_FEATURE")
        .is_ok_and(|f| f.split(',').any(|f| f == "crt-static"));
    if os == "linux" && env == "gnu" && !static_crt {
        println!("cargo:rustc-link-lib=static:+whole-archive,-bundle=gcc_eh");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
