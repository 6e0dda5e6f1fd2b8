//! The checks of single values, shared by the two front ends (command-line flags and the
//! build spec's keys): each returns the typed value or a [`ValueError`] that says what is
//! wrong with the value; the caller names where it came from (`--chown 1:x: ...`, or
//! `minroot.toml: line 3: \`chown\`: ...`).

use std::collections::BTreeMap;

use crate::elf::Priority;
use crate::hints::known::{OPT_IN, OptIn};
use crate::pack::Compression;

/// What is wrong with a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("expected UID:GID")]
    NotUidGid,
    #[error("bad uid: {0}")]
    BadUid(String),
    #[error("bad gid: {0}")]
    BadGid(String),
    #[error("use required, recommended or suggested")]
    Priority,
    #[error("unknown data set; known: {}", data_names().join(", "))]
    DataSet,
    #[error("expected KEY=VALUE")]
    NotKeyValue,
    #[error("empty key")]
    EmptyKey,
    #[error("expected NAME:TAG without spaces")]
    Tag,
    #[error("expected seconds since 1970 (a non-negative integer): {0}")]
    Epoch(String),
    #[error("too large for a tar header")]
    EpochTooLarge,
    #[error("use gzip, zstd or none")]
    Compression,
    #[error("expected a size in bytes, with an optional K, M, G or T (powers of 1024)")]
    Size,
}

/// `UID:GID`, numeric.
pub fn chown(s: &str) -> Result<(u32, u32), ValueError> {
    let (u, g) = s.split_once(':').ok_or(ValueError::NotUidGid)?;
    Ok((
        u.parse::<u32>()
            .map_err(|e| ValueError::BadUid(e.to_string()))?,
        g.parse::<u32>()
            .map_err(|e| ValueError::BadGid(e.to_string()))?,
    ))
}

/// A `.note.dlopen` priority name.
pub fn priority(s: &str) -> Result<Priority, ValueError> {
    Priority::from_name(s).ok_or(ValueError::Priority)
}

/// An opt-in data set (`tzdata`, `C.utf8`).
pub fn data_set(s: &str) -> Result<&'static OptIn, ValueError> {
    OPT_IN
        .iter()
        .find(|o| o.name == s)
        .ok_or(ValueError::DataSet)
}

/// The names of the opt-in data sets.
pub fn data_names() -> Vec<&'static str> {
    OPT_IN.iter().map(|o| o.name).collect()
}

/// An environment entry `KEY=VALUE` with a non-empty key.
pub fn env_entry(s: &str) -> Result<String, ValueError> {
    if !s.contains('=') || s.starts_with('=') {
        return Err(ValueError::NotKeyValue);
    }
    Ok(s.to_string())
}

/// Adds a label `KEY=VALUE` (a later key replaces an earlier one).
pub fn label(s: &str, labels: &mut BTreeMap<String, String>) -> Result<(), ValueError> {
    let (k, v) = s.split_once('=').ok_or(ValueError::NotKeyValue)?;
    if k.is_empty() {
        return Err(ValueError::EmptyKey);
    }
    labels.insert(k.to_string(), v.to_string());
    Ok(())
}

/// An image name: NAME:TAG, or NAME (then `:latest`). The tag is after the last ':' of
/// the last path component: in `localhost:5000/app` the ':' belongs to the registry,
/// which has no tag yet.
pub fn tag(t: &str) -> Result<String, ValueError> {
    if t.is_empty() || t.contains(char::is_whitespace) {
        return Err(ValueError::Tag);
    }
    let last = t.rsplit('/').next().unwrap_or(t);
    Ok(if last.contains(':') && !last.ends_with(':') {
        t.to_string()
    } else {
        format!("{}:latest", t.trim_end_matches(':'))
    })
}

/// The image name of a program: its file name, lower-cased, other characters as '-'.
pub fn default_tag(program: &str) -> String {
    let base = program.rsplit('/').next().unwrap_or("minroot");
    let base: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("{}:latest", if base.is_empty() { "minroot" } else { &base })
}

/// The largest mtime a ustar header holds.
pub const MAX_EPOCH: u64 = 0o77777777777;

/// SOURCE_DATE_EPOCH: seconds since 1970 that fit a tar header.
pub fn epoch(s: &str) -> Result<u64, ValueError> {
    let v: u64 = s
        .trim()
        .parse()
        .map_err(|e: std::num::ParseIntError| ValueError::Epoch(e.to_string()))?;
    if v > MAX_EPOCH {
        return Err(ValueError::EpochTooLarge);
    }
    Ok(v)
}

/// A size: bytes, or with a K, M, G or T suffix (powers of 1024): `16G`.
pub fn size(s: &str) -> Result<u64, ValueError> {
    let s = s.trim();
    let (num, shift) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return Err(ValueError::Size),
            };
            (&s[..i], shift)
        }
        _ => (s, 0),
    };
    let n: u64 = num.parse().map_err(|_| ValueError::Size)?;
    n.checked_mul(1u64 << shift).ok_or(ValueError::Size)
}

/// A compression name of the build spec (`gzip`, `zstd`, `none`).
pub fn compression(s: &str) -> Result<Compression, ValueError> {
    match s {
        "gzip" => Ok(Compression::Gzip),
        "zstd" => Ok(Compression::Zstd),
        "none" => Ok(Compression::None),
        _ => Err(ValueError::Compression),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(chown("1000:50"), Ok((1000, 50)));
        assert_eq!(chown("1000"), Err(ValueError::NotUidGid));
        assert!(matches!(chown("a:1"), Err(ValueError::BadUid(_))));
        assert_eq!(priority("suggested"), Ok(Priority::Suggested));
        assert_eq!(priority("often"), Err(ValueError::Priority));
        assert_eq!(data_set("tzdata").unwrap().name, "tzdata");
        assert_eq!(
            data_set("x").unwrap_err().to_string(),
            "unknown data set; known: tzdata, C.utf8"
        );
        assert!(env_entry("=x").is_err() && env_entry("A").is_err() && env_entry("A=").is_ok());
        let mut l = BTreeMap::new();
        assert_eq!(label("=v", &mut l), Err(ValueError::EmptyKey));
        label("k=v=w", &mut l).unwrap();
        assert_eq!(l["k"], "v=w");
        assert_eq!(tag("app").unwrap(), "app:latest");
        assert_eq!(tag("app:1").unwrap(), "app:1");
        assert_eq!(
            tag("localhost:5000/app").unwrap(),
            "localhost:5000/app:latest"
        );
        assert_eq!(tag("a b"), Err(ValueError::Tag));
        assert_eq!(default_tag("/usr/bin/Python3+x"), "python3-x:latest");
        assert_eq!(epoch(" 17 "), Ok(17));
        assert_eq!(epoch("8589934592"), Err(ValueError::EpochTooLarge));
        assert!(matches!(epoch("-1"), Err(ValueError::Epoch(_))));
        assert_eq!(compression("zstd"), Ok(Compression::Zstd));
        assert_eq!(size("16G"), Ok(16 << 30));
        assert_eq!(size("512"), Ok(512));
        assert_eq!(size("3k"), Ok(3072));
        assert!(size("1X").is_err() && size("").is_err() && size("99999999999T").is_err());
        assert!(compression("lz4").is_err());
    }
}
