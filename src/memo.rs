//! A memo table shared by the threads of one run: many readers at once (an RwLock), keys
//! hashed with foldhash (fast, randomly seeded; a memo is never iterated for output).
//! Used for everything minroot looks up more than once: lstat results, resolved paths,
//! loader verdicts, search answers, parsed files.

use std::borrow::Borrow;
use std::hash::Hash;
use std::sync::RwLock;

type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A concurrent memo from `K` to `V`.
pub struct Memo<K, V> {
    map: RwLock<Map<K, V>>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo {
            map: RwLock::new(Map::default()),
        }
    }
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    /// The remembered value, if any.
    pub fn get<Q>(&self, k: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(k)
            .cloned()
    }

    /// `f` of the remembered value, without cloning the value.
    pub fn get_with<Q, R>(&self, k: &Q, f: impl FnOnce(&V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(k)
            .map(f)
    }

    /// Remembers `v` for `k` (a value computed twice by racing threads is the same value;
    /// the first stays).
    pub fn insert(&self, k: K, v: V) -> V {
        self.map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(k)
            .or_insert(v)
            .clone()
    }

    /// The value for `k`, computing it with `f` (outside the lock) when missing.
    pub fn get_or_insert_with<Q>(&self, k: &Q, f: impl FnOnce() -> V) -> V
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(v) = self.get(k) {
            return v;
        }
        let v = f();
        self.insert(k.to_owned(), v)
    }
}
