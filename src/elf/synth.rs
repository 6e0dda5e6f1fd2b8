//! A small ELF writer for tests, fuzz seeds and benchmarks.
//!
//! It builds 64-bit objects that are complete enough for the real glibc loader to map in
//! `LD_TRACE_LOADED_OBJECTS` mode (one PT_LOAD, PT_PHDR, PT_INTERP, PT_DYNAMIC with a string
//! table, a symbol table and a DT_HASH), so a fake root made of them can be traced both by
//! minroot and by the root's own ld.so. It holds no code: the programs cannot run, only be
//! listed. Not used by the minroot command itself.

use super::DepKind;

/// Description of one synthetic ELF file.
#[derive(Clone, Debug)]
pub struct Synth {
    pub machine: u16,
    /// False writes a bare 32-bit header (enough for the loader to skip the file).
    pub class64: bool,
    pub big_endian: bool,
    /// ET_DYN (3) or ET_EXEC (2).
    pub e_type: u16,
    pub interp: Option<String>,
    pub deps: Vec<(DepKind, String)>,
    pub soname: Option<String>,
    pub rpath: Option<String>,
    pub runpath: Option<String>,
    pub flags_1: u64,
    /// Undefined dynamic symbols.
    pub imports: Vec<String>,
    /// Defined (exported) dynamic symbols, global functions at address 0.
    pub exports: Vec<String>,
    /// Payloads of `.note.dlopen` notes (JSON text).
    pub dlopen_notes: Vec<String>,
    /// Emit section headers (.dynsym, .dynstr, .shstrtab).
    pub section_headers: bool,
}

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const PT_NOTE: u32 = 4;
const PT_PHDR: u32 = 6;
const PT_GNU_STACK: u32 = 0x6474_e551;

impl Synth {
    /// A shared library for `machine` with a DT_SONAME.
    pub fn lib(machine: u16, soname: &str) -> Synth {
        Synth {
            machine,
            class64: true,
            big_endian: false,
            e_type: 3,
            interp: None,
            deps: Vec::new(),
            soname: Some(soname.to_string()),
            rpath: None,
            runpath: None,
            flags_1: 0,
            imports: Vec::new(),
            exports: Vec::new(),
            dlopen_notes: Vec::new(),
            section_headers: true,
        }
    }

    /// A dynamically linked PIE executable with the given interpreter.
    pub fn exe(machine: u16, interp: &str) -> Synth {
        Synth {
            interp: Some(interp.to_string()),
            soname: None,
            flags_1: super::DF_1_PIE,
            ..Synth::lib(machine, "")
        }
    }

    pub fn needs(mut self, name: &str) -> Self {
        self.deps.push((DepKind::Needed, name.to_string()));
        self
    }
    pub fn filter(mut self, name: &str) -> Self {
        self.deps.push((DepKind::Filter, name.to_string()));
        self
    }
    pub fn auxiliary(mut self, name: &str) -> Self {
        self.deps.push((DepKind::Auxiliary, name.to_string()));
        self
    }
    pub fn rpath(mut self, p: &str) -> Self {
        self.rpath = Some(p.to_string());
        self
    }
    pub fn runpath(mut self, p: &str) -> Self {
        self.runpath = Some(p.to_string());
        self
    }
    pub fn no_soname(mut self) -> Self {
        self.soname = None;
        self
    }
    pub fn flags_1(mut self, f: u64) -> Self {
        self.flags_1 |= f;
        self
    }
    pub fn imports(mut self, names: &[&str]) -> Self {
        self.imports.extend(names.iter().map(|s| s.to_string()));
        self
    }
    pub fn exports(mut self, names: &[&str]) -> Self {
        self.exports.extend(names.iter().map(|s| s.to_string()));
        self
    }
    pub fn dlopen_note(mut self, json: &str) -> Self {
        self.dlopen_notes.push(json.to_string());
        self
    }

    /// Serialises the file.
    pub fn build(&self) -> Vec<u8> {
        if !self.class64 {
            return self.build_elf32_stub();
        }
        let mut w = W {
            buf: Vec::new(),
            be: self.big_endian,
        };
        let base: u64 = if self.e_type == 2 { 0x40_0000 } else { 0 };

        // Strings.
        let mut dynstr = vec![0u8];
        let mut add_str = |s: &str| -> u64 {
            let off = dynstr.len() as u64;
            dynstr.extend_from_slice(s.as_bytes());
            dynstr.push(0);
            off
        };
        let dep_offs: Vec<(DepKind, u64)> =
            self.deps.iter().map(|(k, n)| (*k, add_str(n))).collect();
        let soname_off = self
            .soname
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(&mut add_str);
        let rpath_off = self.rpath.as_deref().map(&mut add_str);
        let runpath_off = self.runpath.as_deref().map(&mut add_str);
        let import_offs: Vec<u64> = self.imports.iter().map(|s| add_str(s)).collect();
        let export_offs: Vec<u64> = self.exports.iter().map(|s| add_str(s)).collect();

        let mut phnum = 4; // PHDR, LOAD, DYNAMIC, GNU_STACK
        if self.interp.is_some() {
            phnum += 1;
        }
        if !self.dlopen_notes.is_empty() {
            phnum += 1;
        }
        let phoff = 64u64;
        let mut off = phoff + 56 * phnum as u64;
        let interp_off = off;
        if let Some(i) = &self.interp {
            off += i.len() as u64 + 1;
        }
        let dynstr_off = off;
        off += dynstr.len() as u64;
        off = align(off, 8);
        let dynsym_off = off;
        let nsyms = 1 + import_offs.len() as u64 + export_offs.len() as u64;
        off += 24 * nsyms;
        off = align(off, 4);
        let hash_off = off;
        off += 4 * (2 + 1 + nsyms);
        off = align(off, 4);
        let notes_off = off;
        let mut notes = Vec::new();
        for n in &self.dlopen_notes {
            let mut desc = n.as_bytes().to_vec();
            desc.push(0);
            let mut nw = W {
                buf: Vec::new(),
                be: self.big_endian,
            };
            nw.u32(4);
            nw.u32(desc.len() as u32);
            nw.u32(0x407c_0c0a);
            nw.buf.extend_from_slice(b"FDO\0");
            nw.buf.extend_from_slice(&desc);
            while !nw.buf.len().is_multiple_of(4) {
                nw.buf.push(0);
            }
            notes.extend_from_slice(&nw.buf);
        }
        off += notes.len() as u64;
        off = align(off, 8);
        let dyn_off = off;
        let mut dyns: Vec<(u64, u64)> = Vec::new();
        for (k, o) in &dep_offs {
            let tag = match k {
                // Preloads are not in ELF files: a synthetic one is written as DT_NEEDED.
                DepKind::Needed | DepKind::Preload => 1,
                DepKind::Filter => 0x7fff_ffff,
                DepKind::Auxiliary => 0x7fff_fffd,
            };
            dyns.push((tag, *o));
        }
        if let Some(o) = soname_off {
            dyns.push((14, o));
        }
        if let Some(o) = rpath_off {
            dyns.push((15, o));
        }
        if let Some(o) = runpath_off {
            dyns.push((29, o));
        }
        if self.flags_1 != 0 {
            dyns.push((0x6fff_fffb, self.flags_1));
        }
        dyns.push((4, base + hash_off)); // DT_HASH
        dyns.push((5, base + dynstr_off)); // DT_STRTAB
        dyns.push((6, base + dynsym_off)); // DT_SYMTAB
        dyns.push((10, dynstr.len() as u64)); // DT_STRSZ
        dyns.push((11, 24)); // DT_SYMENT
        dyns.push((0, 0));
        off += 16 * dyns.len() as u64;
        let shstrtab: &[u8] = b"\0.dynsym\0.dynstr\0.shstrtab\0";
        let shstr_off = off;
        off += shstrtab.len() as u64;
        off = align(off, 8);
        let shoff = if self.section_headers { off } else { 0 };
        let shnum: u16 = if self.section_headers { 4 } else { 0 };
        let total = off + if self.section_headers { 64 * 4 } else { 0 };

        // ELF header.
        w.buf.extend_from_slice(b"\x7fELF");
        w.buf.push(2); // ELFCLASS64
        w.buf.push(if self.big_endian { 2 } else { 1 });
        w.buf.push(1); // EV_CURRENT
        w.buf.push(0); // ELFOSABI_SYSV
        w.buf.extend_from_slice(&[0; 8]);
        w.u16(self.e_type);
        w.u16(self.machine);
        w.u32(1);
        w.u64(base); // e_entry: no code, never run
        w.u64(phoff);
        w.u64(shoff);
        w.u32(0);
        w.u16(64);
        w.u16(56);
        w.u16(phnum);
        w.u16(64);
        w.u16(shnum);
        w.u16(if self.section_headers { 3 } else { 0 });

        // Program headers.
        w.phdr(PT_PHDR, 4, phoff, base + phoff, 56 * phnum as u64, 8);
        if let Some(i) = &self.interp {
            w.phdr(
                PT_INTERP,
                4,
                interp_off,
                base + interp_off,
                i.len() as u64 + 1,
                1,
            );
        }
        w.phdr(PT_LOAD, 6, 0, base, total, 0x1000);
        w.phdr(
            PT_DYNAMIC,
            6,
            dyn_off,
            base + dyn_off,
            16 * dyns.len() as u64,
            8,
        );
        if !notes.is_empty() {
            w.phdr(
                PT_NOTE,
                4,
                notes_off,
                base + notes_off,
                notes.len() as u64,
                4,
            );
        }
        w.phdr(PT_GNU_STACK, 6, 0, 0, 0, 16);

        if let Some(i) = &self.interp {
            w.buf.extend_from_slice(i.as_bytes());
            w.buf.push(0);
        }
        w.buf.extend_from_slice(&dynstr);
        w.pad_to(dynsym_off);
        w.buf.extend_from_slice(&[0; 24]);
        for o in &import_offs {
            w.u32(*o as u32); // st_name
            w.buf.push(0x12); // STB_GLOBAL, STT_FUNC
            w.buf.push(0);
            w.u16(0); // SHN_UNDEF
            w.u64(0);
            w.u64(0);
        }
        for o in &export_offs {
            w.u32(*o as u32); // st_name
            w.buf.push(0x12); // STB_GLOBAL, STT_FUNC
            w.buf.push(0);
            w.u16(1); // defined (in the first section)
            w.u64(0);
            w.u64(0);
        }
        w.pad_to(hash_off);
        w.u32(1);
        w.u32(nsyms as u32);
        w.u32(0);
        for _ in 0..nsyms {
            w.u32(0);
        }
        w.pad_to(notes_off);
        w.buf.extend_from_slice(&notes);
        w.pad_to(dyn_off);
        for (t, v) in &dyns {
            w.u64(*t);
            w.u64(*v);
        }
        w.pad_to(shstr_off);
        w.buf.extend_from_slice(shstrtab);
        if !self.section_headers {
            w.pad_to(total);
        } else {
            w.pad_to(shoff);
            w.buf.extend_from_slice(&[0; 64]);
            w.shdr(
                1,
                11,
                2,
                base + dynsym_off,
                dynsym_off,
                24 * nsyms,
                2,
                1,
                8,
                24,
            );
            w.shdr(
                9,
                3,
                2,
                base + dynstr_off,
                dynstr_off,
                dynstr.len() as u64,
                0,
                0,
                1,
                0,
            );
            w.shdr(17, 3, 0, 0, shstr_off, shstrtab.len() as u64, 0, 0, 1, 0);
        }
        debug_assert_eq!(w.buf.len() as u64, total);
        w.buf
    }

    fn build_elf32_stub(&self) -> Vec<u8> {
        let mut w = W {
            buf: Vec::new(),
            be: self.big_endian,
        };
        w.buf.extend_from_slice(b"\x7fELF");
        w.buf.push(1); // ELFCLASS32
        w.buf.push(if self.big_endian { 2 } else { 1 });
        w.buf.push(1);
        w.buf.push(0);
        w.buf.extend_from_slice(&[0; 8]);
        w.u16(self.e_type);
        w.u16(self.machine);
        w.u32(1);
        w.buf.resize(128, 0);
        w.buf
    }
}

fn align(v: u64, a: u64) -> u64 {
    v.div_ceil(a) * a
}

struct W {
    buf: Vec<u8>,
    be: bool,
}

impl W {
    fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
    fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
    fn pad_to(&mut self, off: u64) {
        assert!(self.buf.len() as u64 <= off, "layout overlap");
        self.buf.resize(off as usize, 0);
    }
    fn phdr(&mut self, ty: u32, flags: u32, off: u64, vaddr: u64, size: u64, align: u64) {
        self.u32(ty);
        self.u32(flags);
        self.u64(off);
        self.u64(vaddr);
        self.u64(vaddr);
        self.u64(size);
        self.u64(size);
        self.u64(align);
    }
    #[allow(clippy::too_many_arguments)]
    fn shdr(
        &mut self,
        name: u32,
        ty: u32,
        flags: u64,
        addr: u64,
        off: u64,
        size: u64,
        link: u32,
        info: u32,
        align: u64,
        entsize: u64,
    ) {
        self.u32(name);
        self.u32(ty);
        self.u64(flags);
        self.u64(addr);
        self.u64(off);
        self.u64(size);
        self.u32(link);
        self.u32(info);
        self.u64(align);
        self.u64(entsize);
    }
}
