//! Committed writes not yet in sled, and reads that merge them over sled's
//! trees.
//!
//! A commit lands in the `pending` layer (after its journal record is
//! written) and is visible to every reader at once. A flush syncs the
//! journal and seals that layer; the store's applier thread then writes
//! sealed layers into sled, oldest first, and drops each once it is in.
//! sled therefore never holds a write that a crash could take from the
//! journal, and readers see the newest write of a key whichever layer (or
//! sled) holds it.

use std::cmp::Ordering;
use std::collections::{BTreeMap, VecDeque};
use std::iter::Peekable;
use std::ops::Bound;
use std::sync::Arc;

use anyhow::Context;

use super::journal::Op;

type Entries = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// A write as readers see it: a key and its value, `None` if removed.
pub(super) type Write = (Vec<u8>, Option<Vec<u8>>);

/// A key range in one tree.
pub(super) type Range = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// Writes per tree: a put (`Some`) or a removal (`None`) per key.
pub(super) struct Layer {
    trees: Vec<Entries>,
    ops: usize,
    /// Set on the last layer of a closed journal file: once this layer is
    /// in sled and sled is flushed, that file and older ones can go.
    pub closes_journal: Option<u64>,
}

impl Layer {
    fn new(trees: usize) -> Layer {
        Layer {
            trees: vec![Entries::new(); trees],
            ops: 0,
            closes_journal: None,
        }
    }

    /// Every write, tree by tree.
    pub fn writes(&self) -> impl Iterator<Item = (usize, &[u8], Option<&[u8]>)> {
        self.trees.iter().enumerate().flat_map(|(tree, entries)| {
            entries
                .iter()
                .map(move |(k, v)| (tree, k.as_slice(), v.as_deref()))
        })
    }
}

/// The pending layer and the sealed layers awaiting the applier.
pub(super) struct Overlay {
    pending: Layer,
    sealed: VecDeque<Arc<Layer>>,
}

impl Overlay {
    pub fn new(trees: usize) -> Overlay {
        Overlay {
            pending: Layer::new(trees),
            sealed: VecDeque::new(),
        }
    }

    pub fn apply(&mut self, ops: Vec<Op>) {
        self.pending.ops += ops.len();
        for op in ops {
            self.pending.trees[op.tree as usize].insert(op.key, op.value);
        }
    }

    /// Writes committed since the last seal.
    pub fn pending_ops(&self) -> usize {
        self.pending.ops
    }

    /// Hands the pending layer to the applier (its journal records are
    /// synced); `closes_journal` as on [`Layer`].
    pub fn seal(&mut self, closes_journal: Option<u64>) {
        if self.pending.ops == 0 && closes_journal.is_none() {
            return;
        }
        let trees = self.pending.trees.len();
        let mut layer = std::mem::replace(&mut self.pending, Layer::new(trees));
        layer.closes_journal = closes_journal;
        self.sealed.push_back(Arc::new(layer));
    }

    /// Sealed layers not yet in sled.
    pub fn sealed_layers(&self) -> usize {
        self.sealed.len()
    }

    /// The oldest sealed layer, which the applier writes next.
    pub fn oldest_sealed(&self) -> Option<Arc<Layer>> {
        self.sealed.front().cloned()
    }

    /// Drops the oldest sealed layer (it is in sled now).
    pub fn drop_oldest_sealed(&mut self) {
        self.sealed.pop_front();
    }

    /// Newest first.
    fn layers(&self) -> impl Iterator<Item = &Layer> {
        std::iter::once(&self.pending).chain(self.sealed.iter().rev().map(|l| &**l))
    }

    /// The newest write of `key`: `Some(None)` when it was removed.
    pub fn get(&self, tree: usize, key: &[u8]) -> Option<Option<Vec<u8>>> {
        self.layers()
            .find_map(|layer| layer.trees[tree].get(key))
            .cloned()
    }

    /// The newest write of each key of `tree` within `range`, in key order.
    pub fn entries(&self, tree: usize, range: &Range) -> Vec<Write> {
        let mut merged = Entries::new();
        for layer in self.layers() {
            for (k, v) in layer.trees[tree].range::<Vec<u8>, _>(range.clone()) {
                merged.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        merged.into_iter().collect()
    }
}

/// sled's entries in a range with the overlay's pending writes laid over
/// them, ascending or descending.
pub(super) struct Merged<I: Iterator> {
    base: Peekable<I>,
    pending: Peekable<std::vec::IntoIter<Write>>,
    descending: bool,
}

impl<I> Merged<I>
where
    I: Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>,
{
    /// `pending` must be in ascending key order; it is reversed here for a
    /// descending `base`.
    pub fn new(base: I, mut pending: Vec<Write>, descending: bool) -> Self {
        if descending {
            pending.reverse();
        }
        Merged {
            base: base.peekable(),
            pending: pending.into_iter().peekable(),
            descending,
        }
    }

    /// Which source holds the next key: `Less` for sled, `Greater` for the
    /// overlay, `Equal` when both do (the overlay wins).
    fn next_source(&mut self) -> Option<Ordering> {
        let order = match (self.base.peek(), self.pending.peek()) {
            (None, None) => return None,
            (Some(Err(_)), _) | (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(Ok((base_key, _))), Some((pending_key, _))) => {
                let order = base_key.as_ref().cmp(pending_key.as_slice());
                if self.descending {
                    order.reverse()
                } else {
                    order
                }
            }
        };
        Some(order)
    }
}

impl<I> Iterator for Merged<I>
where
    I: Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>,
{
    type Item = anyhow::Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let source = self.next_source()?;
            if source == Ordering::Less {
                let entry = self.base.next()?;
                return Some(
                    entry
                        .map(|(k, v)| (k.to_vec(), v.to_vec()))
                        .context("Reading the store"),
                );
            }
            if source == Ordering::Equal {
                self.base.next();
            }
            if let Some((key, Some(value))) = self.pending.next() {
                return Some(Ok((key, value)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(pairs: &[(&str, &str)]) -> Vec<sled::Result<(sled::IVec, sled::IVec)>> {
        pairs
            .iter()
            .map(|(k, v)| Ok((sled::IVec::from(*k), sled::IVec::from(*v))))
            .collect()
    }

    fn pending(pairs: &[(&str, Option<&str>)]) -> Vec<Write> {
        pairs
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec())))
            .collect()
    }

    fn keys(merged: impl Iterator<Item = anyhow::Result<(Vec<u8>, Vec<u8>)>>) -> Vec<String> {
        merged
            .map(|e| {
                let (k, v) = e.unwrap();
                format!(
                    "{}={}",
                    String::from_utf8(k).unwrap(),
                    String::from_utf8(v).unwrap()
                )
            })
            .collect()
    }

    #[test]
    fn pending_writes_replace_add_and_remove_in_both_directions() {
        let stored = [("a", "1"), ("c", "3"), ("e", "5")];
        let over = [
            ("b", Some("2")),
            ("c", Some("33")),
            ("e", None),
            ("f", Some("6")),
        ];
        let up = Merged::new(base(&stored).into_iter(), pending(&over), false);
        assert_eq!(keys(up), ["a=1", "b=2", "c=33", "f=6"]);
        let mut stored_desc = base(&stored);
        stored_desc.reverse();
        let down = Merged::new(stored_desc.into_iter(), pending(&over), true);
        assert_eq!(keys(down), ["f=6", "c=33", "b=2", "a=1"]);
    }

    #[test]
    fn the_newest_layer_wins_and_sealed_layers_leave_oldest_first() {
        let mut overlay = Overlay::new(2);
        let op = |key: &str, value: Option<&str>| Op {
            tree: 1,
            key: key.into(),
            value: value.map(Into::into),
        };
        overlay.apply(vec![
            op("k", Some("old")),
            op("gone", Some("x")),
            op("kept", Some("1")),
        ]);
        overlay.seal(Some(7));
        overlay.apply(vec![op("k", Some("new")), op("gone", None)]);
        assert_eq!(overlay.get(1, b"k"), Some(Some(b"new".to_vec())));
        assert_eq!(overlay.get(1, b"gone"), Some(None));
        assert_eq!(overlay.get(1, b"kept"), Some(Some(b"1".to_vec())));
        assert_eq!(overlay.get(0, b"k"), None);
        let all = overlay.entries(1, &(Bound::Unbounded, Bound::Unbounded));
        assert_eq!(
            all,
            vec![
                (b"gone".to_vec(), None),
                (b"k".to_vec(), Some(b"new".to_vec())),
                (b"kept".to_vec(), Some(b"1".to_vec())),
            ]
        );
        assert_eq!(overlay.pending_ops(), 2);
        overlay.seal(None);
        overlay.seal(None);
        assert_eq!(
            overlay.sealed_layers(),
            2,
            "an empty pending layer is not sealed"
        );
        let oldest = overlay.oldest_sealed().unwrap();
        assert_eq!(oldest.closes_journal, Some(7));
        assert_eq!(oldest.writes().count(), 3);
        overlay.drop_oldest_sealed();
        assert_eq!(overlay.get(1, b"kept"), None);
        assert_eq!(overlay.get(1, b"k"), Some(Some(b"new".to_vec())));
    }
}
