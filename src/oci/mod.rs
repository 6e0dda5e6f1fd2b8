//! OCI images: config, manifest and index as canonical JSON (sorted keys, no whitespace),
//! written as an image layout directory or one archive tar that also carries Docker's
//! `manifest.json`. Everything is derived from the layers and the options, with `created`
//! from SOURCE_DATE_EPOCH, so the digests are reproducible. This file decides what the
//! documents say; their shapes are `spec.rs`'s (shared with `check`'s reader), the files
//! and directories `layout.rs`'s.

pub mod layout;
pub mod spec;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use spec::{ContainerConfig, Descriptor, History, ImageConfig, Index, Manifest, Platform, RootFs};

use crate::arch::Arch;
use crate::pack::LayerInfo;

pub const MT_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MT_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MT_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const ANN_REF_NAME: &str = "org.opencontainers.image.ref.name";
pub const ANN_CREATED: &str = "org.opencontainers.image.created";

/// The environment every image starts with: the default PATH, and SSL_CERT_FILE naming
/// the base files' CA bundle.
pub fn default_env() -> Vec<String> {
    vec![
        format!("PATH={}", crate::facts::DEFAULT_PATH),
        format!("SSL_CERT_FILE={}", crate::facts::CA_BUNDLE),
    ]
}

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
    /// Inherited from a source image (no flag sets them).
    pub exposed_ports: Option<BTreeMap<String, spec::Empty>>,
    pub volumes: Option<BTreeMap<String, spec::Empty>>,
    pub stop_signal: Option<String>,
}

impl RunConfig {
    /// Adds `KEY=VALUE` entries to the defaults (PATH, SSL_CERT_FILE), replacing keys.
    pub fn with_env(extra: &[String]) -> Vec<String> {
        RunConfig::env_over(&default_env(), extra)
    }

    /// `extra` over `base`: a key of `extra` replaces the same key of `base`.
    pub fn env_over(base: &[String], extra: &[String]) -> Vec<String> {
        let mut env = base.to_vec();
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
    /// A blob of `v` as canonical JSON.
    pub fn json(media_type: &str, v: &Value) -> Blob {
        Blob::of(media_type, v)
    }
    /// A blob of any document (a [`spec`] struct) as canonical JSON.
    pub fn of<T: Serialize>(media_type: &str, v: &T) -> Blob {
        let bytes = spec::canonical_json(v);
        Blob {
            digest: crate::pack::digest::sha256_digest(&bytes),
            media_type: media_type.into(),
            bytes,
        }
    }
    /// The descriptor of this blob (media type, digest, size).
    pub fn oci_descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: self.media_type.clone(),
            digest: self.digest.clone(),
            size: self.bytes.len() as u64,
            ..Descriptor::default()
        }
    }
    /// [`Blob::oci_descriptor`] as JSON.
    pub fn descriptor(&self) -> Value {
        serde_json::to_value(self.oci_descriptor()).expect("descriptors serialise")
    }
}

/// RFC 3339 UTC time of a Unix timestamp, to the second: `2023-11-14T22:13:20Z`. A time
/// after the last second jiff represents (9999-12-30T22:00:00Z; RFC 3339 has four-digit
/// years) is written as that second.
pub fn rfc3339(secs: u64) -> String {
    let t = i64::try_from(secs)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .unwrap_or(jiff::Timestamp::MAX);
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl RunConfig {
    /// The `config` object of the image config: a field only when it has a value (an
    /// empty entrypoint, command, env, user or label set is not written).
    pub fn container_config(&self) -> ContainerConfig {
        let some = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        ContainerConfig {
            entrypoint: some(&self.entrypoint),
            cmd: some(&self.cmd),
            env: some(&self.env),
            user: (!self.user.is_empty()).then(|| self.user.clone()),
            working_dir: self.workdir.clone(),
            labels: (!self.labels.is_empty()).then(|| self.labels.clone()),
            exposed_ports: self.exposed_ports.clone().filter(|p| !p.is_empty()),
            volumes: self.volumes.clone().filter(|v| !v.is_empty()),
            stop_signal: self.stop_signal.clone().filter(|s| !s.is_empty()),
        }
    }
}

/// The image config document for `arch` with `layers` (bottom first).
pub fn image_config(arch: Arch, run: &RunConfig, layers: &[LayerRef], created: u64) -> ImageConfig {
    let ts = rfc3339(created);
    ImageConfig {
        created: Some(ts.clone()),
        architecture: arch.oci_arch().into(),
        os: "linux".into(),
        variant: arch.oci_variant().map(Into::into),
        config: run.container_config(),
        rootfs: RootFs {
            diff_ids: layers.iter().map(|l| l.info.diff_id.clone()).collect(),
            ..RootFs::default()
        },
        history: layers
            .iter()
            .map(|l| History {
                created: Some(ts.clone()),
                created_by: Some(l.created_by.clone()),
                comment: Some(format!("minroot {}", env!("CARGO_PKG_VERSION"))),
                ..History::default()
            })
            .collect(),
        ..ImageConfig::default()
    }
}

/// The OCI image config blob for `arch` with `layers` (bottom first).
pub fn config(arch: Arch, run: &RunConfig, layers: &[LayerRef], created: u64) -> Blob {
    Blob::of(MT_CONFIG, &image_config(arch, run, layers, created))
}

/// The annotation naming the image an image was made from (OCI's pre-defined key).
pub const ANN_BASE_DIGEST: &str = "org.opencontainers.image.base.digest";
/// The annotation naming it as it was given.
pub const ANN_BASE_NAME: &str = "org.opencontainers.image.base.name";

/// The manifest of one image.
pub fn manifest(config: &Blob, layers: &[LayerRef], created: u64) -> Blob {
    manifest_with(config, layers, created, &BTreeMap::new())
}

/// [`manifest`] with more annotations (the source image's, `ANN_BASE_*`).
pub fn manifest_with(
    config: &Blob,
    layers: &[LayerRef],
    created: u64,
    extra: &BTreeMap<String, String>,
) -> Blob {
    let layers = layers
        .iter()
        .map(|l| Descriptor {
            media_type: l.media_type.into(),
            digest: l.info.blob_digest.clone(),
            size: l.info.blob_bytes,
            ..Descriptor::default()
        })
        .collect();
    Blob::of(
        MT_MANIFEST,
        &Manifest {
            schema_version: 2,
            media_type: MT_MANIFEST.into(),
            config: Some(config.oci_descriptor()),
            layers: Some(layers),
            annotations: {
                let mut a = extra.clone();
                a.insert(ANN_CREATED.into(), rfc3339(created));
                a
            },
        },
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

fn ref_annotation(r: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(ANN_REF_NAME.into(), r.into())])
}

fn platform_descriptor(e: &IndexEntry, with_ref: bool) -> Descriptor {
    Descriptor {
        platform: Some(Platform {
            architecture: e.arch.oci_arch().into(),
            os: "linux".into(),
            variant: e.arch.oci_variant().map(Into::into),
        }),
        annotations: match (with_ref, &e.ref_name) {
            (true, Some(r)) => ref_annotation(r),
            _ => BTreeMap::new(),
        },
        ..e.manifest.oci_descriptor()
    }
}

fn index_of(manifests: Vec<Descriptor>) -> Index {
    Index {
        schema_version: 2,
        media_type: MT_INDEX.into(),
        manifests: Some(manifests),
        annotations: BTreeMap::new(),
    }
}

/// The image index (`index.json`) and the nested indexes it points to. With one
/// platform, every manifest is listed directly with its ref name. With several, each
/// ref name points to a nested index (a multi-platform image) that lists one manifest
/// per platform, which is what `skopeo`, `podman` and registries expect of one tag.
pub fn image_index(entries: &[IndexEntry]) -> (Index, Vec<Blob>) {
    let mut archs: Vec<Arch> = entries.iter().map(|e| e.arch).collect();
    archs.sort();
    archs.dedup();
    if archs.len() <= 1 {
        let manifests = entries
            .iter()
            .map(|e| platform_descriptor(e, true))
            .collect();
        return (index_of(manifests), vec![]);
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
        let manifests = entries
            .iter()
            .filter(|e| e.ref_name == r)
            .map(|e| platform_descriptor(e, false))
            .collect();
        let blob = Blob::of(MT_INDEX, &index_of(manifests));
        let mut d = blob.oci_descriptor();
        if let Some(r) = &r {
            d.annotations = ref_annotation(r);
        }
        top.push(d);
        nested.push(blob);
    }
    (index_of(top), nested)
}

/// [`image_index`] with the top index as JSON (keys sorted), for [`layout::Staging`].
pub fn index(entries: &[IndexEntry]) -> (Value, Vec<Blob>) {
    let (top, nested) = image_index(entries);
    (
        serde_json::to_value(top).expect("indexes serialise"),
        nested,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc3339_known_values() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
        // The largest --source-date-epoch (a tar header's 11 octal digits).
        assert_eq!(rfc3339(0o77777777777), "2242-03-16T12:56:31Z");
        assert_eq!(rfc3339(253_402_207_200), "9999-12-30T22:00:00Z");
        assert_eq!(rfc3339(253_402_207_201), "9999-12-30T22:00:00Z");
        assert_eq!(rfc3339(u64::MAX), "9999-12-30T22:00:00Z");
    }

    /// The days-to-civil algorithm (Howard Hinnant's) minroot used before jiff: the naive
    /// twin of [`rfc3339`], compared over 400 years at odd steps.
    #[test]
    fn rfc3339_is_the_civil_calendar() {
        fn naive(secs: u64) -> String {
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
        let mut s = 0u64;
        while s < 12_700_000_000 {
            assert_eq!(rfc3339(s), naive(s), "{s}");
            s += 86_399 * 3 + 7;
        }
        for s in [59, 60, 3599, 3600, 86_399, 86_400, 951_868_799, 951_868_800] {
            assert_eq!(rfc3339(s), naive(s), "{s}");
        }
    }

    #[test]
    fn env_defaults_and_overrides() {
        let e = RunConfig::with_env(&["PATH=/x".into(), "A=1".into()]);
        assert_eq!(
            e,
            [
                "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt".to_string(),
                "PATH=/x".into(),
                "A=1".into()
            ]
        );
        assert_eq!(
            default_env()[0],
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        );
    }

    /// The documents as minroot built them before the typed structs, from
    /// `serde_json::Value`s: the naive twin the typed writer is checked against.
    mod naive {
        use super::super::*;
        use serde_json::json;

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

        fn descriptor(b: &Blob) -> Value {
            json!({"mediaType": b.media_type, "digest": b.digest, "size": b.bytes.len()})
        }

        pub fn manifest(config: &Blob, layers: &[LayerRef], created: u64) -> Blob {
            let layers: Vec<Value> = layers.iter().map(|l| json!({"mediaType": l.media_type, "digest": l.info.blob_digest, "size": l.info.blob_bytes})).collect();
            Blob::json(
                MT_MANIFEST,
                &json!({
                    "schemaVersion": 2,
                    "mediaType": MT_MANIFEST,
                    "config": descriptor(config),
                    "layers": layers,
                    "annotations": {ANN_CREATED: rfc3339(created)},
                }),
            )
        }

        fn platform_descriptor(e: &IndexEntry, with_ref: bool) -> Value {
            let mut d = descriptor(&e.manifest);
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
                let mut d = descriptor(&blob);
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
    }

    fn layer(n: u8, created_by: &str) -> LayerRef {
        let info = LayerInfo {
            compression: crate::pack::Compression::Gzip,
            stats: Default::default(),
            tar_bytes: 10_240,
            diff_id: format!("sha256:{:064x}", n),
            blob_digest: format!("sha256:{:064x}", u32::from(n) + 0x1000),
            blob_bytes: 1234 + u64::from(n),
        };
        LayerRef {
            info,
            media_type: crate::pack::Compression::Gzip.media_type(),
            created_by: created_by.into(),
        }
    }

    fn runs() -> Vec<RunConfig> {
        let empty = RunConfig {
            entrypoint: vec![],
            cmd: vec![],
            env: vec![],
            user: String::new(),
            workdir: None,
            labels: BTreeMap::new(),
            exposed_ports: None,
            volumes: None,
            stop_signal: None,
        };
        let full = RunConfig {
            entrypoint: vec!["/usr/sbin/nginx".into()],
            cmd: vec!["-g".into(), "daemon off;".into()],
            env: RunConfig::with_env(&["PRICE=$5".into(), "Q=\"x\"".into()]),
            user: DEFAULT_USER.into(),
            workdir: Some("/".into()),
            labels: BTreeMap::from([("z".into(), "1".into()), ("a.b".into(), "é".into())]),
            exposed_ports: None,
            volumes: None,
            stop_signal: None,
        };
        let empty_workdir = RunConfig {
            workdir: Some(String::new()),
            ..empty.clone()
        };
        vec![empty, full, empty_workdir]
    }

    #[test]
    fn typed_documents_are_the_bytes_of_the_naive_twin() {
        let layers = [
            layer(1, "minroot pack /usr/bin/curl"),
            layer(2, "dev tools"),
        ];
        for arch in [Arch::X86_64, Arch::Aarch64] {
            for run in runs() {
                for n in [0, 1, 2] {
                    for created in [0, 1_700_000_000] {
                        let l = &layers[..n];
                        let c = config(arch, &run, l, created);
                        let want = naive::config(arch, &run, l, created);
                        assert_eq!(
                            String::from_utf8(c.bytes.clone()).unwrap(),
                            String::from_utf8(want.bytes.clone()).unwrap()
                        );
                        let m = manifest(&c, l, created);
                        assert_eq!(m.bytes, naive::manifest(&want, l, created).bytes);
                        assert_eq!(c.digest, want.digest);
                    }
                }
            }
        }
    }

    #[test]
    fn typed_index_is_the_bytes_of_the_naive_twin() {
        let run = &runs()[1];
        let l = [layer(1, "x")];
        let entry = |arch, tag: Option<&str>, created| {
            let c = config(arch, run, &l, created);
            IndexEntry {
                manifest: manifest(&c, &l, created),
                arch,
                ref_name: tag.map(Into::into),
            }
        };
        let cases = [
            vec![entry(Arch::X86_64, Some("a:1"), 0)],
            vec![entry(Arch::Aarch64, None, 0)],
            vec![
                entry(Arch::X86_64, Some("a:1"), 0),
                entry(Arch::X86_64, Some("a:1-dev"), 1),
            ],
            vec![
                entry(Arch::X86_64, Some("a:1"), 0),
                entry(Arch::Aarch64, Some("a:1"), 0),
                entry(Arch::X86_64, Some("a:1-dev"), 1),
                entry(Arch::Aarch64, Some("a:1-dev"), 1),
                entry(Arch::Aarch64, None, 2),
            ],
        ];
        for entries in cases {
            let (top, nested) = index(&entries);
            let (want_top, want_nested) = naive::index(&entries);
            assert_eq!(
                serde_json::to_vec(&top).unwrap(),
                serde_json::to_vec(&want_top).unwrap()
            );
            assert_eq!(nested.len(), want_nested.len());
            for (a, b) in nested.iter().zip(&want_nested) {
                assert_eq!(a.bytes, b.bytes);
                assert_eq!(
                    a.descriptor(),
                    json!({"mediaType": b.media_type, "digest": b.digest, "size": b.bytes.len()})
                );
            }
        }
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
