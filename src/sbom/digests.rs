//! Content digests of the layer's regular files, as the SBOM lists them: sha256 for
//! everyone, sha1 because SPDX 2.3 requires it (and builds its package verification code
//! from it). Files are read from the root (or taken from the plan's generated data) in
//! parallel; the result is a BTreeMap, so its order never depends on the thread count. A
//! hard link has the digests of the entry it links to.

use std::collections::BTreeMap;
use std::io::Read;

use rayon::prelude::*;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::SbomError;
use crate::pack::digest::hex;
use crate::plan::{Content, Plan};

/// The digests of one file (lower-case hex) and its size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDigest {
    pub sha256: String,
    pub sha1: String,
    pub size: u64,
}

/// Digests of bytes.
pub fn of_bytes(b: &[u8]) -> FileDigest {
    FileDigest {
        sha256: hex(&Sha256::digest(b)),
        sha1: hex(&Sha1::digest(b)),
        size: b.len() as u64,
    }
}

/// Digests of a file whose first `head.len()` bytes are replaced by `head` (the plan's
/// `Content::File`), as the writers write it.
fn of_file(path: &std::path::Path, head: &[u8]) -> std::io::Result<FileDigest> {
    let mut f = std::fs::File::open(path)?;
    let (mut s256, mut s1) = (Sha256::new(), Sha1::new());
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    if !head.is_empty() {
        let mut skipped = vec![0u8; head.len()];
        f.read_exact(&mut skipped)?;
        s256.update(head);
        s1.update(head);
        size = head.len() as u64;
    }
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        s256.update(&buf[..n]);
        s1.update(&buf[..n]);
        size += n as u64;
    }
    Ok(FileDigest {
        sha256: hex(&s256.finalize()),
        sha1: hex(&s1.finalize()),
        size,
    })
}

/// The digests of every regular file and hard link of the plan, by layer path.
pub fn digest_plan(plan: &Plan) -> Result<BTreeMap<String, FileDigest>, SbomError> {
    let work: Vec<(&String, &Content)> = plan
        .entries()
        .iter()
        .filter(|(_, e)| matches!(e.content, Content::File { .. } | Content::Data(_)))
        .map(|(k, e)| (k, &e.content))
        .collect();
    let done: Vec<Result<(String, FileDigest), SbomError>> = work
        .par_iter()
        .map(|(k, c)| {
            let d = match c {
                Content::Data(b) => of_bytes(b),
                Content::File { host, head, .. } => {
                    of_file(host, head).map_err(|source| SbomError::Io {
                        path: host.display().to_string(),
                        source,
                    })?
                }
                _ => unreachable!("filtered above"),
            };
            Ok(((*k).clone(), d))
        })
        .collect();
    let mut out = BTreeMap::new();
    for r in done {
        let (k, d) = r?;
        out.insert(k, d);
    }
    for (k, e) in plan.entries() {
        if let Content::Hardlink(to) = &e.content
            && let Some(d) = out.get(to).cloned()
        {
            out.insert(k.clone(), d);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        let d = of_bytes(b"abc");
        assert_eq!(
            d.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(d.size, 3);
    }

    #[test]
    fn file_data_and_hardlink() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        let mut plan = Plan::default();
        let e = |content| crate::plan::Entry {
            content,
            mode: 0o644,
            uid: 0,
            gid: 0,
            xattrs: vec![],
            reason: crate::reason::Reason::Parent,
            source: None,
        };
        plan.insert(
            "a".into(),
            e(Content::File {
                host: p.clone(),
                size: 3,
                head: vec![],
            }),
        );
        plan.insert("b".into(), e(Content::Hardlink("a".into())));
        plan.insert("c".into(), e(Content::Data(b"abc".to_vec())));
        plan.insert("d".into(), e(Content::Dir));
        // The first bytes replaced, as the writers write them.
        plan.insert(
            "e".into(),
            e(Content::File {
                host: p,
                size: 3,
                head: b"x".to_vec(),
            }),
        );
        let d = digest_plan(&plan).unwrap();
        assert_eq!(d.len(), 4);
        assert_eq!(d["a"], of_bytes(b"abc"));
        assert_eq!(d["b"], d["a"]);
        assert_eq!(d["c"], d["a"]);
        assert_eq!(d["e"], of_bytes(b"xbc"));
    }
}
