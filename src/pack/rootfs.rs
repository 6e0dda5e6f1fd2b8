//! Writing a plan as an unpacked tree (for `COPY --from=build /rootfs/ /`): modes, numeric
//! owners, symlinks, hard links, capabilities and mtimes as in the layer. Staged next to
//! the destination and renamed into place.

use std::fs;
use std::io;
use std::os::unix::fs::{PermissionsExt, lchown, symlink};
use std::path::{Path, PathBuf};

use filetime::FileTime;

use crate::plan::{Content, Plan};

/// Writes `plan` to `dest`, which must not exist or be an empty directory.
pub fn write_rootfs(plan: &Plan, mtime: u64, dest: &Path) -> io::Result<()> {
    if dest.exists() && fs::read_dir(dest)?.next().is_some() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not empty", dest.display()),
        ));
    }
    let stage = Stage(crate::pack::staging_path(dest, "staging")?);
    let _ = fs::remove_dir_all(&stage.0);
    fs::create_dir(&stage.0)?;
    let t = FileTime::from_unix_time(mtime as i64, 0);
    for (path, e) in &plan.entries {
        let p = stage.0.join(path);
        let ctx = |err: io::Error| io::Error::new(err.kind(), format!("{path}: {err}"));
        match &e.content {
            Content::Dir => fs::create_dir_all(&p).map_err(ctx)?,
            Content::File { host, .. } => {
                fs::copy(host, &p).map_err(ctx)?;
            }
            Content::Data(d) => fs::write(&p, d).map_err(ctx)?,
            Content::Symlink(target) => symlink(target, &p).map_err(ctx)?,
            Content::Hardlink(to) => fs::hard_link(stage.0.join(to), &p).map_err(ctx)?,
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
    for (path, e) in plan.entries.iter().rev() {
        let p = stage.0.join(path);
        if matches!(e.content, Content::Dir) {
            fs::set_permissions(&p, fs::Permissions::from_mode(e.mode))?;
        }
        if !matches!(e.content, Content::Hardlink(_)) {
            filetime::set_symlink_file_times(&p, t, t)?;
        }
    }
    filetime::set_file_times(&stage.0, t, t)?;
    if dest.exists() {
        fs::remove_dir(dest)?;
    }
    fs::rename(&stage.0, dest)?;
    std::mem::forget(stage);
    Ok(())
}

struct Stage(PathBuf);

impl Drop for Stage {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
