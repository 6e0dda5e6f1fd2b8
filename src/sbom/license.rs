//! Licenses: the one a Debian package declares in its machine-readable (DEP-5) copyright
//! file, and turning a declared license (DEP-5 short names, or apk's `L:`, usually SPDX
//! already) into an SPDX license expression that validators accept.
//!
//! dpkg's status has no license field. `/usr/share/doc/PKG/copyright` in DEP-5 form has a
//! `Format:` header and `Files:` paragraphs; the one whose patterns include `*` holds the
//! package's main license (`License: GPL-2+`). Other copyright files say nothing a
//! program can read: no license (SPDX NOASSERTION).
//!
//! DEP-5 names map to SPDX ids where the meaning is the same (`GPL-2+` is
//! `GPL-2.0-or-later`, `Expat` is `MIT`); any other name becomes a `LicenseRef-` of
//! itself (`Artistic` -> `LicenseRef-Artistic`), so `GPL-1+ or Artistic` is
//! `GPL-1.0-or-later OR LicenseRef-Artistic`. A license `with` an exception becomes one
//! `LicenseRef-` as a whole: DEP-5 exception names are not SPDX exception ids.

use std::collections::BTreeMap;

use super::control;

/// Where a Debian package keeps its copyright file.
pub fn copyright_path(package: &str) -> String {
    format!("/usr/share/doc/{package}/copyright")
}

/// The `License:` short name of the `Files: *` paragraph of a DEP-5 copyright file; None
/// if the file is not machine-readable or has no such paragraph.
pub fn dep5_license(text: &str) -> Option<String> {
    let first = text.lines().find(|l| !l.trim().is_empty())?;
    if !first.starts_with("Format:") {
        return None;
    }
    // Paragraphs are parsed one by one so that free text in a License body (a line with
    // no leading space in a badly formatted file) spoils only its own paragraph.
    for chunk in split_paragraphs(text) {
        let Ok(ps) = control::parse(&chunk) else {
            continue;
        };
        for p in ps {
            let Some(files) = p.field("Files") else {
                continue;
            };
            let all = std::iter::once(files.value.as_str())
                .chain(files.cont.iter().map(String::as_str))
                .flat_map(str::split_whitespace)
                .any(|pat| pat == "*");
            if all {
                let l = p.get("License")?.trim();
                return (!l.is_empty()).then(|| l.to_string());
            }
        }
    }
    None
}

fn split_paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// SPDX license ids minroot writes as such (SPDX license list 3.x, canonical spelling).
/// Every one must be in the CycloneDX 1.5 schema's id list (tests/sbom.rs checks).
pub const KNOWN_IDS: &[&str] = &[
    "0BSD",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Apache-1.0",
    "Apache-1.1",
    "Apache-2.0",
    "Artistic-1.0",
    "Artistic-1.0-Perl",
    "Artistic-2.0",
    "Beerware",
    "blessing",
    "BSD-1-Clause",
    "BSD-2-Clause",
    "BSD-2-Clause-Patent",
    "BSD-3-Clause",
    "BSD-3-Clause-Clear",
    "BSD-4-Clause",
    "BSL-1.0",
    "bzip2-1.0.6",
    "CC-BY-3.0",
    "CC-BY-4.0",
    "CC-BY-SA-3.0",
    "CC-BY-SA-4.0",
    "CC0-1.0",
    "CDDL-1.0",
    "curl",
    "EPL-1.0",
    "EPL-2.0",
    "FSFAP",
    "FSFUL",
    "FSFULLR",
    "FTL",
    "GFDL-1.2-only",
    "GFDL-1.2-or-later",
    "GFDL-1.3-only",
    "GFDL-1.3-or-later",
    "GPL-1.0-only",
    "GPL-1.0-or-later",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "HPND",
    "ICU",
    "IJG",
    "Info-ZIP",
    "ISC",
    "LGPL-2.0-only",
    "LGPL-2.0-or-later",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "Libpng",
    "libtiff",
    "MirOS",
    "MIT",
    "MIT-0",
    "MPL-1.1",
    "MPL-2.0",
    "NCSA",
    "NTP",
    "OFL-1.1",
    "OLDAP-2.8",
    "OpenSSL",
    "PHP-3.01",
    "PostgreSQL",
    "PSF-2.0",
    "Python-2.0",
    "Ruby",
    "Sleepycat",
    "TCL",
    "Unicode-DFS-2016",
    "Unlicense",
    "UPL-1.0",
    "Vim",
    "W3C",
    "WTFPL",
    "X11",
    "Zlib",
    "zlib-acknowledgement",
    "ZPL-2.1",
];

/// DEP-5 (and other common) names that are not spelled as their SPDX id.
const ALIASES: &[(&str, &str)] = &[
    ("Expat", "MIT"),
    ("Apache-2", "Apache-2.0"),
    ("CC0", "CC0-1.0"),
    ("PSF-2", "PSF-2.0"),
    ("OpenLDAP-2.8", "OLDAP-2.8"),
    ("MPL-2", "MPL-2.0"),
    ("BSL", "BSL-1.0"),
];

/// The SPDX id of one license name, if it has one.
pub fn spdx_id(name: &str) -> Option<&'static str> {
    if let Some(id) = KNOWN_IDS.iter().find(|k| k.eq_ignore_ascii_case(name)) {
        return Some(*id);
    }
    if let Some((_, id)) = ALIASES.iter().find(|(a, _)| a.eq_ignore_ascii_case(name)) {
        return Some(id);
    }
    // GPL-2, GPL-2+, LGPL-2.1+, GPL-2.0+, AGPL-3, GFDL-1.3+ and SPDX's deprecated GPL-2.0.
    let (base, plus) = match name.strip_suffix('+') {
        Some(b) => (b, true),
        None => (name, false),
    };
    let (family, version) = base.rsplit_once('-')?;
    let family = ["GPL", "LGPL", "AGPL", "GFDL"]
        .into_iter()
        .find(|f| f.eq_ignore_ascii_case(family))?;
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let version = if version.contains('.') {
        version.to_string()
    } else {
        format!("{version}.0")
    };
    let id = format!(
        "{family}-{version}-{}",
        if plus { "or-later" } else { "only" }
    );
    KNOWN_IDS.iter().find(|k| **k == id).copied()
}

/// A declared license as an SPDX license expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpdxLicense {
    /// As declared.
    pub declared: String,
    /// The SPDX expression (`GPL-2.0-or-later OR LicenseRef-Artistic`).
    pub expression: String,
    /// Every `LicenseRef-` the expression uses, with the name it stands for.
    pub refs: BTreeMap<String, String>,
}

impl SpdxLicense {
    /// True when the expression is one SPDX id.
    pub fn single_id(&self) -> Option<&str> {
        (self.refs.is_empty() && !self.expression.contains(' ')).then_some(&self.expression)
    }
}

/// `LicenseRef-` + the name with every character SPDX does not allow in an id made `-`.
pub fn license_ref(name: &str) -> String {
    let mut s = String::from("LicenseRef-");
    // Starts as if a dash was just written: no dash right after the prefix.
    let mut dash = true;
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            s.push(c);
            dash = false;
        } else if !dash {
            s.push('-');
            dash = true;
        }
    }
    let t = s.trim_end_matches('-').to_string();
    if t == "LicenseRef" {
        "LicenseRef-unnamed".into()
    } else {
        t
    }
}

/// Converts a declared license. DEP-5 joins alternatives with `or`, conjunctions with
/// `and`, and groups with commas (`A or B, and C` is `(A OR B) AND C`); apk writes SPDX
/// expressions (`MIT AND BSD-3-Clause`), which pass through.
pub fn to_spdx(declared: &str) -> SpdxLicense {
    let declared = declared.trim().to_string();
    let mut refs = BTreeMap::new();
    let whole_ref = |refs: &mut BTreeMap<String, String>| {
        let r = license_ref(&declared);
        refs.insert(r.clone(), declared.clone());
        r
    };
    let words: Vec<&str> = declared.split_whitespace().collect();
    if words.is_empty() || words.iter().any(|w| w.eq_ignore_ascii_case("with")) {
        let expression = whole_ref(&mut refs);
        return SpdxLicense {
            declared,
            expression,
            refs,
        };
    }
    let mut out = String::new();
    let mut groups = declared.split(',').peekable();
    let mut first = true;
    let mut operand_expected = true;
    while let Some(g) = groups.next() {
        let mut toks = String::new();
        for raw in g.split_whitespace() {
            let (open, rest) = split_leading(raw, '(');
            let (word, close) = split_trailing(rest, ')');
            toks.push_str(&"(".repeat(open));
            let t = match word.to_ascii_lowercase().as_str() {
                "or" | "|" if !operand_expected => {
                    operand_expected = true;
                    " OR ".to_string()
                }
                "and" | "&" if !operand_expected => {
                    operand_expected = true;
                    " AND ".to_string()
                }
                "" => String::new(),
                _ if !operand_expected => {
                    // Two names in a row: not an expression minroot understands.
                    let expression = whole_ref(&mut refs);
                    return SpdxLicense {
                        declared,
                        expression,
                        refs,
                    };
                }
                _ => {
                    operand_expected = false;
                    match spdx_id(word) {
                        Some(id) => id.to_string(),
                        None if word.to_ascii_lowercase().starts_with("licenseref-") => {
                            let r = license_ref(&word["licenseref-".len()..]);
                            refs.insert(r.clone(), word.to_string());
                            r
                        }
                        None => {
                            let r = license_ref(word);
                            refs.insert(r.clone(), word.to_string());
                            r
                        }
                    }
                }
            };
            toks.push_str(&t);
            toks.push_str(&")".repeat(close));
        }
        let toks = toks.trim().to_string();
        if first {
            out = toks;
            first = false;
        } else if !toks.is_empty() {
            // `, and C` / `, or C`: the operator starts the group.
            out = format!("({out}) {toks}");
        }
        if groups.peek().is_none() && operand_expected {
            let expression = whole_ref(&mut refs);
            return SpdxLicense {
                declared,
                expression,
                refs,
            };
        }
    }
    let balanced = out.matches('(').count() == out.matches(')').count();
    if !balanced || out.is_empty() {
        refs.clear();
        out = whole_ref(&mut refs);
    }
    SpdxLicense {
        declared,
        expression: out.split_whitespace().collect::<Vec<_>>().join(" "),
        refs,
    }
}

fn split_leading(s: &str, c: char) -> (usize, &str) {
    let t = s.trim_start_matches(c);
    (s.len() - t.len(), t)
}

fn split_trailing(s: &str, c: char) -> (&str, usize) {
    let t = s.trim_end_matches(c);
    (t, s.len() - t.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEP5: &str = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: nginx\n\nFiles: debian/*\nLicense: GPL-2+\n\nFiles: src/* *\nCopyright: 2002-2021 Igor Sysoev\nLicense: BSD-2-clause\n\nLicense: BSD-2-clause\n Redistribution and use ...\n";

    #[test]
    fn dep5_files_star_license() {
        assert_eq!(dep5_license(DEP5).as_deref(), Some("BSD-2-clause"));
    }

    #[test]
    fn dep5_not_machine_readable_or_no_star() {
        assert_eq!(
            dep5_license("This is the Debian prepackaged version of the GNU C Library.\n"),
            None
        );
        assert_eq!(
            dep5_license("Format: x\n\nFiles: debian/*\nLicense: GPL-2\n"),
            None
        );
    }

    #[test]
    fn dep5_star_on_a_continuation_line_and_a_broken_paragraph_elsewhere() {
        let t = "Format: x\n\nFiles: a b\nthis line is broken\n\nFiles: src/*\n *\nLicense: Zlib\n";
        assert_eq!(dep5_license(t).as_deref(), Some("Zlib"));
    }

    #[test]
    fn dep5_names_map_to_spdx_ids() {
        for (dep5, spdx) in [
            ("GPL-2", "GPL-2.0-only"),
            ("GPL-2+", "GPL-2.0-or-later"),
            ("GPL-2.0+", "GPL-2.0-or-later"),
            ("GPL-3+", "GPL-3.0-or-later"),
            ("LGPL-2.1+", "LGPL-2.1-or-later"),
            ("LGPL-2.1", "LGPL-2.1-only"),
            ("GFDL-1.3+", "GFDL-1.3-or-later"),
            ("BSD-2-clause", "BSD-2-Clause"),
            ("bsd-3-clause", "BSD-3-Clause"),
            ("Expat", "MIT"),
            ("zlib", "Zlib"),
            ("Apache-2.0", "Apache-2.0"),
            ("curl", "curl"),
            ("OpenLDAP-2.8", "OLDAP-2.8"),
        ] {
            assert_eq!(spdx_id(dep5), Some(spdx), "{dep5}");
        }
        assert_eq!(spdx_id("GPL-9+"), None);
        assert_eq!(spdx_id("GFDL-NIV-1.3+"), None);
        assert_eq!(spdx_id("public-domain"), None);
    }

    #[test]
    fn expressions() {
        let l = to_spdx("GPL-1+ or Artistic");
        assert_eq!(l.expression, "GPL-1.0-or-later OR LicenseRef-Artistic");
        assert_eq!(l.refs["LicenseRef-Artistic"], "Artistic");
        assert_eq!(
            to_spdx("Sleepycat and BSD-3-clause").expression,
            "Sleepycat AND BSD-3-Clause"
        );
        assert_eq!(to_spdx("MIT").single_id(), Some("MIT"));
        assert_eq!(to_spdx("MIT/X11").expression, "LicenseRef-MIT-X11");
        assert_eq!(
            to_spdx("GPL-2+ or Artistic, and BSD-3-clause").expression,
            "(GPL-2.0-or-later OR LicenseRef-Artistic) AND BSD-3-Clause"
        );
        assert_eq!(
            to_spdx("MIT AND (BSD-2-Clause OR GPL-2.0-or-later)").expression,
            "MIT AND (BSD-2-Clause OR GPL-2.0-or-later)"
        );
    }

    #[test]
    fn exceptions_and_nonsense_become_one_license_ref() {
        let l = to_spdx("BSD-3-clause-Cambridge with BINARY LIBRARY-LIKE PACKAGES exception");
        assert_eq!(
            l.expression,
            "LicenseRef-BSD-3-clause-Cambridge-with-BINARY-LIBRARY-LIKE-PACKAGES-exception"
        );
        assert_eq!(l.refs.len(), 1);
        assert_eq!(to_spdx("MIT BSD").expression, "LicenseRef-MIT-BSD");
        assert_eq!(to_spdx("MIT or").expression, "LicenseRef-MIT-or");
        assert_eq!(to_spdx("(MIT").expression, "LicenseRef-MIT");
        assert_eq!(license_ref("+++"), "LicenseRef-unnamed");
    }
}
