//! The JSON documents of an image as typed serde structs: the image config, the manifest,
//! the index, their descriptors and platforms, `oci-layout`, and Docker's `manifest.json`
//! of `docker save` archives. One set of types for both directions: `oci/mod.rs` and
//! `oci/layout.rs` fill them to write images, `check/oci.rs` reads images that anyone may
//! have made into them. Deciding what to write is not this module's job, nor choosing a
//! platform or verifying a blob.
//!
//! Writing: [`canonical_json`] serialises through a `serde_json::Value`, whose maps are
//! BTreeMaps, so keys come out sorted whatever the field order here, with no whitespace.
//! Absent optional fields are skipped, so a struct writes exactly the keys it was given:
//! `minroot pack` writes `"config":{}` for an image without a run configuration, and no
//! `"Cmd"` unless there is one.
//!
//! Reading (untrusted input): unknown fields are ignored; every field may be missing or
//! `null` (Docker writes `"Cmd": null` and `"Labels": null`). What a document needs to be
//! of use (an index's `manifests`, a manifest's `config` and `layers`, a descriptor's
//! `digest`) is checked by the reader, which knows the file to name in the error. A field
//! of the wrong type (a `size` that is a string) makes the document invalid. Maps are
//! BTreeMaps, so what is read is in one order and writes back sorted.
//!
//! The image config carries the whole run configuration of the OCI spec (Entrypoint, Cmd,
//! Env, WorkingDir, User, ExposedPorts, Volumes, Labels, StopSignal), so an image read as
//! input can hand it to the image written from it. Docker's own additions (Healthcheck,
//! Shell, OnBuild, ArgsEscaped) are not in the OCI spec and are dropped.
//!
//! Why not the `oci-spec` crate (0.10, module `image`): it writes the same bytes (checked:
//! its `ImageConfiguration` through `serde_json::to_value` gives today's config), but as a
//! reader of other people's images it is stricter than minroot was, and the messages are
//! its own: a config without `rootfs`, a descriptor without `mediaType` and a manifest
//! without `schemaVersion` are "missing field" errors, and a digest such as
//! `sha256:../../etc/passwd` fails inside the JSON parser as "Invalid encoded value"
//! instead of minroot's "bad digest" naming the layout. It has no type for Docker's
//! `manifest.json`; it reads `ExposedPorts` and `Volumes` through a HashMap into a Vec, in
//! an order that changes run by run; and it brings about twenty crates (derive_builder,
//! darling, getset, strum, regex, const_format, and a second major version of syn) for
//! what is a few structs here.

use std::collections::BTreeMap;

use serde::de::{self, Deserializer, IgnoredAny};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// The bytes of `v` as canonical JSON: keys sorted at every level, no whitespace.
pub fn canonical_json<T: Serialize>(v: &T) -> Vec<u8> {
    let v = serde_json::to_value(v).expect("image documents serialise");
    serde_json::to_vec(&v).expect("JSON values serialise")
}

/// `null` or missing as the default value (serde's `default` alone takes only missing).
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A list of strings that may also be given as one string, as Docker reads `Cmd` and
/// `Entrypoint` (its `StrSlice`): `"sh"` is `["sh"]`; `null` is absent.
fn str_slice<'de, D>(d: D) -> Result<Option<Vec<String>>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => None,
        Some(OneOrMany::One(s)) => Some(vec![s]),
        Some(OneOrMany::Many(v)) => Some(v),
    })
}

/// The value of a Go `map[string]struct{}` (`ExposedPorts`, `Volumes`): written as `{}`,
/// read from anything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Empty;

impl Serialize for Empty {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_map(Some(0))?.end()
    }
}

impl<'de> Deserialize<'de> for Empty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Empty, D::Error> {
        IgnoredAny::deserialize(d).map(|_| Empty)
    }
}

/// A content descriptor: what a manifest, index or layer blob is and where to find it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    /// Empty when the descriptor does not say (then not written).
    #[serde(
        rename = "mediaType",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub media_type: String,
    /// `sha256:<hex>`; empty when missing (an error for the reader to report).
    #[serde(default, deserialize_with = "null_default")]
    pub digest: String,
    #[serde(default, deserialize_with = "null_default")]
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
}

/// The platform of a descriptor in an index.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// OCI spelling (`amd64`, `arm64`); empty when missing.
    #[serde(default, deserialize_with = "null_default")]
    pub architecture: String,
    /// `linux`; empty when missing.
    #[serde(default, deserialize_with = "null_default")]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// An image manifest (`application/vnd.oci.image.manifest.v1+json`, or Docker's schema 2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    #[serde(rename = "schemaVersion", default, deserialize_with = "null_default")]
    pub schema_version: u32,
    #[serde(
        rename = "mediaType",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub media_type: String,
    /// None when missing (a manifest without a config is an error for the reader).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Descriptor>,
    /// Bottom first; None when missing (unlike an empty list, an error for the reader).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<Descriptor>>,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
}

/// An image index (`index.json`, or a nested index blob; also Docker's manifest list).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    #[serde(rename = "schemaVersion", default, deserialize_with = "null_default")]
    pub schema_version: u32,
    #[serde(
        rename = "mediaType",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub media_type: String,
    /// None when missing (an error for the reader; an empty list is not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifests: Option<Vec<Descriptor>>,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
}

/// The image config (`application/vnd.oci.image.config.v1+json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// OCI spelling (`amd64`, `arm64`); empty when missing.
    #[serde(default, deserialize_with = "null_default")]
    pub architecture: String,
    /// `linux`; empty when missing.
    #[serde(default, deserialize_with = "null_default")]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Always written, `{}` when empty.
    #[serde(default, deserialize_with = "null_default")]
    pub config: ContainerConfig,
    #[serde(default, deserialize_with = "null_default")]
    pub rootfs: RootFs,
    /// One entry per layer (and per `empty_layer` step); always written.
    #[serde(default, deserialize_with = "null_default")]
    pub history: Vec<History>,
}

/// The run configuration inside the image config (`config`), in the spec's spelling.
/// A field that is None is not written; Some of an empty list is (`"Entrypoint": []`
/// resets an inherited entrypoint, so the two differ).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    /// `uid`, `uid:gid`, `name` or `name:group`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `80/tcp`, `53/udp`, `8080`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Empty>>,
    /// `KEY=VALUE`, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "str_slice",
        skip_serializing_if = "Option::is_none"
    )]
    pub entrypoint: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "str_slice",
        skip_serializing_if = "Option::is_none"
    )]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, Empty>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// `SIGTERM`, `SIGQUIT`, `9`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
}

/// `rootfs` of the image config: the layers' diff_ids, bottom first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type", default, deserialize_with = "null_default")]
    pub kind: String,
    #[serde(default, deserialize_with = "null_default")]
    pub diff_ids: Vec<String>,
}

impl Default for RootFs {
    fn default() -> RootFs {
        RootFs {
            kind: "layers".into(),
            diff_ids: Vec::new(),
        }
    }
}

/// One step of the image's history.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// A step that made no layer (ENV, CMD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_layer: Option<bool>,
}

/// The `oci-layout` file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OciLayout {
    #[serde(rename = "imageLayoutVersion")]
    pub image_layout_version: String,
}

impl Default for OciLayout {
    fn default() -> OciLayout {
        OciLayout {
            image_layout_version: "1.0.0".into(),
        }
    }
}

/// One image of Docker's `manifest.json` (a `docker save` archive is a list of them).
/// Paths are relative to the archive's top.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DockerManifestEntry {
    /// The config file; empty when missing (an error for the reader).
    #[serde(rename = "Config", default, deserialize_with = "null_default")]
    pub config: String,
    /// `null` for an untagged image.
    #[serde(rename = "RepoTags", default, deserialize_with = "null_default")]
    pub repo_tags: Vec<String>,
    /// The layer files, bottom first.
    #[serde(rename = "Layers", default, deserialize_with = "null_default")]
    pub layers: Vec<String>,
}

/// Whether `bytes` look like Docker's `manifest.json`: a non-empty list whose entries all
/// have a `Layers` key (of any value; the reader judges it).
pub fn looks_like_docker_manifest(bytes: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "Layers")]
        _layers: IgnoredAny,
    }
    serde_json::from_slice::<Vec<Probe>>(bytes).is_ok_and(|v| !v.is_empty())
}

/// The reader's view of a serde_json error: a syntax error is "invalid JSON", valid JSON
/// of the wrong shape says which field.
pub fn json_error(e: &serde_json::Error) -> String {
    match e.classify() {
        serde_json::error::Category::Data => e.to_string(),
        _ => format!("invalid JSON: {e}"),
    }
}

/// Parses a document, with [`json_error`]'s wording on failure.
pub fn from_slice<T: de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| json_error(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_docker_config_with_unknown_fields_and_nulls_is_read() {
        // As `docker save` and podman write them: fields the OCI spec does not have, and
        // `null` for empty lists and maps.
        let s = br#"{"architecture":"amd64","os":"linux","docker_version":"24.0.7",
            "container_config":{"Hostname":"x"},"os.version":"",
            "config":{"Hostname":"","Env":["PATH=/bin"],"Cmd":null,"Entrypoint":"/bin/sh",
              "Labels":null,"OnBuild":null,"ArgsEscaped":true,"WorkingDir":"",
              "ExposedPorts":{"80/tcp":{},"53/udp":{}},"Volumes":{"/data":null},
              "StopSignal":"SIGQUIT","Healthcheck":{"Test":["NONE"]}},
            "rootfs":{"type":"layers","diff_ids":["sha256:aa"]},
            "history":[{"created":"2024-01-01T00:00:00Z","created_by":"ENV A=1","empty_layer":true}]}"#;
        let c: ImageConfig = from_slice(s).unwrap();
        assert_eq!(c.architecture, "amd64");
        assert_eq!(c.config.cmd, None);
        assert_eq!(c.config.entrypoint, Some(vec!["/bin/sh".to_string()]));
        assert_eq!(c.config.labels, None);
        assert_eq!(c.config.working_dir.as_deref(), Some(""));
        assert_eq!(c.config.stop_signal.as_deref(), Some("SIGQUIT"));
        assert_eq!(
            c.config
                .exposed_ports
                .as_ref()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["53/udp", "80/tcp"]
        );
        assert_eq!(
            c.config
                .volumes
                .as_ref()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["/data"]
        );
        assert_eq!(c.history[0].empty_layer, Some(true));
        assert_eq!(c.rootfs.diff_ids, ["sha256:aa"]);
    }

    #[test]
    fn a_config_read_writes_back_its_run_configuration_sorted() {
        let s = br#"{"os":"linux","architecture":"arm64","variant":"v8",
            "config":{"User":"65532","StopSignal":"SIGTERM","Volumes":{"/v":{}},
              "ExposedPorts":{"8080/tcp":{}},"Labels":{"b":"2","a":"1"},"Env":["A=1"],
              "Entrypoint":[],"Cmd":["-g"],"WorkingDir":"/srv","Shell":["/bin/sh"]}}"#;
        let c: ImageConfig = from_slice(s).unwrap();
        let out = String::from_utf8(canonical_json(&c)).unwrap();
        assert_eq!(
            out,
            concat!(
                r#"{"architecture":"arm64","config":{"Cmd":["-g"],"Entrypoint":[],"Env":["A=1"],"#,
                r#""ExposedPorts":{"8080/tcp":{}},"Labels":{"a":"1","b":"2"},"StopSignal":"SIGTERM","#,
                r#""User":"65532","Volumes":{"/v":{}},"WorkingDir":"/srv"},"history":[],"os":"linux","#,
                r#""rootfs":{"diff_ids":[],"type":"layers"},"variant":"v8"}"#
            )
        );
        let again: ImageConfig = from_slice(out.as_bytes()).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn missing_parts_are_left_to_the_reader() {
        let m: Manifest = from_slice(br#"{"layers":[{"digest":"sha256:aa"}]}"#).unwrap();
        assert_eq!(m.config, None);
        let l = &m.layers.unwrap()[0];
        assert_eq!((l.media_type.as_str(), l.size), ("", 0));
        let m: Manifest = from_slice(br#"{"config":{"digest":"sha256:aa"}}"#).unwrap();
        assert_eq!(m.layers, None);
        let i: Index = from_slice(br#"{"schemaVersion":2}"#).unwrap();
        assert_eq!(i.manifests, None);
        let i: Index = from_slice(br#"{"manifests":[{"size":3}]}"#).unwrap();
        assert_eq!(i.manifests.unwrap()[0].digest, "");
        let c: ImageConfig = from_slice(b"{}").unwrap();
        assert_eq!((c.architecture.as_str(), c.os.as_str()), ("", ""));
    }

    #[test]
    fn wrong_types_and_bad_json_are_told_apart() {
        let e = from_slice::<Manifest>(br#"{"layers":[{"digest":5}]}"#).unwrap_err();
        assert!(e.starts_with("invalid type: integer `5`"), "{e}");
        let e = from_slice::<Manifest>(br#"{"layers":["#).unwrap_err();
        assert!(e.starts_with("invalid JSON: "), "{e}");
    }

    #[test]
    fn docker_manifest_probe() {
        assert!(looks_like_docker_manifest(
            br#"[{"Config":"c.json","RepoTags":null,"Layers":["a/layer.tar"]}]"#
        ));
        // Detection only needs the key; the reader rejects the value.
        assert!(looks_like_docker_manifest(br#"[{"Layers":5}]"#));
        assert!(!looks_like_docker_manifest(br#"[]"#));
        assert!(!looks_like_docker_manifest(
            br#"[{"Layers":[]},{"Config":"x"}]"#
        ));
        assert!(!looks_like_docker_manifest(br#"{"Layers":[]}"#));
        let e: Vec<DockerManifestEntry> =
            from_slice(br#"[{"Config":"c.json","RepoTags":null,"Layers":["l.tar"]}]"#).unwrap();
        assert!(e[0].repo_tags.is_empty());
    }

    #[test]
    fn empty_values_write_as_empty_objects() {
        let mut ports = BTreeMap::new();
        ports.insert("80/tcp".to_string(), Empty);
        let c = ContainerConfig {
            exposed_ports: Some(ports),
            ..Default::default()
        };
        assert_eq!(canonical_json(&c), br#"{"ExposedPorts":{"80/tcp":{}}}"#);
        assert_eq!(canonical_json(&ContainerConfig::default()), b"{}");
    }
}
