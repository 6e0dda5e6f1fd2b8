//! Emitting a plan: the layer tar (plain, gzip or zstd), streamed once, hashed while
//! written (the uncompressed sha256 is the diff_id, the compressed one the blob digest),
//! into a temporary file renamed into place only when everything succeeded.

pub mod digest;
pub mod gz;
pub mod rootfs;
pub mod tar;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::plan::Plan;
use digest::DigestWriter;

/// Layer compression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// gzip level (as `gzip -6`).
pub const GZIP_LEVEL: u32 = 6;
/// zstd level (the library default).
pub const ZSTD_LEVEL: i32 = 3;

impl Compression {
    /// From an output file name: `.tar.gz`/`.tgz`, `.tar.zst`/`.tzst`, anything else plain.
    pub fn from_path(p: &Path) -> Compression {
        let s = p.to_string_lossy();
        if s.ends_with(".gz") || s.ends_with(".tgz") {
            Compression::Gzip
        } else if s.ends_with(".zst") || s.ends_with(".tzst") || s.ends_with(".zstd") {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
    /// OCI media type of a layer with this compression.
    pub fn media_type(self) -> &'static str {
        match self {
            Compression::None => "application/vnd.oci.image.layer.v1.tar",
            Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }
}

/// What was written.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LayerInfo {
    pub compression: Compression,
    #[serde(flatten)]
    pub stats: tar::TarStats,
    /// Size of the uncompressed tar.
    pub tar_bytes: u64,
    /// sha256 of the uncompressed tar (the OCI diff_id).
    pub diff_id: String,
    /// sha256 and size of the file as written (equal to the above when uncompressed).
    pub blob_digest: String,
    pub blob_bytes: u64,
}

/// Writes the layer to `w`.
pub fn write_layer_to<W: Write + Send>(
    plan: &Plan,
    mtime: u64,
    compression: Compression,
    w: W,
) -> io::Result<(W, LayerInfo)> {
    if compression == Compression::None {
        // The blob is the tar itself: one hash, not two.
        let mut t = DigestWriter::new(BufWriter::with_capacity(1 << 20, w));
        let stats = tar::write_plan(plan, mtime, &mut t)?;
        let (bw, diff_id, tar_bytes) = t.finish();
        let w = bw.into_inner().map_err(|e| e.into_error())?;
        let info = LayerInfo {
            compression,
            stats,
            tar_bytes,
            blob_digest: diff_id.clone(),
            diff_id,
            blob_bytes: tar_bytes,
        };
        return Ok((w, info));
    }
    let blob = DigestWriter::new(w);
    let (blob, stats, diff_id, tar_bytes) = match compression {
        Compression::None => unreachable!("handled above"),
        Compression::Gzip => {
            let mut t = DigestWriter::new(gz::ParGzWriter::new(blob, GZIP_LEVEL));
            let stats = tar::write_plan(plan, mtime, &mut t)?;
            let (gzw, d, n) = t.finish();
            (gzw.finish()?, stats, d, n)
        }
        Compression::Zstd => {
            let mut enc = zstd::stream::Encoder::new(blob, ZSTD_LEVEL)?;
            // Multithreaded zstd output does not depend on the number of workers (>= 1).
            enc.multithread(rayon::current_num_threads().max(1) as u32)?;
            enc.include_checksum(true)?;
            let mut t = DigestWriter::new(BufWriter::with_capacity(1 << 20, enc));
            let stats = tar::write_plan(plan, mtime, &mut t)?;
            let (bw, d, n) = t.finish();
            let enc = bw.into_inner().map_err(|e| e.into_error())?;
            (enc.finish()?, stats, d, n)
        }
    };
    let (w, blob_digest, blob_bytes) = blob.finish();
    Ok((
        w,
        LayerInfo {
            compression,
            stats,
            tar_bytes,
            diff_id,
            blob_digest,
            blob_bytes,
        },
    ))
}

/// Writes the layer to `out` through a temporary file in the same directory, renamed
/// into place at the end; on any error the temporary file is removed. A device, FIFO or
/// socket (`-o /dev/stdout`, `-o /dev/null`) is written in place instead: a rename would
/// replace the node itself (as root, /dev/null would become a regular file).
pub fn write_layer(
    plan: &Plan,
    mtime: u64,
    compression: Compression,
    out: &Path,
) -> io::Result<LayerInfo> {
    if is_special(out) {
        let f = std::fs::OpenOptions::new().write(true).open(out)?;
        let (mut f, info) = write_layer_to(plan, mtime, compression, f)?;
        f.flush()?;
        return Ok(info);
    }
    let tmp = AtomicFile::create(out)?;
    let (f, info) = write_layer_to(plan, mtime, compression, tmp.file()?)?;
    f.sync_all().ok();
    drop(f);
    tmp.commit()?;
    Ok(info)
}

/// A private name next to `dest` in its directory (which must exist), for a file or
/// directory that is renamed onto `dest` once complete: `.NAME.minroot-PID.SUFFIX`.
pub fn staging_path(dest: &Path, suffix: &str) -> io::Result<PathBuf> {
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{}: the directory does not exist", dir.display()),
        ));
    }
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    Ok(dir.join(format!(".{name}.minroot-{}.{suffix}", std::process::id())))
}

/// A temporary file next to its destination, removed unless committed.
pub struct AtomicFile {
    tmp: PathBuf,
    dest: PathBuf,
    done: bool,
}

/// Whether `p` exists and is a device, FIFO or socket (symlinks followed).
fn is_special(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

impl AtomicFile {
    pub fn create(dest: &Path) -> io::Result<AtomicFile> {
        if is_special(dest) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{}: a device, FIFO or socket, not a file this output can replace",
                    dest.display()
                ),
            ));
        }
        // A symlink to a file (`/dev/stdout` redirected to a file): replace the file it
        // names, not the link.
        let resolved;
        let dest = if std::fs::symlink_metadata(dest).is_ok_and(|m| m.file_type().is_symlink())
            && std::fs::metadata(dest).is_ok_and(|m| m.is_file())
        {
            resolved = std::fs::canonicalize(dest)?;
            resolved.as_path()
        } else {
            dest
        };
        let tmp = staging_path(dest, "tmp")?;
        Ok(AtomicFile {
            tmp,
            dest: dest.to_path_buf(),
            done: false,
        })
    }
    pub fn path(&self) -> &Path {
        &self.tmp
    }
    pub fn file(&self) -> io::Result<File> {
        File::create(&self.tmp)
    }
    pub fn commit(mut self) -> io::Result<()> {
        std::fs::rename(&self.tmp, &self.dest)?;
        self.done = true;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}
