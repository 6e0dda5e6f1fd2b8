//! File names as minroot carries them: `String`s that keep every byte of a name that is
//! not UTF-8, and the two ways such a name is written for people.
//!
//! A Linux file name is bytes. minroot's paths are `String`s from the root's walk through
//! the closure, the selection, the reasons and problems, to the plan's keys; a name that is
//! not UTF-8 is carried losslessly in them: each byte that is not part of valid UTF-8
//! becomes one *carrier*, the char U+10FF00 + byte (U+10FF80..=U+10FFFF, the end of the
//! last private-use plane), and it becomes that byte again where the name leaves minroot:
//! a host path ([`to_os`], used by `Root::host_path`), a tar header, a rootfs entry
//! ([`to_bytes`]). A valid char that lies in the carrier range is carried as its four
//! UTF-8 bytes, so every byte string has exactly one carried form and comes back from it
//! unchanged (`to_bytes(from_bytes(b)) == b`), as Python's `surrogateescape` does with
//! chars that Rust's `str` allows. `a\xff` is carried as `"a\u{10ffff}"`.
//!
//! Why not a byte path type: paths are `&str` in every stage (the loader's search, the
//! closure, reasons, problems, SBOMs), and a name that is UTF-8, which is every name of a
//! distribution's root, is its own carried form. So the stages need no change, `/` and
//! `.` keep their meaning (carriers are never ASCII), and the layers and SBOMs of UTF-8
//! roots stay byte for byte what they were. The cost: the plan orders a non-UTF-8 name by
//! its carriers (after every other char at that position), not by its raw bytes; the
//! order is still total and reproducible, and parents still come before their children.
//!
//! Text for people never holds a raw carrier: [`shown`] writes each as `\xNN` (JSON,
//! SBOMs, messages; a name that contains the text `\xff` reads the same, so it is for
//! showing, not for reading back), and [`field`] also escapes `\`, tab, newline and every
//! control char, for line formats (`files`, `trace`), so that a name can neither break a
//! tab-separated line nor send an escape sequence to a terminal; `field` can be undone.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fmt::Write;
use std::os::unix::ffi::OsStrExt;

/// The carrier of byte `b` is `char::from_u32(BASE + b)`, for `b` in 0x80..=0xFF.
const BASE: u32 = 0x10_FF00;

/// The byte a carrier stands for.
fn carried(c: char) -> Option<u8> {
    let u = c as u32;
    (BASE + 0x80..=BASE + 0xFF)
        .contains(&u)
        .then(|| (u - BASE) as u8)
}

fn carrier(b: u8) -> char {
    debug_assert!(b >= 0x80);
    char::from_u32(BASE + u32::from(b)).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// Whether `s` holds a carrier (a char in the carrier range). Every such char is encoded
/// starting with the byte 0xF4, which a UTF-8 name almost never holds.
pub fn has_carrier(s: &str) -> bool {
    crate::bytes::find_byte(0xF4, s.as_bytes()).is_some() && s.chars().any(|c| carried(c).is_some())
}

/// The carried form of a name (or path) given as bytes.
pub fn from_bytes(b: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(b)
        && !has_carrier(s)
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(b.len() + 8);
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            if carried(c).is_some() {
                let mut buf = [0u8; 4];
                out.extend(c.encode_utf8(&mut buf).bytes().map(carrier));
            } else {
                out.push(c);
            }
        }
        out.extend(chunk.invalid().iter().copied().map(carrier));
    }
    Cow::Owned(out)
}

/// The carried form of owned bytes (a file of names read whole): bytes that are their
/// own carried form (UTF-8 without a char of the carrier range) become the `String`
/// without a copy.
pub fn from_vec(b: Vec<u8>) -> String {
    match String::from_utf8(b) {
        Ok(s) if !has_carrier(&s) => s,
        Ok(s) => from_bytes(s.as_bytes()).into_owned(),
        Err(e) => from_bytes(e.as_bytes()).into_owned(),
    }
}

/// The carried form of a name the system gave (a directory entry, a link target).
pub fn from_os(s: &OsStr) -> Cow<'_, str> {
    from_bytes(s.as_bytes())
}

/// The bytes a carried name stands for.
pub fn to_bytes(s: &str) -> Cow<'_, [u8]> {
    if !has_carrier(s) {
        return Cow::Borrowed(s.as_bytes());
    }
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        match carried(c) {
            Some(b) => out.push(b),
            None => out.extend_from_slice(c.encode_utf8(&mut [0u8; 4]).as_bytes()),
        }
    }
    Cow::Owned(out)
}

/// The name a carried name stands for, for the file system.
pub fn to_os(s: &str) -> Cow<'_, OsStr> {
    match to_bytes(s) {
        Cow::Borrowed(b) => Cow::Borrowed(OsStr::from_bytes(b)),
        Cow::Owned(v) => Cow::Owned(std::os::unix::ffi::OsStringExt::from_vec(v)),
    }
}

/// Whether the name a carried name stands for is UTF-8 (false: it holds other bytes).
pub fn is_utf8(s: &str) -> bool {
    !has_carrier(s)
}

/// `s` with every carrier written `\xNN` (lowercase hex): for JSON, SBOMs and messages.
pub fn shown(s: &str) -> Cow<'_, str> {
    if !has_carrier(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match carried(c) {
            Some(b) => {
                let _ = write!(out, "\\x{b:02x}");
            }
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// JSON text with every carrier written `\\xNN`, which a JSON string reads as the text
/// `\xNN`, as [`shown`] writes it. For the output of `serde_json`, whose strings are
/// the only place a carrier can be.
pub fn json(text: &str) -> Cow<'_, str> {
    if !has_carrier(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match carried(c) {
            Some(b) => {
                let _ = write!(out, "\\\\x{b:02x}");
            }
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `s` as one field of a line of text: `\` as `\\`, tab, newline and carriage return as
/// `\t`, `\n`, `\r`, other control chars (C0, DEL) and carriers as `\xNN`, C1 control
/// chars as `\u{NN}`; everything else as it is. Reversible, and never a control char.
pub fn field(s: &str) -> Cow<'_, str> {
    // Printable ASCII but `\` is itself, byte by byte: the common case, without decoding
    // chars (it was a twentieth of the time of a `trace` of all of /usr/bin).
    if s.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b'\\') {
        return Cow::Borrowed(s);
    }
    let plain = |c: char| c != '\\' && !c.is_control() && carried(c).is_none();
    if s.chars().all(plain) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if carried(c).is_some() => {
                let _ = write!(out, "\\x{:02x}", carried(c).unwrap_or(0));
            }
            c if c.is_control() && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_utf8_is_its_own_carried_form() {
        for s in ["", "/usr/lib/libz.so.1", "café", "日本", "a\u{10ff7f}b"] {
            assert!(matches!(from_bytes(s.as_bytes()), Cow::Borrowed(x) if x == s));
            assert!(matches!(to_bytes(s), Cow::Borrowed(x) if x == s.as_bytes()));
            assert_eq!(shown(s), s);
        }
    }

    #[test]
    fn name_every_byte_string_comes_back() {
        let cases: &[&[u8]] = &[
            b"a\xff",
            b"\x80",
            b"caf\xe9/x",
            b"\xf4\x8f\xbf\xbf", // U+10FFFF itself, a valid char in the carrier range
            b"\xf4\x8f\xbe\x80 \xf4\x8f", // one in range, then a cut one
            b"\xed\xa0\x80",     // a UTF-16 surrogate: not UTF-8
            b"ok/\xc3\xa9/\xc3",
        ];
        for b in cases {
            let c = from_bytes(b);
            assert_eq!(&*to_bytes(&c), *b, "{b:?} as {c:?}");
            assert!(!is_utf8(&c), "{b:?}");
            assert!(c.contains('/') == b.contains(&b'/'), "slashes are kept");
        }
        // Exhaustively: every two-byte string.
        for x in 0..=255u8 {
            for y in 0..=255u8 {
                let b = [x, y];
                assert_eq!(&*to_bytes(&from_bytes(&b)), &b[..]);
            }
        }
        assert_eq!(from_bytes(b"a\xff"), "a\u{10ffff}");
    }

    #[test]
    fn name_from_vec_is_from_bytes() {
        let cases: &[&[u8]] = &[
            b"",
            b"/usr/lib/libz.so.1",
            b"caf\xe9\n",
            "a\u{10ffe9}".as_bytes(),
        ];
        for b in cases {
            assert_eq!(from_vec(b.to_vec()), from_bytes(b), "{b:?}");
        }
    }

    #[test]
    fn name_shown_and_field() {
        let c = from_bytes(b"a\xff\tb");
        assert_eq!(shown(&c), "a\\xff\tb");
        assert_eq!(field(&c), "a\\xff\\tb");
        assert_eq!(
            field("x\\y\nz\r\u{1b}[31m\u{7f}\u{9b}é"),
            "x\\\\y\\nz\\r\\x1b[31m\\x7f\\u{9b}é"
        );
        assert!(matches!(field("/usr/bin/ls"), Cow::Borrowed(_)));
        let j = serde_json::to_string(&c.as_ref()).unwrap();
        let back: String = serde_json::from_str(&json(&j)).unwrap();
        assert_eq!(back, shown(&c));
    }
}
