//! Reader for `/etc/ld.so.cache`, exactly as glibc 2.36's `_dl_load_cache_lookup`.
//!
//! Three layouts exist: the new format alone (`glibc-ld.so.cache1.1`, what ldconfig has
//! written since 2.32), the old libc5 format (`ld.so-1.7.0`), and the old format with the
//! new one appended (glibc 2.2 to 2.31). The lookup is glibc's binary search with
//! `_dl_cache_libcmp` (digits compare numerically; bytes as the target's `char`), then a
//! scan of the equal-named run: the first entry of this architecture's flags wins, except
//! that glibc-hwcaps entries (listed first) compete by subdirectory priority.
//!
//! The file is untrusted: every offset is checked, and a cache that is corrupt, empty, of
//! the wrong byte order or for another architecture simply yields no matches (as for the
//! loader), with a [`CacheIssue`] the caller can report.

use super::hwcaps::CpuProfile;
use crate::arch::Arch;
use crate::sysroot::name as names;
use crate::sysroot::read::FileBytes;

const MAGIC_OLD: &[u8] = b"ld.so-1.7.0";
const MAGIC_NEW: &[u8] = b"glibc-ld.so.cache1.1";
const HDR_OLD: usize = 16;
const ENT_OLD: usize = 12;
const HDR_NEW: usize = 48;
const ENT_NEW: usize = 24;
const EXTENSION_MAGIC: u32 = (-358342284i32) as u32;
const EXT_TAG_GLIBC_HWCAPS: u32 = 1;
const HWCAP_EXTENSION: u64 = 1 << 62;
const ISA_LEVEL_MASK: u64 = (1 << 10) - 1;

/// Whether `head` (a file's first bytes) starts like an ld.so.cache of either format.
pub fn has_magic(head: &[u8]) -> bool {
    head.starts_with(MAGIC_NEW) || head.starts_with(MAGIC_OLD)
}

/// Why a cache gives no answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheIssue {
    /// Neither magic, or a header that does not fit the file.
    Corrupt(String),
    /// Written for the other byte order.
    WrongEndian,
    /// Valid, but no entry carries this architecture's flags.
    OtherArch,
    /// No entries.
    Empty,
}

impl std::fmt::Display for CacheIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CacheIssue::Corrupt(why) => write!(f, "corrupt ({why}); the loader ignores it"),
            CacheIssue::WrongEndian => {
                f.write_str("written for the other byte order; the loader ignores it")
            }
            CacheIssue::OtherArch => f.write_str(
                "has no entries for this architecture (made by another arch's ldconfig?)",
            ),
            CacheIssue::Empty => f.write_str("is empty"),
        }
    }
}

/// A parsed ld.so.cache.
#[derive(Debug)]
pub struct LdCache {
    /// The file as read, or as mapped: a cache of the host's size (~40 KiB) is not copied.
    data: FileBytes,
    layout: Layout,
    /// String indices of the glibc-hwcaps extension section (new format only).
    hwcaps_names: Vec<u32>,
}

#[derive(Clone, Copy, Debug)]
enum Layout {
    /// Entries of `entry_size` bytes at `entries`; string offsets relative to `strings`.
    Table {
        entries: usize,
        nlibs: usize,
        entry_size: usize,
        strings: usize,
    },
    /// The loader found nothing usable.
    Unusable,
}

/// One cache entry, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheEntry {
    pub flags: i32,
    pub name: String,
    pub path: String,
    pub hwcap: u64,
    /// The glibc-hwcaps subdirectory of a hwcaps entry.
    pub hwcaps_subdir: Option<String>,
}

impl LdCache {
    /// Parses `data` as glibc 2.36 does; never fails (an unusable cache matches nothing).
    pub fn parse(data: impl Into<FileBytes>) -> (LdCache, Option<CacheIssue>) {
        let data: FileBytes = data.into();
        let size = data.len();
        let rd32 = |d: &[u8], o: usize| -> Option<u32> {
            d.get(o..o + 4)
                .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        };
        let mut issue = None;
        let mut layout = Layout::Unusable;
        let mut new_base: Option<usize> = None;
        if size > HDR_NEW && data.starts_with(MAGIC_NEW) {
            let nlibs = rd32(&data, 20).unwrap_or(0) as usize;
            if (size - HDR_NEW) / ENT_NEW >= nlibs {
                if new_matches_endian(data[28]) {
                    layout = Layout::Table {
                        entries: HDR_NEW,
                        nlibs,
                        entry_size: ENT_NEW,
                        strings: 0,
                    };
                    new_base = Some(0);
                } else {
                    issue = Some(CacheIssue::WrongEndian);
                }
            } else {
                issue = Some(CacheIssue::Corrupt(format!(
                    "{nlibs} entries do not fit in {size} bytes"
                )));
            }
        } else if size > HDR_OLD && data.starts_with(MAGIC_OLD) {
            let nlibs = rd32(&data, 12).unwrap_or(0) as usize;
            if (size - HDR_OLD) / ENT_OLD >= nlibs {
                let old_end = HDR_OLD + nlibs * ENT_OLD;
                let off = (old_end + 7) & !7;
                let has_new = size >= off + HDR_NEW && data[off..].starts_with(MAGIC_NEW);
                if has_new && !new_matches_endian(data[off + 28]) {
                    issue = Some(CacheIssue::WrongEndian);
                } else if has_new {
                    let nlibs_new = rd32(&data, off + 20).unwrap_or(0) as usize;
                    layout = Layout::Table {
                        entries: off + HDR_NEW,
                        nlibs: nlibs_new,
                        entry_size: ENT_NEW,
                        strings: off,
                    };
                    new_base = Some(off);
                } else {
                    layout = Layout::Table {
                        entries: HDR_OLD,
                        nlibs,
                        entry_size: ENT_OLD,
                        strings: old_end,
                    };
                }
            } else {
                issue = Some(CacheIssue::Corrupt(format!(
                    "{nlibs} entries do not fit in {size} bytes"
                )));
            }
        } else {
            issue = Some(CacheIssue::Corrupt("no ld.so.cache magic".into()));
        }
        let mut cache = LdCache {
            data,
            layout,
            hwcaps_names: Vec::new(),
        };
        if let Some(base) = new_base {
            cache.hwcaps_names = cache.load_hwcaps_extension(base);
        }
        (cache, issue)
    }

    /// Checks whether this cache has any entry for `arch`; returns the issue if not.
    pub fn issue_for(&self, arch: Arch) -> Option<CacheIssue> {
        match self.layout {
            Layout::Unusable => None,
            Layout::Table { nlibs: 0, .. } => Some(CacheIssue::Empty),
            Layout::Table { nlibs, .. } => {
                // Flags only: decoding every entry's strings is not needed to tell.
                if (0..nlibs)
                    .map_while(|i| self.entry_raw(i))
                    .any(|(flags, ..)| flags == arch.cache_flags())
                {
                    None
                } else {
                    Some(CacheIssue::OtherArch)
                }
            }
        }
    }

    /// The extension section with glibc-hwcaps names (`cache_extension_load`).
    fn load_hwcaps_extension(&self, base: usize) -> Vec<u32> {
        let d = &self.data;
        let rd = |o: usize| {
            d.get(o..o.checked_add(4)?)
                .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        };
        let Some(ext_off) = rd(base + 32) else {
            return Vec::new();
        };
        let ext_off = ext_off as usize;
        if ext_off == 0 || !ext_off.is_multiple_of(4) || ext_off.saturating_add(8) > d.len() {
            return Vec::new();
        }
        if rd(ext_off) != Some(EXTENSION_MAGIC) {
            return Vec::new();
        }
        let count = rd(ext_off + 4).unwrap_or(0) as usize;
        if count
            .checked_mul(16)
            .and_then(|n| n.checked_add(ext_off + 8))
            .is_none_or(|end| end > d.len())
        {
            return Vec::new();
        }
        let mut names = Vec::new();
        for i in 0..count {
            let s = ext_off + 8 + 16 * i;
            let (Some(tag), Some(off), Some(size)) = (rd(s), rd(s + 8), rd(s + 12)) else {
                return Vec::new();
            };
            if (off as u64 + size as u64) > d.len() as u64 {
                return Vec::new();
            }
            if tag == EXT_TAG_GLIBC_HWCAPS {
                names.clear();
                if size == 0 || off % 4 != 0 || size % 4 != 0 {
                    continue;
                }
                for k in 0..(size as usize / 4) {
                    names.push(rd(off as usize + 4 * k).unwrap_or(u32::MAX));
                }
            }
        }
        names
    }

    fn entry_raw(&self, i: usize) -> Option<(i32, u32, u32, u64)> {
        let Layout::Table {
            entries,
            entry_size,
            ..
        } = self.layout
        else {
            return None;
        };
        let o = entries.checked_add(i.checked_mul(entry_size)?)?;
        let e = self.data.get(o..o + entry_size)?;
        let flags = i32::from_le_bytes([e[0], e[1], e[2], e[3]]);
        let key = u32::from_le_bytes([e[4], e[5], e[6], e[7]]);
        let value = u32::from_le_bytes([e[8], e[9], e[10], e[11]]);
        let hwcap = if entry_size == ENT_NEW {
            u64::from_le_bytes(e[16..24].try_into().ok()?)
        } else {
            0
        };
        Some((flags, key, value, hwcap))
    }

    /// A string of the table, or None when the index is out of bounds or unterminated.
    fn string(&self, idx: u32) -> Option<&[u8]> {
        let Layout::Table { strings, .. } = self.layout else {
            return None;
        };
        let start = strings.checked_add(idx as usize)?;
        cstr_at(&self.data, start)
    }

    fn hwcaps_name(&self, hwcap: u64) -> Option<String> {
        let idx = (hwcap & 0xffff_ffff) as usize;
        let name_off = *self.hwcaps_names.get(idx)?;
        // The hwcaps strings are relative to the start of the file.
        let s = cstr_at(&self.data, name_off as usize)?;
        Some(names::from_bytes(s).into_owned())
    }

    /// All entries in file order (for reports and tests).
    pub fn entries(&self) -> impl Iterator<Item = CacheEntry> + '_ {
        // Only the entries that fit in the file: the compat layout's new-format count is
        // not checked by glibc (nor at parse time here), and a corrupt one (2^32 - 1)
        // would otherwise cost billions of empty iterations in `issue_for`.
        let n = match self.layout {
            Layout::Table {
                entries,
                nlibs,
                entry_size,
                ..
            } => nlibs.min(self.data.len().saturating_sub(entries) / entry_size),
            Layout::Unusable => 0,
        };
        (0..n).filter_map(move |i| {
            let (flags, key, value, hwcap) = self.entry_raw(i)?;
            let name = names::from_bytes(self.string(key)?).into_owned();
            let path = names::from_bytes(self.string(value)?).into_owned();
            let hwcaps_subdir = if is_hwcap_extension(hwcap) {
                self.hwcaps_name(hwcap)
            } else {
                None
            };
            Some(CacheEntry {
                flags,
                name,
                path,
                hwcap,
                hwcaps_subdir,
            })
        })
    }

    /// The path the loader takes from the cache for `name`, if any (`search_cache`).
    pub fn lookup(&self, name: &str, cpu: &CpuProfile) -> Option<String> {
        let Layout::Table {
            nlibs, entry_size, ..
        } = self.layout
        else {
            return None;
        };
        let arch = cpu.arch;
        let signed = arch.char_is_signed();
        let want_flags = arch.cache_flags();
        let hwcap_exclude = cpu.cache_hwcap_exclude();
        let platform_mask = cpu.cache_platform_mask();
        let platform_bit = cpu.cache_platform_bit();
        // The cache holds raw bytes; a name that is not UTF-8 is carried (`sysroot::name`).
        let name = names::to_bytes(name);
        let name = &*name;
        let key_cmp = |i: i64| -> Option<i32> {
            let (_, key, _, _) = self.entry_raw(i as usize)?;
            Some(libcmp(name, self.string(key)?, signed))
        };

        let mut left: i64 = 0;
        let mut right: i64 = nlibs as i64 - 1;
        let mut best: Option<&[u8]> = None;
        let mut best_priority = 0u32;
        while left <= right {
            let mut middle = (left + right) / 2;
            let cmpres = key_cmp(middle)?;
            if cmpres == 0 {
                left = middle;
                while middle > 0 {
                    match key_cmp(middle - 1) {
                        Some(0) => middle -= 1,
                        _ => break,
                    }
                }
                loop {
                    'entry: {
                        if middle > left && key_cmp(middle) != Some(0) {
                            return best.map(|b| names::from_bytes(b).into_owned());
                        }
                        let Some((flags, _, value, hwcap)) = self.entry_raw(middle as usize) else {
                            break 'entry;
                        };
                        let Some(path) = self.string(value) else {
                            break 'entry;
                        };
                        if flags != want_flags {
                            break 'entry;
                        }
                        let mut named = false;
                        if entry_size >= ENT_NEW {
                            named = is_hwcap_extension(hwcap);
                            if named && !isa_level_compatible(arch, hwcap, cpu.isa_1) {
                                break 'entry;
                            }
                            if !named && best.is_some() {
                                return best.map(|b| names::from_bytes(b).into_owned());
                            }
                            if hwcap & hwcap_exclude != 0 && !named {
                                break 'entry;
                            }
                            if platform_mask != 0
                                && hwcap & platform_mask != 0
                                && Some(hwcap & platform_mask) != platform_bit
                            {
                                break 'entry;
                            }
                            if named {
                                let prio = self
                                    .hwcaps_name(hwcap)
                                    .map(|n| cpu.hwcaps_priority(&n))
                                    .unwrap_or(0);
                                if prio == 0 {
                                    break 'entry;
                                } else if best.is_none() || prio < best_priority {
                                    best_priority = prio;
                                } else {
                                    break 'entry;
                                }
                            }
                        }
                        best = Some(path);
                        if !named && flags == want_flags {
                            return best.map(|b| names::from_bytes(b).into_owned());
                        }
                    }
                    middle += 1;
                    if middle > right {
                        break;
                    }
                }
                break;
            }
            if cmpres < 0 {
                left = middle + 1;
            } else {
                right = middle - 1;
            }
        }
        best.map(|b| names::from_bytes(b).into_owned())
    }
}

/// Longest string taken from a cache, with its NUL: PATH_MAX. ldconfig writes sonames and
/// paths, never longer. Without a bound, a crafted cache whose entries all point into one
/// long run without a NUL costs (entries x file size): a 1 MiB file took minutes.
const MAX_CACHE_STR: usize = 4096;

/// The NUL-terminated string at `start`, if it ends within [`MAX_CACHE_STR`] bytes.
fn cstr_at(data: &[u8], start: usize) -> Option<&[u8]> {
    let rest = data.get(start..)?;
    let rest = &rest[..rest.len().min(MAX_CACHE_STR)];
    // A vector search (`bytes`); CStr's (core's memchr) is word-at-a-time, and a cache
    // lookup takes a dozen strings.
    crate::bytes::find_byte(0, rest).map(|n| &rest[..n])
}

fn new_matches_endian(flags: u8) -> bool {
    // 0: unknown (accepted); 2: little endian. Both supported arches are little-endian.
    flags == 0 || (flags & 3) == 2
}

fn is_hwcap_extension(hwcap: u64) -> bool {
    ((hwcap >> 32) & !ISA_LEVEL_MASK) == (HWCAP_EXTENSION >> 32)
}

/// x86's `dl_cache_hwcap_isa_level_compatible`; always true elsewhere.
fn isa_level_compatible(arch: Arch, hwcap: u64, isa_1: u32) -> bool {
    match arch {
        Arch::X86_64 => {
            let level = 1u64
                .checked_shl(((hwcap >> 32) & ISA_LEVEL_MASK) as u32)
                .unwrap_or(0);
            level != 0 && (level & isa_1 as u64) == level
        }
        Arch::Aarch64 => true,
    }
}

/// glibc's `_dl_cache_libcmp`: runs of digits compare as numbers (C `int` arithmetic),
/// everything else bytewise as the target's `char`.
pub fn libcmp(p1: &[u8], p2: &[u8], char_signed: bool) -> i32 {
    let ch = |s: &[u8], i: usize| -> i32 {
        let b = s.get(i).copied().unwrap_or(0);
        if char_signed {
            b as i8 as i32
        } else {
            b as i32
        }
    };
    let digit = |s: &[u8], i: usize| s.get(i).is_some_and(|b| b.is_ascii_digit());
    let (mut i, mut j) = (0usize, 0usize);
    while ch(p1, i) != 0 {
        if digit(p1, i) {
            if digit(p2, j) {
                let mut v1: i32 = 0;
                let mut v2: i32 = 0;
                while digit(p1, i) {
                    v1 = v1.wrapping_mul(10).wrapping_add((p1[i] - b'0') as i32);
                    i += 1;
                }
                while digit(p2, j) {
                    v2 = v2.wrapping_mul(10).wrapping_add((p2[j] - b'0') as i32);
                    j += 1;
                }
                if v1 != v2 {
                    return v1.wrapping_sub(v2);
                }
            } else {
                return 1;
            }
        } else if digit(p2, j) {
            return -1;
        } else if ch(p1, i) != ch(p2, j) {
            return ch(p1, i) - ch(p2, j);
        } else {
            i += 1;
            j += 1;
        }
    }
    ch(p1, i) - ch(p2, j)
}

/// Writes a new-format cache (what ldconfig 2.36 writes), for tests and fixtures.
/// `entries`: (name, path, flags, hwcaps subdir). Sorted here as ldconfig sorts.
pub fn write_new_format(entries: &[(&str, &str, i32, Option<&str>)], char_signed: bool) -> Vec<u8> {
    let mut sorted: Vec<_> = entries.to_vec();
    // ldconfig: descending libcmp on the name; hwcaps entries of a name before the others.
    sorted.sort_by(|a, b| {
        libcmp(&names::to_bytes(b.0), &names::to_bytes(a.0), char_signed)
            .cmp(&0)
            .then_with(|| b.3.is_some().cmp(&a.3.is_some()))
    });
    let mut hwcaps: Vec<&str> = entries.iter().filter_map(|e| e.3).collect();
    hwcaps.sort();
    hwcaps.dedup();
    let n = sorted.len();
    let strings_start = HDR_NEW + ENT_NEW * n;
    let mut strtab: Vec<u8> = Vec::new();
    let add = |s: &str, strtab: &mut Vec<u8>| -> u32 {
        let off = (strings_start + strtab.len()) as u32;
        strtab.extend_from_slice(&names::to_bytes(s));
        strtab.push(0);
        off
    };
    let hw_offs: Vec<u32> = hwcaps.iter().map(|h| add(h, &mut strtab)).collect();
    let mut ents = Vec::new();
    for (name, path, flags, sub) in &sorted {
        let k = add(name, &mut strtab);
        let v = add(path, &mut strtab);
        let hwcap = match sub {
            Some(s) => HWCAP_EXTENSION | hwcaps.iter().position(|h| h == s).unwrap() as u64,
            None => 0,
        };
        ents.push((*flags, k, v, hwcap));
    }
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC_NEW);
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out.extend_from_slice(&(strtab.len() as u32).to_le_bytes());
    out.push(2); // little endian
    out.extend_from_slice(&[0; 3]);
    let ext_pos = out.len();
    out.extend_from_slice(&0u32.to_le_bytes()); // extension offset, patched below
    out.extend_from_slice(&[0; 12]);
    for (f, k, v, h) in ents {
        out.extend_from_slice(&f.to_le_bytes());
        out.extend_from_slice(&k.to_le_bytes());
        out.extend_from_slice(&v.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&h.to_le_bytes());
    }
    out.extend_from_slice(&strtab);
    if !hwcaps.is_empty() {
        while out.len() % 4 != 0 {
            out.push(0);
        }
        let ext = out.len() as u32;
        out[ext_pos..ext_pos + 4].copy_from_slice(&ext.to_le_bytes());
        out.extend_from_slice(&EXTENSION_MAGIC.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        let data_off = ext + 8 + 16;
        out.extend_from_slice(&EXT_TAG_GLIBC_HWCAPS.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&data_off.to_le_bytes());
        out.extend_from_slice(&(4 * hw_offs.len() as u32).to_le_bytes());
        for o in hw_offs {
            out.extend_from_slice(&o.to_le_bytes());
        }
    }
    out
}

/// Writes an old-format (libc5 / glibc < 2.2) cache, optionally followed by the new format,
/// for tests of the compatibility layouts.
pub fn write_old_format(
    entries: &[(&str, &str, i32)],
    char_signed: bool,
    with_new: bool,
) -> Vec<u8> {
    let mut sorted: Vec<_> = entries.to_vec();
    sorted
        .sort_by(|a, b| libcmp(&names::to_bytes(b.0), &names::to_bytes(a.0), char_signed).cmp(&0));
    let n = sorted.len();
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC_OLD);
    out.push(0);
    out.extend_from_slice(&(n as u32).to_le_bytes());
    let mut strtab = Vec::new();
    let mut ents = Vec::new();
    for (name, path, flags) in &sorted {
        let k = strtab.len() as u32;
        strtab.extend_from_slice(&names::to_bytes(name));
        strtab.push(0);
        let v = strtab.len() as u32;
        strtab.extend_from_slice(&names::to_bytes(path));
        strtab.push(0);
        // Old entries carry the libc5-era flags (1 = ELF); new ones the arch flags.
        ents.push((if with_new { 1 } else { *flags }, k, v));
    }
    for (f, k, v) in &ents {
        out.extend_from_slice(&f.to_le_bytes());
        out.extend_from_slice(&k.to_le_bytes());
        out.extend_from_slice(&v.to_le_bytes());
    }
    if with_new {
        while out.len() % 8 != 0 {
            out.push(0);
        }
        let new: Vec<(&str, &str, i32, Option<&str>)> =
            entries.iter().map(|e| (e.0, e.1, e.2, None)).collect();
        let mut part = write_new_format(&new, char_signed);
        // The new part's string offsets are relative to its own start: keep them so.
        out.append(&mut part);
        return out;
    }
    out.extend_from_slice(&strtab);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ldso::hwcaps::CpuLevel;

    fn cpu(level: CpuLevel) -> CpuProfile {
        CpuProfile::for_level(Arch::X86_64, level)
    }

    #[test]
    fn libcmp_compares_digit_runs_numerically() {
        assert!(libcmp(b"libfoo.so.10", b"libfoo.so.9", true) > 0);
        assert!(libcmp(b"libfoo.so.9", b"libfoo.so.10", true) < 0);
        assert_eq!(libcmp(b"libc.so.6", b"libc.so.6", true), 0);
        assert!(
            libcmp(b"lib1", b"liba", true) > 0,
            "a digit sorts after a non-digit"
        );
        assert!(
            libcmp(b"\xc3", b"a", true) < 0 && libcmp(b"\xc3", b"a", false) > 0,
            "char signedness"
        );
    }

    /// A name that is not UTF-8 is written as its raw bytes (what ldconfig writes and the
    /// loader compares), and read back, looked up and listed as minroot carries it.
    #[test]
    fn names_that_are_not_utf8_are_raw_bytes_in_the_file() {
        let x = Arch::X86_64.cache_flags();
        let name = names::from_bytes(b"libcaf\xe9.so.1").into_owned();
        let path = names::from_bytes(b"/opt/caf\xe9/libcaf\xe9.so.1").into_owned();
        let data = write_new_format(
            &[
                (&name, &path, x, None),
                ("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", x, None),
            ],
            true,
        );
        let has = |needle: &[u8]| data.windows(needle.len()).any(|w| w == needle);
        assert!(has(b"\0libcaf\xe9.so.1\0/opt/caf\xe9/libcaf\xe9.so.1\0"));
        assert!(!has(name.as_bytes()), "no carrier chars in the file");
        let (c, issue) = LdCache::parse(data);
        assert_eq!(issue, None);
        let p = cpu(CpuLevel::Baseline);
        assert_eq!(c.lookup(&name, &p).as_deref(), Some(path.as_str()));
        let listed: Vec<(String, String)> = c.entries().map(|e| (e.name, e.path)).collect();
        assert!(listed.contains(&(name, path)), "{listed:?}");
    }

    #[test]
    fn new_format_lookup_and_arch_filter() {
        let x = Arch::X86_64.cache_flags();
        let a = Arch::Aarch64.cache_flags();
        let data = write_new_format(
            &[
                ("libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1", x, None),
                ("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", x, None),
                ("libm.so.6", "/lib/aarch64-linux-gnu/libm.so.6", a, None),
                ("libm.so.6", "/lib/x86_64-linux-gnu/libm.so.6", x, None),
            ],
            true,
        );
        let (c, issue) = LdCache::parse(data);
        assert_eq!(issue, None);
        let p = cpu(CpuLevel::Baseline);
        assert_eq!(
            c.lookup("libz.so.1", &p).as_deref(),
            Some("/lib/x86_64-linux-gnu/libz.so.1")
        );
        assert_eq!(
            c.lookup("libm.so.6", &p).as_deref(),
            Some("/lib/x86_64-linux-gnu/libm.so.6")
        );
        assert_eq!(c.lookup("libnope.so", &p), None);
        assert_eq!(c.entries().count(), 4);
    }

    #[test]
    fn cache_of_other_arch_matches_nothing() {
        let a = Arch::Aarch64.cache_flags();
        let (c, _) = LdCache::parse(write_new_format(
            &[("libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6", a, None)],
            false,
        ));
        assert_eq!(c.issue_for(Arch::X86_64), Some(CacheIssue::OtherArch));
        assert_eq!(c.lookup("libc.so.6", &cpu(CpuLevel::X86_64V4)), None);
    }

    #[test]
    fn hwcaps_entries_win_by_priority() {
        let x = Arch::X86_64.cache_flags();
        let data = write_new_format(
            &[
                (
                    "libfoo.so.1",
                    "/usr/lib/glibc-hwcaps/x86-64-v2/libfoo.so.1",
                    x,
                    Some("x86-64-v2"),
                ),
                (
                    "libfoo.so.1",
                    "/usr/lib/glibc-hwcaps/x86-64-v3/libfoo.so.1",
                    x,
                    Some("x86-64-v3"),
                ),
                ("libfoo.so.1", "/usr/lib/libfoo.so.1", x, None),
            ],
            true,
        );
        let (c, _) = LdCache::parse(data);
        assert_eq!(
            c.lookup("libfoo.so.1", &cpu(CpuLevel::X86_64V4)).as_deref(),
            Some("/usr/lib/glibc-hwcaps/x86-64-v3/libfoo.so.1")
        );
        assert_eq!(
            c.lookup("libfoo.so.1", &cpu(CpuLevel::X86_64V2)).as_deref(),
            Some("/usr/lib/glibc-hwcaps/x86-64-v2/libfoo.so.1")
        );
        assert_eq!(
            c.lookup("libfoo.so.1", &cpu(CpuLevel::Baseline)).as_deref(),
            Some("/usr/lib/libfoo.so.1")
        );
        let subdirs: Vec<_> = c.entries().filter_map(|e| e.hwcaps_subdir).collect();
        assert_eq!(subdirs.len(), 2);
    }

    #[test]
    fn old_and_compat_formats() {
        let x = Arch::X86_64.cache_flags();
        let ents = [
            ("libz.so.1", "/usr/lib/libz.so.1", x),
            ("libc.so.6", "/lib/libc.so.6", x),
        ];
        let (old, issue) = LdCache::parse(write_old_format(&ents, true, false));
        assert_eq!(issue, None);
        assert_eq!(
            old.lookup("libz.so.1", &cpu(CpuLevel::Baseline)).as_deref(),
            Some("/usr/lib/libz.so.1")
        );
        let (compat, issue) = LdCache::parse(write_old_format(&ents, true, true));
        assert_eq!(issue, None);
        assert_eq!(
            compat
                .lookup("libc.so.6", &cpu(CpuLevel::Baseline))
                .as_deref(),
            Some("/lib/libc.so.6")
        );
    }

    #[test]
    fn corrupt_caches_are_ignored() {
        for bad in [
            &b""[..],
            b"garbage",
            b"glibc-ld.so.cache1.1",
            b"ld.so-1.7.0\0\xff\xff\xff\xff",
        ] {
            let (c, issue) = LdCache::parse(bad.to_vec());
            assert!(issue.is_some());
            assert_eq!(c.lookup("libc.so.6", &cpu(CpuLevel::Baseline)), None);
        }
        let mut wrong_endian =
            write_new_format(&[("libc.so.6", "/lib/libc.so.6", 0x303, None)], true);
        wrong_endian[28] = 3;
        assert_eq!(
            LdCache::parse(wrong_endian).1,
            Some(CacheIssue::WrongEndian)
        );
    }

    #[test]
    fn r_compat_cache_with_a_huge_new_entry_count_is_cheap() {
        // An old header with no entries, then a new header claiming 2^32 - 1 entries:
        // entries() and issue_for() must look only at what the file holds.
        let mut d = MAGIC_OLD.to_vec();
        d.push(0);
        d.extend_from_slice(&0u32.to_le_bytes());
        d.extend_from_slice(MAGIC_NEW);
        d.extend_from_slice(&u32::MAX.to_le_bytes());
        d.resize(HDR_OLD + HDR_NEW + 2 * ENT_NEW, 0);
        let (c, issue) = LdCache::parse(d);
        assert_eq!(issue, None);
        let start = std::time::Instant::now();
        assert_eq!(c.entries().count(), 2, "only the entries the file holds");
        assert_eq!(c.issue_for(Arch::X86_64), Some(CacheIssue::OtherArch));
        assert_eq!(c.lookup("libc.so.6", &cpu(CpuLevel::Baseline)), None);
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn r_crafted_cache_with_strings_without_nul_is_cheap() {
        // 20000 x86_64 entries whose names and paths all start in one 512 KiB run
        // without a NUL: each string used to be searched to the end of the file.
        let n = 20_000usize;
        let strings = HDR_NEW + ENT_NEW * n;
        let mut d = MAGIC_NEW.to_vec();
        d.extend_from_slice(&(n as u32).to_le_bytes());
        d.extend_from_slice(&(512u32 << 10).to_le_bytes());
        d.push(2);
        d.resize(HDR_NEW, 0);
        for i in 0..n {
            let off = (strings + i) as u32;
            d.extend_from_slice(&Arch::X86_64.cache_flags().to_le_bytes());
            d.extend_from_slice(&off.to_le_bytes());
            d.extend_from_slice(&off.to_le_bytes());
            d.extend_from_slice(&[0; 12]);
        }
        d.resize(strings + (512 << 10), b'a');
        let start = std::time::Instant::now();
        let (c, issue) = LdCache::parse(d);
        assert_eq!(issue, None);
        assert_eq!(c.issue_for(Arch::X86_64), None, "decided by the flags");
        assert_eq!(c.entries().count(), 0, "no string ends within PATH_MAX");
        assert_eq!(c.lookup("libc.so.6", &cpu(CpuLevel::X86_64V3)), None);
        assert_eq!(c.lookup(&"a".repeat(5000), &cpu(CpuLevel::Baseline)), None);
        assert!(
            start.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn reads_this_hosts_cache_if_present() {
        // Cross-checked against `ldconfig -p` in tests/oracle.rs; here only: no panic.
        if let Ok(d) = std::fs::read("/etc/ld.so.cache") {
            let (c, _) = LdCache::parse(d);
            let _ = c.lookup("libc.so.6", &cpu(CpuLevel::X86_64V2));
        }
    }
}
