//! CycloneDX 1.5 JSON (`.cdx.json`) of an [`Inventory`], valid against the official 1.5
//! JSON schema.
//!
//! Shape: `metadata.component` is the layer (a container); every package is a `library`
//! component (bom-ref = its purl) whose nested `components` are its files (`type: file`,
//! SHA-1 and SHA-256 hashes), including the status.d entry and copyright file minroot
//! added for it and the `.pyc` compiled from its sources (role `generated-bytecode`),
//! each with the property `minroot:role`; files no package owns are top-level
//! components, and so are files made at install time from a package that has no files
//! of its own in the layer (the CA bundle: role `generated-by-maintainer-script`);
//! both kinds of generated file name their package's purl in `minroot:generated-from`. A file two packages list (Multi-Arch: same) is nested under the first and
//! names the others in `minroot:also-in`, since a bom-ref appears once. Licenses: one SPDX
//! id as `license.id`, an SPDX expression as `expression`, anything else as
//! `license.name` with the declared text. `serialNumber` is the inventory's UUID and
//! `timestamp` SOURCE_DATE_EPOCH.

use serde_json::{Value, json};

use super::attribute::{Made, Meta};
use super::inventory::{FileOwner, InvFile, Inventory, TOOL_VERSION};
use crate::oci::rfc3339;

fn prop(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

fn file_component(inv: &Inventory, f: &InvFile, role: &str, also: &[String]) -> Value {
    let mut props = vec![
        prop("minroot:role", role),
        prop("minroot:origin", &f.explain(inv)),
    ];
    if !also.is_empty() {
        props.push(prop("minroot:also-in", &also.join(" ")));
    }
    json!({
        "type": "file",
        "bom-ref": format!("file:{}", f.path),
        "name": f.path,
        "hashes": [
            {"alg": "SHA-1", "content": f.digest.sha1},
            {"alg": "SHA-256", "content": f.digest.sha256},
        ],
        "properties": props,
    })
}

/// The BOM as a JSON value.
pub fn document(inv: &Inventory) -> Value {
    let mut nested: Vec<Vec<Value>> = vec![Vec::new(); inv.packages.len()];
    let mut top_files = Vec::new();
    for f in &inv.files {
        match &f.owner {
            FileOwner::Packages(v) => {
                let also: Vec<String> = v[1..]
                    .iter()
                    .map(|p| inv.packages[*p].purl.clone())
                    .collect();
                nested[v[0]].push(file_component(inv, f, "package-file", &also));
            }
            FileOwner::Metadata { package, what } => {
                let role = match what {
                    Meta::PackageDb => "package-database",
                    Meta::Copyright => "copyright",
                };
                nested[*package].push(file_component(inv, f, role, &[]));
            }
            FileOwner::Generated {
                package,
                purl,
                made,
                ..
            } => {
                let role = match made {
                    Made::Bytecode { .. } => "generated-bytecode",
                    Made::Script { .. } => "generated-by-maintainer-script",
                };
                let mut c = file_component(inv, f, role, &[]);
                c["properties"]
                    .as_array_mut()
                    .expect("an array")
                    .push(prop("minroot:generated-from", purl));
                match package {
                    Some(p) => nested[*p].push(c),
                    None => top_files.push(c),
                }
            }
            FileOwner::Unowned(_) => top_files.push(file_component(inv, f, "unowned", &[])),
        }
    }
    let mut components = Vec::new();
    for (p, files) in inv.packages.iter().zip(nested) {
        let mut c = json!({
            "type": "library",
            "bom-ref": p.purl,
            "name": p.name,
            "version": p.version,
            "purl": p.purl,
            "properties": [
                prop("minroot:package-manager", p.manager.database_name()),
                prop("minroot:arch", &p.arch),
            ],
        });
        if let Some(s) = &p.source {
            c["properties"]
                .as_array_mut()
                .expect("an array")
                .push(prop("minroot:source-package", s));
        }
        if let Some(l) = &p.license {
            c["licenses"] = if let Some(id) = l.single_id() {
                json!([{"license": {"id": id}}])
            } else if l.refs.is_empty() {
                json!([{"expression": l.expression}])
            } else {
                json!([{"license": {"name": l.declared}}])
            };
        }
        if !files.is_empty() {
            c["components"] = Value::Array(files);
        }
        components.push(c);
    }
    components.extend(top_files);
    let database = inv.database.as_deref().unwrap_or("none");
    let mut meta_props = vec![
        prop("minroot:package-database", database),
        prop(
            "minroot:distro",
            inv.distro.pretty_name.as_deref().unwrap_or("unknown"),
        ),
    ];
    if let Some(b) = &inv.base {
        meta_props.push(prop("minroot:base-image", b));
    }
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:{}", inv.uuid),
        "version": 1,
        "metadata": {
            "timestamp": rfc3339(inv.created),
            "tools": {"components": [{
                "type": "application",
                "name": "minroot",
                "version": TOOL_VERSION,
            }]},
            "component": {
                "type": "container",
                "bom-ref": "minroot-layer",
                "name": inv.name,
            },
            "properties": meta_props,
        },
        "components": components,
        "dependencies": [{
            "ref": "minroot-layer",
            "dependsOn": inv.packages.iter().map(|p| p.purl.clone()).collect::<Vec<_>>(),
        }],
    })
}

/// The BOM as the bytes written (pretty JSON, newline at the end).
pub fn to_bytes(inv: &Inventory) -> Vec<u8> {
    let text = serde_json::to_string_pretty(&document(inv)).expect("JSON values serialise");
    // A name that is not UTF-8 is shown `\xNN` (`sysroot::name`); the rest is as it is.
    let mut b = crate::sysroot::name::json(&text).into_owned().into_bytes();
    b.push(b'\n');
    b
}
