//! How a write of the embedded engine becomes durable:
//!
//! 1. room: the store's filesystem must keep `store.min_free_bytes` free
//!    after the write (about twice its size: sled logs what it stores),
//!    or the write fails as [`StoreError::Full`] with nothing written, so
//!    a full disk never leaves sled half-written;
//! 2. raw originals are written as files (see `raw_files.rs`);
//! 3. every change is applied in one sled transaction across the trees;
//! 4. sled writes its log out (`flush`, which on Linux is only
//!    `sync_file_range`: the data, not the file's metadata nor the disk's
//!    cache), then `syncfs` on the store's filesystem makes all of it
//!    durable: sled's log and blob files, the raw files and the folders
//!    that name them. Only then does the write return;
//! 5. what sled retired during the write is freed (`release_garbage`).
//!
//! The writer lock is held throughout, so a reader that takes it (the
//! outbox's due items) sees only durable writes. An engine error in steps
//! 2-4 marks the store failed: sled may hold the write in memory without
//! having logged it, so no further write is accepted until ticketd
//! restarts and reopens the store from disk.

use std::path::Path;

use anyhow::Context;
use sled::Transactional;

use super::SledStore;
use super::raw_files;
use super::tx::Op;
use crate::store::StoreError;

impl SledStore {
    /// Fails with [`StoreError::Full`] unless a write of `bytes` leaves
    /// the reserve free.
    pub(super) fn check_room(&self, bytes: u64) -> Result<(), StoreError> {
        let needed = self.min_free_bytes.saturating_add(bytes.saturating_mul(2));
        match free_bytes(&self.path) {
            Ok(available) if available < needed => Err(StoreError::Full { available, needed }),
            // Unknown free space: let the write try.
            _ => Ok(()),
        }
    }

    /// Steps 2-4 of the module doc. Called with the writer lock.
    pub(super) fn commit(&self, ops: &[Op], raw: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
        for (key, bytes) in raw {
            raw_files::write(&self.path, key, bytes)?;
        }
        self.apply(ops)?;
        self.db.flush().context("Writing the store's log")?;
        rustix::fs::syncfs(&self.dir).context("Syncing the store's filesystem")?;
        release_garbage();
        Ok(())
    }

    fn apply(&self, ops: &[Op]) -> anyhow::Result<()> {
        let trees: Vec<&sled::Tree> = self.trees.trees.iter().collect();
        trees
            .as_slice()
            .transaction(|view| {
                for (tree, key, value) in ops {
                    let tree = &view[tree.index()];
                    match value {
                        Some(value) => tree.insert(key.as_slice(), value.as_slice())?,
                        None => tree.remove(key.as_slice())?,
                    };
                }
                Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| anyhow::anyhow!("Applying a write to sled: {e:?}"))
    }
}

/// Frees what sled retired during the write. sled drops old pages and its
/// 512 KiB log buffers through crossbeam's epochs, which park them in the
/// writing thread's own bag until that thread pins again; the daemon
/// writes from a pool of threads, so a bag could sit for seconds on an
/// idle one, megabytes each. Flushing the bag hands it to the global
/// queue and collects what no reader still sees: a 10,000-message backlog
/// peaked at 41-43 MiB instead of 56-71 (docs/benchmarks.md).
fn release_garbage() {
    crossbeam_epoch::pin().flush();
}

/// Bytes free for an unprivileged writer on the filesystem of `path`.
pub(super) fn free_bytes(path: &Path) -> std::io::Result<u64> {
    let stat = rustix::fs::statvfs(path)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}
