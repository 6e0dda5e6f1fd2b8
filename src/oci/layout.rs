//! Writing images: an OCI image layout directory (`oci-layout`, `index.json`,
//! `blobs/sha256/...`), or the same layout as one tar archive that also carries Docker's
//! `manifest.json` (so `podman load`, `docker load` and OCI tools all take it).
//! Everything is staged in a temporary directory next to the destination (an
//! unpredictable name made by `tempfile`, see `pack::temp_dir_next_to`) and moved into
//! place at the end: a failed run leaves nothing behind.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Blob, LayerRef, spec};
use crate::pack::{self, AtomicFile, Compression};
use crate::plan::Plan;

/// A layout being built in a temporary directory ([`pack::temp_dir_next_to`]), removed
/// with everything in it when dropped before [`Staging::commit_dir`].
pub struct Staging {
    dir: pack::TempTree,
    /// Blob digests with their media types (for the Docker manifest).
    pub blobs: BTreeMap<String, String>,
    /// Told how the layers' writing goes (silent unless set).
    pub progress: crate::progress::Observer,
}

impl Staging {
    /// A staging directory next to `dest`.
    pub fn new(dest: &Path) -> io::Result<Staging> {
        let dir = pack::temp_dir_next_to(dest, "staging")?;
        // create_dir, not create_dir_all: if a signal's cleanup has just removed the
        // staging root, create_dir_all would make it again, empty, as the process ends.
        fs::create_dir(dir.path().join("blobs"))?;
        fs::create_dir(dir.path().join("blobs/sha256"))?;
        Ok(Staging {
            dir,
            blobs: BTreeMap::new(),
            progress: crate::progress::Observer::silent(),
        })
    }

    fn blob_path(&self, digest: &str) -> PathBuf {
        self.dir
            .path()
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    }

    /// Writes `bytes` at `path` inside the staging directory: through a new temporary file
    /// renamed onto it, so that nothing already at `path` is opened or followed.
    fn put(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let dir = path.parent().unwrap_or(self.dir.path());
        let mut tmp = pack::temp_file_in(dir, ".minroot-")?;
        tmp.write_all(bytes)?;
        tmp.persist(path).map(drop).map_err(|e| e.error)
    }

    /// Stores a JSON (or any in-memory) blob.
    pub fn add_blob(&mut self, b: &Blob) -> io::Result<()> {
        self.put(&self.blob_path(&b.digest), &b.bytes)?;
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
        let tmp = pack::temp_file_in(&self.dir.path().join("blobs/sha256"), ".layer-")?;
        let info =
            pack::write_layer_file(plan, mtime, compression, tmp.as_file(), &*self.progress)?;
        tmp.persist(self.blob_path(&info.blob_digest))
            .map_err(|e| e.error)?;
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
        self.put(
            &self.dir.path().join("oci-layout"),
            &spec::canonical_json(&spec::OciLayout::default()),
        )?;
        self.put(
            &self.dir.path().join("index.json"),
            &serde_json::to_vec(index)?,
        )
    }

    /// Moves the layout to `dest` (a missing or empty directory, or an earlier layout,
    /// which is replaced). An earlier layout is first renamed onto a new empty directory
    /// next to it ([`pack::temp_dir_next_to`], `.NAME.minroot-XXXXXX.old`), then removed
    /// once the new one is in place; if that last rename fails, it is put back.
    pub fn commit_dir(self, dest: &Path) -> io::Result<()> {
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
            // rename(2) of a directory onto an empty directory replaces it.
            let old = pack::temp_dir_next_to(dest, "old")?;
            // A signal between the two renames would remove the earlier layout (in
            // `old`) and the new one (still staged): it waits until both are done.
            let moved = crate::cleanup::critical(|| {
                fs::rename(dest, old.path()).map_err(|e| (e, false))?;
                if let Err(e) = fs::rename(self.dir.path(), dest) {
                    if fs::rename(old.path(), dest).is_ok() {
                        return Err((e, true));
                    }
                    return Err((e, false));
                }
                Ok(())
            });
            match moved {
                Ok(()) => {}
                Err((e, put_back)) => {
                    if put_back {
                        let _ = old.keep();
                    }
                    return Err(e);
                }
            }
            let _ = self.dir.keep();
            // Dropping `old` removes the earlier layout (best effort, as a cleanup).
        } else {
            fs::rename(self.dir.path(), dest)?;
            let _ = self.dir.keep();
        }
        Ok(())
    }

    /// Writes the layout as one tar at `dest` (the staging directory stays, for
    /// `commit_dir`, or is removed when dropped) (entries sorted, fixed metadata), with a
    /// Docker `manifest.json` when `docker` is given.
    pub fn write_archive(&self, dest: &Path, docker: Option<&Value>, mtime: u64) -> io::Result<()> {
        let dir = self.dir.path();
        if let Some(d) = docker {
            self.put(&dir.join("manifest.json"), &serde_json::to_vec(d)?)?;
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
            let full = dir.join(path);
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
            fs::remove_file(dir.join("manifest.json"))?;
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::tests::{failing_plan, names, plan};
    use crate::plan::Content;
    use std::collections::BTreeSet;
    use std::os::unix::fs::symlink;

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn staged(dest: &Path) -> Staging {
        let mut st = Staging::new(dest).unwrap();
        st.add_layer(
            &plan(Content::Data(b"hi\n".to_vec())),
            0,
            Compression::Gzip,
            "test".into(),
        )
        .unwrap();
        st.add_blob(&Blob::of("application/json", &spec::OciLayout::default()))
            .unwrap();
        st.finish_layout(&serde_json::json!({"schemaVersion": 2, "manifests": []}))
            .unwrap();
        st
    }

    #[test]
    fn a_dropped_or_failed_staging_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("img");
        drop(staged(&dest));
        assert!(names(d.path()).is_empty());
        let mut st = Staging::new(&dest).unwrap();
        assert!(
            st.add_layer(&failing_plan(), 0, Compression::Zstd, "x".into())
                .is_err()
        );
        drop(st);
        assert!(names(d.path()).is_empty());
        // A foreign directory is refused and left as it was.
        fs::create_dir(&dest).unwrap();
        fs::write(dest.join("notes"), "mine").unwrap();
        assert!(staged(&dest).commit_dir(&dest).is_err());
        assert_eq!(names(d.path()), set(&["img"]));
        assert_eq!(names(&dest), set(&["notes"]));
        // An archive path that is a directory: the rename fails, nothing left.
        let st = staged(&dest);
        assert!(st.write_archive(&dest, None, 0).is_err());
        drop(st);
        assert_eq!(names(d.path()), set(&["img"]));
    }

    #[test]
    fn an_earlier_layout_is_replaced_whole_past_planted_names() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        fs::create_dir(&victim).unwrap();
        fs::write(victim.join("precious"), "x").unwrap();
        let out = d.path().join("out");
        fs::create_dir(&out).unwrap();
        let dest = out.join("img");
        fs::create_dir(&dest).unwrap();
        fs::write(dest.join("oci-layout"), "{}").unwrap();
        fs::write(dest.join("stale"), "old").unwrap();
        // The names used before: `.NAME.minroot-PID.{staging,old}`.
        let pid = std::process::id();
        for s in ["staging", "old"] {
            symlink(&victim, out.join(format!(".img.minroot-{pid}.{s}"))).unwrap();
        }
        let before = names(&out);

        let st = staged(&dest);
        st.write_archive(&out.join("img.tar"), Some(&serde_json::json!([])), 0)
            .unwrap();
        st.commit_dir(&dest).unwrap();

        assert_eq!(names(&victim), set(&["precious"]));
        let mut want = before.clone();
        want.insert("img.tar".into());
        assert_eq!(names(&out), want, "no staging or old layout left");
        assert_eq!(names(&dest), set(&["blobs", "index.json", "oci-layout"]));
        let blobs = names(&dest.join("blobs/sha256"));
        assert_eq!(blobs.len(), 2, "{blobs:?}");
        assert!(blobs.iter().all(|b| b.len() == 64), "{blobs:?}");
        assert_eq!(
            fs::read_to_string(dest.join("oci-layout")).unwrap(),
            r#"{"imageLayoutVersion":"1.0.0"}"#
        );
    }
}
