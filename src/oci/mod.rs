//! OCI images: config, manifest and index as canonical JSON (sorted keys, no whitespace),
//! written as an image layout directory or one archive tar that also carries Docker's
//! `manifest.json`. Everything is derived from the layers and the options, with `created`
//! from SOURCE_DATE_EPOCH, so the digests are reproducible.

pub mod layout;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::arch::Arch;
use crate::pack::LayerInfo;

pub const MT_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MT_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MT_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const ANN_REF_NAME: &str = "org.opencontainers.image.ref.name";
pub const ANN_CREATED: &str = "org.opencontainers.image.created";

/// The default PATH of the image.
pub const DEFAULT_PATH_ENV: &str =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// The default SSL_CERT_FILE (the base files' CA bundle).
pub const DEFAULT_SSL_ENV: &str = "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt";
/// distroless's nonroot user.
pub const DEFAULT_USER: &str = "65532";

/// The run-time configuration of an image (the `config` object of the OCI config).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// `KEY=VALUE`, in order; a later key replaces an earlier one.
    pub env: Vec<String>,
    pub user: String,
    pub workdir: Option<String>,
    pub labels: BTreeMap<String, String>,
}

impl RunConfig {
    /// Adds `KEY=VALUE` entries to the defaults (PATH, SSL_CERT_FILE), replacing keys.
    pub fn with_env(extra: &[String]) -> Vec<String> {
        let mut env: Vec<String> = vec![DEFAULT_PATH_ENV.into(), DEFAULT_SSL_ENV.into()];
        for e in extra {
            let k = e.split('=').next().unwrap_or(e);
            env.retain(|x| x.split('=').next() != Some(k));
            env.push(e.clone());
        }
        env
    }
}

/// One layer of an image: its blob and its diff_id.
#[derive(Clone, Debug)]
pub struct LayerRef {
    pub info: LayerInfo,
    pub media_type: &'static str,
    /// What made it, for the history.
    pub created_by: String,
}

/// A blob to store: digest, size, media type and bytes.
#[derive(Clone, Debug)]
pub struct Blob {
    pub digest: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

impl Blob {
    pub fn json(media_type: &str, v: &Value) -> Blob {
        let bytes = serde_json::to_vec(v).expect("JSON values serialise");
        Blob {
            digest: crate::pack::digest::sha256_digest(&bytes),
            media_type: media_type.into(),
            bytes,
        }
    }
    pub fn descriptor(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.bytes.len()})
    }
}

/// RFC 3339 UTC time of a Unix timestamp (proleptic Gregorian; Howard Hinnant's
/// days-to-civil algorithm).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The OCI image config for `arch` with `layers` (bottom first).
pub fn config(arch: Arch, run: &RunConfig, layers: &[LayerRef], created: u64) -> Blob {
    let ts = rfc3339(created);
    let mut cfg = serde_json::Map::new();
    if !run.entrypoint.is_empty() {
        cfg.insert("Entrypoint".into(), json!(run.entrypoint));
    }
    if !run.cmd.is_empty() {
        cfg.insert("Cmd".into(), json!(run.cmd));
    }
    if !run.env.is_empty() {
        cfg.insert("Env".into(), json!(run.env));
    }
    if !run.user.is_empty() {
        cfg.insert("User".into(), json!(run.user));
    }
    if let Some(w) = &run.workdir {
        cfg.insert("WorkingDir".into(), json!(w));
    }
    if !run.labels.is_empty() {
        cfg.insert("Labels".into(), json!(run.labels));
    }
    let mut v = json!({
        "architecture": arch.oci_arch(),
        "os": "linux",
        "created": ts,
        "config": Value::Object(cfg),
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.info.diff_id.clone()).collect::<Vec<_>>()},
        "history": layers.iter().map(|l| json!({"created": ts, "created_by": l.created_by, "comment": format!("minroot {}", env!("CARGO_PKG_VERSION"))})).collect::<Vec<_>>(),
    });
    if let Some(var) = arch.oci_variant() {
        v["variant"] = json!(var);
    }
    Blob::json(MT_CONFIG, &v)
}

/// The manifest of one image.
pub fn manifest(config: &Blob, layers: &[LayerRef], created: u64) -> Blob {
    let layers: Vec<Value> = layers.iter().map(|l| json!({"mediaType": l.media_type, "digest": l.info.blob_digest, "size": l.info.blob_bytes})).collect();
    Blob::json(
        MT_MANIFEST,
        &json!({
            "schemaVersion": 2,
            "mediaType": MT_MANIFEST,
            "config": config.descriptor(),
            "layers": layers,
            "annotations": {ANN_CREATED: rfc3339(created)},
        }),
    )
}

/// One manifest as listed in an index.
#[derive(Clone, Debug)]
pub struct IndexEntry {
    pub manifest: Blob,
    pub arch: Arch,
    /// `org.opencontainers.image.ref.name`.
    pub ref_name: Option<String>,
}

fn platform_descriptor(e: &IndexEntry, with_ref: bool) -> Value {
    let mut d = e.manifest.descriptor();
    let mut platform = json!({"architecture": e.arch.oci_arch(), "os": "linux"});
    if let Some(v) = e.arch.oci_variant() {
        platform["variant"] = json!(v);
    }
    d["platform"] = platform;
    if let (true, Some(r)) = (with_ref, &e.ref_name) {
        d["annotations"] = json!({ANN_REF_NAME: r});
    }
    d
}

/// The image index (`index.json`) and the nested indexes it points to. With one
/// platform, every manifest is listed directly with its ref name. With several, each
/// ref name points to a nested index (a multi-platform image) that lists one manifest
/// per platform, which is what `skopeo`, `podman` and registries expect of one tag.
pub fn index(entries: &[IndexEntry]) -> (Value, Vec<Blob>) {
    let mut archs: Vec<Arch> = entries.iter().map(|e| e.arch).collect();
    archs.sort();
    archs.dedup();
    if archs.len() <= 1 {
        let manifests: Vec<Value> = entries
            .iter()
            .map(|e| platform_descriptor(e, true))
            .collect();
        return (
            json!({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": manifests}),
            vec![],
        );
    }
    let mut refs: Vec<Option<String>> = Vec::new();
    for e in entries {
        if !refs.contains(&e.ref_name) {
            refs.push(e.ref_name.clone());
        }
    }
    let mut nested = Vec::new();
    let mut top = Vec::new();
    for r in refs {
        let manifests: Vec<Value> = entries
            .iter()
            .filter(|e| e.ref_name == r)
            .map(|e| platform_descriptor(e, false))
            .collect();
        let blob = Blob::json(
            MT_INDEX,
            &json!({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": manifests}),
        );
        let mut d = blob.descriptor();
        if let Some(r) = &r {
            d["annotations"] = json!({ANN_REF_NAME: r});
        }
        top.push(d);
        nested.push(blob);
    }
    (
        json!({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": top}),
        nested,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_values() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn env_defaults_and_overrides() {
        let e = RunConfig::with_env(&["PATH=/x".into(), "A=1".into()]);
        assert_eq!(
            e,
            [DEFAULT_SSL_ENV.to_string(), "PATH=/x".into(), "A=1".into()]
        );
    }

    #[test]
    fn json_keys_are_sorted_and_compact() {
        let b = Blob::json(MT_CONFIG, &json!({"b": 1, "a": {"d": 2, "c": 3}}));
        assert_eq!(
            String::from_utf8(b.bytes).unwrap(),
            r#"{"a":{"c":3,"d":2},"b":1}"#
        );
    }
}
