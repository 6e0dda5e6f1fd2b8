//! minroot: build the smallest root filesystem that runs a given program.
//!
//! The modules are the stages of the pipeline, in order (see DESIGN.md):
//!
//! ```text
//! inputs ──> closure ──> selection ──> plan ──> outputs
//! ```
//!
//! A job's path through them: the command line (`cli/`) or the build spec turns what
//! was typed into a validated [`job::Job`]; [`job::run`] opens each root ([`session`]),
//! traces every program with the loader's rules ([`closure`] over [`ldso`] and
//! [`resolve`]), adds what it loads at run time and what was asked for ([`hints`],
//! [`select`]), lays the layer out ([`plan`]), attributes it to packages ([`sbom`]) and
//! writes it ([`pack`], [`oci`], [`bundle`]); the command line renders the returned
//! [`job::Outcome`] and decides the exit status. `check` reads any image with the same
//! loader rules. Only `main.rs` and `cli/` read the process environment or print; the
//! only process-wide state is [`cleanup`]'s registry of temporary paths.
#![deny(unsafe_code)] // allowed in one function only: the mmap of `sysroot::read::map`

// Facts shared by every stage.
pub mod arch;
pub mod bytes;
pub mod facts;
pub mod problem;
pub mod progress;
pub mod reason;

// What an interrupted run leaves behind: the one process-wide registry.
pub mod cleanup;

// Inputs: the root, the files in it, and the job that names them.
pub mod elf;
pub mod image;
pub mod job;
pub mod memo;
pub mod session;
pub mod sysroot;

// The closure: what the loader loads, exactly as it does.
pub mod closure;
pub mod ldso;
pub mod objects;
pub mod resolve;

// The selection: what the program loads by itself, and what was asked for.
pub mod hints;
pub mod probe;
pub mod runtime;
pub mod select;

// The plan: every entry of the layer.
pub mod dev;
pub mod plan;

// Outputs.
pub mod bundle;
pub mod oci;
pub mod pack;
pub mod sbom;

// Reading images minroot did not make.
pub mod check;

// The command line.
pub mod cli;
