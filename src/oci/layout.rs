//! Writing images: an OCI image layout directory (`oci-layout`, `index.json`,
//! `blobs/sha256/...`), or the same layout as one tar archive that also carries Docker's
//! `manifest.json` (so `podman load`, `docker load` and OCI tools all take it).
//! Everything is staged in a temporary directory next to the destination and moved into
//! place at the end: a failed run leaves nothing behind.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Blob, LayerRef, spec};
use crate::pack::{self, AtomicFile, Compression};
use crate::plan::Plan;

/// A layout being built in a temporary directory.
pub struct Staging {
    dir: PathBuf,
    done: bool,
    /// Blob digests with their media types (for the Docker manifest).
    pub blobs: BTreeMap<String, String>,
}

impl Staging {
    /// A staging directory next to `dest`.
    pub fn new(dest: &Path) -> io::Result<Staging> {
        let dir = crate::pack::staging_path(dest, "staging")?;
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("blobs/sha256"))?;
        Ok(Staging {
            dir,
            done: false,
            blobs: BTreeMap::new(),
        })
    }

    fn blob_path(&self, digest: &str) -> PathBuf {
        self.dir
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    }

    /// Stores a JSON (or any in-memory) blob.
    pub fn add_blob(&mut self, b: &Blob) -> io::Result<()> {
        fs::write(self.blob_path(&b.digest), &b.bytes)?;
        self.blobs.insert(b.digest.clone(), b.media_type.clone());
        Ok(())
    }

    /// Writes a plan as a layer blob.
    pub fn add_layer(
        &mut self,
        plan: &Plan,
        mtime: u64,
        compression: Compression,
        created_by: String,
    ) -> io::Result<LayerRef> {
        let tmp = self.dir.join("blobs/sha256/.layer.tmp");
        let f = fs::File::create(&tmp)?;
        let (f, info) = pack::write_layer_to(plan, mtime, compression, f)?;
        drop(f);
        fs::rename(&tmp, self.blob_path(&info.blob_digest))?;
        self.blobs
            .insert(info.blob_digest.clone(), compression.media_type().into());
        Ok(LayerRef {
            info,
            media_type: compression.media_type(),
            created_by,
        })
    }

    /// Writes `oci-layout` and `index.json`.
    pub fn finish_layout(&self, index: &Value) -> io::Result<()> {
        fs::write(
            self.dir.join("oci-layout"),
            spec::canonical_json(&spec::OciLayout::default()),
        )?;
        fs::write(self.dir.join("index.json"), serde_json::to_vec(index)?)
    }

    /// Moves the layout to `dest` (a missing or empty directory, or an earlier layout,
    /// which is replaced).
    pub fn commit_dir(mut self, dest: &Path) -> io::Result<()> {
        if dest.exists() {
            let empty = fs::read_dir(dest)?.next().is_none();
            if !empty && !dest.join("oci-layout").exists() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "{} exists and is not an OCI layout; refusing to replace it",
                        dest.display()
                    ),
                ));
            }
            let old = dest.with_file_name(format!(
                ".{}.minroot-{}.old",
                dest.file_name().unwrap_or_default().to_string_lossy(),
                std::process::id()
            ));
            fs::rename(dest, &old)?;
            fs::rename(&self.dir, dest)?;
            let _ = fs::remove_dir_all(&old);
        } else {
            fs::rename(&self.dir, dest)?;
        }
        self.done = true;
        Ok(())
    }

    /// Writes the layout as one tar at `dest` (the staging directory stays, for
    /// `commit_dir`, or is removed when dropped) (entries sorted, fixed metadata), with a
    /// Docker `manifest.json` when `docker` is given.
    pub fn write_archive(&self, dest: &Path, docker: Option<&Value>, mtime: u64) -> io::Result<()> {
        if let Some(d) = docker {
            fs::write(self.dir.join("manifest.json"), serde_json::to_vec(d)?)?;
        }
        let out = AtomicFile::create(dest)?;
        let f = io::BufWriter::new(out.file()?);
        let mut b = tar::Builder::new(f);
        let mut files: Vec<String> = vec!["oci-layout".into(), "index.json".into()];
        if docker.is_some() {
            files.push("manifest.json".into());
        }
        for d in self.blobs.keys() {
            files.push(format!("blobs/sha256/{}", d.trim_start_matches("sha256:")));
        }
        files.sort();
        let mut dirs_done = std::collections::BTreeSet::new();
        for path in &files {
            let mut acc = String::new();
            let parts: Vec<&str> = path.split('/').collect();
            for p in &parts[..parts.len() - 1] {
                acc.push_str(p);
                acc.push('/');
                if dirs_done.insert(acc.clone()) {
                    let mut h = tar::Header::new_ustar();
                    h.set_path(&acc)?;
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_mode(0o755);
                    h.set_mtime(mtime);
                    h.set_size(0);
                    h.set_cksum();
                    b.append(&h, io::empty())?;
                }
            }
            let full = self.dir.join(path);
            let meta = fs::metadata(&full)?;
            let mut h = tar::Header::new_ustar();
            h.set_path(path)?;
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(0o644);
            h.set_mtime(mtime);
            h.set_size(meta.len());
            h.set_cksum();
            b.append(&h, fs::File::open(&full)?)?;
        }
        let mut f = b.into_inner()?;
        f.flush()?;
        drop(f);
        out.commit()?;
        // Docker's manifest belongs to the archive only, not to a layout directory.
        if docker.is_some() {
            fs::remove_file(self.dir.join("manifest.json"))?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Docker's `manifest.json` for images given as (config digest, repo tag, layer digests).
pub fn docker_manifest_entries(
    images: &[(String, String, Vec<String>)],
) -> Vec<spec::DockerManifestEntry> {
    let path = |d: &str| format!("blobs/sha256/{}", d.trim_start_matches("sha256:"));
    images
        .iter()
        .map(|(c, tag, layers)| spec::DockerManifestEntry {
            config: path(c),
            repo_tags: vec![tag.clone()],
            layers: layers.iter().map(|l| path(l)).collect(),
        })
        .collect()
}

/// [`docker_manifest_entries`] as JSON (keys sorted), for [`Staging::write_archive`].
pub fn docker_manifest(images: &[(String, String, Vec<String>)]) -> Value {
    serde_json::to_value(docker_manifest_entries(images)).expect("manifests serialise")
}
