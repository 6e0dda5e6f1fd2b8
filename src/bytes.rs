//! Byte and substring searches for the work every command does (names, paths,
//! ld.so.cache strings, the loader's list of system directories), on SSE2 on x86_64.
//!
//! memchr's plain functions choose AVX2 or SSE2 at run time, and their first call asks
//! the CPU what it has (std_detect: a run of `cpuid`s). In a virtual machine each `cpuid`
//! traps to the hypervisor: the question took 85 us here (11 us per `cpuid`), about 4% of
//! `trace /usr/bin/true`. SSE2 is part of x86_64, so these functions use memchr's SSE2
//! searchers, which need not ask. Elsewhere they are memchr's plain functions (on aarch64
//! memchr's NEON needs no question either). The runtimes' scans of large files keep
//! memchr's plain functions: there AVX2 is worth the question.

/// The first `byte` in `hay`.
pub fn find_byte(byte: u8, hay: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if let Some(one) = memchr::arch::x86_64::sse2::memchr::One::new(byte) {
        return one.find(hay);
    }
    memchr::memchr(byte, hay)
}

/// The first `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if let [byte] = needle {
        return find_byte(*byte, hay);
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(f) = memchr::arch::x86_64::sse2::packedpair::Finder::new(needle) {
        if hay.len() >= f.min_haystack_len() {
            return f.find(hay, needle);
        }
        // Shorter than one vector step: a plain scan.
        return memchr::arch::all::rabinkarp::Finder::new(needle).find(hay, needle);
    }
    memchr::memmem::find(hay, needle)
}

/// The last `needle` in `hay`, for short haystacks (a file name): no vectors.
pub fn rfind_short(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::arch::all::rabinkarp::FinderRev::new(needle).rfind(hay, needle)
}

/// Every start of `needle` in `hay`, overlapping ones too, in order.
pub fn find_all<'a>(hay: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    let mut from = 0;
    std::iter::from_fn(move || {
        let at = from + find(hay.get(from..)?, needle)?;
        from = at + 1;
        Some(at)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each search against the obvious scan, over haystacks shorter and longer than a
    /// vector step and needles of 1 to 40 bytes, at every offset.
    #[test]
    fn the_searches_agree_with_a_plain_scan() {
        let text: Vec<u8> = (0..300u32)
            .map(|i| b"/lib/x86_64-linux-gnu/\0libz.so.1\0"[(i * 7 % 33) as usize])
            .collect();
        for len in [0, 1, 2, 5, 15, 16, 17, 31, 32, 33, 64, 300] {
            let hay = &text[..len];
            for b in [b'/', 0, b'z', b'Q'] {
                assert_eq!(find_byte(b, hay), hay.iter().position(|&c| c == b));
            }
            for (at, n) in [(0, 1), (3, 2), (5, 4), (20, 9), (7, 40), (0, 33)] {
                let Some(needle) = text.get(at..at + n) else {
                    continue;
                };
                let all: Vec<usize> = (0..hay.len().saturating_sub(n - 1))
                    .filter(|&i| hay[i..].starts_with(needle))
                    .collect();
                assert_eq!(find(hay, needle), all.first().copied(), "{len} {at} {n}");
                assert_eq!(
                    rfind_short(hay, needle),
                    all.last().copied(),
                    "{len} {at} {n}"
                );
                assert_eq!(
                    find_all(hay, needle).collect::<Vec<_>>(),
                    all,
                    "{len} {at} {n}"
                );
            }
        }
        assert_eq!(find_all(b"aaaa", b"aa").collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(find(b"abc", b""), Some(0));
    }
}
