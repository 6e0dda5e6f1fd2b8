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
//!
//! What the `spdx` crate does: the SPDX license list (which names are ids, their
//! canonical spelling, which are deprecated, which are GNU licenses with `-only` and
//! `-or-later` variants), and checking that what is written is an SPDX expression
//! (its strict parser). What is written by hand here, and why:
//! - reading DEP-5 files: minroot needs one `License:` line, read with `control.rs`'s
//!   deb822 parser paragraph by paragraph (a broken one spoils only itself); the
//!   debian-copyright crate reads whole files with a second deb822 parser of its own;
//! - DEP-5's expression syntax: lower-case `or`/`and`, and commas that group
//!   (`A or B, and C` is `(A OR B) AND C`), which SPDX expressions do not have;
//! - DEP-5 names that are not SPDX ids: `ALIASES` and the GNU rule (`GPL-2+`): the
//!   crate's lax mode is made for crates.io's mistakes, not DEP-5's names: it matches
//!   name prefixes and guesses (`bsd` is BSD-2-Clause, `gpl` GPL-2.0-only, and in 0.13
//!   `gnu gpl v2` GPL-3.0-only), where minroot keeps an unknown name as a `LicenseRef-`;
//! - `with` exceptions: DEP-5 names them in words (`GPL-2+ with Autoconf exception`),
//!   not as SPDX exception ids, so the whole license is one `LicenseRef-`;
//! - `LicenseRef-` names, and [`HELD_BACK`]: the ids of the crate's list that the
//!   validators do not know yet.
//!
//! A name is an SPDX id in any case (`bsd-3-clause` is `BSD-3-Clause`). Deprecated ids
//! are not written, as SPDX asks: the GNU rule maps `GPL-2.0` to `GPL-2.0-only`; the
//! others (`BSD-2-Clause-NetBSD`, `wxWindows`) become `LicenseRef-`s, since what replaces
//! them is another license or an expression with an exception, a reading minroot leaves
//! to whoever reads the copyright file.

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

/// SPDX license ids of the `spdx` crate's list that minroot writes as `LicenseRef-`s
/// instead: the validators an SBOM must pass (the CycloneDX 1.5 schema's SPDX id list;
/// license-expression, which pyspdxtools validates with) lag the SPDX license list, and
/// one id they do not know fails the whole document. Checked both ways against the
/// validators of scripts/python-tools.sh (tests/sbom.rs and the tests below): every id
/// minroot writes is known to both, and every id here is unknown to one of them, so the
/// list shrinks when they catch up. After updating the crate, the new ids the tests
/// report go here.
pub const HELD_BACK: &[&str] = &[
    // SPDX's "no assertion" value, in the crate's list, is not a license.
    "NOASSERTION",
    // Not in the CycloneDX 1.5 schema (SPDX license list 3.28) nor in license-expression.
    "atc-game",
    "Brian-Gladman-3-Clause-no-conversion",
    "BSD-2-Clause-pos-unchanged",
    "BSD-3-Clause-OpenWebUI",
    "BSD-ask-to-endorse",
    "BSD-Source-alt-GPL",
    "BSD-Source-Code-no-disclaimer",
    "Bugroff",
    "CC-BY-NC-3.0-IGO",
    "FDK-MPEG-H",
    "GFDL-1.1-invariants",
    "GFDL-1.1-no-invariants",
    "GFDL-1.2-invariants",
    "GFDL-1.2-no-invariants",
    "GFDL-1.3-invariants",
    "GFDL-1.3-no-invariants",
    "Hippocratic-3.0-core",
    "Informatica",
    "MVT-1.1",
    // In the schema, not in license-expression (which spdx-tools validates with).
    "Advanced-Cryptics-Dictionary",
    "ALGLIB-Documentation",
    "BOLA-1.1",
    "BSD-3-Clause-Tso",
    "BSD-Mark-Modifications",
    "Buddy",
    "CAPEC-tou",
    "ESA-PL-permissive-2.4",
    "ESA-PL-strong-copyleft-2.4",
    "ESA-PL-weak-copyleft-2.4",
    "HPND-sell-variant-critical-systems",
    "HPND-SMC",
    "hyphen-bulgarian",
    "ISO-permission",
    "MIT-STK",
    "MMPL-1.0.1",
    "MPL-2.0-no-copyleft-exception",
    "NIST-PD-TNT",
    "OpenMDW-1.0",
    "OSC-1.0",
    "OSSP",
    "ParaType-Free-Font-1.3",
    "SGMLUG-PM",
    "TekHVC",
    "UnRAR",
    "Vixie-Cron",
    "WordNet",
    "WTFNMFPL",
    "X11-no-permit-persons",
];

/// Whether minroot writes this id of the crate's list as an id: neither deprecated nor
/// held back.
fn written(l: &::spdx::License) -> bool {
    l.flags & ::spdx::flags::IS_DEPRECATED == 0 && !HELD_BACK.contains(&l.name)
}

/// Every SPDX license id minroot writes as such, in the canonical spelling: the `spdx`
/// crate's list (SPDX license list [`::spdx::license_version`]) less deprecated and
/// [`HELD_BACK`] ids.
pub fn known_ids() -> impl Iterator<Item = &'static str> {
    ::spdx::identifiers::LICENSES
        .iter()
        .filter(|l| written(l))
        .map(|l| l.name)
}

/// The id of the crate's list spelled `name` in any case (`bsd-3-clause` is
/// `BSD-3-Clause`), when minroot writes it.
fn list_id(name: &str) -> Option<&'static str> {
    let list = ::spdx::identifiers::LICENSES;
    // spdx::license_id would do the exact match but drops a trailing `+`.
    list.iter()
        .find(|l| l.name == name)
        .or_else(|| list.iter().find(|l| l.name.eq_ignore_ascii_case(name)))
        .filter(|l| written(l))
        .map(|l| l.name)
}

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
    if let Some(id) = list_id(name) {
        return Some(id);
    }
    if let Some((_, id)) = ALIASES.iter().find(|(a, _)| a.eq_ignore_ascii_case(name)) {
        return list_id(id);
    }
    // The GNU rule: DEP-5 writes GPL-2, GPL-2+, LGPL-2.1+, AGPL-3, GFDL-1.3+ (and SPDX's
    // deprecated GPL-2.0, GPL-2.0+), SPDX GPL-2.0-only, GPL-2.0-or-later: the version
    // gets its `.0` and the `+` becomes `-or-later`, no `+` `-only`. GNU licenses are the
    // crate's (`is_gnu`): GPL, LGPL, AGPL and GFDL.
    let (base, plus) = match name.strip_suffix('+') {
        Some(b) => (b, true),
        None => (name, false),
    };
    let (family, version) = base.rsplit_once('-')?;
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let version = if version.contains('.') {
        version.to_string()
    } else {
        format!("{version}.0")
    };
    // GNU ids are upper case; gnu_license_id matches exactly.
    let base = format!("{}-{version}", family.to_ascii_uppercase());
    ::spdx::gnu_license_id(&base, plus)
        .filter(|id| id.is_gnu())
        .and_then(|id| list_id(id.name))
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
    let mut expression = out.split_whitespace().collect::<Vec<_>>().join(" ");
    // What DEP-5 names and operators made must be an SPDX expression (the spdx crate's
    // strict parser: ids of the list, balanced parentheses, an operator between two
    // licenses); `(MIT OR )BSD` is not, and is kept whole.
    if ::spdx::Expression::parse(&expression).is_err() {
        refs.clear();
        expression = whole_ref(&mut refs);
    }
    SpdxLicense {
        declared,
        expression,
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

    #[test]
    fn list_ids_in_any_case_deprecated_ones_not_written() {
        for (name, id) in [
            ("MIT-CMU", "MIT-CMU"),
            ("mit-cmu", "MIT-CMU"),
            ("Ms-PL", "MS-PL"),
            ("BSD-4-clause-UC", "BSD-4-Clause-UC"),
            ("Artistic-1.0-Perl", "Artistic-1.0-Perl"),
        ] {
            assert_eq!(spdx_id(name), Some(id), "{name}");
        }
        // Deprecated: GNU ones by the GNU rule, the others not at all.
        assert_eq!(spdx_id("GPL-2.0"), Some("GPL-2.0-only"));
        assert_eq!(spdx_id("LGPL-2.1+"), Some("LGPL-2.1-or-later"));
        assert_eq!(spdx_id("BSD-2-Clause-NetBSD"), None);
        assert_eq!(spdx_id("wxWindows"), None);
        assert_eq!(spdx_id("GPL-2.0-with-classpath-exception"), None);
        // `+` is not dropped: Apache-2.0+ is not Apache-2.0.
        assert_eq!(spdx_id("Apache-2.0+"), None);
    }

    #[test]
    fn gnu_rule_reaches_every_gnu_license_of_the_list() {
        assert_eq!(spdx_id("AGPL-1"), Some("AGPL-1.0-only"));
        assert_eq!(spdx_id("gfdl-1.1+"), Some("GFDL-1.1-or-later"));
        for id in known_ids().filter(|id| ::spdx::license_id(id).is_some_and(|l| l.is_gnu())) {
            assert_eq!(spdx_id(id), Some(id), "{id} names itself");
        }
    }

    #[test]
    fn held_back_ids_are_list_ids_minroot_does_not_write() {
        for id in HELD_BACK {
            assert!(
                ::spdx::license_id(id).is_some(),
                "{id} is not in the crate's list"
            );
            assert_eq!(spdx_id(id), None, "{id}");
            assert_eq!(to_spdx(id).expression, license_ref(id), "{id}");
        }
        assert!(known_ids().all(|id| !HELD_BACK.contains(&id)));
        assert!(known_ids().count() > 600, "the crate's list, not a few ids");
    }

    #[test]
    fn what_the_crate_rejects_is_kept_whole() {
        // Balanced, but not an SPDX expression.
        assert_eq!(to_spdx("(MIT OR) BSD").expression, "LicenseRef-MIT-OR-BSD");
        assert_eq!(to_spdx(") MIT (").expression, "LicenseRef-MIT");
        assert_eq!(to_spdx(", MIT").expression, "LicenseRef-MIT");
        let l = to_spdx("(MIT OR) BSD");
        assert_eq!(l.refs.len(), 1, "{:?}", l.refs);
    }

    #[test]
    fn every_expression_written_parses_as_spdx() {
        for d in [
            "GPL-1+ or Artistic, and BSD-3-clause",
            "MIT AND (BSD-2-Clause OR GPL-2.0-or-later)",
            "LGPL-2.1 or BSD-2-Clause",
            "OpenLDAP-2.8 and FSF-unlimited and GPL-2+ with Libtool exception",
            "LicenseRef-foo or MIT",
            "MIT | Zlib & curl",
            "((MIT))",
            "",
            "MIT,",
        ] {
            let e = to_spdx(d).expression;
            assert!(::spdx::Expression::parse(&e).is_ok(), "{d:?} -> {e:?}");
        }
    }

    /// The validators of scripts/python-tools.sh know every id minroot writes (the
    /// CycloneDX schema's list, license-expression) and miss one of them for every held
    /// back id. tests/sbom.rs checks the written ids against the schema too.
    #[test]
    fn written_ids_are_the_validators_ids() {
        let tools = std::env::var_os("MINROOT_PYTOOLS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pytools")
            });
        if !tools.join("bin/python").is_file() {
            let what = "the SBOM validators in target/pytools (scripts/python-tools.sh)";
            assert!(
                std::env::var_os("MINROOT_REQUIRE_ALL").is_none_or(|v| v != "1"),
                "required test resource missing: {what}"
            );
            eprintln!("SKIP: {what} is not available");
            return;
        }
        let script = "import json, os, sys\n\
import cyclonedx.schema\n\
from license_expression import get_spdx_licensing\n\
d = json.load(sys.stdin)\n\
p = os.path.join(os.path.dirname(cyclonedx.schema.__file__), '_res', 'spdx.SNAPSHOT.schema.json')\n\
schema = set(json.load(open(p))['enum'])\n\
lic = get_spdx_licensing()\n\
def known(i):\n    v = lic.validate(i)\n    return i in schema and not v.invalid_symbols and not v.errors\n\
print(json.dumps([[i for i in d[0] if not known(i)], [i for i in d[1] if known(i)]]))\n";
        let mut child = std::process::Command::new(tools.join("bin/python"))
            .arg("-c")
            .arg(script)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("run the venv's python");
        let ids = serde_json::json!([known_ids().collect::<Vec<_>>(), HELD_BACK]);
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), ids.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let [unknown, known]: [Vec<String>; 2] = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            unknown.is_empty(),
            "ids the validators do not know: add to HELD_BACK: {unknown:?}"
        );
        assert!(
            known.is_empty(),
            "held back ids the validators know now: {known:?}"
        );
    }
}
