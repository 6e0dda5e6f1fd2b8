//! apk's database in a root (`/lib/apk/db/installed`): one record per package, records
//! separated by blank lines, one `K:value` per line. The keys minroot uses:
//!
//! ```text
//! P:musl                  name           F:lib                     a directory
//! V:1.2.4-r2              version        R:ld-musl-x86_64.so.1     a file in the last F
//! A:x86_64                architecture   a:0:0:755                 its owner and mode
//! L:MIT                   license (SPDX) Z:Q1...                   its checksum
//! o:musl                  origin (source)M:0:0:755                 the last F's owner and mode
//! ```
//!
//! Reading gives each package its files (`F` + `/` + `R`). Writing the layer's copy keeps
//! each record's header lines and only the `F`/`M` groups and `R`/`a`/`Z` groups of files
//! in the layer (`trim`), so apk-aware scanners see the packages, with what is really there.

use super::{DB_LIMIT, FileList, Manager, Package, Record, SbomError};
use crate::sysroot::{Kind, Root};

pub const INSTALLED: &str = "/lib/apk/db/installed";

/// One record: its `(key, value)` lines in order.
pub type ApkRecord = Vec<(String, String)>;

/// Parses the records of an installed database. A bad line is `(line number, why)`.
pub fn parse(text: &str) -> Result<Vec<ApkRecord>, (usize, String)> {
    let mut out = Vec::new();
    let mut cur: ApkRecord = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            return Err((
                i + 1,
                format!(
                    "{:?} is not K:value",
                    line.chars().take(60).collect::<String>()
                ),
            ));
        };
        if k.is_empty() || k.len() > 2 {
            return Err((
                i + 1,
                format!("bad key {:?}", k.chars().take(20).collect::<String>()),
            ));
        }
        cur.push((k.to_string(), v.to_string()));
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

/// The files of a record (absolute): `F:usr/lib` then `R:libz.so.1` is `/usr/lib/libz.so.1`.
pub fn files_of(lines: &[(String, String)]) -> FileList {
    let mut dir = String::new();
    let mut out = Vec::new();
    for (k, v) in lines {
        match k.as_str() {
            "F" => dir = v.trim_matches('/').to_string(),
            "R" if dir.is_empty() => out.push(format!("/{v}")),
            "R" => out.push(format!("/{dir}/{v}")),
            _ => {}
        }
    }
    out.into_iter().collect()
}

/// The package a record describes; None without a name or version.
pub fn package_of(lines: Vec<(String, String)>) -> Option<Package> {
    let get = |key: &str| lines.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let name = get("P")?;
    let version = get("V")?;
    let source = get("o").filter(|o| *o != name);
    Some(Package {
        manager: Manager::Apk,
        arch: get("A").unwrap_or_default(),
        license: get("L").filter(|l| !l.trim().is_empty()),
        files: files_of(&lines),
        name,
        version,
        source,
        record: Record::Apk { lines },
    })
}

/// The record in database syntax with only the files `keep` accepts (absolute paths as
/// listed): a directory group is written when one of its files is kept. Ends with a
/// blank line, as apk writes records.
pub fn trim(lines: &[(String, String)], keep: &dyn Fn(&str) -> bool) -> String {
    let mut out = String::new();
    let mut dir = String::new();
    // The pending `F`/`M` lines of the current directory, written before its first kept file.
    let mut pending: Vec<&(String, String)> = Vec::new();
    let mut in_kept_file = false;
    for l in lines {
        match l.0.as_str() {
            "F" => {
                dir = l.1.trim_matches('/').to_string();
                pending = vec![l];
                in_kept_file = false;
            }
            "M" if !pending.is_empty() => pending.push(l),
            "R" => {
                let path = if dir.is_empty() {
                    format!("/{}", l.1)
                } else {
                    format!("/{dir}/{}", l.1)
                };
                in_kept_file = keep(&path);
                if in_kept_file {
                    for p in pending.drain(..) {
                        push(&mut out, p);
                    }
                    push(&mut out, l);
                }
            }
            "a" | "Z" => {
                if in_kept_file {
                    push(&mut out, l);
                }
            }
            "M" => {}
            _ => {
                // A header line (before the first F, or stray after one).
                push(&mut out, l);
            }
        }
    }
    out.push('\n');
    out
}

fn push(out: &mut String, (k, v): &(String, String)) {
    out.push_str(k);
    out.push(':');
    out.push_str(v);
    out.push('\n');
}

/// Every package of the root's apk database.
pub fn read(
    root: &Root,
    sources: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<Vec<Package>, SbomError> {
    let Some(r) = root.resolve(INSTALLED)? else {
        return Ok(Vec::new());
    };
    if r.kind != Kind::File {
        return Ok(Vec::new());
    }
    let text = root.read_carried(&r.path, DB_LIMIT)?;
    sources.push(INSTALLED.to_string());
    let records = parse(&text).map_err(|(line, why)| SbomError::Apk {
        path: INSTALLED.to_string(),
        line,
        why,
    })?;
    let mut out = Vec::new();
    for (i, rec) in records.into_iter().enumerate() {
        match package_of(rec) {
            Some(p) => out.push(p),
            None => warnings.push(format!(
                "{INSTALLED}: record {} has no P: or V:; skipped",
                i + 1
            )),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DB: &str = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\nF:lib\nR:ld-musl-x86_64.so.1\na:0:0:755\nZ:Q1x=\nR:libc.musl-x86_64.so.1\na:0:0:777\nZ:Q1y=\n\nP:zlib\nV:1.3.1-r0\nA:x86_64\nL:Zlib\nF:lib\nM:0:0:755\nR:libz.so.1.3.1\nZ:Q1z=\nF:usr/share/doc\n\n";

    #[test]
    fn records_fields_and_files() {
        let recs = parse(DB).unwrap();
        assert_eq!(recs.len(), 2);
        let p = package_of(recs[0].clone()).unwrap();
        assert_eq!(
            (p.name.as_str(), p.version.as_str(), p.arch.as_str()),
            ("musl", "1.2.4-r2", "x86_64")
        );
        assert_eq!(p.license.as_deref(), Some("MIT"));
        assert_eq!(p.source, None, "origin equal to the name");
        assert_eq!(
            p.files,
            ["/lib/ld-musl-x86_64.so.1", "/lib/libc.musl-x86_64.so.1"]
        );
        let z = package_of(recs[1].clone()).unwrap();
        assert_eq!(
            z.files,
            ["/lib/libz.so.1.3.1"],
            "an empty F group lists no file"
        );
    }

    #[test]
    fn trim_keeps_groups_of_kept_files_only() {
        let recs = parse(DB).unwrap();
        let t = trim(&recs[0], &|p| p == "/lib/libc.musl-x86_64.so.1");
        assert_eq!(
            t,
            "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\nF:lib\nR:libc.musl-x86_64.so.1\na:0:0:777\nZ:Q1y=\n\n"
        );
        let t = trim(&recs[1], &|_| true);
        assert!(
            t.contains("F:lib\nM:0:0:755\nR:libz.so.1.3.1\nZ:Q1z=\n"),
            "{t}"
        );
        assert!(
            !t.contains("usr/share/doc"),
            "a group without kept files goes: {t}"
        );
        let none = trim(&recs[1], &|_| false);
        assert_eq!(none, "P:zlib\nV:1.3.1-r0\nA:x86_64\nL:Zlib\n\n");
        let again = parse(&t).unwrap();
        assert_eq!(
            package_of(again[0].clone()).unwrap().files,
            ["/lib/libz.so.1.3.1"]
        );
    }

    #[test]
    fn bad_line_is_an_error_with_its_number() {
        assert_eq!(parse("P:a\nnonsense\n").unwrap_err().0, 2);
        assert_eq!(parse("P:a\nLongKey:x\n").unwrap_err().0, 2);
    }

    #[test]
    fn record_without_name_is_skipped() {
        assert!(package_of(vec![("V".into(), "1".into())]).is_none());
    }
}
