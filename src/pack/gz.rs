//! gzip, compressed in parallel chunks, byte-identical whatever the thread count.
//!
//! The input is cut into fixed 1 MiB chunks. Each chunk is deflated on its own (zlib-rs,
//! raw deflate) with the previous 32 KiB of input as its dictionary and ends with a sync
//! flush, so the concatenation is one valid deflate stream (the pigz scheme). Chunks are
//! compressed by the writer's own worker threads (never by blocking a rayon worker, which
//! could deadlock a caller already on the pool) and written in order; at most a few
//! chunks are in flight, so memory stays bounded. Each chunk gets a new compressor (a
//! reset one would carry the previous chunk's window and hash chains into the next, and
//! its bytes would then have to be proven independent of which worker compressed what
//! before; a new one costs under 0.5% of a chunk's time). A worker also computes its
//! chunk's crc32, which the writer combines in order: the thread that feeds the chunks
//! (and hashes the tar) does no per-byte work beyond copying. Chunk buffers are reused.
//! The gzip header has mtime 0, no file name, OS 255 (unknown).

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use zlib_rs::{Deflate, DeflateConfig, DeflateFlush, Status};

/// Input bytes per independently compressed chunk.
pub const CHUNK: usize = 1 << 20;
const DICT: usize = 32 << 10;

/// A gzip writer that compresses chunks in parallel.
pub struct ParGzWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
    dict: Vec<u8>,
    crc: u32,
    isize: u64,
    /// Buffers of written chunks, for the next ones: (input, output).
    free: Vec<(Vec<u8>, Vec<u8>)>,
    pending: VecDeque<mpsc::Receiver<io::Result<Done>>>,
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

/// One chunk to compress, the buffer for its output and where to send the result.
struct Job {
    input: Vec<u8>,
    dict: Vec<u8>,
    out: Vec<u8>,
    last: bool,
    done: mpsc::SyncSender<io::Result<Done>>,
}

/// A compressed chunk: `out[..len]`, and the crc32 of `input` (both buffers come back
/// for reuse).
struct Done {
    input: Vec<u8>,
    out: Vec<u8>,
    len: usize,
    crc: u32,
}

/// zlib-rs's settings for a gzip level.
fn config(level: u32) -> DeflateConfig {
    DeflateConfig {
        level: level.min(9) as i32,
        // Raw deflate with a 32 KiB window: the gzip header and trailer are written here.
        window_bits: -15,
        ..DeflateConfig::default()
    }
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
                        let Job {
                            input,
                            dict,
                            mut out,
                            last,
                            done,
                        } = j;
                        let r =
                            deflate_chunk(level, &input, &dict, last, &mut out).map(|len| Done {
                                crc: zlib_rs::crc32::crc32(0, &input),
                                input,
                                out,
                                len,
                            });
                        let _ = done.send(r);
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
            buf: Vec::with_capacity(CHUNK),
            dict: Vec::new(),
            crc: 0,
            isize: 0,
            free: Vec::new(),
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
        let (next, out) = match self.free.pop() {
            Some((mut i, o)) => {
                i.clear();
                (i, o)
            }
            None => (Vec::with_capacity(if last { 0 } else { CHUNK }), Vec::new()),
        };
        let chunk = std::mem::replace(&mut self.buf, next);
        let dict = std::mem::take(&mut self.dict);
        if !last {
            let from = chunk.len().saturating_sub(DICT);
            self.dict = chunk[from..].to_vec();
        }
        let (tx, rx) = mpsc::sync_channel(1);
        let job = Job {
            input: chunk,
            dict,
            out,
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
            let d = rx
                .recv()
                .map_err(|_| io::Error::other("compression worker died"))??;
            self.inner.write_all(&d.out[..d.len])?;
            let n = d.input.len() as u64;
            self.crc = zlib_rs::crc32::crc32_combine(self.crc, d.crc, n);
            self.isize += n;
            self.free.push((d.input, d.out));
        }
        Ok(())
    }

    /// Writes the last chunk and the gzip trailer; returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.submit(true)?;
        while !self.pending.is_empty() {
            self.drain_one()?;
        }
        // ISIZE is the input length modulo 2^32 (RFC 1952).
        let isize = self.isize as u32;
        self.inner.write_all(&self.crc.to_le_bytes())?;
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

/// Raw-deflates one chunk into `out` (grown as needed; its old bytes are overwritten):
/// sync flush at the end, or finish for the last chunk. Returns the compressed length.
fn deflate_chunk(
    level: u32,
    input: &[u8],
    dict: &[u8],
    last: bool,
    out: &mut Vec<u8>,
) -> io::Result<usize> {
    let err = |e: zlib_rs::DeflateError| io::Error::other(e.as_str());
    let mut z = Deflate::new_with_config(config(level));
    if !dict.is_empty() {
        z.set_dictionary(dict).map_err(err)?;
    }
    let flush = if last {
        DeflateFlush::Finish
    } else {
        DeflateFlush::SyncFlush
    };
    let (mut consumed, mut len) = (0usize, 0usize);
    // zlib-rs's output depends on where its output space runs out, so the space grows
    // exactly as the Vec of flate2's `compress_vec` did in earlier versions (half the
    // input plus 1 KiB; when less than 64 KiB remain, twice that or 256 KiB more than is
    // used): the same bytes as they wrote, whatever this buffer held before.
    let mut cap = input.len() / 2 + 1024;
    loop {
        if cap - len < 64 << 10 {
            cap = (2 * cap).max(len + (256 << 10));
        }
        if out.len() < cap {
            out.resize(cap, 0);
        }
        let (in0, out0) = (z.total_in(), z.total_out());
        let st = z
            .compress(&input[consumed..], &mut out[len..cap], flush)
            .map_err(err)?;
        let (took, gave) = (
            (z.total_in() - in0) as usize,
            (z.total_out() - out0) as usize,
        );
        consumed += took;
        len += gave;
        if st == Status::StreamEnd || (!last && consumed == input.len() && len < cap) {
            // Finished, or a sync flush complete: output space remained after the call.
            break;
        }
        if took == 0 && gave == 0 && len < cap {
            return Err(io::Error::other("deflate made no progress"));
        }
    }
    Ok(len)
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

    /// Chunks that compress well and chunks that do not (xorshift bytes: their output is
    /// larger than the input, so the output space must grow), in a mixed order.
    fn mixed() -> Vec<u8> {
        let mut v = sample(CHUNK + 5000);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..(2 * CHUNK + 300) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.push(x as u8);
        }
        v.extend_from_slice(&sample(2 * CHUNK));
        v.extend_from_within(CHUNK + 5000..2 * CHUNK);
        v
    }

    /// The scheme as written before the writer called zlib-rs itself (flate2's
    /// `compress_vec`, a new `Vec` per chunk), the reference for same bytes.
    fn gz_flate2(data: &[u8], level: u32) -> Vec<u8> {
        use flate2::{Compress, Compression, FlushCompress, Status};
        let mut z = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
        // Every full chunk as it fills, then the rest (maybe empty) as the last one.
        let full = data.len() / CHUNK;
        for i in 0..=full {
            let from = i * CHUNK;
            let input = &data[from..((i + 1) * CHUNK).min(data.len())];
            let last = i == full;
            let mut c = Compress::new(Compression::new(level), false);
            if from > 0 {
                c.set_dictionary(&data[from - DICT..from]).unwrap();
            }
            let flush = if last {
                FlushCompress::Finish
            } else {
                FlushCompress::Sync
            };
            let mut out: Vec<u8> = Vec::with_capacity(input.len() / 2 + 1024);
            let mut consumed = 0;
            loop {
                if out.capacity() - out.len() < 64 * 1024 {
                    out.reserve(256 * 1024);
                }
                let before = c.total_in() as usize;
                let st = c.compress_vec(&input[consumed..], &mut out, flush).unwrap();
                consumed += c.total_in() as usize - before;
                if st == Status::StreamEnd
                    || (!last && consumed == input.len() && out.capacity() > out.len())
                {
                    break;
                }
            }
            z.extend_from_slice(&out);
        }
        let mut crc = flate2::Crc::new();
        crc.update(data);
        z.extend_from_slice(&crc.sum().to_le_bytes());
        z.extend_from_slice(&(data.len() as u32).to_le_bytes());
        z
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
    fn same_bytes_as_the_flate2_scheme() {
        for data in [Vec::new(), sample(1000), sample(CHUNK), mixed()] {
            assert!(gz(&data, 6) == gz_flate2(&data, 6), "n={}", data.len());
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
        // Incompressible chunks among the others, and buffers reused by other chunks.
        let data = mixed();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| gz(&data, 6));
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap()
            .install(|| gz(&data, 6));
        assert!(one == three);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&one[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back == data);
    }
}
