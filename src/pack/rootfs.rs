//! Writing a plan as an unpacked tree (for `COPY --from=build /rootfs/ /`): modes, numeric
//! owners, symlinks, hard links, capabilities and mtimes as in the layer. Staged in a
//! temporary directory next to the destination (`pack::temp_dir_next_to`) and renamed
//! into place; on any error (and on a signal, `cleanup`) the staging tree is removed. Names
//! and link targets are written as the bytes they stand for (`sysroot::name`), so a name
//! that is not UTF-8 is the same name in the tree.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{PermissionsExt, lchown, symlink};
use std::path::Path;

use filetime::FileTime;

use crate::plan::{Content, Plan};
use crate::sysroot::name;

/// Writes `plan` to `dest`, which must not exist or be an empty directory.
pub fn write_rootfs(plan: &Plan, mtime: u64, dest: &Path) -> io::Result<()> {
    if dest.exists() && fs::read_dir(dest)?.next().is_some() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not empty", dest.display()),
        ));
    }
    // Removed with everything in it on any error below.
    let stage = crate::pack::temp_dir_next_to(dest, "staging")?;
    let root = stage.path();
    let t = FileTime::from_unix_time(mtime as i64, 0);
    for (path, e) in plan.entries() {
        let p = root.join(name::to_os(path));
        let ctx =
            |err: io::Error| io::Error::new(err.kind(), format!("{}: {err}", name::shown(path)));
        match &e.content {
            Content::Dir => create_dir_below(root, path).map_err(ctx)?,
            Content::File { host, head, .. } => {
                fs::copy(host, &p).map_err(ctx)?;
                if !head.is_empty() {
                    // The plan's replacement of the first bytes (a `.pyc` header), in
                    // place: the copy keeps its size.
                    fs::OpenOptions::new()
                        .write(true)
                        .open(&p)
                        .and_then(|mut f| f.write_all(head))
                        .map_err(ctx)?;
                }
            }
            Content::Data(d) => fs::write(&p, d).map_err(ctx)?,
            Content::Symlink(target) => symlink(name::to_os(target), &p).map_err(ctx)?,
            Content::Hardlink(to) => fs::hard_link(root.join(name::to_os(to)), &p).map_err(ctx)?,
        }
        if !matches!(e.content, Content::Symlink(_) | Content::Hardlink(_)) {
            for (k, v) in &e.xattrs {
                xattr::set(&p, k, v).map_err(ctx)?;
            }
        }
        if !matches!(e.content, Content::Hardlink(_)) {
            // Ownership may fail without privileges; the layer formats are exact, the tree is
            // best effort for a non-root user.
            let _ = lchown(&p, Some(e.uid), Some(e.gid));
        }
        if matches!(e.content, Content::File { .. } | Content::Data(_)) {
            fs::set_permissions(&p, fs::Permissions::from_mode(e.mode)).map_err(ctx)?;
            // chown clears setuid bits: the mode goes after it.
        }
    }
    // Directory modes and every mtime last, deepest first, so nothing changes them again.
    for (path, e) in plan.entries().iter().rev() {
        let p = root.join(name::to_os(path));
        if matches!(e.content, Content::Dir) {
            fs::set_permissions(&p, fs::Permissions::from_mode(e.mode))?;
        }
        if !matches!(e.content, Content::Hardlink(_)) {
            filetime::set_symlink_file_times(&p, t, t)?;
        }
    }
    filetime::set_file_times(root, t, t)?;
    // The empty destination removed and the tree moved in, not cut by a signal.
    crate::cleanup::critical(|| {
        if dest.exists() {
            fs::remove_dir(dest)?;
        }
        fs::rename(root, dest)
    })?;
    let _ = stage.keep();
    Ok(())
}

/// Creates the directory `rel` under `root` and its missing parents, but never `root`
/// itself: when the staging tree is removed under a running write (on a signal), what is
/// left to write fails instead of making the tree again.
fn create_dir_below(root: &Path, rel: &str) -> io::Result<()> {
    let mut p = root.to_path_buf();
    for c in Path::new(rel).components() {
        p.push(c);
        match fs::create_dir(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && p.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::tests::{failing_plan, names, plan};
    use std::collections::BTreeSet;

    #[test]
    fn a_failed_rootfs_leaves_nothing_and_a_good_one_no_staging() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("fs");
        assert!(write_rootfs(&failing_plan(), 0, &dest).is_err());
        assert!(names(d.path()).is_empty());
        // An empty destination directory is taken.
        fs::create_dir(&dest).unwrap();
        assert!(write_rootfs(&failing_plan(), 0, &dest).is_err());
        assert_eq!(names(d.path()), BTreeSet::from(["fs".into()]));
        write_rootfs(&plan(Content::Data(b"hi\n".to_vec())), 0, &dest).unwrap();
        assert_eq!(names(d.path()), BTreeSet::from(["fs".into()]));
        assert_eq!(fs::read_to_string(dest.join("etc/motd")).unwrap(), "hi\n");
    }
}
