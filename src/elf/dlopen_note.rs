//! The `.note.dlopen` payload (freedesktop.org ELF dlopen metadata spec): a JSON array of
//! `{"soname": [...], "feature": "...", "description": "...", "priority": "..."}`.
//! This file owns the JSON model; finding the note in the ELF file is in `elf/mod.rs`.

use serde::{Deserialize, Serialize};

/// How much a dlopen dependency matters to the program (spec: default `recommended`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Required,
    #[default]
    Recommended,
    Suggested,
}

impl Priority {
    /// Every priority, from the most to the least needed.
    pub const ALL: [Priority; 3] = [
        Priority::Required,
        Priority::Recommended,
        Priority::Suggested,
    ];

    /// The spec's name (`required`, `recommended`, `suggested`).
    pub fn name(self) -> &'static str {
        match self {
            Priority::Required => "required",
            Priority::Recommended => "recommended",
            Priority::Suggested => "suggested",
        }
    }

    /// The priority of a spec name.
    pub fn from_name(s: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.name() == s)
    }
}

impl std::fmt::Display for Priority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One element of a `.note.dlopen` array. Several sonames are alternatives: the first one
/// found is used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DlopenNote {
    pub soname: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub priority: Priority,
}

/// Parses one note payload (without its trailing NUL).
pub fn parse_dlopen_json(raw: &[u8]) -> Result<Vec<DlopenNote>, String> {
    let v: Vec<DlopenNote> = serde_json::from_slice(raw).map_err(|e| e.to_string())?;
    if let Some(bad) = v
        .iter()
        .find(|n| n.soname.is_empty() || n.soname.iter().any(|s| s.is_empty() || s.contains('/')))
    {
        return Err(format!(
            "entry {:?} has an empty soname list or a soname with '/'",
            bad.feature.as_deref().unwrap_or("")
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_systemd_style_note() {
        let raw = br#"[{"soname":["libzstd.so.1"],"feature":"zstd","description":"Support zstd compression","priority":"suggested"},{"soname":["libcrypt.so.2","libcrypt.so.1"]}]"#;
        let v = parse_dlopen_json(raw).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].priority, Priority::Suggested);
        assert_eq!(v[1].priority, Priority::Recommended);
        assert_eq!(v[1].soname, ["libcrypt.so.2", "libcrypt.so.1"]);
    }

    #[test]
    fn rejects_bad_payloads() {
        assert!(parse_dlopen_json(b"{}").is_err());
        assert!(parse_dlopen_json(br#"[{"soname":[]}]"#).is_err());
        assert!(parse_dlopen_json(br#"[{"soname":["/abs/lib.so"]}]"#).is_err());
        assert!(parse_dlopen_json(br#"[{"soname":["a.so"],"priority":"urgent"}]"#).is_err());
    }
}
