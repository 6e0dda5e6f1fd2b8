//! gzip, compressed in parallel chunks, byte-identical whatever the thread count.
//!
//! The input is cut into fixed 1 MiB chunks. Each chunk is deflated on its own (zlib-rs,
//! raw deflate) with the previous 32 KiB of input as its dictionary and ends with a sync
//! flush, so the concatenation is one valid deflate stream (the pigz scheme). Chunks are
//! compressed by the writer's own worker threads (never by blocking a rayon worker, which
//! could deadlock a caller already on the pool) and written in order; at most a few
//! chunks are in flight, so memory stays bounded. The gzip header has mtime 0, no file name, OS 255 (unknown).

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use flate2::{Compress, Compression, FlushCompress, Status};

/// Input bytes per independently compressed chunk.
pub const CHUNK: usize = 1 << 20;
const DICT: usize = 32 << 10;

/// A gzip writer that compresses chunks in parallel.
pub struct ParGzWriter<W: Write> {
    inner: W,
    level: u32,
    buf: Vec<u8>,
    dict: Vec<u8>,
    crc: flate2::Crc,
    pending: VecDeque<mpsc::Receiver<io::Result<Vec<u8>>>>,
    max_pending: usize,
    header_done: bool,
    pool: Pool,
}

/// The compression threads; dropping the pool ends and joins them.
struct Pool {
    jobs: Option<mpsc::Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// One chunk to compress and where to send the result.
struct Job {
    input: Vec<u8>,
    dict: Vec<u8>,
    level: u32,
    last: bool,
    done: mpsc::SyncSender<io::Result<Vec<u8>>>,
}

impl<W: Write> ParGzWriter<W> {
    pub fn new(inner: W, level: u32) -> Self {
        let threads = rayon::current_num_threads().max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let workers = (0..threads)
            .map(|_| {
                let rx = rx.clone();
                std::thread::spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        let Ok(j) = job else { return };
                        let _ = j
                            .done
                            .send(deflate_chunk(&j.input, &j.dict, j.level, j.last));
                    }
                })
            })
            .collect();
        ParGzWriter {
            pool: Pool {
                jobs: Some(tx),
                workers,
            },
            inner,
            level,
            buf: Vec::with_capacity(CHUNK),
            dict: Vec::new(),
            crc: flate2::Crc::new(),
            pending: VecDeque::new(),
            max_pending: 2 * threads + 1,
            header_done: false,
        }
    }

    fn header(&mut self) -> io::Result<()> {
        if !self.header_done {
            // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255
            self.inner
                .write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255])?;
            self.header_done = true;
        }
        Ok(())
    }

    fn submit(&mut self, last: bool) -> io::Result<()> {
        self.header()?;
        let chunk = std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(if last { 0 } else { CHUNK }),
        );
        self.crc.update(&chunk);
        let dict = std::mem::take(&mut self.dict);
        if !last {
            let from = chunk.len().saturating_sub(DICT);
            self.dict = chunk[from..].to_vec();
        }
        let (tx, rx) = mpsc::sync_channel(1);
        let job = Job {
            input: chunk,
            dict,
            level: self.level,
            last,
            done: tx,
        };
        self.pool
            .jobs
            .as_ref()
            .ok_or_else(|| io::Error::other("gzip writer already finished"))?
            .send(job)
            .map_err(|_| io::Error::other("compression workers stopped"))?;
        self.pending.push_back(rx);
        while self.pending.len() > self.max_pending {
            self.drain_one()?;
        }
        Ok(())
    }

    fn drain_one(&mut self) -> io::Result<()> {
        if let Some(rx) = self.pending.pop_front() {
            let out = rx
                .recv()
                .map_err(|_| io::Error::other("compression worker died"))??;
            self.inner.write_all(&out)?;
        }
        Ok(())
    }

    /// Writes the last chunk and the gzip trailer; returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.submit(true)?;
        while !self.pending.is_empty() {
            self.drain_one()?;
        }
        let crc = self.crc.sum();
        let isize = self.crc.amount();
        self.inner.write_all(&crc.to_le_bytes())?;
        self.inner.write_all(&isize.to_le_bytes())?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for ParGzWriter<W> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let n = data.len();
        while !data.is_empty() {
            let room = CHUNK - self.buf.len();
            let take = room.min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() == CHUNK {
                self.submit(false)?;
            }
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Raw-deflates one chunk: sync flush at the end, or finish for the last chunk.
fn deflate_chunk(input: &[u8], dict: &[u8], level: u32, last: bool) -> io::Result<Vec<u8>> {
    let mut c = Compress::new(Compression::new(level), false);
    if !dict.is_empty() {
        c.set_dictionary(dict).map_err(io::Error::other)?;
    }
    let mut out: Vec<u8> = Vec::with_capacity(input.len() / 2 + 1024);
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut consumed = 0usize;
    loop {
        if out.capacity() - out.len() < 64 * 1024 {
            out.reserve(256 * 1024);
        }
        let before_in = c.total_in() as usize;
        let st = c
            .compress_vec(&input[consumed..], &mut out, flush)
            .map_err(io::Error::other)?;
        consumed += c.total_in() as usize - before_in;
        match st {
            Status::StreamEnd => break,
            Status::Ok | Status::BufError => {
                if consumed == input.len() && !last && out.capacity() > out.len() {
                    // A sync flush is complete once output space remains after the call.
                    break;
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gz(data: &[u8], level: u32) -> Vec<u8> {
        let mut w = ParGzWriter::new(Vec::new(), level);
        w.write_all(data).unwrap();
        w.finish().unwrap()
    }

    fn sample(n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n);
        let mut x: u32 = 12345;
        while v.len() < n {
            x = x.wrapping_mul(1103515245).wrapping_add(12345);
            let word =
                ["lib", "usr", "x86_64", "so.6", "\0\0\0\0", "glibc"][(x >> 16) as usize % 6];
            v.extend_from_slice(word.as_bytes());
            v.push((x >> 8) as u8);
        }
        v.truncate(n);
        v
    }

    #[test]
    fn round_trips_through_a_standard_decoder() {
        for n in [0, 1, 1000, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 12345] {
            let data = sample(n);
            let z = gz(&data, 6);
            let mut d = flate2::read::GzDecoder::new(&z[..]);
            let mut back = Vec::new();
            d.read_to_end(&mut back).unwrap();
            assert_eq!(back, data, "n={n}");
            assert_eq!(&z[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
        }
    }

    #[test]
    fn identical_bytes_whatever_the_thread_count() {
        let data = sample(3 * CHUNK + 777);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| gz(&data, 6));
        let four = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap()
            .install(|| gz(&data, 6));
        assert_eq!(one, four);
    }
}
