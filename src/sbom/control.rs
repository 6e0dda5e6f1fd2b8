//! Debian control-file syntax (deb822): paragraphs of `Name: value` fields separated by
//! blank lines, with continuation lines that start with a space or a tab. Used for dpkg's
//! `status`, the distroless `status.d/<pkg>` files and DEP-5 copyright files. Parsing and
//! writing only; what the fields mean is `dpkg.rs`'s and `license.rs`'s job.
//!
//! A paragraph written by [`Paragraph::write`] parses back to the same fields, so a
//! `status.d` entry that minroot writes reads exactly like the root's status paragraph:
//!
//! ```text
//! Package: libc6            <- Field { name: "Package", value: "libc6", cont: [] }
//! Conffiles:                <- Field { name: "Conffiles", value: "",
//!  /etc/ld.so.conf 4a3f...                   cont: [" /etc/ld.so.conf 4a3f..."] }
//! Description: GNU C Library
//!  Contains the standard libraries ...
//!  .                        <- an empty line of a long description, kept as written
//! ```

/// One field: its name as written, the value on the first line (trimmed) and the
/// continuation lines exactly as written (each starts with a space or a tab).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub value: String,
    pub cont: Vec<String>,
}

/// One paragraph, fields in file order, with the 1-based line it starts on.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Paragraph {
    pub fields: Vec<Field>,
    pub line: usize,
}

/// A line that is neither a field, a continuation nor a separator.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {why}")]
pub struct ControlError {
    pub line: usize,
    pub why: String,
}

impl Paragraph {
    /// The first-line value of a field (names compare case-insensitively, as dpkg does).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.field(name).map(|f| f.value.as_str())
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The paragraph in control syntax, ending with a newline (no blank line after it).
    pub fn write(&self) -> String {
        let mut s = String::new();
        for f in &self.fields {
            s.push_str(&f.name);
            s.push(':');
            if !f.value.is_empty() {
                s.push(' ');
                s.push_str(&f.value);
            }
            s.push('\n');
            for c in &f.cont {
                s.push_str(c);
                s.push('\n');
            }
        }
        s
    }
}

/// Whether a line separates paragraphs: empty, or only spaces and tabs (Debian policy 5.1
/// lets parsers accept the latter).
fn is_blank(line: &str) -> bool {
    line.bytes().all(|b| b == b' ' || b == b'\t')
}

/// Parses every paragraph of `text`. Comment lines (`#` in column 0) are skipped, as in
/// debian/control; dpkg's own files have none.
pub fn parse(text: &str) -> Result<Vec<Paragraph>, ControlError> {
    let mut out = Vec::new();
    let mut cur = Paragraph::default();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let n = i + 1;
        if is_blank(line) {
            if !cur.fields.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            match cur.fields.last_mut() {
                Some(f) => f.cont.push(line.to_string()),
                None => {
                    return Err(ControlError {
                        line: n,
                        why: "a continuation line before any field".into(),
                    });
                }
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ControlError {
                line: n,
                why: format!("{:?} is not `Name: value`", truncate(line)),
            });
        };
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(ControlError {
                line: n,
                why: format!("bad field name {:?}", truncate(name)),
            });
        }
        if cur.fields.is_empty() {
            cur.line = n;
        }
        cur.fields.push(Field {
            name: name.to_string(),
            value: value.trim().to_string(),
            cont: Vec::new(),
        });
    }
    if !cur.fields.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_lines_and_empty_first_values() {
        let t = "Package: libc6\nStatus: install ok installed\nConffiles:\n /etc/ld.so.conf abc\n /etc/x def obsolete\nDescription: GNU C Library\n Long text\n .\n more\n";
        let p = parse(t).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].get("package"), Some("libc6"));
        let c = p[0].field("Conffiles").unwrap();
        assert_eq!(c.value, "");
        assert_eq!(c.cont, [" /etc/ld.so.conf abc", " /etc/x def obsolete"]);
        assert_eq!(p[0].field("Description").unwrap().cont.len(), 3);
        assert_eq!(p[0].write(), t, "writes back byte for byte");
    }

    #[test]
    fn paragraphs_split_on_blank_and_whitespace_only_lines() {
        let t = "\n\nPackage: a\nVersion: 1\n\n \t\nPackage: b\r\nVersion: 2\n\n\n";
        let p = parse(t).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].get("Package"), Some("b"), "CRLF tolerated");
        assert_eq!(p[1].line, 7);
    }

    #[test]
    fn values_keep_colons_and_are_trimmed() {
        let p = parse("Version:   1:2.3-4+deb12u1  \nDepends: a (>= 1:2)\n").unwrap();
        assert_eq!(p[0].get("Version"), Some("1:2.3-4+deb12u1"));
        assert_eq!(p[0].get("Depends"), Some("a (>= 1:2)"));
    }

    #[test]
    fn bad_lines_are_errors_with_their_line() {
        assert_eq!(parse("Package: a\nnot a field\n").unwrap_err().line, 2);
        assert_eq!(parse(" continuation first\n").unwrap_err().line, 1);
        assert_eq!(parse("Bad Name: x\n").unwrap_err().line, 1);
    }

    #[test]
    fn no_trailing_newline_and_comments() {
        let p = parse("# comment\nPackage: a").unwrap();
        assert_eq!(p[0].get("Package"), Some("a"));
        assert_eq!(p[0].line, 2);
    }
}
