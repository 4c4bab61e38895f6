//! Read primitives: sled's trees with the overlay of committed but not yet
//! applied writes laid over them, and blob references resolved. The typed
//! reads in `read.rs` are built on these.

use std::ops::Bound;

use anyhow::Context;
use serde::de::DeserializeOwned;

use super::blobs::BlobRef;
use super::overlay::{Merged, Range};
use super::{BLOB_TREES, Store, T};

/// Entries of a tree in key order, pending writes included.
pub(super) type Entries = Box<dyn Iterator<Item = anyhow::Result<(Vec<u8>, Vec<u8>)>>>;

impl Store {
    /// The value stored under `key`, as committed (blob references left
    /// as they are).
    pub(super) fn get(&self, t: T, key: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
        let pending = self.inner.shared.overlay().get(t as usize, key);
        match pending {
            Some(value) => Ok(value),
            None => Ok(self.tree(t).get(key)?.map(|v| v.to_vec())),
        }
    }

    /// The entries of `t` in `range`, ascending or descending.
    pub(super) fn entries(&self, t: T, range: Range, descending: bool) -> Entries {
        // The overlay is copied before sled is read: a flush that moves it
        // into sled meanwhile then changes nothing this read returns.
        let pending = self.inner.shared.overlay().entries(t as usize, &range);
        let base = self.tree(t).range::<Vec<u8>, _>(range);
        if descending {
            Box::new(Merged::new(base.rev(), pending, true))
        } else {
            Box::new(Merged::new(base, pending, false))
        }
    }

    /// Every entry of `t` whose key starts with `prefix`, ascending.
    pub(super) fn with_prefix(&self, t: T, prefix: &[u8]) -> Entries {
        self.entries(t, prefix_range(prefix), false)
    }

    /// Every entry of `t` whose key starts with `prefix`, descending.
    pub(super) fn with_prefix_desc(&self, t: T, prefix: &[u8]) -> Entries {
        self.entries(t, prefix_range(prefix), true)
    }

    /// Every entry of `t`.
    pub(super) fn all(&self, t: T, descending: bool) -> Entries {
        self.entries(t, (Bound::Unbounded, Bound::Unbounded), descending)
    }

    /// A stored value with its blob reference (if it is one) resolved.
    pub(super) fn load(&self, t: T, stored: Vec<u8>) -> anyhow::Result<Vec<u8>> {
        if !BLOB_TREES.iter().any(|b| *b as usize == t as usize) {
            return Ok(stored);
        }
        match BlobRef::decode(&stored) {
            Some(blob) => self.inner.shared.blobs.read(&blob),
            None => Ok(stored),
        }
    }

    /// A stored JSON record, blob references resolved.
    pub(super) fn decode<V: DeserializeOwned>(&self, t: T, stored: Vec<u8>) -> anyhow::Result<V> {
        let bytes = self.load(t, stored)?;
        serde_json::from_slice(&bytes).context("Decoding a store record")
    }

    /// The record under `key`, if any.
    pub(super) fn get_json<V: DeserializeOwned>(
        &self,
        t: T,
        key: &[u8],
    ) -> anyhow::Result<Option<V>> {
        self.get(t, key)?.map(|v| self.decode(t, v)).transpose()
    }
}

fn prefix_range(prefix: &[u8]) -> Range {
    let end = prefix_end(prefix).map_or(Bound::Unbounded, Bound::Excluded);
    (Bound::Included(prefix.to_vec()), end)
}

/// The smallest key after every key that starts with `prefix`, if any.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_ends_skip_trailing_ff_bytes() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xFF, 0xFF]), None);
        assert_eq!(prefix_end(b""), None);
    }
}
