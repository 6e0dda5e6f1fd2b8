//! Reading files of the root: a whole file (mmap when possible, a plain read otherwise),
//! the first bytes of a file, and [`FileSource`], positioned reads with the first block
//! kept, which is how the ELF parser reads a library without mapping it.
//!
//! Callers pass host paths of canonical paths (see [`super::Root::host_path`]): nothing
//! here resolves a symlink or knows what the bytes mean. Parsing is `elf/`'s job; this
//! file only implements its [`crate::elf::Source`] trait. The library's one `unsafe`
//! block (the mmap) lives here; the binary's (`src/main.rs`) sets an allocator option.

use std::fs::File;
use std::io::Read;
use std::ops::Deref;
use std::path::Path;

/// The bytes of a file, mapped or read.
pub enum FileBytes {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl std::fmt::Debug for FileBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = match self {
            FileBytes::Mapped(_) => "mapped",
            FileBytes::Read(_) => "read",
        };
        write!(f, "FileBytes({how}, {} bytes)", self.len())
    }
}

impl From<Vec<u8>> for FileBytes {
    fn from(v: Vec<u8>) -> FileBytes {
        FileBytes::Read(v)
    }
}

impl Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Read(v) => v,
        }
    }
}

/// Files at most this big are read rather than mapped: a read is cheaper than setting up
/// and tearing down a mapping.
const READ_BELOW: u64 = 16 * 1024;

/// Opens `path` if it is a regular file. Checked before the open, because open(2) on a
/// FIFO blocks until a writer comes: a FIFO in a sysroot would hang the run.
fn open_regular(path: &Path) -> std::io::Result<File> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    File::open(path)
}

/// Opens `path` for reading without blocking on a FIFO (O_NONBLOCK; regular files ignore
/// it), for callers that check the type on the open file: one system call fewer than
/// `open_regular`.
pub fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    const O_NONBLOCK: i32 = 0o4000; // x86_64 and aarch64 Linux
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
}

/// Opens `path` if it is a regular file, and its length, checked on the open file (one
/// statx): opened without blocking, so a FIFO is refused instead of waited on.
pub fn open_file(path: &Path) -> std::io::Result<(File, u64)> {
    let file = open_nonblocking(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok((file, meta.len()))
}

/// Maps `file` read-only: the library's one `unsafe` block, and the only function the
/// crate's `#![deny(unsafe_code)]` lets through.
#[allow(unsafe_code)]
fn map(file: &File, len: u64) -> std::io::Result<memmap2::Mmap> {
    let len = usize::try_from(len).map_err(std::io::Error::other)?;
    // SAFETY: the mapping is read-only (and shared, as memmap2 maps files). If another
    // process truncates the file while it is mapped, reads past the new end fault
    // (SIGBUS); minroot accepts that risk for files in a sysroot it was pointed at, as
    // ripgrep does for searched files. `open_and_read`, the only caller, falls back to a
    // plain read on any error. The length is the caller's fstat of this same descriptor
    // (memmap2 would make another).
    unsafe { memmap2::MmapOptions::new().len(len).map(file) }
}

/// Reads (or maps) the whole file at `path`.
pub fn read_file(path: &Path) -> std::io::Result<FileBytes> {
    open_and_read(path).map(|(_, bytes)| bytes)
}

/// Reads (or maps) the whole file at `path`, and keeps it open (a layer writer copies a
/// mapped file's content in the kernel, from the file, while hashing the mapping).
pub fn open_and_read(path: &Path) -> std::io::Result<(File, FileBytes)> {
    let (mut file, len) = open_file(path)?;
    if len >= READ_BELOW {
        // Any mapping error falls back to a plain read.
        if let Ok(map) = map(&file, len) {
            return Ok((file, FileBytes::Mapped(map)));
        }
    }
    let mut buf = Vec::with_capacity(len as usize);
    file.read_to_end(&mut buf)?;
    Ok((file, FileBytes::Read(buf)))
}

/// Reads at most `n` bytes from the start of `path` (a candidate's ELF header).
pub fn read_head(path: &Path, n: usize) -> std::io::Result<Vec<u8>> {
    let mut file = open_regular(path)?;
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    buf.truncate(got);
    Ok(buf)
}

/// Bytes read from the first block (ELF header, program headers, PT_INTERP and the usual
/// notes all lie there in linker output).
const HEAD_BLOCK: usize = 4096;

/// An open file read with positioned reads; the first block is kept.
pub struct FileSource {
    file: File,
    size: u64,
    head: Vec<u8>,
}

impl FileSource {
    /// Opens `path` and reads its first block. The file size comes from the same
    /// `statx` the open needs anyway to refuse directories.
    pub fn open(path: &Path) -> std::io::Result<FileSource> {
        Self::open_sized(path, None)
    }

    /// Like `open`, with the size already known from an lstat (saves an fstat).
    pub fn open_sized(path: &Path, size: Option<u64>) -> std::io::Result<FileSource> {
        let (mut file, size) = match size {
            Some(n) => (open_nonblocking(path)?, n),
            None => open_file(path)?,
        };
        // Read into spare capacity: no zeroing of a buffer the read overwrites anyway.
        let mut head = Vec::with_capacity((size as usize).min(HEAD_BLOCK));
        (&mut file)
            .take(head.capacity() as u64)
            .read_to_end(&mut head)?;
        Ok(FileSource { file, size, head })
    }

    /// The first block (up to 4 KiB) of the file.
    pub fn head(&self) -> &[u8] {
        &self.head
    }
}

impl crate::elf::Source for FileSource {
    fn size(&self) -> u64 {
        self.size
    }
    fn get(&self, off: u64, len: u64) -> Option<std::borrow::Cow<'_, [u8]>> {
        use std::os::unix::fs::FileExt;
        let end = off.checked_add(len)?;
        if end > self.size {
            return None;
        }
        if end <= self.head.len() as u64 {
            return Some(std::borrow::Cow::Borrowed(
                &self.head[off as usize..end as usize],
            ));
        }
        let mut buf = vec![0u8; usize::try_from(len).ok()?];
        self.file.read_exact_at(&mut buf, off).ok()?;
        Some(std::borrow::Cow::Owned(buf))
    }
}
