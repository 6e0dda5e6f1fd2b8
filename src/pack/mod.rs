//! Emitting a plan: the layer tar (plain, gzip or zstd), streamed once, hashed while
//! written (the uncompressed sha256 is the diff_id, the compressed one the blob digest),
//! into a temporary file renamed into place only when everything succeeded.
//!
//! Temporary files and directories for every output (layers, images, rootfs trees,
//! Dockerfiles, SBOMs) come from here, made by `tempfile` next to the destination (a
//! rename does not cross file systems): unpredictable names, created exclusively, removed
//! on error or drop, and registered with `cleanup` so that SIGINT, SIGTERM and SIGHUP
//! remove them too. Only SIGKILL or a power loss leaves one behind, as a dot-file
//! `.NAME.minroot-XXXXXX.{tmp,staging,old}` that nothing will open again by name.

pub mod copy;
pub mod digest;
pub mod gz;
pub mod rootfs;
pub mod tar;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tempfile::{NamedTempFile, TempDir};

use crate::cleanup;
use crate::plan::Plan;
use crate::progress::{Progress, Stage};
use digest::DigestWriter;
use tar::{TarStats, WriteSink};

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

/// For people: `plain tar`, `gzip`, `zstd`.
impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Compression::None => "plain tar",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        })
    }
}

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

/// Writes the layer to `w`, telling `progress` (a [`Stage::Pack`] in bytes of content
/// and entries).
pub fn write_layer_to<W: Write + Send>(
    plan: &Plan,
    mtime: u64,
    compression: Compression,
    w: W,
    progress: &dyn Progress,
) -> io::Result<(W, LayerInfo)> {
    let _stage = PackStage::begin(plan, progress);
    let done = &mut |s: &TarStats| progress.at(s.content_bytes, s.entries as u64);
    if compression == Compression::None {
        // The blob is the tar itself: one hash, not two.
        let mut t = WriteSink(DigestWriter::new(BufWriter::with_capacity(1 << 20, w)));
        let stats = tar::write_plan_into(plan, mtime, &mut t, done)?;
        let t = t.0;
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
            let mut t = WriteSink(DigestWriter::new(gz::ParGzWriter::new(blob, GZIP_LEVEL)));
            let stats = tar::write_plan_into(plan, mtime, &mut t, done)?;
            let (gzw, d, n) = t.0.finish();
            (gzw.finish()?, stats, d, n)
        }
        Compression::Zstd => {
            let mut enc = zstd::stream::Encoder::new(blob, ZSTD_LEVEL)?;
            // Multithreaded zstd output does not depend on the number of workers (>= 1).
            enc.multithread(rayon::current_num_threads().max(1) as u32)?;
            enc.include_checksum(true)?;
            let mut t = WriteSink(DigestWriter::new(BufWriter::with_capacity(1 << 20, enc)));
            let stats = tar::write_plan_into(plan, mtime, &mut t, done)?;
            let (bw, d, n) = t.0.finish();
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

/// Drops the cached pages of the file at `dest` that a layer is about to replace, on a
/// thread of its own, and returns at once. Freeing those pages is part of replacing the
/// file (the rename drops its last link): done now, it overlaps the planning, which keeps
/// one core busy, rather than delaying the end. Only the page cache goes: the file's
/// data and its name stay, so until the rename a crash or an error leaves the old file
/// whole. For ffmpeg's 255 MB layer it moved 23 of the rename's 70 ms off the critical
/// path. Anything but an existing regular file (after symlinks, as [`AtomicFile`]
/// follows them) is left alone.
pub fn forget_cached_output(dest: &Path) {
    let dest = dest.to_path_buf();
    let _ = std::thread::Builder::new()
        .name("minroot-forget".into())
        .spawn(move || {
            // Non-blocking: a FIFO at `dest` must not hang the thread; it is no file anyway.
            if let Ok(f) = crate::sysroot::read::open_nonblocking(&dest)
                && f.metadata().is_ok_and(|m| m.is_file())
            {
                let _ = rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed);
            }
        });
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
    progress: &dyn Progress,
) -> io::Result<LayerInfo> {
    if is_special(out) {
        let f = std::fs::OpenOptions::new().write(true).open(out)?;
        return write_layer_file(plan, mtime, compression, &f, progress);
    }
    let tmp = AtomicFile::create(out)?;
    let info = write_layer_file(plan, mtime, compression, tmp.as_file(), progress)?;
    tmp.commit()?;
    Ok(info)
}

/// Writes the layer into `f`, a new regular file: an uncompressed one at the speed of a
/// copy ([`copy::write_tar`]), a compressed one as [`write_layer_to`].
pub fn write_layer_file(
    plan: &Plan,
    mtime: u64,
    compression: Compression,
    f: &File,
    progress: &dyn Progress,
) -> io::Result<LayerInfo> {
    if compression != Compression::None {
        return write_layer_to(plan, mtime, compression, f, progress).map(|(_, info)| info);
    }
    let _stage = PackStage::begin(plan, progress);
    let (stats, diff_id, tar_bytes) = copy::write_tar(plan, mtime, f, &mut |s| {
        progress.at(s.content_bytes, s.entries as u64)
    })?;
    Ok(LayerInfo {
        compression,
        stats,
        tar_bytes,
        blob_digest: diff_id.clone(),
        diff_id,
        blob_bytes: tar_bytes,
    })
}

/// A [`Stage::Pack`] told to `progress`, with the plan's content bytes as its total;
/// ended when dropped.
struct PackStage<'a>(&'a dyn Progress);

impl<'a> PackStage<'a> {
    fn begin(plan: &Plan, progress: &'a dyn Progress) -> PackStage<'a> {
        let total = plan
            .entries()
            .values()
            .map(|e| match &e.content {
                crate::plan::Content::File { size, .. } => *size,
                crate::plan::Content::Data(d) => d.len() as u64,
                _ => 0,
            })
            .sum();
        progress.begin(Stage::Pack, Some(total));
        PackStage(progress)
    }
}

impl Drop for PackStage<'_> {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// The directory `dest` is written in, which must exist.
fn dest_dir(dest: &Path) -> io::Result<&Path> {
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{}: the directory does not exist", dir.display()),
        ));
    }
    Ok(dir)
}

/// The file name of `dest` as the start of a temporary name next to it: `.NAME.minroot-`.
fn temp_prefix(dest: &Path) -> String {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    format!(".{name}.minroot-")
}

/// A new temporary file next to `dest` in its directory, for a file that is renamed onto
/// `dest` once complete: `.NAME.minroot-XXXXXX.tmp`, with six random characters. It is
/// created exclusively (`O_CREAT|O_EXCL`: a file or symlink already at that name, say
/// one planted by another user in a shared directory, is never opened; another name is
/// tried), with the mode a plain create gives (0666 less the umask), and removed when
/// dropped unless persisted.
pub fn temp_file_next_to(dest: &Path) -> io::Result<NamedTempFile> {
    let dir = dest_dir(dest)?;
    temp_file_in(dir, &temp_prefix(dest))
}

/// A new temporary file in `dir` named `PREFIXXXXXXX.tmp`, as [`temp_file_next_to`].
pub fn temp_file_in(dir: &Path, prefix: &str) -> io::Result<NamedTempFile> {
    tempfile::Builder::new()
        .prefix(prefix)
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
}

/// A new empty directory next to `dest` in its directory, for a tree that is renamed onto
/// `dest` once complete: `.NAME.minroot-XXXXXX.SUFFIX`, created exclusively with the mode
/// a plain mkdir gives (0777 less the umask), removed with everything in it when dropped
/// unless kept ([`TempTree::keep`]); registered for removal on a signal (`cleanup`).
pub fn temp_dir_next_to(dest: &Path, suffix: &str) -> io::Result<TempTree> {
    let dir = dest_dir(dest)?;
    let (dir, _guard) = cleanup::track(
        || {
            tempfile::Builder::new()
                .prefix(&temp_prefix(dest))
                .suffix(&format!(".{suffix}"))
                .permissions(std::fs::Permissions::from_mode(0o777))
                .tempdir_in(dir)
        },
        |d| d.path().to_path_buf(),
    )?;
    Ok(TempTree { dir, _guard })
}

/// A temporary directory of [`temp_dir_next_to`]: removed with everything in it when
/// dropped, and on a signal while it lives.
#[derive(Debug)]
pub struct TempTree {
    dir: TempDir,
    // After `dir`: unregistered once removed.
    _guard: cleanup::Guard,
}

impl TempTree {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    /// Keeps the directory (it was renamed into place, or must outlive the run); no
    /// longer removed on a signal.
    pub fn keep(self) -> PathBuf {
        let TempTree { dir, _guard } = self;
        dir.keep()
    }
}

/// A file written under a temporary name next to its destination ([`temp_file_next_to`])
/// and renamed onto it by [`AtomicFile::commit`]; removed if dropped before.
pub struct AtomicFile {
    tmp: NamedTempFile,
    dest: PathBuf,
    // Last: unregistered after the file is removed or renamed.
    _guard: cleanup::Guard,
}

/// Whether `p` exists and is a device, FIFO or socket (symlinks followed).
fn is_special(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

impl AtomicFile {
    /// A temporary file for `dest`, which must not be a device, FIFO or socket (those are
    /// written in place, see [`write_layer`]). A symlink to a file is followed: the file it
    /// names is replaced, not the link (`-o /dev/stdout` when stdout is a file).
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
        let resolved;
        let dest = if std::fs::symlink_metadata(dest).is_ok_and(|m| m.file_type().is_symlink())
            && std::fs::metadata(dest).is_ok_and(|m| m.is_file())
        {
            resolved = std::fs::canonicalize(dest)?;
            resolved.as_path()
        } else {
            dest
        };
        let (tmp, _guard) = cleanup::track(|| temp_file_next_to(dest), |t| t.path().to_path_buf())?;
        Ok(AtomicFile {
            tmp,
            dest: dest.to_path_buf(),
            _guard,
        })
    }
    /// The temporary file's path (for messages; write through [`AtomicFile::file`], which
    /// is the file created, where a path could be swapped by whoever can write the
    /// directory).
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }
    /// A handle on the temporary file (the one created, empty; every handle shares one
    /// file offset).
    pub fn file(&self) -> io::Result<File> {
        self.tmp.as_file().try_clone()
    }
    /// The temporary file itself.
    pub fn as_file(&self) -> &File {
        self.tmp.as_file()
    }
    /// Renames the temporary file onto the destination, after its data is on the disk
    /// (one rename: a signal during it finds either the temporary file or none).
    ///
    /// The sync comes first so that a crash of the machine (power loss, kernel panic)
    /// at any moment leaves under the name either the old file or the complete new one,
    /// whatever the file system orders: never a layer cut short or with blocks of zeros
    /// whose sha256 is not the diff_id printed. `fdatasync` is enough: the data and the
    /// size, not the timestamps, are what a reader needs. A file system that cannot sync
    /// (EINVAL: some FUSE and special files) is renamed onto as is; any other sync error
    /// (EIO: the data may be lost) fails the write and leaves the destination alone.
    pub fn commit(self) -> io::Result<()> {
        let AtomicFile { tmp, dest, _guard } = self;
        match tmp.as_file().sync_data() {
            Err(e) if e.raw_os_error() == Some(nix::libc::EINVAL) => {}
            r => r?,
        }
        tmp.persist(&dest).map(drop).map_err(|e| e.error)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::plan::{Content, Entry};
    use crate::progress::Silent;
    use crate::reason::Reason;
    use std::collections::BTreeSet;
    use std::fs;
    use std::os::unix::fs::symlink;

    /// The names in `d`.
    pub fn names(d: &Path) -> BTreeSet<String> {
        fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// A plan of one directory and one file with `content`.
    pub fn plan(content: Content) -> Plan {
        let entry = |content, mode| Entry {
            content,
            mode,
            uid: 0,
            gid: 0,
            xattrs: vec![],
            reason: Reason::Input,
            source: None,
        };
        let mut p = Plan::default();
        p.insert("etc".into(), entry(Content::Dir, 0o755));
        p.insert("etc/motd".into(), entry(content, 0o644));
        p
    }

    /// A plan whose file cannot be read: writing it fails half way.
    pub fn failing_plan() -> Plan {
        plan(Content::File {
            host: "/nonexistent/minroot-test".into(),
            size: 5,
            head: vec![],
        })
    }

    #[test]
    fn a_symlink_planted_at_the_old_predictable_name_cannot_redirect_an_output() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        let out = d.path().join("out");
        fs::create_dir(&out).unwrap();
        let dest = out.join("layer.tar");
        // `.NAME.minroot-PID.tmp` was the name before: anyone could plant it.
        let planted = out.join(format!(".layer.tar.minroot-{}.tmp", std::process::id()));
        symlink(&victim, &planted).unwrap();

        let f = AtomicFile::create(&dest).unwrap();
        let tmp = f.path().to_path_buf();
        assert_eq!(tmp.parent(), Some(out.as_path()), "next to the destination");
        let name = tmp.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(".layer.tar.minroot-") && name.ends_with(".tmp"),
            "{name}"
        );
        assert_ne!(tmp, planted);
        assert!(fs::symlink_metadata(&tmp).unwrap().is_file());
        assert!(
            crate::cleanup::registered().contains(&tmp),
            "removed on a signal"
        );
        f.file().unwrap().write_all(b"layer").unwrap();
        f.commit().unwrap();
        assert!(!crate::cleanup::registered().contains(&tmp));

        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(fs::read_to_string(&dest).unwrap(), "layer");
        assert_eq!(fs::read_link(&planted).unwrap(), victim);
        assert_eq!(
            names(&out),
            BTreeSet::from(["layer.tar".into(), planted_name(&planted)])
        );

        // The same through write_layer.
        let info = write_layer(
            &plan(Content::Data(b"hi\n".to_vec())),
            0,
            Compression::None,
            &dest,
            &Silent,
        )
        .unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(
            info.blob_digest,
            digest::sha256_digest(&fs::read(&dest).unwrap())
        );
    }

    fn planted_name(p: &Path) -> String {
        p.file_name().unwrap().to_string_lossy().into_owned()
    }

    #[test]
    fn packing_tells_the_observer_bytes_and_entries_for_every_compression() {
        use crate::progress::tests::{Event, recorder};
        let d = tempfile::tempdir().unwrap();
        for (c, name) in [
            (Compression::None, "l.tar"),
            (Compression::Gzip, "l.tar.gz"),
            (Compression::Zstd, "l.tar.zst"),
        ] {
            let (o, r) = recorder();
            let p = plan(Content::Data(b"hello".to_vec()));
            write_layer(&p, 0, c, &d.path().join(name), &*o).unwrap();
            assert_eq!(
                *r.0.lock().unwrap(),
                [
                    Event::Begin(Stage::Pack, Some(5)),
                    Event::At(0, 1),
                    Event::At(5, 2),
                    Event::End
                ],
                "{c:?}"
            );
        }
        // A failed write ends its stage too.
        let (o, r) = recorder();
        assert!(
            write_layer(
                &failing_plan(),
                0,
                Compression::None,
                &d.path().join("x"),
                &*o
            )
            .is_err()
        );
        assert_eq!(r.0.lock().unwrap().last(), Some(&Event::End));
    }

    #[test]
    fn temporary_names_are_not_reused() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("x");
        let a = temp_file_next_to(&dest).unwrap();
        let b = temp_file_next_to(&dest).unwrap();
        let c = temp_dir_next_to(&dest, "staging").unwrap();
        assert_ne!(a.path(), b.path());
        assert!(c.path().to_string_lossy().ends_with(".staging"));
        assert_eq!(names(d.path()).len(), 3);
        let staging = c.path().to_path_buf();
        assert!(crate::cleanup::registered().contains(&staging));
        drop((a, b, c));
        assert!(names(d.path()).is_empty());
        assert!(!crate::cleanup::registered().contains(&staging));
        // Kept: no longer removed on a signal.
        let kept = temp_dir_next_to(&dest, "staging").unwrap().keep();
        assert!(kept.is_dir());
        assert!(!crate::cleanup::registered().contains(&kept));
    }

    #[test]
    fn a_failed_write_leaves_nothing_in_the_destination_directory() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("keep"), "k").unwrap();
        let dest = d.path().join("layer.tar.gz");
        for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
            assert!(write_layer(&failing_plan(), 0, c, &dest, &Silent).is_err());
            assert_eq!(names(d.path()), BTreeSet::from(["keep".into()]), "{c:?}");
        }
        // Written but not committed: removed when dropped.
        let f = AtomicFile::create(&dest).unwrap();
        f.file().unwrap().write_all(b"half").unwrap();
        drop(f);
        assert_eq!(names(d.path()), BTreeSet::from(["keep".into()]));
        // The rename fails at the end (a directory is in the way): nothing left either.
        fs::create_dir(&dest).unwrap();
        let e = write_layer(
            &plan(Content::Data(vec![])),
            0,
            Compression::None,
            &dest,
            &Silent,
        );
        assert!(e.is_err());
        assert_eq!(
            names(d.path()),
            BTreeSet::from(["keep".into(), "layer.tar.gz".into()])
        );
        // A missing directory is named.
        let e = AtomicFile::create(&d.path().join("no/such/x"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.ends_with("no/such: the directory does not exist"), "{e}");
    }

    #[test]
    fn a_symlink_to_a_file_replaces_the_file_it_names() {
        let d = tempfile::tempdir().unwrap();
        let real_dir = d.path().join("real");
        let link_dir = d.path().join("links");
        fs::create_dir(&real_dir).unwrap();
        fs::create_dir(&link_dir).unwrap();
        let real = real_dir.join("out.tar");
        fs::write(&real, "old").unwrap();
        let link = link_dir.join("stdout");
        symlink(&real, &link).unwrap();
        let f = AtomicFile::create(&link).unwrap();
        assert_eq!(f.path().parent(), Some(real_dir.as_path()));
        f.file().unwrap().write_all(b"new").unwrap();
        f.commit().unwrap();
        assert_eq!(fs::read_link(&link).unwrap(), real);
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        assert_eq!(names(&real_dir), BTreeSet::from(["out.tar".into()]));
        assert_eq!(names(&link_dir), BTreeSet::from(["stdout".into()]));
    }

    #[test]
    fn devices_are_written_in_place() {
        let null = Path::new("/dev/null");
        write_layer(
            &plan(Content::Data(b"x".to_vec())),
            0,
            Compression::Gzip,
            null,
            &Silent,
        )
        .unwrap();
        assert!(!fs::metadata(null).unwrap().is_file());
        assert!(
            AtomicFile::create(null).is_err(),
            "not replaced by a rename"
        );
    }

    #[test]
    fn modes_are_those_of_a_plain_create() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("f");
        let f = AtomicFile::create(&dest).unwrap();
        f.commit().unwrap();
        File::create(d.path().join("plain")).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode();
        assert_eq!(mode(&dest), mode(&d.path().join("plain")));
        let t = temp_dir_next_to(&dest, "staging").unwrap();
        fs::create_dir(d.path().join("plain-dir")).unwrap();
        assert_eq!(mode(t.path()), mode(&d.path().join("plain-dir")));
    }
}
