//! ELF inspection: bytes in, one owned [`ElfInfo`] out.
//!
//! This is the only module that imports goblin. It parses only what the loader and the
//! hints need: the ELF header, program headers, PT_INTERP, the dynamic section (DT_NEEDED,
//! DT_FILTER, DT_AUXILIARY, DT_SONAME, DT_RPATH, DT_RUNPATH, DT_FLAGS_1), PT_NOTE segments
//! (for `.note.dlopen`), and, only when asked, the imported dynamic symbols. It never looks
//! at relocations or debug data.
//!
//! Input is untrusted: every offset is bounds-checked, every count is limited, and a
//! malformed file is an [`ElfError`], never a panic. The loader's own acceptance test for a
//! candidate library (glibc's `open_verify`) is [`verify_candidate`].
//!
//! This module does no file I/O: it parses bytes in memory ([`inspect`]) or any [`Source`]
//! of random access ([`inspect_source`]). Opening and reading files of the root is
//! `sysroot::read`'s job (its `FileSource` is a [`Source`]); `objects::inspect_path`
//! puts the two together.

mod dlopen_note;
pub mod synth;

pub use dlopen_note::{DlopenNote, Priority, parse_dlopen_json};

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::dynamic::{self, Dyn};
use goblin::elf::header::{self, Header};
use goblin::elf::program_header::{self, ProgramHeader};
use goblin::elf::section_header::{self, SectionHeader};
use goblin::elf::sym::Sym;

/// Limits that keep a hostile file from costing unbounded time or memory.
pub mod limits {
    /// Largest number of dynamic entries read.
    pub const MAX_DYN: usize = 1 << 16;
    /// Longest string (DT_NEEDED, RPATH, ...) accepted.
    pub const MAX_STR: usize = 1 << 16;
    /// Largest number of dynamic symbols read for hints.
    pub const MAX_SYMS: usize = 1 << 20;
    /// Largest total note payload parsed.
    pub const MAX_NOTES: usize = 1 << 20;
    /// Largest total of the strings named by the dynamic section (DT_NEEDED, DT_RPATH,
    /// ...): 65536 DT_NEEDED entries naming one 64 KiB string would otherwise make 4 GiB
    /// of names out of a 1 MiB file.
    pub const MAX_DYN_STRINGS: usize = 1 << 20;
    /// Largest dynamic string table read (bytes).
    pub const MAX_STRTAB: u64 = 64 << 20;
    /// Largest total of imported symbol names read (the same amplification, 2^20 times).
    pub const MAX_IMPORT_STRINGS: usize = 16 << 20;
}

/// Why bytes are not an ELF file minroot can use.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ElfError {
    #[error("not an ELF file")]
    NotElf,
    #[error("truncated ELF file ({0})")]
    Truncated(&'static str),
    #[error("malformed ELF file: {0}")]
    Malformed(String),
}

/// How a dependency entry of the dynamic section is to be loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DepKind {
    /// DT_NEEDED.
    Needed,
    /// DT_FILTER: the filtee must be loadable.
    Filter,
    /// DT_AUXILIARY: the filtee is optional.
    Auxiliary,
    /// Named by the root's /etc/ld.so.preload (loaded before the program's needs).
    Preload,
}

/// One DT_NEEDED/DT_FILTER/DT_AUXILIARY entry, as written in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dep {
    pub kind: DepKind,
    pub name: String,
}

/// What minroot knows about one ELF file. Owned: the bytes can be dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ElfInfo {
    pub class64: bool,
    pub little_endian: bool,
    pub machine: u16,
    /// `e_type` (ET_EXEC = 2, ET_DYN = 3).
    pub e_type: u16,
    /// PT_INTERP.
    pub interp: Option<String>,
    /// True when the file has a PT_DYNAMIC segment.
    pub dynamic: bool,
    /// Dependency entries in the order of the dynamic section (the loader's order).
    pub deps: Vec<Dep>,
    pub soname: Option<String>,
    pub rpath: Option<String>,
    pub runpath: Option<String>,
    /// DT_FLAGS_1 (DF_1_NODEFLIB = 0x800, DF_1_PIE = 0x08000000).
    pub flags_1: u64,
    /// `.note.dlopen` entries (FDO spec).
    pub dlopen: Vec<DlopenNote>,
    /// Notes that could not be parsed (reported as warnings, not errors).
    pub note_errors: Vec<String>,
    /// Undefined (imported) dynamic symbol names, sorted; empty unless asked for.
    pub imports: Vec<String>,
}

pub const ET_EXEC: u16 = 2;
pub const ET_DYN: u16 = 3;
pub const DF_1_NODEFLIB: u64 = 0x800;
pub const DF_1_PIE: u64 = 0x0800_0000;

impl ElfInfo {
    /// Statically linked as the loader means it: no PT_INTERP and nothing to load (no
    /// DT_NEEDED, DT_FILTER or DT_AUXILIARY), so no loader ever runs for it and `ldd` (glibc's
    /// `ld.so --list`) says "statically linked". PT_DYNAMIC does not decide it: a static-pie
    /// (`gcc -static-pie`: ET_DYN with PT_DYNAMIC and DF_1_PIE, no PT_INTERP, no DT_NEEDED)
    /// relocates itself and is static, like a classic ET_EXEC without PT_DYNAMIC. A shared
    /// library that needs nothing is static in this sense too; [`ElfInfo::is_executable`]
    /// tells a program from it. The one definition: the closure and `check` both use it.
    pub fn is_static(&self) -> bool {
        self.interp.is_none() && self.deps.is_empty()
    }
    /// A program rather than a library: ET_EXEC, or a PIE (DF_1_PIE, which the linker sets
    /// on `-pie` and `-static-pie` output; a shared library never has it).
    pub fn is_executable(&self) -> bool {
        self.e_type == ET_EXEC || self.is_pie()
    }
    pub fn nodeflib(&self) -> bool {
        self.flags_1 & DF_1_NODEFLIB != 0
    }
    pub fn is_pie(&self) -> bool {
        self.flags_1 & DF_1_PIE != 0
    }
    /// The DT_RPATH the loader uses: none when DT_RUNPATH is present (glibc drops it).
    pub fn effective_rpath(&self) -> Option<&str> {
        if self.runpath.is_some() {
            None
        } else {
            self.rpath.as_deref()
        }
    }
    /// Whether the file imports `name` (needs `Options::symbols`).
    pub fn imports_symbol(&self, name: &str) -> bool {
        self.imports
            .binary_search_by(|s| s.as_str().cmp(name))
            .is_ok()
    }
}

/// What to parse beyond the loader's needs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Read the imported dynamic symbols (for glibc hints).
    pub symbols: bool,
}

/// The loader's verdict on a candidate file found while searching (glibc `open_verify`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Usable: the right class, byte order and machine.
    Ok,
    /// ELF of the other class (32/64-bit): skipped, the search goes on.
    OtherClass,
    /// ELF for another machine: skipped, the search goes on (Debian's patch).
    OtherMachine,
    /// The loader stops with this error (e.g. "invalid ELF header", "file too short").
    Fatal(String),
}

const EI_NIDENT: usize = 16;
const ELFOSABI_SYSV: u8 = 0;
const ELFOSABI_GNU: u8 = 3;

/// Applies glibc 2.36's `open_verify` (with Debian's machine-mismatch patch) to the first
/// bytes of a candidate: which errors skip the file and which stop the loader.
/// `libc_abi_max` is [`crate::arch::Arch::libc_abi_max`].
pub fn verify_candidate(head: &[u8], machine: u16, libc_abi_max: u8) -> Verdict {
    // The loader wants a 64-bit little-endian object (both supported arches).
    const EHDR64: usize = 64;
    if head.len() < EHDR64 {
        return Verdict::Fatal("file too short".into());
    }
    let ident = &head[..EI_NIDENT];
    let expected_ok = ident[..4] == *b"\x7fELF"
        && ident[header::EI_CLASS] == header::ELFCLASS64
        && ident[header::EI_DATA] == header::ELFDATA2LSB
        && ident[header::EI_VERSION] == 1
        && (ident[header::EI_OSABI] == ELFOSABI_SYSV || ident[header::EI_OSABI] == ELFOSABI_GNU)
        && (ident[8] == 0 || (ident[header::EI_OSABI] == ELFOSABI_GNU && ident[8] < libc_abi_max))
        && ident[9..].iter().all(|&b| b == 0);
    let e_machine = u16::from_le_bytes([head[18], head[19]]);
    if !expected_ok {
        if ident[..4] != *b"\x7fELF" {
            return Verdict::Fatal("invalid ELF header".into());
        }
        if ident[header::EI_CLASS] != header::ELFCLASS64 {
            return Verdict::OtherClass;
        }
        // Debian's unsubmitted-ldso-machine-mismatch: another machine is skipped even if
        // the rest of the identification is off. `elf_machine_matches_host` reads
        // e_machine in the loader's own (little-endian) byte order whatever EI_DATA says,
        // so a big-endian file, even of this machine (0xb700 read for EM_AARCH64), is
        // skipped too: the real x86_64 and aarch64 loaders of glibc 2.36-9 do so.
        if e_machine != machine {
            return Verdict::OtherMachine;
        }
        let msg = if ident[header::EI_DATA] != header::ELFDATA2LSB {
            "ELF file data encoding not little-endian"
        } else if ident[header::EI_VERSION] != 1 {
            "ELF file version ident does not match current one"
        } else if ident[header::EI_OSABI] != ELFOSABI_SYSV
            && ident[header::EI_OSABI] != ELFOSABI_GNU
        {
            "ELF file OS ABI invalid"
        } else if !(ident[8] == 0
            || (ident[header::EI_OSABI] == ELFOSABI_GNU && ident[8] < libc_abi_max))
        {
            "ELF file ABI version invalid"
        } else {
            "nonzero padding in e_ident"
        };
        return Verdict::Fatal(msg.into());
    }
    let e_version = u32::from_le_bytes([head[20], head[21], head[22], head[23]]);
    if e_version != 1 {
        return Verdict::Fatal("ELF file version does not match current one".into());
    }
    if e_machine != machine {
        return Verdict::OtherMachine;
    }
    let e_type = u16::from_le_bytes([head[16], head[17]]);
    if e_type != ET_DYN && e_type != ET_EXEC {
        return Verdict::Fatal("only ET_DYN and ET_EXEC can be loaded".into());
    }
    let phentsize = u16::from_le_bytes([head[54], head[55]]);
    if phentsize != 56 {
        return Verdict::Fatal("ELF file's phentsize not the expected size".into());
    }
    Verdict::Ok
}

/// True when `bytes` start with the ELF magic.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.len() >= 4 && bytes[..4] == *b"\x7fELF"
}

/// Parses the parts of an ELF file minroot needs, from bytes in memory.
pub fn inspect(bytes: &[u8], opts: Options) -> Result<ElfInfo, ElfError> {
    inspect_source(&bytes, opts)
}

/// Random access to the bytes of an ELF file.
pub trait Source {
    /// The file size.
    fn size(&self) -> u64;
    /// `len` bytes at `off`, or None when they are not all in the file.
    fn get(&self, off: u64, len: u64) -> Option<std::borrow::Cow<'_, [u8]>>;
}

impl Source for &[u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }
    fn get(&self, off: u64, len: u64) -> Option<std::borrow::Cow<'_, [u8]>> {
        file_slice(self, off, len).map(std::borrow::Cow::Borrowed)
    }
}

/// Parses from any [`Source`].
pub fn inspect_source(src: &dyn Source, opts: Options) -> Result<ElfInfo, ElfError> {
    let head = src
        .get(0, src.size().min(64))
        .ok_or(ElfError::Truncated("ELF identification"))?;
    if !is_elf(&head) {
        return Err(ElfError::NotElf);
    }
    if head.len() < EI_NIDENT {
        return Err(ElfError::Truncated("ELF identification"));
    }
    let (header, ctx, phdrs) = headers(&head, src)?;
    let is64 = ctx.container == Container::Big;
    let mut info = ElfInfo {
        class64: is64,
        little_endian: ctx.le == Endian::Little,
        machine: header.e_machine,
        e_type: header.e_type,
        ..ElfInfo::default()
    };

    for ph in &phdrs {
        match ph.p_type {
            program_header::PT_INTERP => {
                let raw = src
                    .get(ph.p_offset, ph.p_filesz.min(limits::MAX_STR as u64 + 1))
                    .ok_or(ElfError::Truncated("PT_INTERP"))?;
                let s = cstr(&raw)
                    .ok_or_else(|| ElfError::Malformed("PT_INTERP is not a string".into()))?;
                info.interp = Some(s);
            }
            program_header::PT_NOTE => {
                if ph.p_filesz as usize > limits::MAX_NOTES {
                    continue;
                }
                match src.get(ph.p_offset, ph.p_filesz) {
                    Some(raw) => parse_notes(&raw, ph.p_align, info.little_endian, &mut info),
                    None => info
                        .note_errors
                        .push("PT_NOTE segment lies outside the file".into()),
                }
            }
            _ => {}
        }
    }

    if let Some(dyns) = dynamic_entries(src, &phdrs, ctx)? {
        info.dynamic = true;
        read_dynamic(src, &phdrs, &dyns, &mut info)?;
        if opts.symbols {
            info.imports = read_symbols(src, &header, &phdrs, &dyns, ctx, Symbols::Undefined)?;
        }
    }
    Ok(info)
}

/// The ELF header (from `head`, the file's first bytes), the byte order and class, and
/// the program headers.
fn headers(head: &[u8], src: &dyn Source) -> Result<(Header, Ctx, Vec<ProgramHeader>), ElfError> {
    let header = goblin::elf::Elf::parse_header(head).map_err(|e| classify(e, "ELF header"))?;
    let container = header
        .container()
        .map_err(|e| ElfError::Malformed(e.to_string()))?;
    let endian = header
        .endianness()
        .map_err(|e| ElfError::Malformed(e.to_string()))?;
    let ctx = Ctx::new(container, endian);
    let phentsize = if container == Container::Big { 56 } else { 32 };
    if header.e_phnum > 0 && header.e_phentsize as usize != phentsize {
        return Err(ElfError::Malformed(format!(
            "program header size {} (expected {phentsize})",
            header.e_phentsize
        )));
    }
    let ph_len = (header.e_phnum as u64) * (phentsize as u64);
    let ph_bytes = src
        .get(header.e_phoff, ph_len)
        .ok_or(ElfError::Truncated("program headers"))?;
    let phdrs = ProgramHeader::parse(&ph_bytes, 0, header.e_phnum as usize, ctx)
        .map_err(|e| classify(e, "program headers"))?;
    Ok((header, ctx, phdrs))
}

/// The entries of the PT_DYNAMIC segment, if there is one.
fn dynamic_entries(
    src: &dyn Source,
    phdrs: &[ProgramHeader],
    ctx: Ctx,
) -> Result<Option<Vec<Dyn>>, ElfError> {
    let Some(dynph) = phdrs
        .iter()
        .find(|p| p.p_type == program_header::PT_DYNAMIC)
    else {
        return Ok(None);
    };
    let dynsize = if ctx.container == Container::Big {
        16
    } else {
        8
    };
    if (dynph.p_filesz as usize) / dynsize > limits::MAX_DYN {
        return Err(ElfError::Malformed("dynamic section too large".into()));
    }
    let raw = src
        .get(dynph.p_offset, dynph.p_filesz)
        .ok_or(ElfError::Truncated("dynamic section"))?;
    parse_dyns(&raw, ctx).map(Some)
}

/// The dynamic symbols a file defines for other objects to bind to (global, weak or
/// unique binding, not undefined), sorted: what a program exports with `-rdynamic` for
/// its plugins (CPython's `Py_BytesMain`, Perl's `perl_parse`). Empty for a file without
/// a dynamic section.
pub fn exports(bytes: &[u8]) -> Result<Vec<String>, ElfError> {
    let head = &bytes[..bytes.len().min(64)];
    if !is_elf(head) {
        return Err(ElfError::NotElf);
    }
    if head.len() < EI_NIDENT {
        return Err(ElfError::Truncated("ELF identification"));
    }
    let (header, ctx, phdrs) = headers(head, &bytes)?;
    match dynamic_entries(&bytes, &phdrs, ctx)? {
        Some(dyns) => read_symbols(&bytes, &header, &phdrs, &dyns, ctx, Symbols::Defined),
        None => Ok(Vec::new()),
    }
}

/// The dynamic entries up to DT_NULL (as the loader reads them).
fn parse_dyns(raw: &[u8], ctx: Ctx) -> Result<Vec<Dyn>, ElfError> {
    let is64 = ctx.container == Container::Big;
    let le = ctx.le == Endian::Little;
    let word = |b: &[u8]| -> u64 {
        match (is64, le) {
            (true, true) => u64::from_le_bytes(b.try_into().expect("8 bytes")),
            (true, false) => u64::from_be_bytes(b.try_into().expect("8 bytes")),
            (false, true) => u32::from_le_bytes(b.try_into().expect("4 bytes")) as u64,
            (false, false) => u32::from_be_bytes(b.try_into().expect("4 bytes")) as u64,
        }
    };
    let w = if is64 { 8 } else { 4 };
    let mut out = Vec::with_capacity((raw.len() / (2 * w)).min(64));
    for e in raw.chunks_exact(2 * w) {
        let d = Dyn {
            d_tag: word(&e[..w]),
            d_val: word(&e[w..]),
        };
        let end = d.d_tag == dynamic::DT_NULL;
        out.push(d);
        if end {
            break;
        }
    }
    Ok(out)
}

fn classify(e: goblin::error::Error, what: &'static str) -> ElfError {
    match e {
        goblin::error::Error::Scroll(_) => ElfError::Truncated(what),
        goblin::error::Error::BadMagic(_) => ElfError::NotElf,
        other => ElfError::Malformed(format!("{what}: {other}")),
    }
}

/// `bytes[off..off+len]`, or None when it does not fit.
fn file_slice(bytes: &[u8], off: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(off).ok()?;
    let len = usize::try_from(len).ok()?;
    let end = start.checked_add(len)?;
    bytes.get(start..end)
}

/// A NUL-terminated string at the start of `raw` (or all of `raw` if no NUL), UTF-8 lossy.
fn cstr(raw: &[u8]) -> Option<String> {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    if end > limits::MAX_STR {
        return None;
    }
    Some(String::from_utf8_lossy(&raw[..end]).into_owned())
}

/// Maps a virtual address to a file offset through the PT_LOAD segments.
fn vaddr_to_offset(phdrs: &[ProgramHeader], vaddr: u64) -> Option<u64> {
    phdrs
        .iter()
        .filter(|p| p.p_type == program_header::PT_LOAD)
        .find(|p| vaddr >= p.p_vaddr && vaddr - p.p_vaddr < p.p_filesz)
        .and_then(|p| p.p_offset.checked_add(vaddr - p.p_vaddr))
}

const DYN_STRINGS: (usize, &str) = (limits::MAX_DYN_STRINGS, "1 MiB of dynamic strings");
const IMPORT_STRINGS: (usize, &str) = (limits::MAX_IMPORT_STRINGS, "16 MiB of symbol names");

/// A string table (or the window of it that holds the strings asked for), and how many
/// more bytes of strings may be taken out of it.
struct Strtab<'a> {
    data: std::borrow::Cow<'a, [u8]>,
    /// Table offset of `data[0]`.
    base: u64,
    /// The whole table: (source, file offset, size), to read a string the window cuts off.
    table: Option<(&'a dyn Source, u64, u64)>,
    budget: std::cell::Cell<usize>,
    /// What the budget is for, in the error ("1 MiB of dynamic strings").
    what: &'static str,
}

impl<'a> Strtab<'a> {
    fn new(data: std::borrow::Cow<'a, [u8]>, (budget, what): (usize, &'static str)) -> Strtab<'a> {
        Strtab {
            data,
            base: 0,
            table: None,
            budget: std::cell::Cell::new(budget),
            what,
        }
    }

    fn get(&self, off: u64) -> Result<String, ElfError> {
        let rel = off
            .checked_sub(self.base)
            .and_then(|r| usize::try_from(r).ok());
        let raw: std::borrow::Cow<[u8]> = match (rel.and_then(|r| self.data.get(r..)), self.table) {
            // Inside the window, and terminated there (or the window is the whole table).
            (Some(raw), t)
                if t.is_none() || raw.iter().take(limits::MAX_STR + 1).any(|&b| b == 0) =>
            {
                std::borrow::Cow::Borrowed(raw)
            }
            // Outside the window, or cut off by it: read the string from the table itself,
            // a block first (names are short), all a string may be only when that block
            // holds no NUL.
            (_, Some((src, toff, tsize))) if off < tsize => {
                let len = (tsize - off).min(limits::MAX_STR as u64 + 1);
                let first = len.min(STRTAB_TAIL);
                let block = src
                    .get(toff + off, first)
                    .ok_or(ElfError::Truncated("dynamic string table"))?;
                if first == len || block.contains(&0) {
                    block
                } else {
                    src.get(toff + off, len)
                        .ok_or(ElfError::Truncated("dynamic string table"))?
                }
            }
            _ => {
                return Err(ElfError::Malformed(format!(
                    "string offset {off:#x} outside the string table"
                )));
            }
        };
        // Search MAX_STR + 1 bytes at most: a string table without NULs must not cost
        // (strings x table size). CStr's search is word-at-a-time (core's memchr).
        let window = &raw[..raw.len().min(limits::MAX_STR + 1)];
        let s = match std::ffi::CStr::from_bytes_until_nul(window) {
            Ok(s) => s.to_bytes(),
            Err(_) if raw.len() > limits::MAX_STR => {
                return Err(ElfError::Malformed("string longer than 64 KiB".into()));
            }
            Err(_) => {
                return Err(ElfError::Malformed(
                    "unterminated string in the string table".into(),
                ));
            }
        };
        let left = self
            .budget
            .get()
            .checked_sub(s.len())
            .ok_or_else(|| ElfError::Malformed(format!("more than {} in total", self.what)))?;
        self.budget.set(left);
        Ok(String::from_utf8_lossy(s).into_owned())
    }
}

/// Bytes read past the last string offset asked for (enough for any soname or path).
const STRTAB_TAIL: u64 = 4096;

/// The lowest string offset of `offsets` and the highest one reached from it in steps of
/// at most [`STRTAB_TAIL`]: the window one read brings in. The strings after a larger
/// gap are read one by one ([`Strtab::get`]): libLLVM's DT_SONAME lies 3 MB after its
/// DT_NEEDED names, and one window over both read 3 MB for a few names.
fn first_cluster(offsets: impl Iterator<Item = u64>) -> Option<(u64, u64)> {
    let mut v: Vec<u64> = offsets.collect();
    v.sort_unstable();
    let (&lo, rest) = v.split_first()?;
    let mut hi = lo;
    for &o in rest {
        if o - hi > STRTAB_TAIL {
            break;
        }
        hi = o;
    }
    Some((lo, hi))
}

/// The dynamic string table; with `want` (lowest and highest string offset needed), only
/// the window holding those strings is read.
fn dyn_strtab<'a>(
    src: &'a dyn Source,
    phdrs: &[ProgramHeader],
    dyns: &[Dyn],
    budget: (usize, &'static str),
    want: Option<(u64, u64)>,
) -> Result<Option<Strtab<'a>>, ElfError> {
    let addr = dyns
        .iter()
        .find(|d| d.d_tag == dynamic::DT_STRTAB)
        .map(|d| d.d_val);
    let size = dyns
        .iter()
        .find(|d| d.d_tag == dynamic::DT_STRSZ)
        .map(|d| d.d_val);
    let (Some(addr), Some(size)) = (addr, size) else {
        return Ok(None);
    };
    let off = vaddr_to_offset(phdrs, addr)
        .ok_or_else(|| ElfError::Malformed("DT_STRTAB is not inside a loaded segment".into()))?;
    if size > limits::MAX_STRTAB {
        return Err(ElfError::Malformed(format!(
            "dynamic string table of {size} bytes"
        )));
    }
    // A table running past the end of the file is cut at the end of the file.
    let size = size.min(src.size().saturating_sub(off));
    if src.size() < off {
        return Err(ElfError::Truncated("dynamic string table"));
    }
    let (lo, hi) = match want {
        Some((lo, hi)) if lo < size => (lo, hi.saturating_add(STRTAB_TAIL).min(size)),
        Some(_) => (0, 0),
        None => (0, size),
    };
    let data = src
        .get(off + lo, hi - lo)
        .ok_or(ElfError::Truncated("dynamic string table"))?;
    let mut t = Strtab::new(data, budget);
    t.base = lo;
    if (lo, hi) != (0, size) {
        t.table = Some((src, off, size));
    }
    Ok(Some(t))
}

fn read_dynamic(
    src: &dyn Source,
    phdrs: &[ProgramHeader],
    dyns: &[Dyn],
    info: &mut ElfInfo,
) -> Result<(), ElfError> {
    let needs_strings = dyns.iter().any(|d| {
        matches!(
            d.d_tag,
            dynamic::DT_NEEDED | dynamic::DT_SONAME | dynamic::DT_RPATH | dynamic::DT_RUNPATH
        ) || d.d_tag == DT_FILTER
            || d.d_tag == DT_AUXILIARY
    });
    let offsets = dyns
        .iter()
        .take_while(|d| d.d_tag != dynamic::DT_NULL)
        .filter(|d| is_string_tag(d.d_tag))
        .map(|d| d.d_val);
    let want = first_cluster(offsets);
    let strtab = if needs_strings {
        dyn_strtab(src, phdrs, dyns, DYN_STRINGS, want)?
    } else {
        None
    };
    if needs_strings && strtab.is_none() {
        return Err(ElfError::Malformed(
            "dynamic section names strings but has no DT_STRTAB/DT_STRSZ".into(),
        ));
    }
    for d in dyns {
        let tag = d.d_tag;
        if tag == dynamic::DT_NULL {
            break;
        }
        let st = match &strtab {
            Some(s) => s,
            None => {
                if tag == dynamic::DT_FLAGS_1 {
                    info.flags_1 = d.d_val;
                }
                continue;
            }
        };
        match tag {
            dynamic::DT_NEEDED => info.deps.push(Dep {
                kind: DepKind::Needed,
                name: st.get(d.d_val)?,
            }),
            DT_FILTER => info.deps.push(Dep {
                kind: DepKind::Filter,
                name: st.get(d.d_val)?,
            }),
            DT_AUXILIARY => info.deps.push(Dep {
                kind: DepKind::Auxiliary,
                name: st.get(d.d_val)?,
            }),
            // The loader keeps the last entry of each tag (get_dynamic_info overwrites).
            dynamic::DT_SONAME => info.soname = Some(st.get(d.d_val)?),
            dynamic::DT_RPATH => info.rpath = Some(st.get(d.d_val)?),
            dynamic::DT_RUNPATH => info.runpath = Some(st.get(d.d_val)?),
            dynamic::DT_FLAGS_1 => info.flags_1 = d.d_val,
            _ => {}
        }
    }
    Ok(())
}

/// Dynamic tags whose value is a string table offset (the ones minroot reads).
fn is_string_tag(tag: u64) -> bool {
    matches!(
        tag,
        dynamic::DT_NEEDED
            | dynamic::DT_SONAME
            | dynamic::DT_RPATH
            | dynamic::DT_RUNPATH
            | DT_FILTER
            | DT_AUXILIARY
    )
}

const DT_FILTER: u64 = 0x7fff_ffff;
const DT_AUXILIARY: u64 = 0x7fff_fffd;

/// Which dynamic symbols [`read_symbols`] returns.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Symbols {
    /// Undefined: what the file imports.
    Undefined,
    /// Defined with a binding other objects can bind to (STB_GLOBAL, STB_WEAK,
    /// STB_GNU_UNIQUE): what it exports.
    Defined,
}

impl Symbols {
    fn wants(self, s: &Sym) -> bool {
        let undefined = s.st_shndx == section_header::SHN_UNDEF as usize;
        match self {
            Symbols::Undefined => undefined,
            Symbols::Defined => {
                !undefined
                    && matches!(
                        s.st_bind(),
                        goblin::elf::sym::STB_GLOBAL
                            | goblin::elf::sym::STB_WEAK
                            | goblin::elf::sym::STB_GNU_UNIQUE
                    )
            }
        }
    }
}

/// Reads the names of the dynamic symbols `which` asks for, from the `.dynsym` section
/// when the file has section headers, otherwise from DT_SYMTAB sized by DT_HASH or
/// DT_GNU_HASH. Only those tables are read (the section headers, the symbols, their
/// string table), with a few positioned reads: the file is not mapped.
fn read_symbols(
    src: &dyn Source,
    header: &Header,
    phdrs: &[ProgramHeader],
    dyns: &[Dyn],
    ctx: Ctx,
    which: Symbols,
) -> Result<Vec<String>, ElfError> {
    let symsize = if ctx.container == Container::Big {
        24
    } else {
        16
    };
    let mut table: Option<(u64, usize, Strtab)> = None;

    let shentsize = if ctx.container == Container::Big {
        64
    } else {
        40
    };
    // e_shoff 0: no section headers (goblin's `parse` reads it so too).
    if header.e_shnum > 0 && header.e_shoff != 0 && header.e_shentsize as usize == shentsize {
        let len = header.e_shnum as u64 * shentsize as u64;
        if let Some(raw) = src.get(header.e_shoff, len)
            // `parse_from`: `parse` takes offset 0 (in `raw`) for "no section headers".
            && let Ok(shdrs) = SectionHeader::parse_from(&raw, 0, header.e_shnum as usize, ctx)
            && let Some(ds) = shdrs
                .iter()
                .find(|s| s.sh_type == section_header::SHT_DYNSYM)
            && let Some(strsec) = shdrs.get(ds.sh_link as usize)
            && strsec.sh_size <= limits::MAX_STRTAB
            && let Some(data) = src.get(strsec.sh_offset, strsec.sh_size)
        {
            let count = (ds.sh_size / symsize as u64) as usize;
            table = Some((ds.sh_offset, count, Strtab::new(data, IMPORT_STRINGS)));
        }
    }
    if table.is_none() {
        let Some(st) = dyn_strtab(src, phdrs, dyns, IMPORT_STRINGS, None)? else {
            return Ok(Vec::new());
        };
        let Some(symtab) = dyns
            .iter()
            .find(|d| d.d_tag == dynamic::DT_SYMTAB)
            .and_then(|d| vaddr_to_offset(phdrs, d.d_val))
        else {
            return Ok(Vec::new());
        };
        let count = dyns
            .iter()
            .find(|d| d.d_tag == dynamic::DT_HASH)
            .and_then(|d| vaddr_to_offset(phdrs, d.d_val))
            // nchain; `off` may be near u64::MAX (a PT_LOAD with a huge p_offset).
            .and_then(|off| read_u32(src, off.checked_add(4)?, ctx.le))
            .map(|n| n as usize)
            .or_else(|| {
                let (n, hashed) = dyns
                    .iter()
                    .find(|d| d.d_tag == dynamic::DT_GNU_HASH)
                    .and_then(|d| vaddr_to_offset(phdrs, d.d_val))
                    .and_then(|off| gnu_hash_symcount(src, off, ctx))?;
                if hashed {
                    return Some(n);
                }
                // A table that hashes nothing bounds nothing: aarch64's ld writes
                // symoffset 1 for a program that exports nothing, all its imports after
                // it. The symbols are then those that lie before the string table.
                Some(n.max(symbols_before_strings(
                    src, phdrs, dyns, symtab, symsize, ctx,
                )))
            })
            .unwrap_or(0);
        table = Some((symtab, count, st));
    }
    let (off, count, strtab) = table.expect("set above");
    let count = count.min(limits::MAX_SYMS);
    let max_fit = src.size().saturating_sub(off) / symsize as u64;
    let count = count.min(max_fit as usize);
    if count == 0 {
        return Ok(Vec::new());
    }
    let raw = src
        .get(off, (count * symsize) as u64)
        .ok_or(ElfError::Truncated("dynamic symbols"))?;
    let syms = Sym::parse(&raw, 0, count, ctx).map_err(|e| classify(e, "dynamic symbols"))?;
    let mut out: Vec<String> = syms
        .iter()
        .filter(|s| which.wants(s) && s.st_name != 0)
        .map(|s| strtab.get(s.st_name as u64))
        .collect::<Result<_, _>>()?;
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn read_u32(src: &dyn Source, off: u64, le: Endian) -> Option<u32> {
    let s = src.get(off, 4)?;
    Some(u32_at(&s, 0, le))
}

/// The u32 at `at` of `b`, which holds it.
fn u32_at(b: &[u8], at: usize, le: Endian) -> u32 {
    let a = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if le == Endian::Little {
        u32::from_le_bytes(a)
    } else {
        u32::from_be_bytes(a)
    }
}

/// The number of well-formed symbols at `symtab` (file offset) that lie before the
/// string table, when it follows them (GNU ld puts `.dynstr` right after `.dynsym`):
/// each names a string inside DT_STRSZ, and the count stops at the first that does not.
/// 0 when the string table does not follow the symbols.
fn symbols_before_strings(
    src: &dyn Source,
    phdrs: &[ProgramHeader],
    dyns: &[Dyn],
    symtab: u64,
    symsize: usize,
    ctx: Ctx,
) -> usize {
    let tag = |t: u64| dyns.iter().find(|d| d.d_tag == t).map(|d| d.d_val);
    let (Some(strtab), Some(strsz)) = (
        tag(dynamic::DT_STRTAB).and_then(|v| vaddr_to_offset(phdrs, v)),
        tag(dynamic::DT_STRSZ),
    ) else {
        return 0;
    };
    let n = (strtab.saturating_sub(symtab) / symsize as u64).min(limits::MAX_SYMS as u64);
    let Some(raw) = src.get(symtab, n * symsize as u64) else {
        return 0;
    };
    let Ok(syms) = Sym::parse(&raw, 0, n as usize, ctx) else {
        return 0;
    };
    syms.iter()
        .take_while(|s| s.st_name == 0 || (s.st_name as u64) < strsz)
        .count()
}

/// Number of dynamic symbols implied by a DT_GNU_HASH table: one past the highest symbol
/// index reached through the buckets and chains, and whether any symbol is hashed (when
/// none is, the count is symoffset, which bounds nothing). The buckets are read at once,
/// the chain in blocks.
fn gnu_hash_symcount(src: &dyn Source, off: u64, ctx: Ctx) -> Option<(usize, bool)> {
    let le = ctx.le;
    let head = src.get(off, 12)?;
    let nbuckets = u32_at(&head, 0, le) as u64;
    let symoffset = u32_at(&head, 4, le) as u64;
    let bloom_size = u32_at(&head, 8, le) as u64;
    let word = if ctx.container == Container::Big {
        8
    } else {
        4
    };
    let buckets = off + 16 + bloom_size.checked_mul(word)?;
    if nbuckets > (1 << 24) {
        return None;
    }
    let table = src.get(buckets, 4 * nbuckets)?;
    let max = table
        .chunks_exact(4)
        .map(|c| u32_at(c, 0, le) as u64)
        .max()
        .unwrap_or(0);
    if max < symoffset {
        return Some((symoffset as usize, false));
    }
    let chains = buckets + 4 * nbuckets;
    // Walk the chain of the highest bucket to its end (the low bit marks the last entry).
    const BLOCK: u64 = 1024;
    let mut idx = max;
    while idx < max + limits::MAX_SYMS as u64 {
        let at = chains.checked_add(4 * (idx - symoffset))?;
        let n = BLOCK.min(src.size().saturating_sub(at) / 4);
        let block = src.get(at, 4 * n).filter(|_| n > 0)?;
        for c in block.chunks_exact(4) {
            if u32_at(c, 0, le) & 1 == 1 {
                return Some((idx as usize + 1, true));
            }
            idx += 1;
            if idx >= max + limits::MAX_SYMS as u64 {
                return None;
            }
        }
    }
    None
}

/// Owner and type of a `.note.dlopen` note (FDO spec).
const NOTE_DLOPEN_OWNER: &[u8] = b"FDO";
const NOTE_DLOPEN_TYPE: u32 = 0x407c_0c0a;

fn parse_notes(raw: &[u8], p_align: u64, le: bool, info: &mut ElfInfo) {
    let align = if p_align == 8 { 8 } else { 4 };
    let rd = |o: usize| -> Option<u32> {
        let s = raw.get(o..o + 4)?;
        let a = [s[0], s[1], s[2], s[3]];
        Some(if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    };
    let up = |n: usize| n.checked_add(align - 1).map(|v| v & !(align - 1));
    let mut off = 0usize;
    while off + 12 <= raw.len() {
        let (Some(namesz), Some(descsz), Some(ntype)) = (rd(off), rd(off + 4), rd(off + 8)) else {
            return;
        };
        let name_off = off + 12;
        let Some(desc_off) = up(name_off + namesz as usize) else {
            return;
        };
        let Some(next) = desc_off.checked_add(descsz as usize).and_then(up) else {
            return;
        };
        let (Some(name), Some(desc)) = (
            raw.get(name_off..name_off + namesz as usize),
            raw.get(desc_off..desc_off + descsz as usize),
        ) else {
            info.note_errors
                .push("note extends past its segment".into());
            return;
        };
        let name = name.strip_suffix(b"\0").unwrap_or(name);
        if name == NOTE_DLOPEN_OWNER && ntype == NOTE_DLOPEN_TYPE {
            let end = desc.iter().position(|&b| b == 0).unwrap_or(desc.len());
            match parse_dlopen_json(&desc[..end]) {
                Ok(mut v) => info.dlopen.append(&mut v),
                Err(e) => info.note_errors.push(format!(".note.dlopen: {e}")),
            }
        }
        if next <= off {
            return;
        }
        off = next;
    }
}

#[cfg(test)]
mod tests;
