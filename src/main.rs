//! The `minroot` binary: everything is in the library; this maps the outcome to an exit code.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(minroot::cli::main() as u8)
}
