//! SPDX 2.3 JSON (`.spdx.json`) of an [`Inventory`], as the SPDX project's own tools
//! (spdx-tools' `pyspdxtools`) validate it.
//!
//! Shape: the document DESCRIBES every package and every file no package owns; each
//! package CONTAINS its files (`filesAnalyzed: true`, with the package verification code
//! SPDX 2.3 section 7.9 defines: sha1 of the sorted sha1s of its files); a status.d entry
//! is a METAFILE_OF its package and a copyright file DOCUMENTATION_OF it; a file made
//! from a package at install time (a `.pyc`) is GENERATED_FROM it, or, when that
//! package has no files of its own in the layer (the CA bundle of ca-certificates),
//! described by the document with a comment naming the package and its purl. Files carry
//! sha1 (required by SPDX) and sha256, and a comment saying where they come from.
//! Licenses the package declares become `licenseDeclared`; names that are not SPDX ids
//! are `LicenseRef-`s described in `hasExtractedLicensingInfos`. Nothing is concluded
//! (NOASSERTION): minroot reads declarations, it does not audit.

use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use super::attribute::Meta;
use super::inventory::{FileOwner, Inventory, TOOL_VERSION};
use crate::oci::rfc3339;
use crate::pack::digest::hex;

/// The document namespace (unique per content: the inventory's UUID).
pub fn namespace(inv: &Inventory) -> String {
    format!("https://minroot.invalid/spdxdocs/{}", inv.uuid)
}

/// SPDX ids may hold letters, digits, `.` and `-`.
fn id_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

pub fn package_id(inv: &Inventory, i: usize) -> String {
    let p = &inv.packages[i];
    format!(
        "SPDXRef-Package-{}-{}-{}",
        p.manager.purl_type(),
        i,
        id_part(&p.name)
    )
}

pub fn file_id(i: usize) -> String {
    format!("SPDXRef-File-{i}")
}

fn rel(a: &str, kind: &str, b: &str) -> Value {
    json!({"spdxElementId": a, "relationshipType": kind, "relatedSpdxElement": b})
}

/// The package verification code of files with these sha1s.
pub fn verification_code<'a>(sha1s: impl Iterator<Item = &'a str>) -> String {
    let mut v: Vec<&str> = sha1s.collect();
    v.sort_unstable();
    hex(&Sha1::digest(v.concat().as_bytes()))
}

/// The document as a JSON value.
pub fn document(inv: &Inventory) -> Value {
    let mut relationships = Vec::new();
    let mut packages = Vec::new();
    for (i, p) in inv.packages.iter().enumerate() {
        let id = package_id(inv, i);
        relationships.push(rel("SPDXRef-DOCUMENT", "DESCRIBES", &id));
        let own: Vec<&str> = inv
            .files_of(i)
            .map(|(_, f)| f.digest.sha1.as_str())
            .collect();
        let mut v = json!({
            "SPDXID": id,
            "name": p.name,
            "versionInfo": p.version,
            "supplier": "NOASSERTION",
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": !own.is_empty(),
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": p.license.as_ref().map(|l| l.expression.as_str()).unwrap_or("NOASSERTION"),
            "copyrightText": "NOASSERTION",
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": p.purl,
            }],
            "comment": format!("{} package, architecture {}, from the root's {} database",
                p.manager.purl_type(), if p.arch.is_empty() { "unknown" } else { &p.arch },
                p.manager.database_name()),
        });
        if !own.is_empty() {
            v["packageVerificationCode"] =
                json!({"packageVerificationCodeValue": verification_code(own.into_iter())});
        }
        if let Some(s) = &p.source {
            v["sourceInfo"] = json!(format!("built from source package {s}"));
        }
        packages.push(v);
    }
    let mut files = Vec::new();
    for (i, f) in inv.files.iter().enumerate() {
        let id = file_id(i);
        match &f.owner {
            FileOwner::Packages(v) => {
                for p in v {
                    relationships.push(rel(&package_id(inv, *p), "CONTAINS", &id));
                }
            }
            FileOwner::Metadata { package, what } => {
                let kind = match what {
                    Meta::PackageDb => "METAFILE_OF",
                    Meta::Copyright => "DOCUMENTATION_OF",
                };
                relationships.push(rel(&id, kind, &package_id(inv, *package)));
            }
            // Not the package's own file (outside its verification code): made from it.
            FileOwner::Generated {
                package: Some(p), ..
            } => {
                relationships.push(rel(&id, "GENERATED_FROM", &package_id(inv, *p)));
            }
            // Made from a package the layer does not hold: the comment names it.
            FileOwner::Generated { package: None, .. } | FileOwner::Unowned(_) => {
                relationships.push(rel("SPDXRef-DOCUMENT", "DESCRIBES", &id));
            }
        }
        files.push(json!({
            "SPDXID": id,
            "fileName": format!(".{}", f.path),
            "checksums": [
                {"algorithm": "SHA1", "checksumValue": f.digest.sha1},
                {"algorithm": "SHA256", "checksumValue": f.digest.sha256},
            ],
            "licenseConcluded": "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "comment": f.explain(inv),
        }));
    }
    let mut creation_comment = match &inv.database {
        Some(db) => format!("Packages and file owners from the root's {db} database."),
        None => {
            "The root has no package database (dpkg or apk): no file is attributed to a package."
                .to_string()
        }
    };
    if let Some(d) = &inv.distro.pretty_name {
        creation_comment.push_str(&format!(" Root: {d}."));
    }
    if let Some(b) = &inv.base {
        creation_comment.push_str(&format!(" Made from the image {b}."));
    }
    let mut doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": inv.name,
        "documentNamespace": namespace(inv),
        "creationInfo": {
            "created": rfc3339(inv.created),
            "creators": [format!("Tool: minroot-{TOOL_VERSION}")],
            "comment": creation_comment,
        },
        "packages": packages,
        "files": files,
        "relationships": relationships,
    });
    let refs = inv.license_refs();
    if !refs.is_empty() {
        doc["hasExtractedLicensingInfos"] = refs
            .iter()
            .map(|(id, name)| {
                json!({
                    "licenseId": id,
                    "name": name,
                    "extractedText": format!(
                        "The license a package declares as {name:?} (Debian copyright file or apk L: field); \
                         it has no SPDX license id. Its text is in the package's copyright file."
                    ),
                })
            })
            .collect();
    }
    doc
}

/// The document as the bytes written (pretty JSON, keys sorted, newline at the end).
pub fn to_bytes(inv: &Inventory) -> Vec<u8> {
    let text = serde_json::to_string_pretty(&document(inv)).expect("JSON values serialise");
    // A name that is not UTF-8 is shown `\xNN` (`sysroot::name`); the rest is as it is.
    let mut b = crate::sysroot::name::json(&text).into_owned().into_bytes();
    b.push(b'\n');
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_code_sorts_then_hashes() {
        // SPDX 2.3 7.9: sha1 of the concatenated, sorted sha1 values.
        let a = "a9993e364706816aba3e25717850c26c9cd0d89d";
        let b = "0000000000000000000000000000000000000000";
        let want = hex(&Sha1::digest(format!("{b}{a}").as_bytes()));
        assert_eq!(verification_code([a, b].into_iter()), want);
        assert_eq!(verification_code([b, a].into_iter()), want);
    }

    #[test]
    fn ids_use_allowed_characters() {
        assert_eq!(id_part("libstdc++6"), "libstdc--6");
        assert_eq!(id_part("python3.11"), "python3.11");
    }
}
