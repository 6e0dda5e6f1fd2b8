//! The layer as a tar stream: plain ustar headers, PAX extended headers only where ustar
//! cannot say it (long names or link targets, sizes of 8 GiB and more, large ids, file
//! capabilities), PAX records sorted by key; mtime is the one time input, no atime/ctime,
//! no user or group names, and the PAX header names are fixed (`PaxHeaders/<name>`), so the
//! bytes depend on the plan only. File contents are mapped and written whole, or copied
//! in the kernel by a [`Sink`] that can.
//!
//! Names are written as the bytes they stand for (`sysroot::name`): a name or link target
//! that is not UTF-8 is in the ustar field as it is and, as GNU tar writes it, in a PAX
//! `path` (`linkpath`) record too, byte for byte. No `hdrcharset=BINARY` record: GNU tar
//! 1.34 warns that it does not know the keyword, and every reader tried (GNU tar, the
//! `tar` crate, Python's tarfile) already takes the bytes of a record that is not UTF-8.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use tar::{EntryType, Header};

use crate::plan::{Content, Entry, Plan};
use crate::sysroot::name;
use crate::sysroot::read::FileBytes;

const BLOCK: usize = 512;
/// The largest size an 11-digit octal field holds.
const MAX_OCTAL_SIZE: u64 = 0o77777777777;
/// The largest id a 7-digit octal field holds.
const MAX_OCTAL_ID: u32 = 0o7777777;

/// Counts of what was written.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct TarStats {
    pub entries: usize,
    pub files: usize,
    pub dirs: usize,
    pub symlinks: usize,
    pub hardlinks: usize,
    /// Bytes of file content.
    pub content_bytes: u64,
}

/// Where the tar stream goes: a writer, and how a file's content is written into it. The
/// default writes the bytes through [`Write`]; a sink on a file can copy them in the
/// kernel instead (`pack::copy`).
pub trait Sink: Write {
    /// Writes one file's content: `head` (the plan's replacement of the first bytes),
    /// then `bytes[head.len()..]`. `file` is the open file `bytes` were read from.
    fn file_body(&mut self, file: File, bytes: FileBytes, head: &[u8]) -> io::Result<()> {
        let _ = file;
        self.write_all(head)?;
        self.write_all(&bytes[head.len()..])
    }
}

/// A plain writer as a [`Sink`].
pub struct WriteSink<W>(pub W);

impl<W: Write> Write for WriteSink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<W: Write> Sink for WriteSink<W> {}

/// Writes the whole plan as a tar stream (including the two zero end blocks).
pub fn write_plan<W: Write>(plan: &Plan, mtime: u64, out: &mut W) -> io::Result<TarStats> {
    write_plan_into(plan, mtime, &mut WriteSink(out), &mut |_| ())
}

/// [`write_plan`] into a [`Sink`], calling `done` after each entry with what was written
/// so far (for progress).
pub fn write_plan_into<S: Sink>(
    plan: &Plan,
    mtime: u64,
    out: &mut S,
    done: &mut dyn FnMut(&TarStats),
) -> io::Result<TarStats> {
    let mut stats = TarStats::default();
    for (path, e) in plan.entries() {
        write_entry(path, e, mtime, out)
            .map_err(|err| io::Error::new(err.kind(), format!("{}: {err}", name::shown(path))))?;
        stats.entries += 1;
        match &e.content {
            Content::Dir => stats.dirs += 1,
            Content::File { size, .. } => {
                stats.files += 1;
                stats.content_bytes += size;
            }
            Content::Data(d) => {
                stats.files += 1;
                stats.content_bytes += d.len() as u64;
            }
            Content::Symlink(_) => stats.symlinks += 1,
            Content::Hardlink(_) => stats.hardlinks += 1,
        }
        done(&stats);
    }
    out.write_all(&[0u8; 2 * BLOCK])?;
    Ok(stats)
}

fn write_entry<S: Sink>(path: &str, e: &Entry, mtime: u64, out: &mut S) -> io::Result<()> {
    let name = match e.content {
        Content::Dir => format!("{path}/"),
        _ => path.to_string(),
    };
    let (etype, link, size) = match &e.content {
        Content::Dir => (EntryType::Directory, None, 0),
        Content::File { size, .. } => (EntryType::Regular, None, *size),
        Content::Data(d) => (EntryType::Regular, None, d.len() as u64),
        Content::Symlink(t) => (EntryType::Symlink, Some(t.as_str()), 0),
        Content::Hardlink(t) => (EntryType::Link, Some(t.as_str()), 0),
    };

    let mut h = Header::new_ustar();
    let mut pax: Vec<(String, Vec<u8>)> = Vec::new();
    let name_bytes = name::to_bytes(&name);
    let fits = set_ustar_name(&mut h, &name_bytes);
    if !fits || !name::is_utf8(&name) {
        pax.push(("path".into(), name_bytes.to_vec()));
    }
    if !fits {
        set_ustar_name(&mut h, truncate_name(&name_bytes));
    }
    if let Some(l) = link {
        let bytes = name::to_bytes(l);
        if bytes.len() <= 100 {
            h.set_link_name_literal(&bytes)?;
        } else {
            h.set_link_name_literal(&bytes[..100])?;
        }
        if bytes.len() > 100 || !name::is_utf8(l) {
            pax.push(("linkpath".into(), bytes.to_vec()));
        }
    }
    if size > MAX_OCTAL_SIZE {
        pax.push(("size".into(), size.to_string().into_bytes()));
        h.set_size(0);
    } else {
        h.set_size(size);
    }
    for (k, id) in [("uid", e.uid), ("gid", e.gid)] {
        if id > MAX_OCTAL_ID {
            pax.push((k.into(), id.to_string().into_bytes()));
        }
    }
    h.set_uid(e.uid.min(MAX_OCTAL_ID) as u64);
    h.set_gid(e.gid.min(MAX_OCTAL_ID) as u64);
    for (k, v) in &e.xattrs {
        pax.push((format!("SCHILY.xattr.{k}"), v.clone()));
    }
    h.set_mode(e.mode);
    h.set_mtime(mtime);
    h.set_entry_type(etype);
    h.set_device_major(0)?;
    h.set_device_minor(0)?;
    h.set_cksum();

    if !pax.is_empty() {
        pax.sort_by(|a, b| a.0.cmp(&b.0));
        let body = pax_body(&pax);
        let mut ph = Header::new_ustar();
        let base = path.rsplit('/').next().unwrap_or(path);
        let pname = [&b"PaxHeaders/"[..], &name::to_bytes(base)].concat();
        set_ustar_name(&mut ph, truncate_name(&pname));
        ph.set_size(body.len() as u64);
        ph.set_mode(0o644);
        ph.set_uid(0);
        ph.set_gid(0);
        ph.set_mtime(mtime);
        ph.set_entry_type(EntryType::XHeader);
        ph.set_device_major(0)?;
        ph.set_device_minor(0)?;
        ph.set_cksum();
        out.write_all(ph.as_bytes())?;
        out.write_all(&body)?;
        pad(out, body.len() as u64)?;
    }
    out.write_all(h.as_bytes())?;
    match &e.content {
        Content::File { host, size, head } => {
            // Large files are mapped (no copy into a buffer); the header already promised
            // `size` bytes, so a file that changed size meanwhile is an error, not a
            // corrupt archive.
            let (file, bytes) = crate::sysroot::read::open_and_read(host)?;
            if bytes.len() as u64 != *size || head.len() > bytes.len() {
                return Err(changed_size(host));
            }
            // The plan's replacement of the first bytes (a `.pyc` header), then the rest.
            out.file_body(file, bytes, head)?;
            pad(out, *size)?;
        }
        Content::Data(d) => {
            out.write_all(d)?;
            pad(out, d.len() as u64)?;
        }
        _ => {}
    }
    Ok(())
}

/// The error for a file whose size is not the one its header promised.
pub fn changed_size(host: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("{} changed size while being packed", host.display()),
    )
}

fn pad<W: Write>(out: &mut W, size: u64) -> io::Result<()> {
    let rem = (size % BLOCK as u64) as usize;
    if rem != 0 {
        out.write_all(&[0u8; BLOCK][..BLOCK - rem])?;
    }
    Ok(())
}

/// Puts `name` into the ustar name (100) and prefix (155) fields, split at a '/'.
/// False when it does not fit.
fn set_ustar_name(h: &mut Header, name: &[u8]) -> bool {
    let Some(u) = h.as_ustar_mut() else {
        return false;
    };
    u.name.fill(0);
    u.prefix.fill(0);
    if name.len() <= 100 {
        u.name[..name.len()].copy_from_slice(name);
        return true;
    }
    // Split at the last '/' that leaves at most 100 bytes of name and 155 of prefix
    // (a trailing '/' of a directory stays in the name part).
    let search_end = name.len().saturating_sub(1);
    for i in (0..search_end).rev() {
        if name[i] == b'/' {
            let (prefix, rest) = (&name[..i], &name[i + 1..]);
            if rest.len() > 100 {
                return false;
            }
            if prefix.len() <= 155 && !rest.is_empty() {
                u.prefix[..prefix.len()].copy_from_slice(prefix);
                u.name[..rest.len()].copy_from_slice(rest);
                return true;
            }
        }
    }
    false
}

/// A name short enough for the ustar name field (the PAX record holds the real one):
/// at most 99 bytes, cut between two chars when the name is UTF-8.
fn truncate_name(name: &[u8]) -> &[u8] {
    let mut end = name.len().min(99);
    if let Ok(s) = std::str::from_utf8(name) {
        while !s.is_char_boundary(end) {
            end -= 1;
        }
    }
    &name[..end]
}

/// PAX records: "<len> <key>=<value>\n", where len counts the whole record.
fn pax_body(records: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in records {
        let rest = k.len() + v.len() + 3; // ' ', '=', '\n'
        let mut len = rest + 1;
        while len.to_string().len() + rest != len {
            len = len.to_string().len() + rest;
        }
        out.extend_from_slice(len.to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(k.as_bytes());
        out.push(b'=');
        out.extend_from_slice(v);
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reason::Reason;

    fn entry(content: Content) -> Entry {
        Entry {
            content,
            mode: 0o644,
            uid: 0,
            gid: 0,
            xattrs: vec![],
            reason: Reason::Parent,
            source: None,
        }
    }

    #[test]
    fn pax_record_lengths_count_themselves() {
        let b = pax_body(&[("path".into(), b"a".to_vec())]);
        assert_eq!(b, b"9 path=a\n");
        let long = "x".repeat(95);
        let b = pax_body(&[("path".into(), long.as_bytes().to_vec())]);
        let s = String::from_utf8(b).unwrap();
        let (n, _) = s.split_once(' ').unwrap();
        assert_eq!(n.parse::<usize>().unwrap(), s.len());
    }

    #[test]
    fn long_names_use_prefix_or_pax_and_read_back() {
        let mut plan = Plan::default();
        let deep = format!("{}/{}", "d".repeat(150), "f".repeat(90));
        let huge = format!("{}/{}", "e".repeat(200), "g".repeat(120));
        plan.insert("a".into(), entry(Content::Data(b"hello".to_vec())));
        plan.insert(deep.clone(), entry(Content::Data(vec![1; 700])));
        plan.insert(huge.clone(), entry(Content::Data(vec![])));
        plan.insert("l".into(), entry(Content::Symlink("t".repeat(150))));
        let mut e = entry(Content::Data(vec![]));
        e.xattrs
            .push(("security.capability".into(), vec![1, 0, 0, 2]));
        plan.insert("cap".into(), e);
        let mut out = Vec::new();
        write_plan(&plan, 0, &mut out).unwrap();
        assert_eq!(out.len() % 512, 0);
        let mut ar = tar::Archive::new(&out[..]);
        let mut names = Vec::new();
        for ent in ar.entries().unwrap() {
            let mut ent = ent.unwrap();
            names.push(ent.path().unwrap().to_string_lossy().into_owned());
            if ent.path().unwrap().to_string_lossy() == "l" {
                assert_eq!(
                    ent.link_name().unwrap().unwrap().to_string_lossy(),
                    "t".repeat(150)
                );
            }
            if ent.path().unwrap().to_string_lossy() == "cap" {
                let ext: Vec<_> = ent
                    .pax_extensions()
                    .unwrap()
                    .unwrap()
                    .map(|x| x.unwrap().key().unwrap().to_string())
                    .collect();
                assert_eq!(ext, ["SCHILY.xattr.security.capability"]);
            }
        }
        assert_eq!(names, ["a", "cap", deep.as_str(), huge.as_str(), "l"]);
    }
}
