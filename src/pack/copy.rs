//! The uncompressed layer written into a file at the speed of a copy. File contents are
//! copied by the kernel (`copy_file_range`: page cache to page cache, as `cat` does, with
//! no pass through this process's memory); headers and small files go through one 1 MiB
//! buffer; and the sha256 of the whole stream (the diff_id) is computed on a second
//! thread, in stream order, from the same bytes: the buffers once written, and each
//! copied file's mapping. The writer and the hasher meet at a bounded channel, so at
//! most `IN_FLIGHT` chunks (buffers or mappings) wait to be hashed.
//!
//! The bytes are those `tar.rs` writes through any other [`Sink`]; only the way they get
//! into the file differs. A file system or kernel without `copy_file_range` for the pair
//! (EXDEV, EINVAL, ENOSYS, EOPNOTSUPP) gets plain writes from the mapping instead.

use std::fs::File;
use std::io::{self, Seek, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use sha2::{Digest, Sha256};

use super::digest::hex;
use super::tar::{self, Sink, TarStats};
use crate::plan::Plan;
use crate::sysroot::read::FileBytes;

/// The write buffer for headers and small files.
const BUF: usize = 1 << 20;
/// File bodies at least this big are copied by the kernel; smaller ones are buffered
/// (one system call for many small files beats one per file).
const COPY_FROM: usize = 64 * 1024;
/// Chunks written but not yet hashed, at most: bounds the memory held by buffers (and
/// the mappings kept alive) when hashing is slower than copying.
const IN_FLIGHT: usize = 8;
/// The hashed bytes are handed to the disk every this many ([`Writeback`]).
const WRITEBACK: u64 = 8 << 20;

/// What the hashing thread hashes, in stream order.
enum Chunk {
    /// Buffered bytes (headers, small files), already written; the buffer goes back for
    /// reuse.
    Bytes(Vec<u8>),
    /// A file's content from the offset on, copied into the layer by the kernel.
    Mapped(FileBytes, usize),
}

/// Writes `plan` as a tar into `out` (at its current offset), hashing it on another
/// thread: the stats, the `sha256:<hex>` of the tar and its size. `done` is called after
/// each entry (progress).
pub fn write_tar(
    plan: &Plan,
    mtime: u64,
    out: &File,
    done: &mut dyn FnMut(&TarStats),
) -> io::Result<(TarStats, String, u64)> {
    std::thread::scope(|s| {
        let (tx, rx) = sync_channel(IN_FLIGHT);
        let (spare_tx, spare_rx) = sync_channel(IN_FLIGHT);
        let writeback = Writeback {
            out,
            // A pipe or FIFO has no offset (ESPIPE): nothing is handed to a disk there.
            start: (&*out).stream_position().ok(),
            handed: 0,
        };
        let hasher = s.spawn(move || hash(rx, spare_tx, writeback));
        let mut sink = CopySink {
            out,
            buf: Vec::with_capacity(BUF),
            tx,
            spare: spare_rx,
            copy: true,
        };
        let written = tar::write_plan_into(plan, mtime, &mut sink, done)
            .and_then(|stats| sink.flush_buf().map(|()| stats));
        drop(sink); // ends the channel: the hasher finishes what was sent
        let (digest, n) = hasher
            .join()
            .map_err(|_| io::Error::other("the hashing thread failed"))?;
        Ok((written?, digest, n))
    })
}

/// Starts writing the layer to the disk while it is being written: every [`WRITEBACK`]
/// bytes hashed (so written), `POSIX_FADV_DONTNEED` on them starts their writeback and
/// returns (pages under writeback stay cached). The disk then writes during the copy, and
/// the `fdatasync` before the rename waits for the last few MiB rather than the whole
/// layer (for ffmpeg's 255 MB, 7-20 ms instead of 190 ms). It runs on the hashing thread,
/// which has time to spare, so that submitting the writeback does not slow the copy. The
/// sync itself, and so what a crash can leave, is unchanged: this is advice, whose
/// failure changes nothing but the time.
struct Writeback<'a> {
    out: &'a File,
    /// The output's offset where the tar starts (None: the output cannot seek, a pipe),
    /// and how many of its bytes were handed.
    start: Option<u64>,
    handed: u64,
}

impl Writeback<'_> {
    /// `n` bytes of the tar are written.
    fn reached(&mut self, n: u64) {
        let Some(start) = self.start else { return };
        let len = n - self.handed;
        if len >= WRITEBACK {
            let _ = rustix::fs::fadvise(
                self.out,
                start + self.handed,
                std::num::NonZeroU64::new(len),
                rustix::fs::Advice::DontNeed,
            );
            self.handed = n;
        }
    }
}

/// The hashing thread: sha256 and count of every chunk, in order.
fn hash(rx: Receiver<Chunk>, spare: SyncSender<Vec<u8>>, mut wb: Writeback) -> (String, u64) {
    let mut h = Sha256::new();
    let mut n = 0u64;
    for chunk in rx {
        match chunk {
            Chunk::Bytes(mut b) => {
                h.update(&b);
                n += b.len() as u64;
                b.clear();
                // The writer may have enough buffers already: then this one is freed.
                let _ = spare.try_send(b);
            }
            Chunk::Mapped(m, from) => {
                h.update(&m[from..]);
                n += (m.len() - from) as u64;
            }
        }
        wb.reached(n);
    }
    (format!("sha256:{}", hex(&h.finalize())), n)
}

/// A [`Sink`] into a file: buffered writes, kernel copies for large file bodies, and
/// every byte sent to the hasher once it is written.
struct CopySink<'a> {
    out: &'a File,
    buf: Vec<u8>,
    tx: SyncSender<Chunk>,
    spare: Receiver<Vec<u8>>,
    /// Whether `copy_file_range` works for these files (false after it was refused).
    copy: bool,
}

impl CopySink<'_> {
    fn send(&self, c: Chunk) -> io::Result<()> {
        self.tx
            .send(c)
            .map_err(|_| io::Error::other("the hashing thread ended"))
    }

    /// Writes the buffer out and hands it to the hasher.
    fn flush_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.out.write_all(&self.buf)?;
        let next = self
            .spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BUF));
        let full = std::mem::replace(&mut self.buf, next);
        self.send(Chunk::Bytes(full))
    }

    /// Copies `bytes[from..]` from `file` into the output by the kernel, at the output's
    /// offset; falls back to writing from the mapping when the kernel refuses the pair.
    fn copy_body(&mut self, file: &File, bytes: &[u8], from: usize) -> io::Result<()> {
        let end = bytes.len() as u64;
        let mut off = from as u64;
        while self.copy && off < end {
            let len = (end - off).min(1 << 30) as usize;
            match rustix::fs::copy_file_range(file, Some(&mut off), self.out, None, len) {
                // The file is shorter than its mapping: it shrank meanwhile.
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "changed size while being packed",
                    ));
                }
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => {}
                Err(
                    rustix::io::Errno::XDEV
                    | rustix::io::Errno::INVAL
                    | rustix::io::Errno::NOSYS
                    | rustix::io::Errno::OPNOTSUPP,
                ) => self.copy = false,
                Err(e) => return Err(e.into()),
            }
        }
        if off < end {
            self.out.write_all(&bytes[off as usize..])?;
        }
        Ok(())
    }
}

impl Write for CopySink<'_> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.write_all(b)?;
        Ok(b.len())
    }
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        if self.buf.len() + b.len() > BUF {
            self.flush_buf()?;
        }
        if b.len() >= BUF {
            // Larger than the buffer (generated data): written at once, hashed from a copy.
            self.out.write_all(b)?;
            return self.send(Chunk::Bytes(b.to_vec()));
        }
        self.buf.extend_from_slice(b);
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.flush_buf()
    }
}

impl Sink for CopySink<'_> {
    fn file_body(&mut self, file: File, bytes: FileBytes, head: &[u8]) -> io::Result<()> {
        let from = head.len();
        if bytes.len() - from < COPY_FROM || !matches!(bytes, FileBytes::Mapped(_)) {
            self.write_all(head)?;
            return self.write_all(&bytes[from..]);
        }
        self.write_all(head)?;
        self.flush_buf()?;
        self.copy_body(&file, &bytes, from)?;
        self.send(Chunk::Mapped(bytes, from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Content, Entry};
    use crate::reason::Reason;
    use std::io::{Read, Seek};

    fn entry(content: Content) -> Entry {
        Entry {
            content,
            mode: 0o644,
            uid: 0,
            gid: 0,
            xattrs: vec![],
            reason: Reason::Input,
            source: None,
        }
    }

    /// The naive twin: the same plan through a plain writer, hashed in line.
    fn naive(plan: &Plan) -> (Vec<u8>, String) {
        let mut v = Vec::new();
        tar::write_plan(plan, 7, &mut v).unwrap();
        let d = super::super::digest::sha256_digest(&v);
        (v, d)
    }

    #[test]
    fn kernel_copies_and_buffers_give_the_bytes_and_digest_of_a_plain_writer() {
        let d = tempfile::tempdir().unwrap();
        let mut plan = Plan::default();
        // Sizes around every threshold: read not mapped, buffered, copied, bigger than
        // the buffer, with and without a replaced head.
        for (i, size) in [
            0usize,
            100,
            16 * 1024,
            COPY_FROM - 1,
            COPY_FROM,
            BUF + 3,
            3 * BUF,
        ]
        .into_iter()
        .enumerate()
        {
            let host = d.path().join(format!("f{i}"));
            let bytes: Vec<u8> = (0..size).map(|k| (k * 31 + i) as u8).collect();
            std::fs::write(&host, &bytes).unwrap();
            for head in [vec![], vec![0xaa; size.min(16)]] {
                plan.insert(
                    format!("f{i}-{}", head.len()),
                    entry(Content::File {
                        host: host.clone(),
                        size: size as u64,
                        head,
                    }),
                );
            }
        }
        plan.insert("big-data".into(), entry(Content::Data(vec![5; BUF + 1])));
        plan.insert("small-data".into(), entry(Content::Data(b"hi".to_vec())));
        let (want, want_digest) = naive(&plan);

        let mut out = tempfile::tempfile().unwrap();
        let mut calls = 0;
        let (stats, digest, n) = write_tar(&plan, 7, &out, &mut |_| calls += 1).unwrap();
        assert_eq!(calls, plan.entries().len());
        assert_eq!(stats.entries, calls);
        let mut got = Vec::new();
        out.rewind().unwrap();
        out.read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), want.len());
        assert!(got == want, "the same bytes");
        assert_eq!(digest, want_digest);
        assert_eq!(n, want.len() as u64);
    }

    /// `-o FIFO`: an output that cannot seek gets the same bytes (the kernel refuses to
    /// copy into it, and there is no offset to hand to a disk: the first writeback code
    /// asked for one and failed with "Illegal seek").
    #[test]
    fn a_pipe_gets_the_bytes_of_a_plain_writer() {
        let d = tempfile::tempdir().unwrap();
        let host = d.path().join("f");
        let bytes: Vec<u8> = (0..3 * BUF).map(|k| (k * 7) as u8).collect();
        std::fs::write(&host, &bytes).unwrap();
        let mut plan = Plan::default();
        plan.insert(
            "f".into(),
            entry(Content::File {
                host,
                size: bytes.len() as u64,
                head: vec![],
            }),
        );
        plan.insert(
            "data".into(),
            entry(Content::Data(vec![9; WRITEBACK as usize + 1])),
        );
        let (want, want_digest) = naive(&plan);
        let (mut r, w) = std::io::pipe().unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            r.read_to_end(&mut got).unwrap();
            got
        });
        let out = File::from(std::os::fd::OwnedFd::from(w));
        let (_, digest, n) = write_tar(&plan, 7, &out, &mut |_| {}).unwrap();
        drop(out);
        let got = reader.join().unwrap();
        assert!(got == want, "the same bytes");
        assert_eq!((digest, n), (want_digest, want.len() as u64));
    }

    #[test]
    fn a_file_that_shrank_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let host = d.path().join("f");
        std::fs::write(&host, vec![1u8; 200_000]).unwrap();
        let mut plan = Plan::default();
        plan.insert(
            "f".into(),
            entry(Content::File {
                host,
                size: 300_000,
                head: vec![],
            }),
        );
        let out = tempfile::tempfile().unwrap();
        let e = write_tar(&plan, 0, &out, &mut |_| ()).unwrap_err();
        assert!(e.to_string().contains("changed size"), "{e}");
    }
}
