//! The one chroot-style path walk: a path inside a root resolved one component at a time,
//! as the kernel resolves it for a process chrooted there.
//!
//! Rules (each with a test below, and in the callers' tests):
//! - empty and `.` components are dropped (`/usr//./lib` is `/usr/lib`);
//! - `..` goes back to the parent of the directory resolved so far, so it applies to where
//!   the symlinks led, not to the text: with `/bin -> usr/bin`, `/bin/../lib` is `/usr/lib`;
//!   `..` at the root stays at the root;
//! - a symlink's target is walked in its place: a relative target from the link's
//!   directory, an absolute one from the root (never from the host's `/`);
//! - more than [`MAX_SYMLINKS`] links in one walk is a loop, an error (ELOOP);
//! - a component under something that is not a directory ends the walk: nothing there.
//!
//! What one component is comes from a [`Lookup`], which is where the two users differ:
//! [`super::Root`] looks names up in its memo of lstat/readlink results and never writes,
//! while the layer extraction of `check` (`check::untar`) looks at the live tree it is
//! writing, creates missing directories when asked, and refuses a non-directory outright.
//! The walk never opens anything itself: it only hands the lookup paths whose directory
//! components were all resolved by earlier steps, so nothing is ever reached through a
//! symlink the walk did not follow by these rules.
//!
//! Paths are bytes, so a non-UTF-8 name survives: a tar entry's, and a root's, whose
//! `&str` paths carry such names (`super::name`) and are walked as the bytes they stand
//! for. A path under the root is written `/usr/lib` ("" is the root itself).

use super::{Kind, MAX_SYMLINKS};

/// What one name under the root is, as far as the walk cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry<T> {
    /// Nothing by that name (or the lookup would not make it): the path does not exist.
    Missing,
    /// A symlink, with its target as stored.
    Symlink(T),
    /// A directory, a regular file or another kind of file.
    Is(Kind),
}

/// Looks up one component for [`walk`].
pub trait Lookup {
    /// A symlink target as the lookup has it (walked as bytes).
    type Target: AsRef<[u8]>;
    type Error;
    /// What `path` is, without following it if it is a symlink. `path` is under the root
    /// ("/usr/lib"); every component but the last is a directory this walk resolved.
    fn entry(&mut self, path: &[u8]) -> Result<Entry<Self::Target>, Self::Error>;
    /// A symlink at `path` is being followed (at most [`MAX_SYMLINKS`] times a walk).
    fn followed(&mut self, _path: &[u8], _target: &Self::Target) {}
    /// A `..` was applied at the root, where it stays.
    fn above_root(&mut self) {}
}

/// Why a walk stopped with an error.
#[derive(Debug, PartialEq, Eq)]
pub enum WalkError<E> {
    /// More than [`MAX_SYMLINKS`] symlinks (ELOOP).
    Loop,
    /// The lookup's own error.
    Lookup(E),
}

/// Where a walk ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Walked {
    /// The canonical path under the root: "" for the root itself, otherwise "/a/b", with
    /// no symlink in it.
    pub path: Vec<u8>,
    /// What it names.
    pub kind: Kind,
}

/// Text still to walk: the path asked for, or the target of a symlink met on the way.
enum Text<'a, T> {
    Path(&'a [u8]),
    Target(T),
}

impl<T: AsRef<[u8]>> Text<'_, T> {
    fn bytes(&self) -> &[u8] {
        match self {
            Text::Path(p) => p,
            Text::Target(t) => t.as_ref(),
        }
    }
}

/// Walks `path` (absolute under the root, or relative to the root) following every
/// symlink, to where it leads; Ok(None) when a component is missing or a non-directory is
/// used as a directory.
pub fn walk<L: Lookup>(path: &[u8], lookup: &mut L) -> Result<Option<Walked>, WalkError<L::Error>> {
    // A stack of texts, each with the offset of its next component: a target is walked
    // before what followed the link, and no component is copied out of its text.
    let mut todo: Vec<(Text<L::Target>, usize)> = Vec::with_capacity(4);
    todo.push((Text::Path(path), 0));
    // The canonical path so far and where each of its components starts (for `..`).
    let mut cur: Vec<u8> = Vec::with_capacity(path.len() + 16);
    let mut starts: Vec<usize> = Vec::new();
    let mut links = 0usize;
    let mut kind = Kind::Dir;
    while let Some(comp) = next_component(&mut todo) {
        if kind != Kind::Dir {
            // A file used as a directory: ENOTDIR.
            return Ok(None);
        }
        if comp == b".." {
            match starts.pop() {
                Some(at) => cur.truncate(at),
                None => lookup.above_root(),
            }
            continue;
        }
        let at = cur.len();
        cur.push(b'/');
        cur.extend_from_slice(comp);
        match lookup.entry(&cur).map_err(WalkError::Lookup)? {
            Entry::Missing => return Ok(None),
            Entry::Symlink(target) => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(WalkError::Loop);
                }
                lookup.followed(&cur, &target);
                cur.truncate(at);
                if target.as_ref().starts_with(b"/") {
                    cur.clear();
                    starts.clear();
                }
                todo.push((Text::Target(target), 0));
            }
            Entry::Is(k) => {
                starts.push(at);
                kind = k;
            }
        }
    }
    Ok(Some(Walked { path: cur, kind }))
}

/// The next component to walk (not empty, not `.`), taken off the top text of `todo`;
/// texts are dropped when used up.
fn next_component<'s, T: AsRef<[u8]>>(todo: &'s mut Vec<(Text<'_, T>, usize)>) -> Option<&'s [u8]> {
    let (start, end) = loop {
        let (text, at) = todo.last_mut()?;
        let bytes = text.bytes();
        if *at >= bytes.len() {
            todo.pop();
            continue;
        }
        let rest = &bytes[*at..];
        let len = crate::bytes::find_byte(b'/', rest).unwrap_or(rest.len());
        let start = *at;
        *at += len + 1;
        if len == 0 || rest[..len] == *b"." {
            continue;
        }
        break (start, start + len);
    };
    todo.last().and_then(|(t, _)| t.bytes().get(start..end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A tree in memory: path under the root -> entry. Records what the walk reports.
    #[derive(Default)]
    struct Tree {
        nodes: BTreeMap<Vec<u8>, Entry<Vec<u8>>>,
        /// Paths whose lookup fails (EACCES).
        denied: Vec<Vec<u8>>,
        followed: Vec<(Vec<u8>, Vec<u8>)>,
        above_root: usize,
        looked_up: Vec<Vec<u8>>,
    }

    impl Tree {
        fn with(entries: &[(&str, Entry<&str>)]) -> Tree {
            let mut t = Tree::default();
            for (p, e) in entries {
                let e = match e {
                    Entry::Missing => Entry::Missing,
                    Entry::Symlink(s) => Entry::Symlink(s.as_bytes().to_vec()),
                    Entry::Is(k) => Entry::Is(*k),
                };
                t.nodes.insert(p.as_bytes().to_vec(), e);
            }
            t
        }

        fn walk(&mut self, p: &str) -> Result<Option<(String, Kind)>, WalkError<()>> {
            Ok(walk(p.as_bytes(), self)?.map(|w| {
                (
                    String::from_utf8(w.path).expect("utf-8 in these tests"),
                    w.kind,
                )
            }))
        }
    }

    impl Lookup for Tree {
        type Target = Vec<u8>;
        type Error = ();
        fn entry(&mut self, path: &[u8]) -> Result<Entry<Vec<u8>>, ()> {
            self.looked_up.push(path.to_vec());
            if self.denied.iter().any(|d| d == path) {
                return Err(());
            }
            Ok(self.nodes.get(path).cloned().unwrap_or(Entry::Missing))
        }
        fn followed(&mut self, path: &[u8], target: &Vec<u8>) {
            self.followed.push((path.to_vec(), target.clone()));
        }
        fn above_root(&mut self) {
            self.above_root += 1;
        }
    }

    const D: Entry<&str> = Entry::Is(Kind::Dir);
    const F: Entry<&str> = Entry::Is(Kind::File);

    fn usrmerged() -> Tree {
        let mut t = Tree::with(&[
            ("/usr", D),
            ("/usr/lib", D),
            ("/usr/bin", D),
            ("/usr/lib/libz.so.1.2.13", F),
            ("/usr/lib/libz.so.1", Entry::Symlink("libz.so.1.2.13")),
            ("/lib", Entry::Symlink("usr/lib")),
            ("/bin", Entry::Symlink("/usr/bin")),
            ("/usr/lib/up", Entry::Symlink("../../../..")),
            ("/denied", D),
        ]);
        t.denied.push(b"/denied".to_vec());
        t
    }

    #[test]
    fn walk_drops_empty_and_dot_components() {
        let mut t = usrmerged();
        assert_eq!(
            t.walk("//usr/./lib//").unwrap(),
            Some(("/usr/lib".into(), Kind::Dir))
        );
        assert_eq!(t.walk("").unwrap(), Some(("".into(), Kind::Dir)));
        assert_eq!(t.walk("/./").unwrap(), Some(("".into(), Kind::Dir)));
        assert_eq!(t.looked_up, [&b"/usr"[..], b"/usr/lib"]);
    }

    #[test]
    fn walk_follows_links_in_order_and_records_them() {
        let mut t = usrmerged();
        assert_eq!(
            t.walk("lib/libz.so.1").unwrap(),
            Some(("/usr/lib/libz.so.1.2.13".into(), Kind::File))
        );
        assert_eq!(
            t.followed,
            [
                (b"/lib".to_vec(), b"usr/lib".to_vec()),
                (b"/usr/lib/libz.so.1".to_vec(), b"libz.so.1.2.13".to_vec())
            ]
        );
    }

    #[test]
    fn walk_dotdot_applies_to_the_resolved_directory_and_stops_at_the_root() {
        let mut t = usrmerged();
        assert_eq!(
            t.walk("/bin/../lib").unwrap(),
            Some(("/usr/lib".into(), Kind::Dir)),
            "`..` of /usr/bin, where /bin led"
        );
        assert_eq!(t.above_root, 0);
        assert_eq!(
            t.walk("/lib/up/usr").unwrap(),
            Some(("/usr".into(), Kind::Dir)),
            "a relative target climbing above the root stays inside"
        );
        assert_eq!(t.above_root, 2);
        assert_eq!(
            t.walk("/../../usr").unwrap(),
            Some(("/usr".into(), Kind::Dir))
        );
        assert_eq!(t.above_root, 4);
    }

    #[test]
    fn walk_absolute_target_restarts_at_the_root() {
        let mut t = usrmerged();
        t.nodes
            .insert(b"/usr/lib/abs".to_vec(), Entry::Symlink(b"/bin".to_vec()));
        assert_eq!(
            t.walk("/lib/abs/..").unwrap(),
            Some(("/usr".into(), Kind::Dir)),
            "/usr/lib/abs -> /bin -> /usr/bin, whose parent is /usr"
        );
    }

    #[test]
    fn walk_missing_and_file_as_directory_are_none() {
        let mut t = usrmerged();
        assert_eq!(t.walk("/usr/nothing/x").unwrap(), None);
        assert_eq!(t.walk("/lib/libz.so.1/x").unwrap(), None);
        assert_eq!(t.walk("/lib/libz.so.1/..").unwrap(), None);
        assert_eq!(
            t.walk("/denied/x"),
            Err(WalkError::Lookup(())),
            "the lookup's error"
        );
    }

    #[test]
    fn walk_allows_max_symlinks_and_not_one_more() {
        // /l0 -> l1 -> ... -> l{n-1} -> usr: n links.
        fn chain(n: usize) -> Tree {
            let mut t = usrmerged();
            for i in 0..n {
                let target = if i + 1 == n {
                    "usr".to_string()
                } else {
                    format!("l{}", i + 1)
                };
                t.nodes.insert(
                    format!("/l{i}").into_bytes(),
                    Entry::Symlink(target.into_bytes()),
                );
            }
            t
        }
        let mut t = chain(MAX_SYMLINKS);
        assert_eq!(t.walk("/l0").unwrap(), Some(("/usr".into(), Kind::Dir)));
        assert_eq!(t.followed.len(), MAX_SYMLINKS);
        assert_eq!(chain(MAX_SYMLINKS + 1).walk("/l0"), Err(WalkError::Loop));
        let mut t = Tree::with(&[("/a", Entry::Symlink("b")), ("/b", Entry::Symlink("a"))]);
        assert_eq!(t.walk("/a"), Err(WalkError::Loop), "a loop ends");
    }

    #[test]
    fn walk_keeps_non_utf8_names() {
        let mut t = Tree::default();
        t.nodes.insert(b"/caf\xe9".to_vec(), Entry::Is(Kind::Dir));
        t.nodes
            .insert(b"/l".to_vec(), Entry::Symlink(b"caf\xe9/".to_vec()));
        assert_eq!(
            walk(b"/l/.", &mut t).unwrap(),
            Some(Walked {
                path: b"/caf\xe9".to_vec(),
                kind: Kind::Dir
            })
        );
    }
}
