//! minroot: build the smallest root filesystem that runs a given program.
//!
//! The pipeline is `inputs -> closure -> plan -> emit`; see DESIGN.md. Each stage is a
//! module with an owned output type. `main.rs` and `cli/` are the only places that read
//! the environment or decide exit codes.

#![deny(unsafe_code)] // allowed in one function only: the mmap of `sysroot::read::map`

pub mod arch;
pub mod bundle;
pub mod check;
pub mod cli;
pub mod closure;
pub mod dev;
pub mod elf;
pub mod hints;
pub mod ldso;
pub mod memo;
pub mod objects;
pub mod oci;
pub mod pack;
pub mod plan;
pub mod reason;
pub mod resolve;
pub mod sbom;
pub mod select;
pub mod sysroot;
