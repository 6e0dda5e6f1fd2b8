//! Output names and options that could not act, checked before anything is read.
//!
//! A name says what is written, so a name that says something else is refused with the
//! names that work: `-o x.zip` (a plain tar would be written under a zip's name), `bundle
//! -o b.tar.zst` (a directory named like an archive), `--oci out.tar`, an existing
//! directory as a file output. `-o -` is standard output, as for tar: the layer's bytes as
//! `-o layer.tar` would hold them, refused when standard output is a terminal (as tar and
//! zstd refuse); no other output takes `-`. Where an output may not go (onto an input,
//! inside the root) is the job's check (`job::guard`), which knows the inputs.
//!
//! An option that can never act on this command line is an error naming the option and
//! what would make it act (`--entrypoint` with only `-o`: a bare layer has no image
//! configuration), never silence. The one warning is `--env` without an image output: it
//! still acts on the selection (runtime files and `#!/usr/bin/env` programs are found as
//! the program will see its environment), so the run goes on, but the layer does not carry
//! it. What the root decides (`--data tzdata` in a root without zoneinfo, `--dev` in a root
//! without a shell) is found by the job, which reads the root.

use std::path::Path;

use anyhow::{Result, bail};

use super::args::{ImageArgs, PackArgs, TraceArgs, TraceFormat};
use super::config::HostEnv;
use crate::job::LayerDest;

/// The names `-o` takes for a layer (the suffix chooses the compression).
pub const LAYER_SUFFIXES: &[&str] = &[".tar", ".tar.gz", ".tgz", ".tar.zst", ".tzst"];

/// Suffixes of archives and compressed files: never the name of a directory output.
const ARCHIVE_SUFFIXES: &[&str] = &[
    ".tar", ".tgz", ".tzst", ".gz", ".zst", ".zstd", ".xz", ".txz", ".bz2", ".tbz2", ".lz4",
    ".zip", ".7z", ".rar",
];

fn suffix_of<'a>(path: &Path, among: &[&'a str]) -> Option<&'a str> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    among
        .iter()
        .filter(|s| name.len() > s.len() && name.ends_with(*s))
        .max_by_key(|s| s.len())
        .copied()
}

fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// A device, FIFO or socket (written in place, whatever its name: `-o /dev/null`).
fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

fn ends_with_slash(path: &Path) -> bool {
    path.as_os_str().as_encoded_bytes().ends_with(b"/")
}

/// `-o` of `pack`: a layer file, a device or FIFO, or `-` for standard output.
pub fn layer(path: &Path, env: &HostEnv) -> Result<LayerDest> {
    let p = path.display();
    if is_stdout(path) {
        if env.stdout_tty {
            bail!(
                "-o -: standard output is a terminal, and a layer is binary; redirect it (-o - > layer.tar, or | podman import -) or name a file"
            );
        }
        return Ok(LayerDest::Stdout);
    }
    if is_special(path) {
        return Ok(LayerDest::File(path.to_path_buf()));
    }
    if path.is_dir() || ends_with_slash(path) {
        let d = p.to_string();
        bail!(
            "-o {p}: a directory; -o names the layer file ({}/NAME.tar), and --rootfs DIR writes the tree",
            d.trim_end_matches('/')
        );
    }
    // A symlink is judged by the file it names (`-o /dev/stdout` redirected to a file).
    let resolved = std::fs::canonicalize(path).ok();
    let known = suffix_of(path, LAYER_SUFFIXES).is_some()
        || resolved.is_some_and(|r| suffix_of(&r, LAYER_SUFFIXES).is_some());
    if !known {
        bail!(
            "-o {p}: not a layer name; end it in {} (the suffix chooses the compression), or give - for standard output",
            LAYER_SUFFIXES.join(", ")
        );
    }
    Ok(LayerDest::File(path.to_path_buf()))
}

/// A directory output (`--rootfs`, `--oci`, `--dockerfile`, a bundle directory, `build
/// --oci`): not `-`, not a name of an archive, not an existing non-directory.
pub fn dir(flag: &str, path: &Path, instead: &str) -> Result<()> {
    let p = path.display();
    if is_stdout(path) {
        bail!("{flag} -: {flag} writes a directory; only pack -o writes to standard output");
    }
    if let Some(s) = suffix_of(path, ARCHIVE_SUFFIXES) {
        bail!("{flag} {p}: {flag} writes a directory, and {s} names an archive; {instead}");
    }
    if path.exists() && !path.is_dir() {
        bail!("{flag} {p}: exists and is not a directory ({flag} writes a directory)");
    }
    Ok(())
}

/// `--oci-archive`: an uncompressed tar, named `.tar`.
pub fn oci_archive(path: &Path) -> Result<()> {
    let p = path.display();
    if is_stdout(path) {
        bail!("--oci-archive -: only pack -o writes to standard output; name a file (.tar)");
    }
    if path.is_dir() || ends_with_slash(path) {
        bail!(
            "--oci-archive {p}: a directory; --oci-archive names a file (.tar), --oci DIR writes a layout directory"
        );
    }
    if !is_special(path) && suffix_of(path, &[".tar"]).is_none() {
        bail!(
            "--oci-archive {p}: name it .tar (an OCI archive is an uncompressed tar; its layers are compressed by --compression)"
        );
    }
    Ok(())
}

/// A file output other than the layer (`--sbom`, `probe -o`): not `-`, not a directory.
pub fn file(flag: &str, path: &Path) -> Result<()> {
    let p = path.display();
    if is_stdout(path) {
        bail!("{flag} -: only pack -o writes to standard output; name a file");
    }
    if path.is_dir() || ends_with_slash(path) {
        bail!("{flag} {p}: a directory; {flag} names a file");
    }
    Ok(())
}

/// `bundle -o`: a directory, or a `.tar.gz` / `.tgz`.
pub fn bundle(path: &Path) -> Result<()> {
    if suffix_of(path, &[".tar.gz", ".tgz"]).is_some() {
        return file("-o", path);
    }
    dir(
        "-o",
        path,
        "a bundle is a directory (a name without a suffix) or a .tar.gz / .tgz",
    )
}

/// What warnings the options of `pack` deserve; errors for those that cannot act.
pub fn pack_options(args: &PackArgs) -> Result<Vec<String>> {
    let oci = args.oci.is_some() || args.oci_archive.is_some();
    let config = oci || args.dockerfile.is_some();
    let i: &ImageArgs = &args.image;
    let image_only: [(&str, bool); 5] = [
        ("--entrypoint", !i.entrypoint.is_empty()),
        ("--cmd", !i.cmd.is_empty()),
        ("--user", i.user.is_some()),
        ("--workdir", i.workdir.is_some()),
        ("--label", !i.labels.is_empty()),
    ];
    if !config && let Some((flag, _)) = image_only.iter().find(|(_, given)| *given) {
        bail!(
            "{flag} sets the image's configuration: it acts with --oci DIR, --oci-archive FILE or --dockerfile DIR, and {} writes none",
            written(args)
        );
    }
    let oci_only: [(&str, bool, &str); 3] = [
        ("--tag", i.tag.is_some(), "names the image"),
        ("--dev", i.dev, "adds a -dev image"),
        (
            "--compression",
            args.compression.is_some(),
            "compresses the layers of an OCI image (-o takes the compression from its name)",
        ),
    ];
    if !oci && let Some((flag, _, what)) = oci_only.iter().find(|(_, given, _)| *given) {
        bail!(
            "{flag} {what}: it acts with --oci DIR or --oci-archive FILE, and this run writes only {}",
            written(args)
        );
    }
    let mut warnings = Vec::new();
    if !config && !i.env.is_empty() {
        warnings.push(format!(
            "--env is only read to find what the programs load: {} writes no environment; set it where the layer runs, or give --oci, --oci-archive or --dockerfile",
            written(args)
        ));
    }
    Ok(warnings)
}

/// The outputs of a pack, in words, for messages.
fn written(args: &PackArgs) -> String {
    let mut v = Vec::new();
    if args.output.is_some() {
        v.push("-o");
    }
    if args.rootfs.is_some() {
        v.push("--rootfs");
    }
    if args.dockerfile.is_some() {
        v.push("--dockerfile");
    }
    v.join(" and ")
}

/// `trace -a` and `-v` draw more of the tree: they act with `--format tree` only.
pub fn trace_options(args: &TraceArgs) -> Result<()> {
    if args.format != TraceFormat::Tree {
        for (flag, given) in [("--all", args.all), ("--verbose", args.verbose)] {
            if given {
                bail!(
                    "{flag} shows more of the tree: it acts with --format tree (the default); --format list lists each object once and --format json holds everything"
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes() {
        assert_eq!(
            suffix_of(Path::new("a.tar.gz"), LAYER_SUFFIXES),
            Some(".tar.gz")
        );
        assert_eq!(suffix_of(Path::new("a.tgz"), LAYER_SUFFIXES), Some(".tgz"));
        assert_eq!(suffix_of(Path::new(".tar"), LAYER_SUFFIXES), None);
        assert_eq!(suffix_of(Path::new("x.zip"), LAYER_SUFFIXES), None);
        assert_eq!(
            suffix_of(Path::new("b.tar.zst"), ARCHIVE_SUFFIXES),
            Some(".zst")
        );
        assert!(bundle(Path::new("b.tar.zst")).is_err());
        assert!(bundle(Path::new("b.tar.gz")).is_ok());
        assert!(bundle(Path::new("b")).is_ok());
        assert!(bundle(Path::new("-")).is_err());
    }
}
