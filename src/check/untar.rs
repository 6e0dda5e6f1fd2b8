//! Applying one layer tar (plain, gzip or zstd) onto a directory, safely, with OCI
//! whiteouts. It owns nothing but the extraction: which layers to apply and where the
//! directory lives are `target.rs`'s and `oci.rs`'s job.
//!
//! The tar is untrusted input. Rules, each with a test below:
//! - entry paths are relative: an absolute path or a `..` component rejects the layer;
//!   `./` and empty components are dropped (`./usr//lib/` is `usr/lib`);
//! - parent directories are resolved inside the destination as the kernel does under
//!   chroot (`sysroot::walk`, the walk `Root` uses too, over the live tree), which is what
//!   a container runtime does when it applies a layer: the entry
//!   `lib/x86_64-linux-gnu/libz.so.1` over a lower `lib -> usr/lib` lands in
//!   `usr/lib/x86_64-linux-gnu/`, and `a -> /etc` followed by `a/passwd` writes the
//!   destination's `etc/passwd`, never the host's. Nothing is ever opened through a
//!   symlink: every write happens in a directory that was resolved component by
//!   component, and the last component is replaced, not followed;
//! - symlinks are created as symlinks with their target as stored (it is data: nothing
//!   here follows it); hard links must name a regular file already inside the
//!   destination; devices, FIFOs and sockets are not created (counted as skipped);
//! - limits on entry count, file size, total bytes, path length and the size of PAX and
//!   GNU long-name records are checked before anything is read or allocated, so a header
//!   that claims a terabyte costs nothing;
//! - modes keep the permission bits only (no setuid, setgid or sticky: nothing extracted
//!   is ever run), with the owner's read bit (and write+search on directories) so that the
//!   checker can read the tree and remove it afterwards;
//! - for `check` ([`Contents::Checked`]), only the contents a check rule reads are written:
//!   ELF files (told by their first bytes), ld.so.cache files (by their magic) and any file
//!   of at most [`WHOLE_UP_TO`] bytes. A larger file of another kind keeps its first
//!   [`HEAD_BYTES`] bytes and its size, the rest a hole (a sparse file: zeros if read, no
//!   disk used), so a 4 GiB file of zeros in a 4 MB gzip layer costs nothing on disk. It is
//!   safe for the rules because every other file they read is read as text with a bound
//!   no larger than [`WHOLE_UP_TO`] (ld.so.conf and its includes, nsswitch.conf, jvm.cfg,
//!   pyvenv.cfg, perl's Config.pm: 4 MiB at most), and for the rest only the kind, the
//!   size (the CA bundle must not be empty) and the first bytes (ELF magic, a `.pyc`
//!   header) count.
//!
//! Whiteouts (OCI image spec, "Whiteouts"): `DIR/.wh.NAME` removes `DIR/NAME` of the lower
//! layers; `DIR/.wh..wh..opq` removes everything the lower layers had in `DIR`. Entries of
//! the layer being applied are never removed by its own whiteouts, whatever their order
//! in the tar: the layer remembers what it wrote.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use tar::EntryType;

use super::CheckError;
use crate::sysroot::Kind;
use crate::sysroot::walk::{self, Entry, Lookup, WalkError};

/// The whiteout prefix of the OCI image spec.
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// The opaque-directory marker.
pub const WHITEOUT_OPAQUE: &str = ".wh..wh..opq";

/// Files of at most this many bytes are always written whole (see the module doc: the
/// largest text a check rule reads, perl's Config.pm, is bounded at 4 MiB).
pub const WHOLE_UP_TO: u64 = 4 << 20;
/// What a file not written whole keeps of its content.
pub const HEAD_BYTES: usize = 4096;

/// Which file contents an extraction writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contents {
    /// Every byte (an image used as a root: pack copies its files, probe runs them).
    All,
    /// What `check` reads (see the module doc); other files get their head and their
    /// size only.
    Checked,
    /// As `Checked`, but files that may be the parts of an image archive are whole: those
    /// at the top level, under `blobs/`, and `*/layer.tar` (the outer tar `check` is given
    /// is only known to be an OCI or docker archive once it is unpacked).
    CheckedOrArchive,
}

/// Bounds on what one target may extract, and how faithfully.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Which contents are written.
    pub contents: Contents,
    /// Keep what the layer says of each entry: setuid/setgid/sticky bits, owners, file
    /// mtimes, file capabilities (an image used as a root: pack reads them, probe runs
    /// it). Off for `check`, which never runs what it extracts and only needs to read it.
    pub faithful: bool,
    /// Entries over all layers.
    pub max_entries: u64,
    /// Bytes of one file.
    pub max_file_bytes: u64,
    /// Bytes of file content over all layers.
    pub max_total_bytes: u64,
    /// Bytes of one entry path or link target.
    pub max_path_bytes: usize,
    /// Bytes of one PAX or GNU long-name record set.
    pub max_record_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            contents: Contents::All,
            faithful: false,
            max_entries: 4_000_000,
            // The largest size a ustar header holds (8 GiB - 1): a bigger file needs a PAX
            // size record, which `apply` only accepts when it agrees with the header.
            max_file_bytes: 0o77777777777,
            max_total_bytes: 64 << 30,
            max_path_bytes: 4096,
            max_record_bytes: 1 << 20,
        }
    }
}

/// What has been extracted so far, over every layer of one target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Budget {
    pub entries: u64,
    pub bytes: u64,
    /// Device nodes, FIFOs, sockets, sparse files and unknown entry types not created.
    pub skipped: u64,
    /// Whiteouts applied.
    pub whiteouts: u64,
}

/// Opens a layer file and undoes its compression, told apart by magic bytes (gzip,
/// zstd, or none). The returned reader yields the tar stream.
pub fn decompress<'a>(mut r: impl Read + 'a, name: &str) -> Result<Box<dyn Read + 'a>, CheckError> {
    let mut head = [0u8; 6];
    let mut n = 0;
    while n < head.len() {
        match r.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(CheckError::Io {
                    path: name.into(),
                    source: e,
                });
            }
        }
    }
    let stream = io::Cursor::new(head[..n].to_vec()).chain(r);
    let h = &head[..n];
    if h.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(stream)))
    } else if h.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let d = zstd::stream::read::Decoder::new(stream).map_err(|e| CheckError::Io {
            path: name.into(),
            source: e,
        })?;
        Ok(Box::new(d))
    } else if h.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) || h.starts_with(b"BZh") {
        Err(CheckError::Layer {
            layer: name.into(),
            why: "compressed with xz or bzip2; minroot reads plain, gzip and zstd layers (decompress it first)".into(),
        })
    } else {
        Ok(Box::new(stream))
    }
}

/// Applies the tar stream `r` onto `dest` (an existing directory). `name` names the layer
/// in errors.
pub fn apply(
    r: impl Read,
    dest: &Path,
    name: &str,
    limits: &Limits,
    budget: &mut Budget,
) -> Result<(), CheckError> {
    let mut layer = Layer {
        dest,
        name,
        limits,
        written: HashSet::new(),
    };
    let mut ar = tar::Archive::new(r);
    let entries = ar.entries().map_err(|e| layer.tar_err(e))?.raw(true);
    // Extension records describe the next real entry.
    let mut long_name: Option<Vec<u8>> = None;
    let mut long_link: Option<Vec<u8>> = None;
    let mut pax: Option<Pax> = None;
    for entry in entries {
        let mut entry = entry.map_err(|e| layer.tar_err(e))?;
        budget.entries += 1;
        if budget.entries > limits.max_entries {
            return Err(layer.limit(format!("more than {} entries", limits.max_entries)));
        }
        let etype = entry.header().entry_type();
        let size = entry.size();
        match etype {
            EntryType::GNULongName | EntryType::GNULongLink | EntryType::XHeader => {
                if size > limits.max_record_bytes {
                    return Err(layer.limit(format!(
                        "an extended header of {size} bytes (limit {})",
                        limits.max_record_bytes
                    )));
                }
                let mut data = Vec::with_capacity(size as usize);
                (&mut entry)
                    .take(size)
                    .read_to_end(&mut data)
                    .map_err(|e| layer.tar_err(e))?;
                match etype {
                    EntryType::GNULongName => {
                        long_name = Some(trim_nul(data));
                    }
                    EntryType::GNULongLink => {
                        long_link = Some(trim_nul(data));
                    }
                    _ => pax = Some(Pax::parse(&data)),
                }
                continue;
            }
            // A global PAX header sets defaults (charset, mtime) minroot does not use.
            EntryType::XGlobalHeader => continue,
            _ => {}
        }
        let pax_here = pax.take().unwrap_or_default();
        let raw_path = pax_here
            .path
            .or(long_name.take())
            .unwrap_or_else(|| entry.header().path_bytes().into_owned());
        let raw_link = pax_here
            .linkpath
            .or(long_link.take())
            .or_else(|| entry.header().link_name_bytes().map(|l| l.into_owned()));
        if let Some(ps) = pax_here.size
            && ps != size
        {
            return Err(layer.unsafe_entry(
                &raw_path,
                format!("PAX size {ps} disagrees with the header's {size}"),
            ));
        }
        let comps = layer.components(&raw_path)?;
        // A whiteout of any entry type (OCI writes empty files; some tools write other
        // kinds) removes lower entries and is not created itself.
        if layer.whiteout(&comps, &raw_path)? {
            budget.whiteouts += 1;
            continue;
        }
        let faithful = limits.faithful;
        let mode = entry.header().mode().unwrap_or(0o644) & if faithful { 0o7777 } else { 0o777 };
        let meta = Meta {
            owner: faithful.then(|| {
                (
                    entry.header().uid().unwrap_or(0) as u32,
                    entry.header().gid().unwrap_or(0) as u32,
                )
            }),
            mtime: faithful
                .then(|| {
                    pax_here
                        .mtime
                        .or(entry.header().mtime().ok().map(|m| m as i64))
                })
                .flatten(),
            caps: if faithful {
                pax_here.caps.clone()
            } else {
                None
            },
        };
        match etype {
            EntryType::Regular | EntryType::Continuous => {
                if size > limits.max_file_bytes {
                    return Err(layer.limit(format!(
                        "{} is {size} bytes (limit {})",
                        show(&raw_path),
                        limits.max_file_bytes
                    )));
                }
                budget.bytes = budget.bytes.saturating_add(size);
                if budget.bytes > limits.max_total_bytes {
                    return Err(CheckError::OverBound {
                        layer: name.into(),
                        bound: limits.max_total_bytes,
                    });
                }
                layer.file(&comps, &raw_path, &mut entry, size, mode, &meta)?;
            }
            EntryType::Directory => layer.dir(&comps, &raw_path, mode, &meta)?,
            EntryType::Symlink => {
                let target = raw_link.unwrap_or_default();
                if target.is_empty() || target.len() > limits.max_path_bytes || target.contains(&0)
                {
                    return Err(layer.unsafe_entry(&raw_path, "bad symlink target".into()));
                }
                layer.symlink(&comps, &raw_path, &target, &meta)?;
            }
            EntryType::Link => {
                let target = raw_link.unwrap_or_default();
                layer.hardlink(&comps, &raw_path, &target)?;
            }
            _ => budget.skipped += 1,
        }
    }
    Ok(())
}

/// PAX records minroot honours.
#[derive(Default)]
struct Pax {
    path: Option<Vec<u8>>,
    linkpath: Option<Vec<u8>>,
    size: Option<u64>,
    /// `SCHILY.xattr.security.capability`: the file's capabilities.
    caps: Option<Vec<u8>>,
    /// `mtime` (seconds; a fraction is dropped).
    mtime: Option<i64>,
}

impl Pax {
    /// Parses `"<len> <key>=<value>\n"` records; malformed records end the parse.
    fn parse(mut data: &[u8]) -> Pax {
        let mut p = Pax::default();
        while !data.is_empty() {
            let Some(sp) = data.iter().position(|&b| b == b' ') else {
                break;
            };
            let Some(len) = std::str::from_utf8(&data[..sp])
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
            else {
                break;
            };
            if len <= sp + 1 || len > data.len() {
                break;
            }
            let rec = &data[sp + 1..len];
            let rec = rec.strip_suffix(b"\n").unwrap_or(rec);
            if let Some(eq) = rec.iter().position(|&b| b == b'=') {
                let (k, v) = (&rec[..eq], &rec[eq + 1..]);
                match k {
                    b"path" => p.path = Some(v.to_vec()),
                    b"linkpath" => p.linkpath = Some(v.to_vec()),
                    b"size" => p.size = std::str::from_utf8(v).ok().and_then(|s| s.parse().ok()),
                    b"SCHILY.xattr.security.capability" => p.caps = Some(v.to_vec()),
                    b"mtime" => {
                        p.mtime = std::str::from_utf8(v)
                            .ok()
                            .and_then(|s| s.split('.').next()?.parse().ok())
                    }
                    _ => {}
                }
            }
            data = &data[len..];
        }
        p
    }
}

fn trim_nul(mut v: Vec<u8>) -> Vec<u8> {
    if let Some(i) = v.iter().position(|&b| b == 0) {
        v.truncate(i);
    }
    v
}

/// A size as `--max-image-size` takes it (`16G`) when it is a whole number of K, M, G or
/// T, with its bytes.
pub fn show_size(n: u64) -> String {
    for (shift, unit) in [(40, 'T'), (30, 'G'), (20, 'M'), (10, 'K')] {
        if n >= 1 << shift && n.is_multiple_of(1 << shift) {
            return format!("{}{unit} ({n} bytes)", n >> shift);
        }
    }
    format!("{n} bytes")
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One layer being applied.
/// What a faithful extraction keeps of an entry besides its mode.
struct Meta {
    owner: Option<(u32, u32)>,
    mtime: Option<i64>,
    caps: Option<Vec<u8>>,
}

struct Layer<'a> {
    dest: &'a Path,
    name: &'a str,
    limits: &'a Limits,
    /// Host paths this layer wrote (its own whiteouts leave them alone).
    written: HashSet<PathBuf>,
}

impl Layer<'_> {
    fn tar_err(&self, e: io::Error) -> CheckError {
        CheckError::Layer {
            layer: self.name.into(),
            why: format!("not a readable tar: {e}"),
        }
    }

    fn limit(&self, why: String) -> CheckError {
        CheckError::Layer {
            layer: self.name.into(),
            why: format!("too large: {why}"),
        }
    }

    fn unsafe_entry(&self, path: &[u8], why: String) -> CheckError {
        CheckError::UnsafeEntry {
            layer: self.name.into(),
            entry: show(path),
            why,
        }
    }

    fn io(&self, path: &[u8], e: io::Error) -> CheckError {
        CheckError::Layer {
            layer: self.name.into(),
            why: format!("entry {}: {e}", show(path)),
        }
    }

    /// The components of an entry path: relative, no `..`, no NUL, bounded.
    fn components(&self, raw: &[u8]) -> Result<Vec<Vec<u8>>, CheckError> {
        if raw.len() > self.limits.max_path_bytes {
            return Err(self.unsafe_entry(raw, "path too long".into()));
        }
        if raw.starts_with(b"/") {
            return Err(self.unsafe_entry(raw, "absolute path".into()));
        }
        if raw.contains(&0) {
            return Err(self.unsafe_entry(raw, "NUL byte in the path".into()));
        }
        let mut out = Vec::new();
        for c in raw.split(|&b| b == b'/') {
            match c {
                b"" | b"." => {}
                b".." => return Err(self.unsafe_entry(raw, "a `..` component".into())),
                c => out.push(c.to_vec()),
            }
        }
        Ok(out)
    }

    /// Resolves directory components inside `dest` as under chroot (symlinks followed,
    /// absolute targets restart at `dest`, `..` stops at `dest`); creates missing
    /// directories when `create`. Ok(None) when missing and not created.
    fn resolve_dir(&self, comps: &[Vec<u8>], create: bool) -> io::Result<Option<PathBuf>> {
        resolve_dir(self.dest, comps, create)
    }

    /// The host path of the entry's parent directory (created) and its last component.
    fn place(&self, comps: &[Vec<u8>], raw: &[u8]) -> Result<Option<PathBuf>, CheckError> {
        let Some((last, parents)) = comps.split_last() else {
            // The root directory itself ("./").
            return Ok(None);
        };
        let dir = self
            .resolve_dir(parents, true)
            .map_err(|e| self.io(raw, e))?
            .ok_or_else(|| self.unsafe_entry(raw, "its directory cannot be created".into()))?;
        Ok(Some(dir.join(std::ffi::OsStr::from_bytes(last))))
    }

    /// Handles a whiteout entry; true when the entry was one.
    fn whiteout(&mut self, comps: &[Vec<u8>], raw: &[u8]) -> Result<bool, CheckError> {
        let Some((last, parents)) = comps.split_last() else {
            return Ok(false);
        };
        let Some(name) = last.strip_prefix(WHITEOUT_PREFIX.as_bytes()) else {
            return Ok(false);
        };
        let Some(dir) = self
            .resolve_dir(parents, false)
            .map_err(|e| self.io(raw, e))?
        else {
            return Ok(true);
        };
        if last == WHITEOUT_OPAQUE.as_bytes() {
            self.clear_lower(&dir).map_err(|e| self.io(raw, e))?;
        } else if !name.is_empty() && name != b"." && name != b".." {
            let victim = dir.join(std::ffi::OsStr::from_bytes(name));
            if !self.written.contains(&victim) {
                remove_any(&victim).map_err(|e| self.io(raw, e))?;
            }
        }
        Ok(true)
    }

    /// Removes what the lower layers put in `dir`, keeping what this layer wrote.
    fn clear_lower(&self, dir: &Path) -> io::Result<()> {
        let mut names: Vec<PathBuf> = fs::read_dir(dir)?
            .map(|e| e.map(|e| e.path()))
            .collect::<io::Result<_>>()?;
        names.sort();
        for p in names {
            if !self.written.contains(&p) {
                remove_any(&p)?;
            } else if fs::symlink_metadata(&p)?.is_dir() {
                self.clear_lower(&p)?;
            }
        }
        Ok(())
    }

    /// Makes room for a new entry at `p`: anything there that is not a directory (or any
    /// entry when the new one is not a directory) is removed first.
    fn replace(&self, p: &Path, new_is_dir: bool) -> io::Result<bool> {
        match fs::symlink_metadata(p) {
            Ok(m) if m.is_dir() && new_is_dir => Ok(true),
            Ok(_) => {
                remove_any(p)?;
                Ok(false)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn file(
        &mut self,
        comps: &[Vec<u8>],
        raw: &[u8],
        data: &mut impl Read,
        size: u64,
        mode: u32,
        meta: &Meta,
    ) -> Result<(), CheckError> {
        let Some(p) = self.place(comps, raw)? else {
            return Err(self.unsafe_entry(raw, "a file at the root path".into()));
        };
        self.replace(&p, false).map_err(|e| self.io(raw, e))?;
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
            .map_err(|e| self.io(raw, e))?;
        let mut data = data.take(size);
        let mut head = Vec::with_capacity(HEAD_BYTES.min(size as usize));
        (&mut data)
            .take(HEAD_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(|e| self.tar_err(e))?;
        f.write_all(&head).map_err(|e| self.io(raw, e))?;
        let rest = if self.whole(comps, &head, size) {
            io::copy(&mut data, &mut f)
        } else {
            // Read through (the stream goes on, and a truncated layer is still an error),
            // stored as a hole.
            let n = io::copy(&mut data, &mut io::sink());
            f.set_len(size).map_err(|e| self.io(raw, e))?;
            n
        };
        let n = head.len() as u64 + rest.map_err(|e| self.tar_err(e))?;
        if n != size {
            return Err(self.tar_err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} is truncated", show(raw)),
            )));
        }
        drop(f);
        // Owner first: chown clears the setuid and setgid bits the mode then sets.
        if let Some((u, g)) = meta.owner {
            std::os::unix::fs::lchown(&p, Some(u), Some(g)).map_err(|e| self.io(raw, e))?;
        }
        let mode = if meta.owner.is_some() {
            mode
        } else {
            mode | 0o600
        };
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).map_err(|e| self.io(raw, e))?;
        if let Some(c) = &meta.caps {
            xattr::set(&p, "security.capability", c).map_err(|e| self.io(raw, e))?;
        }
        if let Some(t) = meta.mtime {
            let t = filetime::FileTime::from_unix_time(t, 0);
            filetime::set_file_times(&p, t, t).map_err(|e| self.io(raw, e))?;
        }
        self.written.insert(p);
        Ok(())
    }

    /// Whether a file's content is written whole (see [`Contents`]).
    fn whole(&self, comps: &[Vec<u8>], head: &[u8], size: u64) -> bool {
        let archive_part = || {
            comps.len() == 1
                || comps.first().is_some_and(|c| c == b"blobs")
                || comps.len() == 2 && comps[1] == b"layer.tar"
        };
        match self.limits.contents {
            Contents::All => true,
            Contents::Checked | Contents::CheckedOrArchive
                if size <= WHOLE_UP_TO
                    || crate::elf::is_elf(head)
                    || crate::ldso::cache::has_magic(head) =>
            {
                true
            }
            Contents::Checked => false,
            Contents::CheckedOrArchive => archive_part(),
        }
    }

    fn dir(
        &mut self,
        comps: &[Vec<u8>],
        raw: &[u8],
        mode: u32,
        meta: &Meta,
    ) -> Result<(), CheckError> {
        let Some(p) = self.place(comps, raw)? else {
            return Ok(());
        };
        if !self.replace(&p, true).map_err(|e| self.io(raw, e))? {
            fs::create_dir(&p).map_err(|e| self.io(raw, e))?;
        }
        if let Some((u, g)) = meta.owner {
            std::os::unix::fs::lchown(&p, Some(u), Some(g)).map_err(|e| self.io(raw, e))?;
        }
        // Searchable and writable by the extractor even when the layer says otherwise
        // (later entries go inside); the run's root owns it either way.
        let mode = if meta.owner.is_some() {
            mode
        } else {
            mode | 0o700
        };
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).map_err(|e| self.io(raw, e))?;
        self.written.insert(p);
        Ok(())
    }

    fn symlink(
        &mut self,
        comps: &[Vec<u8>],
        raw: &[u8],
        target: &[u8],
        meta: &Meta,
    ) -> Result<(), CheckError> {
        let Some(p) = self.place(comps, raw)? else {
            return Err(self.unsafe_entry(raw, "a symlink at the root path".into()));
        };
        self.replace(&p, false).map_err(|e| self.io(raw, e))?;
        symlink(std::ffi::OsStr::from_bytes(target), &p).map_err(|e| self.io(raw, e))?;
        if let Some((u, g)) = meta.owner {
            std::os::unix::fs::lchown(&p, Some(u), Some(g)).map_err(|e| self.io(raw, e))?;
        }
        self.written.insert(p);
        Ok(())
    }

    fn hardlink(&mut self, comps: &[Vec<u8>], raw: &[u8], target: &[u8]) -> Result<(), CheckError> {
        let tcomps = self.components(target).map_err(|e| match e {
            CheckError::UnsafeEntry { why, .. } => {
                self.unsafe_entry(raw, format!("hard link target {}: {why}", show(target)))
            }
            e => e,
        })?;
        let Some((tlast, tparents)) = tcomps.split_last() else {
            return Err(self.unsafe_entry(raw, "hard link to the root".into()));
        };
        let src = self
            .resolve_dir(tparents, false)
            .map_err(|e| self.io(raw, e))?
            .map(|d| d.join(std::ffi::OsStr::from_bytes(tlast)));
        let src = match src {
            Some(s) if fs::symlink_metadata(&s).is_ok_and(|m| m.is_file()) => s,
            _ => {
                return Err(self.unsafe_entry(
                    raw,
                    format!(
                        "hard link to {}, which is not a regular file of the image",
                        show(target)
                    ),
                ));
            }
        };
        let Some(p) = self.place(comps, raw)? else {
            return Err(self.unsafe_entry(raw, "a hard link at the root path".into()));
        };
        if p == src {
            return Ok(());
        }
        self.replace(&p, false).map_err(|e| self.io(raw, e))?;
        fs::hard_link(&src, &p).map_err(|e| self.io(raw, e))?;
        self.written.insert(p);
        Ok(())
    }
}

/// Removes a file, symlink or directory tree (never following a symlink).
fn remove_any(p: &Path) -> io::Result<()> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p),
        Ok(_) => fs::remove_file(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Resolves directory components inside `dest` as the kernel does under chroot; see
/// `Layer::resolve_dir`. Returned paths contain no symlink. Every component must be a
/// directory (or a symlink to one): anything else is an error (ENOTDIR), a missing one is
/// made (mode 0755) when `create`, and more than `MAX_SYMLINKS` links is an error.
pub fn resolve_dir(dest: &Path, comps: &[Vec<u8>], create: bool) -> io::Result<Option<PathBuf>> {
    let mut live = Live { dest, create };
    match walk::walk(&comps.join(&b'/'), &mut live) {
        // Always a directory: `Live` refuses anything else.
        Ok(Some(w)) => Ok(Some(live.host(&w.path))),
        Ok(None) => Ok(None),
        Err(WalkError::Loop) => Err(io::Error::other("too many levels of symbolic links")),
        Err(WalkError::Lookup(e)) => Err(e),
    }
}

/// The walk's lookup during extraction: the tree as it is on disk now, directories made
/// as needed.
struct Live<'a> {
    dest: &'a Path,
    create: bool,
}

impl Live<'_> {
    /// The host path of a path under `dest` ("" or "/a/b").
    fn host(&self, inside: &[u8]) -> PathBuf {
        match inside.strip_prefix(b"/") {
            Some(rel) if !rel.is_empty() => self.dest.join(std::ffi::OsStr::from_bytes(rel)),
            _ => self.dest.to_path_buf(),
        }
    }
}

impl Lookup for Live<'_> {
    type Target = Vec<u8>;
    type Error = io::Error;

    fn entry(&mut self, inside: &[u8]) -> io::Result<Entry<Vec<u8>>> {
        use std::os::unix::ffi::OsStringExt;
        let host = self.host(inside);
        match fs::symlink_metadata(&host) {
            Ok(m) if m.is_dir() => Ok(Entry::Is(Kind::Dir)),
            Ok(m) if m.file_type().is_symlink() => Ok(Entry::Symlink(
                fs::read_link(&host)?.into_os_string().into_vec(),
            )),
            Ok(_) => Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a directory", host.display()),
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if !self.create {
                    return Ok(Entry::Missing);
                }
                fs::create_dir(&host)?;
                fs::set_permissions(&host, fs::Permissions::from_mode(0o755))?;
                Ok(Entry::Is(Kind::Dir))
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sysroot::MAX_SYMLINKS;

    /// A tar entry for [`tar_of`].
    enum E<'a> {
        File(&'a str, &'a [u8]),
        Dir(&'a str),
        Link(&'a str, &'a str),
        Hard(&'a str, &'a str),
        Fifo(&'a str),
    }

    /// Writes raw ustar headers (the `tar` builder refuses `..` and absolute names, which
    /// these tests need).
    fn tar_of(entries: &[E]) -> Vec<u8> {
        let mut out = Vec::new();
        for e in entries {
            let mut h = tar::Header::new_ustar();
            let (name, data, ty, link): (&str, &[u8], EntryType, Option<&str>) = match e {
                E::File(n, d) => (n, d, EntryType::Regular, None),
                E::Dir(n) => (n, b"", EntryType::Directory, None),
                E::Link(n, t) => (n, b"", EntryType::Symlink, Some(t)),
                E::Hard(n, t) => (n, b"", EntryType::Link, Some(t)),
                E::Fifo(n) => (n, b"", EntryType::Fifo, None),
            };
            raw_header(&mut h, name, data.len() as u64, ty, link);
            out.extend_from_slice(h.as_bytes());
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.extend_from_slice(&[0u8; 1024]);
        out
    }

    fn raw_header(h: &mut tar::Header, name: &str, size: u64, ty: EntryType, link: Option<&str>) {
        let u = h.as_ustar_mut().unwrap();
        u.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(l) = link {
            u.linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
        h.set_size(size);
        h.set_mode(if ty == EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_entry_type(ty);
        h.set_cksum();
    }

    fn apply_all(dest: &Path, layers: &[Vec<u8>]) -> Result<Budget, CheckError> {
        let mut b = Budget::default();
        for (i, l) in layers.iter().enumerate() {
            apply(
                &l[..],
                dest,
                &format!("layer{i}"),
                &Limits::default(),
                &mut b,
            )?;
        }
        Ok(b)
    }

    fn read(dest: &Path, p: &str) -> Option<String> {
        fs::read_to_string(dest.join(p)).ok()
    }

    #[test]
    fn plain_files_dirs_and_symlinks() {
        let t = tempfile::tempdir().unwrap();
        let tar = tar_of(&[
            E::Dir("./"),
            E::Dir("./usr/"),
            E::File("./usr//bin/app", b"x"),
            E::Link("bin", "usr/bin"),
            E::Link("abs", "/etc/passwd"),
            E::Fifo("pipe"),
        ]);
        let b = apply_all(t.path(), &[tar]).unwrap();
        assert_eq!(read(t.path(), "usr/bin/app").as_deref(), Some("x"));
        assert_eq!(
            fs::read_link(t.path().join("abs")).unwrap(),
            Path::new("/etc/passwd"),
            "symlinks are stored as is"
        );
        assert!(!t.path().join("pipe").exists(), "no FIFO is created");
        assert_eq!(b.skipped, 1);
    }

    #[test]
    fn dotdot_and_absolute_entries_are_rejected() {
        for name in ["../evil", "a/../../evil", "/etc/evil", "a/.."] {
            let t = tempfile::tempdir().unwrap();
            let inner = t.path().join("in");
            fs::create_dir(&inner).unwrap();
            let err = apply_all(&inner, &[tar_of(&[E::File(name, b"x")])]).unwrap_err();
            assert!(
                matches!(err, CheckError::UnsafeEntry { .. }),
                "{name}: {err}"
            );
            assert!(!t.path().join("evil").exists());
        }
        let t = tempfile::tempdir().unwrap();
        let err = apply_all(t.path(), &[tar_of(&[E::Hard("h", "../../etc/passwd")])]).unwrap_err();
        assert!(matches!(err, CheckError::UnsafeEntry { .. }), "{err}");
    }

    #[test]
    fn a_file_through_a_symlink_stays_inside() {
        let outside = tempfile::tempdir().unwrap();
        let t = tempfile::tempdir().unwrap();
        let out = outside.path().to_string_lossy().into_owned();
        let tar = tar_of(&[
            E::Link("a", &out),
            E::File("a/passwd", b"inside"),
            E::Link("b", "../../../../.."),
            E::File("b/etc/shadow", b"inside too"),
        ]);
        apply_all(t.path(), &[tar]).unwrap();
        assert!(
            fs::read_dir(outside.path()).unwrap().next().is_none(),
            "nothing written outside"
        );
        // `a` points at an absolute path: under chroot that is inside the destination.
        assert_eq!(
            read(t.path(), &format!("{}/passwd", out.trim_start_matches('/'))).as_deref(),
            Some("inside")
        );
        assert_eq!(read(t.path(), "etc/shadow").as_deref(), Some("inside too"));
    }

    #[test]
    fn a_lower_directory_symlink_is_followed_like_a_runtime_does() {
        let t = tempfile::tempdir().unwrap();
        let lower = tar_of(&[E::Dir("usr/lib/"), E::Link("lib", "usr/lib")]);
        let upper = tar_of(&[E::File("lib/libz.so.1", b"z")]);
        apply_all(t.path(), &[lower, upper]).unwrap();
        assert!(
            fs::symlink_metadata(t.path().join("lib"))
                .unwrap()
                .is_symlink()
        );
        assert_eq!(read(t.path(), "usr/lib/libz.so.1").as_deref(), Some("z"));
    }

    #[test]
    fn hard_links_only_to_files_inside() {
        let t = tempfile::tempdir().unwrap();
        let tar = tar_of(&[E::File("a", b"1"), E::Hard("b", "a")]);
        apply_all(t.path(), &[tar]).unwrap();
        assert_eq!(read(t.path(), "b").as_deref(), Some("1"));
        let t = tempfile::tempdir().unwrap();
        let err = apply_all(t.path(), &[tar_of(&[E::Hard("b", "missing")])]).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let t = tempfile::tempdir().unwrap();
        let tar = tar_of(&[E::Link("l", "/etc/passwd"), E::Hard("b", "l")]);
        let err = apply_all(t.path(), &[tar]).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[test]
    fn huge_sizes_are_refused_before_reading() {
        let t = tempfile::tempdir().unwrap();
        let mut h = tar::Header::new_ustar();
        raw_header(&mut h, "big", 0, EntryType::Regular, None);
        // 1 TiB does not fit the octal field: base-256 as GNU tar writes it.
        let field = &mut h.as_old_mut().size;
        field.fill(0);
        field[0] = 0x80;
        field[6] = 0x01; // 2^40
        h.set_cksum();
        let mut tar = h.as_bytes().to_vec();
        tar.extend_from_slice(&[0u8; 1024]);
        let err = apply_all(t.path(), &[tar]).unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");
        assert!(!t.path().join("big").exists());

        // A long-name record that claims a gigabyte.
        let mut h = tar::Header::new_gnu();
        h.set_path("././@LongLink").unwrap();
        h.set_entry_type(EntryType::GNULongName);
        h.set_size(1 << 30);
        h.set_cksum();
        let mut tar = h.as_bytes().to_vec();
        tar.extend_from_slice(&[0u8; 1024]);
        let err = apply_all(t.path(), &[tar]).unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");

        // Total and count limits.
        let tar = tar_of(&[E::File("a", &[1; 600]), E::File("b", &[2; 600])]);
        let lim = Limits {
            max_total_bytes: 1000,
            ..Limits::default()
        };
        let err = apply(&tar[..], t.path(), "l", &lim, &mut Budget::default()).unwrap_err();
        assert!(
            matches!(err, CheckError::OverBound { bound: 1000, .. }),
            "{err}"
        );
        assert!(
            err.to_string()
                .ends_with("more than 1000 bytes of files, the bound on its unpacked size; raise it with --max-image-size"),
            "{err}"
        );
        let lim = Limits {
            max_entries: 1,
            ..Limits::default()
        };
        let err = apply(&tar[..], t.path(), "l", &lim, &mut Budget::default()).unwrap_err();
        assert!(err.to_string().contains("entries"), "{err}");
    }

    /// A one-entry tar whose file is `head` followed by zeros up to `size`, streamed.
    fn big_file_tar(name: &str, head: &[u8], size: u64) -> impl Read {
        let mut h = tar::Header::new_gnu();
        h.set_path(name).unwrap();
        h.set_size(size);
        h.set_mode(0o644);
        h.set_entry_type(EntryType::Regular);
        h.set_cksum();
        let pad = (512 - size % 512) % 512;
        io::Cursor::new(h.as_bytes().to_vec())
            .chain(head)
            .chain(io::repeat(0).take(size - head.len() as u64 + pad))
            .chain(&[0u8; 1024][..])
    }

    fn disk_bytes(p: &Path) -> u64 {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(p).unwrap().blocks() * 512
    }

    #[test]
    fn check_writes_only_the_contents_it_reads() {
        let size = 64u64 << 20;
        let checked = Limits {
            contents: Contents::Checked,
            ..Limits::default()
        };
        let t = tempfile::tempdir().unwrap();
        for (name, head, whole) in [
            ("usr/share/zero", &b""[..], false),
            (
                "usr/bin/script",
                &b"#!/bin/sh
exec app
"[..],
                false,
            ),
            ("usr/lib/libbig.so", &b"ELF"[..], true),
            ("etc/ld.so.cache", &b"glibc-ld.so.cache1.1"[..], true),
        ] {
            let r = big_file_tar(name, head, size);
            let mut b = Budget::default();
            apply(r, t.path(), "l", &checked, &mut b).unwrap();
            assert_eq!(b.bytes, size, "{name}: counted at its size");
            let p = t.path().join(name);
            assert_eq!(fs::metadata(&p).unwrap().len(), size, "{name}: its size");
            let mut start = vec![0u8; head.len() + 16];
            io::Read::read_exact(&mut fs::File::open(&p).unwrap(), &mut start).unwrap();
            assert_eq!(&start[..head.len()], head, "{name}: its first bytes");
            if whole {
                assert!(disk_bytes(&p) >= size, "{name}: written whole");
            } else {
                assert!(
                    disk_bytes(&p) <= 1 << 20,
                    "{name}: {} on disk",
                    disk_bytes(&p)
                );
            }
            fs::remove_file(&p).unwrap();
        }
        // Small files are whole whatever they are; so is everything with Contents::All.
        let r = big_file_tar("etc/small", b"text", WHOLE_UP_TO);
        apply(r, t.path(), "l", &checked, &mut Budget::default()).unwrap();
        assert!(disk_bytes(&t.path().join("etc/small")) >= WHOLE_UP_TO);
        let r = big_file_tar("usr/share/zero", b"", size);
        apply(r, t.path(), "l", &Limits::default(), &mut Budget::default()).unwrap();
        assert!(disk_bytes(&t.path().join("usr/share/zero")) >= size);
        // What may be an archive's blob stays whole in the outer tar.
        let outer = Limits {
            contents: Contents::CheckedOrArchive,
            ..Limits::default()
        };
        for name in ["blobs/sha256/0123", "abc.tar", "0123/layer.tar"] {
            let r = big_file_tar(name, b"", size);
            apply(r, t.path(), "l", &outer, &mut Budget::default()).unwrap();
            assert!(disk_bytes(&t.path().join(name)) >= size, "{name}");
        }
        let r = big_file_tar("usr/share/other", b"", size);
        apply(r, t.path(), "l", &outer, &mut Budget::default()).unwrap();
        assert!(disk_bytes(&t.path().join("usr/share/other")) <= 1 << 20);
        // A truncated big file is still an error.
        let r = big_file_tar("usr/share/cut", b"", size).take(1 << 20);
        assert!(apply(r, t.path(), "l", &checked, &mut Budget::default()).is_err());
    }

    #[test]
    fn sizes_are_shown_as_the_flag_takes_them() {
        assert_eq!(show_size(16 << 30), "16G (17179869184 bytes)");
        assert_eq!(show_size(1536 << 20), "1536M (1610612736 bytes)");
        assert_eq!(show_size(1000), "1000 bytes");
    }

    #[test]
    fn truncated_data_is_an_error() {
        let t = tempfile::tempdir().unwrap();
        let mut tar = tar_of(&[E::File("a", &[7; 2000])]);
        tar.truncate(1024);
        assert!(apply_all(t.path(), &[tar]).is_err());
    }

    #[test]
    fn long_names_from_pax_and_gnu_records() {
        let t = tempfile::tempdir().unwrap();
        let long = format!("{}/file", "d".repeat(150));
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(2);
        h.set_mode(0o644);
        b.append_data(&mut h, &long, &b"ok"[..]).unwrap();
        let tar = b.into_inner().unwrap();
        apply_all(t.path(), &[tar]).unwrap();
        assert_eq!(read(t.path(), &long).as_deref(), Some("ok"));

        let p = Pax::parse(b"12 path=a/b\n19 linkpath=target\n11 size=42\n");
        assert_eq!(p.path.as_deref(), Some(&b"a/b"[..]));
        assert_eq!(p.linkpath.as_deref(), Some(&b"target"[..]));
        assert_eq!(p.size, Some(42));
        let bad = Pax::parse(b"999 path=x\n");
        assert!(bad.path.is_none());
    }

    #[test]
    fn whiteouts_remove_lower_entries() {
        let t = tempfile::tempdir().unwrap();
        let lower = tar_of(&[
            E::File("etc/a", b"a"),
            E::File("etc/b", b"b"),
            E::File("usr/lib/x/1", b"1"),
            E::File("usr/lib/x/2", b"2"),
            E::File("usr/lib/x/sub/3", b"3"),
            E::File("keep", b"k"),
        ]);
        let upper = tar_of(&[
            E::File("etc/.wh.a", b""),
            // The layer's own entry, listed before its opaque marker: it stays.
            E::File("usr/lib/x/new", b"n"),
            E::Dir("usr/lib/x/sub/"),
            E::File("usr/lib/x/.wh..wh..opq", b""),
            E::File("gone/.wh.nothing", b""),
        ]);
        let b = apply_all(t.path(), &[lower, upper]).unwrap();
        assert_eq!(read(t.path(), "etc/a"), None);
        assert_eq!(read(t.path(), "etc/b").as_deref(), Some("b"));
        assert_eq!(read(t.path(), "usr/lib/x/new").as_deref(), Some("n"));
        assert_eq!(read(t.path(), "usr/lib/x/1"), None);
        assert_eq!(read(t.path(), "usr/lib/x/2"), None);
        assert_eq!(
            read(t.path(), "usr/lib/x/sub/3"),
            None,
            "a lower file under a directory this layer also lists goes too"
        );
        assert!(t.path().join("usr/lib/x/sub").is_dir());
        assert_eq!(read(t.path(), "keep").as_deref(), Some("k"));
        assert!(
            !t.path().join("etc/.wh.a").exists(),
            "whiteouts are not files"
        );
        assert!(
            !t.path().join("gone").exists(),
            "no directory made for a whiteout"
        );
        assert_eq!(b.whiteouts, 3);
    }

    #[test]
    fn an_upper_entry_replaces_a_lower_one_of_another_kind() {
        let t = tempfile::tempdir().unwrap();
        let lower = tar_of(&[E::File("x", b"file"), E::Dir("d/"), E::File("d/f", b"f")]);
        let upper = tar_of(&[E::Dir("x/"), E::Link("d", "x")]);
        apply_all(t.path(), &[lower, upper]).unwrap();
        assert!(t.path().join("x").is_dir());
        assert!(
            fs::symlink_metadata(t.path().join("d"))
                .unwrap()
                .is_symlink()
        );
    }

    /// A chain `/l0 -> l1 -> ... -> usr` of `n` links in a fresh tree with `/usr`.
    fn link_chain(n: usize) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir(t.path().join("usr")).unwrap();
        for i in 0..n {
            let target = if i + 1 == n {
                "usr".to_string()
            } else {
                format!("l{}", i + 1)
            };
            symlink(target, t.path().join(format!("l{i}"))).unwrap();
        }
        t
    }

    fn comps(p: &str) -> Vec<Vec<u8>> {
        p.split('/').map(|c| c.as_bytes().to_vec()).collect()
    }

    #[test]
    fn resolve_dir_creates_through_links_inside_the_destination() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        fs::create_dir_all(d.join("usr/lib")).unwrap();
        symlink("usr/lib", d.join("lib")).unwrap();
        symlink("/usr", d.join("abs")).unwrap();
        symlink("../../../..", d.join("usr/up")).unwrap();
        assert_eq!(
            resolve_dir(d, &comps("lib/x/y"), true).unwrap(),
            Some(d.join("usr/lib/x/y"))
        );
        assert!(d.join("usr/lib/x/y").is_dir());
        assert_eq!(
            fs::metadata(d.join("usr/lib/x"))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777,
            0o755
        );
        assert_eq!(
            resolve_dir(d, &comps("abs/lib"), false).unwrap(),
            Some(d.join("usr/lib")),
            "an absolute target restarts at the destination"
        );
        assert_eq!(
            resolve_dir(d, &comps("usr/up/abs/../usr"), false).unwrap(),
            Some(d.join("usr")),
            "`..` stops at the destination and applies to where links led"
        );
        assert_eq!(resolve_dir(d, &[], false).unwrap(), Some(d.to_path_buf()));
    }

    #[test]
    fn resolve_dir_without_create_finds_nothing_and_makes_nothing() {
        let t = tempfile::tempdir().unwrap();
        assert_eq!(resolve_dir(t.path(), &comps("a/b"), false).unwrap(), None);
        assert!(!t.path().join("a").exists());
    }

    #[test]
    fn resolve_dir_refuses_a_file_as_a_directory() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("f"), b"").unwrap();
        symlink("f", t.path().join("l")).unwrap();
        for p in ["f/x", "f", "l/x"] {
            let err = resolve_dir(t.path(), &comps(p), true).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::NotADirectory, "{p}: {err}");
        }
        assert!(!t.path().join("f").is_dir());
    }

    #[test]
    fn resolve_dir_allows_max_symlinks_and_not_one_more() {
        let t = link_chain(MAX_SYMLINKS);
        assert_eq!(
            resolve_dir(t.path(), &comps("l0"), false).unwrap(),
            Some(t.path().join("usr"))
        );
        let t = link_chain(MAX_SYMLINKS + 1);
        let err = resolve_dir(t.path(), &comps("l0/x"), true).unwrap_err();
        assert!(err.to_string().contains("too many levels"), "{err}");
        assert!(!t.path().join("usr/x").exists());
    }

    #[test]
    fn resolve_dir_keeps_non_utf8_names() {
        let t = tempfile::tempdir().unwrap();
        let name = std::ffi::OsStr::from_bytes(b"caf\xe9");
        let got = resolve_dir(t.path(), &[b"caf\xe9".to_vec(), b"x".to_vec()], true).unwrap();
        assert_eq!(got, Some(t.path().join(name).join("x")));
        assert!(t.path().join(name).join("x").is_dir());
    }

    #[test]
    fn compression_is_told_by_magic() {
        let tar = tar_of(&[E::File("a", b"hello")]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, &tar).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&tar[..], 3).unwrap();
        for bytes in [tar.clone(), gz, zst] {
            let t = tempfile::tempdir().unwrap();
            let r = decompress(&bytes[..], "l").unwrap();
            apply(r, t.path(), "l", &Limits::default(), &mut Budget::default()).unwrap();
            assert_eq!(read(t.path(), "a").as_deref(), Some("hello"));
        }
        let xz = [0xfd, b'7', b'z', b'X', b'Z', 0, 1, 2];
        assert!(decompress(&xz[..], "l").is_err());
    }
}
